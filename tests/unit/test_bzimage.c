/* Unit tests for vmx_userspace/loader_bzimage.c: synthetic bzImages (a setup
 * area with a boot-protocol header, then a fake protected-mode kernel) and
 * initrds are written byte by byte into a temporary directory at test time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmx.h"

#define MIB        0x100000u
#define RAM_MAX    (64u * MIB)
#define RAM_SIZE   (16u * MIB)
#define FILL       0xAA
#define BP         0x10000u    /* where the loader puts boot_params */
#define CMDLINE    0x20000u
#define PM         0x100000u
#define TOP_RSVD   0x20000u    /* QEMU's ACPI area at the top of RAM */

static char tmpdir[64], kpath[128], ipath[128];
static uint8_t *ram;
static char err[512];
static struct boot_state bs;

/* ---- image building ---- */
static uint8_t img[256 * 1024];
static size_t img_len, pm_off, pm_len;

static void w8(size_t off, uint8_t v) { img[off] = v; }
static void w16(size_t off, uint16_t v) { img[off] = (uint8_t)v; img[off + 1] = (uint8_t)(v >> 8); }
static void w32(size_t off, uint32_t v) { w16(off, (uint16_t)v); w16(off + 2, (uint16_t)(v >> 16)); }

static uint32_t r32(uint32_t addr)
{
	assert_true(addr + 4 <= RAM_MAX);
	return (uint32_t)ram[addr] | (uint32_t)ram[addr + 1] << 8 |
	       (uint32_t)ram[addr + 2] << 16 | (uint32_t)ram[addr + 3] << 24;
}

/* A protocol 2.15 relocatable kernel as Debian builds them, scaled down:
 * `sects` setup sectors (setup code filled with a pattern the header copy
 * must not pick up), `pm` bytes of protected-mode kernel, decompressing at
 * 1 MiB (pref_address) into init_size = 3 MiB. */
static void image(uint8_t sects, size_t pm)
{
	memset(img, 0, sizeof img);
	pm_off = (size_t)((sects ? sects : 4) + 1) * 512;
	pm_len = pm;
	img_len = pm_off + pm;
	assert_true(img_len <= sizeof img);
	for (size_t i = 0x400; i < pm_off; i++)
		img[i] = 0x5A;
	for (size_t i = 0; i < pm; i++)
		img[pm_off + i] = (uint8_t)(i * 7 + 3);
	w8(0x1F1, sects);
	w32(0x1F4, (uint32_t)(pm / 16));    /* syssize */
	w16(0x1FE, 0xAA55);
	w8(0x200, 0xEB);                     /* jmp short past the header */
	w8(0x201, 0x268 - 0x202);
	memcpy(img + 0x202, "HdrS", 4);
	w16(0x206, 0x020F);
	w16(0x20E, 0x1234);                  /* kernel_version: copied as is */
	w8(0x211, 0x01);                     /* LOADED_HIGH */
	w32(0x214, PM);
	w32(0x22C, 0x7FFFFFFF);              /* initrd_addr_max */
	w32(0x230, MIB);                     /* kernel_alignment */
	w8(0x234, 1);                        /* relocatable */
	w32(0x238, 0x7FF);                   /* cmdline_size */
	w32(0x258, PM);                      /* pref_address */
	w32(0x260, 3 * MIB);                 /* init_size */
	w32(0x264, 0x12345);                 /* handover_offset: copied as is */
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void write_kernel(void) { write_file(kpath, img, img_len); }

/* An initrd of n bytes, byte i being i*13+1. */
static uint8_t *initrd(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + 1);
	write_file(ipath, p, n);
	return p;
}

static int load_ram(size_t ram_size, const char *rd, const char *cmdline)
{
	assert_true(ram_size <= RAM_MAX);
	memset(ram, FILL, ram_size);
	memset(&bs, 0, sizeof bs);
	memset(err, 'x', sizeof err);
	return bzimage_load(kpath, rd, ram, ram_size, cmdline, &bs, err, sizeof err);
}
static int load(const char *rd) { return load_ram(RAM_SIZE, rd, "console=ttyS0"); }

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
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vmx_test_bzimage.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(kpath, sizeof kpath, "%s/bzImage", tmpdir);
	snprintf(ipath, sizeof ipath, "%s/initrd", tmpdir);
	ram = malloc(RAM_MAX);
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	unlink(kpath);
	unlink(ipath);
	rmdir(tmpdir);
	free(ram);
	return 0;
}

