/* SPDX-License-Identifier: ISC */
/* Channel framing (lib/channel.c): one end of a socketpair is a channel,
 * the other is driven by hand with raw frames, so every byte the channel
 * sees is exactly what the test wrote. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fixture.h"
#include "channel.h"
#include "event.h"
#include "proto.h"
#include "util.h"

#define T_DATA 200        /* an arbitrary message type for test frames */

struct got {
	uint16_t type;
	uint32_t peerid, pid;
	int      fd;          /* -1, or the fd the handler saw (not taken) */
	size_t   len;
	uint8_t *data;
};

static struct {
	struct channel *ch;
	int raw;
	struct got msgs[16];
	size_t nmsgs;
	int closed;           /* close callback calls */
	bool take_fd;         /* the handler keeps m->fd */
	int taken_fd;
} fx;

static void
on_msg(struct channel *ch, struct chan_msg *m, void *arg)
{
	struct got *g;

	ck_assert_ptr_eq(ch, fx.ch);
	ck_assert_ptr_eq(arg, &fx);
	ck_assert_uint_lt(fx.nmsgs, nitems(fx.msgs));
	g = &fx.msgs[fx.nmsgs++];
	g->type = m->type;
	g->peerid = m->peerid;
	g->pid = m->pid;
	g->fd = m->fd;
	g->len = m->len;
	g->data = xmalloc(m->len);
	memcpy(g->data, m->data, m->len);
	if (fx.take_fd && m->fd != -1) {
		fx.taken_fd = m->fd;
		m->fd = -1;
	}
}

static void
on_close(struct channel *ch, void *arg)
{
	ck_assert_ptr_eq(ch, fx.ch);
	ck_assert_ptr_eq(arg, &fx);
	fx.closed++;
}

static void
setup(void)
{
	static bool ev_ready;
	int sv[2];

	if (!ev_ready) {
		ev_init();
		ev_ready = true;
	}
	memset(&fx, 0, sizeof(fx));
	fx.taken_fd = -1;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fx.ch = chan_new(sv[0], "test", on_msg, on_close, &fx);
	ck_assert_ptr_nonnull(fx.ch);
	fx.raw = sv[1];
}

static void
teardown(void)
{
	size_t i;

	if (fx.ch != NULL && fx.closed == 0)
		chan_free(fx.ch);
	if (fx.raw != -1)
		close(fx.raw);
	for (i = 0; i < fx.nmsgs; i++)
		free(fx.msgs[i].data);
	if (fx.taken_fd != -1)
		close(fx.taken_fd);
}

/* ---- raw side helpers ---- */

/* A frame: header + payload, in a malloc'd buffer of *flen bytes. */
static uint8_t *
frame(uint16_t type, uint16_t flags, uint32_t len_field, uint32_t peerid,
    const void *payload, size_t plen, size_t *flen)
{
	struct chan_hdr h = {
		.type = type, .flags = flags, .len = len_field,
		.peerid = peerid, .pid = 4242
	};
	uint8_t *f = xmalloc(CHAN_HDR_LEN + plen);

	memcpy(f, &h, CHAN_HDR_LEN);
	if (plen)
		memcpy(f + CHAN_HDR_LEN, payload, plen);
	*flen = CHAN_HDR_LEN + plen;
	return f;
}

/* A well-formed frame appended to buf (at most cap bytes). */
static size_t
put_frame(uint8_t *buf, size_t off, size_t cap, uint16_t type, uint32_t peerid,
    const void *payload, size_t plen)
{
	size_t flen;
	uint8_t *f = frame(type, 0, (uint32_t)(CHAN_HDR_LEN + plen), peerid,
	    payload, plen, &flen);

	ck_assert_uint_le(off + flen, cap);
	memcpy(buf + off, f, flen);
	free(f);
	return off + flen;
}

static size_t
put_hello(uint8_t *buf, size_t off, size_t cap, uint32_t version)
{
	return put_frame(buf, off, cap, MSG_HELLO, 0, &version, sizeof(version));
}

static void
raw_write(const void *buf, size_t len)
{
	ck_assert_int_eq(write_all(fx.raw, buf, len), 0);
}

static void
raw_hello(void)
{
	uint8_t buf[64];

	raw_write(buf, put_hello(buf, 0, sizeof(buf), CHAN_VERSION));
}

