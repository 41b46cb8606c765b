/* Unit tests for vmx_userspace/loader_multiboot.c. Kernel images (ELF32,
 * ELF64, raw a.out-kludge binaries) and module files are written byte by
 * byte at test time into a temporary directory: no committed binaries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmx.h"

#define RAM_SIZE (4u << 20)
#define MB_MAGIC 0x1BADB002u
#define FILL 0xAA

static char tmpdir[64];
static char kpath[128];
static uint8_t *ram;
static char err[512];
static struct boot_state bs;

/* ---- image building ---- */
static uint8_t img[0x4000];
static size_t img_len;

static void w16(size_t off, uint16_t v) { img[off] = (uint8_t)v; img[off + 1] = (uint8_t)(v >> 8); }
static void w32(size_t off, uint32_t v) { w16(off, (uint16_t)v); w16(off + 2, (uint16_t)(v >> 16)); }
static void w64(size_t off, uint64_t v) { w32(off, (uint32_t)v); w32(off + 4, (uint32_t)(v >> 32)); }
static void grow(size_t end) { if (end > img_len) img_len = end; }

static uint32_t r32(uint32_t addr)
{
	assert_true(addr + 4 <= RAM_SIZE);
	return (uint32_t)ram[addr] | (uint32_t)ram[addr + 1] << 8 |
	       (uint32_t)ram[addr + 2] << 16 | (uint32_t)ram[addr + 3] << 24;
}
static uint64_t r64(uint32_t addr) { return r32(addr) | (uint64_t)r32(addr + 4) << 32; }

static void mb_header(size_t off, uint32_t flags)
{
	w32(off, MB_MAGIC);
	w32(off + 4, flags);
	w32(off + 8, (uint32_t)-(MB_MAGIC + flags));
	grow(off + 12);
}

static void mb_aout(size_t off, uint32_t flags, uint32_t header_addr, uint32_t load_addr,
		    uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
	mb_header(off, flags);
	w32(off + 12, header_addr);
	w32(off + 16, load_addr);
	w32(off + 20, load_end);
	w32(off + 24, bss_end);
	w32(off + 28, entry);
	grow(off + 32);
}

/* ELF32 header with `phnum` program headers right after it. */
static void elf32(uint16_t type, uint16_t machine, uint32_t entry, uint16_t phnum)
{
	memset(img, 0, sizeof img);
	img_len = 0;
	memcpy(img, ELFMAG, SELFMAG);
	img[EI_CLASS] = ELFCLASS32;
	img[EI_DATA] = ELFDATA2LSB;
	img[EI_VERSION] = EV_CURRENT;
	w16(16, type);
	w16(18, machine);
	w32(20, EV_CURRENT);
	w32(24, entry);
	w32(28, phnum ? sizeof(Elf32_Ehdr) : 0);   /* e_phoff */
	w16(40, sizeof(Elf32_Ehdr));
	w16(42, sizeof(Elf32_Phdr));
	w16(44, phnum);
	w16(46, sizeof(Elf32_Shdr));
	grow(sizeof(Elf32_Ehdr) + phnum * sizeof(Elf32_Phdr));
}

static void phdr32(unsigned i, uint32_t type, uint32_t off, uint32_t vaddr, uint32_t paddr,
		   uint32_t filesz, uint32_t memsz)
{
	size_t p = sizeof(Elf32_Ehdr) + i * sizeof(Elf32_Phdr);
	w32(p, type);
	w32(p + 4, off);
	w32(p + 8, vaddr);
	w32(p + 12, paddr);
	w32(p + 16, filesz);
	w32(p + 20, memsz);
	w32(p + 24, PF_R | PF_X);
	w32(p + 28, 0x1000);
	if (type == PT_LOAD && off + filesz <= sizeof img)
		grow(off + filesz);
}

/* Recognisable segment content: byte i of segment `seed` is seed*37+i. */
static void fill_pattern(size_t off, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		img[off + i] = (uint8_t)(seed * 37 + i);
	grow(off + n);
}

/* The usual shape: one PT_LOAD from file offset 0x100 to `paddr`, with the
 * multiboot header at the start of the segment. */
static void simple_kernel(uint32_t paddr, uint32_t filesz, uint32_t memsz, uint32_t mbflags)
{
	elf32(ET_EXEC, EM_386, paddr + 12, 1);
	phdr32(0, PT_LOAD, 0x100, paddr, paddr, filesz, memsz);
	fill_pattern(0x100, filesz, 1);
	mb_header(0x100, mbflags);
}

static void write_image(void)
{
	FILE *f = fopen(kpath, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, img_len, f), img_len);
	assert_int_equal(fclose(f), 0);
}

static int load_mods(const char *cmdline, const char *modules)
{
	memset(ram, FILL, RAM_SIZE);
	memset(&bs, 0, sizeof bs);
	memset(err, 0, sizeof err);
	return multiboot_load(kpath, ram, RAM_SIZE, cmdline, modules, &bs, err, sizeof err);
}

static int load(const char *cmdline)
{
	return load_mods(cmdline, NULL);
}

