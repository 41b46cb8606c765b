/* The vmx command line: QEMU-style single-dash options (double-dash spellings
 * accepted too) parsed into struct vmx_options, and the -help text, which is
 * the user-facing description of options, console escapes and exit statuses. */
#include "vmx.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	unsigned mask;
} trace_names[] = {
	{ "bt", VMX_TRACE_BT },
	{ "callout", VMX_TRACE_CALLOUT },
	{ "trap", VMX_TRACE_TRAP },
	{ "irq", VMX_TRACE_IRQ },
	{ "io", VMX_TRACE_IO },
	{ "direct", VMX_TRACE_DIRECT },
	{ "all", VMX_TRACE_ALL },
};
#define TRACE_NAME_LIST "bt, callout, trap, irq, io, direct, all"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		/* Errors quote arguments: one with a newline or an escape
		 * sequence in it must not break the message's one line. */
		for (char *c = err; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	}
	return -1;
}

/* Decimal digits only: strtoul would silently accept signs, blanks and hex,
 * which are more likely typos than intent on a command line. Sets *end to
 * the first non-digit; returns -1 on no digits or overflow past `limit`. */
static int parse_digits(const char *s, unsigned long long limit,
			unsigned long long *out, const char **end)
{
	unsigned long long v = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > limit)
			return -1;
	}
	*out = v;
	*end = p;
	return 0;
}

/* The index of `arg` among `n` names, or -1. */
static int keyword(const char *arg, const char *const *names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(arg, names[i]))
			return (int)i;
	return -1;
}
#define KEYWORD(arg, names) keyword((arg), (names), sizeof(names) / sizeof((names)[0]))

static int parse_mem(const char *opt, const char *arg, unsigned *mb, char *err, size_t errlen)
{
	unsigned long long v;
	const char *end;
	/* Anything past 2^32 MB is out of range anyway; the cap only keeps
	 * the multiplication below from overflowing. */
	if (parse_digits(arg, 0xffffffffull, &v, &end) < 0)
		goto bad;
	if (*end == 'G' || *end == 'g') {
		v *= 1024;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		end++;
	}
	if (*end)
		goto bad;
	if (v < VMX_MEM_MIN_MB)
		return fail(err, errlen, "vmx: %s: %llu MB is below the minimum of %u MB",
			    opt, v, VMX_MEM_MIN_MB);
	if (v > VMX_MEM_MAX_MB)
		return fail(err, errlen, "vmx: %s: %llu MB is above the maximum of %u MB",
			    opt, v, VMX_MEM_MAX_MB);
	*mb = (unsigned)v;
	return 0;
bad:
	return fail(err, errlen,
		    "vmx: %s: '%s' is not a number of megabytes (e.g. 128, 512M or 1G)",
		    opt, arg);
}

static int parse_tc(const char *opt, const char *arg, unsigned *kb, char *err, size_t errlen)
{
	unsigned long long v;
	const char *end;
	/* As -m: a unit suffix, here K (the default unit) or M. */
	if (parse_digits(arg, 0xffffffffull, &v, &end) < 0)
		goto bad;
	if (*end == 'M' || *end == 'm') {
		v *= 1024;
		end++;
	} else if (*end == 'K' || *end == 'k') {
		end++;
	}
	if (*end)
		goto bad;
	if (v < VMX_TC_MIN_KB || v > VMX_TC_MAX_KB)
		return fail(err, errlen, "vmx: %s: %llu KB is outside the range %u..%u KB",
			    opt, v, VMX_TC_MIN_KB, VMX_TC_MAX_KB);
	*kb = (unsigned)v;
	return 0;
bad:
	return fail(err, errlen,
		    "vmx: %s: '%s' is not a number of kilobytes (e.g. 512, 512K or 2M)", opt, arg);
}

static int parse_trace(const char *opt, const char *arg, unsigned *mask, char *err, size_t errlen)
{
	unsigned m = 0;
	const char *p = arg;
	if (!*arg)
		return fail(err, errlen, "vmx: %s: empty list; valid names: " TRACE_NAME_LIST, opt);
	for (;;) {
		size_t len = strcspn(p, ",");
		size_t i;
		for (i = 0; i < sizeof trace_names / sizeof trace_names[0]; i++)
			if (strlen(trace_names[i].name) == len &&
			    memcmp(trace_names[i].name, p, len) == 0)
				break;
		if (i == sizeof trace_names / sizeof trace_names[0])
			return fail(err, errlen,
				    "vmx: %s: unknown trace name '%.*s'; valid names: " TRACE_NAME_LIST,
				    opt, (int)len, p);
		m |= trace_names[i].mask;
		if (!p[len])
			break;
		p += len + 1;
	}
	/* Accumulate like QEMU's repeated -trace rather than replace. */
	*mask |= m;
	return 0;
}

