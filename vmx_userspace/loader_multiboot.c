/* The multiboot v1 boot loader of vmx: finds and checks the multiboot header,
 * loads the kernel into guest RAM (ELF32 through libelf, or the header's a.out
 * kludge fields), and builds the multiboot information in low memory. */
#include "vmx.h"
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MB_HEADER_MAGIC   0x1BADB002u
#define MB_BOOT_MAGIC     0x2BADB002u
#define MB_SEARCH_BYTES   8192u
#define MB_FLAG_PAGE_ALIGN (1u << 0)
#define MB_FLAG_MEMINFO    (1u << 1)
#define MB_FLAG_VIDEO      (1u << 2)
#define MB_FLAG_AOUT       (1u << 16)
/* Flags we honour; other bits in 0..15 are requirements we cannot meet.
 * Page-aligned modules is trivially met (there are no modules) and the
 * memory information is always provided. */
#define MB_FLAGS_KNOWN_REQUIRED (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMINFO)

/* Fixed layout in low memory: above page 0 (real-mode IVT/BDA, and catching
 * null pointers) and below 64 KiB so it stays clear of typical 1 MiB kernels.
 * The whole window is reserved so a kernel segment can never clobber it. */
#define MBI_AREA_LO      0x9000u
#define MBI_AREA_HI      0x10000u
#define MBI_ADDR         0x9000u   /* struct multiboot_info, 116 bytes zeroed */
#define MBI_MMAP_ADDR    0x9100u
#define MBI_NAME_ADDR    0x91C0u
#define MBI_CMDLINE_ADDR 0x9200u
#define MBI_SIZE         116u      /* through the framebuffer fields of 0.6.96+ */

/* struct multiboot_info offsets */
#define MBI_FLAGS        0
#define MBI_MEM_LOWER    4
#define MBI_MEM_UPPER    8
#define MBI_CMDLINE      16
#define MBI_MMAP_LENGTH  44
#define MBI_MMAP_ADDR_F  48
#define MBI_LOADER_NAME  64

#define MBI_F_MEM        (1u << 0)
#define MBI_F_CMDLINE    (1u << 2)
#define MBI_F_MMAP       (1u << 6)
#define MBI_F_LOADER     (1u << 9)

#define MIB 0x100000ull

