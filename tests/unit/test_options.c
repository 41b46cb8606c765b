/* Unit tests for vmx_userspace/options.c: defaults, every option in both
 * spellings, each error message, the -m limits and -trace lists, and the
 * help text's coverage of options, console escapes and exit statuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmx.h"

static char err[256];

#define PARSE(o, ...) parse(o, (char *[]){ "vmx", __VA_ARGS__, NULL })

static int parse(struct vmx_options *o, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	memset(err, 0, sizeof err);
	memset(o, 0xA5, sizeof *o);   /* defaults must be set by the parser */
	return vmx_parse_options(argc, argv, o, err, sizeof err);
}

/* The message must mention `want`, be one line, and carry the prefix. */
static void expect_error(int rc, const char *want)
{
	assert_int_equal(rc, -1);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_int_equal(strncmp(err, "vmx: ", 5), 0);
	assert_null(strchr(err, '\n'));
}

static void test_defaults(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-kernel", "k.elf"), 0);
	assert_string_equal(o.kernel, "k.elf");
	assert_int_equal(o.mem_mb, 128);
	assert_string_equal(o.append, "");
	assert_int_equal(o.mode, VMM_MODE_BT);
	assert_null(o.stats_path);
	assert_int_equal(o.trace_mask, 0);
	assert_int_equal(o.tc_kb, 0);
	assert_true(o.sandbox);
	assert_false(o.perf_map);
	assert_false(o.jitdump);
	assert_int_equal(o.machine, VMM_MACHINE_PC);
	assert_false(o.help);
	assert_string_equal(err, "");
}

static void test_sandbox(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-kernel", "k", "-sandbox", "off"), 0);
	assert_false(o.sandbox);
	assert_int_equal(PARSE(&o, "-kernel", "k", "--sandbox", "on"), 0);
	assert_true(o.sandbox);
	expect_error(PARSE(&o, "-kernel", "k", "-sandbox", "no"), "-sandbox: 'no' is neither on nor off");
	expect_error(PARSE(&o, "-kernel", "k", "-sandbox"), "missing argument");
}

/* -perf-map and -jitdump are flags: the word after them is the next option. */
static void test_perf_flags(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-perf-map", "-kernel", "k.elf", "--jitdump"), 0);
	assert_true(o.perf_map);
	assert_true(o.jitdump);
	assert_string_equal(o.kernel, "k.elf");
	assert_int_equal(PARSE(&o, "-kernel", "k.elf", "-jitdump"), 0);
	assert_false(o.perf_map);
	assert_true(o.jitdump);
}

static void test_every_option(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-kernel", "/boot/k", "-m", "64", "-append", "a b=c",
			       "-mode", "bt", "-stats", "out.json", "-trace", "irq,io",
			       "-tc-size", "512"), 0);
	assert_string_equal(o.kernel, "/boot/k");
	assert_int_equal(o.mem_mb, 64);
	assert_string_equal(o.append, "a b=c");
	assert_int_equal(o.mode, VMM_MODE_BT);
	assert_string_equal(o.stats_path, "out.json");
	assert_int_equal(o.trace_mask, VMX_TRACE_IRQ | VMX_TRACE_IO);
	assert_int_equal(o.tc_kb, 512);
	assert_false(o.help);
}

static void test_double_dash(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "--kernel", "k", "--m", "32", "--append", "x",
			       "--mode", "bt", "--stats", "-", "--trace", "bt",
			       "--tc-size", "64"), 0);
	assert_string_equal(o.kernel, "k");
	assert_int_equal(o.mem_mb, 32);
	assert_string_equal(o.append, "x");
	assert_string_equal(o.stats_path, "-");
	assert_int_equal(o.trace_mask, VMX_TRACE_BT);
	assert_int_equal(o.tc_kb, 64);
}

static void test_later_option_wins(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-kernel", "a", "-kernel", "b", "-m", "8", "-m", "16"), 0);
	assert_string_equal(o.kernel, "b");
	assert_int_equal(o.mem_mb, 16);
}

static void test_help(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-help"), 0);
	assert_true(o.help);
	assert_int_equal(PARSE(&o, "--help"), 0);
	assert_true(o.help);
	assert_int_equal(PARSE(&o, "-h"), 0);
	assert_true(o.help);
	/* No kernel needed, and what follows -help is not examined. */
	assert_int_equal(PARSE(&o, "-m", "64", "-h", "-bogus"), 0);
	assert_true(o.help);
	/* What precedes it still is. */
	expect_error(PARSE(&o, "-bogus", "-h"), "unknown option '-bogus'");
}

