/* The /dev/vmmon interface test: each ioctl's good path and every argument
 * check (sizes, alignment, counts, pointers, reserved fields), the opener
 * rule, the device's permissions, the locked-memory limit, a run stopped by
 * a signal, and the module's own counts of VMs and pages.
 * Environment: user space in the check-driver guest, run as root. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include "vmmon_util.h"
#include "vmmon_image.h"

#define KADDR 0xffffffff81000000ull   /* a kernel address: never a valid user pointer */

static void test_no_vm(void)
{
	int fd = vmmon_open();
	struct vmmon_run r = { .size = sizeof(r), .max_switches = 1 };
	struct vmmon_counters k = { .size = sizeof(k) };
	struct vmmon_load l = load_arg();

	CHECK(ioctl(fd, VMMON_VERSION) == VMMON_API_VERSION);
	CHECK_ERR(ioctl(fd, VMMON_LOAD_MONITOR, &l), ENODEV);
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), ENODEV);
	CHECK_ERR(ioctl(fd, VMMON_GET_COUNTERS, &k), ENODEV);
	CHECK_ERR(ioctl(fd, VMMON_DESTROY_VM), ENODEV);
	CHECK_ERR(ioctl(fd, _IO(VMMON_MAGIC, 99)), ENOTTY);
	CHECK_ERR(ioctl(fd, _IOW(VMMON_MAGIC, 1, int)), ENOTTY);   /* CREATE's number, wrong size */
	CHECK_ERR(ioctl(fd, 0x5401 /* TCGETS */), ENOTTY);
	close(fd);
}

static void test_create_checks(void)
{
	int fd = vmmon_open();
	size_t rs = 1 << 20;
	char *ram = guest_ram(rs + 4096);
	struct vmmon_create c;

#define BAD_CREATE(field_change, e) do { c = create_arg(ram, rs, 65536); field_change; \
	CHECK_ERR(ioctl(fd, VMMON_CREATE_VM, &c), e); } while (0)
	BAD_CREATE(c.size = 0, EINVAL);
	BAD_CREATE(c.size = sizeof(c) + 8, EINVAL);
	BAD_CREATE(c.flags = 1, EINVAL);
	BAD_CREATE(c.reserved[3] = 1, EINVAL);
	BAD_CREATE(c.ram_size = 0, EINVAL);
	BAD_CREATE(c.ram_size = rs - 1, EINVAL);
	BAD_CREATE(c.ram_size = VMMON_RAM_MAX + 4096, EINVAL);
	BAD_CREATE(c.mon_size = 0, EINVAL);
	BAD_CREATE(c.mon_size = 4097, EINVAL);
	BAD_CREATE(c.mon_size = VMMON_MON_MAX + 4096, EINVAL);
	BAD_CREATE(c.ram_uaddr += 8, EINVAL);
	BAD_CREATE(c.ram_uaddr = KADDR, EFAULT);
	BAD_CREATE(c.ram_uaddr = 0, EFAULT);                       /* nothing mapped at 0 */
	BAD_CREATE(c.ram_uaddr = ~0ull & ~4095ull, EFAULT);        /* wraps */
	/* Partly mapped: the last page is gone. */
	munmap(ram + rs, 4096);
	BAD_CREATE(c.ram_size = rs + 4096, EFAULT);
	/* Read-only memory cannot be guest RAM. */
	char *ro = mmap(NULL, rs, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	BAD_CREATE(c.ram_uaddr = (uintptr_t)ro, EFAULT);
	CHECK_ERR(ioctl(fd, VMMON_CREATE_VM, NULL), EFAULT);
	CHECK_ERR(ioctl(fd, VMMON_CREATE_VM, (void *)KADDR), EFAULT);
	/* A failed create leaves nothing behind. */
	CHECK(sysfs_count("vms_live") == 0);
	CHECK(sysfs_count("pages_held") == 0);
	c = create_arg(ram, rs, 65536);
	CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
	CHECK_ERR(ioctl(fd, VMMON_CREATE_VM, &c), EEXIST);
	CHECK(sysfs_count("vms_live") == 1);
	CHECK(sysfs_count("pages_held") == (long)(rs + 65536) / 4096);
	close(fd);
	CHECK(sysfs_count("vms_live") == 0);
	CHECK(sysfs_count("pages_held") == 0);
	munmap(ram, rs);
	munmap(ro, rs);
}

static void test_load_checks(void)
{
	int fd = vmmon_open();
	size_t rs = 1 << 20, ms = 8 * 4096;
	char *ram = guest_ram(rs);
	struct vmmon_create c = create_arg(ram, rs, ms);
	struct vmmon_segment segs[VMMON_SEGS_MAX + 1];
	struct vmmon_load l;
	struct vmmon_run r = { .size = sizeof(r), .max_switches = 1 };

	CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), ENOEXEC);
