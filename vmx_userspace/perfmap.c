/* perf's two views of code made at run time, fed by the monitor's
 * fragment-created events: -perf-map's perf-PID.map (one "START SIZE NAME"
 * line, hex, per fragment, in the order they are made, so a sample at
 * any point of the run finds the fragments made before it) and -jitdump's
 * jit-PID.dump (tools/perf/Documentation/jitdump-specification.txt: a
 * header, then one JIT_CODE_LOAD record per fragment with its bytes, for
 * `perf inject --jit`). Names carry the guest PC, CPL and generation, and
 * the guest kernel's symbol where it has one.
 * Environment: VMX; perfmap_fragment runs inside uworld's host-call bracket
 * from the monitor, perfmap_flush_signal in the exit-signal handler. */
#define _GNU_SOURCE
#include "perfmap.h"
#include "guest_syms.h"
#include "outfile.h"
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct outfile map = { .fd = -1 }, dump = { .fd = -1 };
static char map_path[64], dump_path[64];
static char write_err[512];   /* the first failed write: reported at close */

/* Each file's records wait here and go out in large writes rather than a
 * few system calls per fragment (a Linux boot makes some 85 000). They are
 * written when the buffer fills, when the guest idles (perfmap_flush), at
 * the end, and by perfmap_flush_signal when a signal ends vmx: a record is
 * counted in `n` only once all its bytes are in, so what `n` covers is
 * always whole records. */
#define PENDING_BYTES (64u << 10)
struct pending {
	struct outfile *of;
	volatile size_t n;
	volatile bool writing;   /* flush() is under way: the signal path keeps off */
	char buf[PENDING_BYTES];
};
static struct pending map_out = { .of = &map }, dump_out = { .of = &dump };

static void flush(struct pending *p)
{
	p->writing = true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (p->n && !write_err[0])
		outfile_put(p->of, p->buf, p->n, write_err, sizeof write_err);
	p->n = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	p->writing = false;
}

/* One record of up to three parts. */
static void put(struct pending *p, const void *a, size_t alen, const void *b, size_t blen,
		const void *c, size_t clen)
{
	size_t len = alen + blen + clen, n = p->n;
	if (n + len > sizeof p->buf) {
		flush(p);
		n = 0;
	}
	if (len > sizeof p->buf) {
		if (!write_err[0] && outfile_put(p->of, a, alen, write_err, sizeof write_err) == 0 &&
		    outfile_put(p->of, b, blen, write_err, sizeof write_err) == 0)
			outfile_put(p->of, c, clen, write_err, sizeof write_err);
		return;
	}
	memcpy(p->buf + n, a, alen);
	memcpy(p->buf + n + alen, b, blen);
	memcpy(p->buf + n + alen + blen, c, clen);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	p->n = n + len;
}

void perfmap_flush(void)
{
	flush(&map_out);
	flush(&dump_out);
}

void perfmap_flush_signal(void)
{
	struct pending *ps[] = { &map_out, &dump_out };
	for (unsigned i = 0; i < 2; i++) {
		struct pending *p = ps[i];
		if (p->of->fd < 0 || p->writing)
			continue;
		for (size_t done = 0, n = p->n; done < n;) {
			ssize_t w = write(p->of->fd, p->buf + done, n - done);
			if (w <= 0)
				break;
			done += (size_t)w;
		}
		p->n = 0;
	}
}

static uint64_t code_index;   /* jitdump: one per record, so each generation has its own */
static void *dump_marker = MAP_FAILED;

/* The spec's layout (all fields host-endian). */
#define JITDUMP_MAGIC   0x4A695444u   /* "JiTD" */
#define JITDUMP_VERSION 1u
#define JIT_CODE_LOAD   0u
struct jitdump_header {
	uint32_t magic, version, total_size, elf_mach, pad1, pid;
	uint64_t timestamp, flags;
};
struct jitdump_load {
	uint32_t id, total_size;
	uint64_t timestamp;
	uint32_t pid, tid;
	uint64_t vma, code_addr, code_size, code_index;
	/* then the name, NUL-terminated, then the code */
};
_Static_assert(sizeof(struct jitdump_header) == 40, "jitdump header");
_Static_assert(sizeof(struct jitdump_load) == 56, "JIT_CODE_LOAD record");

