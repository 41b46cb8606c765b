/* The live monitor (-monitor stdio | unix:PATH): one command per line,
 * run with the guest stopped at an instruction boundary (a complete line
 * asks for a stop; the guest runs on after it unless the command was
 * stop). Output is built in memory and written in one go. On stdio it
 * shares the terminal with the console: console.c passes it what is typed
 * after Ctrl-A c. Environment: host code (libc, Zydis), from the world's
 * debug hooks and console_read. */
#define _GNU_SOURCE
#include "vmx.h"
#include "vmm_debug.h"
#include "bt.h"
#include "stats.h"
#include "report/fragment_text.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BANNER "vmx monitor - type 'help' for more information\n"
#define PROMPT "(vmx) "

static bool on_stdio;
static int lfd = -1, cfd = -1;
static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char line[512];
static size_t linelen;
static bool line_ready, greet;
static uint8_t pend[4096];    /* socket input not yet taken as lines */
static size_t npend;
static bool client_eof;       /* it sent everything: answer what is pending, then close */

bool livemon_stdio(void) { return on_stdio; }
int livemon_listen_fd(void) { return lfd; }

int livemon_open(const char *spec, char *err, size_t errlen)
{
	pf_disasm_init();
	if (!strcmp(spec, "stdio")) {
		on_stdio = true;
		return 0;
	}
	const char *p = spec + 5;           /* "unix:" */
	size_t n = strcspn(p, ",");
	if (!n || n >= sizeof path) {
		snprintf(err, errlen, "vmx: -monitor: '%s': the socket path is empty or too long", spec);
		return -1;
	}
	memcpy(path, p, n);
	path[n] = 0;
	for (const char *o = p + n; *o;) {
		o++;
		size_t k = strcspn(o, ",");
		if (!((k == 6 && !strncmp(o, "server", 6)) || (k == 6 && !strncmp(o, "nowait", 6)) ||
		      (k == 8 && !strncmp(o, "server=on", 8)) || (k == 9 && !strncmp(o, "wait=off", 8)))) {
			snprintf(err, errlen, "vmx: -monitor: unknown suffix '%.*s' (server, nowait)", (int)k, o);
			return -1;
		}
		o += k;
	}
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);           /* a previous run's */
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, path, n + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 1) != 0) {
		snprintf(err, errlen, "vmx: -monitor: cannot listen on %s: %s", path, strerror(errno));
		if (lfd >= 0)
			close(lfd);
		lfd = -1;
		path[0] = 0;
		return -1;
	}
	return 0;
}

void livemon_close(void)
{
	if (path[0])
		unlink(path);
	path[0] = 0;
}