/* Paths of -drive file=, where ",," stands for a comma, as in QEMU. */
static char drive_paths[VMX_DRIVES][4096];

static int add_drive(struct vmx_options *o, const char *opt, int index, const char *path,
		     bool readonly, char *err, size_t errlen)
{
	if (index < 0)
		for (index = 0; index < (int)VMX_DRIVES && o->drive[index].path; index++)
			;
	if (index >= (int)VMX_DRIVES)
		return fail(err, errlen, "vmx: %s: no free drive index (0..%u)", opt, VMX_DRIVES - 1);
	if (o->drive[index].path)
		return fail(err, errlen, "vmx: %s: drive index %d is given twice", opt, index);
	if (!*path)
		return fail(err, errlen, "vmx: %s: empty file name", opt);
	o->drive[index].path = path;
	o->drive[index].readonly = readonly;
	return 0;
}

/* -drive file=IMG[,format=raw][,index=N][,readonly=on|off][,if=ide][,media=disk] */
static int parse_drive(struct vmx_options *o, const char *opt, const char *arg, char *err, size_t errlen)
{
	int index = -1;
	bool readonly = false;
	const char *file = NULL;
	char *path = NULL;
	for (const char *p = arg; *p;) {
		size_t klen = strcspn(p, "=,");
		if (p[klen] != '=')
			return fail(err, errlen, "vmx: %s: '%.*s' is not key=value", opt, (int)klen, p);
		const char *v = p + klen + 1;
		if (klen == 4 && !memcmp(p, "file", 4)) {
			unsigned slot = 0;
			while (slot < VMX_DRIVES && drive_paths[slot][0])
				slot++;
			if (slot == VMX_DRIVES)
				return fail(err, errlen, "vmx: %s: too many drives", opt);
			path = drive_paths[slot];
			size_t n = 0;
			for (; *v && !(v[0] == ',' && v[1] != ','); v++) {
				if (v[0] == ',')
					v++;     /* ",," is one comma */
				if (n + 1 >= sizeof drive_paths[0])
					return fail(err, errlen, "vmx: %s: file name too long", opt);
				path[n++] = *v;
			}
			path[n] = 0;
			file = path;
			if (!n)
				return fail(err, errlen, "vmx: %s: empty file name", opt);
		} else {
			size_t vlen = strcspn(v, ",");
			if (klen == 6 && !memcmp(p, "format", 6)) {
				if (vlen != 3 || memcmp(v, "raw", 3))
					return fail(err, errlen, "vmx: %s: format '%.*s': only raw images are supported",
						    opt, (int)vlen, v);
			} else if (klen == 5 && !memcmp(p, "index", 5)) {
				if (vlen != 1 || *v < '0' || *v >= '0' + (int)VMX_DRIVES)
					return fail(err, errlen, "vmx: %s: index '%.*s' is not 0..%u", opt, (int)vlen, v,
						    VMX_DRIVES - 1);
				index = *v - '0';
			} else if (klen == 8 && !memcmp(p, "readonly", 8)) {
				if (vlen == 2 && !memcmp(v, "on", 2))
					readonly = true;
				else if (vlen == 3 && !memcmp(v, "off", 3))
					readonly = false;
				else
					return fail(err, errlen, "vmx: %s: readonly '%.*s' is neither on nor off",
						    opt, (int)vlen, v);
			} else if (klen == 2 && !memcmp(p, "if", 2)) {
				if (vlen != 3 || memcmp(v, "ide", 3))
					return fail(err, errlen, "vmx: %s: if '%.*s': only ide drives exist", opt,
						    (int)vlen, v);
			} else if (klen == 5 && !memcmp(p, "media", 5)) {
				if (vlen != 4 || memcmp(v, "disk", 4))
					return fail(err, errlen, "vmx: %s: media '%.*s': only disks exist", opt,
						    (int)vlen, v);
			} else {
				return fail(err, errlen,
					    "vmx: %s: unknown key '%.*s' (file, format, index, readonly, if, media)",
					    opt, (int)klen, p);
			}
			v += vlen;
		}
		p = *v ? v + 1 : v;
	}
	if (!file)
		return fail(err, errlen, "vmx: %s: file=IMG is missing", opt);
	return add_drive(o, opt, index, file, readonly, err, errlen);
}

