/* Unit tests for vmx_userspace/stats_report.c: exact JSON text (sorting,
 * escaping, 64-bit values), atomic replacement without leftovers, error
 * reporting, and the aligned table on stderr (captured through a file). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "stats.h"
#include "vmx.h"

static char tmpdir[64];
static char jpath[128];
static char err[512];

static stat_counter c_tu = { "bt.tu.translated", 12345 };
static stat_counter c_irq = { "dev.pic.irqs", 7 };
static stat_counter c_big = { "a.max", UINT64_MAX };
static stat_counter c_zero = { "zzz", 0 };
static stat_counter c_odd = { "weird \"name\"\\\n\t", 1 };

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static unsigned dir_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	unsigned n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vmx_test_stats.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(jpath, sizeof jpath, "%s/stats.json", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(jpath);
	rmdir(tmpdir);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	stats_reset_registry();
	unlink(jpath);
	memset(err, 0, sizeof err);
	return 0;
}

static void register_sample(void)
{
	/* Deliberately not in name order. */
	assert_int_equal(stats_register(&c_zero), 0);
	assert_int_equal(stats_register(&c_tu), 0);
	assert_int_equal(stats_register(&c_irq), 0);
	assert_int_equal(stats_register(&c_big), 0);
}

static void test_json_exact(void **state)
{
	char *text;
	(void)state;
	register_sample();
	assert_int_equal(stats_report(jpath, err, sizeof err), 0);
	assert_string_equal(err, "");
	text = slurp(jpath);
	assert_string_equal(text,
		"{\n"
		"  \"a.max\": 18446744073709551615,\n"
		"  \"bt.tu.translated\": 12345,\n"
		"  \"dev.pic.irqs\": 7,\n"
		"  \"zzz\": 0\n"
		"}\n");
	free(text);
	/* Only the report itself is left behind. */
	assert_int_equal(dir_entries(), 1);
}

static void test_json_escaping(void **state)
{
	char *text;
	(void)state;
	assert_int_equal(stats_register(&c_odd), 0);
	assert_int_equal(stats_report(jpath, err, sizeof err), 0);
	text = slurp(jpath);
	assert_string_equal(text, "{\n  \"weird \\\"name\\\"\\\\\\u000a\\u0009\": 1\n}\n");
	free(text);
}

static void test_json_empty(void **state)
{
	char *text;
	(void)state;
	assert_int_equal(stats_report(jpath, err, sizeof err), 0);
	text = slurp(jpath);
	assert_string_equal(text, "{\n}\n");
	free(text);
}

static void test_json_replaces_and_reflects_values(void **state)
{
	char *text;
	FILE *f = fopen(jpath, "w");
	(void)state;
	assert_non_null(f);
	fputs("old contents that are much longer than the new report\n", f);
	fclose(f);
	assert_int_equal(stats_register(&c_irq), 0);
	c_irq.value = 8;
	assert_int_equal(stats_report(jpath, err, sizeof err), 0);
	c_irq.value = 7;
	text = slurp(jpath);
	assert_string_equal(text, "{\n  \"dev.pic.irqs\": 8\n}\n");
	free(text);
	assert_int_equal(dir_entries(), 1);
}

static void test_json_file_mode_follows_umask(void **state)
{
	struct stat st;
	mode_t old = umask(022);
	(void)state;
	assert_int_equal(stats_report(jpath, err, sizeof err), 0);
	umask(old);
	assert_int_equal(stat(jpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
}

static void test_json_errors(void **state)
{
	char bad[192];
	(void)state;
	register_sample();
	snprintf(bad, sizeof bad, "%s/no/such/dir/s.json", tmpdir);
	assert_int_equal(stats_report(bad, err, sizeof err), -1);
	assert_non_null(strstr(err, "vmx: -stats "));
	assert_non_null(strstr(err, bad));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_null(strchr(err, '\n'));

	/* The target is a directory: refused, nothing is left. */
	snprintf(bad, sizeof bad, "%s/sub", tmpdir);
	assert_int_equal(mkdir(bad, 0755), 0);
	assert_int_equal(stats_report(bad, err, sizeof err), -1);
	assert_non_null(strstr(err, "is a directory"));
	assert_int_equal(dir_entries(), 1);
	assert_int_equal(rmdir(bad), 0);
}

static void test_null_path_is_noop(void **state)
{
	(void)state;
	register_sample();
	assert_int_equal(stats_report(NULL, err, sizeof err), 0);
	assert_int_equal(dir_entries(), 0);
}

/* stats_report("-") writes to stderr: point fd 2 at a file meanwhile. */
static char *capture_table(void)
{
	char cpath[160];
	int saved, fd;
	char *text;
	snprintf(cpath, sizeof cpath, "%s/stderr.txt", tmpdir);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	fd = open(cpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	assert_int_equal(stats_report("-", err, sizeof err), 0);
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	text = slurp(cpath);
	unlink(cpath);
	return text;
}

static void test_table(void **state)
{
	char *text;
	(void)state;
	register_sample();
	text = capture_table();
	assert_string_equal(text,
		"counter                          value\n"
		"a.max             18446744073709551615\n"
		"bt.tu.translated                 12345\n"
		"dev.pic.irqs                         7\n"
		"zzz                                  0\n");
	free(text);
}

static void test_table_narrow_and_empty(void **state)
{
	static stat_counter a = { "x", 3 };
	char *text;
	(void)state;
	text = capture_table();
	assert_string_equal(text, "counter  value\n");
	free(text);
	assert_int_equal(stats_register(&a), 0);
	text = capture_table();
	assert_string_equal(text,
		"counter  value\n"
		"x            3\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_json_exact, reset),
		cmocka_unit_test_setup(test_json_escaping, reset),
		cmocka_unit_test_setup(test_json_empty, reset),
		cmocka_unit_test_setup(test_json_replaces_and_reflects_values, reset),
		cmocka_unit_test_setup(test_json_file_mode_follows_umask, reset),
		cmocka_unit_test_setup(test_json_errors, reset),
		cmocka_unit_test_setup(test_null_path_is_noop, reset),
		cmocka_unit_test_setup(test_table, reset),
		cmocka_unit_test_setup(test_table_narrow_and_empty, reset),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
