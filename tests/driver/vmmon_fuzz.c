/* Random ioctls against /dev/vmmon: random command numbers near and far
 * from the real ones, arguments built from boundary values, and pointers to
 * nothing, to the kernel, to read-only memory and to buffers that end at an
 * unmapped page; files are closed and reopened at random, with VMs alive.
 * The kernel must stay clean (the harness reads dmesg) and every error must
 * be one the interface documents. Usage: vmmon_fuzz SEED ITERATIONS [IMAGE]
 * Environment: user space in the check-driver guest, run as root. */
#include "vmmon_image.h"

static uint64_t rng;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *ram, *ro, *edge;   /* edge: one page followed by an unmapped one */
#define RAM_SIZE (2u << 20)

static uint64_t pick_u64(void)
{
	static const uint64_t vals[] = { 0, 1, 4095, 4096, 4097, 8192, 65536, RAM_SIZE,
		VMMON_RAM_MAX, VMMON_RAM_MAX + 4096, VMMON_MON_MAX, VMMON_MON_MAX + 4096,
		1ull << 32, (1ull << 32) + 1, ~0ull, ~0ull & ~4095ull, 0x7ffffffff000ull,
		0xffff800000000000ull, 0xffffffff81000000ull };
	switch (next() % 4) {
	case 0: return next();
	case 1: return next() & 0xfffff000u;
	default: return vals[next() % (sizeof(vals) / sizeof(vals[0]))];
	}
}

static uint64_t pick_ptr(size_t want)
{
	switch (next() % 8) {
	case 0: return 0;
	case 1: return 0xffffffff81000000ull + (next() & 0xfff000);
	case 2: return (uintptr_t)ro + (next() & 0xff8);
	case 3: return (uintptr_t)edge + 4096 - (want ? next() % want : 0);
	case 4: return pick_u64();
	default: return (uintptr_t)ram + ((next() % (RAM_SIZE / 4096)) << 12);
	}
}

static const unsigned long cmds[] = { VMMON_VERSION, VMMON_CREATE_VM, VMMON_LOAD_MONITOR,
	VMMON_RUN, VMMON_GET_COUNTERS, VMMON_DESTROY_VM };