/* The boot_params page the loader must produce for the image in img: zeros
 * (no video, no EDD...), the setup header as the file has it up to
 * 0x202 + the jump byte, what a boot loader writes, the e820 map. Built
 * here from the protocol's offsets, not from the loader's. */
static void expected_boot_params(uint8_t *bp, size_t ram_size, uint32_t ramdisk, uint32_t rdsize)
{
	size_t hdr_end = 0x202 + img[0x201];
	struct pc_mem_range map[8];
	size_t n = pc_memory_map(ram_size, map, 8);
	memset(bp, 0, 4096);
	memcpy(bp + 0x1F1, img + 0x1F1, hdr_end - 0x1F1);
	bp[0x1FA] = 0xFF; bp[0x1FB] = 0xFF;               /* vid_mode: normal */
	bp[0x210] = 0xFF;                                 /* type_of_loader: undefined */
	bp[0x211] = (uint8_t)((img[0x211] | 0x01) & ~0xE0); /* no QUIET, KEEP_SEGMENTS, heap */
	memcpy(bp + 0x214, "\x00\x00\x10\x00", 4);        /* code32_start = 1 MiB */
	for (int i = 0; i < 4; i++) {
		bp[0x218 + i] = (uint8_t)(ramdisk >> 8 * i);
		bp[0x21C + i] = (uint8_t)(rdsize >> 8 * i);
		bp[0x228 + i] = (uint8_t)(CMDLINE >> 8 * i);
		bp[0x1E0 + i] = (uint8_t)(((ram_size - MIB) >> 10) >> 8 * i);  /* alt_mem_k */
	}
	bp[0x1E8] = (uint8_t)n;
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++) {
			bp[0x2D0 + 20 * i + b] = (uint8_t)(map[i].base >> 8 * b);
			bp[0x2D0 + 20 * i + 8 + b] = (uint8_t)(map[i].len >> 8 * b);
			if (b < 4)
				bp[0x2D0 + 20 * i + 16 + b] = (uint8_t)(map[i].type >> 8 * b);
		}
}

static void check_boot_params(size_t ram_size, uint32_t ramdisk, uint32_t rdsize)
{
	static uint8_t want[4096];
	expected_boot_params(want, ram_size, ramdisk, rdsize);
	for (size_t i = 0; i < sizeof want; i++)
		if (ram[BP + i] != want[i])
			fail_msg("boot_params byte 0x%zx is 0x%02x, want 0x%02x", i, ram[BP + i], want[i]);
}

/* ---- successful loads ---- */

static void test_good_image(void **state)
{
	(void)state;
	image(4, 0x3000);
	w8(0x211, 0x01 | 0x20 | 0x80);       /* QUIET_FLAG and CAN_USE_HEAP: the loader clears them */
	write_kernel();
	assert_int_equal(load_ram(RAM_SIZE, NULL, "console=ttyS0 root=/dev/ram0 x=\"y z\""), 0);
	assert_string_equal(err, "");
	assert_memory_equal(ram + PM, img + pm_off, pm_len);
	assert_int_equal(ram[PM - 1], FILL);
	assert_int_equal(ram[PM + pm_len], FILL);
	check_boot_params(RAM_SIZE, 0, 0);
	assert_int_equal(ram[BP + 0x210], 0xFF);
	assert_int_equal(r32(BP + 0x228), CMDLINE);
	assert_string_equal((char *)ram + r32(BP + 0x228), "console=ttyS0 root=/dev/ram0 x=\"y z\"");
	/* The real-mode setup code is not loaded anywhere low. */
	assert_int_equal(ram[0x90000], FILL);
	assert_int_equal(bs.proto, VMM_BOOT_LINUX);
	assert_int_equal(bs.entry, 0x100000);
	assert_int_equal(bs.esi, 0x10000);
	assert_int_equal(bs.load_lo, PM);
	assert_int_equal(bs.load_hi, PM + pm_len);
}

/* setup_sects 0 means 4 (boot.rst); the header is copied only as far as
 * the jump at 0x200 says it goes. */