int vmx_parse_options(int argc, char **argv, struct vmx_options *o, char *err, size_t errlen)
{
	memset(drive_paths, 0, sizeof drive_paths);
	memset(o, 0, sizeof *o);
	o->mem_mb = 128;
	o->append = "";
	o->mode = VMM_MODE_BT;
	o->console_eof = -1;
	o->sandbox = true;
	o->machine = VMM_MACHINE_PC;
	if (err && errlen)
		err[0] = '\0';

	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const char *name;
		const char *arg;

		if (opt[0] != '-' || opt[1] == '\0')
			return fail(err, errlen,
				    "vmx: unexpected argument '%s' (the kernel is given with -kernel FILE; see -help)",
				    opt);
		name = opt + 1;
		if (*name == '-')
			name++;

		if (!strcmp(name, "help") || !strcmp(name, "h")) {
			/* QEMU acts on -help as soon as it sees it, so later
			 * arguments need not be valid. */
			o->help = true;
			return 0;
		}

		if (strcmp(name, "kernel") && strcmp(name, "m") && strcmp(name, "append") &&
		    strcmp(name, "mode") && strcmp(name, "stats") && strcmp(name, "trace") &&
		    strcmp(name, "profile") && strcmp(name, "perf-map") && strcmp(name, "jitdump") &&
		    strcmp(name, "tc-size") && strcmp(name, "device") && strcmp(name, "initrd") &&
		    strcmp(name, "console-eof") && strcmp(name, "drive") && strcmp(name, "hda") &&
		    strcmp(name, "hdb") && strcmp(name, "hdc") && strcmp(name, "hdd") &&
		    strcmp(name, "sandbox") && strcmp(name, "machine") && strcmp(name, "gdb") &&
		    strcmp(name, "s") && strcmp(name, "S") && strcmp(name, "monitor") && strcmp(name, "world") &&
		    strcmp(name, "limits"))
			return fail(err, errlen, "vmx: unknown option '%s' (see -help)", opt);

		/* Flags: perf fixes the files' names. */
		if (!strcmp(name, "perf-map") || !strcmp(name, "jitdump")) {
			*(name[0] == 'p' ? &o->perf_map : &o->jitdump) = true;
			continue;
		}
		if (!strcmp(name, "s")) {
			o->gdb = "tcp::1234";
			continue;
		}
		if (!strcmp(name, "S")) {
			o->wait_start = true;
			continue;
		}
		if (i + 1 >= argc)
			return fail(err, errlen, "vmx: %s: missing argument", opt);
		arg = argv[++i];

		if (!strcmp(name, "kernel")) {
			if (!*arg)
				return fail(err, errlen, "vmx: %s: empty file name", opt);
			o->kernel = arg;
		} else if (!strcmp(name, "m")) {
			if (parse_mem(opt, arg, &o->mem_mb, err, errlen) < 0)
				return -1;
		} else if (!strcmp(name, "console-eof")) {
			if (strcmp(arg, "on") && strcmp(arg, "off"))
				return fail(err, errlen, "vmx: %s: '%s' is neither on nor off", opt, arg);
			o->console_eof = !strcmp(arg, "on");
		} else if (!strcmp(name, "sandbox")) {
			if (strcmp(arg, "on") && strcmp(arg, "off"))
				return fail(err, errlen, "vmx: %s: '%s' is neither on nor off", opt, arg);
			o->sandbox = !strcmp(arg, "on");
		} else if (!strcmp(name, "gdb")) {
			o->gdb = arg;
		} else if (!strcmp(name, "monitor")) {
			if (strcmp(arg, "stdio") && strncmp(arg, "unix:", 5))
				return fail(err, errlen, "vmx: %s: '%s' is neither stdio nor unix:PATH", opt, arg);
			o->monitor = arg;
		} else if (!strcmp(name, "limits")) {
			static const char *const limits[] = { [VMX_LIMITS_AUTO] = "auto", [VMX_LIMITS_SOFT] = "soft",
							      [VMX_LIMITS_CPU] = "cpu" };
			int k = KEYWORD(arg, limits);
			if (k < 0)
				return fail(err, errlen, "vmx: %s: unknown value '%s'; valid values: auto, soft, cpu", opt, arg);
			o->limits = (enum vmx_limits)k;
		} else if (!strcmp(name, "world")) {
			static const char *const worlds[] = { [VMX_WORLD_USER] = "user", [VMX_WORLD_VMMON] = "vmmon",
							      [VMX_WORLD_AUTO] = "auto" };
			int k = KEYWORD(arg, worlds);
			if (k < 0)
				return fail(err, errlen, "vmx: %s: unknown world '%s'; valid worlds: user, vmmon, auto",
					    opt, arg);
			o->world = (enum vmx_world)k;
			o->world_given = true;
		} else if (!strcmp(name, "drive")) {
			if (parse_drive(o, opt, arg, err, errlen) < 0)
				return -1;
		} else if (name[0] == 'h' && name[1] == 'd') {
			if (add_drive(o, opt, name[2] - 'a', arg, false, err, errlen) < 0)
				return -1;
		} else if (!strcmp(name, "initrd")) {
			if (!*arg)
				return fail(err, errlen, "vmx: %s: empty file name", opt);
			o->initrd = arg;
		} else if (!strcmp(name, "append")) {
			o->append = arg;
		} else if (!strcmp(name, "mode")) {
			static const char *const modes[] = { [VMM_MODE_BT] = "bt", [VMM_MODE_BT_DIRECT] = "bt-direct",
							     [VMM_MODE_BT_ALL] = "bt-all", [VMM_MODE_TE] = "te" };
			int m = KEYWORD(arg, modes);
			if (m < 0)
				return fail(err, errlen,
					    "vmx: %s: unknown mode '%s'; valid modes: bt, bt-direct, bt-all, te",
					    opt, arg);
			o->mode = (enum vmm_exec_mode)m;
		} else if (!strcmp(name, "stats")) {
			if (!*arg)
				return fail(err, errlen,
					    "vmx: %s: empty file name (use a FILE.json, or - for a table on stderr)",
					    opt);
			o->stats_path = arg;
		} else if (!strcmp(name, "profile")) {
			if (!*arg)
				return fail(err, errlen, "vmx: %s: empty file name", opt);
			o->profile_path = arg;
		} else if (!strcmp(name, "trace")) {
			if (parse_trace(opt, arg, &o->trace_mask, err, errlen) < 0)
				return -1;
		} else if (!strcmp(name, "machine")) {
			if (!strcmp(arg, "isapc"))
				o->machine = VMM_MACHINE_ISAPC;
			else if (!strcmp(arg, "pc"))
				o->machine = VMM_MACHINE_PC;
			else
				return fail(err, errlen, "vmx: %s: unknown machine '%s'; valid machines: isapc, pc",
					    opt, arg);
		} else if (!strcmp(name, "device")) {
			if (strcmp(arg, "pc-testdev"))
				return fail(err, errlen, "vmx: %s: unknown device '%s'; valid devices: pc-testdev",
					    opt, arg);
			o->testdev = true;
		} else {
			if (parse_tc(opt, arg, &o->tc_kb, err, errlen) < 0)
				return -1;
		}
	}

	if (!o->kernel)
		return fail(err, errlen, "vmx: no kernel given: use -kernel FILE (see -help)");
	if (o->wait_start && !o->gdb && !o->monitor)
		return fail(err, errlen, "vmx: -S: nothing could start the guest; give -gdb (or -s) or -monitor");
	return 0;
}

