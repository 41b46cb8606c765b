/* QEMU's fw_cfg through its traditional interface: a 16-bit write to 0x510
 * selects an item and rewinds it, each byte read from 0x511 returns the
 * next byte of the item (zero past its end and for unknown keys, as QEMU).
 * The items are the few a guest uses to learn what machine it is on: the
 * "QEMU" signature, the interface id (1: no DMA), RAM size, CPU count, the
 * kernel command line and an empty file directory. */
#include "fw_cfg.h"

/* The selected item's byte at `off`, or 0 past its end. */
static uint8_t item_byte(const struct fw_cfg *f, uint32_t off)
{
	uint64_t v;
	unsigned len;
	switch (f->selector) {
	case FW_CFG_SIGNATURE: v = 0x554d4551u; len = 4; break;   /* "QEMU" */
	case FW_CFG_ID: v = 1; len = 4; break;                    /* traditional interface only */
	case FW_CFG_RAM_SIZE: v = f->ram_size; len = 8; break;
	case FW_CFG_NB_CPUS: v = f->cpus; len = 2; break;
	case FW_CFG_CMDLINE_SIZE:
		if (!f->cmdline_len)
			return 0;
		v = f->cmdline_len; len = 4;
		break;
	case FW_CFG_CMDLINE_DATA:
		return off < f->cmdline_len ? (uint8_t)f->cmdline[off] : 0;
	case FW_CFG_FILE_DIR:
		v = 0; len = 4;   /* big-endian count of files: none */
		break;
	default:
		return 0;
	}
	return off < len ? (uint8_t)(v >> (8 * off)) : 0;
}

static uint32_t fw_cfg_read(void *opaque, uint16_t port, unsigned size)
{
	struct fw_cfg *f = opaque;
	/* QEMU answers 0 to the selector port and to wider data reads
	 * (measured): only byte reads of the data port step through an item. */
	if (port != 0x511 || size != 1)
		return 0;
	stat_inc(&f->reads);
	uint8_t b = item_byte(f, f->offset);
	if (f->offset < 0xffffffffu)
		f->offset++;
	return b;
}

static void fw_cfg_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	struct fw_cfg *f = opaque;
	(void)size;
	/* Writes to the data port are ignored, as by QEMU since 2.4. */
	if (port == 0x510) {
		f->selector = (uint16_t)val;
		f->offset = 0;
	}
}

void fw_cfg_set_cmdline(struct fw_cfg *f, const char *cmdline)
{
	uint32_t n = 0;
	if (cmdline)
		for (; cmdline[n] && n < FW_CFG_CMDLINE_MAX - 1; n++)
			f->cmdline[n] = cmdline[n];
	f->cmdline[n] = 0;
	f->cmdline_len = cmdline ? n + 1 : 0;
}

void fw_cfg_reset(struct fw_cfg *f)
{
	f->selector = 0;
	f->offset = 0;
}

void fw_cfg_init(struct fw_cfg *f, uint64_t ram_size, uint16_t cpus)
{
	f->ram_size = ram_size;
	f->cpus = cpus;
	fw_cfg_set_cmdline(f, (const char *)0);
	f->reads = (stat_counter){ "dev.fwcfg.reads", 0 };
	stats_register(&f->reads);
	fw_cfg_reset(f);
}

int fw_cfg_attach(struct fw_cfg *f, struct io_bus *bus)
{
	return io_register(bus, "fw_cfg", 0x510, 2, fw_cfg_read, fw_cfg_write, f, (stat_counter *)0);
}
