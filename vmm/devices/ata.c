/* The ATA command state machine of one IDE controller: the task file, the
 * status/error/device control registers, IDENTIFY DEVICE, PIO READ/WRITE
 * SECTORS and MULTIPLE with 28-bit LBA or CHS addresses, SET MULTIPLE,
 * FLUSH CACHE and the housekeeping commands kernels send, with INTRQ on
 * the channel's IRQ unless nIEN is set. A host failure to read or write
 * is ERR with ABRT|UNC for the sector. Sectors move through the backing
 * callbacks synchronously, so a command's completion (FLUSH CACHE's too)
 * is what the host has already done. */
#include "ata.h"

#define ST_ERR  0x01
#define ST_DRQ  0x08
#define ST_DSC  0x10
#define ST_DRDY 0x40
#define ST_BSY  0x80

#define ER_ABRT 0x04
#define ER_UNC  0x40

#define DC_NIEN 0x02
#define DC_SRST 0x04

#define SEL_DEV 0x10
#define SEL_LBA 0x40

#define LBA28_MAX 0x0fffffffu

static struct ata_drive *cur(struct ata_channel *c)
{
	return &c->drive[(c->select & SEL_DEV) ? 1 : 0];
}

static void set_irq_line(struct ata *a, struct ata_channel *c)
{
	if (a->pic)
		pic_set_irq(a->pic, c->irq, c->intrq && !(c->devctl & DC_NIEN));
}

static void intrq_raise(struct ata *a, struct ata_channel *c)
{
	c->intrq = true;
	set_irq_line(a, c);
}

static void done(struct ata *a, struct ata_channel *c)
{
	c->xfer = XFER_NONE;
	c->status = ST_DRDY | ST_DSC;
	intrq_raise(a, c);
}

static void abort_cmd(struct ata *a, struct ata_channel *c, uint8_t error)
{
	c->xfer = XFER_NONE;
	c->status = ST_DRDY | ST_ERR;   /* QEMU's, measured: no DSC with an error */
	c->error = error;
	stat_inc(&cur(c)->errors);
	intrq_raise(a, c);
}

/* The ATA signature a reset leaves: a non-packet device. */
static void signature(struct ata_channel *c)
{
	c->nsect = 1;
	c->sector = 1;
	c->lcyl = c->hcyl = 0;
	c->error = 1;     /* diagnostics passed */
}

static void reset_channel(struct ata_channel *c)
{
	c->feature = 0;
	c->select = 0xa0;
	signature(c);
	c->xfer = XFER_NONE;
	c->intrq = false;
	c->status = c->drive[0].present ? ST_DRDY | ST_DSC : 0;
	for (int i = 0; i < 2; i++) {
		c->drive[i].cur_heads = c->drive[i].heads;
		c->drive[i].cur_spt = c->drive[i].spt;
	}
}

/* The address in the task file, as LBA28 or as CHS through the current
 * geometry; false when CHS names no sector. */
static bool task_lba(struct ata_channel *c, uint64_t *lba)
{
	struct ata_drive *d = cur(c);
	if (c->select & SEL_LBA) {
		*lba = (uint64_t)(c->select & 0x0f) << 24 | (uint32_t)c->hcyl << 16 |
		       (uint32_t)c->lcyl << 8 | c->sector;
		return true;
	}
	uint32_t cyl = (uint32_t)c->hcyl << 8 | c->lcyl, head = c->select & 0x0f;
	if (!c->sector || c->sector > d->cur_spt || head >= d->cur_heads)
		return false;
	*lba = ((uint64_t)cyl * d->cur_heads + head) * d->cur_spt + c->sector - 1;
	return true;
}

/* Back into the task file: the last sector moved, as the spec asks at the
 * end of a command (and at the failing one on an error). */
