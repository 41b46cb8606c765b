/* The side-by-side view of one fragment (guest instructions with their
 * class, next to the TC instructions and callout records they became),
 * shared by vmx-report and vmx's live monitor. Environment: host code
 * (libc, Zydis). */
#include "fragment_text.h"
#include "callout_kinds.h"
#include <Zydis/Zydis.h>
#include <inttypes.h>
#include <string.h>

#define COL 58                       /* width of the guest column */

static uint64_t heat(const struct pf_frag *f) { return f->execs * f->insns; }


static ZydisDecoder dec;
static ZydisFormatter fmt;

void pf_disasm_init(void)
{
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_ATT);
}

/* One instruction at `addr` from b[0..len): its text and length (0: none). */
unsigned pf_disasm(const uint8_t *b, size_t len, uint32_t addr, char *out, size_t outlen)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	if (!len || !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, b, len, &in, ops)) ||
	    !ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&fmt, &in, ops, in.operand_count_visible, out, outlen,
							  addr, ZYAN_NULL))) {
		snprintf(out, outlen, "(.byte 0x%02x)", len ? b[0] : 0);
		return 1;
	}
	return in.length;
}

/* TC lines for bytes [from, to) of the translation: a far call into the
 * monitor is followed by its record, which is data. */
struct tcline { uint32_t addr; char text[96]; };

static size_t tc_lines(const struct pf_frag *f, uint32_t from, uint32_t to, struct tcline *v, size_t max)
{
	size_t n = 0;
	for (uint32_t at = from; at < to && n < max; n++) {
		v[n].addr = f->tc + at;
		if (at >= 7 && f->tcb[at - 7] == 0x9a && at + CO_REC_SIZE <= to && n > 0 &&
		    v[n - 1].addr == f->tc + at - 7) {
			const uint8_t *r = &f->tcb[at];
			unsigned kind = r[0] | r[1] << 8;
			const char *name = co_kind_name(kind);   /* the monitor's own rows */
			char num[16];
			snprintf(num, sizeof num, "kind %u", kind);
			snprintf(v[n].text, sizeof v[n].text, "(callout record: %s aux 0x%04x arg 0x%08x)",
				 name ? name : num, r[2] | r[3] << 8,
				 (unsigned)(r[4] | r[5] << 8 | r[6] << 16 | (uint32_t)r[7] << 24));
			at += CO_REC_SIZE;
			continue;
		}
		at += pf_disasm(&f->tcb[at], to - at, f->tc + at, v[n].text, sizeof v[n].text);
	}
	return n;
}

static void side_by_side(FILE *o, const char *left, const struct tcline *v, size_t n)
{
	for (size_t i = 0; i < (n ? n : 1); i++) {
		fprintf(o, "  %-*s", COL, i ? "" : left);
		if (n)
			fprintf(o, " | %08" PRIx32 "  %s", v[i].addr, v[i].text);
		fputc('\n', o);
	}
}

void pf_show_fragment(FILE *o, uint32_t prologue, const struct pf_frag *f, unsigned rank, uint64_t total_heat)
{
	fprintf(o, "#%u  pc %08" PRIx32 " cpl %u cs_base %08" PRIx32 "  %u insns x %" PRIu64 " execs = %" PRIu64
	       " (%.1f%%)  %s, generation %u\n", rank, f->pc, f->cpl, f->cs_base, f->insns, f->execs, heat(f),
	       total_heat ? 100.0 * (double)heat(f) / (double)total_heat : 0.0, pf_state_name(f->state), f->generation);
	fprintf(o, "    guest %u B -> tc %08" PRIx32 " %u B; ident %u inline %u callout %u; chains in %u out %u; "
	       "translated in %" PRIu64 " cycles\n",
	       f->glen, f->tc, f->tc_len, f->mix[0], f->mix[1], f->mix[2], f->chains_in, f->chains_out, f->cycles);
	static struct tcline v[4096];
	char left[160], text[96];
	size_t n = tc_lines(f, 0, f->insns ? f->map[0].tcoff : f->tc_len, v, 4096);
	if (n)
		side_by_side(o, prologue && f->map[0].tcoff == prologue ? "         (execution counter)" : "",
			     v, n);
	for (uint32_t i = 0; i < f->insns; i++) {
		uint32_t g0 = f->map[i].goff, g1 = i + 1 < f->insns ? f->map[i + 1].goff : f->glen;
		uint32_t t0 = f->map[i].tcoff, t1 = i + 1 < f->insns ? f->map[i + 1].tcoff : f->tc_len;
		pf_disasm(&f->guest[g0], g1 - g0, f->pc + g0, text, sizeof text);
		snprintf(left, sizeof left, "%-7s %08" PRIx32 "  %s", pf_class_name(f->map[i].cls), f->pc + g0, text);
		/* The last instruction's rows also show the exit stubs after it. */
		n = tc_lines(f, t0, t1, v, 4096);
		side_by_side(o, left, v, n);
	}
	fputc('\n', o);
}
