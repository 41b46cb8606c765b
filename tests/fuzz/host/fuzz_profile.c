/* libFuzzer harness for vmx-report's profile reader and what prints from
 * it (vmx_userspace/report/: profile_read.c's checks, report.c's text with
 * disassembly, or --diff of the input against itself, as the last byte
 * picks; then its JSON, and the callgrind, drcov and HTML exports written
 * to files of its own in /tmp: never to /dev/null, which an exporter that
 * renames into place would replace, as root, with a regular file). report.c's main is built as vmx_report_main.
 * Environment: host, clang -fsanitize=fuzzer,address,undefined. */
#define _GNU_SOURCE   /* memfd_create, in memfile.h */
#include "memfile.h"

int vmx_report_main(int argc, char **argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	const char *path = memfile(0, data, n);
	char *p = (char *)path;
	char *text[] = { "vmx-report", p, "--top", "3", NULL };
	char *json[] = { "vmx-report", p, "--json", NULL };
	char *diff[] = { "vmx-report", "--diff", p, p, NULL };
	char *exports[] = { "vmx-report", p, "--callgrind", "/tmp/vmx-fuzz-profile.callgrind",
			    "--drcov", "/tmp/vmx-fuzz-profile.drcov", "--html", "/tmp/vmx-fuzz-profile.html", NULL };
	vmx_report_main(3, json);
	vmx_report_main(8, exports);
	/* The slower two, one or the other. */
	if (n && data[n - 1] & 1)
		vmx_report_main(4, text);
	else
		vmx_report_main(4, diff);
	return 0;
}