static void set_task_lba(struct ata_channel *c, uint64_t lba)
{
	struct ata_drive *d = cur(c);
	if (c->select & SEL_LBA) {
		c->sector = (uint8_t)lba;
		c->lcyl = (uint8_t)(lba >> 8);
		c->hcyl = (uint8_t)(lba >> 16);
		c->select = (uint8_t)((c->select & 0xf0) | ((lba >> 24) & 0x0f));
		return;
	}
	uint32_t per_cyl = (uint32_t)d->cur_heads * d->cur_spt;
	uint32_t cyl = (uint32_t)(lba / per_cyl), rest = (uint32_t)(lba % per_cyl);
	c->hcyl = (uint8_t)(cyl >> 8);
	c->lcyl = (uint8_t)cyl;
	c->select = (uint8_t)((c->select & 0xf0) | (rest / d->cur_spt));
	c->sector = (uint8_t)(rest % d->cur_spt + 1);
}

static void put_string(uint16_t *w, unsigned words, const char *s)
{
	for (unsigned i = 0; i < words * 2; i++) {
		char ch = *s ? *s++ : ' ';
		/* ATA strings hold the first character in each word's high byte. */
		if (i & 1)
			w[i / 2] |= (uint8_t)ch;
		else
			w[i / 2] = (uint16_t)((uint8_t)ch << 8);
	}
}

static void identify(struct ata_channel *c)
{
	struct ata_drive *d = cur(c);
	uint16_t *w = (uint16_t *)(void *)c->buf;
	for (unsigned i = 0; i < 256; i++)
		w[i] = 0;
	uint64_t lba28 = d->sectors > LBA28_MAX ? LBA28_MAX : d->sectors;
	uint32_t chs = (uint32_t)d->cur_heads * d->cur_spt * d->cyls;
	char serial[] = "VMX0000?";
	serial[7] = (char)('1' + d->index);
	w[0] = 0x0040;                             /* fixed device */
	w[1] = d->cyls; w[3] = d->heads; w[6] = d->spt;
	put_string(&w[10], 10, serial);
	put_string(&w[23], 4, "1.0");
	put_string(&w[27], 20, "VMX HARDDISK");
	w[47] = 0x8000 | ATA_MAX_MULTIPLE;
	w[49] = 1u << 9;                           /* LBA; no DMA */
	w[51] = 0x200;                             /* PIO mode 2 timing */
	w[53] = 1;                                 /* words 54-58 valid */
	w[54] = d->cyls; w[55] = d->cur_heads; w[56] = d->cur_spt;
	w[57] = (uint16_t)chs; w[58] = (uint16_t)(chs >> 16);
	w[59] = d->multiple ? 0x100 | d->multiple : 0;
	w[60] = (uint16_t)lba28; w[61] = (uint16_t)(lba28 >> 16);
	w[80] = 0x7e;                              /* ATA-1 to ATA-6 */
	w[82] = 1u << 5;                           /* write cache */
	w[83] = 1u << 14 | 1u << 12;               /* FLUSH CACHE */
	w[84] = 1u << 14;
	w[85] = 1u << 5;
	w[86] = 1u << 12;
	w[87] = 1u << 14;
	c->pos = 0;
	c->len = 512;
	c->xfer = XFER_IN;
	c->left = 0;
	c->status = ST_DRDY | ST_DSC | ST_DRQ;
}

/* Fills the buffer with the next block of a read; false after an error
 * (reported). */
static bool read_block(struct ata *a, struct ata_channel *c)
{
	struct ata_drive *d = cur(c);
	uint32_t n = c->left < c->block ? c->left : c->block;
	if (a->back.read(a->back.opaque, d->index, c->lba, c->buf, n) != 0) {
		set_task_lba(c, c->lba);
		abort_cmd(a, c, ER_ABRT | ER_UNC);
		return false;
	}
	stat_inc(&d->reads);
	stat_add(&d->sectors_moved, n);
	set_task_lba(c, c->lba + n - 1);
	c->lba += n;
	c->left -= n;
	c->pos = 0;
	c->len = n * 512;
	c->status = ST_DRDY | ST_DSC | ST_DRQ;
	intrq_raise(a, c);
	return true;
}

