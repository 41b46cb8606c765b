/* c_o0.c - foreign multiboot guest in C at -O0: bytecode VM (switch), recursion,
 * setjmp/longjmp and coroutines in inline asm, hand-written strings, 64-bit math
 * (libgcc), x87. Polled COM1; exit 0x20 (status 65) on success, 0x21.. failure. */
#include <stdarg.h>
#include <stdint.h>

typedef unsigned long long u64;
typedef long long s64;

/* ---------------------------------------------------------------- I/O */

static void port_out8(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static uint8_t port_in8(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void port_out32(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

#define UART 0x3F8

static void serial_setup(void)
{
	port_out8(UART + 1, 0x00);
	port_out8(UART + 3, 0x80);
	port_out8(UART + 0, 0x03); /* 38400 baud */
	port_out8(UART + 1, 0x00);
	port_out8(UART + 3, 0x03);
	port_out8(UART + 2, 0x07);
	port_out8(UART + 4, 0x03);
}

static void serial_putc(char c)
{
	int spins = 0;
	while ((port_in8(UART + 5) & 0x20) == 0) {
		spins++;
	}
	port_out8(UART, (uint8_t)c);
}

static void serial_write(const char *s)
{
	while (*s != 0) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s);
		s++;
	}
}

static void finish(uint32_t code)
{
	/* wait for the transmitter to empty before leaving */
	while ((port_in8(UART + 5) & 0x40) == 0) {
	}
	port_out32(0xF4, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* ---------------------------------------------------------------- strings */

static unsigned my_strlen(const char *s)
{
	unsigned n = 0;
	while (s[n] != '\0')
		n = n + 1;
	return n;
}

static char *my_strcpy(char *d, const char *s)
{
	char *r = d;
	while ((*d++ = *s++) != '\0') {
	}
	return r;
}

static int my_strcmp(const char *a, const char *b)
{
	while (*a != 0 && *a == *b) {
		a++;
		b++;
	}
	return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

static void *my_memset(void *p, int c, unsigned n)
{
	unsigned char *q = p;
	unsigned i;
	for (i = 0; i < n; i++)
		q[i] = (unsigned char)c;
	return p;
}

static void *my_memcpy(void *d, const void *s, unsigned n)
{
	unsigned char *dd = d;
	const unsigned char *ss = s;
	while (n--)
		*dd++ = *ss++;
	return d;
}

static void *my_memmove(void *d, const void *s, unsigned n)
{
	unsigned char *dd = d;
	const unsigned char *ss = s;
	if (dd < ss) {
		while (n--)
			*dd++ = *ss++;
	} else if (dd > ss) {
		dd += n;
		ss += n;
		while (n--)
			*--dd = *--ss;
	}
	return d;
}

static void my_reverse(char *s)
{
	int i = 0, j = (int)my_strlen(s) - 1;
	while (i < j) {
		char t = s[i];
		s[i] = s[j];
		s[j] = t;
		i++;
		j--;
	}
}

/* the compiler may turn loops into calls to these: provide them */
void *memset(void *p, int c, unsigned n) { return my_memset(p, c, n); }
void *memcpy(void *d, const void *s, unsigned n) { return my_memcpy(d, s, n); }
void *memmove(void *d, const void *s, unsigned n) { return my_memmove(d, s, n); }

/* ---------------------------------------------------------------- printf */

static char *fmt_u64(char *buf, u64 v, unsigned base, int upper)
{
	const char *digs = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = buf;
	do {
		*p++ = digs[v % base]; /* __umoddi3 */
		v = v / base;          /* __udivdi3 */
	} while (v != 0);
	*p = 0;
	my_reverse(buf);
	return buf;
}

static void kprintf(const char *fmt, ...)
{
	char out[256];
	char num[72];
	int o = 0;
	va_list ap;
	va_start(ap, fmt);
	while (*fmt) {
		if (*fmt != '%') {
			out[o++] = *fmt++;
			continue;
		}
		fmt++;
		int longlong = 0;
		int width = 0;
		int zero = 0;
		if (*fmt == '0') {
			zero = 1;
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9') {
			width = width * 10 + (*fmt - '0');
			fmt++;
		}
		if (fmt[0] == 'l' && fmt[1] == 'l') {
			longlong = 1;
			fmt += 2;
		}
		char conv = *fmt++;
		const char *s = num;
		switch (conv) {
		case 'd': {
			s64 v = longlong ? va_arg(ap, s64) : (s64)va_arg(ap, int);
			if (v < 0) {
				num[0] = '-';
				fmt_u64(num + 1, (u64)(-(v + 1)) + 1, 10, 0);
			} else {
				fmt_u64(num, (u64)v, 10, 0);
			}
			break;
		}
		case 'u':
			fmt_u64(num, longlong ? va_arg(ap, u64) : (u64)va_arg(ap, unsigned), 10, 0);
			break;
		case 'x':
		case 'X':
			fmt_u64(num, longlong ? va_arg(ap, u64) : (u64)va_arg(ap, unsigned), 16,
				conv == 'X');
			break;
		case 's':
			s = va_arg(ap, const char *);
			break;
		case 'c':
			num[0] = (char)va_arg(ap, int);
			num[1] = 0;
			break;
		case '%':
			num[0] = '%';
			num[1] = 0;
			break;
		default:
			num[0] = '%';
			num[1] = conv;
			num[2] = 0;
			break;
		}
		int len = (int)my_strlen(s);
		while (len < width && o < 250) {
			out[o++] = zero ? '0' : ' ';
			width--;
		}
		while (*s && o < 250)
			out[o++] = *s++;
		if (o >= 250)
			break;
	}
	va_end(ap);
	out[o] = 0;
	serial_write(out);
}

static int failures;

static void check(const char *what, u64 got, u64 want)
{
	if (got == want) {
		kprintf("  ok   %s = %llu\n", what, got);
	} else {
		kprintf("  FAIL %s = %llu (want %llu)\n", what, got, want);
		failures++;
	}
}

/* ---------------------------------------------------------------- bytecode VM */

enum op {
	OP_HALT, OP_PUSH, OP_POP, OP_DUP, OP_SWAP, OP_OVER, OP_ADD, OP_SUB, OP_MUL, OP_DIV,
	OP_MOD, OP_AND, OP_OR, OP_XOR, OP_SHL, OP_SHR, OP_LT, OP_EQ, OP_JMP, OP_JZ, OP_JNZ,
	OP_LOAD, OP_STORE, OP_CALL, OP_RET, OP_EMIT, OP_NOT, OP_INC, OP_DEC, OP_ROT,
	OP_COUNT
};

struct vm {
	int32_t stack[64];
	int sp;
	int32_t rstack[32];
	int rsp;
	int32_t mem[16];
	uint32_t steps;
	uint32_t checksum; /* of everything emitted */
};

static int32_t vm_run(struct vm *m, const int32_t *code, int pc)
{
	for (;;) {
		int32_t a, b;
		int32_t op = code[pc++];
		m->steps++;
		switch (op) {
		case OP_HALT:
			return m->sp > 0 ? m->stack[m->sp - 1] : 0;
		case OP_PUSH:
			m->stack[m->sp++] = code[pc++];
			break;
		case OP_POP:
			m->sp--;
			break;
		case OP_DUP:
			m->stack[m->sp] = m->stack[m->sp - 1];
			m->sp++;
			break;
		case OP_SWAP:
			a = m->stack[m->sp - 1];
			m->stack[m->sp - 1] = m->stack[m->sp - 2];
			m->stack[m->sp - 2] = a;
			break;
		case OP_OVER:
			m->stack[m->sp] = m->stack[m->sp - 2];
			m->sp++;
			break;
		case OP_ROT: /* a b c -> b c a */
			a = m->stack[m->sp - 3];
			m->stack[m->sp - 3] = m->stack[m->sp - 2];
			m->stack[m->sp - 2] = m->stack[m->sp - 1];
			m->stack[m->sp - 1] = a;
			break;
		case OP_ADD:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] += b;
			break;
		case OP_SUB:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] -= b;
			break;
		case OP_MUL:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] *= b;
			break;
		case OP_DIV:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] /= b;
			break;
		case OP_MOD:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] %= b;
			break;
		case OP_AND:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] &= b;
			break;
		case OP_OR:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] |= b;
			break;
		case OP_XOR:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] ^= b;
			break;
		case OP_SHL:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] = (int32_t)((uint32_t)m->stack[m->sp - 1] << b);
			break;
		case OP_SHR:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] = (int32_t)((uint32_t)m->stack[m->sp - 1] >> b);
			break;
		case OP_LT:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] = m->stack[m->sp - 1] < b;
			break;
		case OP_EQ:
			b = m->stack[--m->sp];
			m->stack[m->sp - 1] = m->stack[m->sp - 1] == b;
			break;
		case OP_NOT:
			m->stack[m->sp - 1] = !m->stack[m->sp - 1];
			break;
		case OP_INC:
			m->stack[m->sp - 1]++;
			break;
		case OP_DEC:
			m->stack[m->sp - 1]--;
			break;
		case OP_JMP:
			pc = code[pc];
			break;
		case OP_JZ:
			a = m->stack[--m->sp];
			pc = a == 0 ? code[pc] : pc + 1;
			break;
		case OP_JNZ:
			a = m->stack[--m->sp];
			pc = a != 0 ? code[pc] : pc + 1;
			break;
		case OP_LOAD:
			m->stack[m->sp++] = m->mem[code[pc++]];
			break;
		case OP_STORE:
			m->mem[code[pc++]] = m->stack[--m->sp];
			break;
		case OP_CALL:
			m->rstack[m->rsp++] = pc + 1;
			pc = code[pc];
			break;
		case OP_RET:
			pc = m->rstack[--m->rsp];
			break;
		case OP_EMIT:
			a = m->stack[--m->sp];
			m->checksum = m->checksum * 31u + (uint32_t)a;
			break;
		default:
			kprintf("vm: bad opcode %d at %d\n", op, pc - 1);
			return -1;
		}
	}
}

