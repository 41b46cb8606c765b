/* The PC board: which devices the machine has and at which ports (on
 * -machine pc also the local APIC, the IOAPIC and the MP table), and the
 * state QEMU's firmware (SeaBIOS) leaves the devices and the BIOS data area
 * in when it hands over to a -kernel guest. monitor.c calls it at init and
 * at reset; the devices themselves know nothing of the board. */
#include "vm.h"
#include "mmio.h"
#include "devices/testdev.h"
#include "tunables.h"

static stat_counter io_unclaimed = { "dev.unclaimed.io", 0 };

static void uart_tx(void *opaque, uint8_t b)
{
	(void)opaque;
	vm.w->console_write(&b, 1);
}

/* A reset or power-off ends the VM with status 0, as QEMU with -no-reboot. */
static void machine_off(const char *why)
{
	vmm_logf("vmx: %s: stopping", why);
	vmm_stop(EXIT_QUIT);
}

/* The drives' sectors are the VMX's image files, through the world. */
static int disk_read(void *opaque, unsigned drive, uint64_t lba, void *buf, uint32_t count)
{
	(void)opaque;
	return vm.w->disk_read(drive, lba, buf, count);
}

static int disk_write(void *opaque, unsigned drive, uint64_t lba, const void *buf, uint32_t count)
{
	(void)opaque;
	return vm.w->disk_write(drive, lba, buf, count);
}

static int disk_flush(void *opaque, unsigned drive)
{
	(void)opaque;
	return vm.w->disk_flush(drive);
}

/* PIT channel 0 on the virtual clock: a run raises IRQ0 once, however many
 * periods ended since the last one. */
static void pit_timer_fire(void *opaque, uint64_t now)
{
	(void)opaque;
	pit_advance(&vm.pit, now);
	vclock_timer_mod(&vm.pit_timer, pit_next_deadline(&vm.pit));
}

/* The local APIC's timer on the same clock, and its way back to the CPU:
 * a new deadline re-arms the host timer, a new interrupt sets `pending`. */
static bool lapic_firing;   /* the clock re-arms the host timer after its run */

static void lapic_timer_fire(void *opaque, uint64_t now)
{
	(void)opaque;
	lapic_firing = true;
	lapic_advance(&vm.lapic, now);
	lapic_firing = false;
	vclock_timer_mod(&vm.lapic_timer, lapic_next_deadline(&vm.lapic));
}

static uint64_t lapic_now(void *opaque)
{
	(void)opaque;
	return vclock_now(&vm.clock);
}

/* The ACPI PM timer's overflow status, on the same clock. */
static void acpi_timer_fire(void *opaque, uint64_t now)
{
	(void)opaque;
	acpi_pm_advance(&vm.acpi, now);
}

static void acpi_deadline(void *opaque, uint64_t ns)
{
	(void)opaque;
	if (vm.acpi_timer.deadline == ns)
		return;
	vclock_timer_mod(&vm.acpi_timer, ns);
	vmm_timer_changed();
}

static void lapic_changed(void *opaque)
{
	(void)opaque;
	if (!vm.ma)
		return;
	/* EOIs and TPR writes are frequent; the host timer is a host call. */
	if (!lapic_firing && vm.lapic_timer.deadline != lapic_next_deadline(&vm.lapic))
		vmm_timer_changed();
	vmm_update_pending();
}

/* The IOAPIC's messages go to the one local APIC when they name it. INIT,
 * SMI and ExtINT through the IOAPIC are not wired. */
static void ioapic_deliver(void *opaque, const struct ioapic_msg *m)
{
	(void)opaque;
	if (!lapic_match_dest(&vm.lapic, m->dest, m->logical))
		return;
	if (m->delivery_mode == LAPIC_DM_FIXED || m->delivery_mode == 1)
		lapic_accept(&vm.lapic, m->vector, m->level);
	else if (m->delivery_mode == LAPIC_DM_NMI) {
		vm.lapic.nmi_pending = true;
		vmm_update_pending();
	}
}

static void lapic_eoi_level(void *opaque, uint8_t vector)
{
	(void)opaque;
	ioapic_eoi(&vm.ioapic, vector);
}