/* Write one frame with an optional descriptor attached. */
static void
raw_sendmsg(const void *buf, size_t len, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd != -1) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		cm.hdr.cmsg_len = CMSG_LEN(sizeof(int));
		cm.hdr.cmsg_level = SOL_SOCKET;
		cm.hdr.cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(&cm.hdr), &fd, sizeof(int));
	}
	ck_assert_int_eq(sendmsg(fx.raw, &mh, 0), (ssize_t)len);
}

/* Read exactly len bytes from the raw side (flushing the channel first);
 * *fdp receives a passed descriptor when fdp is not NULL. */
static void
raw_read(void *buf, size_t len, int *fdp)
{
	size_t off = 0;

	if (fdp != NULL)
		*fdp = -1;
	while (off < len) {
		union {
			struct cmsghdr hdr;
			char buf[CMSG_SPACE(sizeof(int))];
		} cm;
		struct iovec iov = { (uint8_t *)buf + off, len - off };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)
		};
		struct cmsghdr *c;
		ssize_t n;

		ck_assert_int_ge(chan_flush(fx.ch), 0);
		n = recvmsg(fx.raw, &mh, 0);
		ck_assert_int_gt(n, 0);
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				ck_assert_ptr_nonnull(fdp);
				memcpy(fdp, CMSG_DATA(c), sizeof(int));
			}
		}
		off += (size_t)n;
	}
}

/* Consume the channel's own HELLO and check it. */
static void
expect_hello(void)
{
	struct chan_hdr h;
	uint32_t v;

	raw_read(&h, sizeof(h), NULL);
	ck_assert_uint_eq(h.type, MSG_HELLO);
	ck_assert_uint_eq(h.flags, 0);
	ck_assert_uint_eq(h.len, CHAN_HDR_LEN + sizeof(v));
	ck_assert_uint_eq(h.pid, (uint32_t)getpid());
	raw_read(&v, sizeof(v), NULL);
	ck_assert_uint_eq(v, CHAN_VERSION);
}

/* Feed bytes that may exceed the socket buffer: write what fits, let the
 * channel read, repeat. Returns chan_read's last result. */
static int
feed(const uint8_t *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int rc = 0;

	ck_assert_int_eq(fd_nonblock(fx.raw), 0);
	while (off < len) {
		n = write(fx.raw, buf + off, len - off);
		if (n == -1) {
			ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
			n = 0;
		}
		off += (size_t)n;
		rc = chan_read(fx.ch);
		if (rc == -1)
			return rc;
	}
	return rc;
}

static bool
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* ---- framing ---- */

START_TEST(test_hello_first)
{
	expect_hello();
	raw_hello();
	ck_assert_int_eq(chan_read(fx.ch), 0);
	ck_assert_uint_eq(fx.nmsgs, 0);      /* the handshake is not a message */
	ck_assert_int_eq(fx.closed, 0);
}
END_TEST

START_TEST(test_several_frames_one_read)
{
	uint8_t buf[256];
	size_t off;

	off = put_hello(buf, 0, sizeof(buf), CHAN_VERSION);
	off = put_frame(buf, off, sizeof(buf), T_DATA, 1, "one", 3);
	off = put_frame(buf, off, sizeof(buf), T_DATA + 1, 2, NULL, 0);
	off = put_frame(buf, off, sizeof(buf), T_DATA + 2, 3, "three", 5);
	raw_write(buf, off);                 /* one write: one read sees all */
	ck_assert_int_eq(chan_read(fx.ch), 0);
	ck_assert_uint_eq(fx.nmsgs, 3);
	ck_assert_uint_eq(fx.msgs[0].type, T_DATA);
	ck_assert_uint_eq(fx.msgs[0].peerid, 1);
	ck_assert_uint_eq(fx.msgs[0].pid, 4242);
	ck_assert_uint_eq(fx.msgs[0].len, 3);
	ck_assert_mem_eq(fx.msgs[0].data, "one", 3);
	ck_assert_uint_eq(fx.msgs[1].type, T_DATA + 1);
	ck_assert_uint_eq(fx.msgs[1].peerid, 2);
	ck_assert_uint_eq(fx.msgs[1].len, 0);
	ck_assert_int_eq(fx.msgs[1].fd, -1);
	ck_assert_uint_eq(fx.msgs[2].type, T_DATA + 2);
	ck_assert_uint_eq(fx.msgs[2].peerid, 3);
	ck_assert_uint_eq(fx.msgs[2].len, 5);
	ck_assert_mem_eq(fx.msgs[2].data, "three", 5);
	ck_assert_int_eq(fx.closed, 0);
}
END_TEST

