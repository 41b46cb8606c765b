/* Helpers shared by the /dev/vmmon test programs (the .c files of tests/driver), which
 * run inside the QEMU guest of `make check-driver`: checks that report the
 * failing line, a minimal loadable image, sysfs counts.
 * Environment: user space, static amd64 programs in the guest's initramfs. */
#ifndef VMMON_UTIL_H
#define VMMON_UTIL_H
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vmmon_ioctl.h"

static int failures __attribute__((unused));
#define CHECK(cond) do { if (!(cond)) { failures++; \
	fprintf(stderr, "%s:%d: check failed: %s (errno %d %s)\n", __FILE__, __LINE__, #cond, \
		errno, strerror(errno)); } } while (0)
/* The ioctl fails with exactly this errno. */
#define CHECK_ERR(call, e) do { errno = 0; long r_ = (call); \
	if (r_ != -1 || errno != (e)) { failures++; \
	fprintf(stderr, "%s:%d: %s: expected errno %d (%s), got %ld errno %d (%s)\n", __FILE__, \
		__LINE__, #call, (e), strerror(e), r_, errno, strerror(errno)); } } while (0)
#define CHECK_OK(call) do { errno = 0; long r_ = (call); if (r_ < 0) { failures++; \
	fprintf(stderr, "%s:%d: %s: failed, errno %d (%s)\n", __FILE__, __LINE__, #call, errno, \
		strerror(errno)); } } while (0)

static inline int vmmon_open(void)
{
	int fd = open("/dev/vmmon", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("/dev/vmmon");
		exit(2);
	}
	return fd;
}

static inline void *guest_ram(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

static inline struct vmmon_create create_arg(void *ram, size_t ram_size, size_t mon_size)
{
	struct vmmon_create c = { .size = sizeof(c), .ram_uaddr = (uintptr_t)ram,
				  .ram_size = ram_size, .mon_size = mon_size };
	return c;
}

/* A one-segment image: a page of int3 bytes marked executable; the entry is
 * its first byte. Nothing runs it yet (README: the driver world today). */
static unsigned char image_bytes[4096] __attribute__((unused));
static struct vmmon_segment image_seg[1] __attribute__((unused));
static inline struct vmmon_load load_arg(void)
{
	memset(image_bytes, 0xCC, sizeof(image_bytes));
	image_seg[0] = (struct vmmon_segment){ .src_uaddr = (uintptr_t)image_bytes,
		.filesz = sizeof(image_bytes), .mon_offset = 0, .memsz = 2 * 4096,
		.prot = VMMON_PROT_R | VMMON_PROT_X };
	struct vmmon_load l = { .size = sizeof(l), .nsegs = 1, .segs_uaddr = (uintptr_t)image_seg,
				.entry = 0 };
	return l;
}

static inline long sysfs_count(const char *name)
{
	char path[128], buf[64];
	snprintf(path, sizeof(path), "/sys/class/misc/vmmon/%s", name);
	FILE *f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		perror(path);
		exit(2);
	}
	fclose(f);
	return strtol(buf, NULL, 10);
}
#endif