void vmx_print_help(void *stdio_file)
{
	FILE *f = stdio_file;
	fprintf(f,
"Usage: vmx -kernel FILE [options]\n"
"\n"
"Runs a 32-bit x86 kernel (Linux bzImage or multiboot version 1) under the vmx\n"
"binary-translation monitor. The guest's first serial port is the console.\n"
"\n"
"Options (each may also be written with two dashes, e.g. --kernel):\n"
"  -kernel FILE   the kernel to boot (required): a Linux bzImage (boot\n"
"                 protocol 2.06 or later, entered at its 32-bit entry point),\n"
"                 or a 32-bit x86 ELF executable (ELFCLASS32, EM_386, ET_EXEC)\n"
"                 with a multiboot header in its first 8192 bytes, or any\n"
"                 image whose multiboot header sets the a.out kludge (flag\n"
"                 bit 16). ELF segments are loaded at their physical addresses.\n"
"  -initrd FILE   Linux: the initial ramdisk, placed page-aligned at the top of\n"
"                 the memory the kernel accepts (as QEMU places it).\n"
"  -initrd \"FILE ARGS,FILE ARGS,...\"\n"
"                 multiboot: modules, as QEMU loads them: each comma-separated\n"
"                 item is one module, its first word the file, the whole item\n"
"                 the module's string (,, is a comma). Loaded in order, page\n"
"                 aligned above the kernel (past the EBDA and BIOS area when\n"
"                 they would reach it), and listed in the information's\n"
"                 mods_count and mods_addr (flag bit 3). A missing file or\n"
"                 modules that do not fit in usable RAM: status 2.\n"
"  -m MB          guest RAM in megabytes, %u..%u (default 128). A suffix M\n"
"                 (megabytes) or G (gigabytes) is accepted: -m 512M, -m 1G.\n"
"  -append STR    kernel command line arguments. A Linux kernel gets STR as\n"
"                 its command line; as with QEMU, a multiboot kernel's is the\n"
"                 -kernel FILE argument exactly as given, a space, then STR.\n"
"  -mode MODE     how guest code runs (default bt):\n"
"                   bt         kernel code translated; user code runs directly\n"
"                              on the CPU where its pages allow (no segment\n"
"                              loads, far transfers or system-state reads) and\n"
"                              from the translation cache where it keeps\n"
"                              trapping (system call loops, fault storms);\n"
"                   bt-direct  the same, user code always direct where allowed;\n"
"                   bt-all     user code translated too: no host CPUID or\n"
"                              host selector reaches guest code;\n"
"                   te         trap-and-emulate: kernel code runs directly too,\n"
"                              deprivileged; privileged instructions trap and\n"
"                              are performed by the monitor, the sensitive\n"
"                              ones that do not trap misbehave as on real\n"
"                              hardware (popf keeps IF, pushf and sgdt show\n"
"                              the host's values): counted, and warned about\n"
"                              at exit. Linux is expected to fail in it.\n"
"  -world WORLD   where the monitor runs (default user):\n"
"                   user   the user-level world: the monitor inside this\n"
"                          process, guest code in compatibility mode, host\n"
"                          signals for its traps; runs every guest;\n"
"                   vmmon  the driver world: the monitor image (the file\n"
"                          $VMX_MONITOR_IMAGE, else driver/monitor.elf next\n"
"                          to this program) runs in its own address space\n"
"                          behind /dev/vmmon (the vmmon module), guest\n"
"                          code translated (and, as -mode says, run\n"
"                          directly, unable to reach the monitor) at CPL 3\n"
"                          there; traps are world switches, not host\n"
"                          signals. Multiboot kernels and Linux; no -gdb,\n"
"                          -monitor, -profile, -perf-map, -jitdump.\n"
"                          /dev/vmmon that cannot be opened: one line,\n"
"                          status 2;\n"
"                   auto   vmmon when /dev/vmmon opens, else user.\n"
"                 With -world the world in use is named on stderr at start\n"
"                 (\"vmx: world user\", \"vmx: world vmmon\"); without it\n"
"                 nothing is printed. -stats adds vmmon's own counters\n"
"                 (vmmon.*: runs, world switches, exits by reason, host\n"
"                 interrupts) to the monitor's.\n"
"  -limits auto|soft|cpu\n"
"                 segment-limit checks (default auto). The monitor hides in\n"
"                 the top 4 MiB of the guest's linear space behind segment\n"
"                 limits, which a CPU running 32-bit code checks and software\n"
"                 emulation (QEMU's TCG) does not. auto asks the CPU at start;\n"
"                 where it checks none, or with soft, translated code checks\n"
"                 each guest access itself, no guest code runs directly (any\n"
"                 -mode runs as bt-all), and a line on stderr says so. cpu\n"
"                 leaves them to the CPU whatever it does: on one that checks\n"
"                 none, guest code can then reach the monitor (a testing aid\n"
"                 for direct execution under emulation, said on stderr too).\n"
"  -stats FILE    at exit, write every statistics counter to FILE as one flat\n"
"                 JSON object {\"name\": integer, ...} sorted by name. A regular\n"
"                 file is replaced atomically (through a symlink, its target);\n"
"                 a character device, a FIFO or /dev/stdout is written in\n"
"                 place (a file behind /dev/stdout is appended to). A\n"
"                 directory, a block device or a path vmx cannot write is\n"
"                 refused before the guest starts (status 2). The file is\n"
"                 opened before the guest starts (a FIFO's reader must come\n"
"                 first), written at exit. -stats - prints an aligned table\n"
"                 on stderr instead.\n"
"  -profile FILE  profile the translation cache: every compiled code fragment\n"
"                 with its guest and translated bytes, instruction mix,\n"
"                 execution count, chains and translation cycles, written\n"
"                 at exit to FILE (JSON, docs/profile-format.md; read it with\n"
"                 vmx-report). Each fragment then starts with a 27-byte\n"
"                 counter; without -profile there is none. FILE is checked\n"
"                 and written as -stats' is.\n"
"  -perf-map      write /tmp/perf-PID.map (PID: this vmx process) for perf:\n"
"                 one \"START SIZE NAME\" line per translated fragment as it\n"
"                 is made, NAME guest_PC_cplN_gG (guest EIP, CPL, generation)\n"
"                 and [symbol+0xOFF] from a multiboot kernel's ELF symbols.\n"
"  -jitdump       write /tmp/jit-PID.dump, perf's jitdump file: one\n"
"                 JIT_CODE_LOAD record (same name, the code's bytes) per\n"
"                 fragment, for perf record -k mono and perf inject --jit.\n"
"  -trace LIST    comma-separated events to trace: bt (each translation),\n"
"                 callout (exits from translated code into the monitor),\n"
"                 trap (host signals taken), irq (interrupts delivered),\n"
"                 io (guest port accesses), direct (user pages scanned for\n"
"                 direct execution and their verdicts, pages moved between\n"
"                 direct and translated execution), all. May be repeated.\n"
"  -tc-size KB    translation cache size in kilobytes, %u..%u (default: the\n"
"                 monitor's built-in size). A suffix K (kilobytes) or M\n"
"                 (megabytes) is accepted: -tc-size 512K, -tc-size 2M.\n"
"  -console-eof on|off\n"
"                 at the end of standard input, send the guest's console one\n"
"                 Ctrl-D (the end-of-file character of a terminal), once the\n"
"                 guest idles waiting on its serial port, so that a shell\n"
"                 reading commands from a file or pipe ends (default: on when\n"
"                 standard input is not a terminal, off when it is).\n"
"  -sandbox on|off\n"
"                 on (the default): once the guest is loaded, a seccomp\n"
"                 filter allows vmx only the system calls running the guest\n"
"                 needs; any other one stops vmx with \"vmx: the sandbox\n"
"                 stopped system call NAME (NR) at ADDRESS\" and status 4.\n"
"  -machine isapc|pc\n"
"                 pc (the default, as QEMU's): isapc plus the local APIC at\n"
"                 0xFEE00000 (IA32_APIC_BASE 0xFEE00900, CPUID leaf 1 EDX\n"
"                 bit 9 set, the PIC wired to LINT0 in virtual-wire mode),\n"
"                 the IOAPIC at 0xFEC00000 (24 pins, ISA IRQ0 on pin 2), an\n"
"                 MP table at 0xF0000, ACPI tables at 0xF1000 and the ACPI\n"
"                 PM registers and timer at 0x600. Counters\n"
"                 dev.lapic.{timer_fires,eois,ipis}, dev.ioapic.irqs,\n"
"                 dev.acpi_pm.{io,sci}.\n"
"                 isapc: the PC without an APIC (i8259 pair, i8254, CMOS,\n"
"                 UART, i8042, fw_cfg; the ACPI PM1a control register at\n"
"                 0x604 only); CPUID reports no APIC.\n"
"  -device pc-testdev\n"
"                 add the test device's memory window (64 KiB at 0xFF000000\n"
"                 that reads back what was written), as QEMU's pc-testdev.\n"
"  -drive file=IMG,format=raw[,index=N][,readonly=on]\n"
"                 an ATA disk backed by the raw image IMG at index N (0, 1:\n"
"                 primary master and slave at 0x1F0, IRQ 14; 2, 3: secondary\n"
"                 at 0x170, IRQ 15; default: the first free index). A comma\n"
"                 in IMG is written ,, as in QEMU. Writes go to IMG as the\n"
"                 guest makes them; FLUSH CACHE and the end of the run\n"
"                 fdatasync it. IMG must be readable, and writable unless\n"
"                 readonly=on (then the guest's writes fail). Counters:\n"
"                 dev.ata.N.{reads,writes,sectors,flushes,errors}.\n"
"  -hda IMG, -hdb IMG, -hdc IMG, -hdd IMG\n"
"                 -drive file=IMG,format=raw,index=0 (1, 2, 3).\n"
"  -gdb tcp::PORT a gdb stub on 127.0.0.1:PORT (only there; tcp:localhost:PORT\n"
"                 and tcp:127.0.0.1:PORT too): gdb's target remote :PORT.\n"
"                 Registers (eax..edi, eip, eflags, segment selectors; no\n"
"                 x87/SSE), guest linear memory through the guest's page\n"
"                 tables (unmapped: error E14), software and hardware\n"
"                 breakpoints (no guest byte changes: the translation stops\n"
"                 there), write, read and access watchpoints (each within\n"
"                 one page; stops after the accessing instruction), stepi,\n"
"                 continue, Ctrl-C, detach, kill (status 0). A connection\n"
"                 stops the guest; gdb may connect at any time.\n"
"  -s             -gdb tcp::1234.\n"
"  -S             do not start the guest: wait for gdb to connect and\n"
"                 continue, or for the monitor's cont.\n"
"  -monitor stdio|unix:PATH\n"
"                 the live monitor: stdio shares the terminal with the\n"
"                 console (Ctrl-A c switches between them); unix:PATH\n"
"                 listens on a Unix socket at PATH (QEMU's ,server,nowait\n"
"                 suffixes are accepted). Commands: help, info registers,\n"
"                 info tc, info fragments [N], info fragment PC, info mmu,\n"
"                 info counters [PREFIX], tc flush, stop, cont, quit.\n"
"  -help, -h      print this help and exit.\n"
"\n"
"Guest machine:\n"
"  The multiboot information gives the memory sizes (639 KB lower memory),\n"
"  a memory map, the command line, the modules and the boot loader name\n"
"  \"vmx\". It lies in free conventional memory (0x1000-0x9FBFF, 0x9000\n"
"  first) clear of the kernel and modules, or above them if none is free.\n"
"\n"
"Console:\n"
"  COM1 (16550 UART, port 0x3F8, IRQ 4) is connected to stdin and stdout.\n"
"  When stdin is a terminal it is switched to raw mode while vmx runs, so\n"
"  keys such as Ctrl-C go to the guest. Escapes:\n"
"    Ctrl-A x        quit vmx\n"
"    Ctrl-A c        switch between the console and the monitor (-monitor stdio)\n"
"    Ctrl-A Ctrl-A   send one Ctrl-A to the guest\n"
"  Ctrl-A followed by any other key sends only that key. When stdin reaches\n"
"  end of file the guest keeps running without further input (after one\n"
"  Ctrl-D, see -console-eof).\n"
"\n"
"Exit status:\n"
"  (V << 1) | 1   the guest wrote V to the debug-exit port 0xF4 (as with\n"
"                 QEMU's -device isa-debug-exit,iobase=0xf4,iosize=4)\n"
"  0              quit with Ctrl-A x, the guest reset or powered off the\n"
"                 machine (as QEMU with -no-reboot), or it halted with\n"
"                 interrupts off (nothing could ever wake it)\n"
"  2              bad command line, unusable kernel file, a missing module\n"
"                 or modules that do not fit, a -stats path vmx\n"
"                 cannot write, or a disk image vmx cannot open\n"
"  3              the guest triple-faulted\n"
"  4              internal monitor error, guest behaviour vmx does not\n"
"                 support, or a system call the sandbox stopped\n"
"  128 + N        ended by signal N (SIGTERM, SIGHUP, SIGINT or SIGQUIT, e.g.\n"
"                 from kill): the terminal mode is restored, then vmx ends by\n"
"                 that signal's default action (SIGQUIT may dump core)\n",
		VMX_MEM_MIN_MB, VMX_MEM_MAX_MB, VMX_TC_MIN_KB, VMX_TC_MAX_KB);
}