/* Fills a structure with plausible then perturbed fields. */
static void fill(void *p, size_t n)
{
	uint64_t *w = p;
	for (size_t i = 0; i < n / 8; i++)
		w[i] = next() % 3 ? 0 : pick_u64();
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	long iters = argc > 2 ? atol(argv[2]) : 10000;
	long ok = 0, errs[256] = { 0 }, monitor_exits[8] = { 0 };
	int fds[4];
	union {
		struct vmmon_create c;
		struct vmmon_load l;
		struct vmmon_run r;
		struct vmmon_counters k;
		char raw[256];
	} *a;
	struct vmmon_segment *segs;

	static struct image im;
	if (image_read(argc > 3 ? argv[3] : "/lib/monitor.elf", &im) != 0)
		return 2;
	rng = seed * 0x9E3779B97F4A7C15ull | 1;
	ram = guest_ram(RAM_SIZE);
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	edge = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(edge + 4096, 4096);
	a = (void *)(edge + 4096 - sizeof(*a));   /* the arguments themselves end at a hole */
	segs = guest_ram(VMMON_SEGS_MAX * sizeof(*segs) + 4096);
	for (int i = 0; i < 4; i++)
		fds[i] = vmmon_open();

	for (long it = 0; it < iters; it++) {
		int slot = next() % 4, fd = fds[slot];
		unsigned long cmd;
		void *arg;

		if (next() % 64 == 0) {
			close(fd);
			fds[slot] = vmmon_open();
			continue;
		}
		/* Now and then a VM with the real image, so random runs find a
		 * monitor to enter (and resume, fault, kill). */
		if (next() % 256 == 0) {
			struct vmmon_create c = create_arg(ram, RAM_SIZE, image_mon_size(&im));
			close(fd);
			fds[slot] = fd = vmmon_open();
			CHECK_OK(ioctl(fd, VMMON_CREATE_VM, &c));
			CHECK_OK(ioctl(fd, VMMON_LOAD_MONITOR, &im.load));
			continue;
		}
		switch (next() % 8) {
		case 0: cmd = next() & 0xffffffffu; break;
		case 1: cmd = _IOC(next() % 4, VMMON_MAGIC, next() % 8, next() % 300); break;
		default: cmd = cmds[next() % 6];
		}
		memset(a, 0, sizeof(*a));
		fill(a, sizeof(*a));
		if (next() % 4) {
			a->c.size = _IOC_SIZE(cmd);
			if (cmd == VMMON_CREATE_VM && next() % 2) {
				a->c.ram_uaddr = next() % 2 ? (uintptr_t)ram : pick_ptr(0);
				a->c.ram_size = next() % 2 ? (next() % 512 + 1) * 4096 : pick_u64();
				a->c.mon_size = next() % 3 == 0 ? image_mon_size(&im) :
						next() % 2 ? (next() % 64 + 1) * 4096 : pick_u64();
				if (next() % 16)
					memset(&a->c.flags, 0, sizeof(a->c.flags)), memset(a->c.reserved, 0, sizeof(a->c.reserved));
			}
			if (cmd == VMMON_LOAD_MONITOR) {
				a->l.nsegs = next() % 2 ? next() % (VMMON_SEGS_MAX + 2) : (uint32_t)pick_u64();
				for (unsigned i = 0; i < VMMON_SEGS_MAX; i++) {
					segs[i] = (struct vmmon_segment){ .src_uaddr = pick_ptr(4096),
						.filesz = next() % 2 ? next() % 8192 : pick_u64(),
						.mon_offset = next() % 2 ? (next() % 16) * 4096 : pick_u64(),
						.memsz = next() % 2 ? next() % 16384 : pick_u64(),
						.prot = next() % 8 };
					if (next() % 8 == 0)
						segs[i].reserved = next();
				}
				a->l.segs_uaddr = next() % 4 ? (uintptr_t)segs : pick_ptr(sizeof(*segs));
				a->l.entry = next() % 2 ? next() % 8192 : pick_u64();
				if (next() % 16)
					memset(a->l.reserved, 0, sizeof(a->l.reserved));
				if (next() % 3 == 0)
					a->l = im.load;   /* the real image, so runs enter the monitor */
			}
			if (cmd == VMMON_RUN) {
				/* Valid, then one field perturbed a quarter of the time. */
				static char data[4096];
				a->r = (struct vmmon_run){ .size = sizeof(a->r), .max_switches = next() % 1000 + 1,
					.cmd = next() % (VMMON_CMD_MAX + 1), .arg = { next() % 100000 },
					.data_uaddr = (uintptr_t)data, .data_len = next() % 4097 };
				switch (next() % 16) {
				case 0: a->r.exit_reason = (uint32_t)next(); break;
				case 1: a->r.req = (uint32_t)next(); break;
				case 2: a->r.max_switches = pick_u64(); break;
				case 3: a->r.cmd = (uint32_t)next(); break;
				case 4: a->r.data_uaddr = pick_ptr(64); break;
				case 5: a->r.data_len = (uint32_t)pick_u64(); break;
				case 6: a->r.reserved[next() % 2] = next(); break;
				case 7: a->r.arg[next() % 4] = next(); break;
				case 8: a->r.in_len = next() % 2 ? (uint32_t)(next() % (VMMON_DATA_MAX + 1)) :
						      (uint32_t)pick_u64(); break;
				}
			}
		}
		arg = next() % 8 ? (void *)a : (void *)(uintptr_t)pick_ptr(sizeof(*a));
		/* A huge valid run would take minutes: cap what the fuzzer
		 * itself asks for, while the kernel still sees big values
		 * in the rejected fields. */
		if (arg == a && cmd == VMMON_RUN && a->r.max_switches > 1000000 &&
		    a->r.max_switches <= (1ull << 32))
			a->r.max_switches = 1000;
		/* A spin is resumed by later runs too: keep each one short. */
		if (arg == a && cmd == VMMON_RUN && a->r.cmd == VMMON_CMD_SPIN)
			a->r.arg[0] %= 100000;
		errno = 0;
		long r = ioctl(fd, cmd, arg);
		if (r >= 0) {
			ok++;
			if (arg == a && cmd == VMMON_RUN && a->r.exit_reason == VMMON_EXIT_MONITOR)
				monitor_exits[a->r.req & 7]++;
			continue;
		}
		switch (errno) {
		case EINVAL: case EFAULT: case ENOTTY: case ENODEV: case EEXIST: case ENOEXEC:
		case ENOMEM: case EINTR: case EBUSY: case EIO:
			errs[errno]++;
			break;
		default:
			failures++;
			fprintf(stderr, "vmmon_fuzz: cmd %#lx gave errno %d (%s), not a documented one\n",
				cmd, errno, strerror(errno));
		}
	}
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	CHECK(sysfs_count("vms_live") == 0 && sysfs_count("pages_held") == 0);
	printf("vmmon_fuzz: seed %llu, %ld ioctls: %ld ok, EINVAL %ld EFAULT %ld ENOTTY %ld ENODEV %ld "
	       "EEXIST %ld ENOEXEC %ld ENOMEM %ld EBUSY %ld EIO %ld: %s\n", (unsigned long long)seed, iters,
	       ok, errs[EINVAL], errs[EFAULT], errs[ENOTTY], errs[ENODEV], errs[EEXIST], errs[ENOEXEC],
	       errs[ENOMEM], errs[EBUSY], errs[EIO], failures ? "FAIL" : "ok");
	printf("vmmon_fuzz: runs back from the monitor: done %ld, log %ld, fault %ld\n",
	       monitor_exits[VMMON_REQ_DONE], monitor_exits[VMMON_REQ_LOG], monitor_exits[VMMON_REQ_FAULT]);
	return failures != 0;
}
