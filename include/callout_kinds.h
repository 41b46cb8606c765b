/* Callout kinds: the tag in the 8-byte record that follows every far call
 * from translated code into the monitor. Shared by the translator (which
 * emits the records), the gate assembly and the monitor's handlers; the
 * kinds and their names are the rows of callout_kinds.def. */
#ifndef CALLOUT_KINDS_H
#define CALLOUT_KINDS_H

#ifdef __ASSEMBLER__
#define CO_KIND(name, value, str) .set CO_##name, value;
#include "callout_kinds.def"
#undef CO_KIND
#else
enum co_kind {
#define CO_KIND(name, value, str) CO_##name = value,
#include "callout_kinds.def"
#undef CO_KIND
};
/* One past the largest kind, the size of tables indexed by kind: a union
 * is as large as its largest member. */
union co_kinds_bound_ {
#define CO_KIND(name, value, str) char co_##name[(value) + 1];
#include "callout_kinds.def"
#undef CO_KIND
};
#define CO_NKINDS ((unsigned)sizeof(union co_kinds_bound_))
/* The row's name of a kind ("exit", ...); NULL for a value no row has. */
static inline const char *co_kind_name(unsigned kind)
{
	static const char *const names[CO_NKINDS] = {
#define CO_KIND(name, value, str) [value] = str,
#include "callout_kinds.def"
#undef CO_KIND
	};
	return kind < CO_NKINDS ? names[kind] : (const char *)0;
}
#endif

/* In CO_EMULATE's aux: the TU ends after this callout (no continuation). */
#define CO_END         0x8000

/* Record layout after the 7-byte far call: u16 kind, u16 aux, u32 arg. */
#define CO_REC_SIZE    8
/* Length of the callout sequence: mov %esp,%gs:MA_ESP (7) + lss (8) + lcall (7). */
#define CO_SEQ_LEN     22

#endif
