/* Reads a monitor image (build/driver/monitor.elf, linked at DW_IMAGE_VA)
 * into the segments VMMON_LOAD_MONITOR takes: what the VMX will do with
 * libelf, done here with <elf.h> so the test programs stay static.
 * Environment: user space in the check-driver guest. */
#ifndef VMMON_IMAGE_H
#define VMMON_IMAGE_H
#include <elf.h>
#include <sys/stat.h>
#include "vmmon_util.h"
#include "xpage.h"

struct image {
	unsigned char *file;
	struct vmmon_segment segs[VMMON_SEGS_MAX];
	struct vmmon_load load;
	uint64_t end;            /* bytes of monitor memory the image spans */
};

/* Monitor memory enough for the image and its stack, in whole MiB. */
static inline uint64_t image_mon_size(const struct image *im)
{
	return ((im->end + DW_STACK_SIZE) | ((1u << 20) - 1)) + 1;
}

/* 0, or -1 with a message when the file is not an image this module takes. */
static inline int image_read(const char *path, struct image *im)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(path);
		return -1;
	}
	im->file = malloc(st.st_size);
	if (!im->file || read(fd, im->file, st.st_size) != st.st_size) {
		perror(path);
		return -1;
	}
	close(fd);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)im->file;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC) {
		fprintf(stderr, "%s: not an x86-64 executable\n", path);
		return -1;
	}
	unsigned n = 0;
	im->end = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(im->file + eh->e_phoff + i * eh->e_phentsize);
		if (ph->p_type != PT_LOAD)
			continue;
		if (n == VMMON_SEGS_MAX || ph->p_vaddr < DW_IMAGE_VA) {
			fprintf(stderr, "%s: segment %u is not one the module takes\n", path, i);
			return -1;
		}
		im->segs[n++] = (struct vmmon_segment){ .src_uaddr = (uintptr_t)(im->file + ph->p_offset),
			.filesz = ph->p_filesz, .mon_offset = ph->p_vaddr - DW_IMAGE_VA, .memsz = ph->p_memsz,
			.prot = (ph->p_flags & PF_R ? VMMON_PROT_R : 0) | (ph->p_flags & PF_W ? VMMON_PROT_W : 0) |
				(ph->p_flags & PF_X ? VMMON_PROT_X : 0) };
		if (ph->p_vaddr - DW_IMAGE_VA + ph->p_memsz > im->end)
			im->end = ph->p_vaddr - DW_IMAGE_VA + ph->p_memsz;
	}
	im->load = (struct vmmon_load){ .size = sizeof(im->load), .nsegs = n,
		.segs_uaddr = (uintptr_t)im->segs, .entry = eh->e_entry - DW_IMAGE_VA };
	return 0;
}
#endif
