/* The Linux boot protocol loader of vmx (Documentation/x86/boot.rst, the
 * 32-bit entry): checks a bzImage's setup header, loads its protected-mode
 * kernel at 1 MiB and the initrd at the top of RAM, and fills boot_params
 * (the "zero page": setup header, e820 map, command line, initrd). */
#include "vmx.h"
#include "loader_common.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Setup header offsets, from the start of the file (= of boot_params). */
#define HDR_SETUP_SECTS   0x1f1
#define HDR_SYSSIZE       0x1f4
#define HDR_VID_MODE      0x1fa
#define HDR_BOOT_FLAG     0x1fe
#define HDR_JUMP          0x200
#define HDR_MAGIC         0x202
#define HDR_VERSION       0x206
#define HDR_TYPE_LOADER   0x210
#define HDR_LOADFLAGS     0x211
#define HDR_CODE32_START  0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE  0x21c
#define HDR_CMD_LINE_PTR  0x228
#define HDR_INITRD_MAX    0x22c
#define HDR_KERNEL_ALIGN  0x230
#define HDR_RELOCATABLE   0x234
#define HDR_CMDLINE_SIZE  0x238
#define HDR_PREF_ADDRESS  0x258
#define HDR_INIT_SIZE     0x260
#define HDR_END_MIN       0x268   /* what version 2.10+ headers reach */

/* boot_params fields outside the setup header. */
#define BP_ALT_MEM_K      0x1e0
#define BP_E820_ENTRIES   0x1e8
#define BP_E820_TABLE     0x2d0
#define BP_E820_MAX       128u

#define LOADED_HIGH       0x01
#define QUIET_FLAG        0x20
#define KEEP_SEGMENTS     0x40
#define CAN_USE_HEAP      0x80

#define PROTO_MIN         0x0206u  /* cmdline_size and initrd_addr_max exist */
#define LOADER_UNDEFINED  0xff     /* type_of_loader: "not assigned an ID" */

/* Where things go, as QEMU's PC puts them for a protocol >= 2.02 kernel
 * loaded high: boot_params at 64 KiB, the command line at 128 KiB (both below
 * the EBDA and above the real-mode vectors and the BIOS data area). */
#define BP_ADDR           0x10000u
#define CMDLINE_ADDR      0x20000u
#define CMDLINE_MAX       0x7fffu
#define PM_ADDR           0x100000u

#define MIB 0x100000ull

struct bz_ctx {
	const char *path;
	char *err;
	size_t errlen;
};

static int fail(struct bz_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct bz_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	loader_verror(c->err, c->errlen, c->path, fmt, ap);
	va_end(ap);
	return -1;
}