START_TEST(test_frame_split_byte_by_byte)
{
	uint8_t buf[256], payload[100];
	size_t off, i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	off = put_hello(buf, 0, sizeof(buf), CHAN_VERSION);
	off = put_frame(buf, off, sizeof(buf), T_DATA, 9, payload, sizeof(payload));
	for (i = 0; i < off; i++) {
		raw_write(buf + i, 1);
		ck_assert_int_eq(chan_read(fx.ch), 0);
		ck_assert_uint_eq(fx.nmsgs, i + 1 == off ? 1 : 0);
	}
	ck_assert_uint_eq(fx.msgs[0].peerid, 9);
	ck_assert_uint_eq(fx.msgs[0].len, sizeof(payload));
	ck_assert_mem_eq(fx.msgs[0].data, payload, sizeof(payload));
	ck_assert_int_eq(fx.closed, 0);
}
END_TEST

START_TEST(test_largest_frame)
{
	size_t flen, off, total;
	uint8_t *big, *f, *buf;
	size_t i;

	big = xmalloc(CHAN_MAX_PAYLOAD);
	for (i = 0; i < CHAN_MAX_PAYLOAD; i++)
		big[i] = (uint8_t)(i % 251);
	f = frame(T_DATA, 0, CHAN_HDR_LEN + CHAN_MAX_PAYLOAD, 5, big,
	    CHAN_MAX_PAYLOAD, &flen);
	total = 64 + flen + 64;
	buf = xmalloc(total);
	off = put_hello(buf, 0, total, CHAN_VERSION);
	memcpy(buf + off, f, flen);
	off += flen;
	/* A small frame right behind it: the buffer must move on cleanly. */
	off = put_frame(buf, off, total, T_DATA + 1, 6, "after", 5);
	ck_assert_int_eq(feed(buf, off), 0);
	ck_assert_uint_eq(fx.nmsgs, 2);
	ck_assert_uint_eq(fx.msgs[0].len, CHAN_MAX_PAYLOAD);
	ck_assert_mem_eq(fx.msgs[0].data, big, CHAN_MAX_PAYLOAD);
	ck_assert_uint_eq(fx.msgs[1].peerid, 6);
	ck_assert_mem_eq(fx.msgs[1].data, "after", 5);
	ck_assert_int_eq(fx.closed, 0);
	free(buf);
	free(f);
	free(big);
}
END_TEST

START_TEST(test_send_largest_frame)
{
	struct chan_hdr h;
	uint8_t *big, *back;
	size_t i;

	big = xmalloc(CHAN_MAX_PAYLOAD);
	back = xmalloc(CHAN_MAX_PAYLOAD);
	for (i = 0; i < CHAN_MAX_PAYLOAD; i++)
		big[i] = (uint8_t)(i % 253);
	ck_assert_int_eq(chan_send(fx.ch, T_DATA, 77, -1, big, CHAN_MAX_PAYLOAD), 0);
	ck_assert_uint_gt(chan_pending(fx.ch), CHAN_MAX_PAYLOAD);
	expect_hello();
	raw_read(&h, sizeof(h), NULL);
	ck_assert_uint_eq(h.type, T_DATA);
	ck_assert_uint_eq(h.len, CHAN_HDR_LEN + CHAN_MAX_PAYLOAD);
	ck_assert_uint_eq(h.peerid, 77);
	raw_read(back, CHAN_MAX_PAYLOAD, NULL);
	ck_assert_mem_eq(back, big, CHAN_MAX_PAYLOAD);
	ck_assert_int_eq(chan_flush(fx.ch), 1);
	ck_assert_uint_eq(chan_pending(fx.ch), 0);
	free(back);
	free(big);
}
END_TEST