static void test_mem_units_and_limits(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-kernel", "k", "-m", "256M"), 0);
	assert_int_equal(o.mem_mb, 256);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-m", "256m"), 0);
	assert_int_equal(o.mem_mb, 256);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-m", "1G"), 0);
	assert_int_equal(o.mem_mb, 1024);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-m", "3G"), 0);
	assert_int_equal(o.mem_mb, 3072);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-m", "2"), 0);
	assert_int_equal(o.mem_mb, VMX_MEM_MIN_MB);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-m", "3072"), 0);
	assert_int_equal(o.mem_mb, VMX_MEM_MAX_MB);

	expect_error(PARSE(&o, "-kernel", "k", "-m", "1"), "minimum of 2 MB");
	expect_error(PARSE(&o, "-kernel", "k", "-m", "0"), "minimum of 2 MB");
	expect_error(PARSE(&o, "-kernel", "k", "-m", "3073"), "maximum of 3072 MB");
	expect_error(PARSE(&o, "-kernel", "k", "-m", "4G"), "maximum of 3072 MB");
	expect_error(PARSE(&o, "-kernel", "k", "-m", "99999999999999999999"),
		     "is not a number of megabytes");
}

static void test_mem_not_a_number(void **state)
{
	static const char *bad[] = { "12x", "", "M", "-5", "+5", " 5", "0x10", "5MB", "1.5G", "5K" };
	struct vmx_options o;
	char want[64];
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(want, sizeof want, "-m: '%s' is not a number of megabytes", bad[i]);
		expect_error(PARSE(&o, "-kernel", "k", "-m", (char *)bad[i]), want);
	}
	assert_string_equal(PARSE(&o, "-m", "12x") == -1 ? err : "",
			    "vmx: -m: '12x' is not a number of megabytes (e.g. 128, 512M or 1G)");
}

static void test_trace(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-kernel", "k", "-trace", "bt"), 0);
	assert_int_equal(o.trace_mask, VMX_TRACE_BT);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-trace", "callout,trap"), 0);
	assert_int_equal(o.trace_mask, VMX_TRACE_CALLOUT | VMX_TRACE_TRAP);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-trace", "all"), 0);
	assert_int_equal(o.trace_mask, VMX_TRACE_BT | VMX_TRACE_CALLOUT | VMX_TRACE_TRAP |
			 VMX_TRACE_IRQ | VMX_TRACE_IO | VMX_TRACE_DIRECT);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-trace", "direct"), 0);
	assert_int_equal(o.trace_mask, VMX_TRACE_DIRECT);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-trace", "io", "-trace", "irq"), 0);
	assert_int_equal(o.trace_mask, VMX_TRACE_IO | VMX_TRACE_IRQ);

	expect_error(PARSE(&o, "-kernel", "k", "-trace", "bt,mmu"),
		     "unknown trace name 'mmu'; valid names: bt, callout, trap, irq, io, direct, all");
	expect_error(PARSE(&o, "-kernel", "k", "-trace", "bt,,io"), "unknown trace name ''");
	expect_error(PARSE(&o, "-kernel", "k", "-trace", "bt,"), "unknown trace name ''");
	expect_error(PARSE(&o, "-kernel", "k", "-trace", "BT"), "unknown trace name 'BT'");
	expect_error(PARSE(&o, "-kernel", "k", "-trace", "btx"), "unknown trace name 'btx'");
	expect_error(PARSE(&o, "-kernel", "k", "-trace", ""), "empty list; valid names: bt");
}

static void test_mode(void **state)
{
	struct vmx_options o;
	(void)state;
	expect_error(PARSE(&o, "-kernel", "k", "-mode", "hw"),
		     "-mode: unknown mode 'hw'; valid modes: bt, bt-direct, bt-all, te");
	expect_error(PARSE(&o, "-kernel", "k", "-mode", "BT"), "unknown mode 'BT'");
	static const struct { char *name; enum vmm_exec_mode m; } modes[] = {
		{ "bt", VMM_MODE_BT }, { "bt-direct", VMM_MODE_BT_DIRECT },
		{ "bt-all", VMM_MODE_BT_ALL }, { "te", VMM_MODE_TE },
	};
	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(PARSE(&o, "-kernel", "k", "-mode", modes[i].name), 0);
		assert_int_equal(o.mode, modes[i].m);
	}
}

static void test_world(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-kernel", "k"), 0);
	assert_int_equal(o.world, VMX_WORLD_USER);
	assert_false(o.world_given);
	expect_error(PARSE(&o, "-kernel", "k", "-world", "kvm"),
		     "-world: unknown world 'kvm'; valid worlds: user, vmmon, auto");
	expect_error(PARSE(&o, "-kernel", "k", "-world"), "missing argument");
	static const struct { char *name; enum vmx_world w; } worlds[] = {
		{ "user", VMX_WORLD_USER }, { "vmmon", VMX_WORLD_VMMON }, { "auto", VMX_WORLD_AUTO },
	};
	for (unsigned i = 0; i < sizeof(worlds) / sizeof(worlds[0]); i++) {
		assert_int_equal(PARSE(&o, "-kernel", "k", "--world", worlds[i].name), 0);
		assert_int_equal(o.world, worlds[i].w);
		assert_true(o.world_given);
	}
}

