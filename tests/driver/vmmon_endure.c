/* Endurance for /dev/vmmon: create/load/run/destroy cycles, VMX-like child
 * processes killed at random points (while pinning, loading, running, or
 * between runs), and two VMs running at once in two processes. The module's
 * counts of VMs and pages must come back to zero; the harness compares the
 * kernel's free pages and slab before and after.
 * Usage: vmmon_endure CYCLES KILLS SEED [IMAGE]
 * Environment: user space in the check-driver guest, run as root. */
#include <signal.h>
#include <time.h>
#include <sys/wait.h>
#include "vmmon_image.h"

static struct image im;
#define MON_SIZE image_mon_size(&im)

static void one_vm(size_t ram_size, unsigned long runs)
{
	int fd = vmmon_open();
	char *ram = guest_ram(ram_size);
	struct vmmon_create c = create_arg(ram, ram_size, MON_SIZE);

	CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
	CHECK_OK(ioctl(fd, VMMON_LOAD_MONITOR, &im.load));
	for (unsigned long i = 0; i < runs; i++) {
		struct vmmon_run r = { .size = sizeof(r), .max_switches = 100, .cmd = VMMON_CMD_PING, .arg = { i } };
		CHECK_OK(ioctl(fd, VMMON_RUN, &r));
		CHECK(r.req == VMMON_REQ_DONE && r.ret == (int64_t)i + 1);
	}
	if (runs & 1)
		CHECK_OK(ioctl(fd, VMMON_DESTROY_VM));
	close(fd);
	munmap(ram, ram_size);
}

/* A child that keeps creating and running VMs until it is killed. */
static void victim(uint64_t seed)
{
	size_t rs = (1 + seed % 8) << 20;
	for (;;) {
		int fd = vmmon_open();
		char *ram = guest_ram(rs);
		struct vmmon_create c = create_arg(ram, rs, MON_SIZE);
		struct vmmon_run r = { .size = sizeof(r), .max_switches = 1ull << 32,
				       .cmd = VMMON_CMD_SPIN, .arg = { 1ull << 50 } };
		ioctl(fd, VMMON_CREATE_VM, &c);
		ioctl(fd, VMMON_LOAD_MONITOR, &im.load);
		if (seed & 1)
			ioctl(fd, VMMON_RUN, &r);   /* in the monitor until the kill */
		close(fd);
		munmap(ram, rs);
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	long cycles = argc > 1 ? atol(argv[1]) : 1000;
	long kills = argc > 2 ? atol(argv[2]) : 20;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1;
	int status;
	if (image_read(argc > 4 ? argv[4] : "/lib/monitor.elf", &im) != 0)
		return 2;
	double t0 = now();

	for (long i = 0; i < cycles; i++)
		one_vm((1 + i % 4) * 65536, i % 3);
	CHECK(sysfs_count("vms_live") == 0 && sysfs_count("pages_held") == 0);
	double t1 = now();

	for (long i = 0; i < kills; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		pid_t pid = fork();
		if (pid == 0)
			victim(seed >> 33);
		struct timespec d = { 0, (long)((seed >> 20) % 30000000) };
		nanosleep(&d, NULL);
		kill(pid, SIGKILL);
		CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
	}
	CHECK(sysfs_count("vms_live") == 0 && sysfs_count("pages_held") == 0);
	double t2 = now();

	/* Two VMs at once, in two processes, each also holding a second VM on
	 * another file. */
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			int fd = vmmon_open();
			char *ram = guest_ram(4 << 20);
			struct vmmon_create c = create_arg(ram, 4 << 20, 65536);
			CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
			for (int i = 0; i < 50; i++)
				one_vm(65536, 3);
			close(fd);
			_exit(failures != 0);
		}
	}
	for (int k = 0; k < 2; k++)
		CHECK(waitpid(kids[k], &status, 0) == kids[k] && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0);
	CHECK(sysfs_count("vms_live") == 0 && sysfs_count("pages_held") == 0);
	printf("vmmon_endure: %ld cycles in %.1f s, %ld killed VMXs in %.1f s, two VMs at once in %.1f s: %s\n",
	       cycles, t1 - t0, kills, t2 - t1, now() - t2, failures ? "FAIL" : "ok");
	return failures != 0;
}