static int build_and_load(void)
{
	write_image();
	return load("");
}

/* Each error: -1, one line with the vmx prefix, mentioning every string. */
static void expect_fail(int rc, ...)
{
	va_list ap;
	const char *s;
	assert_int_equal(rc, -1);
	assert_int_equal(strncmp(err, "vmx: ", 5), 0);
	assert_null(strchr(err, '\n'));
	va_start(ap, rc);
	while ((s = va_arg(ap, const char *)))
		if (!strstr(err, s))
			fail_msg("error '%s' lacks '%s'", err, s);
	va_end(ap);
}
#define EXPECT_FAIL(rc, ...) expect_fail(rc, __VA_ARGS__, (const char *)NULL)

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vmx_test_loader.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(kpath, sizeof kpath, "%s/kernel.elf", tmpdir);
	ram = malloc(RAM_SIZE);
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	unlink(kpath);
	rmdir(tmpdir);
	free(ram);
	return 0;
}

/* ---- successful loads ---- */

static void test_segment_and_bss(void **state)
{
	(void)state;
	simple_kernel(0x100000, 0x80, 0x1000, 3);
	assert_int_equal(build_and_load(), 0);
	assert_memory_equal(ram + 0x100000, img + 0x100, 0x80);
	for (uint32_t a = 0x100080; a < 0x101000; a++)
		if (ram[a] != 0)
			fail_msg("bss byte at 0x%x is 0x%02x", a, ram[a]);
	/* Nothing around the segment is touched. */
	assert_int_equal(ram[0xFFFFF], FILL);
	assert_int_equal(ram[0x101000], FILL);
	assert_int_equal(bs.entry, 0x10000c);
	assert_int_equal(bs.eax, 0x2BADB002);
	assert_int_equal(bs.load_lo, 0x100000);
	assert_int_equal(bs.load_hi, 0x101000);
}

static void test_info_structure(void **state)
{
	uint32_t mi, mmap, mlen;
	/* The map QEMU's PC gives a multiboot kernel (checked against
	 * qemu-system-i386 7.2): the top 128 KiB of RAM and the BIOS flash
	 * are reserved. */
	static const uint64_t want[6][3] = {
		{ 0, 0x9FC00, 1 },
		{ 0x9FC00, 0x400, 2 },
		{ 0xF0000, 0x10000, 2 },
		{ 0x100000, RAM_SIZE - 0x100000 - 0x20000, 1 },
		{ RAM_SIZE - 0x20000, 0x20000, 2 },
		{ 0xFFFC0000u, 0x40000, 2 },
	};
	unsigned n = 0;
	(void)state;
	simple_kernel(0x100000, 0x40, 0x40, 0);
	write_image();
	assert_int_equal(load("/boot/kernel.elf console=ttyS0 x=\"y\""), 0);
	mi = bs.ebx;
	assert_true(mi >= 0x1000 && mi < 0x100000);
	assert_int_equal(r32(mi + 0), (1u << 0) | (1u << 2) | (1u << 6) | (1u << 9));
	assert_int_equal(r32(mi + 4), 639);
	assert_int_equal(r32(mi + 8), (RAM_SIZE - 0x100000 - 0x20000) / 1024);
	assert_int_equal(r32(mi + 12), 0);   /* boot_device: flag 1 clear */
	assert_string_equal((char *)ram + r32(mi + 16), "/boot/kernel.elf console=ttyS0 x=\"y\"");
	assert_int_equal(r32(mi + 20), 0);   /* mods_count */
	assert_int_equal(r32(mi + 24), 0);
	for (uint32_t o = 28; o < 44; o += 4)
		assert_int_equal(r32(mi + o), 0);   /* syms */
	assert_string_equal((char *)ram + r32(mi + 64), "vmx");
	for (uint32_t o = 68; o < 88; o += 4)
		assert_int_equal(r32(mi + o), 0);   /* apm, vbe */

	mlen = r32(mi + 44);
	mmap = r32(mi + 48);
	assert_int_equal(mlen, 6 * 24);
	for (uint32_t p = mmap; p < mmap + mlen; p += r32(p) + 4, n++) {
		assert_true(n < 6);
		assert_int_equal(r32(p), 20);
		assert_int_equal(r64(p + 4), want[n][0]);
		assert_int_equal(r64(p + 12), want[n][1]);
		assert_int_equal(r32(p + 20), want[n][2]);
	}
	assert_int_equal(n, 6);
	/* The info area must not sit in page 0 or inside the kernel. */
	assert_true(mmap >= 0x1000 && mmap + mlen <= 0x100000);
	assert_true(r32(mi + 16) >= 0x1000 && r32(mi + 64) >= 0x1000);
}

static void test_empty_and_null_cmdline(void **state)
{
	(void)state;
	simple_kernel(0x100000, 0x40, 0x40, 0);
	write_image();
	assert_int_equal(load(""), 0);
	assert_string_equal((char *)ram + r32(bs.ebx + 16), "");
	assert_int_equal(load(NULL), 0);
	assert_string_equal((char *)ram + r32(bs.ebx + 16), "");
}