START_TEST(test_send_too_large_fails)
{
	uint8_t *big = xcalloc(1, CHAN_MAX_PAYLOAD + 1);

	ck_assert_int_eq(chan_send(fx.ch, T_DATA, 0, -1, big, CHAN_MAX_PAYLOAD + 1), -1);
	/* Nothing was queued but the handshake, and the channel still works. */
	ck_assert_uint_eq(chan_pending(fx.ch), CHAN_HDR_LEN + sizeof(uint32_t));
	ck_assert_int_eq(chan_send(fx.ch, T_DATA, 0, -1, "ok", 2), 0);
	free(big);
}
END_TEST

/* ---- rejected input: the channel closes, the process goes on ---- */

static void
expect_rejected(const uint8_t *buf, size_t len)
{
	ck_assert_int_eq(feed(buf, len), -1);
	ck_assert_int_eq(fx.closed, 1);
	ck_assert_uint_eq(fx.nmsgs, 0);
}

START_TEST(test_oversized_frame_rejected)
{
	uint8_t buf[128];
	size_t off, flen;
	uint8_t *f;

	off = put_hello(buf, 0, sizeof(buf), CHAN_VERSION);
	/* Only the header: the length alone must be enough to refuse it. */
	f = frame(T_DATA, 0, CHAN_HDR_LEN + CHAN_MAX_PAYLOAD + 1, 1, NULL, 0, &flen);
	memcpy(buf + off, f, flen);
	free(f);
	expect_rejected(buf, off + flen);
}
END_TEST

START_TEST(test_length_below_header_rejected)
{
	uint8_t buf[128];
	size_t off, flen;
	uint8_t *f;

	off = put_hello(buf, 0, sizeof(buf), CHAN_VERSION);
	f = frame(T_DATA, 0, CHAN_HDR_LEN - 1, 1, NULL, 0, &flen);
	memcpy(buf + off, f, flen);
	free(f);
	expect_rejected(buf, off + flen);
}
END_TEST

START_TEST(test_truncated_frame_at_eof_rejected)
{
	uint8_t buf[256];
	size_t off;

	off = put_hello(buf, 0, sizeof(buf), CHAN_VERSION);
	off = put_frame(buf, off, sizeof(buf), T_DATA, 1, "0123456789", 10);
	raw_write(buf, off - 4);             /* the last 4 bytes never come */
	ck_assert_int_eq(shutdown(fx.raw, SHUT_WR), 0);
	ck_assert_int_eq(chan_read(fx.ch), -1);
	ck_assert_int_eq(fx.closed, 1);
	ck_assert_uint_eq(fx.nmsgs, 0);
}
END_TEST

START_TEST(test_truncated_header_at_eof_rejected)
{
	uint8_t buf[256];
	size_t off;

	off = put_hello(buf, 0, sizeof(buf), CHAN_VERSION);
	off = put_frame(buf, off, sizeof(buf), T_DATA, 1, NULL, 0);
	raw_write(buf, off - CHAN_HDR_LEN + 5);
	ck_assert_int_eq(shutdown(fx.raw, SHUT_WR), 0);
	ck_assert_int_eq(chan_read(fx.ch), -1);
	ck_assert_int_eq(fx.closed, 1);
	ck_assert_uint_eq(fx.nmsgs, 0);
}
END_TEST

START_TEST(test_fd_flag_without_fd_rejected)
{
	uint8_t buf[128];
	size_t off, flen;
	uint8_t *f;

	off = put_hello(buf, 0, sizeof(buf), CHAN_VERSION);
	f = frame(T_DATA, CHAN_FLAG_FD, CHAN_HDR_LEN + 2, 1, "no", 2, &flen);
	memcpy(buf + off, f, flen);
	free(f);
	expect_rejected(buf, off + flen);
}
END_TEST

START_TEST(test_unknown_flags_rejected)
{
	uint8_t buf[128];
	size_t off, flen;
	uint8_t *f;

	off = put_hello(buf, 0, sizeof(buf), CHAN_VERSION);
	f = frame(T_DATA, 0x8000, CHAN_HDR_LEN, 1, NULL, 0, &flen);
	memcpy(buf + off, f, flen);
	free(f);
	expect_rejected(buf, off + flen);
}
END_TEST