struct mb_header {
	uint32_t offset;   /* file offset of the magic */
	uint32_t flags;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct load_ctx {
	const char *path;
	int fd;
	uint64_t file_size;
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t lo, hi;
	char *err;
	size_t errlen;
};

static int fail(struct load_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct load_ctx *c, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "vmx: %s: %s", c->path, msg);
	return -1;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

size_t multiboot_cmdline(char *buf, size_t len, const char *kernel, const char *append)
{
	int n = snprintf(buf, len, "%s %s", kernel ? kernel : "", append ? append : "");
	return n < 0 ? 0 : (size_t)n;
}

static int read_exact(struct load_ctx *c, uint8_t *dst, uint64_t off, uint64_t n)
{
	while (n) {
		size_t chunk = n > (1u << 30) ? (1u << 30) : (size_t)n;
		ssize_t r = pread(c->fd, dst, chunk, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(c, "read error at offset 0x%llx: %s",
				    (unsigned long long)off, strerror(errno));
		if (r == 0)
			return fail(c, "file is truncated: offset 0x%llx is past its end (%llu bytes)",
				    (unsigned long long)off, (unsigned long long)c->file_size);
		dst += r;
		off += (uint64_t)r;
		n -= (uint64_t)r;
	}
	return 0;
}

/* Returns 1 with *h filled, 0 when no magic at all, -1 (message set) when a
 * magic was found but no candidate was valid, -2 (message set) when the file
 * cannot be used at all. Keeps scanning past a bad checksum because the magic
 * value can occur by chance in code or data. */
static int find_header(struct load_ctx *c, struct mb_header *h)
{
	uint8_t head[MB_SEARCH_BYTES];
	size_t n = c->file_size < MB_SEARCH_BYTES ? (size_t)c->file_size : MB_SEARCH_BYTES;
	long bad_off = -1;
	uint32_t bad_sum = 0;

	if (n && read_exact(c, head, 0, n) < 0)
		return -2;
	for (size_t off = 0; off + 12 <= n; off += 4) {
		uint32_t magic = get32(head + off), flags, sum;
		if (magic != MB_HEADER_MAGIC)
			continue;
		flags = get32(head + off + 4);
		sum = get32(head + off + 8);
		if ((uint32_t)(magic + flags + sum) != 0) {
			if (bad_off < 0) {
				bad_off = (long)off;
				bad_sum = sum;
			}
			continue;
		}
		h->offset = (uint32_t)off;
		h->flags = flags;
		if (flags & MB_FLAG_AOUT) {
			if (off + 32 > n)
				return fail(c, "multiboot header at offset 0x%zx is cut off: its a.out "
					    "kludge fields run past the end of the file or of "
					    "the first %u bytes",
					    off, MB_SEARCH_BYTES), -2;
			h->header_addr = get32(head + off + 12);
			h->load_addr = get32(head + off + 16);
			h->load_end_addr = get32(head + off + 20);
			h->bss_end_addr = get32(head + off + 24);
			h->entry_addr = get32(head + off + 28);
		}
		return 1;
	}
	if (bad_off >= 0)
		return fail(c, "bad multiboot header checksum at offset 0x%lx "
			    "(magic + flags + checksum must be 0 mod 2^32; checksum is 0x%08x)",
			    bad_off, bad_sum);
	return 0;
}

static int check_flags(struct load_ctx *c, const struct mb_header *h)
{
	uint32_t unknown = h->flags & 0xffffu & ~MB_FLAGS_KNOWN_REQUIRED;
	if (!unknown)
		return 0;
	if (unknown & MB_FLAG_VIDEO)
		return fail(c, "multiboot header requests video mode information (flag bit 2), "
			    "which vmx does not provide");
	for (unsigned b = 0; b < 16; b++)
		if (unknown & (1u << b))
			return fail(c, "multiboot header has unsupported required flag bit %u "
				    "(flags 0x%08x)", b, h->flags);
	return 0;
}

/* Shared by both formats: the destination must be RAM and must leave the
 * multiboot information window alone. */
static int check_range(struct load_ctx *c, const char *what, uint64_t addr, uint64_t size)
{
	uint64_t end = addr + size;
	uint64_t need_mb = (end + MIB - 1) / MIB;
	/* -m can only help up to its maximum; above it (a segment at 3 GiB,
	 * say) the kernel is linked for a machine vmx cannot give it. */
	if (end > c->ram_size && need_mb <= VMX_MEM_MAX_MB)
		return fail(c, "%s 0x%llx-0x%llx is outside guest RAM (%llu MB, ending at 0x%llx); "
			    "try -m %llu or more", what, (unsigned long long)addr,
			    (unsigned long long)end, (unsigned long long)(c->ram_size / MIB),
			    (unsigned long long)c->ram_size, (unsigned long long)need_mb);
	if (end > c->ram_size)
		return fail(c, "%s 0x%llx-0x%llx is outside guest RAM (%llu MB, ending at 0x%llx), "
			    "and above the most RAM vmx gives a guest (-m %u, ending at 0x%llx)",
			    what, (unsigned long long)addr, (unsigned long long)end,
			    (unsigned long long)(c->ram_size / MIB), (unsigned long long)c->ram_size,
			    VMX_MEM_MAX_MB, (unsigned long long)VMX_MEM_MAX_MB * MIB);
	if (addr < MBI_AREA_HI && end > MBI_AREA_LO)
		return fail(c, "%s 0x%llx-0x%llx overlaps the multiboot information area "
			    "0x%x-0x%x", what, (unsigned long long)addr, (unsigned long long)end,
			    MBI_AREA_LO, MBI_AREA_HI);
	return 0;
}

static void note_loaded(struct load_ctx *c, uint64_t addr, uint64_t size)
{
	if (addr < c->lo)
		c->lo = addr;
	if (addr + size > c->hi)
		c->hi = addr + size;
}

static int load_aout(struct load_ctx *c, const struct mb_header *h, uint32_t *entry)
{
	uint64_t delta, file_off, load_size, mem_size;

	if (h->load_addr > h->header_addr)
		return fail(c, "multiboot a.out kludge: load_addr 0x%x is above header_addr 0x%x",
			    h->load_addr, h->header_addr);
	delta = h->header_addr - h->load_addr;
	if (delta > h->offset)
		return fail(c, "multiboot a.out kludge: header_addr - load_addr (0x%llx) is larger "
			    "than the header's file offset 0x%x", (unsigned long long)delta, h->offset);
	file_off = h->offset - delta;
	if (h->load_end_addr == 0) {
		load_size = c->file_size - file_off;
	} else {
		if (h->load_end_addr <= h->load_addr)
			return fail(c, "multiboot a.out kludge: load_end_addr 0x%x is not above "
				    "load_addr 0x%x", h->load_end_addr, h->load_addr);
		load_size = (uint64_t)h->load_end_addr - h->load_addr;
		if (file_off + load_size > c->file_size)
			return fail(c, "multiboot a.out kludge: load_end_addr 0x%x needs %llu bytes "
				    "from offset 0x%llx but the file has %llu bytes",
				    h->load_end_addr, (unsigned long long)load_size,
				    (unsigned long long)file_off, (unsigned long long)c->file_size);
	}
	mem_size = load_size;
	if (h->bss_end_addr) {
		if ((uint64_t)h->bss_end_addr < h->load_addr + load_size)
			return fail(c, "multiboot a.out kludge: bss_end_addr 0x%x is below the end "
				    "of the loaded image 0x%llx", h->bss_end_addr,
				    (unsigned long long)(h->load_addr + load_size));
		mem_size = (uint64_t)h->bss_end_addr - h->load_addr;
	}
	if (mem_size == 0)
		return fail(c, "multiboot a.out kludge: nothing to load");
	if (check_range(c, "kernel image", h->load_addr, mem_size) < 0)
		return -1;
	if (read_exact(c, c->ram + h->load_addr, file_off, load_size) < 0)
		return -1;
	memset(c->ram + h->load_addr + load_size, 0, mem_size - load_size);
	note_loaded(c, h->load_addr, mem_size);
	*entry = h->entry_addr;
	return 0;
}

/* Whether the program headers and every loadable segment's bytes are in
 * the file: the usual damage of an interrupted copy or download. */
static int check_complete(struct load_ctx *c, Elf *e, const GElf_Ehdr *eh, size_t *phnum)
{
	/* Checked on the header's own count first: libelf refuses a table
	 * running past the end with a bare "invalid data". PN_XNUM (more
	 * than 65534 headers) keeps the count in section 0: libelf's. */
	uint64_t ph_end = eh->e_phoff + (uint64_t)eh->e_phnum * eh->e_phentsize;
	if (eh->e_phnum != PN_XNUM && eh->e_phnum && ph_end > c->file_size)
		return fail(c, "file is truncated (%llu bytes): its ELF program header table "
			    "(%u entries at offset 0x%llx) ends at 0x%llx", (unsigned long long)c->file_size,
			    (unsigned)eh->e_phnum, (unsigned long long)eh->e_phoff,
			    (unsigned long long)ph_end);
	if (elf_getphdrnum(e, phnum) != 0)
		return fail(c, "cannot read the ELF program headers: %s", elf_errmsg(-1));
	for (size_t i = 0; i < *phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph))
			return fail(c, "cannot read ELF program header %zu: %s", i, elf_errmsg(-1));
		if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > c->file_size)
			return fail(c, "file is truncated (%llu bytes): ELF segment %zu (offset 0x%llx, "
				    "0x%llx bytes) extends past its end", (unsigned long long)c->file_size,
				    i, (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz);
	}
	return 0;
}

