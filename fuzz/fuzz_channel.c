/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for the channel frame parser (lib/channel.c) and the
 * payload reader (mr_*): the bytes one daemon reads from another.
 *
 * The input is a list of records, u8 ctl, u16 length (little endian),
 * then that many bytes, written in order into the far end of a socketpair
 * (with a descriptor attached by SCM_RIGHTS when ctl & 1); the channel
 * reads after each record, then sees EOF. Every message is read with the
 * mr_* functions in an order chosen from its bytes. Asserted: payloads
 * are bounded, a passed descriptor is valid, reads never go past the
 * payload, and no descriptor is leaked once the channel is gone. */
#include <sys/socket.h>
#include <sys/stat.h>

#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "event.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int lowest_free_fd;
static bool closed;

static void
on_msg(struct channel *c, struct chan_msg *m, void *arg)
{
	struct msgreader r;
	struct stat st;
	size_t i, n;
	const char *s;

	(void)c;
	(void)arg;
	assert(m->len <= CHAN_MAX_PAYLOAD);
	if (m->fd != -1)
		assert(fstat(m->fd, &st) == 0);
	mr_init(&r, m);
	for (i = m->type; !r.err && r.off < r.len; i = i * 7 + 3) {
		switch (i % 4) {
		case 0: (void)mr_u32(&r); break;
		case 1: (void)mr_u64(&r); break;
		case 2:
			s = mr_str(&r);
			assert(strlen(s) < m->len || s[0] == '\0');
			break;
		case 3:
			(void)mr_bytes(&r, &n);
			assert(n <= m->len);
			break;
		}
		assert(r.off <= r.len);
	}
	if ((m->type & 3) == 1 && m->fd != -1) {
		/* A handler that takes the descriptor. */
		close(m->fd);
		m->fd = -1;
	}
}

static void
on_close(struct channel *c, void *arg)
{
	(void)c;
	(void)arg;
	closed = true;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	ev_init();
	lowest_free_fd = open("/dev/null", O_RDONLY);
	assert(lowest_free_fd >= 0);
	close(lowest_free_fd);
	return 0;
}

static void
send_record(int fd, const uint8_t *p, size_t len, bool with_fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { (void *)(uintptr_t)p, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int nfd = -1;

	if (with_fd) {
		nfd = open("/dev/null", O_RDONLY);
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		cm.hdr.cmsg_len = CMSG_LEN(sizeof(int));
		cm.hdr.cmsg_level = SOL_SOCKET;
		cm.hdr.cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(&cm.hdr), &nfd, sizeof(int));
	}
	/* The socket buffers hold far more than one record (65535 bytes):
	 * a record goes in whole or the channel has hung up. */
	(void)sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (nfd != -1)
		close(nfd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct channel *c;
	int sv[2], i, fd;
	int bufsz = 1 << 20;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	closed = false;
	c = chan_new(sv[0], "fuzz", on_msg, on_close, NULL);
	while (in.len > 0 && !closed) {
		uint8_t ctl = fuzz_u8(&in);
		size_t n = fuzz_u16(&in);
		const uint8_t *p = fuzz_take(&in, &n);

		send_record(sv[1], p, n, ctl & 1);
		if (chan_read(c) == -1)
			assert(closed);
	}
	shutdown(sv[1], SHUT_WR);
	/* EOF must close the channel; bounded in case frames remain. */
	for (i = 0; i < 64 && !closed; i++)
		(void)chan_read(c);
	assert(closed);
	close(sv[1]);
	fd = open("/dev/null", O_RDONLY);
	assert(fd == lowest_free_fd);
	close(fd);
	return 0;
}
