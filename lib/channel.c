/* SPDX-License-Identifier: ISC */
/* imsg-style framed channels with descriptor passing; see channel.h. */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "event.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define CHAN_MAX_FDS   16              /* descriptors received, not yet claimed */
#define CHAN_READ_SIZE (CHAN_HDR_LEN + CHAN_MAX_PAYLOAD)
#define CHAN_IN_INITIAL (16 * 1024)     /* most channels never need more */

struct outframe {
	struct outframe *next;
	int      fd;                   /* sent with the first byte, then closed */
	size_t   len, off;
	uint8_t  data[];
};

struct channel {
	int      fd;
	char     name[48];
	struct ev_io *io;
	chan_msg_cb   on_msg;
	chan_close_cb on_close;
	void    (*on_drain)(struct channel *, void *);
	void    *arg;
	uint8_t *in;                   /* grows up to CHAN_READ_SIZE */
	size_t   in_len, in_cap;
	int      fds[CHAN_MAX_FDS];
	size_t   nfds;
	struct outframe *out_head, *out_tail;
	size_t   out_bytes;
	bool     hello_seen;
	bool     closed;
	bool     free_pending;
	unsigned busy;                 /* inside a callback of this channel */
	bool     was_congested;
	uint64_t msgs_seen;            /* frames handed to on_msg, for chan_wait */
};

static void chan_update_events(struct channel *);

static void
chan_io(int fd, int events, void *arg)
{
	struct channel *c = arg;

	(void)fd;
	if (events & EV_WRITE) {
		if (chan_flush(c) == -1)
			return;
	}
	if (events & EV_READ)
		(void)chan_read(c);
}

struct channel *
chan_new(int fd, const char *name, chan_msg_cb on_msg, chan_close_cb on_close,
    void *arg)
{
	struct channel *c = xcalloc(1, sizeof(*c));
	uint32_t v = CHAN_VERSION;

	c->fd = fd;
	strlcpy(c->name, name, sizeof(c->name));
	c->on_msg = on_msg;
	c->on_close = on_close;
	c->arg = arg;
	c->in_cap = CHAN_IN_INITIAL;
	c->in = xmalloc(c->in_cap);
	fd_nonblock(fd);
	fd_cloexec(fd, true);
	c->io = ev_io_add(fd, EV_READ, chan_io, c);
	chan_send(c, MSG_HELLO, 0, -1, &v, sizeof(v));
	return c;
}

static void
drop_output(struct channel *c)
{
	while (c->out_head) {
		struct outframe *f = c->out_head;

		c->out_head = f->next;
		if (f->fd != -1)
			close(f->fd);
		free(f);
	}
	c->out_tail = NULL;
	c->out_bytes = 0;
}

/* Release everything. Only called when no dispatch or close callback of
 * this channel is on the stack. */