static void test_machine(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-kernel", "k"), 0);
	assert_int_equal(o.machine, VMM_MACHINE_PC);         /* the default, as QEMU's */
	assert_int_equal(PARSE(&o, "-kernel", "k", "-machine", "isapc"), 0);
	assert_int_equal(o.machine, VMM_MACHINE_ISAPC);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-machine", "pc"), 0);
	assert_int_equal(o.machine, VMM_MACHINE_PC);
	assert_int_equal(PARSE(&o, "-kernel", "k", "--machine", "pc", "-machine", "isapc"), 0);
	assert_int_equal(o.machine, VMM_MACHINE_ISAPC);
	expect_error(PARSE(&o, "-kernel", "k", "-machine", "q35"),
		     "-machine: unknown machine 'q35'; valid machines: isapc, pc");
	expect_error(PARSE(&o, "-kernel", "k", "-machine"), "-machine: missing argument");
}

static void test_tc_size(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-kernel", "k", "-tc-size", "3072"), 0);
	assert_int_equal(o.tc_kb, 3072);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-tc-size", "128K"), 0);
	assert_int_equal(o.tc_kb, 128);
	expect_error(PARSE(&o, "-kernel", "k", "-tc-size", "63"), "outside the range 64..3072 KB");
	expect_error(PARSE(&o, "-kernel", "k", "-tc-size", "3073"), "outside the range 64..3072 KB");
	assert_int_equal(PARSE(&o, "-kernel", "k", "-tc-size", "64k"), 0);
	assert_int_equal(o.tc_kb, 64);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-tc-size", "2M"), 0);
	assert_int_equal(o.tc_kb, 2048);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-tc-size", "3m"), 0);
	assert_int_equal(o.tc_kb, 3072);
	expect_error(PARSE(&o, "-kernel", "k", "-tc-size", "4M"), "4096 KB is outside the range 64..3072 KB");
	expect_error(PARSE(&o, "-kernel", "k", "-tc-size", "1G"),
		     "-tc-size: '1G' is not a number of kilobytes (e.g. 512, 512K or 2M)");
	expect_error(PARSE(&o, "-kernel", "k", "-tc-size", "1MK"),
		     "-tc-size: '1MK' is not a number of kilobytes");
	expect_error(PARSE(&o, "-kernel", "k", "-tc-size", "abc"),
		     "-tc-size: 'abc' is not a number of kilobytes");
}

static void test_usage_errors(void **state)
{
	struct vmx_options o;
	(void)state;
	expect_error(PARSE(&o, "-m", "64"), "no kernel given: use -kernel FILE");
	expect_error(PARSE(&o, "-kernel", "k", "-frobnicate"), "unknown option '-frobnicate'");
	expect_error(PARSE(&o, "-kernel", "k", "--frob"), "unknown option '--frob'");
	expect_error(PARSE(&o, "-kernel", "k", "-"), "unexpected argument '-'");
	expect_error(PARSE(&o, "k.elf"), "unexpected argument 'k.elf'");
	/* An argument quoted in the error keeps it one line (found by fuzz_options). */
	expect_error(PARSE(&o, "-k\nernel", "k"), "unknown option '-k?ernel'");
	expect_error(PARSE(&o, "-kernel", "k", "-m", "6\0334"), "'6?4'");
	expect_error(PARSE(&o, "-kernel"), "-kernel: missing argument");
	expect_error(PARSE(&o, "-kernel", "k", "-m"), "-m: missing argument");
	expect_error(PARSE(&o, "-kernel", "k", "--append"), "--append: missing argument");
	expect_error(PARSE(&o, "-kernel", "k", "-mode"), "-mode: missing argument");
	expect_error(PARSE(&o, "-kernel", "k", "-stats"), "-stats: missing argument");
	expect_error(PARSE(&o, "-kernel", "k", "-trace"), "-trace: missing argument");
	expect_error(PARSE(&o, "-kernel", "k", "-tc-size"), "-tc-size: missing argument");
	expect_error(PARSE(&o, "-kernel", ""), "-kernel: empty file name");
	expect_error(PARSE(&o, "-kernel", "k", "-stats", ""), "-stats: empty file name");
}

