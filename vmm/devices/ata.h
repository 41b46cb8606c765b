/* A PIIX-style IDE controller in legacy mode: two ATA channels (0x1F0-0x1F7
 * with 0x3F6, IRQ 14; 0x170-0x177 with 0x376, IRQ 15), two drives each,
 * PIO transfers only. The sectors come from the caller's backing store
 * through `struct ata_backing` (the VMX's image files, via the world). */
#ifndef ATA_H
#define ATA_H
#include <stdint.h>
#include <stdbool.h>
#include "devices.h"

#define ATA_DRIVES       4      /* QEMU's -drive index: channel = index / 2, unit = index % 2 */
#define ATA_MAX_MULTIPLE 16u    /* sectors per DRQ block READ/WRITE MULTIPLE may use */

/* Synchronous: a call returns when the host is done; 0 or -1 (failed). */
struct ata_backing {
	int (*read)(void *opaque, unsigned drive, uint64_t lba, void *buf, uint32_t count);
	int (*write)(void *opaque, unsigned drive, uint64_t lba, const void *buf, uint32_t count);
	int (*flush)(void *opaque, unsigned drive);
	void *opaque;
};

struct ata_drive {
	bool present, readonly;
	unsigned index;
	uint64_t sectors;
	uint16_t cyls, heads, spt;        /* the default (identify) geometry */
	uint16_t cur_heads, cur_spt;      /* INITIALIZE DEVICE PARAMETERS */
	uint8_t multiple;                 /* SET MULTIPLE; 0: off */
	char names[5][24];
	stat_counter reads, writes, sectors_moved, flushes, errors;
};

enum ata_xfer { XFER_NONE, XFER_IN, XFER_OUT };

struct ata_channel {
	uint16_t cmd_base, ctl_base;
	unsigned irq;
	struct ata_drive drive[2];
	/* The task file: one set, as both drives of a channel share it. */
	uint8_t feature, nsect, sector, lcyl, hcyl, select;
	uint8_t status, error, devctl;
	bool intrq;
	/* The transfer under way. */
	enum ata_xfer xfer;
	uint8_t cmd;
	uint64_t lba;                      /* next sector to move */
	uint32_t left;                     /* sectors still to move after the buffer */
	uint32_t block;                    /* sectors per DRQ block */
	uint32_t pos, len;                 /* bytes in buf */
	uint8_t buf[512 * ATA_MAX_MULTIPLE];
};

struct ata {
	struct ata_channel ch[2];
	struct pic *pic;
	struct ata_backing back;
	stat_counter io;
};

/* sectors[i] == 0: no drive at index i. */
void ata_init(struct ata *a, struct pic *pic, const struct ata_backing *back,
	      const uint64_t sectors[ATA_DRIVES], const bool readonly[ATA_DRIVES]);
/* Power-on / hardware reset of both channels. */
void ata_reset(struct ata *a);
/* Registers the ports of channels that have a drive (an empty channel
 * floats, as on QEMU's PC with no drive there). */
int ata_attach(struct ata *a, struct io_bus *bus);

#endif
