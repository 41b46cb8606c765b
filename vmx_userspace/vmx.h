/* Interfaces between the parts of the vmx command (host side, libc allowed):
 * options, the multiboot loader, the console back-end and the statistics
 * report. main.c glues them to the world and the monitor. */
#ifndef VMX_H
#define VMX_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "world.h"

/* ---- options ---- */
#define VMX_DRIVES 4                 /* -drive index 0..3: primary master/slave, secondary master/slave */
struct vmx_drive {
	const char *path;        /* NULL: no drive at this index */
	bool readonly;
};

/* -world: where the monitor runs (README: the two worlds). */
enum vmx_world { VMX_WORLD_USER = 0, VMX_WORLD_VMMON, VMX_WORLD_AUTO };

struct vmx_options {
	const char *kernel;      /* -kernel FILE (required) */
	unsigned mem_mb;         /* -m MB, default 128, range [VMX_MEM_MIN_MB, VMX_MEM_MAX_MB] */
	const char *append;      /* -append CMDLINE, default "" */
	const char *initrd;      /* -initrd FILE (Linux) or "FILE ARGS,..." (multiboot modules), NULL: none */
	enum vmm_exec_mode mode; /* -mode bt|bt-direct|bt-all|te, default bt */
	const char *stats_path;  /* -stats FILE.json or "-" (table on stderr); NULL: none */
	const char *profile_path;/* -profile FILE.json; NULL: no profiling (and no counters in the TC) */
	bool perf_map;           /* -perf-map: /tmp/perf-PID.map names the translated code for perf */
	bool jitdump;            /* -jitdump: /tmp/jit-PID.dump holds it, bytes too, for perf inject --jit */
	unsigned trace_mask;     /* -trace LIST: comma separated names, see VMX_TRACE_* */
	unsigned tc_kb;          /* -tc-size KB: translation cache size, default 0 = built-in */
	bool testdev;            /* -device pc-testdev */
	enum vmm_machine machine;/* -machine isapc|pc, default isapc */
	struct vmx_drive drive[VMX_DRIVES]; /* -drive file=IMG,format=raw[,index=N][,readonly=on], -hda..-hdd */
	int console_eof;         /* -console-eof on|off: 1, 0; -1 (default): on unless stdin is a terminal */
	bool sandbox;            /* -sandbox on|off, default on */
	const char *gdb;         /* -gdb tcp::PORT (-s: tcp::1234); NULL: no gdb stub */
	bool wait_start;         /* -S: stop before the first instruction */
	const char *monitor;     /* -monitor stdio | unix:PATH; NULL: none */
	enum vmx_world world;    /* -world user|vmmon|auto, default user */
	bool world_given;        /* -world was on the command line: the world is named at start */
	enum vmx_limits { VMX_LIMITS_AUTO = 0, VMX_LIMITS_SOFT, VMX_LIMITS_CPU } limits; /* -limits auto|soft|cpu */
	bool soft_limits;        /* the run's choice (main.c): translated code checks segment limits */
	bool help;
};
#define VMX_MEM_MIN_MB 2u
#define VMX_MEM_MAX_MB 3072u
/* VMX_TRACE_* bits: include/world.h */
#define VMX_TRACE_ALL    0x3fu       /* "all" */
#define VMX_TC_MIN_KB 64u            /* -tc-size range */
#define VMX_TC_MAX_KB 3072u

/* Error messages written into `err` by this interface are complete lines
 * starting with "vmx: " and without a trailing newline. */

/* limits.c: 1 when the host CPU checks segment limits in compatibility
 * mode, 0 when it does not (software emulation), -1 when it cannot tell. */
int vmx_cpu_checks_limits(void);

/* Parses argv. On error writes a one-line message (no trailing newline
 * needed by caller) into err and returns -1. "-help"/"--help"/"-h" set help. */
int vmx_parse_options(int argc, char **argv, struct vmx_options *o, char *err, size_t errlen);
/* The full --help text. */
void vmx_print_help(void *stdio_file); /* a FILE * */