static void test_setup_sects_and_header_length(void **state)
{
	(void)state;
	image(0, 0x1000);
	assert_int_equal(pm_off, 5 * 512);
	write_kernel();
	assert_int_equal(load(NULL), 0);
	assert_memory_equal(ram + PM, img + pm_off, pm_len);
	check_boot_params(RAM_SIZE, 0, 0);

	image(20, 0x1000);
	w8(0x201, 0x26C - 0x202);            /* Debian 6.1's header reaches 0x26C */
	w32(0x268, 0xCAFE0001);              /* kernel_info_offset */
	write_kernel();
	assert_int_equal(load(NULL), 0);
	assert_memory_equal(ram + PM, img + pm_off, pm_len);
	assert_int_equal(r32(BP + 0x268), 0xCAFE0001);
	assert_int_equal(r32(BP + 0x26C), 0);
	check_boot_params(RAM_SIZE, 0, 0);

	/* A header ending before handover_offset (protocol 2.10's): the
	 * bytes there in the file are not header, boot_params keeps zeros. */
	image(4, 0x1000);
	w8(0x201, 0x264 - 0x202);
	write_kernel();
	assert_int_equal(load(NULL), 0);
	assert_int_equal(r32(BP + 0x260), 3 * MIB);
	assert_int_equal(r32(BP + 0x264), 0);
	check_boot_params(RAM_SIZE, 0, 0);
}

static void test_e820_follows_ram_size(void **state)
{
	static const size_t sizes[] = { 4 * MIB, 16 * MIB, 37 * MIB, RAM_MAX };
	(void)state;
	image(4, 0x1000);
	w32(0x260, 2 * MIB);
	write_kernel();
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		assert_int_equal(load_ram(sizes[s], NULL, ""), 0);
		check_boot_params(sizes[s], 0, 0);
		/* The map QEMU's PC reports, checked against constants too:
		 * RAM from 1 MiB to 128 KiB below the top. */
		assert_int_equal(ram[BP + 0x1E8], 6);
		uint32_t e = BP + 0x2D0 + 3 * 20;
		assert_int_equal(r32(e), MIB);
		assert_int_equal(r32(e + 8), sizes[s] - MIB - TOP_RSVD);
		assert_int_equal(r32(e + 16), 1);
		assert_int_equal(r32(e + 20), sizes[s] - TOP_RSVD);
		assert_int_equal(r32(e + 36), 2);
		assert_string_equal((char *)ram + CMDLINE, "");
	}
}

static void test_null_cmdline_and_longest(void **state)
{
	char line[0x800];
	(void)state;
	image(4, 0x1000);
	write_kernel();
	assert_int_equal(load_ram(RAM_SIZE, NULL, NULL), 0);
	assert_string_equal((char *)ram + CMDLINE, "");
	/* cmdline_size excludes the terminating NUL. */
	memset(line, 'c', 0x7FF);
	line[0x7FF] = '\0';
	assert_int_equal(load_ram(RAM_SIZE, NULL, line), 0);
	assert_string_equal((char *)ram + CMDLINE, line);
}

static void test_initrd_at_top(void **state)
{
	const size_t n = 100000;             /* not a page multiple */
	uint32_t top = RAM_SIZE - TOP_RSVD, addr = (top - n) & ~0xFFFu;
	(void)state;
	image(4, 0x2000);
	write_kernel();
	uint8_t *rd = initrd(n);
	assert_int_equal(load(ipath), 0);
	assert_int_equal(r32(BP + 0x218), addr);
	assert_int_equal(r32(BP + 0x21C), n);
	assert_memory_equal(ram + addr, rd, n);
	assert_int_equal(ram[addr - 1], FILL);
	assert_int_equal(ram[addr + n], FILL);
	check_boot_params(RAM_SIZE, addr, n);
	free(rd);
}

/* initrd_addr_max is the last byte the initrd may occupy. */
static void test_initrd_below_initrd_addr_max(void **state)
{
	const size_t n = 3 * 4096;
	(void)state;
	image(4, 0x2000);
	w32(0x22C, 12 * MIB - 1);
	write_kernel();
	uint8_t *rd = initrd(n);
	assert_int_equal(load(ipath), 0);
	assert_int_equal(r32(BP + 0x218), 12 * MIB - n);
	assert_memory_equal(ram + 12 * MIB - n, rd, n);
	/* Just fitting above the kernel's init_size (1 MiB + 3 MiB). */
	w32(0x22C, 4 * MIB + n - 1);
	write_kernel();
	assert_int_equal(load(ipath), 0);
	assert_int_equal(r32(BP + 0x218), 4 * MIB);
	free(rd);
}