static void
chan_destroy(struct channel *c)
{
	size_t i;

	ev_io_del(c->io);
	close(c->fd);
	for (i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	drop_output(c);
	free(c->in);
	free(c);
}

/* A channel may be freed from inside its own callbacks: then the release
 * waits until the callback returns. */
void
chan_free(struct channel *c)
{
	if (c == NULL)
		return;
	c->closed = true;
	if (c->busy)
		c->free_pending = true;
	else
		chan_destroy(c);
}

/* Close because of EOF, an error or a protocol violation. */
static void
chan_fail(struct channel *c, const char *why)
{
	if (c->closed)
		return;
	c->closed = true;
	if (why)
		log_warnx("channel %s: %s, closing", c->name, why);
	else
		log_debug("channel %s: closed by peer", c->name);
	c->busy++;
	if (c->on_close)
		c->on_close(c, c->arg);
	c->busy--;
	if (c->busy)
		c->free_pending = true;
	else
		chan_destroy(c);
}

const char *
chan_name(const struct channel *c)
{
	return c->name;
}

void
chan_on_drain(struct channel *c, void (*cb)(struct channel *, void *))
{
	c->on_drain = cb;
}

size_t
chan_pending(const struct channel *c)
{
	return c->out_bytes;
}

bool
chan_congested(const struct channel *c)
{
	return c->out_bytes > CHAN_HIGH_WATER;
}

static void
chan_update_events(struct channel *c)
{
	ev_io_set(c->io, EV_READ | (c->out_head ? EV_WRITE : 0));
}

int
chan_send(struct channel *c, uint16_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	struct outframe *f;
	struct chan_hdr h;

	if (c == NULL || c->closed)
		return -1;
	if (len > CHAN_MAX_PAYLOAD) {
		log_warnx("channel %s: %s payload of %zu bytes too large",
		    c->name, msg_name(type), len);
		return -1;
	}
	f = xmalloc(sizeof(*f) + CHAN_HDR_LEN + len);
	f->next = NULL;
	f->off = 0;
	f->len = CHAN_HDR_LEN + len;
	f->fd = -1;
	if (fd != -1) {
		f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (f->fd == -1) {
			log_warn("channel %s: dup", c->name);
			free(f);
			return -1;
		}
	}
	h.type = type;
	h.flags = fd != -1 ? CHAN_FLAG_FD : 0;
	h.len = (uint32_t)f->len;
	h.peerid = peerid;
	h.pid = (uint32_t)getpid();
	memcpy(f->data, &h, CHAN_HDR_LEN);
	if (len)
		memcpy(f->data + CHAN_HDR_LEN, data, len);
	if (c->out_tail)
		c->out_tail->next = f;
	else
		c->out_head = f;
	c->out_tail = f;
	c->out_bytes += f->len;
	if (c->out_bytes > CHAN_HIGH_WATER)
		c->was_congested = true;
	chan_update_events(c);
	return 0;
}

int
chan_flush(struct channel *c)
{
	while (c->out_head) {
		struct outframe *f = c->out_head;
		struct iovec iov = { f->data + f->off, f->len - f->off };
		union {
			struct cmsghdr hdr;
			char buf[CMSG_SPACE(sizeof(int))];
		} cm;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (f->fd != -1 && f->off == 0) {
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof(cm.buf);
			cm.hdr.cmsg_len = CMSG_LEN(sizeof(int));
			cm.hdr.cmsg_level = SOL_SOCKET;
			cm.hdr.cmsg_type = SCM_RIGHTS;
			memcpy(CMSG_DATA(&cm.hdr), &f->fd, sizeof(int));
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				chan_update_events(c);
				return 0;
			}
			chan_fail(c, strerror(errno));
			return -1;
		}
		if (f->fd != -1) {
			close(f->fd);
			f->fd = -1;
		}
		f->off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (f->off == f->len) {
			c->out_head = f->next;
			if (c->out_head == NULL)
				c->out_tail = NULL;
			free(f);
		}
	}
	chan_update_events(c);
	if (c->was_congested && c->out_bytes <= CHAN_HIGH_WATER) {
		c->was_congested = false;
		if (c->on_drain) {
			/* The callback may free the channel. */
			c->busy++;
			c->on_drain(c, c->arg);
			c->busy--;
			if (c->free_pending) {
				if (c->busy == 0)
					chan_destroy(c);
				return -1;
			}
		}
	}
	return 1;
}

static void
take_fds(struct channel *c, struct msghdr *mh)
{
	struct cmsghdr *cmsg;

	for (cmsg = CMSG_FIRSTHDR(mh); cmsg; cmsg = CMSG_NXTHDR(mh, cmsg)) {
		size_t i, n;
		int fd;

		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
			if (c->nfds < CHAN_MAX_FDS)
				c->fds[c->nfds++] = fd;
			else
				close(fd);   /* the frame claiming it will fail */
		}
	}
}