/* ---- boot loaders ---- */
struct boot_state {
	enum vmm_boot_protocol proto;
	uint32_t entry;          /* EIP */
	uint32_t eax, ebx;       /* multiboot: 0x2BADB002, physical address of the multiboot info */
	uint32_t esi;            /* Linux: physical address of boot_params */
	uint32_t load_lo, load_hi; /* the kernel's lowest and one-past-highest guest-physical bytes */
};
/* Loads the multiboot ELF `path` into guest RAM (ram[0..ram_size) is guest
 * physical 0..ram_size) with libelf, then `modules` (NULL: none; else
 * QEMU's -initrd syntax "FILE ARGS,FILE ARGS", ",," a comma, each item the
 * module's string) page aligned above it, builds the multiboot info (flags:
 * mem, cmdline, mods, mmap, boot loader name) in RAM neither uses, and
 * fills `bs`. On error writes a one-line message naming the problem into
 * err and returns -1. */
int multiboot_load(const char *path, uint8_t *ram, size_t ram_size, const char *cmdline,
		   const char *modules, struct boot_state *bs, char *err, size_t errlen);
/* The PC's physical memory map as QEMU's firmware reports it (types: 1 RAM,
 * 2 reserved); both loaders hand it to the kernel. Returns the entries. */
#define PC_RAM_TOP_RESERVED 0x20000u   /* ACPI tables on QEMU's PC: not usable RAM */
struct pc_mem_range { uint64_t base, len; uint32_t type; };
size_t pc_memory_map(uint64_t ram_size, struct pc_mem_range *map, size_t max);

/* True when the first n bytes of a file are a Linux setup header. */
bool bzimage_probe(const uint8_t *head, size_t n);
/* Loads a Linux bzImage by the 32-bit boot protocol: the protected-mode
 * kernel at 1 MiB, `initrd` (or NULL) at the top of usable RAM, boot_params
 * with the e820 map and `cmdline`. One-line message in err and -1 on error. */
int bzimage_load(const char *path, const char *initrd, uint8_t *ram, size_t ram_size,
		 const char *cmdline, struct boot_state *bs, char *err, size_t errlen);

/* The multiboot command line QEMU gives a -kernel guest: the kernel path as
 * given, a space, then the -append string (so "FILE " when append is empty).
 * Writes it like snprintf and returns the length it needs, excluding NUL. */
size_t multiboot_cmdline(char *buf, size_t len, const char *kernel, const char *append);

/* Loads -kernel (a bzImage or a multiboot kernel, with -initrd and -append)
 * into ram: the loaders above, chosen by the file's header. */
int vmx_load_kernel(const struct vmx_options *o, uint8_t *ram, uint32_t ram_size, struct boot_state *bs,
		    char *err, size_t errlen);

/* ---- the driver world (vmmon_world.c) ---- */
/* /dev/vmmon opened, its API checked: the fd, or -1 and a one-line err. */
int vmmon_world_open(char *err, size_t errlen);
/* The whole run in the driver world on that fd: returns vmx's exit status. */
int vmmon_world_main(int fd, const struct vmx_options *o);

/* ---- console: COM1 on stdin/stdout ---- */
/* Puts a terminal stdin into raw mode (restored by console_restore and at
 * exit via atexit); harmless when stdin is not a terminal or is closed. */
void console_init(void);
void console_restore(void);
/* console_restore for a signal handler about to end the process:
 * async-signal-safe (one tcsetattr), does not wait for output to drain.
 * Needs the host's FS base (libc reads %fs). */
void console_restore_signal(void);
/* Writes guest output bytes to stdout (unbuffered enough that output is not
 * lost at exit). */
void console_write(const uint8_t *buf, size_t n);
/* Non-blocking read of host input into buf; returns bytes read (0: none).
 * Handles the escape: Ctrl-A x sets *quit; Ctrl-A Ctrl-A passes one Ctrl-A.
 * At EOF on stdin, returns 0 forever and never blocks. */
size_t console_read(uint8_t *buf, size_t n, bool waiting, bool *quit);
/* -console-eof: at the end of host input, send `c` (Ctrl-D, the terminal's
 * end-of-file character) once, when the guest is `waiting` for input; a
 * negative value sends nothing. */
void console_set_eof_char(int c);
/* The fd to poll for input, or -1 when there is none (EOF or closed). */
int console_input_fd(void);