/* The sectors a transfer command names, checked against the drive. */
static bool start_transfer(struct ata *a, struct ata_channel *c, bool multiple, bool out)
{
	struct ata_drive *d = cur(c);
	uint64_t lba;
	uint32_t count = c->nsect ? c->nsect : 256;
	if (multiple && !d->multiple) {
		abort_cmd(a, c, ER_ABRT);
		return false;
	}
	if (out && d->readonly) {
		abort_cmd(a, c, ER_ABRT);
		return false;
	}
	/* Out of range is ABRT, not IDNF: QEMU's answer (measured). */
	if (!task_lba(c, &lba) || lba + count > d->sectors) {
		abort_cmd(a, c, ER_ABRT);
		return false;
	}
	c->lba = lba;
	c->left = count;
	c->block = multiple ? d->multiple : 1;
	c->error = 0;
	return true;
}

static void start_write_block(struct ata_channel *c)
{
	uint32_t n = c->left < c->block ? c->left : c->block;
	c->pos = 0;
	c->len = n * 512;
	c->xfer = XFER_OUT;
	c->status = ST_DRDY | ST_DSC | ST_DRQ;
}

static void command(struct ata *a, struct ata_channel *c, uint8_t cmd)
{
	struct ata_drive *d = cur(c);
	if (!d->present)
		return;    /* an absent device ignores commands */
	c->cmd = cmd;
	c->intrq = false;
	set_irq_line(a, c);
	switch (cmd) {
	case 0xec:                                 /* IDENTIFY DEVICE */
		identify(c);
		intrq_raise(a, c);
		break;
	case 0x20: case 0x21: case 0xc4:           /* READ SECTORS (w/o retry), READ MULTIPLE */
		if (start_transfer(a, c, cmd == 0xc4, false)) {
			c->xfer = XFER_IN;
			read_block(a, c);
		}
		break;
	case 0x30: case 0x31: case 0xc5:           /* WRITE SECTORS (w/o retry), WRITE MULTIPLE */
		if (start_transfer(a, c, cmd == 0xc5, true))
			start_write_block(c);   /* the first block needs no interrupt */
		break;
	case 0xc6:                                 /* SET MULTIPLE MODE */
		if (c->nsect > ATA_MAX_MULTIPLE || (c->nsect & (c->nsect - 1))) {
			abort_cmd(a, c, ER_ABRT);
			break;
		}
		d->multiple = c->nsect;
		done(a, c);
		break;
	case 0xe7: case 0xea:                      /* FLUSH CACHE (EXT) */
		stat_inc(&d->flushes);
		if (a->back.flush(a->back.opaque, d->index) != 0)
			abort_cmd(a, c, ER_ABRT);
		else
			done(a, c);
		break;
	case 0x91:                                 /* INITIALIZE DEVICE PARAMETERS */
		if (!c->nsect) {
			abort_cmd(a, c, ER_ABRT);
			break;
		}
		d->cur_heads = (uint16_t)((c->select & 0x0f) + 1);
		d->cur_spt = c->nsect;
		done(a, c);
		break;
	case 0xe5:                                 /* CHECK POWER MODE: active */
		c->nsect = 0xff;
		done(a, c);
		break;
	case 0x40: case 0x41:                      /* READ VERIFY SECTORS */
		if (start_transfer(a, c, false, false))
			done(a, c);
		break;
	case 0x90:                                 /* EXECUTE DEVICE DIAGNOSTIC */
		signature(c);
		done(a, c);
		break;
	case 0x10: case 0xef: case 0xe0: case 0xe1: case 0xe2: case 0xe3:
		/* RECALIBRATE, SET FEATURES, STANDBY/IDLE (immediate): nothing
		 * to do on a file. */
		done(a, c);
		break;
	default:
		abort_cmd(a, c, ER_ABRT);
		break;
	}
}