/* counts primes below mem[0] by trial division, emitting each; also calls a
 * subroutine computing the sum of squares of 1..mem[1] */
static const int32_t vm_prog[] = {
	/* 0 */ OP_PUSH, 2, OP_STORE, 2,             /* n = 2 */
	/* 4 */ OP_PUSH, 0, OP_STORE, 3,             /* count = 0 */
	/* 8: outer */ OP_LOAD, 2, OP_LOAD, 0, OP_LT, OP_JZ, 60,
	/* 15 */ OP_PUSH, 2, OP_STORE, 4,            /* d = 2 */
	/* 19: inner */ OP_LOAD, 4, OP_DUP, OP_MUL, OP_LOAD, 2, OP_SWAP, OP_LT, OP_JNZ, 45,
	                                                 /* if n < d*d: prime */
	/* 29 */ OP_LOAD, 2, OP_LOAD, 4, OP_MOD, OP_JZ, 53, /* divisible: not prime */
	/* 36 */ OP_LOAD, 4, OP_INC, OP_STORE, 4, OP_JMP, 19,
	/* 43 */ OP_HALT, OP_HALT,
	/* 45: prime */ OP_LOAD, 2, OP_EMIT, OP_LOAD, 3, OP_INC, OP_STORE, 3,
	/* 53: next */ OP_LOAD, 2, OP_INC, OP_STORE, 2, OP_JMP, 8,
	/* 60: done */ OP_CALL, 66, OP_LOAD, 3, OP_ADD, OP_HALT,
	/* 66: sumsq: mem5 = 0; i = mem1; while i: mem5 += i*i; i-- */
	OP_PUSH, 0, OP_STORE, 5, OP_LOAD, 1,
	/* 72 */ OP_DUP, OP_JZ, 88,
	/* 75 */ OP_DUP, OP_DUP, OP_MUL, OP_LOAD, 5, OP_ADD, OP_STORE, 5, OP_DEC, OP_JMP, 72,
	/* 86 */ OP_HALT, OP_HALT,
	/* 88 */ OP_POP, OP_LOAD, 5, OP_RET,
};

