/* The parser fuzzers' input as a file: the loaders and readers take paths,
 * so each input is written to a memfd and named /proc/self/fd/N (a regular
 * file, as the loaders require). Each harness defines _GNU_SOURCE first
 * (memfd_create). Environment: libFuzzer harnesses, host. */
#ifndef FUZZ_MEMFILE_H
#define FUZZ_MEMFILE_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Slot k (0 or 1) holds the bytes; returns its path. */
static inline const char *memfile(unsigned k, const uint8_t *data, size_t n)
{
	static int fd[2] = { -1, -1 };
	static char path[2][32];
	if (fd[k] < 0) {
		fd[k] = memfd_create("vmx-fuzz", 0);
		if (fd[k] < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path[k], sizeof path[k], "/proc/self/fd/%d", fd[k]);
	}
	if (ftruncate(fd[k], 0) != 0 || (n && pwrite(fd[k], data, n, 0) != (ssize_t)n)) {
		perror("memfile");
		abort();
	}
	return path[k];
}
#endif