/* The ISA lines reach the IOAPIC too: IRQ0 on pin 2, as QEMU wires it. */
static void isa_line(void *opaque, unsigned irq, bool level)
{
	(void)opaque;
	ioapic_set_irq(&vm.ioapic, irq == 0 ? 2 : irq, level);
}

bool board_has_lapic(void)
{
	return vm.cfg.machine == VMM_MACHINE_PC;
}

bool board_intr_pending(void)
{
	if (!board_has_lapic())
		return pic_intr_pending(&vm.pic);
	return vm.lapic.nmi_pending || lapic_intr_pending(&vm.lapic) ||
	       (lapic_extint_open(&vm.lapic) && pic_intr_pending(&vm.pic));
}

/* The APIC's own interrupts first, then the PIC's through LINT0, as QEMU
 * orders them. An NMI is taken here like an interrupt, so only with IF set
 * (nothing on this board drives LINT1; a self-NMI is the only source). */
uint8_t board_intr_ack(void)
{
	if (!board_has_lapic())
		return pic_ack(&vm.pic);
	if (lapic_take_nmi(&vm.lapic))
		return 2;
	if (lapic_intr_pending(&vm.lapic) || !lapic_extint_open(&vm.lapic))
		return lapic_ack(&vm.lapic);
	return pic_ack(&vm.pic);
}

int board_pc_init(const struct vmm_config *cfg)
{
	static const struct ata_backing disks = { disk_read, disk_write, disk_flush, (void *)0 };
	vclock_init(&vm.clock, vm.w->now_ns, TUNE_TIMER_MIN_PERIOD_NS);
	uint64_t now = vclock_now(&vm.clock);
	stats_register(&io_unclaimed);
	io_bus_init(&vm.io, &io_unclaimed);
	pic_init(&vm.pic);
	pit_init(&vm.pit, &vm.pic, now);
	if (vclock_timer_init(&vm.clock, &vm.pit_timer, pit_timer_fire, (void *)0))
		return -1;
	uart_init(&vm.uart, 0x3f8, 4, &vm.pic, uart_tx, (void *)0);
	cmos_init(&vm.cmos, vm.w->wall_seconds(), now, cfg->ram_size / 1024);
	debug_exit_init(&vm.dbg, 0xf4);
	i8042_init(&vm.kbc, &vm.pic, machine_off);
	fw_cfg_init(&vm.fwcfg, cfg->ram_size, 1);
	ata_init(&vm.ata, &vm.pic, &disks, cfg->disk_sectors, cfg->disk_readonly);
	if (pic_attach(&vm.pic, &vm.io) || pit_attach(&vm.pit, &vm.io) || uart_attach(&vm.uart, &vm.io) ||
	    cmos_attach(&vm.cmos, &vm.io) || debug_exit_attach(&vm.dbg, &vm.io) ||
	    i8042_attach(&vm.kbc, &vm.io) || fw_cfg_attach(&vm.fwcfg, &vm.io) || ata_attach(&vm.ata, &vm.io) ||
	    legacy_attach(&vm.io, machine_off, !board_has_lapic()))
		return -1;
	if (cfg->testdev && testdev_attach() != 0)
		return -1;
	if (board_has_lapic()) {
		static const struct lapic_env env = { lapic_now, lapic_changed, lapic_eoi_level, (void *)0 };
		lapic_init(&vm.lapic, &env);
		ioapic_init(&vm.ioapic, ioapic_deliver, (void *)0);
		vm.pic.listener = isa_line;
		acpi_pm_init(&vm.acpi, &vm.pic, machine_off, lapic_now, acpi_deadline, (void *)0);
		if (vclock_timer_init(&vm.clock, &vm.lapic_timer, lapic_timer_fire, (void *)0) ||
		    vclock_timer_init(&vm.clock, &vm.acpi_timer, acpi_timer_fire, (void *)0) ||
		    lapic_attach(&vm.lapic) || ioapic_attach(&vm.ioapic) || acpi_pm_attach(&vm.acpi, &vm.io))
			return -1;
	}
	return 0;
}

