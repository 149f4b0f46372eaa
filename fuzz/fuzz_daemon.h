/* SPDX-License-Identifier: ISC */
/* Shared by the per-daemon message harnesses (fuzz_<daemon>.c). Each one
 * includes lib/daemon.c and the daemon's main.c (main renamed), so the
 * real master-channel handler and the daemon's static channel handlers
 * are in reach, and links the daemon's other modules unchanged.
 *
 * The daemon gets its configuration the real way (M_CONFIG with a memfd
 * through lib/daemon.c's handler), its peers as socketpairs (the far ends
 * are drained and discarded), but never M_START: no privilege drop, no
 * event loop. Each input is then a list of messages, each
 *   u8 peer (which handler; bit 7: attach a descriptor),
 *   u8 type (an index into the handler's own types; 0xff: u16 raw type),
 *   u32 peerid, u16 length, the payload,
 * handed to the handler as the channel would (a descriptor left in the
 * message is closed after it). A harness whose daemon does not use
 * lib/daemon.c's glue the same way defines FUZZ_NO_DAEMON_C first. */
#ifndef EMPATH_FUZZ_DAEMON_H
#define EMPATH_FUZZ_DAEMON_H

#include <sys/mman.h>
#include <sys/socket.h>

#include <assert.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A memfd holding text (a configuration, a message file). */
static inline int
fuzz_memfd(const char *text)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	size_t len = strlen(text);

	assert(fd != -1);
	assert(write(fd, text, len) == (ssize_t)len);
	assert(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

#ifndef FUZZ_NO_DAEMON_C
/* Configure the daemon through the master's M_CONFIG. */
static inline void
fuzz_daemon_configure(const char *text)
{
	struct chan_msg m = { .type = M_CONFIG, .fd = fuzz_memfd(text) };

	master_msg(NULL, &m, NULL);
	if (m.fd != -1)
		close(m.fd);
	assert(daemon_config() != NULL);
	/* The configuration's log block must not make the run noisy. */
	fuzz_quiet_logs();
}

/* Offer a peer channel as the master does; returns the far end. */
static inline int
fuzz_daemon_peer(enum proc_id proc)
{
	int sv[2], big = 8 << 20;

	assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	ops->peer(proc, sv[0]);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	return sv[1];
}

#endif /* FUZZ_NO_DAEMON_C */

/* Send what a channel holds and throw it away at the far end. */
static inline void
fuzz_drain(struct channel *c, int far)
{
	static char buf[65536];

	if (c != NULL)
		(void)chan_flush(c);
	while (read(far, buf, sizeof(buf)) > 0)
		;
	if (c != NULL)
		(void)chan_flush(c);
	while (read(far, buf, sizeof(buf)) > 0)
		;
}

struct fuzz_msg {
	uint8_t peer;
	struct chan_msg m;
};

/* The next message of the input, or false at the end. types are the
 * handler's own message types (ntypes of them). */
static inline bool
fuzz_next_msg(struct fuzz_in *in, const uint16_t *types, size_t ntypes,
    struct fuzz_msg *fm, const char *fd_text)
{
	const uint8_t *p;
	uint8_t t, *copy;
	size_t n;

	if (in->len < 8)
		return false;
	fm->peer = fuzz_u8(in);
	t = fuzz_u8(in);
	fm->m.type = t == 0xff ? fuzz_u16(in) : types[t % ntypes];
	fm->m.peerid = fuzz_u32(in);
	fm->m.pid = 1;
	n = fuzz_u16(in);
	p = fuzz_take(in, &n);
	/* A copy of its own size, so that ASan sees a read past it. */
	copy = malloc(n ? n : 1);
	memcpy(copy, p, n);
	fm->m.data = copy;
	fm->m.len = n;
	fm->m.fd = (fm->peer & 0x80) ? fuzz_memfd(fd_text) : -1;
	fm->peer &= 0x7f;
	return true;
}

static inline void
fuzz_msg_done(struct fuzz_msg *fm)
{
	if (fm->m.fd != -1)
		close(fm->m.fd);
	fm->m.fd = -1;
	free((void *)(uintptr_t)fm->m.data);
	fm->m.data = NULL;
}

static inline void
fuzz_stop_loop(void *arg)
{
	(void)arg;
	ev_break();
}

/* One turn of the event loop, so that deferred frees and sends run. */
static inline void
fuzz_loop_turn(void)
{
	static struct ev_timer *t;

	if (t == NULL)
		t = ev_timer_new(fuzz_stop_loop, NULL);
	ev_timer_start(t, 0);
	(void)ev_run();
}

#define FUZZ_MESSAGE_FILE \
	"From: a@example.org\r\nTo: b@example.net\r\nSubject: fuzz\r\n\r\nbody\r\n"

#endif