/* libelf calls a file shorter than an ELF header "not ELF": say what it
 * is, given its magic. */
static bool short_elf(struct load_ctx *c)
{
	uint8_t m[SELFMAG];
	return c->file_size < sizeof(Elf32_Ehdr) && pread(c->fd, m, SELFMAG, 0) == SELFMAG &&
	       memcmp(m, ELFMAG, SELFMAG) == 0;
}

static int load_elf(struct load_ctx *c, int hdr_status, uint32_t *entry)
{
	Elf *e = NULL;
	GElf_Ehdr eh;
	const char *ident;
	size_t phnum = 0, nload = 0;
	int rc = -1;
	bool entry_done = false;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail(c, "libelf is unusable: %s", elf_errmsg(-1));
	e = elf_begin(c->fd, ELF_C_READ, NULL);
	if (!e)
		return fail(c, "libelf cannot read the file: %s", elf_errmsg(-1));
	if (elf_kind(e) != ELF_K_ELF && short_elf(c)) {
		fail(c, "file is truncated (%llu bytes): shorter than an ELF header (%zu bytes)",
		     (unsigned long long)c->file_size, sizeof(Elf32_Ehdr));
		goto out;
	}
	if (elf_kind(e) != ELF_K_ELF) {
		fail(c, "not an ELF file%s", hdr_status == 1 ?
		     " (and its multiboot header does not set the a.out kludge, flag bit 16)" : "");
		goto out;
	}
	ident = elf_getident(e, NULL);
	if (ident && ident[EI_CLASS] == ELFCLASS64) {
		fail(c, "is a 64-bit ELF (ELFCLASS64); vmx boots 32-bit x86 kernels only");
		goto out;
	}
	if (!ident || ident[EI_CLASS] != ELFCLASS32 || ident[EI_DATA] != ELFDATA2LSB) {
		fail(c, "not a 32-bit little-endian ELF file; vmx boots 32-bit x86 kernels only");
		goto out;
	}
	if (!gelf_getehdr(e, &eh)) {
		fail(c, "malformed ELF header: %s", elf_errmsg(-1));
		goto out;
	}
	if (eh.e_machine != EM_386) {
		fail(c, "ELF machine is %u, not 32-bit x86 (EM_386)", (unsigned)eh.e_machine);
		goto out;
	}
	if (eh.e_type != ET_EXEC) {
		fail(c, "ELF type is %u, not an executable (ET_EXEC)", (unsigned)eh.e_type);
		goto out;
	}
	/* The format checks, then the file's completeness, come first so a
	 * wrong kind of file or a cut-off copy is reported as such rather than
	 * as a missing header (which a cut-off file lacks too). */
	if (check_complete(c, e, &eh, &phnum) < 0)
		goto out;
	if (hdr_status < 0)
		goto out;
	if (hdr_status == 0) {
		fail(c, "no multiboot header (magic 0x%08x, 4-byte aligned) in the first %u bytes",
		     MB_HEADER_MAGIC, MB_SEARCH_BYTES);
		goto out;
	}
	*entry = (uint32_t)eh.e_entry;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		uint64_t addr;
		char what[64];
		if (!gelf_getphdr(e, (int)i, &ph)) {
			fail(c, "cannot read ELF program header %zu: %s", i, elf_errmsg(-1));
			goto out;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz) {
			fail(c, "ELF segment %zu has p_filesz 0x%llx larger than p_memsz 0x%llx", i,
			     (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_memsz);
			goto out;
		}
		/* Linkers leave p_paddr 0 for images that never set it; then
		 * the virtual address is the only hint, if it can be RAM. */
		addr = ph.p_paddr;
		if (addr == 0 && ph.p_vaddr != 0 && ph.p_vaddr < c->ram_size)
			addr = ph.p_vaddr;
		snprintf(what, sizeof what, "ELF segment %zu", i);
		if (check_range(c, what, addr, ph.p_memsz) < 0)
			goto out;
		if (read_exact(c, c->ram + addr, ph.p_offset, ph.p_filesz) < 0)
			goto out;
		memset(c->ram + addr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		note_loaded(c, addr, ph.p_memsz);
		/* Like GRUB and QEMU: a higher-half kernel's e_entry is a virtual
		 * address; paging is off at entry, so run it where it was put. */
		if (!entry_done && eh.e_entry >= ph.p_vaddr && eh.e_entry - ph.p_vaddr < ph.p_memsz) {
			*entry = (uint32_t)(eh.e_entry - ph.p_vaddr + addr);
			entry_done = true;
		}
		nload++;
	}
	if (nload == 0) {
		fail(c, "ELF file has no loadable (PT_LOAD) segments");
		goto out;
	}
	rc = 0;
out:
	elf_end(e);
	return rc;
}

static int build_info(struct load_ctx *c, const char *cmdline)
{
	uint8_t *ram = c->ram;
	uint8_t *mi = ram + MBI_ADDR;
	uint32_t mmap = MBI_MMAP_ADDR;
	size_t clen = strlen(cmdline);
	static const char name[] = "vmx";

	if (clen >= MBI_AREA_HI - MBI_CMDLINE_ADDR)
		return fail(c, "kernel command line is too long (%zu bytes; at most %u)",
			    clen, MBI_AREA_HI - MBI_CMDLINE_ADDR - 1);
	memset(ram + MBI_AREA_LO, 0, MBI_AREA_HI - MBI_AREA_LO);

	struct pc_mem_range map[8];
	size_t n = pc_memory_map(c->ram_size, map, 8);
	for (size_t i = 0; i < n; i++, mmap += 24) {
		put32(ram + mmap, 20);      /* size excludes the size field itself */
		put64(ram + mmap + 4, map[i].base);
		put64(ram + mmap + 12, map[i].len);
		put32(ram + mmap + 20, map[i].type);
	}
	memcpy(ram + MBI_NAME_ADDR, name, sizeof name);
	memcpy(ram + MBI_CMDLINE_ADDR, cmdline, clen + 1);

	put32(mi + MBI_FLAGS, MBI_F_MEM | MBI_F_CMDLINE | MBI_F_MMAP | MBI_F_LOADER);
	put32(mi + MBI_MEM_LOWER, 639);
	put32(mi + MBI_MEM_UPPER, (uint32_t)((c->ram_size - MIB - PC_RAM_TOP_RESERVED) / 1024));
	put32(mi + MBI_CMDLINE, MBI_CMDLINE_ADDR);
	put32(mi + MBI_MMAP_LENGTH, mmap - MBI_MMAP_ADDR);
	put32(mi + MBI_MMAP_ADDR_F, MBI_MMAP_ADDR);
	put32(mi + MBI_LOADER_NAME, MBI_NAME_ADDR);
	return 0;
}

int multiboot_load(const char *path, uint8_t *ram, size_t ram_size, const char *cmdline,
		   struct boot_state *bs, char *err, size_t errlen)
{
	struct load_ctx c = {
		.path = path ? path : "(null)", .fd = -1, .ram = ram, .ram_size = ram_size,
		.lo = UINT64_MAX, .hi = 0, .err = err, .errlen = errlen,
	};
	struct mb_header h;
	struct stat st;
	uint32_t entry = 0;
	int hs, rc = -1;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !ram)
		return fail(&c, "no kernel or no guest RAM given");
	/* The memory map and mem_upper describe RAM above 1 MiB; 32-bit
	 * physical addresses bound it from above. */
	if ((uint64_t)ram_size <= MIB || (uint64_t)ram_size >= 0x100000000ull)
		return fail(&c, "guest RAM size 0x%llx is unsupported (must be above 1 MB and "
			    "below 4 GB)", (unsigned long long)ram_size);
	c.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c.fd < 0)
		return fail(&c, "cannot open kernel: %s", strerror(errno));
	if (fstat(c.fd, &st) < 0) {
		fail(&c, "cannot stat kernel: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(&c, "kernel is not a regular file");
		goto out;
	}
	c.file_size = (uint64_t)st.st_size;

	hs = find_header(&c, &h);
	if (hs == -2)
		goto out;
	if (hs == 1 && check_flags(&c, &h) < 0)
		goto out;
	if (hs == 1 && (h.flags & MB_FLAG_AOUT)) {
		if (load_aout(&c, &h, &entry) < 0)
			goto out;
	} else if (load_elf(&c, hs, &entry) < 0) {
		goto out;
	}
	if (build_info(&c, cmdline ? cmdline : "") < 0)
		goto out;

	memset(bs, 0, sizeof *bs);
	bs->proto = VMM_BOOT_MULTIBOOT;
	bs->entry = entry;
	bs->eax = MB_BOOT_MAGIC;
	bs->ebx = MBI_ADDR;
	bs->load_lo = (uint32_t)c.lo;
	bs->load_hi = (uint32_t)c.hi;
	rc = 0;
out:
	close(c.fd);
	return rc;
}
