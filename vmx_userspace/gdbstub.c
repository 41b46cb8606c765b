/* The gdb stub (-gdb tcp::PORT, -s, -S): gdb's remote serial protocol over
 * one TCP connection on 127.0.0.1. Registers in gdb's i386 order, guest
 * linear memory, software and hardware breakpoints, write, read and
 * access watchpoints, single step, continue, Ctrl-C, detach and kill, the target description;
 * the monitor does the work behind include/vmm_debug.h. gdb_poll runs at
 * the monitor's poll points (a connection or a Ctrl-C asks for a stop),
 * gdb_session with the guest stopped. Environment: host code (libc), from the world's debug hooks. */
#define _GNU_SOURCE
#include "vmx.h"
#include "vmm_debug.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PKT_MAX 4096          /* what qSupported offers as PacketSize (hex 0x1000) */

static int lfd = -1, cfd = -1;
static bool noack;
static bool running;          /* gdb resumed the guest and waits for a stop reply */
static bool gone;             /* the connection closed while the guest ran */
static char in[2 * PKT_MAX + 16];
static size_t inlen;

int gdb_open(const char *spec, char *err, size_t errlen)
{
	const char *port = NULL;
	if (!strncmp(spec, "tcp::", 5))
		port = spec + 5;
	else if (!strncmp(spec, "tcp:127.0.0.1:", 14))
		port = spec + 14;
	else if (!strncmp(spec, "tcp:localhost:", 14))
		port = spec + 14;
	char *end;
	unsigned long p = port ? strtoul(port, &end, 10) : 0;
	if (!port || !*port || *end || p == 0 || p > 65535) {
		snprintf(err, errlen, "vmx: -gdb: '%s' is not tcp::PORT (the stub listens on 127.0.0.1 only)", spec);
		return -1;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 1) != 0) {
		snprintf(err, errlen, "vmx: -gdb: cannot listen on 127.0.0.1:%lu: %s", p, strerror(errno));
		if (lfd >= 0)
			close(lfd);
		lfd = -1;
		return -1;
	}
	return 0;
}

int gdb_listen_fd(void) { return lfd; }

static bool take_client(void)
{
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return false;
	int one = 1;
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	noack = false;
	running = false;
	inlen = 0;
	return true;
}

static void drop_client(void)
{
	if (cfd >= 0)
		close(cfd);
	cfd = -1;
	running = false;
}

/* More input; timeout as poll's. false: the connection is gone. */
static bool fill(int timeout_ms)
{
	struct pollfd p = { .fd = cfd, .events = POLLIN };
	int r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR;
	if (r == 0)
		return true;
	if (inlen == sizeof in)
		inlen = 0;          /* garbage that never formed a packet */
	ssize_t n = read(cfd, in + inlen, sizeof in - inlen);
	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	inlen += (size_t)n;
	return true;
}

static void consume(size_t n)
{
	memmove(in, in + n, inlen - n);
	inlen -= n;
}

static void send_all(const char *b, size_t n)
{
	while (n && cfd >= 0) {
		ssize_t w = write(cfd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			drop_client();
			return;
		}
		b += w;
		n -= (size_t)w;
	}
}

static char last[2 * PKT_MAX + 8];
static size_t lastlen;

static void reply(const char *payload)
{
	unsigned sum = 0;
	size_t n = 0, len = strlen(payload);
	if (len > sizeof last - 5)
		len = sizeof last - 5;
	last[n++] = '$';
	for (size_t i = 0; i < len; i++) {
		last[n++] = payload[i];
		sum += (unsigned char)payload[i];
	}
	n += (size_t)snprintf(last + n, sizeof last - n, "#%02x", sum & 0xff);
	lastlen = n;
	send_all(last, n);
}

bool gdb_poll(void)
{
	if (cfd < 0) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		return lfd >= 0 && poll(&p, 1, 0) > 0 && take_client();   /* gdb finds the guest stopped */
	}
	if (!fill(0)) {
		drop_client();
		gone = true;       /* its breakpoints go at the stop */
		return true;
	}
	for (size_t i = 0; i < inlen; i++)
		if (in[i] == 0x03) {
			memmove(in + i, in + i + 1, inlen - i - 1);
			inlen--;
			return true;
		}
	return false;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The next packet's payload (NUL-terminated) into pkt; false: connection gone. */
static bool read_packet(char *pkt, size_t cap)
{
	for (;;) {
		size_t i = 0;
		while (i < inlen && in[i] != '$') {
			if (in[i] == '-' && lastlen)
				send_all(last, lastlen);
			i++;        /* acks, and Ctrl-C while stopped */
		}
		consume(i);
		char *hash = inlen ? memchr(in, '#', inlen) : NULL;
		if (hash && (size_t)(hash - in) + 3 <= inlen) {
			size_t n = (size_t)(hash - in) - 1;
			unsigned sum = 0;
			for (size_t k = 1; k <= n; k++)
				sum += (unsigned char)in[k];
			int want = hexval(hash[1]) << 4 | hexval(hash[2]);
			bool ok = (int)(sum & 0xff) == want && n < cap;
			if (ok) {
				memcpy(pkt, in + 1, n);
				pkt[n] = 0;
			}
			consume(n + 4);
			if (!noack)
				send_all(ok ? "+" : "-", 1);
			if (ok)
				return true;
			continue;
		}
		if (!fill(-1) || cfd < 0)
			return false;
	}
}