static void out_raw(const char *b, size_t n)
{
	int fd = on_stdio ? STDOUT_FILENO : cfd;
	while (n && fd >= 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

/* Line editing (echoed on stdio, a raw terminal): backspace, Enter. */
static void edit(uint8_t c)
{
	{
		if (c == '\r' || c == '\n') {
			if (on_stdio)
				out_raw("\r\n", 2);
			line[linelen] = 0;
			line_ready = true;
		} else if ((c == 0x7f || c == 8) && linelen) {
			linelen--;
			if (on_stdio)
				out_raw("\b \b", 3);
		} else if (c >= 0x20 && c < 0x7f && linelen + 1 < sizeof line) {
			line[linelen++] = (char)c;
			if (on_stdio)
				out_raw((const char *)&c, 1);
		}
	}
}

void livemon_input(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n && npend < sizeof pend; i++)
		pend[npend++] = b[i];
}

void livemon_greet(void)
{
	out_raw(BANNER PROMPT, sizeof(BANNER PROMPT) - 1);
}

/* Socket input: whole lines; false when the client went away. */
static void close_client(void)
{
	close(cfd);
	cfd = -1;
	linelen = 0;
	npend = 0;
	client_eof = false;
}

static bool sock_read(int timeout_ms)
{
	if (client_eof)
		return false;
	struct pollfd p = { .fd = cfd, .events = POLLIN };
	if (poll(&p, 1, timeout_ms) <= 0)
		return true;
	if (npend == sizeof pend)
		npend = 0;          /* a line longer than anyone types */
	ssize_t n = read(cfd, pend + npend, sizeof pend - npend);
	if (n == 0) {
		client_eof = true;
		return false;
	}
	if (n < 0) {
		close_client();
		return false;
	}
	npend += (size_t)n;
	return true;
}

/* The next complete line of socket input, if there is one. */
static void take_line(void)
{
	size_t i = 0;
	while (i < npend && !line_ready)
		edit(pend[i++]);
	memmove(pend, pend + i, npend - i);
	npend -= i;
}

bool livemon_poll(void)
{
	if (!on_stdio) {
		if (cfd < 0) {
			struct pollfd p = { .fd = lfd, .events = POLLIN };
			if (lfd < 0 || poll(&p, 1, 0) <= 0)
				return false;
			cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd >= 0)
				greet = true;
			return false;
		}
		if (greet) {
			greet = false;
			livemon_greet();
		}
		sock_read(0);
	}
	take_line();
	if (!on_stdio && client_eof && !line_ready)
		close_client();
	return line_ready;
}

/* ---- the commands ---- */

static const char *const help_text =
	"help                  this list\n"
	"info registers        the guest's registers\n"
	"info tc               translation cache occupancy\n"
	"info fragments [N]    the N (10) hottest live fragments with -profile, else the newest\n"
	"info fragment PC      one fragment: guest code and its translation side by side\n"
	"info mmu              paging state and the shadow MMU's counters\n"
	"info counters [PFX]   every counter (whose name starts with PFX)\n"
	"tc flush              drop every translation\n"
	"stop                  keep the guest stopped\n"
	"cont                  let it run\n"
	"quit                  end vmx (status 0)\n";

static void info_registers(FILE *o)
{
	uint32_t r[VMM_DBG_NREGS];
	struct vmm_dbg_sysregs s;
	vmm_dbg_get_regs(r);
	vmm_dbg_get_sysregs(&s);
	fprintf(o, "EAX=%08x EBX=%08x ECX=%08x EDX=%08x\nESI=%08x EDI=%08x EBP=%08x ESP=%08x\n", r[0], r[3], r[1],
		r[2], r[6], r[7], r[5], r[4]);
	fprintf(o, "EIP=%08x EFL=%08x CPL=%u\n", r[8], r[9], s.cpl);
	fprintf(o, "CS=%04x SS=%04x DS=%04x ES=%04x FS=%04x GS=%04x\n", r[10], r[11], r[12], r[13], r[14], r[15]);
	fprintf(o, "GDT=%08x %05x IDT=%08x %05x\nCR0=%08x CR2=%08x CR3=%08x CR4=%08x\n", s.gdt_base, s.gdt_limit,
		s.idt_base, s.idt_limit, s.cr0, s.cr2, s.cr3, s.cr4);
}

static void info_tc(FILE *o)
{
	struct bt_tc_info t;
	bt_tc_info(&t);
	fprintf(o, "tc: %u of %u bytes used (%.1f%%), %u fragments since the last flush, %u live\n", t.tc_used,
		t.tc_size, t.tc_size ? 100.0 * t.tc_used / t.tc_size : 0.0, t.made, t.live);
	fprintf(o, "flushes: %llu; code pages traced: %u; execution counters: %s\n", (unsigned long long)t.flushes,
		t.pages_traced, t.profiling ? "on (-profile)" : "off");
}

static int by_execs(const void *x, const void *y)
{
	const struct bt_frag_info *a = x, *b = y;
	return a->execs != b->execs ? (a->execs > b->execs ? -1 : 1) : 0;
}

