/* Unit tests for vmx_userspace/outfile.c: what each kind of path becomes
 * after a write (regular files replaced atomically, symlinks kept, devices,
 * FIFOs, pipes and fd links written in place) and the one-line refusals. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "outfile.h"

static char dir[64];
static char err[1024];
static const char data[] = "{\n  \"a\": 1\n}\n";

static char *at(const char *name)
{
	static char buf[4][256];
	static unsigned k;
	char *p = buf[k++ % 4];
	snprintf(p, sizeof buf[0], "%s/%s", dir, name);
	return p;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof buf - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void spit(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Entries of the test directory: a leftover temporary shows up here. */
static unsigned entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void empty_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = at(e->d_name);
		if (unlink(p) < 0) {
			chmod(p, 0755);
			rmdir(p);
		}
	}
	closedir(d);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/vmx_test_outfile.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	empty_dir();
	rmdir(dir);
	return 0;
}

static int fresh(void **state)
{
	(void)state;
	empty_dir();
	memset(err, 0, sizeof err);
	return 0;
}

/* A refusal is one line naming the option and the path as given. */
static void assert_refused(const char *path, const char *reason)
{
	char want[512];
	snprintf(want, sizeof want, "vmx: -stats %s: ", path);
	assert_int_equal(outfile_check("-stats", path, err, sizeof err), -1);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);
	assert_non_null(strstr(err, reason));
	assert_null(strchr(err, '\n'));
	memset(err, 0, sizeof err);
	assert_int_equal(outfile_write("-stats", path, data, strlen(data), err, sizeof err), -1);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);
	assert_non_null(strstr(err, reason));
}

static void test_new_file(void **state)
{
	(void)state;
	assert_int_equal(outfile_check("-stats", at("s.json"), err, sizeof err), 0);
	assert_string_equal(err, "");
	assert_int_equal(entries(), 0);
	assert_int_equal(outfile_write("-stats", at("s.json"), data, strlen(data), err, sizeof err), 0);
	assert_string_equal(slurp(at("s.json")), data);
	assert_int_equal(entries(), 1);
}

/* A new inode renamed into place, with the old file's permission bits. */
static void test_regular_replaced_atomically(void **state)
{
	struct stat before, after;
	(void)state;
	spit(at("s.json"), "old contents, longer than the new ones..................\n");
	assert_int_equal(chmod(at("s.json"), 0600), 0);
	assert_int_equal(stat(at("s.json"), &before), 0);
	assert_int_equal(outfile_write("-stats", at("s.json"), data, strlen(data), err, sizeof err), 0);
	assert_int_equal(stat(at("s.json"), &after), 0);
	assert_string_equal(slurp(at("s.json")), data);
	assert_true(before.st_ino != after.st_ino);
	assert_int_equal(after.st_mode & 0777, 0600);
	assert_int_equal(entries(), 1);
}

