/* Writing the files vmx produces (outfile.h): following the user's path to
 * what it names, refusing what must not be written, replacing regular files
 * atomically and writing devices, FIFOs and fd links in place. */
#define _GNU_SOURCE
#include "outfile.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* As the kernel's path walk: a longer chain of symlinks is a loop. */
#define MAX_HOPS 40

enum kind { K_NEW, K_REGULAR, K_INPLACE };

struct target {
	enum kind kind;
	char path[PATH_MAX];   /* what to rename onto (K_NEW, K_REGULAR) or open (K_INPLACE) */
	char dir[PATH_MAX];    /* its directory, for the temporary (K_NEW, K_REGULAR) */
	struct stat st;        /* the object itself, symlinks followed (not K_NEW) */
};

static int fail(char *err, size_t errlen, const char *opt, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t errlen, const char *opt, const char *path, const char *fmt, ...)
{
	char reason[PATH_MAX + 128];
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(reason, sizeof reason, fmt, ap);
		va_end(ap);
		snprintf(err, errlen, "vmx: %s %s: %s", opt, path, reason);
	}
	return -1;
}

static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* The links in /proc/PID/fd (and /dev/stdout, /dev/fd/N through them) are
 * not paths: reading them gives "pipe:[N]" or the name of a file some
 * descriptor has open, which must not be renamed over (the shell's
 * `>file` would lose what was already written). They live on procfs. */
static bool on_procfs(const struct stat *link)
{
	struct stat p;
	return lstat("/proc/self", &p) == 0 && p.st_dev == link->st_dev;
}

/* Follows `path` through symlinks (the last component only: directories
 * on the way may be links, rename works through them) to what it names. */
static int resolve(const char *opt, const char *path, struct target *t, char *err, size_t errlen)
{
	char cur[PATH_MAX], link[PATH_MAX];
	struct stat ls;

	if (snprintf(cur, sizeof cur, "%s", path) >= (int)sizeof cur)
		return fail(err, errlen, opt, path, "%s", strerror(ENAMETOOLONG));
	for (unsigned hop = 0;; hop++) {
		if (lstat(cur, &ls) < 0) {
			if (errno != ENOENT)
				return fail(err, errlen, opt, path, "%s", strerror(errno));
			t->kind = K_NEW;
			break;
		}
		if (S_ISLNK(ls.st_mode) && on_procfs(&ls)) {
			if (stat(cur, &ls) < 0)
				return fail(err, errlen, opt, path, "%s", strerror(errno));
			t->kind = K_INPLACE;
		} else if (S_ISLNK(ls.st_mode)) {
			ssize_t n = readlink(cur, link, sizeof link - 1);
			char dir[PATH_MAX];
			if (hop == MAX_HOPS)
				return fail(err, errlen, opt, path, "%s", strerror(ELOOP));
			if (n < 0)
				return fail(err, errlen, opt, path, "%s", strerror(errno));
			link[n] = '\0';
			dir_of(cur, dir, sizeof dir);
			if (link[0] == '/' ? snprintf(cur, sizeof cur, "%s", link) >= (int)sizeof cur
					   : snprintf(cur, sizeof cur, "%s/%s", dir, link) >= (int)sizeof cur)
				return fail(err, errlen, opt, path, "%s", strerror(ENAMETOOLONG));
			continue;
		} else {
			t->kind = S_ISREG(ls.st_mode) ? K_REGULAR : K_INPLACE;
		}
		t->st = ls;
		if (S_ISDIR(ls.st_mode))
			return fail(err, errlen, opt, path, "is a directory");
		/* Writing a report over a disk is never what was meant. */
		if (S_ISBLK(ls.st_mode))
			return fail(err, errlen, opt, path, "is a block device (vmx does not write those)");
		break;
	}
	snprintf(t->path, sizeof t->path, "%s", cur);
	if (t->kind == K_INPLACE) {
		if (faccessat(AT_FDCWD, t->path, W_OK, AT_EACCESS) < 0)
			return fail(err, errlen, opt, path, "%s", strerror(errno));
		return 0;
	}
	/* Replacing needs the directory; an existing file's own permission
	 * is honoured too, as a shell's `>` would. */
	dir_of(t->path, t->dir, sizeof t->dir);
	struct stat ds;
	if (stat(t->dir, &ds) < 0)
		return fail(err, errlen, opt, path, "directory %s: %s", t->dir, strerror(errno));
	if (!S_ISDIR(ds.st_mode))
		return fail(err, errlen, opt, path, "%s is not a directory", t->dir);
	if (faccessat(AT_FDCWD, t->dir, W_OK | X_OK, AT_EACCESS) < 0)
		return fail(err, errlen, opt, path, "cannot create files in directory %s: %s",
			    t->dir, strerror(errno));
	if (t->kind == K_REGULAR && faccessat(AT_FDCWD, t->path, W_OK, AT_EACCESS) < 0)
		return fail(err, errlen, opt, path, "%s", strerror(errno));
	return 0;
}