static void test_cmdline_too_long(void **state)
{
	size_t n = 40000;
	char *long_line = malloc(n + 1);
	(void)state;
	assert_non_null(long_line);
	memset(long_line, 'a', n);
	long_line[n] = '\0';
	simple_kernel(0x100000, 0x40, 0x40, 0);
	write_image();
	EXPECT_FAIL(load(long_line), "command line is too long", "40000 bytes");
	free(long_line);
}

static void test_multiboot_cmdline_helper(void **state)
{
	char buf[64];
	(void)state;
	/* QEMU's convention: "<kernel> <append>", trailing space included. */
	assert_int_equal(multiboot_cmdline(buf, sizeof buf, "./k.elf", ""), 8);
	assert_string_equal(buf, "./k.elf ");
	assert_int_equal(multiboot_cmdline(buf, sizeof buf, "/a/k", "x=1 y"), 10);
	assert_string_equal(buf, "/a/k x=1 y");
	assert_int_equal(multiboot_cmdline(NULL, 0, "k", "abc"), 5);
	assert_int_equal(multiboot_cmdline(buf, 3, "kernel", "abc"), 10);
	assert_string_equal(buf, "ke");
}

static void test_two_segments(void **state)
{
	(void)state;
	elf32(ET_EXEC, EM_386, 0x100010, 3);
	phdr32(0, PT_LOAD, 0x200, 0x100000, 0x100000, 0x100, 0x100);
	phdr32(1, PT_NOTE, 0x300, 0, 0, 0x10, 0x10);
	phdr32(2, PT_LOAD, 0x400, 0x180000, 0x180000, 0x20, 0x800);
	fill_pattern(0x200, 0x100, 2);
	fill_pattern(0x300, 0x10, 3);
	fill_pattern(0x400, 0x20, 4);
	mb_header(0x200, 0);
	assert_int_equal(build_and_load(), 0);
	assert_memory_equal(ram + 0x100000, img + 0x200, 0x100);
	assert_memory_equal(ram + 0x180000, img + 0x400, 0x20);
	assert_int_equal(ram[0x180020], 0);
	assert_int_equal(ram[0x1807FF], 0);
	assert_int_equal(ram[0x180800], FILL);
	assert_int_equal(ram[0x100100], FILL);
	assert_int_equal(bs.load_lo, 0x100000);
	assert_int_equal(bs.load_hi, 0x180800);
	assert_int_equal(bs.entry, 0x100010);
}

static void test_paddr_zero_falls_back_to_vaddr(void **state)
{
	(void)state;
	elf32(ET_EXEC, EM_386, 0x200000, 1);
	phdr32(0, PT_LOAD, 0x100, 0x200000, 0, 0x40, 0x40);
	fill_pattern(0x100, 0x40, 5);
	mb_header(0x100, 0);
	assert_int_equal(build_and_load(), 0);
	assert_memory_equal(ram + 0x200000, img + 0x100, 0x40);
	assert_int_equal(ram[0], FILL);
}

static void test_higher_half_entry(void **state)
{
	(void)state;
	/* Linked at 3 GiB, loaded at 1 MiB: entry must be translated like
	 * GRUB and QEMU do, since paging is off at entry. */
	elf32(ET_EXEC, EM_386, 0xC0100010, 1);
	phdr32(0, PT_LOAD, 0x100, 0xC0100000, 0x100000, 0x40, 0x40);
	fill_pattern(0x100, 0x40, 6);
	mb_header(0x100, 0);
	assert_int_equal(build_and_load(), 0);
	assert_memory_equal(ram + 0x100000, img + 0x100, 0x40);
	assert_int_equal(bs.entry, 0x100010);
}

static void test_header_search_window(void **state)
{
	(void)state;
	/* Last 4-byte aligned spot that fits in the first 8192 bytes. */
	elf32(ET_EXEC, EM_386, 0x100000, 1);
	phdr32(0, PT_LOAD, 0x100, 0x100000, 0x100000, 0x40, 0x40);
	fill_pattern(0x100, 0x40, 7);
	mb_header(8192 - 12, 0);
	assert_int_equal(build_and_load(), 0);

	elf32(ET_EXEC, EM_386, 0x100000, 1);
	phdr32(0, PT_LOAD, 0x100, 0x100000, 0x100000, 0x40, 0x40);
	mb_header(8192 - 8, 0);   /* straddles the limit */
	EXPECT_FAIL(build_and_load(), "no multiboot header", "8192");

	elf32(ET_EXEC, EM_386, 0x100000, 1);
	phdr32(0, PT_LOAD, 0x100, 0x100000, 0x100000, 0x40, 0x40);
	mb_header(0x102, 0);      /* not 4-byte aligned */
	EXPECT_FAIL(build_and_load(), "no multiboot header");
}

static void test_bad_checksum_then_good_header(void **state)
{
	(void)state;
	simple_kernel(0x100000, 0x80, 0x80, 0);
	w32(0x100, MB_MAGIC);   /* a stray magic with a wrong checksum */
	w32(0x104, 0);
	w32(0x108, 0);
	mb_header(0x120, 0);
	assert_int_equal(build_and_load(), 0);
	assert_memory_equal(ram + 0x100000, img + 0x100, 0x80);
}

