/* The profile file round trip: records as the monitor leaves them in its
 * arena, written by profile_write.c and read back by vmx-report's reader;
 * generations, the bound on listed fragments, and malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "profile_file.h"
#include "profile_read.h"

static struct prof_rec recs[8];
static uint8_t pool[4096];
static struct prof_arena arena;
static char path[64];

/* A fragment of `n` one-byte instructions, classes cycling, at `pc`. */
static void add(uint32_t pc, uint32_t n, uint64_t execs, uint8_t state)
{
	struct prof_rec *r = &recs[arena.nrec++];
	*r = (struct prof_rec){ .eip = pc, .cs_base = 0x1000, .tc = 0xffc90000u + arena.pool_used, .glen = n,
				.tc_len = n * 3 + 27, .pool = arena.pool_used, .ninsn = n, .cpl = 0, .state = state,
				.chains_in = 2, .chains_out = 1, .nfrag = 1, .execs = execs, .cycles = 1000 + n };
	struct prof_insn *m = (struct prof_insn *)(pool + r->pool);
	for (uint32_t i = 0; i < n; i++) {
		m[i] = (struct prof_insn){ .goff = (uint8_t)i, .cls = (uint8_t)(i % 3), .tcoff = (uint16_t)(27 + 3 * i) };
		r->nclass[i % 3]++;
	}
	uint8_t *g = (uint8_t *)prof_guest(&arena, r), *t = (uint8_t *)prof_tc(&arena, r);
	for (uint32_t i = 0; i < n; i++)
		g[i] = 0x90;
	for (uint32_t i = 0; i < r->tc_len; i++)
		t[i] = (uint8_t)(i * 7);
	arena.pool_used += (n * 4 + n + r->tc_len + 3) & ~3u;
}

static int setup(void **state)
{
	(void)state;
	memset(recs, 0, sizeof recs);
	arena = (struct prof_arena){ .magic = PROF_MAGIC, .nrec = 1, .max_rec = 8, .pool_size = sizeof pool,
				     .prologue_bytes = PROF_PROLOGUE_BYTES, .tc_base = 0xffc90000u, .recs = recs,
				     .pool = pool };
	strcpy(arena.stat_fragments, "bt.tu.translated");
	strcpy(arena.stat_tc_bytes, "bt.tc.bytes");
	recs[0] = (struct prof_rec){ .nfrag = 2, .ninsn = 5, .execs = 7, .nclass = { 5, 0, 0 } };
	snprintf(path, sizeof path, "/tmp/test_profile.%d.json", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void test_round_trip(void **state)
{
	(void)state;
	add(0x100000, 4, 1000, PROF_LIVE);
	add(0x100020, 3, 5, PROF_INVALIDATED);
	add(0x100000, 4, 20, PROF_FLUSHED);      /* the same PC again: generation 2 */
	char err[256];
	assert_int_equal(profile_write(path, &arena, 100, err, sizeof err), 0);
	struct pf_file f;
	assert_int_equal(pf_load("t", path, &f, err, sizeof err), 0);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.prologue, PROF_PROLOGUE_BYTES);
	assert_int_equal(f.tc_base, 0xffc90000u);
	const struct pf_frag *a = &f.frags[0], *c = &f.frags[2];
	assert_int_equal(a->id, 1);
	assert_int_equal(a->pc, 0x100000);
	assert_int_equal(a->cs_base, 0x1000);
	assert_int_equal(a->execs, 1000);
	assert_int_equal(a->insns, 4);
	assert_int_equal(a->generation, 1);
	assert_int_equal(c->generation, 2);
	assert_int_equal(f.frags[1].generation, 1);
	assert_string_equal(pf_state_name(f.frags[1].state), "invalidated");
	assert_string_equal(pf_state_name(c->state), "flushed");
	assert_int_equal(a->mix[0], 2);
	assert_int_equal(a->mix[1], 1);
	assert_int_equal(a->mix[2], 1);
	assert_int_equal(a->chains_in, 2);
	assert_int_equal(a->cycles, 1004);
	assert_memory_equal(a->tcb, prof_tc(&arena, &recs[1]), a->tc_len);
	assert_memory_equal(a->guest, prof_guest(&arena, &recs[1]), a->glen);
	assert_int_equal(a->map[3].tcoff, 27 + 9);
	assert_int_equal(a->map[2].cls, 2);
	assert_int_equal(f.other.nfrag, 2);
	assert_int_equal(f.other.execs, 7);
	int found = 0;
	for (unsigned i = 0; i < f.nstats; i++)
		found += !strcmp(f.stat_key[i], "tc_bytes") && !strcmp(f.stat_name[i], "bt.tc.bytes");
	assert_int_equal(found, 1);
	pf_free(&f);
}

static void test_bound(void **state)
{
	(void)state;
	add(0x100000, 2, 10, PROF_LIVE);   /* heat 20 */
	add(0x100010, 1, 5, PROF_LIVE);    /* heat 5: the coldest */
	add(0x100020, 3, 100, PROF_LIVE);  /* heat 300 */
	char err[256];
	assert_int_equal(profile_write(path, &arena, 2, err, sizeof err), 0);
	struct pf_file f;
	assert_int_equal(pf_load("t", path, &f, err, sizeof err), 0);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.frags[0].pc, 0x100000);   /* listed in creation order */
	assert_int_equal(f.frags[1].pc, 0x100020);
	assert_int_equal(f.other.nfrag, 3);          /* the arena's 2 and the coldest */
	assert_int_equal(f.other.execs, 12);
	assert_int_equal(f.other.insns, 6);
	pf_free(&f);
}

static void write_file(const char *text, size_t n)
{
	FILE *o = fopen(path, "w");
	assert_non_null(o);
	fwrite(text, 1, n, o);
	fclose(o);
}

static void test_bad_input(void **state)
{
	(void)state;
	add(0x100000, 4, 1000, PROF_LIVE);
	char err[256];
	assert_int_equal(profile_write(path, &arena, 100, err, sizeof err), 0);
	FILE *in = fopen(path, "r");
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof buf, in);
	fclose(in);
	struct pf_file f;
	write_file(buf, n / 2);                      /* truncated */
	assert_int_equal(pf_load("t", path, &f, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "offset"));
	assert_null(strchr(err, '\n'));
	char *fmt = strstr(buf, PROF_FORMAT);        /* another format */
	fmt[strlen(PROF_FORMAT) - 1] = '9';
	write_file(buf, n);
	assert_int_equal(pf_load("t", path, &f, err, sizeof err), -1);
	assert_non_null(strstr(err, "\"format\""));
	fmt[strlen(PROF_FORMAT) - 1] = '1';
	char *map = strstr(buf, "[3, 36,");          /* an offset past the translation */
	assert_non_null(map);
	memcpy(map, "[3, 99,", 7);
	write_file(buf, n);
	assert_int_equal(pf_load("t", path, &f, err, sizeof err), -1);
	assert_non_null(strstr(err, "fragment 0: \"map\" entry 3"));
	write_file("[]", 2);
	assert_int_equal(pf_load("t", path, &f, err, sizeof err), -1);
	unlink(path);
	assert_int_equal(pf_load("t", path, &f, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