/* init_size counts from where the kernel decompresses: pref_address, or
 * 1 MiB rounded up to kernel_alignment if higher (boot.rst, init_size). The
 * initrd must stay above that, not just above 1 MiB + init_size. */
static void test_kernel_runtime_start(void **state)
{
	(void)state;
	image(4, 0x2000);
	w32(0x258, 8 * MIB);                 /* pref_address */
	w32(0x260, 4 * MIB);                 /* ends at 12 MiB */
	write_kernel();
	free(initrd(3 * MIB));
	assert_int_equal(load(ipath), 0);
	assert_true(r32(BP + 0x218) >= 12 * MIB);
	free(initrd(4 * MIB));               /* would start at 11.875 MiB */
	EXPECT_FAIL(load(ipath), ipath, "does not fit", "0xc00000");

	/* Alignment above pref_address: 1 MiB rounds up to 4 MiB. */
	image(4, 0x2000);
	w32(0x230, 4 * MIB);
	w32(0x260, 11 * MIB);                /* 4 + 11 = 15 MiB: fits in 16 */
	write_kernel();
	assert_int_equal(load(NULL), 0);
	w32(0x260, 12 * MIB);
	write_kernel();
	EXPECT_FAIL(load(NULL), kpath, "init_size", "16 MB");

	/* Not relocatable: the kernel runs at pref_address whatever happens. */
	image(4, 0x2000);
	w8(0x234, 0);
	w32(0x258, 10 * MIB);
	w32(0x260, 6 * MIB);
	write_kernel();
	EXPECT_FAIL(load(NULL), "init_size");
	w32(0x260, 5 * MIB);
	write_kernel();
	assert_int_equal(load(NULL), 0);
}

static void test_probe(void **state)
{
	uint8_t h[0x400] = { 0 };
	(void)state;
	assert_false(bzimage_probe(h, sizeof h));
	h[0x1FE] = 0x55; h[0x1FF] = 0xAA;
	memcpy(h + 0x202, "HdrS", 4);
	assert_true(bzimage_probe(h, sizeof h));
	assert_false(bzimage_probe(h, 0x205));
	/* One mark is enough: the loader then names the other. */
	h[0x1FE] = 0;
	assert_true(bzimage_probe(h, sizeof h));
	h[0x1FE] = 0x55;
	h[0x202] = 'X';
	assert_true(bzimage_probe(h, sizeof h));
	memcpy(h, "\177ELF", 4);
	assert_false(bzimage_probe(h, sizeof h));
}

/* ---- malformed images and impossible requests ---- */

static void test_truncated(void **state)
{
	(void)state;
	image(4, 0x2000);
	img_len = 0x240;                     /* the header stops at cmdline_size */
	write_kernel();
	EXPECT_FAIL(load(NULL), kpath, "truncated");
	image(4, 0x2000);
	img_len = 0x800;                     /* inside the setup sectors */
	write_kernel();
	EXPECT_FAIL(load(NULL), "truncated");
	image(4, 0x2000);
	w32(0x1F4, 0x2000 / 16 + 1);         /* syssize 16 bytes past the end */
	write_kernel();
	EXPECT_FAIL(load(NULL), "truncated", "describes");
	/* Within the last paragraph syssize rounds up to: loaded. */
	image(4, 0x2000);
	img_len -= 8;
	write_kernel();
	assert_int_equal(load(NULL), 0);
	img_len = 0x100;
	write_kernel();
	EXPECT_FAIL(load(NULL), "too short");
}

static void test_bad_magic_and_boot_flag(void **state)
{
	(void)state;
	image(4, 0x1000);
	memcpy(img + 0x202, "HdrZ", 4);
	write_kernel();
	EXPECT_FAIL(load(NULL), kpath, "HdrS");
	image(4, 0x1000);
	w16(0x1FE, 0);
	write_kernel();
	EXPECT_FAIL(load(NULL), kpath, "boot flag");
}

