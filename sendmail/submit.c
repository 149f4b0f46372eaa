/* SPDX-License-Identifier: ISC */
/* The SMTP client of the submission socket (RFC 5321, with the SIZE,
 * 8BITMIME, SMTPUTF8 and DSN extensions when the server offers them),
 * one command at a time: a local socket has no round trips worth
 * pipelining. What the server says decides the exit status; anything
 * temporary, a timeout or a lost connection is a temporary failure for
 * the caller to retry (only a socket nobody serves leads to the drop
 * directory, main.c). */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sendmail.h"
#include "util.h"

#define REPLY_LINES_MAX 100
#define LINE_MAX_LEN    2048

struct conn {
	int fd;
	bool verbose;
	int64_t deadline;          /* of the reply being read (now_ms()) */
	const char *fail;          /* why the last reply could not be read */
	char in[4096];
	size_t len, off;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Server text on our stderr: printable ASCII only. */
static void
print_clean(FILE *f, const char *prefix, const char *s, size_t n)
{
	size_t i;

	fputs(prefix, f);
	for (i = 0; i < n; i++)
		fputc((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ?
		    s[i] : '?', f);
	fputc('\n', f);
}

/* One line without its line end into line; its length, or -1 when the
 * connection ends, the reply's deadline passes (however slowly the
 * server trickles bytes) or the line is too long. */
static ssize_t
read_line(struct conn *c, char *line, size_t max)
{
	struct pollfd p;
	int64_t left;
	size_t n = 0;
	ssize_t r;
	char ch;

	for (;;) {
		if (c->off == c->len) {
			p.fd = c->fd;
			p.events = POLLIN;
			if ((left = c->deadline - now_ms()) <= 0) {
				c->fail = "timed out waiting for the reply";
				return -1;
			}
			r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
			if (r == -1 && errno == EINTR)
				continue;
			if (r == 0)
				continue;  /* the deadline, checked above */
			if (r == -1) {
				c->fail = "connection lost";
				return -1;
			}
			r = read(c->fd, c->in, sizeof(c->in));
			if (r == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				c->fail = "connection lost";
				return -1;
			}
			c->off = 0;
			c->len = (size_t)r;
		}
		ch = c->in[c->off++];
		if (ch == '\n')
			break;
		if (n + 1 >= max) {
			c->fail = "malformed reply (a line too long)";
			return -1;
		}
		line[n++] = ch;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return (ssize_t)n;
}

/* A whole reply, within timeout_ms: its code (200 to 599), its text
 * lines joined by '\n' in text. -1 when the connection is lost, the
 * time is up or the reply is malformed (c->fail says which). */
static int
read_reply(struct conn *c, unsigned timeout_ms, char *text, size_t textlen)
{
	char line[LINE_MAX_LEN];
	size_t tl = 0;
	ssize_t n;
	int code = -1, lines;

	text[0] = '\0';
	c->deadline = now_ms() + timeout_ms;
	c->fail = "malformed reply";
	for (lines = 0; lines < REPLY_LINES_MAX; lines++) {
		if ((n = read_line(c, line, sizeof(line))) == -1)
			return -1;
		if (c->verbose)
			print_clean(stderr, "<<< ", line, (size_t)n);
		c->fail = "malformed reply";
		if (n < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (n > 3 && line[3] != ' ' && line[3] != '-'))
			return -1;
		if (code == -1)
			code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');
		else if (code != (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0'))
			return -1;
		if (tl + 1 < textlen) {
			int w = snprintf(text + tl, textlen - tl, "%s%s",
			    tl ? "\n" : "", n > 4 ? line + 4 : "");

			tl = w < 0 ? tl : tl + (size_t)w;
			if (tl >= textlen)
				tl = textlen - 1;
		}
		if (n == 3 || line[3] == ' ') {
			c->fail = NULL;
			return code;
		}
	}
	return -1;
}

/* Whole buffers to the socket; a closed peer is an error, never a
 * SIGPIPE. */
static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
send_line(struct conn *c, const char *fmt, ...)
{
	char line[LINE_MAX_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -1;
	if (c->verbose)
		print_clean(stderr, ">>> ", line, (size_t)n);
	memcpy(line + n, "\r\n", 2);
	return send_all(c->fd, line, (size_t)n + 2);
}

/* Does the EHLO reply offer keyword (RFC 5321 4.1.1.1)? */
static bool
ehlo_has(const char *text, const char *kw)
{
	size_t k = strlen(kw);
	const char *l = strchr(text, '\n');

	/* The first line is the greeting of EHLO, the rest keywords. */
	while (l != NULL) {
		l++;
		if (strncasecmp(l, kw, k) == 0 && (l[k] == '\0' ||
		    l[k] == '\n' || l[k] == ' '))
			return true;
		l = strchr(l, '\n');
	}
	return false;
}

static void
set_reply(struct sm_result *r, int code, const char *text)
{
	if (code < 0)
		snprintf(r->reply, sizeof(r->reply), "%.500s", text);
	else {
		char *nl;

		snprintf(r->reply, sizeof(r->reply), "%d %.500s", code, text);
		/* One line for stderr: the lines of a reply joined. */
		while ((nl = strchr(r->reply, '\n')) != NULL)
			*nl = ' ';
	}
}

/* A reply that ends the session: reported, and a refusal when it is
 * permanent (else the outcome stays deferred). */
static void
refused(struct sm_result *r, int code, const char *text)
{
	set_reply(r, code, text);
	if (code >= 500)
		r->outcome = SM_REFUSED_OTHER;
}

static bool
has_utf8(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s & 0x80)
			return true;
	return false;
}

void
sm_submit_fd(int fd, const struct sm_submit *s, struct sm_result *r)
{
	struct conn c = { .fd = fd, .verbose = s->verbose };
	unsigned to = s->timeout_ms ? s->timeout_ms : SM_REPLY_TIMEOUT_MS;
	unsigned data_to = s->data_timeout_ms ? s->data_timeout_ms :
	    SM_DATA_TIMEOUT_MS;
	/* A send that makes no progress for a reply's time fails. */
	struct timeval tv = { .tv_sec = to / 1000,
	    .tv_usec = (to % 1000) * 1000 };
	struct sm_msg data = { NULL, 0, 0 };
	char text[4096], params[256];
	bool size = false, mime8 = false, utf8 = false, dsn = false;
	bool temp = false, need_utf8;
	size_t i, accepted = 0, crlf_size = 0;
	int code;

	memset(r, 0, sizeof(*r));
	r->outcome = SM_DEFERRED;
	r->refused = xcalloc(s->nrcpts ? s->nrcpts : 1, sizeof(bool));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	if ((code = read_reply(&c, to, text, sizeof(text))) == -1)
		goto lost;
	if (code != 220) {
		refused(r, code, text);
		goto quit;
	}
	if (send_line(&c, "EHLO localhost") == -1 ||
	    (code = read_reply(&c, to, text, sizeof(text))) == -1)
		goto lost;
	if (code >= 500) {
		if (send_line(&c, "HELO localhost") == -1 ||
		    (code = read_reply(&c, to, text, sizeof(text))) == -1)
			goto lost;
	} else if (code / 100 == 2) {
		size = ehlo_has(text, "SIZE");
		mime8 = ehlo_has(text, "8BITMIME");
		utf8 = ehlo_has(text, "SMTPUTF8");
		dsn = ehlo_has(text, "DSN");
	}
	if (code / 100 != 2) {
		refused(r, code, text);
		goto quit;
	}

	sm_dot_stuff(s->msg, s->len, &data);
	need_utf8 = has_utf8(s->sender);
	for (i = 0; i < s->nrcpts; i++)
		need_utf8 |= has_utf8(s->rcpts[i]);
	/* BODY= as -B says, else 8BITMIME when the message needs it. */
	snprintf(params, sizeof(params), "%s%s%s%s",
	    !mime8 ? "" : s->body == SM_BODY_7BIT ? " BODY=7BIT" :
	    s->body == SM_BODY_8BITMIME || sm_has_8bit(s->msg, s->len) ?
	    " BODY=8BITMIME" : "",
	    need_utf8 && utf8 ? " SMTPUTF8" : "",
	    dsn && s->ret[0] ? " RET=" : "", dsn && s->ret[0] ? s->ret : "");
	/* SIZE= is the message as the server counts it: CRLF line ends,
	 * without the dots of stuffing (RFC 1870 section 4). */
	if (size) {
		(void)sm_check_message(s->msg, s->len, SIZE_MAX, UINT_MAX,
		    &crlf_size, text, sizeof(text));
		snprintf(params + strlen(params), sizeof(params) - strlen(params),
		    " SIZE=%zu", crlf_size);
	}
	if (send_line(&c, "MAIL FROM:<%s>%s", s->sender, params) == -1 ||
	    (code = read_reply(&c, to, text, sizeof(text))) == -1)
		goto lost;
	if (code / 100 != 2) {
		set_reply(r, code, text);
		if (code >= 500)
			r->outcome = code == 553 && strncmp(text, "5.7.1", 5) == 0 ?
			    SM_REFUSED_SENDER : code == 552 ? SM_REFUSED_DATA :
			    SM_REFUSED_OTHER;
		goto quit;
	}
	for (i = 0; i < s->nrcpts; i++) {
		if (send_line(&c, "RCPT TO:<%s>%s%s", s->rcpts[i],
		    dsn && s->notify[0] ? " NOTIFY=" : "",
		    dsn && s->notify[0] ? s->notify : "") == -1 ||
		    (code = read_reply(&c, to, text, sizeof(text))) == -1)
			goto lost;
		if (code / 100 == 2)
			accepted++;
		else if (code >= 500) {
			r->refused[i] = true;
			r->nrefused++;
			set_reply(r, code, text);
			fprintf(stderr, "empath-sendmail: <%s>: ", s->rcpts[i]);
			print_clean(stderr, "", r->reply, strlen(r->reply));
		} else {
			temp = true;
			set_reply(r, code, text);
		}
	}
	if (temp)
		goto quit;         /* deferred: the caller tries again */
	if (accepted == 0) {
		r->outcome = SM_REFUSED_RCPTS;
		goto quit;
	}
	if (send_line(&c, "DATA") == -1 ||
	    (code = read_reply(&c, to, text, sizeof(text))) == -1)
		goto lost;
	if (code != 354) {
		refused(r, code, text);
		goto quit;
	}
	if (c.verbose)
		fprintf(stderr, ">>> (%zu octets of message)\n>>> .\n",
		    data.len);
	if (send_all(fd, data.buf, data.len) == -1)
		goto lost;
	if ((code = read_reply(&c, data_to, text, sizeof(text))) == -1) {
		/* The server may have queued it: a retry may duplicate. */
		snprintf(text, sizeof(text), "%s after the end of the message "
		    "(it may have been accepted)", c.fail);
		set_reply(r, -1, text);
		goto out;
	}
	set_reply(r, code, text);
	if (code / 100 == 2)
		r->outcome = SM_SENT;
	else if (code >= 500)
		r->outcome = SM_REFUSED_DATA;
quit:
	if (send_line(&c, "QUIT") == 0)
		(void)read_reply(&c, to, text, sizeof(text));
	sm_msg_free(&data);
	return;
lost:
	/* A read says why; a send that failed left errno. */
	set_reply(r, -1, c.fail != NULL ? c.fail : errno == EAGAIN ?
	    "timed out sending" : "connection lost");
out:
	sm_msg_free(&data);
}

int
sm_exit_code(const struct sm_result *r)
{
	switch (r->outcome) {
	case SM_SENT:
		return r->nrefused > 0 ? EX_NOUSER : EX_OK;
	case SM_DEFERRED:
		return EX_TEMPFAIL;
	case SM_REFUSED_RCPTS:
		return EX_NOUSER;
	case SM_REFUSED_SENDER:
		return EX_NOPERM;
	case SM_REFUSED_DATA:
		return EX_DATAERR;
	case SM_REFUSED_OTHER:
		break;
	}
	return EX_UNAVAILABLE;
}

bool
sm_not_running(int err)
{
	return err == ENOENT || err == ECONNREFUSED;
}

/* A connect() in progress (not seen on Unix sockets, whose connect
 * completes or fails at once, but allowed): its result by the deadline. */
static int
connect_wait(int fd, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int64_t left;
	int soerr = 0, r;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r == -1 && errno != EINTR)
			return -1;
		if (r > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

int
sm_connect(const char *path, unsigned timeout_ms)
{
	struct sockaddr_un sun;
	int64_t deadline = now_ms() + timeout_ms, left;
	int fd, saved, flags;

	if (sun_fill(&sun, path) == -1)
		return -1;
	for (;;) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		saved = errno;
		if (saved == EINPROGRESS) {
			if (connect_wait(fd, deadline) == 0)
				break;
			saved = errno;
		}
		close(fd);
		/* A full backlog (the server busy or restarting): again,
		 * until the time is up. */
		if (saved != EAGAIN && saved != EINTR) {
			errno = saved;
			return -1;
		}
		if ((left = deadline - now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		(void)poll(NULL, 0, left < 100 ? (int)left : 100);
	}
	/* Blocking again: replies are waited for with poll(). */
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1)
		return close_failed(fd);
	return fd;
}

int
sm_relay(int in, int out, int sock)
{
	struct pollfd p[2];
	char buf[16384];
	bool in_open = true;
	ssize_t n;

	for (;;) {
		p[0].fd = in_open ? in : -1;
		p[0].events = POLLIN;
		p[1].fd = sock;
		p[1].events = POLLIN;
		if (poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(sock, buf, sizeof(buf));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				return n == 0 ? 0 : -1;
			if (write_all(out, buf, (size_t)n) == -1)
				return -1;
		}
		if (in_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(in, buf, sizeof(buf));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* The client is done: the server sees EOF. */
				in_open = false;
				shutdown(sock, SHUT_WR);
				continue;
			}
			if (send_all(sock, buf, (size_t)n) == -1)
				return -1;
		}
	}
}
