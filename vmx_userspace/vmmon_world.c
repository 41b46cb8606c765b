/* The VMX side of the driver world (-world vmmon): loads the monitor image
 * with libelf, creates the VM behind /dev/vmmon around the guest's RAM, and
 * drives the monitor with VMMON_RUN commands (init, reset, run: guest code
 * runs inside the module's world), answering its requests on the way
 * (console output and input, log lines, the drives, the wall clock); at
 * exit its counters
 * come back through VMMON_GET_COUNTERS into this process's registry, where
 * -stats finds them. The user-level world's counterpart is uworld/.
 * Environment: the vmx process (libc), no sandbox; the monitor itself runs
 * in the module's world, not here. */
#define _GNU_SOURCE
#include "vmx.h"
#include "stats.h"
#include "tunables.h"
#include "vmmon_ioctl.h"
#include "xpage.h"
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VMMON_DEV "/dev/vmmon"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int vmmon_world_open(char *err, size_t errlen)
{
	int fd = open(VMMON_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "vmx: -world vmmon: cannot open " VMMON_DEV ": %s (is the vmmon module loaded?)",
			    strerror(errno));
	int v = ioctl(fd, VMMON_VERSION);
	if (v != VMMON_API_VERSION) {
		close(fd);
		return fail(err, errlen, "vmx: -world vmmon: " VMMON_DEV " speaks API %d, this vmx %d", v,
			    VMMON_API_VERSION);
	}
	return fd;
}

/* The image: $VMX_MONITOR_IMAGE, else driver/monitor.elf beside this
 * program (build/vmx finds build/driver/monitor.elf). */
static int image_path(char *buf, size_t n)
{
	const char *env = getenv("VMX_MONITOR_IMAGE");
	if (env && *env)
		return snprintf(buf, n, "%s", env) < (int)n ? 0 : -1;
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (k <= 0)
		return -1;
	exe[k] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = 0;
	return snprintf(buf, n, "%s/driver/monitor.elf", exe) < (int)n ? 0 : -1;
}

struct image {
	void *file;
	size_t file_size;
	struct vmmon_segment segs[VMMON_SEGS_MAX];
	struct vmmon_load load;
	uint64_t end;            /* bytes of monitor memory the image spans */
};

static int image_load(const char *path, struct image *im, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return fail(err, errlen, "vmx: -world vmmon: monitor image %s: %s (set VMX_MONITOR_IMAGE)", path,
			    strerror(errno));
	}
	im->file_size = (size_t)st.st_size;
	im->file = malloc(im->file_size ? im->file_size : 1);
	ssize_t got = im->file ? read(fd, im->file, im->file_size) : -1;
	close(fd);
	if (got != (ssize_t)im->file_size)
		return fail(err, errlen, "vmx: -world vmmon: monitor image %s: cannot read it", path);
	elf_version(EV_CURRENT);
	Elf *e = elf_memory(im->file, im->file_size);
	GElf_Ehdr eh;
	size_t nph;
	if (!e || !gelf_getehdr(e, &eh) || gelf_getclass(e) != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_type != ET_EXEC || elf_getphdrnum(e, &nph) != 0) {
		if (e)
			elf_end(e);
		return fail(err, errlen, "vmx: -world vmmon: monitor image %s: not an x86-64 executable", path);
	}
	unsigned n = 0;
	im->end = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (n == VMMON_SEGS_MAX || ph.p_vaddr < DW_IMAGE_VA || ph.p_offset + ph.p_filesz > im->file_size) {
			elf_end(e);
			return fail(err, errlen, "vmx: -world vmmon: monitor image %s: segment %zu is not one vmmon takes",
				    path, i);
		}
		im->segs[n++] = (struct vmmon_segment){ .src_uaddr = (uintptr_t)im->file + ph.p_offset,
			.filesz = ph.p_filesz, .mon_offset = ph.p_vaddr - DW_IMAGE_VA, .memsz = ph.p_memsz,
			.prot = (ph.p_flags & PF_R ? VMMON_PROT_R : 0) | (ph.p_flags & PF_W ? VMMON_PROT_W : 0) |
				(ph.p_flags & PF_X ? VMMON_PROT_X : 0) };
		if (ph.p_vaddr - DW_IMAGE_VA + ph.p_memsz > im->end)
			im->end = ph.p_vaddr - DW_IMAGE_VA + ph.p_memsz;
	}
	im->load = (struct vmmon_load){ .size = sizeof(im->load), .nsegs = n,
		.segs_uaddr = (uintptr_t)im->segs, .entry = eh.e_entry - DW_IMAGE_VA };
	elf_end(e);
	return 0;
}

