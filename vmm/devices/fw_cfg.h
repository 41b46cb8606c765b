/* QEMU's firmware configuration device, traditional I/O interface only
 * (selector 0x510, data 0x511; no DMA register at 0x514). */
#ifndef FW_CFG_H
#define FW_CFG_H
#include <stdint.h>
#include "devices.h"

#define FW_CFG_SIGNATURE    0x0000
#define FW_CFG_ID           0x0001
#define FW_CFG_RAM_SIZE     0x0003
#define FW_CFG_NB_CPUS      0x0005
#define FW_CFG_CMDLINE_SIZE 0x0014
#define FW_CFG_CMDLINE_DATA 0x0015
#define FW_CFG_FILE_DIR     0x0019

#define FW_CFG_CMDLINE_MAX  4096u

struct fw_cfg {
	uint16_t selector;
	uint32_t offset;               /* into the selected item */
	uint64_t ram_size;
	uint16_t cpus;
	char cmdline[FW_CFG_CMDLINE_MAX];
	uint32_t cmdline_len;          /* with its NUL; 0: no command line item */
	stat_counter reads;
};

void fw_cfg_init(struct fw_cfg *f, uint64_t ram_size, uint16_t cpus);
/* The kernel command line item, as QEMU gives it for a Linux -kernel
 * boot; NULL removes it (QEMU's multiboot boots have none). Longer lines
 * are cut to FW_CFG_CMDLINE_MAX - 1 bytes. */
void fw_cfg_set_cmdline(struct fw_cfg *f, const char *cmdline);
void fw_cfg_reset(struct fw_cfg *f);
int fw_cfg_attach(struct fw_cfg *f, struct io_bus *bus);

#endif