#define TWO_SEGS() do { l = load_arg(); memcpy(segs, image_seg, sizeof(image_seg[0])); \
	segs[1] = segs[0]; segs[1].mon_offset = 4 * 4096; segs[1].prot = VMMON_PROT_R | VMMON_PROT_W; \
	l.nsegs = 2; l.segs_uaddr = (uintptr_t)segs; } while (0)
#define BAD_LOAD(change, e) do { TWO_SEGS(); change; \
	CHECK_ERR(ioctl(fd, VMMON_LOAD_MONITOR, &l), e); } while (0)
	BAD_LOAD(l.size = 8, EINVAL);
	BAD_LOAD(l.reserved[0] = 1, EINVAL);
	BAD_LOAD(l.nsegs = 0, EINVAL);
	BAD_LOAD(l.nsegs = VMMON_SEGS_MAX + 1, EINVAL);
	BAD_LOAD(l.segs_uaddr = 0, EFAULT);
	BAD_LOAD(l.segs_uaddr = KADDR, EFAULT);
	BAD_LOAD(segs[1].mon_offset = 100, EINVAL);                  /* unaligned */
	BAD_LOAD(segs[1].mon_offset = ms, EINVAL);                   /* past the end */
	BAD_LOAD(segs[1].memsz = ms, EINVAL);                        /* runs past the end */
	BAD_LOAD(segs[1].mon_offset = 4096, EINVAL);                 /* overlaps segment 0 */
	BAD_LOAD(segs[1].memsz = 0; segs[1].filesz = 0, EINVAL);
	BAD_LOAD(segs[1].filesz = 3 * 4096, EINVAL);                 /* filesz > memsz */
	BAD_LOAD(segs[1].prot = 8, EINVAL);
	BAD_LOAD(segs[1].reserved = 1, EINVAL);
	BAD_LOAD(segs[1].memsz = ~0ull & ~4095ull, EINVAL);          /* offset + memsz wraps */
	BAD_LOAD(segs[1].src_uaddr = KADDR, EFAULT);
	BAD_LOAD(segs[1].src_uaddr = 4096, EFAULT);                  /* unmapped */
	BAD_LOAD(l.entry = 4 * 4096, EINVAL);                        /* entry in a non-X segment */
	BAD_LOAD(l.entry = ms + 1, EINVAL);
	/* A failed load leaves the VM not runnable. */
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), ENOEXEC);
	TWO_SEGS();
	CHECK_OK(ioctl(fd, VMMON_LOAD_MONITOR, &l));
	CHECK_OK(ioctl(fd, VMMON_RUN, &r));
	CHECK(r.exit_reason == VMMON_EXIT_BUDGET);
	r.exit_reason = 0;   /* an out field: nonzero on entry is refused */
	l.nsegs = VMMON_SEGS_MAX;
	for (unsigned i = 0; i < VMMON_SEGS_MAX; i++)
		segs[i] = (struct vmmon_segment){ .src_uaddr = (uintptr_t)image_bytes, .filesz = i,
			.mon_offset = 0, .memsz = 1, .prot = VMMON_PROT_X };
	l.segs_uaddr = (uintptr_t)segs;
	CHECK_ERR(ioctl(fd, VMMON_LOAD_MONITOR, &l), EINVAL);        /* 16 segments, all overlapping */
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), ENOEXEC);
	close(fd);
	munmap(ram, rs);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_run(void)
{
	int fd = vmmon_open();
	size_t rs = 1 << 20;
	char *ram = guest_ram(rs);
	struct vmmon_create c = create_arg(ram, rs, 65536);
	struct vmmon_load l = load_arg();
	struct vmmon_run r = { .size = sizeof(r), .max_switches = 1000 };
	struct vmmon_counters k = { .size = sizeof(k) };

	CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
	CHECK_OK(ioctl(fd, VMMON_LOAD_MONITOR, &l));
	CHECK_OK(ioctl(fd, VMMON_RUN, &r));
	CHECK(r.exit_reason == VMMON_EXIT_BUDGET);
	r.exit_reason = 0;
	r.max_switches = 0;
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINVAL);
	r.max_switches = (1ull << 32) + 1;
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINVAL);
	r.max_switches = 1;
	r.exit_reason = 7;
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINVAL);                 /* an out field set on entry */
	r.exit_reason = 0;
	r.reserved[1] = 1;
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINVAL);
	r.reserved[1] = 0;
	CHECK_OK(ioctl(fd, VMMON_GET_COUNTERS, &k));
	CHECK(k.runs == 1 && k.switches == 1000 && k.exits_budget == 1);
	CHECK(k.ram_pages == rs / 4096 && k.mon_pages == 16);
	k.reserved[2] = 5;
	CHECK_ERR(ioctl(fd, VMMON_GET_COUNTERS, &k), EINVAL);
	CHECK_ERR(ioctl(fd, VMMON_GET_COUNTERS, (void *)KADDR), EFAULT);

	/* A signal ends a long run: the loop checks between switches. */
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { .it_value = { .tv_usec = 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	r.max_switches = 1ull << 32;
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINTR);
	CHECK(r.exit_reason == VMMON_EXIT_SIGNAL);
	k = (struct vmmon_counters){ .size = sizeof(k) };
	CHECK_OK(ioctl(fd, VMMON_GET_COUNTERS, &k));
	CHECK(k.runs == 2 && k.exits_signal == 1 && k.switches > 1000);
	printf("vmmon_test: %llu null switches in 100 ms, %llu reschedules\n",
	       (unsigned long long)k.switches - 1000, (unsigned long long)k.exits_resched);

	/* Destroy frees the VM; the file can make another. */
	CHECK_OK(ioctl(fd, VMMON_DESTROY_VM));
	CHECK(sysfs_count("vms_live") == 0 && sysfs_count("pages_held") == 0);
	r.exit_reason = 0;
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), ENODEV);
	CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
	CHECK(sysfs_count("vms_live") == 1);
	close(fd);
	munmap(ram, rs);
}