static int read_at(struct bz_ctx *c, int fd, uint8_t *dst, uint64_t off, uint64_t n,
		   const char *what)
{
	while (n) {
		ssize_t r = pread(fd, dst, n > (1u << 30) ? (1u << 30) : (size_t)n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(c, "read error in the %s at offset 0x%llx: %s", what,
				    (unsigned long long)off, strerror(errno));
		if (r == 0)
			return fail(c, "the %s is truncated at offset 0x%llx", what,
				    (unsigned long long)off);
		dst += r;
		off += (uint64_t)r;
		n -= (uint64_t)r;
	}
	return 0;
}

static int open_regular(struct bz_ctx *c, const char *what, uint64_t *size)
{
	struct stat st;
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(c, "cannot open %s: %s", what, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(c, "%s is not a regular file", what);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* Either mark is enough, so that an image with one of them damaged gets the
 * bzImage loader's message naming the other, not the multiboot loader's. */
bool bzimage_probe(const uint8_t *head, size_t n)
{
	if (n < HDR_MAGIC + 4 || memcmp(head, "\177ELF", 4) == 0)
		return false;
	return le_get16(head + HDR_BOOT_FLAG) == 0xAA55 || memcmp(head + HDR_MAGIC, "HdrS", 4) == 0;
}

/* Checks the header and returns the protected-mode kernel's file offset and
 * size, and the end of the memory it needs while it decompresses itself. */
static int check_header(struct bz_ctx *c, const uint8_t *h, uint64_t file_size,
			uint64_t *pm_off, uint64_t *pm_size, uint64_t *kend)
{
	uint16_t version = le_get16(h + HDR_VERSION);
	if (file_size < HDR_MAGIC + 4)
		return fail(c, "not a Linux bzImage: %llu bytes, too short for a setup header",
			    (unsigned long long)file_size);
	if (le_get16(h + HDR_BOOT_FLAG) != 0xAA55)
		return fail(c, "not a Linux bzImage: no 0xAA55 boot flag at 0x1fe");
	if (memcmp(h + HDR_MAGIC, "HdrS", 4) != 0)
		return fail(c, "not a Linux bzImage: no \"HdrS\" magic at 0x202");
	if (file_size < HDR_END_MIN)
		return fail(c, "bzImage is truncated: %llu bytes, shorter than its setup header",
			    (unsigned long long)file_size);
	if (version < PROTO_MIN)
		return fail(c, "boot protocol %u.%02u is too old (vmx needs 2.06 or later)",
			    version >> 8, version & 0xff);
	if (!(h[HDR_LOADFLAGS] & LOADED_HIGH))
		return fail(c, "is a zImage (loaded low, LOADED_HIGH clear); vmx boots bzImages only");
	unsigned setup_sects = h[HDR_SETUP_SECTS] ? h[HDR_SETUP_SECTS] : 4;
	*pm_off = (uint64_t)(setup_sects + 1) * 512;
	/* syssize counts whole 16-byte paragraphs, rounded up (memtest86+'s
	 * image ends 8 bytes before its last one): a file is short only by
	 * a paragraph or more. What the file holds is loaded. */
	uint64_t sys = (uint64_t)le_get32(h + HDR_SYSSIZE) * 16;
	if (*pm_off >= file_size || (sys && *pm_off + sys >= file_size + 16))
		return fail(c, "bzImage is truncated: %llu bytes, its header describes %llu",
			    (unsigned long long)file_size, (unsigned long long)(*pm_off + sys));
	*pm_size = file_size - *pm_off;
	*kend = PM_ADDR + *pm_size;
	if (le_get32(h + HDR_CODE32_START) != PM_ADDR && !h[HDR_RELOCATABLE])
		return fail(c, "code32_start 0x%x: a non-relocatable kernel that is not linked at 1 MiB",
			    le_get32(h + HDR_CODE32_START));
	uint32_t align = le_get32(h + HDR_KERNEL_ALIGN);
	if (align & (align - 1))
		return fail(c, "kernel_alignment 0x%x is not a power of two", align);
	if (align && PM_ADDR % align && !h[HDR_RELOCATABLE])
		return fail(c, "kernel_alignment 0x%x: 1 MiB is not aligned to it", align);
	/* init_size counts from where the kernel moves itself to decompress
	 * (boot.rst, init_size): a relocatable kernel loaded below
	 * pref_address goes there first (16 MiB for Debian's), not 1 MiB. */
	if (version >= 0x020a) {
		uint64_t start = le_get32(h + HDR_PREF_ADDRESS);
		if (h[HDR_RELOCATABLE]) {
			if (start < PM_ADDR)
				start = PM_ADDR;
			if (align)
				start = (start + align - 1) & ~(uint64_t)(align - 1);
		}
		uint64_t end = start + le_get32(h + HDR_INIT_SIZE);
		if (end > *kend)
			*kend = end;
	}
	return 0;
}

int bzimage_load(const char *path, const char *initrd, uint8_t *ram, size_t ram_size,
		 const char *cmdline, struct boot_state *bs, char *err, size_t errlen)
{
	struct bz_ctx c = { .path = path ? path : "(null)", .err = err, .errlen = errlen };
	uint8_t h[0x8000];
	uint64_t fsize, pm_off = 0, pm_size = 0, kend = 0;
	int rc = -1;

	if (err && errlen)
		err[0] = '\0';
	if ((uint64_t)ram_size < 4 * MIB || (uint64_t)ram_size >= 0x100000000ull)
		return fail(&c, "guest RAM of %llu bytes is unsupported for Linux (4 MB..4 GB)",
			    (unsigned long long)ram_size);
	int fd = open_regular(&c, "kernel", &fsize);
	if (fd < 0)
		return -1;
	memset(h, 0, sizeof h);
	size_t hn = fsize < sizeof h ? (size_t)fsize : sizeof h;
	if (read_at(&c, fd, h, 0, hn, "bzImage") < 0)
		goto out;
	if (check_header(&c, h, fsize, &pm_off, &pm_size, &kend) < 0)
		goto out;
	uint64_t usable_top = ram_size - PC_RAM_TOP_RESERVED;
	if (kend > usable_top) {
		fail(&c, "the kernel needs RAM up to %llu MB to decompress (its init_size), more "
		     "than the %zu MB of guest RAM: use a larger -m",
		     (unsigned long long)((kend + MIB - 1) / MIB), ram_size >> 20);
		goto out;
	}

	uint16_t version = le_get16(h + HDR_VERSION);
	if (!cmdline)
		cmdline = "";
	size_t clen = strlen(cmdline);
	uint32_t cmax = le_get32(h + HDR_CMDLINE_SIZE);
	if (cmax > CMDLINE_MAX)
		cmax = CMDLINE_MAX;
	if (clen > cmax) {
		fail(&c, "the command line is %zu bytes; this kernel takes at most %u", clen, cmax);
		goto out;
	}
	if (read_at(&c, fd, ram + PM_ADDR, pm_off, pm_size, "bzImage") < 0)
		goto out;

	/* boot_params: zeroed (screen_info with no lines and columns says
	 * "no video"), then the setup header as the file has it, then what the
	 * boot loader fills in. */
	uint8_t *bp = ram + BP_ADDR;
	memset(bp, 0, 4096);
	/* Only the header: what follows it in the file is setup code, which
	 * would otherwise fill boot_params fields the kernel's header version
	 * does not define, where the loader owes zeros. */
	size_t hdr_end = HDR_MAGIC + h[HDR_JUMP + 1];
	memcpy(bp + HDR_SETUP_SECTS, h + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	le_put16(bp + HDR_VID_MODE, 0xffff);      /* "normal": the kernel sets no mode */
	bp[HDR_TYPE_LOADER] = LOADER_UNDEFINED;
	bp[HDR_LOADFLAGS] = (uint8_t)((h[HDR_LOADFLAGS] | LOADED_HIGH) & ~(QUIET_FLAG | KEEP_SEGMENTS | CAN_USE_HEAP));
	le_put32(bp + HDR_CODE32_START, PM_ADDR);
	memcpy(ram + CMDLINE_ADDR, cmdline, clen + 1);
	le_put32(bp + HDR_CMD_LINE_PTR, CMDLINE_ADDR);
	le_put32(bp + BP_ALT_MEM_K, (uint32_t)((ram_size - MIB) >> 10));
	struct pc_mem_range map[8];
	size_t n = pc_memory_map(ram_size, map, 8);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + 20 * i;
		le_put64(e, map[i].base);
		le_put64(e + 8, map[i].len);
		le_put32(e + 16, map[i].type);
	}
	bp[BP_E820_ENTRIES] = (uint8_t)n;

	if (initrd) {
		struct bz_ctx ic = { .path = initrd, .err = err, .errlen = errlen };
		uint64_t isize;
		int ifd = open_regular(&ic, "initrd", &isize);
		if (ifd < 0)
			goto out;
		/* At the top of what the kernel accepts, page aligned, as QEMU
		 * places it: the decompressor and early allocations stay below. */
		uint64_t imax = version >= 0x0203 ? le_get32(h + HDR_INITRD_MAX) : 0x37ffffffu;
		if (imax >= usable_top)
			imax = usable_top - 1;
		if (isize == 0 || isize > imax + 1 || ((imax + 1 - isize) & ~0xfffull) < kend) {
			close(ifd);
			fail(&ic, isize == 0 ? "initrd is empty" :
			     "initrd of %llu bytes does not fit between the kernel (ending at 0x%llx) "
			     "and the top of what it may use (0x%llx): use a larger -m",
			     (unsigned long long)isize, (unsigned long long)kend,
			     (unsigned long long)imax + 1);
			goto out;
		}
		uint64_t iaddr = (imax + 1 - isize) & ~0xfffull;
		int r = read_at(&ic, ifd, ram + iaddr, 0, isize, "initrd");
		close(ifd);
		if (r < 0)
			goto out;
		le_put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)iaddr);
		le_put32(bp + HDR_RAMDISK_SIZE, (uint32_t)isize);
	}

	memset(bs, 0, sizeof *bs);
	bs->proto = VMM_BOOT_LINUX;
	bs->entry = PM_ADDR;
	bs->esi = BP_ADDR;
	bs->load_lo = PM_ADDR;
	bs->load_hi = (uint32_t)(PM_ADDR + pm_size);
	rc = 0;
out:
	close(fd);
	return rc;
}
