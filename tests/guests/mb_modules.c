/* Multiboot modules as -initrd "FILE ARGS,..." hands them over: prints the
 * module count and each module's string, size and checksum (what vmx and
 * QEMU must agree on), and checks what only the contract fixes: page-aligned
 * starts, and no module, string or info structure overlapping the kernel,
 * another module or each other. Addresses are never printed: loaders differ. */
#include "boot.h"
#include "exit.h"
#include "serial.h"

GUEST_NAME("mb_modules");

#define MBI_F_MODS   (1u << 3)
#define MBI_F_MMAP   (1u << 6)
#define MAX_MODS     8
#define STR_MAX      256
#define PAGE         0x1000u

/* The multiboot 0.6.96 layout through the memory map fields. */
struct mbi_full {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
};
struct mb_module { uint32_t start, end, string, reserved; };

struct range { uint32_t lo, hi; const char *what; unsigned idx; };

extern char __image_start[], __image_end[];

static uint32_t strsize(uint32_t p)
{
	const char *s = (const char *)p;
	uint32_t n = 0;
	while (n < STR_MAX && s[n])
		n++;
	if (n == STR_MAX)
		fail("a string at the info's pointer is not terminated within %u bytes", STR_MAX);
	return n + 1;
}

/* FNV-1a: any byte moved or changed shows. */
static uint32_t checksum(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void print_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7F && c != '\\')
			serial_putc((char)c);
		else
			kprintf("\\x%02x", c);
	}
}

void guest_main(void)
{
	const struct mbi_full *mi = (const struct mbi_full *)boot_info;
	struct range r[4 + 2 * MAX_MODS];
	unsigned nr = 0;

	check_eq("multiboot magic in EAX", MULTIBOOT_BOOTLOADER_MAGIC, boot_magic);
	if (!(mi->flags & MBI_F_MODS))
		fail("multiboot info flags 0x%08x lack the mods bit (3)", mi->flags);
	kprintf("mods_count %u\n", mi->mods_count);
	if (mi->mods_count == 0 || mi->mods_count > MAX_MODS)
		fail("mods_count %u is not 1..%u", mi->mods_count, MAX_MODS);

	const struct mb_module *m = (const struct mb_module *)mi->mods_addr;
	r[nr++] = (struct range){ (uint32_t)__image_start, (uint32_t)__image_end, "kernel", 0 };
	r[nr++] = (struct range){ (uint32_t)mi, (uint32_t)mi + sizeof *mi, "info", 0 };
	r[nr++] = (struct range){ mi->mods_addr, mi->mods_addr + mi->mods_count * sizeof *m,
				  "module list", 0 };
	if (mi->flags & MBI_F_MMAP)
		r[nr++] = (struct range){ mi->mmap_addr, mi->mmap_addr + mi->mmap_length, "memory map", 0 };
	for (unsigned i = 0; i < mi->mods_count; i++) {
		uint32_t size = m[i].end - m[i].start;
		if (m[i].end < m[i].start)
			fail("module %u ends (0x%x) below its start (0x%x)", i, m[i].end, m[i].start);
		if (m[i].start & (PAGE - 1))
			fail("module %u starts at 0x%x, not page aligned (header flag bit 0)", i, m[i].start);
		kprintf("module %u: string \"", i);
		print_escaped((const char *)m[i].string);
		kprintf("\" size %u checksum 0x%08x\n", size, checksum((const uint8_t *)m[i].start, size));
		r[nr++] = (struct range){ m[i].start, m[i].end, "module", i };
		r[nr++] = (struct range){ m[i].string, m[i].string + strsize(m[i].string), "module string", i };
	}
	for (unsigned a = 0; a < nr; a++) {
		if (r[a].lo < PAGE)
			fail("%s %u at 0x%x is in page 0", r[a].what, r[a].idx, r[a].lo);
		for (unsigned b = a + 1; b < nr; b++)
			if (r[a].lo < r[b].hi && r[b].lo < r[a].hi)
				fail("%s %u 0x%x-0x%x overlaps %s %u 0x%x-0x%x", r[a].what, r[a].idx,
				     r[a].lo, r[a].hi, r[b].what, r[b].idx, r[b].lo, r[b].hi);
	}
}