/* Only the opener's process drives its VM; others may hold the file and
 * close it. Root only may open the node (mode 0600). An unprivileged
 * opener is held to RLIMIT_MEMLOCK. */
static void test_opener_and_limits(void)
{
	int fd = vmmon_open();
	size_t rs = 4 << 20;
	char *ram = guest_ram(rs);
	struct vmmon_create c = create_arg(ram, rs, 65536);
	struct stat st;
	int status;

	CHECK(stat("/dev/vmmon", &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_uid == 0);
	pid_t pid = fork();
	if (pid == 0) {
		errno = 0;
		int bad = ioctl(fd, VMMON_CREATE_VM, &c) != -1 || errno != EPERM;
		bad |= ioctl(fd, VMMON_VERSION) != -1 || errno != EPERM;
		close(fd);
		_exit(bad);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
	close(fd);

	pid = fork();
	if (pid == 0) {
		/* Opened as root, then unprivileged: the charge hits the limit. */
		int fd2 = vmmon_open();
		struct rlimit rl = { 1 << 20, 1 << 20 };
		int bad = setrlimit(RLIMIT_MEMLOCK, &rl) != 0;
		bad |= setgid(65534) != 0 || setuid(65534) != 0;
		errno = 0;
		bad |= (ioctl(fd2, VMMON_CREATE_VM, &c) != -1 || errno != ENOMEM) << 1;
		bad |= (open("/dev/vmmon", O_RDWR) != -1 || errno != EACCES) << 2;
		c.ram_size = 1 << 19;
		bad |= (ioctl(fd2, VMMON_CREATE_VM, &c) != 0) << 3;
		_exit(bad);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	if (WEXITSTATUS(status))
		fprintf(stderr, "unprivileged child: failure bits %#x\n", WEXITSTATUS(status));
	CHECK(WEXITSTATUS(status) == 0);
	CHECK(sysfs_count("vms_live") == 0 && sysfs_count("pages_held") == 0);
	munmap(ram, rs);
}

/* The real monitor image (vmm/, bt/, shadow_mmu/ with the driver world):
 * its segments load; the same image with its entry moved out of its text
 * is refused. */
static void test_image(const char *path)
{
	struct image im;
	int fd = vmmon_open();
	size_t rs = 1 << 20, ms = 32 << 20;
	char *ram = guest_ram(rs);
	struct vmmon_create c = create_arg(ram, rs, ms);

	CHECK(image_read(path, &im) == 0);
	CHECK(im.end + DW_STACK_SIZE < ms);
	CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
	struct vmmon_load bad = im.load;
	bad.entry = im.segs[im.load.nsegs - 1].mon_offset;   /* the data segment */
	CHECK_ERR(ioctl(fd, VMMON_LOAD_MONITOR, &bad), EINVAL);
	CHECK_OK(ioctl(fd, VMMON_LOAD_MONITOR, &im.load));
	printf("vmmon_test: %s: %u segments, %llu KiB, entry +%#llx\n", path, im.load.nsegs,
	       (unsigned long long)im.end >> 10, (unsigned long long)im.load.entry);
	close(fd);
	munmap(ram, rs);
	free(im.file);
}

int main(int argc, char **argv)
{
	test_no_vm();
	test_create_checks();
	test_load_checks();
	test_run();
	test_opener_and_limits();
	if (argc > 1)
		test_image(argv[1]);
	CHECK(sysfs_count("vms_live") == 0 && sysfs_count("pages_held") == 0);
	printf("vmmon_test: %s (%d failed checks)\n", failures ? "FAIL" : "ok", failures);
	return failures != 0;
}