/* One command, run to its end: the monitor's requests on the way are
 * answered here (console bytes to stdout, log lines to stderr), signals
 * and spent budgets resume it. */
/* A disk request (VMMON_REQ_DISK): its answer, 0 or -1, and for a read
 * the sectors in data. */
static int64_t disk_request(const struct vmmon_run *r, uint8_t *data, uint32_t *in_len)
{
	unsigned op = (unsigned)(r->arg[0] & 0xff), drive = (unsigned)(r->arg[0] >> 8);
	uint64_t lba = r->arg[1], n = r->arg[2];
	if (drive >= VMX_DRIVES || n * 512 > VMMON_DATA_MAX)
		return -1;
	switch (op) {
	case VMMON_DISK_READ:
		if (disk_read(drive, lba, data, (uint32_t)n) != 0)
			return -1;
		*in_len = (uint32_t)n * 512;
		return 0;
	case VMMON_DISK_WRITE:
		return r->data_len == n * 512 && disk_write(drive, lba, data, (uint32_t)n) == 0 ? 0 : -1;
	case VMMON_DISK_FLUSH:
		return disk_flush(drive) == 0 ? 0 : -1;
	}
	return -1;
}

static int run_cmd(int fd, uint32_t cmd, const uint64_t arg[4], const void *in, uint32_t in_len, int64_t *ret,
		   char *err, size_t errlen)
{
	static uint8_t data[4096];
	uint64_t answer[4] = { 0 };
	if (in_len > VMMON_DATA_MAX)
		return fail(err, errlen, "vmx: -world vmmon: %u bytes for the monitor, the cross page holds %u",
			    in_len, VMMON_DATA_MAX);
	if (in_len)
		memcpy(data, in, in_len);
	for (;;) {
		struct vmmon_run r = { .size = sizeof(r), .max_switches = 1u << 20, .cmd = cmd,
				       .data_uaddr = (uintptr_t)data, .data_len = sizeof(data), .in_len = in_len };
		memcpy(r.arg, cmd && arg ? arg : answer, sizeof(r.arg));
		int rc = ioctl(fd, VMMON_RUN, &r);
		if (rc < 0 && !(errno == EINTR && r.exit_reason == VMMON_EXIT_SIGNAL))
			return fail(err, errlen, "vmx: -world vmmon: VMMON_RUN: %s", strerror(errno));
		/* A run resumed after a signal or a spent budget sends the
		 * answer again: the module takes one only while the monitor
		 * waits for it. */
		cmd = 0;
		in_len = 0;
		if (r.exit_reason != VMMON_EXIT_MONITOR)
			continue;
		memset(answer, 0, sizeof(answer));
		switch (r.req) {
		case VMMON_REQ_DONE:
			*ret = r.ret;
			return 0;
		case VMMON_REQ_CONSOLE:
			console_write(data, r.data_len);
			break;
		case VMMON_REQ_LOG:
			fprintf(stderr, "%.*s\n", (int)r.data_len, (const char *)data);
			break;
		case VMMON_REQ_CONSOLE_IN: {
			bool quit = false;
			size_t room = r.arg[0] < VMMON_DATA_MAX ? (size_t)r.arg[0] : VMMON_DATA_MAX;
			size_t got = console_read(data, room, r.arg[1] != 0, &quit);
			answer[0] = got;
			answer[1] = quit;
			in_len = (uint32_t)got;
			break;
		}
		case VMMON_REQ_DISK:
			answer[0] = (uint64_t)disk_request(&r, data, &in_len);
			break;
		case VMMON_REQ_WALL:
			answer[0] = (uint64_t)time(NULL);
			break;
		case VMMON_REQ_FAULT:
			if (r.arg[2] < (1ull << 32))
				return fail(err, errlen,
					    "vmx: -world vmmon: translated guest code took exception %" PRIu64
					    " (error 0x%" PRIx64 ") at TC address 0x%" PRIx64 ", cr2 0x%" PRIx64
					    " before the monitor could take it",
					    (uint64_t)r.arg[0], (uint64_t)r.arg[1], (uint64_t)r.arg[2], (uint64_t)r.arg[3]);
			return fail(err, errlen,
				    "vmx: -world vmmon: the monitor took exception %" PRIu64 " (error 0x%" PRIx64
				    ") at rip 0x%" PRIx64 ", cr2 0x%" PRIx64,
				    (uint64_t)r.arg[0], (uint64_t)r.arg[1], (uint64_t)r.arg[2], (uint64_t)r.arg[3]);
		default:
			return fail(err, errlen, "vmx: -world vmmon: unknown request %u", r.req);
		}
	}
}