static void test_vm(void)
{
	static struct vm m;
	kprintf("bytecode vm:\n");
	my_memset(&m, 0, sizeof m);
	m.mem[0] = 500;
	m.mem[1] = 20;
	int32_t r = vm_run(&m, vm_prog, 0);
	check("primes<500 + sumsq(20)", (u64)r, 95 + 2870);
	check("prime count", (u64)m.mem[3], 95);
	kprintf("  vm steps %u checksum %x\n", m.steps, m.checksum);
}

/* ---------------------------------------------------------------- recursion */

static unsigned ackermann(unsigned m, unsigned n)
{
	if (m == 0)
		return n + 1;
	if (n == 0)
		return ackermann(m - 1, 1);
	return ackermann(m - 1, ackermann(m, n - 1));
}

static unsigned calls;

static unsigned fib(unsigned n)
{
	calls++;
	if (n < 2)
		return n;
	return fib(n - 1) + fib(n - 2);
}

static int is_even(unsigned n);
static int is_odd(unsigned n)
{
	return n == 0 ? 0 : is_even(n - 1);
}
static int is_even(unsigned n)
{
	return n == 0 ? 1 : is_odd(n - 1);
}

/* Tower of Hanoi writing its moves into a checksum */
static uint32_t hanoi_sum;
static void hanoi(int n, int from, int to, int via)
{
	if (n == 0)
		return;
	hanoi(n - 1, from, via, to);
	hanoi_sum = hanoi_sum * 7 + (uint32_t)(from * 3 + to);
	hanoi(n - 1, via, to, from);
}

