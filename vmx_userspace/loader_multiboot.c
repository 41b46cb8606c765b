/* The multiboot v1 boot loader of vmx: checks the header, loads the kernel
 * (ELF32 through libelf, or the a.out kludge) and -initrd's modules above it,
 * and builds the multiboot information where neither is, low when it can. */
#include "vmx.h"
#include "loader_common.h"
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
 * Modules are always page aligned and the memory information is always
 * provided. */
#define MB_FLAGS_KNOWN_REQUIRED (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMINFO)

/* Where the multiboot information may go when it is not above the kernel:
 * conventional memory above page 0 (the real-mode IVT and the BIOS data
 * area, and where null pointers land) and below the EBDA, where the
 * monitor keeps its boot GDT. 0x9000 is tried first: it is where the
 * information always was and where QEMU puts its own, so guests that use
 * other low memory as scratch keep working. */
#define LOW_FREE_LO      0x1000u
#define LOW_FREE_HI      0x9FC00u
#define LOW_PREFERRED    0x9000u
#define MBI_SIZE         116u      /* through the framebuffer fields of 0.6.96+ */
#define MMAP_ENTRIES     8u
#define MOD_ENTRY_SIZE   16u       /* mod_start, mod_end, string, reserved */
/* A generous bound that still keeps the information small enough for the
 * low-memory window. */
#define CMDLINE_MAX      32767u
#define PAGE             0x1000ull

/* struct multiboot_info offsets */
#define MBI_FLAGS        0
#define MBI_MEM_LOWER    4
#define MBI_MEM_UPPER    8
#define MBI_CMDLINE      16
#define MBI_MODS_COUNT   20
#define MBI_MODS_ADDR    24
#define MBI_MMAP_LENGTH  44
#define MBI_MMAP_ADDR_F  48
#define MBI_LOADER_NAME  64

#define MBI_F_MEM        (1u << 0)
#define MBI_F_CMDLINE    (1u << 2)
#define MBI_F_MODS       (1u << 3)
#define MBI_F_MMAP       (1u << 6)
#define MBI_F_LOADER     (1u << 9)

#define MIB 0x100000ull