static void hex_u32(char *out, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		sprintf(out + 2 * i, "%02x", (v >> (8 * i)) & 0xff);
}

static bool parse_hex(const char **p, uint32_t *v)
{
	uint32_t x = 0;
	int n = 0, d;
	while ((d = hexval(**p)) >= 0) {
		x = x << 4 | (uint32_t)d;
		(*p)++;
		n++;
	}
	*v = x;
	return n > 0;
}

static uint32_t le32_hex(const char *s)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1])) << (8 * i);
	return v;
}

static void stop_reply(const struct vmm_dbg_stop *why, bool asked)
{
	char b[64];
	switch (why->reason) {
	case VMM_DBG_BREAK: reply("T05swbreak:;"); break;
	case VMM_DBG_HWBREAK: reply("T05hwbreak:;"); break;
	case VMM_DBG_WATCH: case VMM_DBG_READ_WATCH: case VMM_DBG_ACCESS_WATCH:
		snprintf(b, sizeof b, "T05%s:%08x;", why->reason == VMM_DBG_WATCH ? "watch" :
			 why->reason == VMM_DBG_READ_WATCH ? "rwatch" : "awatch", why->addr);
		reply(b);
		break;
	case VMM_DBG_REQUEST: reply(asked ? "T02" : "T05"); break;
	default: reply("T05"); break;
	}
}

static void cmd_memory(char *pkt, char *out)
{
	const char *p = pkt + 1;
	uint32_t addr, len;
	if (!parse_hex(&p, &addr) || *p++ != ',' || !parse_hex(&p, &len)) {
		strcpy(out, "E01");
		return;
	}
	static uint8_t buf[PKT_MAX];
	if (pkt[0] == 'm') {
		if (len > PKT_MAX / 2)
			len = PKT_MAX / 2;
		if (!vmm_dbg_read(addr, buf, len)) {
			strcpy(out, "E14");
			return;
		}
		for (uint32_t i = 0; i < len; i++)
			sprintf(out + 2 * i, "%02x", buf[i]);
		out[2 * len] = 0;
		return;
	}
	if (*p++ != ':' || len > sizeof buf || strlen(p) < 2 * (size_t)len) {
		strcpy(out, "E01");
		return;
	}
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(hexval(p[2 * i]) << 4 | hexval(p[2 * i + 1]));
	strcpy(out, vmm_dbg_write(addr, buf, len) ? "OK" : "E14");
}

static void cmd_point(char *pkt, char *out)
{
	const char *p = pkt + 1;
	uint32_t type, addr, len;
	if (!parse_hex(&p, &type) || *p++ != ',' || !parse_hex(&p, &addr) || *p++ != ',' || !parse_hex(&p, &len)) {
		strcpy(out, "E01");
		return;
	}
	int r = pkt[0] == 'Z' ? vmm_dbg_insert((enum vmm_dbg_point)type, addr, len)
			      : vmm_dbg_remove((enum vmm_dbg_point)type, addr, len);
	strcpy(out, r == 0 ? "OK" : r == -2 ? "" : "E22");
}

/* The target description gdb asks for (qXfer:features:read:target.xml):
 * i386 and its core feature, the registers in the order of 'g' (eax..edi,
 * eip, eflags, the six selectors) and the x87 registers the feature also
 * names, which this stub does not have ('p' answers E45, as without it).
 * No '#', '$', '}' or '*': the text goes into packets unescaped. */
static const char target_xml[] =
	"<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
	"<target version=\"1.0\">\n<architecture>i386</architecture>\n"
	"<feature name=\"org.gnu.gdb.i386.core\">\n"
	"<flags id=\"i386_eflags\" size=\"4\">\n"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
	"<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
	"<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
	"<field name=\"ID\" start=\"21\" end=\"21\"/>\n</flags>\n"
	"<reg name=\"eax\" bitsize=\"32\" type=\"int32\" regnum=\"0\"/>\n"
	"<reg name=\"ecx\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"edx\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ebx\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"esp\" bitsize=\"32\" type=\"data_ptr\"/>\n"
	"<reg name=\"ebp\" bitsize=\"32\" type=\"data_ptr\"/>\n"
	"<reg name=\"esi\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"edi\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"eip\" bitsize=\"32\" type=\"code_ptr\"/>\n"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>\n"
	"<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"</feature>\n</target>\n";

/* qXfer:features:read:ANNEX:OFFSET,LENGTH: 'm' and a part, 'l' and the
 * last part, E00 for another annex. */