/* The BIOS data area fields SeaBIOS fills that kernels read (measured under
 * QEMU): COM1's port, the EBDA segment (its 1 KiB below 640 KiB is
 * reserved in the memory map), the equipment word (x87, PS/2 mouse, one
 * serial port) and the base memory size in KiB. */
static const struct { uint32_t addr; uint16_t val; } bda[] = {
	{ 0x400, 0x03f8 }, { 0x40e, 0x9fc0 }, { 0x410, 0x0206 }, { 0x413, 639 },
};

/* The devices as QEMU's firmware leaves them for a -kernel guest, reached
 * through the ports as the firmware reaches them: the PIC pair at vectors
 * 0x08/0x70 with the BIOS's masks, the PIT ticking at 18.2 Hz, the UART's
 * OUT2 (interrupt line) enabled, the keyboard controller self-tested with
 * its command byte 0x61 (keyboard interrupt, mouse off, translation). */
#define FW_IN 0x100
static const struct { uint16_t port; uint16_t val; } firmware[] = {
	/* First: the self test's answer raises IRQ 1, which the PIC's
	 * initialization below forgets, as SeaBIOS's handler would take it. */
	{ 0x64, 0xaa }, { 0x60, FW_IN }, { 0x64, 0x60 }, { 0x60, 0x61 },
	{ 0x20, 0x11 }, { 0x21, 0x08 }, { 0x21, 0x04 }, { 0x21, 0x01 },
	{ 0xa0, 0x11 }, { 0xa1, 0x70 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
	{ 0x21, 0xb8 }, { 0xa1, 0x8e },
	{ 0x43, 0x36 }, { 0x40, 0x00 }, { 0x40, 0x00 },
	{ 0x3fc, 0x08 },
};

/* SeaBIOS leaves the BSP's APIC software-enabled (spurious vector 0xFF)
 * with LINT0 in virtual-wire mode (level ExtINT), so the PIC reaches the
 * CPU, and LINT1 a level NMI (measured under QEMU). */
static void lapic_firmware(void)
{
	lapic_reset(&vm.lapic);
	lapic_write(&vm.lapic, LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
	lapic_write(&vm.lapic, LAPIC_LVT_LINT0, (1u << 15) | LAPIC_DM_EXTINT << 8);
	lapic_write(&vm.lapic, LAPIC_LVT_LINT1, (1u << 15) | LAPIC_DM_NMI << 8);
	/* The IOAPIC masked, with the ID the MP table gives it. */
	ioapic_reset(&vm.ioapic);
	ioapic_write(&vm.ioapic, 0x00, 0);
	ioapic_write(&vm.ioapic, 0x10, mptable_ioapic_id() << 24);
	uint32_t r[4];
	guest_cpuid(1, 0, r);
	mptable_write(vm.cfg.ram, vm.cfg.ram_size, r[3]);
	acpi_tables_write(vm.cfg.ram, vm.cfg.ram_size, mptable_ioapic_id());
	acpi_pm_reset(&vm.acpi);
}

void board_pc_reset(const struct vmm_boot *b)
{
	if (board_has_lapic())
		lapic_firmware();
	i8042_reset(&vm.kbc);
	fw_cfg_reset(&vm.fwcfg);
	ata_reset(&vm.ata);
	fw_cfg_set_cmdline(&vm.fwcfg, b->proto == VMM_BOOT_LINUX ? b->cmdline : (const char *)0);
	for (unsigned i = 0; i < sizeof(bda) / sizeof(bda[0]); i++)
		if (bda[i].addr + 2 <= vm.cfg.ram_size)
			glin_write(bda[i].addr, &bda[i].val, 2);
	pit_set_time(&vm.pit, vclock_now(&vm.clock));
	for (unsigned i = 0; i < sizeof(firmware) / sizeof(firmware[0]); i++) {
		if (firmware[i].val == FW_IN)
			io_in(&vm.io, firmware[i].port, 1);
		else
			io_out(&vm.io, firmware[i].port, 1, firmware[i].val);
	}
	vmm_timer_changed();
}