static void test_recursion(void)
{
	kprintf("recursion:\n");
	check("ackermann(2,3)", ackermann(2, 3), 9);
	check("ackermann(3,3)", ackermann(3, 3), 61);
	calls = 0;
	check("fib(20)", fib(20), 6765);
	check("fib calls", calls, 21891);
	check("is_even(1001)", (u64)is_even(1001), 0);
	check("is_odd(777)", (u64)is_odd(777), 1);
	hanoi_sum = 0;
	hanoi(10, 1, 3, 2);
	kprintf("  hanoi(10) checksum %x\n", hanoi_sum);
}

/* ---------------------------------------------------------------- setjmp/longjmp */

/* jmp buffer: ebx esi edi ebp esp eip */
typedef uint32_t jbuf[6];

int ctx_save(jbuf b);
void ctx_jump(jbuf b, int v) __attribute__((noreturn));
__asm__(
	".text\n"
	".globl ctx_save\n"
	"ctx_save:\n"
	"	movl 4(%esp), %eax\n"
	"	movl %ebx, 0(%eax)\n"
	"	movl %esi, 4(%eax)\n"
	"	movl %edi, 8(%eax)\n"
	"	movl %ebp, 12(%eax)\n"
	"	leal 4(%esp), %ecx\n" /* esp after our return */
	"	movl %ecx, 16(%eax)\n"
	"	movl (%esp), %ecx\n"
	"	movl %ecx, 20(%eax)\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	".globl ctx_jump\n"
	"ctx_jump:\n"
	"	movl 4(%esp), %edx\n"
	"	movl 8(%esp), %eax\n"
	"	testl %eax, %eax\n"
	"	jnz 1f\n"
	"	incl %eax\n"
	"1:	movl 0(%edx), %ebx\n"
	"	movl 4(%edx), %esi\n"
	"	movl 8(%edx), %edi\n"
	"	movl 12(%edx), %ebp\n"
	"	movl 16(%edx), %esp\n"
	"	jmp *20(%edx)\n");

static jbuf catcher;
static int depth_reached;

static void dive(int depth)
{
	volatile char pad[40];
	pad[0] = (char)depth;
	depth_reached = depth + pad[0] - depth;
	if (depth == 25)
		ctx_jump(catcher, depth * 100);
	if (depth < 1000)
		dive(depth + 1);
}

/* coroutines: two stacks, a switch written as an inline asm statement */
struct coro {
	uint32_t esp;
};
static struct coro main_co, gen_co;
static uint32_t gen_stack[1024];
static volatile uint32_t yielded;

static void co_switch(struct coro *from, struct coro *to)
{
	__asm__ volatile(
		"pushl %%ebp\n\t"
		"pushl %%ebx\n\t"
		"pushl %%esi\n\t"
		"pushl %%edi\n\t"
		"pushl $1f\n\t"
		"movl %%esp, (%0)\n\t"
		"movl (%1), %%esp\n\t"
		"ret\n"
		"1:\n\t"
		"popl %%edi\n\t"
		"popl %%esi\n\t"
		"popl %%ebx\n\t"
		"popl %%ebp\n\t"
		:
		: "a"(from), "d"(to)
		: "ecx", "memory", "cc");
}

static void generator(void)
{
	uint32_t a = 0, b = 1, i;
	for (i = 0; i < 30; i++) {
		yielded = a;
		co_switch(&gen_co, &main_co);
		uint32_t t = a + b;
		a = b;
		b = t;
	}
	yielded = 0xFFFFFFFF;
	for (;;)
		co_switch(&gen_co, &main_co);
}

static void test_contexts(void)
{
	volatile int rounds = 0;
	int r;
	kprintf("setjmp/longjmp and coroutines:\n");
	r = ctx_save(catcher);
	rounds++;
	if (r == 0) {
		dive(0);
		kprintf("  FAIL dive returned\n");
		failures++;
	}
	check("longjmp value", (u64)r, 2500);
	check("depth reached", (u64)depth_reached, 25);
	check("rounds", (u64)rounds, 2);

	/* a fresh context: co_switch's ret lands straight on generator(),
	 * which sees 0xDEAD0001 as its (never used) return address */
	uint32_t *sp;
	sp = &gen_stack[1024];
	*--sp = 0xDEAD0001;
	*--sp = (uint32_t)generator;
	gen_co.esp = (uint32_t)sp;

	uint32_t sum = 0, count = 0, last = 0;
	for (;;) {
		co_switch(&main_co, &gen_co);
		if (yielded == 0xFFFFFFFF)
			break;
		sum += yielded;
		last = yielded;
		count++;
	}
	check("coroutine yields", count, 30);
	check("coroutine last fib", last, 514229);
	check("coroutine sum", sum, 1346268);
}