START_TEST(test_first_frame_not_hello_rejected)
{
	uint8_t buf[128];
	size_t off;

	off = put_frame(buf, 0, sizeof(buf), T_DATA, 1, "hi", 2);
	off = put_hello(buf, off, sizeof(buf), CHAN_VERSION);
	expect_rejected(buf, off);
}
END_TEST

START_TEST(test_hello_wrong_version_rejected)
{
	uint8_t buf[128];
	size_t off;

	off = put_hello(buf, 0, sizeof(buf), CHAN_VERSION + 1);
	off = put_frame(buf, off, sizeof(buf), T_DATA, 1, "hi", 2);
	expect_rejected(buf, off);
}
END_TEST

START_TEST(test_hello_wrong_length_rejected)
{
	uint8_t buf[128];
	uint64_t v = CHAN_VERSION;
	size_t off;

	off = put_frame(buf, 0, sizeof(buf), MSG_HELLO, 0, &v, sizeof(v));
	expect_rejected(buf, off);
}
END_TEST

START_TEST(test_peer_closed)
{
	uint8_t buf[128];
	size_t off;

	off = put_hello(buf, 0, sizeof(buf), CHAN_VERSION);
	off = put_frame(buf, off, sizeof(buf), T_DATA, 1, "last", 4);
	raw_write(buf, off);
	close(fx.raw);
	fx.raw = -1;
	/* The frame before EOF is delivered, then the channel closes once. */
	ck_assert_int_eq(chan_read(fx.ch), -1);
	ck_assert_uint_eq(fx.nmsgs, 1);
	ck_assert_mem_eq(fx.msgs[0].data, "last", 4);
	ck_assert_int_eq(fx.closed, 1);
}
END_TEST

START_TEST(test_peer_closed_idle)
{
	raw_hello();
	ck_assert_int_eq(chan_read(fx.ch), 0);
	close(fx.raw);
	fx.raw = -1;
	ck_assert_int_eq(chan_read(fx.ch), -1);
	ck_assert_int_eq(fx.closed, 1);
	ck_assert_uint_eq(fx.nmsgs, 0);
}
END_TEST

/* ---- descriptor passing ---- */

START_TEST(test_fd_passing_to_channel)
{
	uint8_t *f;
	size_t flen;
	int p[2];
	char got[8] = { 0 };

	ck_assert_int_eq(pipe(p), 0);
	raw_hello();
	f = frame(T_DATA, CHAN_FLAG_FD, CHAN_HDR_LEN + 1, 3, "f", 1, &flen);
	raw_sendmsg(f, flen, p[1]);
	free(f);
	close(p[1]);                         /* only the passed copy remains */
	fx.take_fd = true;
	ck_assert_int_eq(chan_read(fx.ch), 0);
	ck_assert_uint_eq(fx.nmsgs, 1);
	ck_assert_int_ne(fx.taken_fd, -1);
	ck_assert_int_eq(write(fx.taken_fd, "hello", 5), 5);
	ck_assert_int_eq(read(p[0], got, sizeof(got)), 5);
	ck_assert_str_eq(got, "hello");
	close(p[0]);
}
END_TEST

START_TEST(test_fd_not_taken_is_closed)
{
	uint8_t *f;
	size_t flen;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	raw_hello();
	f = frame(T_DATA, CHAN_FLAG_FD, CHAN_HDR_LEN, 3, NULL, 0, &flen);
	raw_sendmsg(f, flen, p[1]);
	free(f);
	ck_assert_int_eq(chan_read(fx.ch), 0);
	ck_assert_uint_eq(fx.nmsgs, 1);
	ck_assert_int_ge(fx.msgs[0].fd, 0);
	ck_assert(!fd_is_open(fx.msgs[0].fd));
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_fd_passing_from_channel)
{
	struct chan_hdr h;
	int p[2], fd;
	char c, got[8] = { 0 };

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(chan_send(fx.ch, T_DATA, 8, p[1], "x", 1), 0);
	ck_assert(fd_is_open(p[1]));         /* the caller keeps its own */
	close(p[1]);
	expect_hello();
	raw_read(&h, sizeof(h), &fd);
	ck_assert_uint_eq(h.type, T_DATA);
	ck_assert_uint_eq(h.flags, CHAN_FLAG_FD);
	ck_assert_uint_eq(h.peerid, 8);
	ck_assert_int_ne(fd, -1);
	raw_read(&c, 1, NULL);
	ck_assert_int_eq(c, 'x');
	ck_assert_int_eq(write(fd, "world", 5), 5);
	close(fd);
	ck_assert_int_eq(read(p[0], got, sizeof(got)), 5);
	ck_assert_str_eq(got, "world");
	close(p[0]);
}
END_TEST