static void cmd_xfer_features(const char *p, char *out, size_t outlen)
{
	static const char annex[] = "target.xml:";
	uint32_t off, len;
	if (strncmp(p, annex, sizeof annex - 1)) {
		strcpy(out, "E00");
		return;
	}
	p += sizeof annex - 1;
	if (!parse_hex(&p, &off) || *p++ != ',' || !parse_hex(&p, &len)) {
		strcpy(out, "E01");
		return;
	}
	size_t total = sizeof target_xml - 1;
	if (off > total) {
		strcpy(out, "E01");
		return;
	}
	size_t n = total - off;
	if (len > PKT_MAX - 8)
		len = PKT_MAX - 8;
	if (n > len)
		n = len;
	if (n + 2 > outlen)
		n = outlen - 2;
	out[0] = off + n < total ? 'm' : 'l';
	memcpy(out + 1, target_xml + off, n);
	out[1 + n] = 0;
}

/* An optional address to resume at ("c ADDR", "s ADDR"). */
static void resume_at(const char *p)
{
	uint32_t a;
	if (parse_hex(&p, &a))
		vmm_dbg_set_reg(8, a);
}

void gdb_exited(int status)
{
	if (cfd < 0)
		return;
	char b[16];
	snprintf(b, sizeof b, "W%02x", status & 0xff);
	if (running)
		reply(b);
	drop_client();
}

enum vmm_dbg_resume gdb_session(const struct vmm_dbg_stop *why, bool asked)
{
	static char pkt[2 * PKT_MAX + 16], out[2 * PKT_MAX + 16];
	if (gone) {
		gone = false;
		vmm_dbg_remove_all();
	}
	if (cfd < 0) {
		if (why->reason != VMM_DBG_START || lfd < 0)
			return VMM_DBG_RUN_CONT;
		fprintf(stderr, "vmx: waiting for gdb on 127.0.0.1 (-S)\n");
		while (!take_client())
			if (errno != EINTR && errno != ECONNABORTED)
				return VMM_DBG_RUN_CONT;
	}
	if (running)
		stop_reply(why, asked);
	running = false;
	for (;;) {
		if (!read_packet(pkt, sizeof pkt)) {
			drop_client();
			vmm_dbg_remove_all();
			return VMM_DBG_RUN_CONT;
		}
		out[0] = 0;
		uint32_t r[VMM_DBG_NREGS];
		switch (pkt[0]) {
		case '?':
			stop_reply(why, asked);
			continue;
		case 'g':
			vmm_dbg_get_regs(r);
			for (int i = 0; i < VMM_DBG_NREGS; i++)
				hex_u32(out + 8 * i, r[i]);
			out[8 * VMM_DBG_NREGS] = 0;
			break;
		case 'G':
			if (strlen(pkt + 1) < 8 * VMM_DBG_NREGS) {
				strcpy(out, "E01");
				break;
			}
			for (unsigned i = 0; i < VMM_DBG_NREGS; i++)
				vmm_dbg_set_reg(i, le32_hex(pkt + 1 + 8 * i));
			strcpy(out, "OK");
			break;
		case 'p': {
			const char *p = pkt + 1;
			uint32_t n;
			vmm_dbg_get_regs(r);
			if (!parse_hex(&p, &n))
				strcpy(out, "E01");
			else if (n < VMM_DBG_NREGS)
				hex_u32(out, r[n]), out[8] = 0;
			else
				strcpy(out, "E45");   /* no x87/SSE registers here */
			break;
		}
		case 'P': {
			const char *p = pkt + 1;
			uint32_t n;
			if (!parse_hex(&p, &n) || *p++ != '=' || strlen(p) < 8)
				strcpy(out, "E01");
			else
				strcpy(out, vmm_dbg_set_reg(n, le32_hex(p)) == 0 ? "OK" : "E22");
			break;
		}
		case 'm': case 'M':
			cmd_memory(pkt, out);
			break;
		case 'Z': case 'z':
			cmd_point(pkt, out);
			break;
		case 'c': case 's':
			resume_at(pkt + 1);
			running = true;
			return pkt[0] == 's' ? VMM_DBG_RUN_STEP : VMM_DBG_RUN_CONT;
		case 'D':
			reply("OK");
			vmm_dbg_remove_all();
			drop_client();
			return VMM_DBG_RUN_CONT;
		case 'k':
			drop_client();
			return VMM_DBG_RUN_QUIT;
		case 'H': case 'T':
			strcpy(out, "OK");
			break;
		case 'q':
			if (!strncmp(pkt, "qSupported", 10))
				snprintf(out, sizeof out, "PacketSize=%x;swbreak+;hwbreak+;QStartNoAckMode+;qXfer:features:read+",
					 PKT_MAX);
			else if (!strncmp(pkt, "qXfer:features:read:", 20))
				cmd_xfer_features(pkt + 20, out, sizeof out);
			else if (!strcmp(pkt, "qAttached"))
				strcpy(out, "1");
			else if (!strcmp(pkt, "qC"))
				strcpy(out, "QC1");
			else if (!strcmp(pkt, "qfThreadInfo"))
				strcpy(out, "m1");
			else if (!strcmp(pkt, "qsThreadInfo"))
				strcpy(out, "l");
			break;
		case 'Q':
			if (!strcmp(pkt, "QStartNoAckMode")) {
				reply("OK");
				noack = true;
				continue;
			}
			break;
		default:
			break;      /* empty: not supported */
		}
		reply(out);
	}
}