/* ---------------------------------------------------------------- strings test */

static void test_strings(void)
{
	char a[64], b[64];
	char big[100];
	int i;
	kprintf("strings:\n");
	my_strcpy(a, "the quick brown fox");
	check("strlen", my_strlen(a), 19);
	my_strcpy(b, a);
	check("strcmp equal", (u64)(my_strcmp(a, b) == 0), 1);
	b[4] = 'Q';
	check("strcmp less", (u64)(my_strcmp(b, a) < 0), 1);
	my_reverse(b);
	kprintf("  reversed: %s\n", b);
	for (i = 0; i < 100; i++)
		big[i] = (char)('a' + i % 26);
	my_memmove(big + 10, big, 50);  /* overlapping forward */
	my_memmove(big + 60, big + 70, 20); /* overlapping backward */
	big[99] = 0;
	kprintf("  memmove: %s\n", big);
	my_memset(a, '#', 10);
	a[10] = 0;
	my_memcpy(a + 3, "xyz", 3);
	kprintf("  memset/memcpy: %s\n", a);
	kprintf("  format: [%5d] [%05u] [%x] [%X] [%d] [%c] [%s]\n", -42, 42u, 0xbeefu,
		0xbeefu, -2147483647 - 1, 'Z', "str");
}

/* ---------------------------------------------------------------- 64-bit */

static void test_u64(void)
{
	u64 f = 1;
	s64 s;
	unsigned i;
	volatile unsigned sh;
	kprintf("64-bit arithmetic:\n");
	for (i = 2; i <= 20; i++)
		f *= i;
	check("20!", f, 2432902008176640000ull);
	check("20! / 19!", f / 121645100408832000ull, 20);
	check("20! % 1000000007", f % 1000000007ull, 146326063);
	s = -(s64)f;
	kprintf("  -20! = %lld\n", s);
	kprintf("  -20! / 7 = %lld, %% 7 = %lld\n", s / 7, s % 7);
	check("(-2^62)/-3", (u64)(((s64)0 - (s64)(1ull << 62)) / -3), 1537228672809129301ull);
	sh = 37;
	check("1 << 37", 1ull << sh, 137438953472ull);
	check("big >> 37", 0xFEDCBA9876543210ull >> sh, 0x7F6E5D4ull);
	check("signed >> 37", (u64)((s64)0xFEDCBA9876543210ull >> sh), 0xFFFFFFFFFFF6E5D4ull);
	u64 x = 0x123456789ABCDEFull, acc = 0;
	for (i = 0; i < 100; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		acc ^= x >> (i % 64);
		acc += x / (i + 1);
	}
	kprintf("  lcg x=%llx acc=%llx\n", x, acc);
	check("u64 compare", (u64)(0x100000000ull > 0xFFFFFFFFull), 1);
	check("s64 compare", (u64)((s64)-1 < (s64)0), 1);
}

/* ---------------------------------------------------------------- x87 */

static void test_x87(void)
{
	double sum = 0.0, x = 2.0, r = 1.0;
	int k;
	kprintf("x87:\n");
	for (k = 1; k <= 1000; k++)
		sum += 1.0 / ((double)k * (double)k);
	for (k = 0; k < 30; k++)
		r = 0.5 * (r + x / r); /* sqrt(2) */
	check("sum 1/k^2 * 1e9", (u64)(sum * 1e9), 1643934566ull);
	check("sqrt2 * 1e9", (u64)(r * 1e9), 1414213562ull);
}

/* ---------------------------------------------------------------- multiboot */

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
};

void c_main(const struct mb_info *mbi, uint32_t magic)
{
	serial_setup();
	kprintf("c_o0: -O0 C guest, magic %x\n", magic);
	if (magic != 0x2BADB002) {
		kprintf("c_o0: FAIL bad magic\n");
		finish(0x21);
	}
	if (mbi->flags & 1)
		kprintf("memory: lower %u KiB, upper %u KiB\n", mbi->mem_lower, mbi->mem_upper);
	if (mbi->flags & 4)
		kprintf("cmdline: \"%s\"\n", (const char *)mbi->cmdline);
	test_strings();
	test_vm();
	test_recursion();
	test_contexts();
	test_u64();
	test_x87();
	if (failures != 0) {
		kprintf("c_o0: FAIL (%d)\n", failures);
		finish(0x22);
	}
	kprintf("c_o0: PASS\n");
	finish(0x20);
}