static void test_old_protocol_and_zimage(void **state)
{
	(void)state;
	image(4, 0x1000);
	w16(0x206, 0x0205);
	write_kernel();
	EXPECT_FAIL(load(NULL), "2.05", "too old");
	w16(0x206, 0x0206);                  /* the oldest accepted: no init_size */
	write_kernel();
	assert_int_equal(load(NULL), 0);
	image(4, 0x1000);
	w8(0x211, 0);
	write_kernel();
	EXPECT_FAIL(load(NULL), "zImage");
}

static void test_kernel_larger_than_ram(void **state)
{
	(void)state;
	image(4, 0x1000);
	w32(0x260, RAM_SIZE);                /* 1 MiB + 16 MiB > 16 MiB */
	write_kernel();
	EXPECT_FAIL(load(NULL), kpath, "init_size", "-m");
	/* Up to the reserved top 128 KiB exactly is fine. */
	w32(0x260, RAM_SIZE - MIB - TOP_RSVD);
	write_kernel();
	assert_int_equal(load(NULL), 0);
	w32(0x260, RAM_SIZE - MIB - TOP_RSVD + 1);
	write_kernel();
	EXPECT_FAIL(load(NULL), "init_size");
}

static void test_initrd_errors(void **state)
{
	(void)state;
	image(4, 0x1000);
	write_kernel();
	free(initrd(RAM_SIZE + 4096));
	EXPECT_FAIL(load(ipath), ipath, "does not fit", "-m");
	/* Fits in RAM, not above the kernel's 4 MiB. */
	free(initrd(RAM_SIZE - 4 * MIB));
	EXPECT_FAIL(load(ipath), ipath, "does not fit");
	free(initrd(0));
	EXPECT_FAIL(load(ipath), ipath, "empty");
	unlink(ipath);
	EXPECT_FAIL(load(ipath), ipath, "No such file");
	EXPECT_FAIL(load(tmpdir), "not a regular file");
	/* A too-low initrd_addr_max leaves no room above the kernel. */
	w32(0x22C, 4 * MIB + 4096 - 2);
	write_kernel();
	free(initrd(4096));
	EXPECT_FAIL(load(ipath), "does not fit");
}

static void test_cmdline_too_long(void **state)
{
	char line[0x801];
	(void)state;
	image(4, 0x1000);
	write_kernel();
	memset(line, 'c', 0x800);
	line[0x800] = '\0';
	EXPECT_FAIL(load_ram(RAM_SIZE, NULL, line), kpath, "command line", "2048", "2047");
	w32(0x238, 16);
	write_kernel();
	EXPECT_FAIL(load_ram(RAM_SIZE, NULL, "console=ttyS0,115200"), "command line");
}

static void test_alignment_and_code32(void **state)
{
	(void)state;
	image(4, 0x1000);
	w32(0x230, 0x300000);
	write_kernel();
	EXPECT_FAIL(load(NULL), "kernel_alignment", "power of two");
	image(4, 0x1000);
	w8(0x234, 0);
	w32(0x214, 0x200000);
	write_kernel();
	EXPECT_FAIL(load(NULL), "code32_start", "relocatable");
}

static void test_missing_kernel_and_ram_size(void **state)
{
	(void)state;
	unlink(kpath);
	EXPECT_FAIL(load(NULL), kpath, "No such file");
	image(4, 0x1000);
	write_kernel();
	EXPECT_FAIL(load_ram(4 * MIB - 4096, NULL, ""), "guest RAM", "unsupported");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_image),
		cmocka_unit_test(test_setup_sects_and_header_length),
		cmocka_unit_test(test_e820_follows_ram_size),
		cmocka_unit_test(test_null_cmdline_and_longest),
		cmocka_unit_test(test_initrd_at_top),
		cmocka_unit_test(test_initrd_below_initrd_addr_max),
		cmocka_unit_test(test_kernel_runtime_start),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_magic_and_boot_flag),
		cmocka_unit_test(test_old_protocol_and_zimage),
		cmocka_unit_test(test_kernel_larger_than_ram),
		cmocka_unit_test(test_initrd_errors),
		cmocka_unit_test(test_cmdline_too_long),
		cmocka_unit_test(test_alignment_and_code32),
		cmocka_unit_test(test_missing_kernel_and_ram_size),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