static void info_fragments(FILE *o, const char *arg)
{
	unsigned want = 10;
	if (*arg) {
		char *end;
		unsigned long v = strtoul(arg, &end, 10);
		if (*end || !v) {
			fprintf(o, "info fragments: '%s' is not a count\n", arg);
			return;
		}
		want = v > 1000 ? 1000 : (unsigned)v;
	}
	struct bt_tc_info t;
	bt_tc_info(&t);
	size_t cap = t.profiling ? (t.live ? t.live : 1) : want;
	struct bt_frag_info *v = calloc(cap, sizeof *v);
	if (!v)
		return;
	unsigned n = bt_fragment_list(v, (unsigned)cap);
	if (t.profiling)
		qsort(v, n, sizeof *v, by_execs);
	if (n > want)
		n = want;
	fprintf(o, "%s %u live fragments:\n", t.profiling ? "hottest" : "newest", n);
	fprintf(o, "  %-8s %-3s %-8s %5s %5s %6s%s\n", "pc", "cpl", "tc", "insns", "guest", "tc", t.profiling ? "  execs" : "");
	for (unsigned i = 0; i < n; i++) {
		fprintf(o, "  %08x %-3u %08x %5u %5u %6u", v[i].eip, v[i].cpl, v[i].tc, v[i].ninsn, v[i].glen, v[i].tc_len);
		if (t.profiling)
			fprintf(o, "  %llu", (unsigned long long)v[i].execs);
		fputc('\n', o);
	}
	free(v);
}

static void info_fragment(FILE *o, const char *arg)
{
	char *end;
	unsigned long pc = strtoul(arg, &end, 16);
	if (!*arg || *end) {
		fprintf(o, "info fragment: '%s' is not a guest PC (hex)\n", arg);
		return;
	}
	static struct bt_frag_insn map[4096];
	static struct prof_insn pmap[4096];
	static uint8_t tcb[1 << 16], guest[1 << 16];
	struct bt_frag_info f;
	unsigned n = bt_fragment_detail((uint32_t)pc, &f, map, 4096, tcb, sizeof tcb);
	if (!n) {
		fprintf(o, "info fragment: no live fragment at %08lx\n", pc);
		return;
	}
	uint32_t glen = f.glen < sizeof guest ? f.glen : sizeof guest;
	if (!vmm_dbg_read(f.cs_base + f.eip, guest, glen))
		memset(guest, 0, glen);
	for (unsigned i = 0; i < n; i++)
		pmap[i] = (struct prof_insn){ .goff = map[i].goff, .tcoff = map[i].tcoff, .cls = map[i].cls };
	struct pf_frag pf = { .pc = f.eip, .cs_base = f.cs_base, .tc = f.tc, .cpl = f.cpl, .insns = n, .glen = glen,
			      .tc_len = f.tc_len < sizeof tcb ? f.tc_len : sizeof tcb, .execs = f.execs,
			      .guest = guest, .tcb = tcb, .map = pmap };
	for (unsigned i = 0; i < n; i++)
		if (map[i].cls < PROF_NCLASSES)
			pf.mix[map[i].cls]++;
	pf_show_fragment(o, f.prologue, &pf, 1, 0);
}

static void info_counters(FILE *o, const char *prefix)
{
	size_t pl = strlen(prefix);
	for (unsigned i = 0; i < stats_count(); i++) {
		const stat_counter *c = stats_at(i);
		if (!strncmp(c->name, prefix, pl))
			fprintf(o, "%-40s %llu\n", c->name, (unsigned long long)c->value);
	}
}

static void info_mmu(FILE *o)
{
	struct vmm_dbg_sysregs s;
	vmm_dbg_get_sysregs(&s);
	fprintf(o, "paging %s (CR0=%08x CR3=%08x CR4=%08x), CPL %u\n", (s.cr0 & 0x80000000u) ? "on" : "off", s.cr0,
		s.cr3, s.cr4, s.cpl);
	info_counters(o, "mmu.");
}