int outfile_check(const char *opt, const char *path, char *err, size_t errlen)
{
	struct target t;
	if (err && errlen)
		err[0] = '\0';
	return resolve(opt, path, &t, err, errlen);
}

int outfile_open(struct outfile *of, const char *opt, const char *path, char *err, size_t errlen)
{
	struct target t;
	int e = 0;

	memset(of, 0, sizeof *of);
	of->fd = -1;
	of->opt = opt;
	of->path = path;
	if (err && errlen)
		err[0] = '\0';
	if (resolve(opt, path, &t, err, errlen) < 0)
		return -1;
	if (t.kind == K_INPLACE) {
		int flags = O_WRONLY | O_NOCTTY | O_CLOEXEC | (S_ISREG(t.st.st_mode) ? O_APPEND : 0);
		do
			of->fd = open(t.path, flags);
		while (of->fd < 0 && errno == EINTR);
		if (of->fd < 0)
			return fail(err, errlen, opt, path, "%s", strerror(errno));
		return 0;
	}
	size_t tlen = strlen(t.path) + 48;
	of->final = strdup(t.path);
	of->tmp = malloc(tlen);
	if (!of->final || !of->tmp) {
		outfile_abort(of);
		return fail(err, errlen, opt, path, "out of memory");
	}
	/* O_EXCL with mode 0666 (not mkstemp's 0600): a new report gets the
	 * permissions the umask gives any new file. */
	for (unsigned attempt = 0; of->fd < 0 && attempt < 100; attempt++) {
		snprintf(of->tmp, tlen, "%s.tmp.%ld.%u", t.path, (long)getpid(), attempt);
		of->fd = open(of->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		e = errno;
		if (of->fd < 0 && e != EEXIST)
			break;
	}
	if (of->fd < 0) {
		free(of->tmp);
		of->tmp = NULL;
		outfile_abort(of);
		return fail(err, errlen, opt, path, "cannot create a temporary file in %s: %s",
			    t.dir, strerror(e));
	}
	of->atomic = true;
	/* The replacement keeps the mode the user gave the old file. */
	if (t.kind == K_REGULAR)
		(void)fchmod(of->fd, t.st.st_mode & 0777);
	return 0;
}

int outfile_put(struct outfile *of, const void *buf, size_t len, char *err, size_t errlen)
{
	const char *p = buf;
	while (len) {
		ssize_t w = write(of->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return fail(err, errlen, of->opt, of->path, "write error: %s",
				    strerror(w < 0 ? errno : EIO));
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void release(struct outfile *of)
{
	free(of->tmp);
	free(of->final);
	of->tmp = of->final = NULL;
	of->fd = -1;
	of->atomic = false;
}

void outfile_abort(struct outfile *of)
{
	if (of->fd >= 0)
		close(of->fd);
	if (of->atomic && of->tmp)
		unlink(of->tmp);
	release(of);
}

int outfile_commit(struct outfile *of, char *err, size_t errlen)
{
	int rc = 0;
	/* close() reports the errors of network file systems' delayed writes. */
	if (close(of->fd) < 0 && errno != EINTR) {
		rc = fail(err, errlen, of->opt, of->path, "write error: %s", strerror(errno));
		if (of->atomic)
			unlink(of->tmp);
	} else if (of->atomic && rename(of->tmp, of->final) < 0) {
		rc = fail(err, errlen, of->opt, of->path, "cannot rename the new file onto %s: %s",
			  of->final, strerror(errno));
		unlink(of->tmp);
	}
	release(of);
	return rc;
}

int outfile_write(const char *opt, const char *path, const void *buf, size_t len,
		  char *err, size_t errlen)
{
	struct outfile of;
	if (outfile_open(&of, opt, path, err, errlen) < 0)
		return -1;
	if (outfile_put(&of, buf, len, err, errlen) < 0) {
		outfile_abort(&of);
		return -1;
	}
	return outfile_commit(&of, err, errlen);
}

int outfile_open_log(struct outfile *of, const char *opt, const char *path, char *err, size_t errlen)
{
	*of = (struct outfile){ .fd = -1, .opt = opt, .path = path };
	for (int tries = 0; tries < 2; tries++) {
		/* O_EXCL|O_NOFOLLOW: in a shared directory such as /tmp, a name
		 * someone else planted (a symlink, a FIFO) is never followed. */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			of->fd = fd;
			return 0;
		}
		if (errno != EEXIST)
			break;
		/* A process that had this PID before may have left its map. */
		struct stat st;
		if (lstat(path, &st) != 0)
			continue;
		if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
			return fail(err, errlen, opt, path, "exists and is not a regular file of this user's");
		if (unlink(path) != 0)
			break;
	}
	return fail(err, errlen, opt, path, "%s", strerror(errno));
}

int outfile_close_log(struct outfile *of, char *err, size_t errlen)
{
	int rc = 0;
	if (of->fd >= 0 && close(of->fd) < 0 && errno != EINTR)
		rc = fail(err, errlen, of->opt, of->path, "write error: %s", strerror(errno));
	of->fd = -1;
	return rc;
}