/* ---- disk images (disk.c) ---- */
/* Opens the raw image of drive `index` (read-write unless readonly) and
 * gives its size in 512-byte sectors; a one-line message in err and -1 if
 * it cannot be used. */
int disk_open(unsigned index, const char *path, bool readonly, uint64_t *sectors,
	      char *err, size_t errlen);
/* What world_ops' disk_read/disk_write/disk_flush do: 0 or -1. */
int disk_read(unsigned drive, uint64_t lba, void *buf, uint32_t count);
int disk_write(unsigned drive, uint64_t lba, const void *buf, uint32_t count);
int disk_flush(unsigned drive);
/* fdatasync and close every image; -1 if a sync failed. */
int disk_close_all(void);

/* ---- statistics report ---- */
/* Writes all registered counters (include/stats.h): as one flat JSON object
 * name -> integer to `path` (written as outfile.h says), or as an aligned
 * table to stderr if path is "-". Returns 0, or -1 with a message in err. */
int stats_report(const char *path, char *err, size_t errlen);
/* Opens the -stats file ahead of the run (so the sandbox need not allow
 * opening files): stats_report(path) then writes and commits it. Nothing
 * for "-" or NULL. 0, or -1 with a message in err. */
int stats_report_prepare(const char *path, char *err, size_t errlen);
/* Removes the prepared temporary (a report that will never be written):
 * async-signal-safe, for the handlers that end vmx. */
void stats_report_abandon_signal(void);

/* ---- the debugger: gdb stub (gdbstub.c), live monitor (livemon.c) ---- */
/* -gdb tcp::PORT: listen on 127.0.0.1:PORT. 0, or -1 with a message. */
int gdb_open(const char *spec, char *err, size_t errlen);
int gdb_listen_fd(void);
/* The VM stopped with `status`: a waiting gdb hears it exited (W). */
void gdb_exited(int status);
/* Whether gdb wants the guest stopped (a new connection, Ctrl-C). Never blocks. */
bool gdb_poll(void);
/* The stopped guest's gdb session; `asked`: gdb's Ctrl-C stopped it. */
enum vmm_dbg_resume gdb_session(const struct vmm_dbg_stop *why, bool asked);
/* -monitor stdio | unix:PATH. 0, or -1 with a message. */
int livemon_open(const char *spec, char *err, size_t errlen);
int livemon_listen_fd(void);
/* The monitor's socket path to remove at exit (NULL: none). */
void livemon_close(void);
/* -monitor stdio: console.c hands it the bytes typed after Ctrl-A c. */
bool livemon_stdio(void);
void livemon_input(const uint8_t *b, size_t n);
/* The banner and prompt (on switching to the monitor). */
void livemon_greet(void);
/* Whether a command line waits (or a client connected). Never blocks. */
bool livemon_poll(void);
/* Runs the waiting commands; `hold`: stay stopped until cont. */
enum vmm_dbg_resume livemon_session(const struct vmm_dbg_stop *why, bool hold);
/* debugger.c: the world's debug hooks (world_ops.debug_poll/debug_stopped). */
void debugger_enable(bool gdb, bool monitor);
bool debugger_poll(void);
enum vmm_dbg_resume debugger_stopped(const struct vmm_dbg_stop *why);

/* ---- the sandbox (sandbox.c) ---- */
/* Loads the seccomp filter allowing only the run loop's and the exit
 * path's system calls; any other one raises SIGSYS with si_code
 * SYS_SECCOMP. 0, or -1 with a one-line message in err. */
/* guest_exec: the world may make guest pages (below 4 GiB) executable.
 * accept_fds: listening sockets (-gdb, -monitor unix:) whose accept4
 * it allows, with TCP_NODELAY on what they accept; n may be 0. */
int sandbox_enter(bool guest_exec, const int *accept_fds, unsigned n, char *err, size_t errlen);
/* The SIGSYS handler's end for a call the filter refused (number `nr` of
 * audit architecture `arch`, made at `call_addr`): one line on stderr,
 * the terminal's mode back, exit status 4. Async-signal-safe. */
_Noreturn void sandbox_stopped(int nr, uint32_t arch, const void *call_addr);
/* For the CLI tests (VMX_TEST_SANDBOX_VIOLATION=1): one system call the
 * filter refuses (socket). */
void sandbox_test_violation(void);

#endif
