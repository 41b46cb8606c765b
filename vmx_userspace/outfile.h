/* Files vmx writes on the user's behalf (-stats today; profiles, perf maps
 * and logs later): what a path may be, checked before the guest runs, and
 * writing it without destroying what the path names. */
#ifndef OUTFILE_H
#define OUTFILE_H
#include <stdbool.h>
#include <stddef.h>

/* How a path is written:
 *  - a regular file, or a name that does not exist yet, is replaced
 *    atomically: a temporary file in the same directory, renamed over it
 *    (a symlink to a regular file keeps the link; its target is replaced,
 *    keeping its permission bits);
 *  - a character device, a FIFO, or a /proc fd link (/dev/stdout,
 *    /dev/fd/N) is opened and written in place, never truncated; a regular
 *    file reached through an fd link is appended to, so output already
 *    written through that descriptor stays;
 *  - a directory, a block device, a missing parent directory or a path
 *    without write permission is refused.
 * Error messages are one line, "vmx: OPT PATH: reason", without a newline;
 * OPT names the option the path came from ("-stats"). */

struct outfile {
	int fd;
	bool atomic;      /* tmp is renamed to final on commit */
	char *tmp, *final;
	const char *opt, *path;
};

/* Whether `path` could be written now; 0, or -1 with the message in err.
 * Opens nothing (a FIFO without a reader would block). */
int outfile_check(const char *opt, const char *path, char *err, size_t errlen);

/* Opens `path` for writing as described above; of->fd is then written
 * with outfile_put, and the file ended with outfile_commit (or dropped
 * with outfile_abort). Opening a FIFO blocks until it has a reader. */
int outfile_open(struct outfile *of, const char *opt, const char *path, char *err, size_t errlen);
/* Writes all of buf (retrying short writes). */
int outfile_put(struct outfile *of, const void *buf, size_t len, char *err, size_t errlen);
/* Closes, and for an atomic replacement renames the file into place.
 * Releases `of` whatever the result; on failure the target is unchanged. */
int outfile_commit(struct outfile *of, char *err, size_t errlen);
/* Closes and leaves the target as it was (the temporary is removed). */
void outfile_abort(struct outfile *of);

/* A file written as the run goes (perf's map of the translated code, whose
 * name perf fixes, e.g. /tmp/perf-PID.map): created anew with O_EXCL and
 * never through a symlink; an old regular file of this user's at the path
 * (left by an earlier process with this PID) is removed first. Written
 * with outfile_put (appending), ended with outfile_close_log. */
int outfile_open_log(struct outfile *of, const char *opt, const char *path, char *err, size_t errlen);
int outfile_close_log(struct outfile *of, char *err, size_t errlen);

/* open + put + commit. */
int outfile_write(const char *opt, const char *path, const void *buf, size_t len,
		  char *err, size_t errlen);

#endif