static int
pop_fd(struct channel *c)
{
	int fd;

	if (c->nfds == 0)
		return -1;
	fd = c->fds[0];
	memmove(c->fds, c->fds + 1, (c->nfds - 1) * sizeof(int));
	c->nfds--;
	return fd;
}

static bool
hello_ok(const struct chan_msg *m)
{
	uint32_t v;

	if (m->type != MSG_HELLO || m->len != sizeof(v))
		return false;
	memcpy(&v, m->data, sizeof(v));
	return v == CHAN_VERSION;
}

/* Dispatch every complete frame in the input buffer. Returns -1 if the
 * channel closed meanwhile (it is then freed). */
static int
dispatch(struct channel *c)
{
	const char *err = NULL;
	size_t off = 0;

	c->busy++;
	while (!c->closed && c->in_len - off >= CHAN_HDR_LEN) {
		struct chan_hdr h;
		struct chan_msg m;

		memcpy(&h, c->in + off, CHAN_HDR_LEN);
		if (h.len < CHAN_HDR_LEN || h.len > CHAN_READ_SIZE ||
		    (h.flags & ~CHAN_FLAG_FD)) {
			err = "malformed frame header";
			break;
		}
		if (c->in_len - off < h.len)
			break;
		m.type = h.type;
		m.peerid = h.peerid;
		m.pid = h.pid;
		m.data = c->in + off + CHAN_HDR_LEN;
		m.len = h.len - CHAN_HDR_LEN;
		m.fd = -1;
		if (h.flags & CHAN_FLAG_FD) {
			m.fd = pop_fd(c);
			if (m.fd == -1) {
				err = "frame announces a descriptor that did not arrive";
				break;
			}
		}
		off += h.len;
		if (!c->hello_seen) {
			if (!hello_ok(&m)) {
				if (m.fd != -1)
					close(m.fd);
				err = "bad or missing version handshake";
				break;
			}
			c->hello_seen = true;
			continue;
		}
		c->msgs_seen++;
		if (c->on_msg)
			c->on_msg(c, &m, c->arg);
		if (m.fd != -1)
			close(m.fd);
	}
	/* A descriptor arrives with the first byte of its frame, so after
	 * dispatch only the partial frame left in the buffer may own one. */
	if (!err && !c->closed && c->nfds > 0) {
		struct chan_hdr h;

		if (c->nfds > 1 || c->in_len == off)
			err = "descriptor passed without a frame to claim it";
		else if (c->in_len - off >= CHAN_HDR_LEN) {
			memcpy(&h, c->in + off, CHAN_HDR_LEN);
			if (!(h.flags & CHAN_FLAG_FD))
				err = "descriptor passed without a frame to claim it";
		}
	}
	if (err)
		chan_fail(c, err);
	c->busy--;
	if (c->free_pending) {
		if (c->busy == 0)
			chan_destroy(c);
		return -1;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	return 0;
}

int
chan_read(struct channel *c)
{
	for (;;) {
		union {
			struct cmsghdr hdr;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} cm;
		struct iovec iov;
		struct msghdr mh;
		ssize_t n;

		if (c->in_len == c->in_cap) {
			/* Dispatch leaves less than one maximal frame behind,
			 * so a full buffer below the maximum just grows. */
			if (c->in_cap >= CHAN_READ_SIZE) {
				chan_fail(c, "input overflow");
				return -1;
			}
			c->in_cap = c->in_cap * 2 > CHAN_READ_SIZE ?
			    CHAN_READ_SIZE : c->in_cap * 2;
			c->in = xreallocarray(c->in, c->in_cap, 1);
		}
		iov.iov_base = c->in + c->in_len;
		iov.iov_len = c->in_cap - c->in_len;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			chan_fail(c, strerror(errno));
			return -1;
		}
		take_fds(c, &mh);
		if (mh.msg_flags & MSG_CTRUNC) {
			chan_fail(c, "descriptors truncated");
			return -1;
		}
		if (n == 0) {
			chan_fail(c, c->in_len ? "truncated frame at end of stream" : NULL);
			return -1;
		}
		c->in_len += (size_t)n;
		if (dispatch(c) == -1)
			return -1;
	}
}