/* ---- a.out kludge ---- */

static void test_aout_kludge_raw_binary(void **state)
{
	(void)state;
	/* A flat binary: header at offset 0x40, load_addr 0x40 below it so the
	 * image loads from file offset 0. */
	memset(img, 0, sizeof img);
	img_len = 0;
	fill_pattern(0, 0x200, 8);
	mb_aout(0x40, (1u << 16) | 2, 0x200040, 0x200000, 0x200180, 0x201000, 0x200080);
	assert_int_equal(build_and_load(), 0);
	assert_memory_equal(ram + 0x200000, img, 0x180);
	for (uint32_t a = 0x200180; a < 0x201000; a++)
		if (ram[a] != 0)
			fail_msg("bss byte at 0x%x is 0x%02x", a, ram[a]);
	assert_int_equal(ram[0x201000], FILL);
	assert_int_equal(bs.entry, 0x200080);
	assert_int_equal(bs.load_lo, 0x200000);
	assert_int_equal(bs.load_hi, 0x201000);
	assert_int_equal(bs.eax, 0x2BADB002);
	assert_int_equal(r32(bs.ebx), (1u << 0) | (1u << 2) | (1u << 6) | (1u << 9));
}

static void test_aout_kludge_whole_file_no_bss(void **state)
{
	(void)state;
	memset(img, 0, sizeof img);
	img_len = 0;
	fill_pattern(0, 0x300, 9);
	mb_aout(0x20, 1u << 16, 0x100020, 0x100000, 0, 0, 0x100000);
	assert_int_equal(build_and_load(), 0);
	assert_memory_equal(ram + 0x100000, img, 0x300);
	assert_int_equal(ram[0x100300], FILL);
	assert_int_equal(bs.load_hi, 0x100300);
}

static void test_aout_kludge_overrides_elf(void **state)
{
	(void)state;
	/* Even an ELF64 boots through the kludge, as with GRUB and QEMU. */
	memset(img, 0, sizeof img);
	img_len = 0;
	memcpy(img, ELFMAG, SELFMAG);
	img[EI_CLASS] = ELFCLASS64;
	img[EI_DATA] = ELFDATA2LSB;
	w16(18, EM_X86_64);
	fill_pattern(0x100, 0x100, 10);
	mb_aout(0x100, 1u << 16, 0x100100, 0x100000, 0x100200, 0x100400, 0x100110);
	assert_int_equal(build_and_load(), 0);
	assert_memory_equal(ram + 0x100000, img, 0x200);
	assert_int_equal(ram[0x1003FF], 0);
	assert_int_equal(bs.entry, 0x100110);
}

/* A 256-byte flat image whose only multiboot header is at `off`. */
static void aout_image(size_t off, uint32_t header_addr, uint32_t load_addr,
		       uint32_t load_end, uint32_t bss_end)
{
	memset(img, 0, sizeof img);
	img_len = 0;
	fill_pattern(0, 0x100, 11);
	mb_aout(off, 1u << 16, header_addr, load_addr, load_end, bss_end, load_addr);
}

static void test_aout_kludge_errors(void **state)
{
	(void)state;
	aout_image(0, 0x100000, 0x100010, 0, 0);
	EXPECT_FAIL(build_and_load(), "load_addr 0x100010 is above header_addr 0x100000");

	aout_image(0, 0x100000, 0x100000, 0x100400, 0);
	EXPECT_FAIL(build_and_load(), "load_end_addr 0x100400", "file has 256 bytes");

	aout_image(0, 0x100000, 0x100000, 0x100000, 0);
	EXPECT_FAIL(build_and_load(), "load_end_addr 0x100000 is not above load_addr");

	aout_image(0, 0x100000, 0x100000, 0x100080, 0x100040);
	EXPECT_FAIL(build_and_load(), "bss_end_addr 0x100040 is below");

	aout_image(0x10, 0x100100, 0x100000, 0, 0);
	EXPECT_FAIL(build_and_load(), "larger than the header's file offset 0x10");

	aout_image(0, 0x3FFF00, 0x3FFF00, 0, 0x400100);
	EXPECT_FAIL(build_and_load(), "outside guest RAM", "0x3fff00-0x400100", "-m");

	/* Where the information used to be fixed: it moves instead. */
	aout_image(0, 0x9000, 0x9000, 0, 0);
	assert_int_equal(build_and_load(), 0);
	assert_true(bs.ebx >= 0x9100 || bs.ebx + 116 <= 0x9000);

	/* Kludge fields that do not fit in the file. */
	memset(img, 0, sizeof img);
	img_len = 0;
	mb_header(0, 1u << 16);
	EXPECT_FAIL(build_and_load(), "cut off");
}

/* ---- errors ---- */

static void test_missing_file(void **state)
{
	(void)state;
	unlink(kpath);
	EXPECT_FAIL(load(""), kpath, "No such file or directory");
}

