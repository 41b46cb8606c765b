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
#include <time.h>
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
	/* The int3 image: the monitor's own #BP ends the VM. */
	r.cmd = VMMON_CMD_PING;
	CHECK_OK(ioctl(fd, VMMON_RUN, &r));
	CHECK(r.exit_reason == VMMON_EXIT_MONITOR && r.req == VMMON_REQ_FAULT && r.arg[0] == 3);
	r.exit_reason = r.req = 0;   /* out fields: nonzero on entry is refused */
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EIO);
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

/* The world switch with the real image: round trips, a request in the
 * middle of a command, host interrupts taken in the monitor and given back
 * to the host, a signal ending a run, the monitor's own fault. */
static void test_run(const char *path)
{
	int fd = vmmon_open();
	size_t rs = 1 << 20, ms = 32 << 20;
	char *ram = guest_ram(rs);
	struct vmmon_create c = create_arg(ram, rs, ms);
	struct vmmon_run r;
	struct vmmon_counters k = { .size = sizeof(k) };
	struct image im;
	char line[256];

#define RUN(command, a0) (r = (struct vmmon_run){ .size = sizeof(r), .max_switches = 1ull << 32, \
	.cmd = (command), .arg = { (a0) }, .data_uaddr = (uintptr_t)line, .data_len = sizeof(line) }, \
	ioctl(fd, VMMON_RUN, &r))
	CHECK(image_read(path, &im) == 0);
	CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
	CHECK_OK(ioctl(fd, VMMON_LOAD_MONITOR, &im.load));
	CHECK_ERR(RUN(0, 0), EINVAL);                          /* nothing to resume */
	CHECK_ERR(RUN(VMMON_CMD_MAX + 1, 0), EINVAL);
	CHECK_OK(RUN(VMMON_CMD_PING, 41));
	CHECK(r.exit_reason == VMMON_EXIT_MONITOR && r.req == VMMON_REQ_DONE && r.ret == 42);

	/* Argument checks. */
	r.exit_reason = 0; r.req = 0; r.max_switches = 0;
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINVAL);
	r.max_switches = (1ull << 32) + 1;
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINVAL);
	r.max_switches = 1; r.exit_reason = 7;
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINVAL);           /* an out field set on entry */
	r.exit_reason = 0; r.reserved[1] = 1;
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINVAL);
	r.reserved[1] = 0; r.data_len = 4097;
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINVAL);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int bad = 0;
	for (int i = 0; i < 1000; i++)
		bad |= RUN(VMMON_CMD_PING, i) != 0 || r.ret != i + 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(!bad);
	printf("vmmon_test: world switch round trip (PING ioctl): %.1f us\n",
	       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1000 / 1e3);

	/* A request in the middle of a command: the command resumes after. */
	CHECK_OK(RUN(VMMON_CMD_LOG, 0));
	CHECK(r.exit_reason == VMMON_EXIT_MONITOR && r.req == VMMON_REQ_LOG);
	CHECK(r.data_len > 10 && !memcmp(line, "dworld: ", 8));
	CHECK_ERR(RUN(VMMON_CMD_PING, 0), EBUSY);
	CHECK_OK(RUN(0, 0));
	CHECK(r.req == VMMON_REQ_DONE && r.ret > 1000);

	/* Data both ways: the command's, back as a log line; the answer's
	 * (arguments and bytes) into the monitor. */
	r = (struct vmmon_run){ .size = sizeof(r), .max_switches = 1, .cmd = VMMON_CMD_ECHO,
		.data_uaddr = (uintptr_t)line, .data_len = sizeof(line), .in_len = VMMON_DATA_MAX + 1 };
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINVAL);
	memcpy(line, "echo me", 7);
	r.in_len = 7; r.max_switches = 1ull << 32;
	CHECK_OK(ioctl(fd, VMMON_RUN, &r));
	CHECK(r.exit_reason == VMMON_EXIT_MONITOR && r.req == VMMON_REQ_LOG && r.data_len == 7 &&
	      !memcmp(line, "echo me", 7));
	CHECK_OK(RUN(0, 0));
	CHECK(r.exit_reason == VMMON_EXIT_MONITOR && r.req == VMMON_REQ_WALL);
	r = (struct vmmon_run){ .size = sizeof(r), .max_switches = 1ull << 32, .arg = { 1000 },
		.data_uaddr = (uintptr_t)line, .data_len = sizeof(line), .in_len = 5 };
	CHECK_OK(ioctl(fd, VMMON_RUN, &r));
	CHECK(r.req == VMMON_REQ_DONE && r.ret == 1005);
	r = (struct vmmon_run){ .size = sizeof(r), .max_switches = 1, .data_uaddr = (uintptr_t)line,
		.data_len = sizeof(line), .in_len = 5 };
	CHECK_ERR(ioctl(fd, VMMON_RUN, &r), EINVAL);            /* no command, no answer due */

	/* Interrupts on in the monitor: the host's timer keeps ticking. */
	k = (struct vmmon_counters){ .size = sizeof(k) };
	CHECK_OK(ioctl(fd, VMMON_GET_COUNTERS, &k));
	uint64_t irqs0 = k.host_irqs;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_OK(RUN(VMMON_CMD_SPIN, 100000000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(r.req == VMMON_REQ_DONE && r.ret == 100000000);
	k = (struct vmmon_counters){ .size = sizeof(k) };
	CHECK_OK(ioctl(fd, VMMON_GET_COUNTERS, &k));
	double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("vmmon_test: spin of %.2f s in the monitor: %llu host interrupts re-delivered\n", secs,
	       (unsigned long long)(k.host_irqs - irqs0));
	CHECK(k.host_irqs - irqs0 >= (secs > 0.1 ? 2 : 0));
	CHECK(k.ram_pages == rs / 4096 && k.mon_pages == ms / 4096 && k.pt_pages > 4);
	/* The time in the monitor's world covers the spin (less the host's
	 * interrupt handlers, run outside it). */
	CHECK(k.monitor_ns > (uint64_t)(secs * 0.5e9));
	CHECK_ERR(ioctl(fd, VMMON_GET_COUNTERS, &k), EINVAL);   /* an out field set on entry */
	k.monitor_ns = 0; k.reserved[0] = 5;
	CHECK_ERR(ioctl(fd, VMMON_GET_COUNTERS, &k), EINVAL);
	CHECK_ERR(ioctl(fd, VMMON_GET_COUNTERS, (void *)KADDR), EFAULT);

	/* A signal ends a long run between switches; the command stays
	 * in progress. */
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { .it_value = { .tv_usec = 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_ERR(RUN(VMMON_CMD_SPIN, 1ull << 50), EINTR);
	CHECK(r.exit_reason == VMMON_EXIT_SIGNAL);
	CHECK_ERR(RUN(VMMON_CMD_PING, 0), EBUSY);

	/* A new image starts over; the monitor's own #UD ends the VM. */
	CHECK_OK(ioctl(fd, VMMON_LOAD_MONITOR, &im.load));
	CHECK_OK(RUN(VMMON_CMD_PING, 1));
	CHECK(r.ret == 2);
	CHECK_OK(RUN(VMMON_CMD_FAULT, 0));
	CHECK(r.req == VMMON_REQ_FAULT && r.arg[0] == 6 && r.arg[2] >= DW_IMAGE_VA &&
	      r.arg[2] < DW_IMAGE_VA + im.end);
	CHECK_ERR(RUN(VMMON_CMD_PING, 0), EIO);
	k = (struct vmmon_counters){ .size = sizeof(k) };
	CHECK_OK(ioctl(fd, VMMON_GET_COUNTERS, &k));
	CHECK(k.mon_faults == 1 && k.exits_signal == 1);
	/* A monitor without a stack: its double fault is taken on the TSS's
	 * IST1 and ends the VM (without it the CPU would shut down). */
	CHECK_OK(ioctl(fd, VMMON_LOAD_MONITOR, &im.load));
	CHECK_OK(RUN(VMMON_CMD_STACKFAULT, 0));
	CHECK(r.req == VMMON_REQ_FAULT && r.arg[0] == 8);
	CHECK_ERR(RUN(VMMON_CMD_PING, 0), EIO);

	/* Destroy frees the VM; the file can make another. */
	CHECK_OK(ioctl(fd, VMMON_DESTROY_VM));
	CHECK(sysfs_count("vms_live") == 0 && sysfs_count("pages_held") == 0);
	CHECK_ERR(RUN(VMMON_CMD_PING, 0), ENODEV);
	CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
	CHECK(sysfs_count("vms_live") == 1);
	close(fd);
	munmap(ram, rs);
	free(im.file);
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

/* One command run to its end; log lines on the way are kept in `log`. */
static long run_to_done(int fd, unsigned cmd, const uint64_t arg[4], int64_t *ret, char *log, size_t room)
{
	char line[1024];
	size_t used = 0;
	if (room)
		log[0] = 0;
	uint64_t answer = 0;
	for (;;) {
		struct vmmon_run r = { .size = sizeof(r), .max_switches = 1ull << 32, .cmd = cmd,
				       .arg = { answer }, .data_uaddr = (uintptr_t)line, .data_len = sizeof(line) - 1 };
		if (cmd && arg)
			memcpy(r.arg, arg, sizeof(r.arg));
		long rc = ioctl(fd, VMMON_RUN, &r);
		if (rc < 0 && errno != EINTR)
			return rc;
		cmd = 0;
		if (r.exit_reason != VMMON_EXIT_MONITOR)
			continue;
		if (r.req == VMMON_REQ_DONE) {
			*ret = r.ret;
			return 0;
		}
		answer = 0;
		if (r.req == VMMON_REQ_WALL) {   /* (the CMOS clock's start) */
			answer = (uint64_t)time(NULL);
			continue;
		}
		if (r.req == VMMON_REQ_CONSOLE_IN)   /* no input: 0 bytes */
			continue;
		if (r.req == VMMON_REQ_DISK) {       /* no drives */
			answer = (uint64_t)-1;
			continue;
		}
		if (r.req != VMMON_REQ_LOG && r.req != VMMON_REQ_CONSOLE) {
			errno = EIO;
			return -1;
		}
		line[r.data_len] = 0;
		if (r.req == VMMON_REQ_LOG && used + r.data_len + 2 < room)
			used += (size_t)sprintf(log + used, "%s\n", line);
	}
}

/* The monitor initialized in the driver world (VMMON_CMD_INIT: vmm_init on
 * the module's guest-linear page tables and monitor area), reset on a
 * one-instruction guest and run: its block translated and entered, the
 * hlt's callout stops the machine (interrupts off); its counters come out
 * through VMMON_GET_COUNTERS. */
static void test_init(const char *path)
{
	int fd = vmmon_open();
	size_t rs = 4 << 20, ms = 40 << 20;
	char *ram = guest_ram(rs);
	struct vmmon_create c = create_arg(ram, rs, ms);
	struct image im;
	static char log[8192], text[VMMON_STATS_MAX + 1];
	int64_t ret = 99;

	ram[0x100000] = (char)0xf4;   /* hlt */
	CHECK(image_read(path, &im) == 0);
	CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
	CHECK_OK(ioctl(fd, VMMON_LOAD_MONITOR, &im.load));
	const uint64_t no_tc[4] = { 0, 0 }, bad_mode[4] = { 1 << 20, VMMON_INIT_ARG(0, 9, 0, 0) };
	const uint64_t init[4] = { 1 << 20, VMMON_INIT_ARG(0, 0, 0, 0) };
	const uint64_t reset[4] = { 0, 0x100000, 0x2badb002, 0 };
	CHECK_OK(run_to_done(fd, VMMON_CMD_RESET, reset, &ret, log, sizeof(log)));
	CHECK(ret == -1);                                   /* before INIT */
	CHECK_OK(run_to_done(fd, VMMON_CMD_INIT, no_tc, &ret, log, sizeof(log)));
	CHECK(ret == -1);
	CHECK_OK(run_to_done(fd, VMMON_CMD_INIT, bad_mode, &ret, log, sizeof(log)));
	CHECK(ret == -1);
	CHECK_OK(run_to_done(fd, VMMON_CMD_INIT, init, &ret, log, sizeof(log)));
	CHECK(ret == 0);
	CHECK_OK(run_to_done(fd, VMMON_CMD_INIT, init, &ret, log, sizeof(log)));
	CHECK(ret == -1);                                   /* once only */
	struct vmmon_counters k = { .size = sizeof(k), .stats_uaddr = (uintptr_t)text, .stats_len = VMMON_STATS_MAX };
	CHECK_OK(ioctl(fd, VMMON_GET_COUNTERS, &k));
	text[k.stats_len] = 0;
	CHECK(k.stats_len > 1000 && strstr(text, "\nbt.tu.translated 0\n") && strstr(text, "mmu."));
	k = (struct vmmon_counters){ .size = sizeof(k), .stats_len = VMMON_STATS_MAX + 1, .stats_uaddr = 1 };
	CHECK_ERR(ioctl(fd, VMMON_GET_COUNTERS, &k), EINVAL);
	k = (struct vmmon_counters){ .size = sizeof(k), .stats_len = 16 };
	CHECK_ERR(ioctl(fd, VMMON_GET_COUNTERS, &k), EINVAL);
	k = (struct vmmon_counters){ .size = sizeof(k), .stats_len = 16, .stats_uaddr = 8 };
	CHECK_ERR(ioctl(fd, VMMON_GET_COUNTERS, &k), EFAULT);
	CHECK_OK(run_to_done(fd, VMMON_CMD_RESET, reset, &ret, log, sizeof(log)));
	CHECK(ret == 0);
	CHECK_OK(run_to_done(fd, VMMON_CMD_RUN, NULL, &ret, log, sizeof(log)));
	CHECK(ret == 0);                                    /* hlt with interrupts off: the machine stops */
	k = (struct vmmon_counters){ .size = sizeof(k), .stats_uaddr = (uintptr_t)text, .stats_len = VMMON_STATS_MAX };
	CHECK_OK(ioctl(fd, VMMON_GET_COUNTERS, &k));
	text[k.stats_len] = 0;
	CHECK(strstr(text, "\nbt.tu.translated 1\n") && strstr(text, "\nvmm.unsupported.world_entry 0\n"));
	/* The monitor's three LDT slots and the guest's shadows (CS, and one
	 * data segment for SS/DS/ES/FS/GS), read back by the CPU. */
	const char *ver = strstr(text, "\ndworld.ldt.verified ");
	CHECK(ver && atoi(ver + 21) >= 5 && strstr(text, "\ndworld.ldt.mismatch 0\n") && !strstr(log, "LDT slot"));
	/* The monitor leaves DS/ES/FS/GS loaded from its LDT (GS's base
	 * MON_BASE): the switch out puts the host's back, its per-CPU GS
	 * base and this process's FS base (the TLS libc reads) included. */
	CHECK_OK(run_to_done(fd, VMMON_CMD_SEGLOAD, NULL, &ret, log, sizeof(log)));
	CHECK(ret == 0xffc00000);
	for (int i = 0; i < 100; i++)
		CHECK_OK(run_to_done(fd, VMMON_CMD_PING, NULL, &ret, log, sizeof(log)));
	errno = 0;
	CHECK(getpid() > 0 && errno == 0);
	printf("vmmon_test: init in the driver world: %u bytes of counters, %llu page-table pages, LDT descriptors verified by the CPU: %d\n",
	       k.stats_len, (unsigned long long)k.pt_pages, ver ? atoi(ver + 21) : -1);
	close(fd);
	munmap(ram, rs);

	/* Monitor memory too small for the monitor area and the tables. */
	fd = vmmon_open();
	ram = guest_ram(rs);
	c = create_arg(ram, rs, 8 << 20);
	CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
	CHECK_OK(ioctl(fd, VMMON_LOAD_MONITOR, &im.load));
	CHECK_OK(run_to_done(fd, VMMON_CMD_INIT, init, &ret, log, sizeof(log)));
	CHECK(ret == -1);
	close(fd);
	munmap(ram, rs);
	free(im.file);
}

int main(int argc, char **argv)
{
	test_no_vm();
	test_create_checks();
	test_load_checks();
	test_opener_and_limits();
	const char *image = argc > 1 ? argv[1] : "/lib/monitor.elf";
	test_image(image);
	test_run(image);
	test_init(image);
	CHECK(sysfs_count("vms_live") == 0 && sysfs_count("pages_held") == 0);
	printf("vmmon_test: %s (%d failed checks)\n", failures ? "FAIL" : "ok", failures);
	return failures != 0;
}
