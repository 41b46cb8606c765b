/* page0 guest: linear page 0, which the host cannot map, so vmx emulates
 * every access there: with paging off, a stack at 0x1000 (push, call/ret,
 * pushf/popf, pop) and reads and writes of the BIOS data area and page 0
 * (add and cmp from memory, push m32, rep movsb, lodsw, inc, stos); then
 * the same with paging on and page 0 mapped to itself. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "serial.h"

GUEST_NAME("page0");

#define P 1u
#define W 2u
#define PAGE 4096u

extern void page0_ops(void);
extern volatile uint32_t p0res[16];
extern volatile uint8_t p0buf[4];

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[4][1024] __attribute__((aligned(4096)));

static void run(const char *what)
{
	for (unsigned i = 0; i < 16; i++)
		p0res[i] = 0;
	page0_ops();
	kprintf("%s:", what);
	for (unsigned i = 0; i < 11; i++)
		kprintf(" %08x", p0res[i]);
	kprintf(" buf %02x%02x%02x%02x\n", p0buf[0], p0buf[1], p0buf[2], p0buf[3]);
	check_eq("ESP after push", 0xffc, p0res[0]);
	check_eq("ESP after pushf/popf", 0xffc, p0res[2]);
	check_eq("the pushed value", 0x12345678, p0res[3]);
	check_eq("ESP back", 0x1000, p0res[4]);
	check_eq("add 0x400,%ax", 0x3f8, p0res[5]);
	check_eq("cmpw $0x3f8,0x400", 1, p0res[6]);
	check_eq("inc on page 0", 0x1235, p0res[9]);
	check_eq("stos on page 0", 0x55aa, p0res[10]);
	check_eq("rep movsb from 0x400", 0x03f8, p0buf[0] | p0buf[1] << 8);
	check_eq("lodsw of 0x413", p0res[8], p0buf[2] | p0buf[3] << 8);
}

void guest_main(void)
{
	run("paging off");
	progress("paging_off");
	for (unsigned t = 0; t < 4; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt[t][i] = ((t * 1024 + i) * PAGE) | P | W;
		pd[t] = (uint32_t)pt[t] | P | W;
	}
	__asm__ volatile("mov %0, %%cr3" : : "r"(pd));
	uint32_t cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 0x80000000u));
	run("paging on");
}
