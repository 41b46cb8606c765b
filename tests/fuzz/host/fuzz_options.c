/* libFuzzer harness for the option parser (vmx_userspace/options.c): the
 * input is split at NUL bytes into the arguments after "vmx". Any result is
 * fine but a crash or a sanitizer report; an error is one line starting
 * "vmx: ", and a success has a kernel.
 * Environment: host, clang -fsanitize=fuzzer,address,undefined. */
#include <stdlib.h>
#include <string.h>
#include "vmx.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char *buf = malloc(n + 1);
	if (!buf)
		abort();
	memcpy(buf, data, n);
	buf[n] = 0;
	char *argv[MAX_ARGS + 2] = { "vmx" };
	int argc = 1;
	for (size_t i = 0; i <= n && argc <= MAX_ARGS; ) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	struct vmx_options o;
	char err[512];
	int r = vmx_parse_options(argc, argv, &o, err, sizeof err);
	if (r != 0 && (strncmp(err, "vmx: ", 5) || strchr(err, '\n')))
		abort();
	if (r == 0 && !o.help && !o.kernel)
		abort();
	free(buf);
	return 0;
}
