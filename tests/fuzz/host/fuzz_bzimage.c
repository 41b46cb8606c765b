/* libFuzzer harness for the bzImage loader (vmx_userspace/loader_bzimage.c):
 * the input is the -kernel file (and, when its first byte is odd, also the
 * -initrd), loaded into guest RAM with a command line. Any result is fine
 * but a crash, a sanitizer report or a write outside RAM.
 * Environment: host, clang -fsanitize=fuzzer,address,undefined. */
#define _GNU_SOURCE   /* memfd_create, in memfile.h */
#include <string.h>
#include "memfile.h"
#include "vmx.h"

/* Debian's kernel asks for about 30 MiB to decompress itself. */
#define RAM_SIZE (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static uint8_t *ram;
	if (!ram && !(ram = malloc(RAM_SIZE)))
		abort();
	const char *path = memfile(0, data, n);
	char err[512];
	struct boot_state bs;
	bzimage_probe(data, n);
	bzimage_load(path, n && (data[0] & 1) ? path : NULL, ram, RAM_SIZE, "console=ttyS0 fuzz", &bs, err, sizeof err);
	if (strchr(err, '\n'))
		abort();
	return 0;
}