/* A path with a newline in it stays one line in the message. */
static void test_control_characters_in_path(void **state)
{
	(void)state;
	assert_int_equal(multiboot_load("/nonexistent\ndir/k.elf", ram, RAM_SIZE, "", NULL, &bs, err, sizeof err), -1);
	EXPECT_FAIL(-1, "/nonexistent?dir/k.elf", "No such file");
	assert_int_equal(bzimage_load("/nonexistent\033[2J", NULL, ram, RAM_SIZE, "", &bs, err, sizeof err), -1);
	EXPECT_FAIL(-1, "/nonexistent?[2J");
}

static void test_directory(void **state)
{
	(void)state;
	assert_int_equal(multiboot_load(tmpdir, ram, RAM_SIZE, "", NULL, &bs, err, sizeof err), -1);
	EXPECT_FAIL(-1, tmpdir, "not a regular file");
}

static void test_not_elf(void **state)
{
	(void)state;
	memset(img, 0, sizeof img);
	strcpy((char *)img, "#!/bin/sh\necho this is not a kernel\n");
	img_len = strlen((char *)img);
	EXPECT_FAIL(build_and_load(), "not an ELF file");

	/* Empty file too. */
	img_len = 0;
	EXPECT_FAIL(build_and_load(), "not an ELF file");

	/* A multiboot header without the kludge is not enough. */
	memset(img, 0, sizeof img);
	img_len = 0;
	mb_header(0x20, 0);
	EXPECT_FAIL(build_and_load(), "not an ELF file", "a.out kludge");
}

static void test_elf64(void **state)
{
	(void)state;
	memset(img, 0, sizeof img);
	img_len = 0;
	memcpy(img, ELFMAG, SELFMAG);
	img[EI_CLASS] = ELFCLASS64;
	img[EI_DATA] = ELFDATA2LSB;
	img[EI_VERSION] = EV_CURRENT;
	w16(16, ET_EXEC);
	w16(18, EM_X86_64);
	w32(20, EV_CURRENT);
	w64(24, 0x100000);
	w16(52, sizeof(Elf64_Ehdr));
	grow(sizeof(Elf64_Ehdr));
	mb_header(0x100, 0);
	EXPECT_FAIL(build_and_load(), "64-bit ELF", "32-bit x86");
}

static void test_wrong_machine_and_type(void **state)
{
	(void)state;
	simple_kernel(0x100000, 0x40, 0x40, 0);
	w16(18, EM_ARM);
	EXPECT_FAIL(build_and_load(), "machine is 40", "EM_386");

	simple_kernel(0x100000, 0x40, 0x40, 0);
	w16(16, ET_DYN);
	EXPECT_FAIL(build_and_load(), "ET_EXEC");

	simple_kernel(0x100000, 0x40, 0x40, 0);
	img[EI_DATA] = ELFDATA2MSB;
	EXPECT_FAIL(build_and_load(), "not a 32-bit little-endian ELF");
}

static void test_no_header(void **state)
{
	(void)state;
	elf32(ET_EXEC, EM_386, 0x100000, 1);
	phdr32(0, PT_LOAD, 0x100, 0x100000, 0x100000, 0x40, 0x40);
	fill_pattern(0x100, 0x40, 12);
	EXPECT_FAIL(build_and_load(), "no multiboot header", "0x1badb002");
}

static void test_bad_checksum(void **state)
{
	(void)state;
	simple_kernel(0x100000, 0x40, 0x40, 0);
	w32(0x108, 0x12345678);
	EXPECT_FAIL(build_and_load(), "bad multiboot header checksum", "offset 0x100",
		    "0x12345678");
}

static void test_unsupported_flags(void **state)
{
	(void)state;
	simple_kernel(0x100000, 0x40, 0x40, 1u << 2);
	EXPECT_FAIL(build_and_load(), "video mode", "bit 2");
	simple_kernel(0x100000, 0x40, 0x40, (1u << 5) | 3);
	EXPECT_FAIL(build_and_load(), "unsupported required flag bit 5", "0x00000023");
	/* Optional bits other than 16 are ignored. */
	simple_kernel(0x100000, 0x40, 0x40, 1u << 20);
	assert_int_equal(build_and_load(), 0);
}

static void test_segment_outside_ram(void **state)
{
	(void)state;
	simple_kernel(0x3FF000, 0x40, 0x2000, 0);
	EXPECT_FAIL(build_and_load(), "ELF segment 0", "0x3ff000-0x401000",
		    "outside guest RAM", "4 MB", "try -m 5 or more");
	/* Ending exactly at the largest RAM: that -m fits. */
	simple_kernel(0xBFFFFF00, 0x40, 0x100, 0);
	EXPECT_FAIL(build_and_load(), "outside guest RAM", "try -m 3072 or more");
	/* No -m reaches a segment above the largest RAM: none is suggested. */
	simple_kernel(0xBFFFFF00, 0x40, 0x101, 0);
	EXPECT_FAIL(build_and_load(), "outside guest RAM", "above the most RAM vmx gives a guest",
		    "-m 3072, ending at 0xc0000000");
	assert_null(strstr(err, "try"));
	simple_kernel(0xC0000000, 0x40, 0x40, 0);
	EXPECT_FAIL(build_and_load(), "0xc0000000-0xc0000040", "outside guest RAM",
		    "above the most RAM");
	assert_null(strstr(err, "try"));
}

