/* libFuzzer harness for vmx-report's profile reader and what prints from
 * it (vmx_userspace/report/: profile_read.c's checks, report.c's text with
 * disassembly, or its JSON, or --diff of the input against itself, as the
 * first byte picks). report.c's main is built as vmx_report_main.
 * Environment: host, clang -fsanitize=fuzzer,address,undefined. */
#include "memfile.h"

int vmx_report_main(int argc, char **argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	const char *path = memfile(0, data, n);
	char *p = (char *)path;
	unsigned pick = n ? data[n - 1] % 3 : 0;
	char *text[] = { "vmx-report", p, "--top", "3", NULL };
	char *json[] = { "vmx-report", p, "--json", NULL };
	char *diff[] = { "vmx-report", "--diff", p, p, NULL };
	if (pick == 0)
		vmx_report_main(4, text);
	else if (pick == 1)
		vmx_report_main(3, json);
	else
		vmx_report_main(4, diff);
	return 0;
}