/* perf record's default clock for jitdump timestamps. */
static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int jitdump_open(char *err, size_t errlen)
{
	snprintf(dump_path, sizeof dump_path, "/tmp/jit-%d.dump", (int)getpid());
	if (outfile_open_log(&dump, "-jitdump", dump_path, err, errlen) != 0)
		return -1;
	/* The code is 32-bit x86, whatever the vmx process is. */
	struct jitdump_header h = { .magic = JITDUMP_MAGIC, .version = JITDUMP_VERSION,
				    .total_size = sizeof h, .elf_mach = EM_386,
				    .pid = (uint32_t)getpid(), .timestamp = mono_ns() };
	if (outfile_put(&dump, &h, sizeof h, err, errlen) != 0)
		return -1;
	/* perf record finds the dump by this executable mapping of it, which
	 * it sees as an mmap event of the process. Mapping needs a readable
	 * descriptor: the one just written, opened again and checked. */
	int rfd = open(dump_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat a, b;
	if (rfd >= 0 && fstat(rfd, &a) == 0 && fstat(dump.fd, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		dump_marker = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_EXEC, MAP_PRIVATE,
				   rfd, 0);
	else
		errno = rfd >= 0 ? EEXIST : errno;
	if (rfd >= 0)
		close(rfd);
	if (dump_marker == MAP_FAILED) {
		snprintf(err, errlen, "vmx: -jitdump %s: cannot map it for perf to find: %s", dump_path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int perfmap_open(const char *kernel, bool perf_map, bool jitdump, char *err, size_t errlen)
{
	if (perf_map) {
		snprintf(map_path, sizeof map_path, "/tmp/perf-%d.map", (int)getpid());
		if (outfile_open_log(&map, "-perf-map", map_path, err, errlen) != 0)
			return -1;
	}
	if (jitdump && jitdump_open(err, errlen) != 0)
		return -1;
	guest_syms_load(kernel);
	return 0;
}

/* guest_PC_cplN_gG, then [symbol+0xOFF] when the guest's ELF names the
 * linear address (a symbol's own address without +0x0). */
static int fragment_name(char *buf, size_t len, const struct world_fragment *f)
{
	int n = snprintf(buf, len, "guest_%08x_cpl%u_g%u", f->eip, f->cpl, f->generation);
	uint32_t off;
	const char *sym = guest_sym_at(f->cs_base + f->eip, &off);
	if (sym && n > 0 && (size_t)n < len)
		n += off ? snprintf(buf + n, len - (size_t)n, "[%s+0x%x]", sym, off)
			 : snprintf(buf + n, len - (size_t)n, "[%s]", sym);
	return n;
}

static void jitdump_load(const struct world_fragment *f, const char *name)
{
	size_t nlen = strlen(name) + 1;
	struct jitdump_load r = { .id = JIT_CODE_LOAD, .total_size = (uint32_t)(sizeof r + nlen + f->tc_len),
				  .timestamp = mono_ns(), .pid = (uint32_t)getpid(), .tid = (uint32_t)gettid(),
				  .vma = f->tc, .code_addr = f->tc, .code_size = f->tc_len,
				  .code_index = ++code_index };
	/* The TC is mapped at its linear address in this process. */
	const void *code = (const void *)(uintptr_t)f->tc;
	put(&dump_out, &r, sizeof r, name, nlen, code, f->tc_len);
}

void perfmap_fragment(const struct world_fragment *f)
{
	if ((map.fd < 0 && dump.fd < 0) || write_err[0])
		return;
	char name[256], line[320];
	fragment_name(name, sizeof name, f);
	if (map.fd >= 0) {
		int n = snprintf(line, sizeof line, "%x %x %s\n", f->tc, f->tc_len, name);
		if (n > 0 && (size_t)n < sizeof line)
			put(&map_out, line, (size_t)n, "", 0, "", 0);
	}
	if (dump.fd >= 0)
		jitdump_load(f, name);
}

int perfmap_close(char *err, size_t errlen)
{
	int rc = 0;
	perfmap_flush();
	if (dump_marker != MAP_FAILED) {
		munmap(dump_marker, (size_t)sysconf(_SC_PAGESIZE));
		dump_marker = MAP_FAILED;
	}
	if (map.fd >= 0 && outfile_close_log(&map, err, errlen) != 0)
		rc = -1;
	if (dump.fd >= 0 && outfile_close_log(&dump, err, errlen) != 0)
		rc = -1;
	if (write_err[0]) {
		snprintf(err, errlen, "%s", write_err);
		rc = -1;
	}
	return rc;
}