static void test_symlink_kept_target_replaced(void **state)
{
	struct stat st;
	char link[256];
	ssize_t n;
	(void)state;
	spit(at("target.json"), "old\n");
	assert_int_equal(symlink("target.json", at("link.json")), 0);
	assert_int_equal(outfile_write("-stats", at("link.json"), data, strlen(data), err, sizeof err), 0);
	assert_int_equal(lstat(at("link.json"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	n = readlink(at("link.json"), link, sizeof link - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "target.json");
	assert_string_equal(slurp(at("target.json")), data);
	assert_int_equal(entries(), 2);
}

/* A chain of links, the last one dangling: the file it names is created. */
static void test_dangling_symlink_creates_target(void **state)
{
	struct stat st;
	(void)state;
	assert_int_equal(symlink(at("b"), at("a")), 0);
	assert_int_equal(symlink("new.json", at("b")), 0);
	assert_int_equal(outfile_write("-stats", at("a"), data, strlen(data), err, sizeof err), 0);
	assert_int_equal(lstat(at("a"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(lstat(at("b"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_string_equal(slurp(at("new.json")), data);
}

static void test_dev_null_stays_a_device(void **state)
{
	struct stat st;
	(void)state;
	assert_int_equal(outfile_check("-stats", "/dev/null", err, sizeof err), 0);
	assert_int_equal(outfile_write("-stats", "/dev/null", data, strlen(data), err, sizeof err), 0);
	assert_int_equal(lstat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	/* A node of its own: as root the old code replaced it by a file. */
	if (mknod(at("null"), S_IFCHR | 0666, makedev(1, 3)) < 0)
		return;
	assert_int_equal(outfile_write("-stats", at("null"), data, strlen(data), err, sizeof err), 0);
	assert_int_equal(lstat(at("null"), &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(entries(), 1);
}

static void test_fifo_written_in_place(void **state)
{
	struct stat st;
	char buf[256];
	int rd;
	ssize_t n;
	(void)state;
	assert_int_equal(mkfifo(at("fifo"), 0644), 0);
	/* A reader first, so opening for writing does not block. */
	rd = open(at("fifo"), O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(outfile_check("-stats", at("fifo"), err, sizeof err), 0);
	assert_int_equal(outfile_write("-stats", at("fifo"), data, strlen(data), err, sizeof err), 0);
	n = read(rd, buf, sizeof buf - 1);
	assert_int_equal(n, (ssize_t)strlen(data));
	buf[n] = '\0';
	assert_string_equal(buf, data);
	close(rd);
	assert_int_equal(lstat(at("fifo"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(entries(), 1);
}

/* /proc/self/fd/N of a pipe: what /dev/stdout is in `vmx ... | less`. */
static void test_pipe_fd_link(void **state)
{
	int p[2];
	char path[64], buf[256];
	ssize_t n;
	(void)state;
	assert_int_equal(pipe(p), 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
	assert_int_equal(outfile_check("-stats", path, err, sizeof err), 0);
	assert_int_equal(outfile_write("-stats", path, data, strlen(data), err, sizeof err), 0);
	close(p[1]);
	n = read(p[0], buf, sizeof buf - 1);
	assert_int_equal(n, (ssize_t)strlen(data));
	buf[n] = '\0';
	assert_string_equal(buf, data);
	close(p[0]);
}

/* /dev/stdout redirected to a file (`vmx ... >log`): appended after what
 * the descriptor wrote, same file. */
static void test_regular_fd_link_appends(void **state)
{
	struct stat before, after;
	char path[64], want[256];
	int fd;
	(void)state;
	fd = open(at("log"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "guest output\n", 13), 13);
	assert_int_equal(fstat(fd, &before), 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	assert_int_equal(outfile_write("-stats", path, data, strlen(data), err, sizeof err), 0);
	close(fd);
	assert_int_equal(stat(at("log"), &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	snprintf(want, sizeof want, "guest output\n%s", data);
	assert_string_equal(slurp(at("log")), want);
	assert_int_equal(entries(), 1);
}

static void test_refusals(void **state)
{
	char path[256];
	(void)state;
	assert_int_equal(mkdir(at("sub"), 0755), 0);
	assert_refused(at("sub"), "is a directory");
	assert_refused(at("no/such/dir/s.json"), "No such file or directory");
	spit(at("file"), "x");
	snprintf(path, sizeof path, "%s/below", at("file"));
	assert_refused(path, "Not a directory");
	assert_int_equal(symlink("loop2", at("loop1")), 0);
	assert_int_equal(symlink("loop1", at("loop2")), 0);
	assert_refused(at("loop1"), "Too many levels of symbolic links");
	/* Nothing was created on the way. */
	assert_int_equal(entries(), 4);
}

static void test_block_device_refused(void **state)
{
	(void)state;
	/* A local-use major with no driver: nothing to write even by mistake. */
	if (mknod(at("disk"), S_IFBLK | 0600, makedev(240, 0)) < 0)
		skip();
	assert_refused(at("disk"), "block device");
	assert_int_equal(entries(), 1);
}

/* Permissions are bypassed by root: checked for other users only. */
static void test_no_permission(void **state)
{
	(void)state;
	if (geteuid() == 0)
		skip();
	assert_int_equal(mkdir(at("ro"), 0555), 0);
	assert_refused(at("ro/s.json"), "Permission denied");
	spit(at("readonly.json"), "keep\n");
	assert_int_equal(chmod(at("readonly.json"), 0444), 0);
	assert_refused(at("readonly.json"), "Permission denied");
	assert_string_equal(slurp(at("readonly.json")), "keep\n");
}

static void test_abort_keeps_old(void **state)
{
	struct outfile of;
	(void)state;
	spit(at("s.json"), "old\n");
	assert_int_equal(outfile_open(&of, "-stats", at("s.json"), err, sizeof err), 0);
	assert_int_equal(outfile_put(&of, data, strlen(data), err, sizeof err), 0);
	assert_int_equal(entries(), 2);   /* the temporary, in the same directory */
	outfile_abort(&of);
	assert_string_equal(slurp(at("s.json")), "old\n");
	assert_int_equal(entries(), 1);
}

/* A log (the perf map) is made anew: an old file of ours goes, a planted
 * symlink or FIFO is refused and its target left alone. */
static void test_log_created_never_followed(void **state)
{
	struct outfile of;
	(void)state;
	spit(at("perf-1.map"), "stale\n");
	assert_int_equal(outfile_open_log(&of, "-perf-map", at("perf-1.map"), err, sizeof err), 0);
	assert_int_equal(outfile_put(&of, "a 1 x\n", 6, err, sizeof err), 0);
	assert_int_equal(outfile_put(&of, "b 2 y\n", 6, err, sizeof err), 0);
	assert_int_equal(outfile_close_log(&of, err, sizeof err), 0);
	assert_string_equal(slurp(at("perf-1.map")), "a 1 x\nb 2 y\n");

	spit(at("victim"), "keep\n");
	assert_int_equal(symlink(at("victim"), at("perf-2.map")), 0);
	assert_int_equal(outfile_open_log(&of, "-perf-map", at("perf-2.map"), err, sizeof err), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_string_equal(slurp(at("victim")), "keep\n");
	assert_int_equal(mkfifo(at("perf-3.map"), 0600), 0);
	assert_int_equal(outfile_open_log(&of, "-perf-map", at("perf-3.map"), err, sizeof err), -1);
	assert_int_equal(outfile_open_log(&of, "-perf-map", at("nodir/perf-4.map"), err, sizeof err), -1);
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_new_file, fresh),
		cmocka_unit_test_setup(test_regular_replaced_atomically, fresh),
		cmocka_unit_test_setup(test_symlink_kept_target_replaced, fresh),
		cmocka_unit_test_setup(test_dangling_symlink_creates_target, fresh),
		cmocka_unit_test_setup(test_dev_null_stays_a_device, fresh),
		cmocka_unit_test_setup(test_fifo_written_in_place, fresh),
		cmocka_unit_test_setup(test_pipe_fd_link, fresh),
		cmocka_unit_test_setup(test_regular_fd_link_appends, fresh),
		cmocka_unit_test_setup(test_refusals, fresh),
		cmocka_unit_test_setup(test_block_device_refused, fresh),
		cmocka_unit_test_setup(test_no_permission, fresh),
		cmocka_unit_test_setup(test_abort_keeps_old, fresh),
		cmocka_unit_test_setup(test_log_created_never_followed, fresh),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