/* The buffer was emptied (IN) or filled (OUT): move on. */
static void buffer_done(struct ata *a, struct ata_channel *c)
{
	if (c->xfer == XFER_IN) {
		if (c->left)
			read_block(a, c);
		else {
			c->xfer = XFER_NONE;
			c->status = ST_DRDY | ST_DSC;   /* no interrupt after the last read block */
		}
		return;
	}
	struct ata_drive *d = cur(c);
	uint32_t n = c->len / 512;
	if (a->back.write(a->back.opaque, d->index, c->lba, c->buf, n) != 0) {
		set_task_lba(c, c->lba);
		abort_cmd(a, c, ER_ABRT | ER_UNC);
		return;
	}
	stat_inc(&d->writes);
	stat_add(&d->sectors_moved, n);
	set_task_lba(c, c->lba + n - 1);
	c->lba += n;
	c->left -= n;
	if (c->left) {
		start_write_block(c);
		intrq_raise(a, c);
	} else {
		done(a, c);
	}
}

static uint32_t data_read(struct ata *a, struct ata_channel *c, unsigned size)
{
	if (c->xfer != XFER_IN || !(c->status & ST_DRQ))
		return 0xffffffffu;
	uint32_t v = 0;
	for (unsigned i = 0; i < size && c->pos < c->len; i++)
		v |= (uint32_t)c->buf[c->pos++] << (8 * i);
	if (c->pos >= c->len)
		buffer_done(a, c);
	return v;
}

static void data_write(struct ata *a, struct ata_channel *c, unsigned size, uint32_t v)
{
	if (c->xfer != XFER_OUT || !(c->status & ST_DRQ))
		return;
	for (unsigned i = 0; i < size && c->pos < c->len; i++)
		c->buf[c->pos++] = (uint8_t)(v >> (8 * i));
	if (c->pos >= c->len)
		buffer_done(a, c);
}

static struct ata_channel *channel_of(struct ata *a, uint16_t port, bool *ctl)
{
	for (int i = 0; i < 2; i++) {
		struct ata_channel *c = &a->ch[i];
		if (port == c->ctl_base) {
			*ctl = true;
			return c;
		}
		if ((uint16_t)(port - c->cmd_base) < 8) {
			*ctl = false;
			return c;
		}
	}
	return (struct ata_channel *)0;
}

/* Status of the selected device: an absent one reads 0 (its partner
 * answers for the channel's wires). */
static uint8_t status_of(struct ata_channel *c)
{
	return cur(c)->present ? c->status : 0;
}

static uint32_t ata_read(void *opaque, uint16_t port, unsigned size)
{
	struct ata *a = opaque;
	bool ctl = false;
	struct ata_channel *c = channel_of(a, port, &ctl);
	if (!c)
		return 0xffffffffu;
	if (ctl)
		return status_of(c);          /* alternate status: no side effects */
	unsigned reg = port - c->cmd_base;
	if (reg == 0)
		return cur(c)->present ? data_read(a, c, size) : 0xffffffffu;
	if (!cur(c)->present && reg != 6)
		return 0;
	switch (reg) {
	case 1: return c->error;
	case 2: return c->nsect;
	case 3: return c->sector;
	case 4: return c->lcyl;
	case 5: return c->hcyl;
	case 6: return c->select;
	default:
		/* Reading status acknowledges the interrupt. */
		c->intrq = false;
		set_irq_line(a, c);
		return status_of(c);
	}
}

