/* The vmx command: parse options, set up the user-level world, load the
 * multiboot guest, hand it to the monitor, enter the sandbox, run until the
 * guest stops, and report; -world vmmon hands the run to vmmon_world.c. Exit status: the guest's debug-exit value (QEMU
 * convention), 0 on Ctrl-A x, 2 on bad input, 3 on a guest triple fault, 4
 * on a monitor error or a system call the sandbox stopped (sandbox.c);
 * SIGTERM/SIGHUP/SIGINT/SIGQUIT end it by that signal (uworld.c). */
#define _GNU_SOURCE
#include "vmx.h"
#include "outfile.h"
#include "perfmap.h"
#include "profile_file.h"
#include "uworld/uworld.h"
#include "stats.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tunables.h"
#define DEFAULT_TC_KB TUNE_TC_DEFAULT_KB

/* A file that cannot be read is left to the multiboot loader, whose errors
 * name the problem. */
static bool kernel_is_bzimage(const char *path)
{
	uint8_t head[0x208];
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t n = fread(head, 1, sizeof head, f);
	fclose(f);
	return bzimage_probe(head, n);
}

int vmx_load_kernel(const struct vmx_options *o, uint8_t *ram, uint32_t ram_size, struct boot_state *bs,
		    char *err, size_t errlen)
{
	if (kernel_is_bzimage(o->kernel))
		return bzimage_load(o->kernel, o->initrd, ram, ram_size, o->append, bs, err, errlen);
	char cmdline[4096];
	if (multiboot_cmdline(cmdline, sizeof(cmdline), o->kernel, o->append) >= sizeof(cmdline)) {
		snprintf(err, errlen, "vmx: -append: command line too long");
		return -1;
	}
	return multiboot_load(o->kernel, ram, ram_size, cmdline, o->initrd, bs, err, errlen);
}

