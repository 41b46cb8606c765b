/* libFuzzer harness for vmx-report's -stats reader (report.c's
 * load_stats and the totals it prints beside a profile's): a fixed profile
 * (the seed directory's profile.json, read once) and the input as
 * --stats. report.c's main is built as vmx_report_main.
 * Environment: host, clang -fsanitize=fuzzer,address,undefined. */
#define _GNU_SOURCE   /* memfd_create, in memfile.h */
#include <string.h>
#include "memfile.h"

int vmx_report_main(int argc, char **argv);
static const char *profile;

/* FUZZ_PROFILE names the profile (the Makefile sets it). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	const char *src = getenv("FUZZ_PROFILE");
	FILE *f = src ? fopen(src, "rb") : NULL;
	if (!f) {
		fprintf(stderr, "fuzz_stats: set FUZZ_PROFILE to a vmx -profile file\n");
		exit(2);
	}
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	profile = memfile(1, buf, n);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char *argv[] = { "vmx-report", (char *)profile, "--stats", (char *)memfile(0, data, n), NULL };
	vmx_report_main(4, argv);
	return 0;
}
