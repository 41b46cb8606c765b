/* The host end of the guest's COM1: raw-mode terminal handling for stdin,
 * non-blocking input with the Ctrl-A escape (x quits, c switches to the
 * live monitor and back with -monitor stdio, Ctrl-A passes one Ctrl-A),
 * and unbuffered output to stdout. Environment: host code, and
 * console_restore_signal in the handlers of signals that end vmx. */
#include "vmx.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CTRL_A 0x01

static struct termios saved_tio;
/* Read by console_restore_signal in signal handlers. */
static volatile sig_atomic_t tio_saved;
static bool atexit_done;
static bool input_eof;
static bool escape_pending;   /* last byte seen was an unconsumed Ctrl-A */
static bool to_monitor;       /* -monitor stdio: Ctrl-A c sent input to the monitor */
static int eof_char = -1;     /* sent once at the end of input; -1: none */
static uint64_t last_output_ms;
#define EOF_QUIET_MS 500      /* and silent this long: a prompt is waiting */

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void console_set_eof_char(int c)
{
	eof_char = c;
}

void console_restore(void)
{
	if (!tio_saved)
		return;
	/* TCSADRAIN: let the guest's last output reach the terminal under
	 * the mode it was written in. */
	tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
	tio_saved = false;
}

void console_restore_signal(void)
{
	/* TCSANOW: TCSADRAIN could wait forever on a terminal that is hung
	 * up or stopped by flow control, and vmx is ending anyway. */
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

void console_init(void)
{
	struct termios t;

	input_eof = fcntl(STDIN_FILENO, F_GETFD) < 0;
	escape_pending = false;
	if (input_eof || tio_saved || !isatty(STDIN_FILENO) ||
	    tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return;
	t = saved_tio;
	/* Like QEMU's stdio chardev: raw input so every key (Ctrl-C, Ctrl-Z,
	 * Ctrl-S...) reaches the guest, but output post-processing kept so a
	 * guest's bare "\n" still starts a new line on the terminal. */
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_oflag |= OPOST;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	/* Marked saved first: a signal arriving as raw mode takes effect
	 * must still find the mode to restore. */
	tio_saved = true;
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0) {
		tio_saved = false;
		return;
	}
	if (!atexit_done && atexit(console_restore) == 0)
		atexit_done = true;
}

void console_write(const uint8_t *buf, size_t n)
{
	if (eof_char >= 0)
		last_output_ms = now_ms();
	while (n) {
		ssize_t w = write(STDOUT_FILENO, buf, n);
		if (w > 0) {
			buf += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* stdout may be a non-blocking fd shared with another
			 * process; wait instead of dropping guest output. */
			struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };
			if (poll(&p, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		/* A closed or failing stdout cannot be fixed from here; losing
		 * output beats stalling the guest. */
		return;
	}
}

int console_input_fd(void)
{
	return input_eof ? -1 : STDIN_FILENO;
}

size_t console_read(uint8_t *buf, size_t n, bool waiting, bool *quit)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	ssize_t r;
	size_t out = 0;

	if (n == 0)
		return 0;
	if (input_eof) {
		/* A serial line has no end of file: say it the way a terminal
		 * user does, once, so a guest's shell reading a script ends.
		 * Not while the guest is still talking: a kernel opens and
		 * resets the port during boot, long before a shell reads it. */
		if (eof_char < 0 || !waiting || now_ms() - last_output_ms < EOF_QUIET_MS)
			return 0;
		buf[0] = (uint8_t)eof_char;
		eof_char = -1;
		return 1;
	}
	/* poll instead of O_NONBLOCK: the flag would be shared with the shell
	 * through the inherited open file description (even via dup) and
	 * could be left set if vmx dies. One read after POLLIN never blocks. */
	r = poll(&p, 1, 0);
	if (r <= 0)
		return 0;
	if (p.revents & POLLNVAL) {
		input_eof = true;
		return 0;
	}
	r = read(STDIN_FILENO, buf, n);
	if (r < 0) {
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			input_eof = true;   /* e.g. EIO after a terminal hangup */
		return 0;
	}
	if (r == 0) {
		input_eof = true;
		escape_pending = false;
		return 0;
	}
	/* Filter in place: the output never outgrows the input. */
	for (size_t i = 0; i < (size_t)r; i++) {
		uint8_t c = buf[i];
		if (escape_pending) {
			escape_pending = false;
			if (c == 'x') {
				if (quit)
					*quit = true;
				return out;
			}
			if (c == 'c' && livemon_stdio()) {
				to_monitor = !to_monitor;
				if (to_monitor)
					livemon_greet();
				continue;
			}
			if (to_monitor)
				livemon_input(&c, 1);
			else
				buf[out++] = c;   /* Ctrl-A itself, or the key after an unknown escape */
		} else if (c == CTRL_A) {
			escape_pending = true;
		} else if (to_monitor) {
			livemon_input(&c, 1);
		} else {
			buf[out++] = c;
		}
	}
	return out;
}