/* A cut-off copy of a good kernel is called truncated, not headerless. */
static void test_truncated(void **state)
{
	(void)state;
	simple_kernel(0x100000, 0x40, 0x40, 0);
	size_t full = img_len;
	/* Every cut: inside the ELF header, the program headers, before the
	 * segment (and its multiboot header), inside the segment. */
	static const size_t cuts[] = { 4, 51, 52, 60, 0x80, 0x100, 0x10c, 0x13f };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		img_len = cuts[i];
		EXPECT_FAIL(build_and_load(), "file is truncated");
		assert_null(strstr(err, "multiboot"));
	}
	img_len = 40;
	EXPECT_FAIL(build_and_load(), "(40 bytes): shorter than an ELF header (52 bytes)");
	img_len = 60;
	EXPECT_FAIL(build_and_load(), "program header table (1 entries at offset 0x34) ends at 0x54");
	img_len = 0x80;
	EXPECT_FAIL(build_and_load(), "(128 bytes): ELF segment 0 (offset 0x100, 0x40 bytes) extends past its end");
	img_len = full;
	assert_int_equal(build_and_load(), 0);
}

/* ---- where the multiboot information goes ---- */

struct area { uint32_t lo, hi; };

static size_t strsz(uint32_t p)
{
	assert_true(p < RAM_SIZE);
	size_t n = strnlen((char *)ram + p, RAM_SIZE - p);
	assert_true(p + n < RAM_SIZE);
	return n + 1;
}

/* Every piece of the information the kernel is pointed at: the structure,
 * memory map, command line, loader name, module list and module strings. */
static size_t info_areas(struct area *a)
{
	uint32_t mi = bs.ebx, flags = r32(mi);
	size_t n = 0;
	a[n++] = (struct area){ mi, mi + 116 };
	a[n++] = (struct area){ r32(mi + 48), r32(mi + 48) + r32(mi + 44) };
	a[n++] = (struct area){ r32(mi + 16), r32(mi + 16) + (uint32_t)strsz(r32(mi + 16)) };
	a[n++] = (struct area){ r32(mi + 64), r32(mi + 64) + (uint32_t)strsz(r32(mi + 64)) };
	if (flags & (1u << 3)) {
		uint32_t list = r32(mi + 24), count = r32(mi + 20);
		a[n++] = (struct area){ list, list + 16 * count };
		for (uint32_t i = 0; i < count; i++) {
			uint32_t str = r32(list + 16 * i + 8);
			a[n++] = (struct area){ str, str + (uint32_t)strsz(str) };
		}
	}
	return n;
}

/* The information lies in RAM a kernel may use, clear of page 0, the EBDA
 * (the monitor's boot GDT), the ROM and every range in `taken`. */
static void expect_info_clear_of(const struct area *taken, size_t ntaken)
{
	struct area a[64];
	size_t n = info_areas(a);
	for (size_t i = 0; i < n; i++) {
		if (a[i].lo < 0x1000 || (a[i].hi > 0x9FC00 && a[i].lo < 0x100000) ||
		    a[i].hi > RAM_SIZE - 0x20000)
			fail_msg("info piece %zu at 0x%x-0x%x is not in free RAM", i, a[i].lo, a[i].hi);
		for (size_t t = 0; t < ntaken; t++)
			if (a[i].lo < taken[t].hi && taken[t].lo < a[i].hi)
				fail_msg("info piece %zu at 0x%x-0x%x overlaps 0x%x-0x%x", i, a[i].lo,
					 a[i].hi, taken[t].lo, taken[t].hi);
	}
}

static void test_info_beside_kernel_at_0x8000(void **state)
{
	(void)state;
	/* Refused while the information had a fixed window at 0x9000. */
	simple_kernel(0x8000, 0x40, 0x2000, 0);
	assert_int_equal(build_and_load(), 0);
	assert_memory_equal(ram + 0x8000, img + 0x100, 0x40);
	assert_int_equal(ram[0x9FFF], 0);      /* bss */
	const struct area k = { 0x8000, 0xA000 };
	expect_info_clear_of(&k, 1);
	/* Still low: conventional memory is free below and above it. */
	assert_true(bs.ebx < 0x9FC00);

	/* The a.out kludge kernels too. */
	aout_image(0, 0x8000, 0x8000, 0, 0x9800);
	assert_int_equal(build_and_load(), 0);
	const struct area ka = { 0x8000, 0x9800 };
	expect_info_clear_of(&ka, 1);
}