enum { KEEP, CONT, STOP, QUIT };

/* Runs one line; what it does to the guest. */
static int run_command(FILE *o, char *cmd)
{
	while (*cmd == ' ')
		cmd++;
	size_t n = strlen(cmd);
	while (n && cmd[n - 1] == ' ')
		cmd[--n] = 0;
	char *arg = cmd + strcspn(cmd, " ");
	char *arg2 = arg + strspn(arg, " ");
	arg2 += strcspn(arg2, " ");
	arg2 += strspn(arg2, " ");
	if (!*cmd)
		return KEEP;
	if (!strcmp(cmd, "help") || !strcmp(cmd, "?"))
		fputs(help_text, o);
	else if (!strcmp(cmd, "info registers"))
		info_registers(o);
	else if (!strcmp(cmd, "info tc"))
		info_tc(o);
	else if (!strncmp(cmd, "info fragments", 14) && (!cmd[14] || cmd[14] == ' '))
		info_fragments(o, arg2);
	else if (!strncmp(cmd, "info fragment ", 14))
		info_fragment(o, arg2);
	else if (!strcmp(cmd, "info mmu"))
		info_mmu(o);
	else if (!strncmp(cmd, "info counters", 13) && (!cmd[13] || cmd[13] == ' '))
		info_counters(o, arg2);
	else if (!strcmp(cmd, "tc flush")) {
		vmm_dbg_flush_tc();
		fputs("tc flushed\n", o);
	} else if (!strcmp(cmd, "stop"))
		return STOP;
	else if (!strcmp(cmd, "cont") || !strcmp(cmd, "c"))
		return CONT;
	else if (!strcmp(cmd, "quit") || !strcmp(cmd, "q"))
		return QUIT;
	else {
		(void)arg;
		fprintf(o, "unknown command: '%.60s' (try help)\n", cmd);
	}
	return KEEP;
}

/* The console's part while held: what is typed goes to the monitor (in
 * monitor mode) or is dropped, the guest being stopped. */
static bool wait_input(void)
{
	if (!on_stdio) {
		if (cfd >= 0 && client_eof)
			close_client();
		if (cfd < 0) {
			/* Held with nobody connected: the next client says cont. */
			struct pollfd p = { .fd = lfd, .events = POLLIN };
			if (lfd < 0 || (poll(&p, 1, -1) < 0 && errno != EINTR))
				return false;
			if (p.revents & POLLIN) {
				cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				if (cfd >= 0)
					livemon_greet();
			}
			return true;
		}
		sock_read(-1);
		return true;
	}
	struct pollfd p = { .fd = console_input_fd(), .events = POLLIN };
	if (p.fd < 0 || poll(&p, 1, -1) < 0)
		return p.fd >= 0;
	uint8_t b[64];
	bool quit = false;
	console_read(b, sizeof b, false, &quit);
	return !quit;
}

enum vmm_dbg_resume livemon_session(const struct vmm_dbg_stop *why, bool hold)
{
	static bool held;
	(void)why;
	held |= hold;
	for (;;) {
		take_line();
		if (line_ready) {
			char *buf = NULL;
			size_t len = 0;
			FILE *o = open_memstream(&buf, &len);
			int r = o ? run_command(o, line) : KEEP;
			line_ready = false;
			linelen = 0;
			if (r == STOP)
				held = true, fputs("stopped\n", o);
			else if (r == CONT)
				held = false;
			if (r != QUIT)
				fputs(PROMPT, o);
			if (o) {
				fclose(o);
				out_raw(buf, len);
				free(buf);
			}
			if (r == QUIT)
				return VMM_DBG_RUN_QUIT;
			continue;
		}
		if (!held)
			return VMM_DBG_RUN_CONT;
		if (!wait_input()) {
			held = false;     /* nobody left to say cont */
			return VMM_DBG_RUN_CONT;
		}
	}
}
