/* What the two boot loaders (multiboot, Linux bzImage) share: the shape of
 * their one-line errors ("vmx: FILE: what is wrong") and the little-endian
 * fields of the structures they read from files and build in guest RAM.
 * Environment: host side, libc. */
#ifndef LOADER_COMMON_H
#define LOADER_COMMON_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes "vmx: PATH: message" into err (when given), control characters
 * shown as '?'; returns -1. */
static inline int loader_verror(char *err, size_t errlen, const char *path, const char *fmt, va_list ap)
{
	char msg[384];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (err && errlen) {
		snprintf(err, errlen, "vmx: %s: %s", path, msg);
		/* The path and module strings are the user's: a control
		 * character in one must not break the message's one line. */
		for (char *c = err; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	}
	return -1;
}

static inline uint16_t le_get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t le_get32(const uint8_t *p) { return (uint32_t)le_get16(p) | (uint32_t)le_get16(p + 2) << 16; }
static inline void le_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void le_put32(uint8_t *p, uint32_t v) { le_put16(p, (uint16_t)v); le_put16(p + 2, (uint16_t)(v >> 16)); }
static inline void le_put64(uint8_t *p, uint64_t v) { le_put32(p, (uint32_t)v); le_put32(p + 4, (uint32_t)(v >> 32)); }

#endif