int main(int argc, char **argv)
{
	char err[512];
	struct vmx_options o;
	if (vmx_parse_options(argc, argv, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (o.help) {
		vmx_print_help(stdout);
		return 0;
	}
	/* Read now: the environment is not the run loop's business. */
	const char *tv = getenv("VMX_TEST_SANDBOX_VIOLATION");
	bool test_violation = tv && !strcmp(tv, "1");
	/* Before the guest runs: found at exit, an unusable path would cost
	 * the whole run and its status would hide the guest's. */
	if (o.stats_path && strcmp(o.stats_path, "-") &&
	    outfile_check("-stats", o.stats_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (o.profile_path && outfile_check("-profile", o.profile_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	/* The driver world has a backend of its own (vmmon_world.c). */
	int vmmon_fd = -1;
	if (o.world != VMX_WORLD_USER) {
		vmmon_fd = vmmon_world_open(err, sizeof(err));
		if (vmmon_fd < 0 && o.world == VMX_WORLD_VMMON) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	}
	if (o.world_given)
		fprintf(stderr, "vmx: world %s\n", vmmon_fd >= 0 ? "vmmon" : "user");
	/* Segment truncation hides the monitor only from a CPU that checks
	 * limits (limits.c); where none are checked the translator does. */
	int checked = o.limits == VMX_LIMITS_SOFT ? -1 : vmx_cpu_checks_limits();
	o.soft_limits = o.limits == VMX_LIMITS_SOFT || (o.limits == VMX_LIMITS_AUTO && checked == 0);
	if (o.soft_limits)
		fprintf(stderr, "vmx: %s: translated code checks segment limits itself; no guest code runs directly\n",
			o.limits == VMX_LIMITS_SOFT ? "-limits soft" :
			"this CPU checks no segment limit in 32-bit code (software emulation)");
	else if (checked == 0)
		fprintf(stderr, "vmx: -limits cpu: this CPU checks no segment limit in 32-bit code: "
			"guest code can reach the monitor's range\n");
	if (vmmon_fd >= 0)
		return vmmon_world_main(vmmon_fd, &o);
	uint64_t disk_sectors[VMX_DRIVES] = { 0 };
	for (unsigned i = 0; i < VMX_DRIVES; i++)
		if (o.drive[i].path &&
		    disk_open(i, o.drive[i].path, o.drive[i].readonly, &disk_sectors[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	uint32_t ram_size = o.mem_mb << 20;
	struct uworld_info wi;
	if (uworld_init(ram_size, &wi, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 4;
	}
	struct boot_state bs;
	if (vmx_load_kernel(&o, wi.ram, ram_size, &bs, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	uint32_t tc_kb = o.tc_kb ? o.tc_kb : DEFAULT_TC_KB;
	if ((tc_kb << 10) > MON_TC_MAX)
		tc_kb = MON_TC_MAX >> 10;
	size_t meta_size = (size_t)64 << 20;
	meta_size += (size_t)(ram_size >> 12) * 8;
	void *meta = mmap(NULL, meta_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (meta == MAP_FAILED) {
		fprintf(stderr, "vmx: cannot allocate translation metadata\n");
		return 4;
	}
	/* The monitor's tables (the shadow MMU's): reserved, touched as used. */
	size_t mon_mem_size = vmm_mon_mem_size();
	void *mon_mem = mmap(NULL, mon_mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mon_mem == MAP_FAILED) {
		fprintf(stderr, "vmx: cannot allocate the monitor's tables\n");
		return 4;
	}
	/* Records of every fragment the run makes: reserved, touched as used. */
	size_t prof_size = o.profile_path ? (size_t)768 << 20 : 0;
	void *prof = NULL;
	if (prof_size) {
		prof = mmap(NULL, prof_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (prof == MAP_FAILED) {
			fprintf(stderr, "vmx: cannot allocate the profile's records\n");
			return 4;
		}
	}
	/* Created before the first translation, kept after exit (perf reads it then). */
	if ((o.perf_map || o.jitdump) && perfmap_open(o.kernel, o.perf_map, o.jitdump, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	/* Listening before the guest starts: gdb may connect any time after. */
	if (o.gdb && gdb_open(o.gdb, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (o.monitor && livemon_open(o.monitor, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	debugger_enable(o.gdb != NULL, o.monitor != NULL);
	struct vmm_config cfg = {
		.debug = o.gdb || o.monitor, .debug_wait = o.wait_start,
		.prof = prof, .prof_size = prof_size, .fragment_events = o.perf_map || o.jitdump,
		.ram = wi.ram, .ram_size = ram_size, .meta = meta, .meta_size = meta_size,
		.mon_mem = mon_mem, .mon_mem_size = mon_mem_size,
		.tc_size = tc_kb << 10, .trace = o.trace_mask, .testdev = o.testdev, .machine = o.machine,
		.gate_callout = wi.gate_callout, .gate_ibl = wi.gate_ibl, .gate_ibl_miss = wi.gate_ibl_miss,
		.gate_exit_shared = wi.gate_exit_shared, .gate_learn_shared = wi.gate_learn_shared,
		.gate_direct = wi.gate_direct, .exec_mode = o.mode, .soft_limits = o.soft_limits,
		.sel_code32 = wi.sel_code32, .sel_flat = wi.sel_flat, .sel_mongs = wi.sel_mongs,
		.world = &uworld_ops,
	};
	for (unsigned i = 0; i < VMX_DRIVES; i++) {
		cfg.disk_sectors[i] = disk_sectors[i];
		cfg.disk_readonly[i] = o.drive[i].readonly;
	}
	if (vmm_init(&cfg) != 0) {
		fprintf(stderr, "vmx: monitor initialization failed\n");
		return 4;
	}
	signal(SIGPIPE, SIG_IGN);
	console_init();
	if (o.console_eof == 1 || (o.console_eof < 0 && !isatty(STDIN_FILENO)))
		console_set_eof_char(0x04);
	struct vmm_boot boot = { .proto = bs.proto, .eip = bs.entry, .eax = bs.eax, .ebx = bs.ebx, .esi = bs.esi,
				 .cmdline = o.append };
	vmm_reset(&boot);
	/* Last things before the run: nothing after this opens a file. */
	if (stats_report_prepare(o.stats_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	struct outfile prof_file;
	if (o.profile_path && outfile_open(&prof_file, "-profile", o.profile_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		stats_report_abandon_signal();
		return 2;
	}
	int accept_fds[2];
	unsigned naccept = 0;
	if (gdb_listen_fd() >= 0)
		accept_fds[naccept++] = gdb_listen_fd();
	if (livemon_listen_fd() >= 0)
		accept_fds[naccept++] = livemon_listen_fd();
	if (o.sandbox && sandbox_enter(o.mode != VMM_MODE_BT_ALL, accept_fds, naccept, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		stats_report_abandon_signal();
		if (o.profile_path)
			outfile_abort(&prof_file);
		return 4;
	}
	while (vmm_prepare_entry()) {
		if (test_violation) {
			test_violation = false;
			sandbox_test_violation();
		}
		uworld_enter();
		if (vmm_stopped(NULL))
			break;
	}
	int status = 4;
	vmm_stopped(&status);
	vmm_exit_report();
	if (o.gdb)
		gdb_exited(status);
	uworld_fini();
	console_restore();
	livemon_close();
	if (disk_close_all() != 0) {
		fprintf(stderr, "vmx: a disk image could not be synced at exit\n");
		if (status == 1)
			status = 4;
	}
	if (perfmap_close(err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		if (status == 1)
			status = 4;
	}
	if (o.stats_path && stats_report(o.stats_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		if (status == 1)
			status = 4;
	}
	const struct prof_arena *pa = o.profile_path ? vmm_profile() : NULL;
	if (o.profile_path && !pa)
		outfile_abort(&prof_file);
	if (pa && profile_write_open(&prof_file, pa, PROF_FILE_MAX_FRAGMENTS, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		if (status == 1)
			status = 4;
	}
	return status;
}
