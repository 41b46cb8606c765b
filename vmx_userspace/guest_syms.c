/* The guest kernel's own symbols, to name guest addresses in perf maps: the
 * functions and labels of a multiboot ELF's symbol table, sorted, and the
 * nearest one at or below an address. A bzImage has no symbol table. */
#define _GNU_SOURCE
#include "guest_syms.h"
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sym { uint32_t addr; char *name; };
static struct sym *syms;
static size_t nsyms;

static int by_addr(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void add_symtab(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !sh->sh_entsize)
		return;
	size_t n = sh->sh_size / sh->sh_entsize;
	struct sym *grown = realloc(syms, (nsyms + n) * sizeof *syms);
	if (!grown)
		return;
	syms = grown;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s))
			continue;
		int type = GELF_ST_TYPE(s.st_info);
		/* Assembly labels are NOTYPE; sections and files name no code. */
		if ((type != STT_FUNC && type != STT_NOTYPE) || s.st_shndx == SHN_UNDEF ||
		    s.st_shndx >= SHN_LORESERVE || s.st_value == 0)
			continue;
		const char *name = elf_strptr(e, sh->sh_link, s.st_name);
		if (!name || !*name || name[0] == '.')
			continue;
		char *copy = strdup(name);
		if (copy)
			syms[nsyms++] = (struct sym){ (uint32_t)s.st_value, copy };
	}
}

size_t guest_syms_load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (elf_version(EV_CURRENT) != EV_NONE) {
		Elf *e = elf_begin(fd, ELF_C_READ, NULL);
		if (e && elf_kind(e) == ELF_K_ELF) {
			for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
				GElf_Shdr sh;
				if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
					add_symtab(e, scn, &sh);
			}
		}
		if (e)
			elf_end(e);
	}
	close(fd);
	qsort(syms, nsyms, sizeof *syms, by_addr);
	return nsyms;
}

const char *guest_sym_at(uint32_t addr, uint32_t *off)
{
	size_t lo = 0, hi = nsyms;   /* the last symbol at or below addr is below hi */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	*off = addr - syms[lo - 1].addr;
	return syms[lo - 1].name;
}