static void test_tiny_error_buffer(void **state)
{
	struct vmx_options o;
	char small[8];
	char *argv[] = { "vmx", "-bogus", NULL };
	(void)state;
	memset(small, 'Z', sizeof small);
	assert_int_equal(vmx_parse_options(2, argv, &o, small, sizeof small), -1);
	assert_string_equal(small, "vmx: un");
	assert_int_equal(vmx_parse_options(2, argv, &o, NULL, 0), -1);
}

static void test_drives(void **state)
{
	struct vmx_options o;
	(void)state;
	assert_int_equal(PARSE(&o, "-kernel", "k", "-drive", "file=a.img,format=raw,index=2,readonly=on",
			       "-hda", "b.img", "--drive", "format=raw,file=c,,d.img"), 0);
	assert_string_equal(o.drive[2].path, "a.img");
	assert_true(o.drive[2].readonly);
	assert_string_equal(o.drive[0].path, "b.img");
	assert_false(o.drive[0].readonly);
	assert_string_equal(o.drive[1].path, "c,d.img");   /* first free index; ",," is a comma */
	assert_null(o.drive[3].path);
	assert_int_equal(PARSE(&o, "-kernel", "k", "-hdd", "d", "-hdc", "c", "-drive", "file=x,if=ide,media=disk"), 0);
	assert_string_equal(o.drive[3].path, "d");
	assert_string_equal(o.drive[2].path, "c");
	assert_string_equal(o.drive[0].path, "x");
	assert_int_equal(PARSE(&o, "-kernel", "k"), 0);
	for (int i = 0; i < VMX_DRIVES; i++)
		assert_null(o.drive[i].path);
	expect_error(PARSE(&o, "-kernel", "k", "-hda", "a", "-drive", "file=b,index=0"), "index 0 is given twice");
	expect_error(PARSE(&o, "-kernel", "k", "-drive", "file=b,format=qcow2"), "only raw");
	expect_error(PARSE(&o, "-kernel", "k", "-drive", "file=b,index=4"), "not 0..3");
	expect_error(PARSE(&o, "-kernel", "k", "-drive", "file=b,readonly=yes"), "neither on nor off");
	expect_error(PARSE(&o, "-kernel", "k", "-drive", "file=b,cache=none"), "unknown key 'cache'");
	expect_error(PARSE(&o, "-kernel", "k", "-drive", "format=raw"), "file=IMG is missing");
	expect_error(PARSE(&o, "-kernel", "k", "-drive", "file="), "empty file name");
	expect_error(PARSE(&o, "-kernel", "k", "-drive", "b.img"), "not key=value");
	expect_error(PARSE(&o, "-kernel", "k", "-drive", "file=b,if=scsi"), "only ide");
	expect_error(PARSE(&o, "-kernel", "k", "-hda", "a", "-hdb", "b", "-hdc", "c", "-hdd", "d",
			   "-drive", "file=e"), "no free drive index");
}

static void test_help_text(void **state)
{
	static const char *must[] = {
		"-kernel FILE", "-m MB", "-append STR", "-mode MODE", "-stats FILE",
		"-stats -", "-trace LIST", "-tc-size KB", "-help", "-h",
		"bt", "callout", "trap", "irq", "io", "all",
		"2..3072", "default 128", "64..3072", "M", "G", "-tc-size 512K", "-tc-size 2M",
		"COM1", "stdin", "stdout", "Ctrl-A x", "Ctrl-A Ctrl-A",
		"0xF4", "(V << 1) | 1", "isa-debug-exit",
		"\n  0 ", "\n  2 ", "\n  3 ", "triple", "\n  4 ", "internal monitor error",
		"multiboot", "JSON",
		"-drive file=IMG,format=raw", "readonly=on", "-hda IMG", "-hdb IMG", "fdatasync",
		"dev.ata.N.", "IRQ 14", "IRQ 15",
		"-sandbox on|off", "the sandbox", "stopped system call NAME (NR)",
		"-world WORLD", "/dev/vmmon", "VMX_MONITOR_IMAGE", "vmmon.*",
		"-machine isapc|pc", "0xFEE00000", "0xFEC00000", "dev.lapic.", "dev.ioapic.irqs",
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	(void)state;
	assert_non_null(f);
	vmx_print_help(f);
	fclose(f);
	for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
		if (!strstr(buf, must[i]))
			fail_msg("help text lacks '%s'", must[i]);
	/* Fits an 80-column terminal. */
	for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1)
		assert_true(nl - line <= 79);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_perf_flags),
		cmocka_unit_test(test_double_dash),
		cmocka_unit_test(test_later_option_wins),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_mem_units_and_limits),
		cmocka_unit_test(test_mem_not_a_number),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_world),
		cmocka_unit_test(test_machine),
		cmocka_unit_test(test_tc_size),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_tiny_error_buffer),
		cmocka_unit_test(test_drives),
		cmocka_unit_test(test_help_text),
		cmocka_unit_test(test_sandbox),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
