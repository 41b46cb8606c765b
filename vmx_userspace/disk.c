/* The host side of the ATA drives: the raw image files named by -drive /
 * -hda..-hdd, opened at start (a missing, unreadable or, without
 * readonly=on, unwritable image is refused there), read and written with
 * pread/pwrite, made durable with fdatasync on FLUSH CACHE and at exit. */
#define _GNU_SOURCE
#include "vmx.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct { int fd; bool readonly; uint64_t sectors; } disks[VMX_DRIVES] = {
	{ -1, 0, 0 }, { -1, 0, 0 }, { -1, 0, 0 }, { -1, 0, 0 },
};

int disk_open(unsigned index, const char *path, bool readonly, uint64_t *sectors,
	      char *err, size_t errlen)
{
	int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "vmx: drive %u: %s: %s%s", index, path, strerror(errno),
			 !readonly && (errno == EACCES || errno == EROFS) ? " (readonly=on opens it read-only)" : "");
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 512) {
		snprintf(err, errlen, "vmx: drive %u: %s: not a raw image (a regular file of at least 512 bytes)",
			 index, path);
		close(fd);
		return -1;
	}
	/* Permission bits are checked too, so that an image marked read-only
	 * is refused (or unreadable) also when vmx runs as root. */
	if (!(st.st_mode & 0444) || (!readonly && !(st.st_mode & 0222))) {
		snprintf(err, errlen, "vmx: drive %u: %s: %s", index, path,
			 !(st.st_mode & 0444) ? "the image is not readable"
					      : "the image is read-only (readonly=on uses it so)");
		close(fd);
		return -1;
	}
	/* A partial last sector is not part of the disk, as with QEMU. */
	disks[index].fd = fd;
	disks[index].readonly = readonly;
	disks[index].sectors = (uint64_t)st.st_size / 512;
	*sectors = disks[index].sectors;
	return 0;
}

static bool in_range(unsigned d, uint64_t lba, uint32_t count)
{
	return d < VMX_DRIVES && disks[d].fd >= 0 && lba + count <= disks[d].sectors;
}

int disk_read(unsigned d, uint64_t lba, void *buf, uint32_t count)
{
	if (!in_range(d, lba, count))
		return -1;
	size_t len = (size_t)count * 512;
	ssize_t n = pread(disks[d].fd, buf, len, (off_t)(lba * 512));
	return n == (ssize_t)len ? 0 : -1;
}

int disk_write(unsigned d, uint64_t lba, const void *buf, uint32_t count)
{
	if (!in_range(d, lba, count) || disks[d].readonly)
		return -1;
	size_t len = (size_t)count * 512;
	ssize_t n = pwrite(disks[d].fd, buf, len, (off_t)(lba * 512));
	return n == (ssize_t)len ? 0 : -1;
}

int disk_flush(unsigned d)
{
	if (d >= VMX_DRIVES || disks[d].fd < 0)
		return -1;
	return disks[d].readonly ? 0 : fdatasync(disks[d].fd);
}

int disk_close_all(void)
{
	int r = 0;
	for (unsigned d = 0; d < VMX_DRIVES; d++) {
		if (disks[d].fd < 0)
			continue;
		if (!disks[d].readonly && fdatasync(disks[d].fd) != 0)
			r = -1;
		close(disks[d].fd);
		disks[d].fd = -1;
	}
	return r;
}
