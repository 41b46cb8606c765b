/* libFuzzer harness for the multiboot loader (vmx_userspace/
 * loader_multiboot.c): the input is the -kernel file, loaded into a guest
 * RAM buffer; the same file is also given as a module with a string, so
 * the module list and the multiboot info are built too. Any result is fine
 * but a crash, a sanitizer report or a write outside RAM.
 * Environment: host, clang -fsanitize=fuzzer,address,undefined. */
#define _GNU_SOURCE   /* memfd_create, in memfile.h */
#include <string.h>
#include "memfile.h"
#include "vmx.h"

#define RAM_SIZE (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static uint8_t *ram;
	if (!ram && !(ram = malloc(RAM_SIZE)))
		abort();
	const char *path = memfile(0, data, n);
	char modules[64], err[512];
	snprintf(modules, sizeof modules, "%s a,,b", path);
	struct boot_state bs;
	/* The first byte picks whether there are modules: both paths get inputs. */
	multiboot_load(path, ram, RAM_SIZE, "fuzz cmdline", n && (data[0] & 1) ? modules : NULL, &bs, err, sizeof err);
	if (strchr(err, '\n'))
		abort();   /* the loader's errors are one line */
	return 0;
}