int
chan_wait(struct channel *c, int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
	bool got = false;

	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		uint64_t now = mono_ms();
		uint64_t before;
		int r;

		if (c->out_head)
			pfd.events |= POLLOUT;
		if (now >= deadline)
			return -1;
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r == -1 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		if (pfd.revents & POLLOUT) {
			if (chan_flush(c) == -1)
				return -1;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			before = c->msgs_seen;
			if (chan_read(c) == -1)
				return -1;
			got = c->msgs_seen != before;
		}
		if (got)
			return 0;
	}
}

/* ---- payload helpers ---- */

void
mb_init(struct msgbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void
mb_free(struct msgbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static void
mb_append(struct msgbuf *b, const void *p, size_t n)
{
	if (b->err)
		return;
	if (n > CHAN_MAX_PAYLOAD - b->len) {
		b->err = true;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n)
			cap *= 2;
		b->data = xreallocarray(b->data, cap, 1);
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
mb_u32(struct msgbuf *b, uint32_t v)
{
	mb_append(b, &v, sizeof(v));
}

void
mb_u64(struct msgbuf *b, uint64_t v)
{
	mb_append(b, &v, sizeof(v));
}

void
mb_bytes(struct msgbuf *b, const void *p, size_t n)
{
	if (n > CHAN_MAX_PAYLOAD) {
		b->err = true;
		return;
	}
	mb_u32(b, (uint32_t)n);
	mb_append(b, p, n);
}

/* Strings travel as u32 length, the bytes, and a NUL. */
void
mb_str(struct msgbuf *b, const char *s)
{
	size_t n;

	if (s == NULL)
		s = "";
	n = strlen(s);
	if (n >= CHAN_MAX_PAYLOAD) {
		b->err = true;
		return;
	}
	mb_u32(b, (uint32_t)n);
	mb_append(b, s, n + 1);
}

int
chan_send_mb(struct channel *c, uint16_t type, uint32_t peerid, int fd,
    const struct msgbuf *b)
{
	if (b->err) {
		log_warnx("channel %s: %s payload too large", c->name,
		    msg_name(type));
		return -1;
	}
	return chan_send(c, type, peerid, fd, b->data, b->len);
}

void
mr_init(struct msgreader *r, const struct chan_msg *m)
{
	r->p = m->data;
	r->len = m->len;
	r->off = 0;
	r->err = false;
}

static const void *
mr_take(struct msgreader *r, size_t n)
{
	const void *p;

	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint32_t
mr_u32(struct msgreader *r)
{
	const void *p = mr_take(r, sizeof(uint32_t));
	uint32_t v = 0;

	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

uint64_t
mr_u64(struct msgreader *r)
{
	const void *p = mr_take(r, sizeof(uint64_t));
	uint64_t v = 0;

	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

const char *
mr_str(struct msgreader *r)
{
	uint32_t n = mr_u32(r);
	const char *s;

	if (r->err)
		return "";
	if (n >= r->len - r->off) {       /* room for the bytes and the NUL */
		r->err = true;
		return "";
	}
	s = mr_take(r, (size_t)n + 1);
	if (s == NULL || s[n] != '\0' || memchr(s, '\0', n) != NULL) {
		r->err = true;
		return "";
	}
	return s;
}

const void *
mr_bytes(struct msgreader *r, size_t *len)
{
	uint32_t n = mr_u32(r);
	const void *p;

	*len = 0;
	if (r->err)
		return NULL;
	p = mr_take(r, n);
	if (p)
		*len = n;
	return p;
}

bool
mr_done(const struct msgreader *r)
{
	return !r->err && r->off == r->len;
}