struct mb_header {
	uint32_t offset;   /* file offset of the magic */
	uint32_t flags;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* Guest-physical bytes [lo, hi) the kernel or a module occupies. */
struct span { uint64_t lo, hi; };

/* One -initrd item: the file to load and the string the kernel gets. */
struct mb_module {
	char *string;            /* the whole item, ",," unescaped */
	char *file;              /* its first word */
	uint64_t start, size;
};

struct load_ctx {
	const char *path;        /* the file errors are about */
	int fd;
	uint64_t file_size;
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t lo, hi;         /* the kernel's lowest and one-past-highest byte */
	struct span *used;       /* every kernel segment and module loaded */
	size_t nused, capused;
	struct mb_module *mods;
	size_t nmods;
	char *err;
	size_t errlen;
};

static int fail(struct load_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct load_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	loader_verror(c->err, c->errlen, c->path, fmt, ap);
	va_end(ap);
	return -1;
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
		uint32_t magic = le_get32(head + off), flags, sum;
		if (magic != MB_HEADER_MAGIC)
			continue;
		flags = le_get32(head + off + 4);
		sum = le_get32(head + off + 8);
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
			h->header_addr = le_get32(head + off + 12);
			h->load_addr = le_get32(head + off + 16);
			h->load_end_addr = le_get32(head + off + 20);
			h->bss_end_addr = le_get32(head + off + 24);
			h->entry_addr = le_get32(head + off + 28);
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

/* Shared by both formats: the destination must be RAM. The multiboot
 * information is placed afterwards where the kernel is not. */
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
	return 0;
}

static int note_used(struct load_ctx *c, uint64_t addr, uint64_t size)
{
	if (c->nused == c->capused) {
		size_t cap = c->capused ? 2 * c->capused : 16;
		struct span *u = realloc(c->used, cap * sizeof *u);
		if (!u)
			return fail(c, "out of memory");
		c->used = u;
		c->capused = cap;
	}
	c->used[c->nused++] = (struct span){ addr, addr + size };
	return 0;
}

static int note_loaded(struct load_ctx *c, uint64_t addr, uint64_t size)
{
	if (addr < c->lo)
		c->lo = addr;
	if (addr + size > c->hi)
		c->hi = addr + size;
	return note_used(c, addr, size);
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
	if (note_loaded(c, h->load_addr, mem_size) < 0)
		return -1;
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
		if (note_loaded(c, addr, ph.p_memsz) < 0)
			goto out;
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

/* ---- modules ---- */

/* QEMU's -initrd for a multiboot kernel: items split at single commas, ",,"
 * a literal comma (pairs taken left to right), empty items dropped; each
 * item is the module's string and its first word the file. */
static int parse_modules(struct load_ctx *c, const char *list)
{
	size_t len = strlen(list);
	char *item = malloc(len + 1);
	size_t n = 0;

	c->path = "-initrd";
	if (!item)
		return fail(c, "out of memory");
	c->mods = calloc(len / 2 + 1, sizeof *c->mods);
	if (!c->mods) {
		free(item);
		return fail(c, "out of memory");
	}
	for (const char *p = list;; p++) {
		if (*p == ',' && p[1] == ',') {
			item[n++] = ',';
			p++;
			continue;
		}
		if (*p && *p != ',') {
			item[n++] = *p;
			continue;
		}
		if (n) {
			struct mb_module *m = &c->mods[c->nmods];
			item[n] = '\0';
			m->string = strdup(item);
			m->file = strndup(item, strcspn(item, " "));
			c->nmods++;
			if (!m->string || !m->file) {
				free(item);
				return fail(c, "out of memory");
			}
			if (!m->file[0]) {
				fail(c, "module \"%s\" has no file name (it starts with a space)",
				     item);
				free(item);
				return -1;
			}
		}
		n = 0;
		if (!*p)
			break;
	}
	free(item);
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* RAM the memory map calls usable ends here. */
static uint64_t usable_end(const struct load_ctx *c)
{
	return c->ram_size - PC_RAM_TOP_RESERVED;
}

/* The first `align`-aligned address at or above `from` that holds `size`
 * bytes of RAM: past the EBDA, video memory and the BIOS (which are not
 * RAM to a kernel) when it would run into them. UINT64_MAX if none. */
static uint64_t place_above(const struct load_ctx *c, uint64_t from, uint64_t size, uint64_t align)
{
	uint64_t a = align_up(from, align);
	if (a < MIB && (a >= LOW_FREE_HI || a + size > LOW_FREE_HI))
		a = MIB;
	return a + size <= usable_end(c) ? a : UINT64_MAX;
}

static bool is_free(const struct load_ctx *c, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < c->nused; i++)
		if (lo < c->used[i].hi && c->used[i].lo < hi)
			return false;
	return true;
}

/* Like GRUB and QEMU: page aligned above the kernel's highest byte, in
 * the order given. */
static int load_modules(struct load_ctx *c)
{
	const char *kpath = c->path;
	int kfd = c->fd;
	uint64_t ksize = c->file_size, at = c->hi;
	int rc = -1;

	for (size_t i = 0; i < c->nmods; i++) {
		struct mb_module *m = &c->mods[i];
		struct stat st;
		c->path = m->file;
		c->fd = open(m->file, O_RDONLY | O_CLOEXEC);
		if (c->fd < 0) {
			fail(c, "cannot open module: %s", strerror(errno));
			goto out;
		}
		if (fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			fail(c, "module is not a regular file");
			goto out;
		}
		c->file_size = m->size = (uint64_t)st.st_size;
		m->start = place_above(c, at, m->size, PAGE);
		if (m->start == UINT64_MAX) {
			uint64_t end = place_above(c, at, 0, PAGE) + m->size;
			uint64_t need_mb = (end + PC_RAM_TOP_RESERVED + MIB - 1) / MIB;
			char hint[48] = "";
			if (need_mb <= VMX_MEM_MAX_MB)
				snprintf(hint, sizeof hint, "; try -m %llu or more",
					 (unsigned long long)need_mb);
			fail(c, "module %zu (%llu bytes) does not fit in guest RAM: it would end at "
			     "0x%llx, past the usable RAM ending at 0x%llx (-m %llu)%s", i + 1,
			     (unsigned long long)m->size, (unsigned long long)end,
			     (unsigned long long)usable_end(c), (unsigned long long)(c->ram_size / MIB),
			     hint);
			goto out;
		}
		if (read_exact(c, c->ram + m->start, 0, m->size) < 0 ||
		    note_used(c, m->start, m->size) < 0)
			goto out;
		close(c->fd);
		c->fd = -1;
		at = m->start + m->size;
	}
	rc = 0;
out:
	if (c->fd >= 0)
		close(c->fd);
	c->path = kpath;
	c->fd = kfd;
	c->file_size = ksize;
	return rc;
}

/* ---- the multiboot information ---- */

/* In free conventional memory (LOW_PREFERRED first, then the lowest fit)
 * or, when a kernel or its modules fill it, above everything loaded. */
static uint64_t place_info(const struct load_ctx *c, uint64_t size)
{
	uint64_t best = UINT64_MAX, best_key = UINT64_MAX, top = 0;
	for (size_t i = 0; i <= c->nused + 1; i++) {
		uint64_t a = i == c->nused ? LOW_PREFERRED : i == c->nused + 1 ? LOW_FREE_LO :
			     align_up(c->used[i].hi, 16);
		uint64_t key = a < LOW_PREFERRED ? a + MIB : a;
		if (a >= LOW_FREE_LO && a + size <= LOW_FREE_HI && key < best_key &&
		    is_free(c, a, a + size)) {
			best = a;
			best_key = key;
		}
	}
	if (best != UINT64_MAX)
		return best;
	for (size_t i = 0; i < c->nused; i++)
		if (c->used[i].hi > top)
			top = c->used[i].hi;
	return place_above(c, top, size, 16);
}

static int build_info(struct load_ctx *c, const char *cmdline, uint32_t *mbi)
{
	uint8_t *ram = c->ram;
	static const char name[] = "vmx";
	size_t clen = strlen(cmdline);
	struct pc_mem_range map[MMAP_ENTRIES];
	size_t nmap = pc_memory_map(c->ram_size, map, MMAP_ENTRIES);
	/* Offsets in one block: info, memory map, module list, strings. */
	uint64_t o_mmap = align_up(MBI_SIZE, 16);
	uint64_t o_mods = align_up(o_mmap + nmap * 24, 16);
	uint64_t o_name = o_mods + c->nmods * MOD_ENTRY_SIZE;
	uint64_t o_cmdline = o_name + sizeof name;
	uint64_t size = o_cmdline + clen + 1;

	if (clen > CMDLINE_MAX)
		return fail(c, "kernel command line is too long (%zu bytes; at most %u)",
			    clen, CMDLINE_MAX);
	for (size_t i = 0; i < c->nmods; i++)
		size += strlen(c->mods[i].string) + 1;
	uint64_t base = place_info(c, size);
	if (base == UINT64_MAX)
		return fail(c, "no room for the multiboot information (%llu bytes) in low memory "
			    "or above the kernel and its modules in guest RAM (%llu MB)",
			    (unsigned long long)size, (unsigned long long)(c->ram_size / MIB));
	uint8_t *mi = ram + base;
	memset(mi, 0, size);

	for (size_t i = 0; i < nmap; i++) {
		uint8_t *e = mi + o_mmap + i * 24;
		le_put32(e, 20);      /* size excludes the size field itself */
		le_put64(e + 4, map[i].base);
		le_put64(e + 12, map[i].len);
		le_put32(e + 20, map[i].type);
	}
	memcpy(mi + o_name, name, sizeof name);
	memcpy(mi + o_cmdline, cmdline, clen + 1);
	uint64_t o_str = o_cmdline + clen + 1;
	for (size_t i = 0; i < c->nmods; i++) {
		uint8_t *e = mi + o_mods + i * MOD_ENTRY_SIZE;
		size_t slen = strlen(c->mods[i].string) + 1;
		memcpy(mi + o_str, c->mods[i].string, slen);
		le_put32(e, (uint32_t)c->mods[i].start);
		/* One past the last byte, as QEMU and GRUB set it. */
		le_put32(e + 4, (uint32_t)(c->mods[i].start + c->mods[i].size));
		le_put32(e + 8, (uint32_t)(base + o_str));
		o_str += slen;
	}

	uint32_t flags = MBI_F_MEM | MBI_F_CMDLINE | MBI_F_MMAP | MBI_F_LOADER;
	if (c->nmods) {
		flags |= MBI_F_MODS;
		le_put32(mi + MBI_MODS_COUNT, (uint32_t)c->nmods);
		le_put32(mi + MBI_MODS_ADDR, (uint32_t)(base + o_mods));
	}
	le_put32(mi + MBI_FLAGS, flags);
	le_put32(mi + MBI_MEM_LOWER, 639);
	le_put32(mi + MBI_MEM_UPPER, (uint32_t)((c->ram_size - MIB - PC_RAM_TOP_RESERVED) / 1024));
	le_put32(mi + MBI_CMDLINE, (uint32_t)(base + o_cmdline));
	le_put32(mi + MBI_MMAP_LENGTH, (uint32_t)(nmap * 24));
	le_put32(mi + MBI_MMAP_ADDR_F, (uint32_t)(base + o_mmap));
	le_put32(mi + MBI_LOADER_NAME, (uint32_t)(base + o_name));
	*mbi = (uint32_t)base;
	return 0;
}

int multiboot_load(const char *path, uint8_t *ram, size_t ram_size, const char *cmdline,
		   const char *modules, struct boot_state *bs, char *err, size_t errlen)
{
	struct load_ctx c = {
		.path = path ? path : "(null)", .fd = -1, .ram = ram, .ram_size = ram_size,
		.lo = UINT64_MAX, .hi = 0, .err = err, .errlen = errlen,
	};
	struct mb_header h;
	struct stat st;
	uint32_t entry = 0, mbi = 0;
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
	if (modules && (parse_modules(&c, modules) < 0 || load_modules(&c) < 0))
		goto out;
	if (build_info(&c, cmdline ? cmdline : "", &mbi) < 0)
		goto out;

	memset(bs, 0, sizeof *bs);
	bs->proto = VMM_BOOT_MULTIBOOT;
	bs->entry = entry;
	bs->eax = MB_BOOT_MAGIC;
	bs->ebx = mbi;
	bs->load_lo = (uint32_t)c.lo;
	bs->load_hi = (uint32_t)c.hi;
	rc = 0;
out:
	for (size_t i = 0; i < c.nmods; i++) {
		free(c.mods[i].string);
		free(c.mods[i].file);
	}
	free(c.mods);
	free(c.used);
	close(c.fd);
	return rc;
}