static void test_info_when_low_memory_is_full(void **state)
{
	(void)state;
	/* 0x1000-0x9F000: only the last 3 KiB below the EBDA are free. */
	simple_kernel(0x1000, 0x40, 0x9E000, 0);
	assert_int_equal(build_and_load(), 0);
	const struct area k = { 0x1000, 0x9F000 };
	expect_info_clear_of(&k, 1);
	assert_true(bs.ebx >= 0x9F000 && bs.ebx < 0x9FC00);

	/* Up to the EBDA: above the kernel, past the BIOS hole. */
	simple_kernel(0x1000, 0x40, 0x9EC00, 0);
	assert_int_equal(build_and_load(), 0);
	const struct area k2 = { 0x1000, 0x9FC00 };
	expect_info_clear_of(&k2, 1);
	assert_true(bs.ebx >= 0x100000);

	/* Two segments leaving a hole too small for the information. */
	elf32(ET_EXEC, EM_386, 0x1000, 2);
	phdr32(0, PT_LOAD, 0x200, 0x1000, 0x1000, 0x40, 0x9000);
	phdr32(1, PT_LOAD, 0x300, 0xA040, 0xA040, 0x40, 0x95BC0);
	fill_pattern(0x200, 0x40, 13);
	fill_pattern(0x300, 0x40, 14);
	mb_header(0x200, 0);
	assert_int_equal(build_and_load(), 0);
	const struct area k3[2] = { { 0x1000, 0xA000 }, { 0xA040, 0x9FC00 } };
	expect_info_clear_of(k3, 2);
	assert_true(bs.ebx >= 0x100000);
}

static void test_info_with_kernel_at_1mib(void **state)
{
	(void)state;
	simple_kernel(0x100000, 0x40, 0x40, 0);
	write_image();
	assert_int_equal(load("k"), 0);
	/* Where it always was, and where QEMU keeps its own. */
	assert_int_equal(bs.ebx, 0x9000);
	const struct area k = { 0x100000, 0x100040 };
	expect_info_clear_of(&k, 1);
}

/* ---- modules ---- */

static char mpath[4][160];

/* Module i of n bytes, byte j being (i + 1) * 29 + j. */
static void write_module(unsigned i, const char *name, size_t n)
{
	snprintf(mpath[i], sizeof mpath[i], "%s/%s", tmpdir, name);
	FILE *f = fopen(mpath[i], "wb");
	assert_non_null(f);
	for (size_t j = 0; j < n; j++)
		fputc((int)(uint8_t)((i + 1) * 29 + j), f);
	assert_int_equal(fclose(f), 0);
}

static void remove_modules(void)
{
	for (unsigned i = 0; i < 4; i++)
		if (mpath[i][0]) {
			unlink(mpath[i]);
			mpath[i][0] = '\0';
		}
}

/* Module i of the loaded info: its bytes are the file's, it is page
 * aligned at or above `from`, and its string is `string`. */
static uint32_t expect_module(uint32_t i, unsigned file, size_t n, uint32_t from, const char *string)
{
	uint32_t e = r32(bs.ebx + 24) + 16 * i, start = r32(e), end = r32(e + 4);
	assert_int_equal(start % 0x1000, 0);
	assert_true(start >= from);
	assert_int_equal(end - start, n);
	assert_true(end <= RAM_SIZE - 0x20000);
	for (size_t j = 0; j < n; j++)
		if (ram[start + j] != (uint8_t)((file + 1) * 29 + j))
			fail_msg("module %u byte %zu is 0x%02x", i, j, ram[start + j]);
	assert_string_equal((char *)ram + r32(e + 8), string);
	assert_int_equal(r32(e + 12), 0);
	return end;
}