/* The monitor's counters and the module's, into this process's registry:
 * the VMX has no monitor of its own running in this world, so the names
 * are its counters' only owners. */
static void import_counters(int fd)
{
	static char text[VMMON_STATS_MAX + 1];
	struct vmmon_counters k = { .size = sizeof(k), .stats_uaddr = (uintptr_t)text,
				    .stats_len = VMMON_STATS_MAX };
	if (ioctl(fd, VMMON_GET_COUNTERS, &k) != 0)
		return;
	text[k.stats_len] = 0;
	for (char *line = text, *next; *line; line = next) {
		next = strchr(line, '\n');
		if (!next)
			break;
		*next++ = 0;
		char *sp = strrchr(line, ' ');
		stat_counter *c = sp ? malloc(sizeof(*c)) : NULL;
		if (!c)
			continue;
		*sp = 0;
		*c = (stat_counter){ .name = strdup(line), .value = strtoull(sp + 1, NULL, 10) };
		if (c->name)
			stats_register(c);
	}
	const struct { const char *name; uint64_t v; } from[] = {
		{ "vmmon.runs", k.runs }, { "vmmon.switches", k.switches },
		{ "vmmon.exits.budget", k.exits_budget }, { "vmmon.exits.signal", k.exits_signal },
		{ "vmmon.exits.resched", k.exits_resched }, { "vmmon.exits.monitor", k.exits_monitor },
		{ "vmmon.host_irqs", k.host_irqs }, { "vmmon.pages.ram", k.ram_pages },
		{ "vmmon.pages.monitor", k.mon_pages }, { "vmmon.pages.page_tables", k.pt_pages },
		{ "vmmon.monitor_faults", k.mon_faults }, { "vmmon.monitor_ns", k.monitor_ns },
		{ "vmmon.timer.fires", k.timer_fires }, { "vmmon.timer.alarms", k.alarms },
		{ "vmmon.timer.alarms_on_irq", k.alarm_irqs }, { "vmmon.waits", k.waits },
		{ "vmmon.wait_us", k.wait_ns / 1000 },
	};
	static stat_counter out[sizeof(from) / sizeof(from[0])];
	for (unsigned i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		out[i] = (stat_counter){ .name = from[i].name, .value = from[i].v };
		stats_register(&out[i]);
	}
}

/* Options whose machinery lives in the user-level world only. */
static const char *unsupported_option(const struct vmx_options *o)
{
	if (o->gdb)
		return "-gdb";
	if (o->monitor)
		return "-monitor";
	if (o->profile_path)
		return "-profile";
	if (o->perf_map || o->jitdump)
		return o->perf_map ? "-perf-map" : "-jitdump";
	return NULL;
}

/* SIGTERM, SIGHUP, SIGINT, SIGQUIT end vmx as in the user-level world
 * (uworld.c): the terminal's mode back, then the signal's default action.
 * Here the VMX is plain user code (the module returns from VMMON_RUN with
 * EINTR), so the handler needs no world of its own; closing the device
 * at exit frees the VM. */