static void ata_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	struct ata *a = opaque;
	bool ctl = false;
	struct ata_channel *c = channel_of(a, port, &ctl);
	uint8_t v = (uint8_t)val;
	if (!c)
		return;
	if (ctl) {
		if ((v & DC_SRST) && !(c->devctl & DC_SRST))
			reset_channel(c);
		c->devctl = v;
		set_irq_line(a, c);
		return;
	}
	unsigned reg = port - c->cmd_base;
	if (reg != 0 && reg != 7 && (c->status & (ST_BSY | ST_DRQ)) && c->xfer != XFER_NONE)
		return;   /* the task file is locked while a transfer is under way */
	switch (reg) {
	case 0: data_write(a, c, size, val); break;
	case 1: c->feature = v; break;
	case 2: c->nsect = v; break;
	case 3: c->sector = v; break;
	case 4: c->lcyl = v; break;
	case 5: c->hcyl = v; break;
	case 6: c->select = v | 0xa0; break;
	default: command(a, c, v); break;
	}
}

/* QEMU's guess for an image without a partition table: 16 heads, 63
 * sectors per track, as many cylinders as fit (2..16383). */
static void geometry(struct ata_drive *d)
{
	uint64_t cyls = d->sectors / (16 * 63);
	d->cyls = (uint16_t)(cyls > 16383 ? 16383 : cyls < 2 ? 2 : cyls);
	d->heads = 16;
	d->spt = 63;
}

static void name_counter(stat_counter *s, char *buf, unsigned index, const char *what)
{
	const char *pre = "dev.ata.";
	unsigned n = 0;
	while (*pre)
		buf[n++] = *pre++;
	buf[n++] = (char)('0' + index);
	buf[n++] = '.';
	while (*what)
		buf[n++] = *what++;
	buf[n] = 0;
	*s = (stat_counter){ buf, 0 };
	stats_register(s);
}

void ata_init(struct ata *a, struct pic *pic, const struct ata_backing *back,
	      const uint64_t sectors[ATA_DRIVES], const bool readonly[ATA_DRIVES])
{
	static const uint16_t cmd[2] = { 0x1f0, 0x170 }, ctl[2] = { 0x3f6, 0x376 };
	a->pic = pic;
	a->back = *back;
	a->io = (stat_counter){ "dev.ata.io", 0 };
	stats_register(&a->io);
	for (unsigned i = 0; i < 2; i++) {
		struct ata_channel *c = &a->ch[i];
		c->cmd_base = cmd[i];
		c->ctl_base = ctl[i];
		c->irq = 14 + i;
		c->devctl = 0;
		for (unsigned u = 0; u < 2; u++) {
			struct ata_drive *d = &c->drive[u];
			unsigned idx = i * 2 + u;
			*d = (struct ata_drive){ .present = sectors[idx] != 0, .readonly = readonly[idx],
						 .index = idx, .sectors = sectors[idx] };
			if (!d->present)
				continue;
			geometry(d);
			name_counter(&d->reads, d->names[0], idx, "reads");
			name_counter(&d->writes, d->names[1], idx, "writes");
			name_counter(&d->sectors_moved, d->names[2], idx, "sectors");
			name_counter(&d->flushes, d->names[3], idx, "flushes");
			name_counter(&d->errors, d->names[4], idx, "errors");
		}
	}
	ata_reset(a);
}

void ata_reset(struct ata *a)
{
	for (int i = 0; i < 2; i++) {
		a->ch[i].devctl = 0;
		for (int u = 0; u < 2; u++)
			a->ch[i].drive[u].multiple = 0;
		reset_channel(&a->ch[i]);
		set_irq_line(a, &a->ch[i]);
	}
}

int ata_attach(struct ata *a, struct io_bus *bus)
{
	for (int i = 0; i < 2; i++) {
		struct ata_channel *c = &a->ch[i];
		if (!c->drive[0].present && !c->drive[1].present)
			continue;
		if (io_register(bus, "ata", c->cmd_base, 8, ata_read, ata_write, a, &a->io) ||
		    io_register(bus, "ata", c->ctl_base, 1, ata_read, ata_write, a, &a->io))
			return -1;
	}
	return 0;
}