static void test_modules_loaded(void **state)
{
	char list[512], s0[256];
	(void)state;
	write_module(0, "one.bin", 100);
	write_module(1, "two.bin", 0x1801);
	write_module(2, "three.bin", 0);
	simple_kernel(0x100000, 0x40, 0x2345, 1);
	write_image();
	snprintf(list, sizeof list, "%s  root=/dev/x a,,b,%s,%s,", mpath[0], mpath[1], mpath[2]);
	assert_int_equal(load_mods("k", list), 0);
	uint32_t mi = bs.ebx;
	assert_int_equal(r32(mi), (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	assert_int_equal(r32(mi + 20), 3);
	/* The whole item, spaces kept and ",," a comma; the trailing comma
	 * adds nothing (as QEMU). */
	snprintf(s0, sizeof s0, "%s  root=/dev/x a,b", mpath[0]);
	uint32_t end = expect_module(0, 0, 100, 0x103000, s0);
	assert_int_equal(r32(r32(mi + 24)), 0x103000);
	end = expect_module(1, 1, 0x1801, end, mpath[1]);
	assert_int_equal(r32(r32(mi + 24) + 16), 0x104000);
	end = expect_module(2, 2, 0, end, mpath[2]);
	assert_int_equal(r32(r32(mi + 24) + 32), 0x106000);
	assert_int_equal(bs.load_hi, 0x102345);
	const struct area taken[4] = { { 0x100000, 0x102345 }, { 0x103000, 0x103064 },
				       { 0x104000, 0x105801 }, { 0x106000, 0x106000 } };
	expect_info_clear_of(taken, 4);
	remove_modules();
}

static void test_modules_with_low_kernel(void **state)
{
	char list[512];
	(void)state;
	write_module(0, "a.bin", 0x3000);
	write_module(1, "b.bin", 0x96000);
	simple_kernel(0x8000, 0x40, 0x2000, 1);
	write_image();
	snprintf(list, sizeof list, "%s x,%s", mpath[0], mpath[1]);
	assert_int_equal(load_mods("", list), 0);
	char s0[200];
	snprintf(s0, sizeof s0, "%s x", mpath[0]);
	assert_int_equal(expect_module(0, 0, 0x3000, 0xA000, s0), 0xD000);
	/* From 0xD000 it would run into the EBDA: at 1 MiB instead. */
	expect_module(1, 1, 0x96000, 0x100000, mpath[1]);
	const struct area taken[3] = { { 0x8000, 0xA000 }, { 0xA000, 0xD000 }, { 0x100000, 0x196000 } };
	expect_info_clear_of(taken, 3);
	remove_modules();
}

static void test_module_errors(void **state)
{
	char list[512];
	(void)state;
	simple_kernel(0x100000, 0x40, 0x40, 1);
	write_image();
	snprintf(list, sizeof list, "%s/missing.bin arg", tmpdir);
	EXPECT_FAIL(load_mods("", list), "missing.bin", "cannot open module", "No such file");
	/* 4 MiB of RAM, the top 128 KiB reserved: 3 MiB from 1 MiB + 4 KiB
	 * is too much. */
	write_module(0, "big.bin", 3u << 20);
	EXPECT_FAIL(load_mods("", mpath[0]), "big.bin", "module 1 (3145728 bytes) does not fit in guest RAM",
		    "0x401000", "try -m 5 or more");
	EXPECT_FAIL(load_mods("", " a.bin"), "-initrd", "no file name");
	snprintf(list, sizeof list, "%s", tmpdir);
	EXPECT_FAIL(load_mods("", list), "not a regular file");
	remove_modules();
}

static void test_no_load_segments(void **state)
{
	(void)state;
	elf32(ET_EXEC, EM_386, 0x100000, 1);
	phdr32(0, PT_NOTE, 0x100, 0, 0, 0x20, 0x20);
	grow(0x120);
	mb_header(0x100, 0);
	EXPECT_FAIL(build_and_load(), "no loadable (PT_LOAD) segments");

	elf32(ET_EXEC, EM_386, 0x100000, 0);
	mb_header(0x100, 0);
	EXPECT_FAIL(build_and_load(), "no loadable (PT_LOAD) segments");
}

static void test_bad_segments(void **state)
{
	(void)state;
	simple_kernel(0x100000, 0x80, 0x40, 0);
	EXPECT_FAIL(build_and_load(), "p_filesz 0x80 larger than p_memsz 0x40");

	elf32(ET_EXEC, EM_386, 0x100000, 1);
	phdr32(0, PT_LOAD, 0x100, 0x100000, 0x100000, 0x10000, 0x10000);
	mb_header(0x100, 0);
	grow(0x200);
	EXPECT_FAIL(build_and_load(), "file is truncated", "extends past its end");
}

static void test_ram_size_checked(void **state)
{
	(void)state;
	simple_kernel(0x100000, 0x40, 0x40, 0);
	write_image();
	EXPECT_FAIL(multiboot_load(kpath, ram, 0x100000, "", NULL, &bs, err, sizeof err),
		    "guest RAM size");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segment_and_bss),
		cmocka_unit_test(test_info_structure),
		cmocka_unit_test(test_empty_and_null_cmdline),
		cmocka_unit_test(test_cmdline_too_long),
		cmocka_unit_test(test_multiboot_cmdline_helper),
		cmocka_unit_test(test_two_segments),
		cmocka_unit_test(test_paddr_zero_falls_back_to_vaddr),
		cmocka_unit_test(test_higher_half_entry),
		cmocka_unit_test(test_header_search_window),
		cmocka_unit_test(test_bad_checksum_then_good_header),
		cmocka_unit_test(test_aout_kludge_raw_binary),
		cmocka_unit_test(test_aout_kludge_whole_file_no_bss),
		cmocka_unit_test(test_aout_kludge_overrides_elf),
		cmocka_unit_test(test_aout_kludge_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_control_characters_in_path),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_elf64),
		cmocka_unit_test(test_wrong_machine_and_type),
		cmocka_unit_test(test_no_header),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_unsupported_flags),
		cmocka_unit_test(test_segment_outside_ram),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_info_beside_kernel_at_0x8000),
		cmocka_unit_test(test_info_when_low_memory_is_full),
		cmocka_unit_test(test_info_with_kernel_at_1mib),
		cmocka_unit_test(test_modules_loaded),
		cmocka_unit_test(test_modules_with_low_kernel),
		cmocka_unit_test(test_module_errors),
		cmocka_unit_test(test_no_load_segments),
		cmocka_unit_test(test_bad_segments),
		cmocka_unit_test(test_ram_size_checked),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