START_TEST(test_chan_wait)
{
	uint8_t buf[128];
	size_t off;

	/* Nothing arrives: a bounded wait that fails, channel still open. */
	raw_hello();
	ck_assert_int_eq(chan_wait(fx.ch, 50), -1);
	ck_assert_int_eq(fx.closed, 0);
	off = put_frame(buf, 0, sizeof(buf), T_DATA, 4, "ans", 3);
	raw_write(buf, off);
	ck_assert_int_eq(chan_wait(fx.ch, 1000), 0);
	ck_assert_uint_eq(fx.nmsgs, 1);
	ck_assert_uint_eq(fx.msgs[0].peerid, 4);
}
END_TEST

/* ---- payload helpers ---- */

static struct chan_msg
as_msg(const void *data, size_t len)
{
	struct chan_msg m = { .type = T_DATA, .fd = -1, .data = data, .len = len };

	return m;
}

START_TEST(test_mb_mr_roundtrip)
{
	struct msgbuf mb;
	struct msgreader r;
	struct chan_msg m;
	const void *p;
	size_t n;

	mb_init(&mb);
	mb_u32(&mb, 0xdeadbeef);
	mb_u64(&mb, UINT64_MAX - 1);
	mb_str(&mb, "hello");
	mb_str(&mb, NULL);
	mb_bytes(&mb, "a\0b", 3);
	ck_assert(!mb.err);
	m = as_msg(mb.data, mb.len);
	mr_init(&r, &m);
	ck_assert_uint_eq(mr_u32(&r), 0xdeadbeef);
	ck_assert_uint_eq(mr_u64(&r), UINT64_MAX - 1);
	ck_assert_str_eq(mr_str(&r), "hello");
	ck_assert_str_eq(mr_str(&r), "");
	p = mr_bytes(&r, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(p, "a\0b", 3);
	ck_assert(mr_done(&r));
	mb_free(&mb);
}
END_TEST

START_TEST(test_mr_past_end)
{
	uint8_t two[2] = { 1, 2 };
	struct chan_msg m = as_msg(two, sizeof(two));
	struct msgreader r;

	mr_init(&r, &m);
	ck_assert_uint_eq(mr_u32(&r), 0);
	ck_assert(r.err);
	ck_assert(!mr_done(&r));
	/* Once in error, it stays in error. */
	ck_assert_uint_eq(mr_u64(&r), 0);
	ck_assert(r.err);

	mr_init(&r, &m);
	ck_assert(!mr_done(&r));             /* unread bytes left */
}
END_TEST

START_TEST(test_mr_str_malformed)
{
	struct msgreader r;
	struct chan_msg m;
	uint8_t buf[16];
	uint32_t n = 3;

	/* Embedded NUL. */
	memcpy(buf, &n, 4);
	memcpy(buf + 4, "a\0b", 4);
	m = as_msg(buf, 8);
	mr_init(&r, &m);
	ck_assert_str_eq(mr_str(&r), "");
	ck_assert(r.err);

	/* Missing terminator where the NUL should be. */
	memcpy(buf + 4, "abcx", 4);
	mr_init(&r, &m);
	ck_assert_str_eq(mr_str(&r), "");
	ck_assert(r.err);

	/* Terminator cut off by the end of the payload. */
	memcpy(buf + 4, "abc", 3);
	m = as_msg(buf, 7);
	mr_init(&r, &m);
	ck_assert_str_eq(mr_str(&r), "");
	ck_assert(r.err);

	/* Length beyond the payload. */
	n = 1000;
	memcpy(buf, &n, 4);
	m = as_msg(buf, 8);
	mr_init(&r, &m);
	ck_assert_str_eq(mr_str(&r), "");
	ck_assert(r.err);

	/* A huge length that would wrap a naive bound check. */
	n = UINT32_MAX;
	memcpy(buf, &n, 4);
	mr_init(&r, &m);
	ck_assert_str_eq(mr_str(&r), "");
	ck_assert(r.err);
}
END_TEST

START_TEST(test_mr_bytes_past_end)
{
	struct msgreader r;
	struct chan_msg m;
	uint8_t buf[8];
	uint32_t n = 5;
	size_t len = 99;

	memcpy(buf, &n, 4);
	m = as_msg(buf, 8);                  /* 4 bytes follow, not 5 */
	mr_init(&r, &m);
	ck_assert_ptr_null(mr_bytes(&r, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert(r.err);
}
END_TEST

START_TEST(test_mb_over_max)
{
	struct msgbuf mb;
	uint8_t *big = xcalloc(1, CHAN_MAX_PAYLOAD);
	size_t i;

	/* Exactly CHAN_MAX_PAYLOAD bytes fit ... */
	mb_init(&mb);
	for (i = 0; i < CHAN_MAX_PAYLOAD / 4; i++)
		mb_u32(&mb, (uint32_t)i);
	ck_assert(!mb.err);
	ck_assert_uint_eq(mb.len, CHAN_MAX_PAYLOAD);
	ck_assert_int_eq(chan_send_mb(fx.ch, T_DATA, 0, -1, &mb), 0);
	/* ... one more does not, and the buffer is refused by chan_send_mb. */
	mb_u32(&mb, 1);
	ck_assert(mb.err);
	ck_assert_int_eq(chan_send_mb(fx.ch, T_DATA, 0, -1, &mb), -1);
	mb_free(&mb);

	mb_init(&mb);
	mb_bytes(&mb, big, CHAN_MAX_PAYLOAD);   /* + 4 length bytes */
	ck_assert(mb.err);
	mb_free(&mb);

	mb_init(&mb);
	big[CHAN_MAX_PAYLOAD - 1] = '\0';
	memset(big, 'a', CHAN_MAX_PAYLOAD - 1);
	mb_str(&mb, (const char *)big);
	ck_assert(mb.err);
	mb_free(&mb);

	mb_init(&mb);
	mb_u64(&mb, 1);
	mb_bytes(&mb, big, CHAN_MAX_PAYLOAD - 8);   /* 8 + 4 + MAX - 8 > MAX */
	ck_assert(mb.err);
	mb_free(&mb);
	free(big);
}
END_TEST

static Suite *
channel_suite(void)
{
	Suite *s = suite_create("channel");
	TCase *tc;

	tc = tcase_create("framing");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_hello_first);
	tcase_add_test(tc, test_several_frames_one_read);
	tcase_add_test(tc, test_frame_split_byte_by_byte);
	tcase_add_test(tc, test_largest_frame);
	tcase_add_test(tc, test_send_largest_frame);
	tcase_add_test(tc, test_send_too_large_fails);
	tcase_add_test(tc, test_chan_wait);
	suite_add_tcase(s, tc);

	tc = tcase_create("rejected");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_oversized_frame_rejected);
	tcase_add_test(tc, test_length_below_header_rejected);
	tcase_add_test(tc, test_truncated_frame_at_eof_rejected);
	tcase_add_test(tc, test_truncated_header_at_eof_rejected);
	tcase_add_test(tc, test_fd_flag_without_fd_rejected);
	tcase_add_test(tc, test_unknown_flags_rejected);
	tcase_add_test(tc, test_first_frame_not_hello_rejected);
	tcase_add_test(tc, test_hello_wrong_version_rejected);
	tcase_add_test(tc, test_hello_wrong_length_rejected);
	tcase_add_test(tc, test_peer_closed);
	tcase_add_test(tc, test_peer_closed_idle);
	suite_add_tcase(s, tc);

	tc = tcase_create("fd passing");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fd_passing_to_channel);
	tcase_add_test(tc, test_fd_not_taken_is_closed);
	tcase_add_test(tc, test_fd_passing_from_channel);
	suite_add_tcase(s, tc);

	tc = tcase_create("payload");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_mb_mr_roundtrip);
	tcase_add_test(tc, test_mr_past_end);
	tcase_add_test(tc, test_mr_str_malformed);
	tcase_add_test(tc, test_mr_bytes_past_end);
	tcase_add_test(tc, test_mb_over_max);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(channel_suite);