static void on_exit_signal(int sig)
{
	console_restore_signal();
	stats_report_abandon_signal();
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

static void install_exit_handlers(void)
{
	static const int sigs[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old, sa = { .sa_handler = on_exit_signal };
		sigfillset(&sa.sa_mask);
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}

int vmmon_world_main(int fd, const struct vmx_options *o)
{
	char err[512];
	const char *bad = unsupported_option(o);
	if (bad) {
		fprintf(stderr, "vmx: -world vmmon: %s is not supported in the driver world yet\n", bad);
		return 2;
	}
	struct vmmon_init_data drives = { .reserved = 0 };
	for (unsigned i = 0; i < VMX_DRIVES && i < 4; i++) {
		uint64_t sectors = 0;
		if (o->drive[i].path &&
		    disk_open(i, o->drive[i].path, o->drive[i].readonly, &sectors, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
		drives.disk_sectors[i] = sectors;
		drives.disk_readonly[i] = o->drive[i].readonly;
	}
	uint32_t ram_size = o->mem_mb << 20;
	uint8_t *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED) {
		fprintf(stderr, "vmx: cannot allocate guest RAM\n");
		return 4;
	}
	struct boot_state bs;
	if (vmx_load_kernel(o, ram, ram_size, &bs, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	/* The command line for fw_cfg (the loader put the boot protocol's
	 * copy in guest RAM): what the cross page carries. */
	size_t cmdline_len = bs.proto == VMM_BOOT_LINUX && o->append ? strlen(o->append) : 0;
	if (cmdline_len > VMMON_DATA_MAX) {
		fprintf(stderr, "vmx: -world vmmon: -append: %zu bytes, the driver world takes at most %u\n",
			cmdline_len, VMMON_DATA_MAX);
		return 2;
	}
	char path[PATH_MAX];
	struct image im;
	if (image_path(path, sizeof(path)) != 0) {
		fprintf(stderr, "vmx: -world vmmon: cannot find the monitor image (set VMX_MONITOR_IMAGE)\n");
		return 4;
	}
	if (image_load(path, &im, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 4;
	}
	/* Monitor memory: the image, the monitor's tables, the translator's
	 * metadata (about 12 bytes per TC byte, bt/tc.c, and a word per
	 * guest page), the monitor area and the stack, in whole MiB. The
	 * built-in TC size shrinks to what vmmon's limit leaves room for. */
	uint32_t tc_kb = o->tc_kb ? o->tc_kb : TUNE_TC_DEFAULT_KB;
	if ((tc_kb << 10) > MON_TC_MAX)
		tc_kb = MON_TC_MAX >> 10;
	uint64_t fixed = ((im.end + 4095) & ~4095ull) + vmm_mon_mem_size() + (1u << 20) +
			 (uint64_t)(ram_size >> 12) * 8 + (uint64_t)DW_AREA_PAGES * 4096 + DW_STACK_SIZE + (1u << 20);
	if (!o->tc_kb && fixed + (uint64_t)tc_kb * 1024 * 12 > VMMON_MON_MAX && fixed + (64u << 20) / 12 < VMMON_MON_MAX)
		tc_kb = (uint32_t)((VMMON_MON_MAX - fixed) / 12 / 1024) & ~63u;
	uint64_t mon = fixed + (uint64_t)tc_kb * 1024 * 12;
	mon = (mon | ((1u << 20) - 1)) + 1;
	if (mon > VMMON_MON_MAX) {
		fprintf(stderr, "vmx: -world vmmon: the monitor needs %" PRIu64 " MiB (-tc-size %u KB), vmmon gives at most %llu\n",
			mon >> 20, tc_kb, VMMON_MON_MAX >> 20);
		return 4;
	}
	struct vmmon_create c = { .size = sizeof(c), .ram_uaddr = (uintptr_t)ram, .ram_size = ram_size,
				  .mon_size = mon };
	if (ioctl(fd, VMMON_CREATE_VM, &c) != 0) {
		fprintf(stderr, "vmx: -world vmmon: VMMON_CREATE_VM (%u MiB of guest RAM pinned): %s\n", o->mem_mb,
			strerror(errno));
		return 4;
	}
	if (ioctl(fd, VMMON_LOAD_MONITOR, &im.load) != 0) {
		fprintf(stderr, "vmx: -world vmmon: VMMON_LOAD_MONITOR %s: %s\n", path, strerror(errno));
		return 4;
	}
	free(im.file);
	if (stats_report_prepare(o->stats_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	int64_t ret = -1;
	int status = 4;
	const uint64_t init[4] = { (uint64_t)tc_kb << 10, VMMON_INIT_ARG(o->machine, o->mode, o->testdev, o->trace_mask) |
						     (o->soft_limits ? VMMON_INIT_ARG_SOFTLIM : 0) };
	const uint64_t reset[4] = { bs.proto, bs.entry, bs.eax | (uint64_t)bs.ebx << 32, bs.esi };
	signal(SIGPIPE, SIG_IGN);
	install_exit_handlers();
	console_init();
	if (o->console_eof == 1 || (o->console_eof < 0 && !isatty(STDIN_FILENO)))
		console_set_eof_char(0x04);
	if (run_cmd(fd, VMMON_CMD_INIT, init, &drives, sizeof(drives), &ret, err, sizeof(err)) != 0)
		fprintf(stderr, "%s\n", err);
	else if (ret != 0)
		fprintf(stderr, "vmx: monitor initialization failed (in the driver world)\n");
	else if (run_cmd(fd, VMMON_CMD_RESET, reset, o->append, (uint32_t)cmdline_len, &ret, err, sizeof(err)) != 0 ||
		 ret != 0)
		fprintf(stderr, "%s\n", ret ? "vmx: -world vmmon: the guest's reset failed" : err);
	else if (run_cmd(fd, VMMON_CMD_RUN, NULL, NULL, 0, &ret, err, sizeof(err)) != 0)
		fprintf(stderr, "%s\n", err);
	else
		status = (int)ret;
	console_restore();
	import_counters(fd);
	close(fd);
	if (disk_close_all() != 0) {
		fprintf(stderr, "vmx: a disk image could not be synced at exit\n");
		if (status == 1)
			status = 4;
	}
	if (o->stats_path && stats_report(o->stats_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		if (status == 1)
			status = 4;
	}
	return status;
}
