/* Fuzz minimizer (host program): delta-debugs the unit lines of a case
 * file, keeping a removal whenever the oracle command still reports the
 * difference, down to a case where no single unit can go. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char **head, **units;
static int nhead, nunits;
static const char *oracle, *trial_path;
static int tests, max_tests;

static void push(char ***v, int *n, const char *s)
{
	*v = realloc(*v, (size_t)(*n + 1) * sizeof **v);
	(*v)[(*n)++] = strdup(s);
}

static int write_case(const char *path, const int *keep)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "minimize: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < nhead; i++)
		fputs(head[i], f);
	for (int i = 0; i < nunits; i++)
		if (keep[i])
			fputs(units[i], f);
	return fclose(f);
}

/* True when the case with only the kept units still shows the difference. */
static int still_fails(const int *keep)
{
	char cmd[8192];
	int st;

	if (tests >= max_tests)
		return 0;
	tests++;
	if (write_case(trial_path, keep))
		exit(1);
	snprintf(cmd, sizeof cmd, "%s '%s' >/dev/null 2>&1", oracle, trial_path);
	st = system(cmd);
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
	char line[8192];
	FILE *f;
	int *keep, *trial, alive, chunks = 2;

	if (argc < 4) {
		fprintf(stderr, "usage: minimize IN.case OUT.case ORACLE [MAX_TESTS]\n"
				"  ORACLE CASE must exit 0 while CASE still shows the difference\n");
		return 2;
	}
	oracle = argv[3];
	max_tests = argc > 4 ? atoi(argv[4]) : 400;
	f = fopen(argv[1], "r");
	if (!f) {
		fprintf(stderr, "minimize: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "u ", 2))
			push(&units, &nunits, line);
		else
			push(&head, &nhead, line);
	}
	fclose(f);
	snprintf(line, sizeof line, "%s.trial", argv[2]);
	trial_path = strdup(line);
	keep = calloc((size_t)nunits + 1, sizeof *keep);
	trial = calloc((size_t)nunits + 1, sizeof *trial);
	for (int i = 0; i < nunits; i++)
		keep[i] = 1;
	alive = nunits;
	if (!still_fails(keep)) {
		fprintf(stderr, "minimize: %s does not fail\n", argv[1]);
		return 1;
	}
	/* ddmin over complements: drop one chunk at a time; on success keep
	 * the smaller case and coarsen, otherwise refine the chunks. */
	while (alive > 1 && tests < max_tests) {
		int size = (alive + chunks - 1) / chunks, dropped = 0;
		for (int c = 0; c < chunks && !dropped; c++) {
			int seen = 0, any = 0;
			for (int i = 0; i < nunits; i++) {
				trial[i] = keep[i];
				if (keep[i]) {
					if (seen / size == c) {
						trial[i] = 0;
						any = 1;
					}
					seen++;
				}
			}
			if (any && still_fails(trial)) {
				memcpy(keep, trial, (size_t)nunits * sizeof *keep);
				alive = 0;
				for (int i = 0; i < nunits; i++)
					alive += keep[i];
				chunks = chunks > 2 ? chunks - 1 : 2;
				dropped = 1;
			}
		}
		if (!dropped) {
			if (chunks >= alive)
				break;
			chunks = chunks * 2 < alive ? chunks * 2 : alive;
		}
	}
	if (write_case(argv[2], keep))
		return 1;
	remove(trial_path);
	fprintf(stderr, "minimize: %d -> %d units in %d oracle runs%s\n", nunits, alive, tests,
		tests >= max_tests ? " (test budget reached)" : "");
	return 0;
}
