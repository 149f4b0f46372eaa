/* SPDX-License-Identifier: ISC */
/* The SMTP client of the submission socket (RFC 5321, with the SIZE,
 * 8BITMIME, SMTPUTF8 and DSN extensions when the server offers them),
 * one command at a time: a local socket has no round trips worth
 * pipelining. What the server says decides the exit status; anything
 * temporary, or silence, leaves the message to the drop directory. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "sendmail.h"
#include "util.h"

#define REPLY_LINES_MAX 100
#define LINE_MAX_LEN    2048

struct conn {
	int fd;
	bool verbose;
	char in[4096];
	size_t len, off;
};

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
 * connection ends, times out or sends a line too long. */
static ssize_t
read_line(struct conn *c, char *line, size_t max)
{
	size_t n = 0;
	ssize_t r;
	char ch;

	for (;;) {
		if (c->off == c->len) {
			r = read(c->fd, c->in, sizeof(c->in));
			if (r == -1 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;
			c->off = 0;
			c->len = (size_t)r;
		}
		ch = c->in[c->off++];
		if (ch == '\n')
			break;
		if (n + 1 >= max)
			return -1;
		line[n++] = ch;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return (ssize_t)n;
}

/* A whole reply: its code (200 to 599), its text lines joined by '\n'
 * in text. -1 when the connection is lost or the reply is malformed. */
static int
read_reply(struct conn *c, char *text, size_t textlen)
{
	char line[LINE_MAX_LEN];
	size_t tl = 0;
	ssize_t n;
	int code = -1, lines;

	text[0] = '\0';
	for (lines = 0; lines < REPLY_LINES_MAX; lines++) {
		if ((n = read_line(c, line, sizeof(line))) == -1)
			return -1;
		if (c->verbose)
			print_clean(stderr, "<<< ", line, (size_t)n);
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
		if (n == 3 || line[3] == ' ')
			return code;
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
		snprintf(r->reply, sizeof(r->reply),
		    "connection lost or malformed reply");
	else {
		char *nl;

		snprintf(r->reply, sizeof(r->reply), "%d %.500s", code, text);
		/* One line for stderr: the lines of a reply joined. */
		while ((nl = strchr(r->reply, '\n')) != NULL)
			*nl = ' ';
	}
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
	struct timeval tv = { .tv_sec = s->timeout ? s->timeout : 300 };
	struct sm_msg data = { NULL, 0, 0 };
	char text[4096], params[256];
	bool size = false, mime8 = false, utf8 = false, dsn = false;
	bool temp = false, need_utf8;
	size_t i, accepted = 0;
	int code;

	memset(r, 0, sizeof(*r));
	r->outcome = SM_DEFERRED;
	r->refused = xcalloc(s->nrcpts ? s->nrcpts : 1, sizeof(bool));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	if ((code = read_reply(&c, text, sizeof(text))) != 220) {
		set_reply(r, code, text);
		if (code >= 500)
			r->outcome = SM_REFUSED_OTHER;
		goto quit;
	}
	if (send_line(&c, "EHLO localhost") == -1 ||
	    (code = read_reply(&c, text, sizeof(text))) == -1)
		goto lost;
	if (code >= 500) {
		if (send_line(&c, "HELO localhost") == -1 ||
		    (code = read_reply(&c, text, sizeof(text))) == -1)
			goto lost;
	} else if (code / 100 == 2) {
		size = ehlo_has(text, "SIZE");
		mime8 = ehlo_has(text, "8BITMIME");
		utf8 = ehlo_has(text, "SMTPUTF8");
		dsn = ehlo_has(text, "DSN");
	}
	if (code / 100 != 2) {
		set_reply(r, code, text);
		if (code >= 500)
			r->outcome = SM_REFUSED_OTHER;
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
	if (size)
		snprintf(params + strlen(params), sizeof(params) - strlen(params),
		    " SIZE=%zu", data.len);
	if (send_line(&c, "MAIL FROM:<%s>%s", s->sender, params) == -1 ||
	    (code = read_reply(&c, text, sizeof(text))) == -1)
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
		    (code = read_reply(&c, text, sizeof(text))) == -1)
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
		goto quit;         /* deferred: the drop file takes the rest */
	if (accepted == 0) {
		r->outcome = SM_REFUSED_RCPTS;
		goto quit;
	}
	if (send_line(&c, "DATA") == -1 ||
	    (code = read_reply(&c, text, sizeof(text))) == -1)
		goto lost;
	if (code != 354) {
		set_reply(r, code, text);
		if (code >= 500)
			r->outcome = SM_REFUSED_OTHER;
		goto quit;
	}
	if (c.verbose)
		fprintf(stderr, ">>> (%zu octets of message)\n>>> .\n",
		    data.len);
	if (send_all(fd, data.buf, data.len) == -1 ||
	    (code = read_reply(&c, text, sizeof(text))) == -1)
		goto lost;
	set_reply(r, code, text);
	if (code / 100 == 2)
		r->outcome = SM_SENT;
	else if (code >= 500)
		r->outcome = SM_REFUSED_DATA;
quit:
	if (send_line(&c, "QUIT") == 0)
		(void)read_reply(&c, text, sizeof(text));
	sm_msg_free(&data);
	return;
lost:
	set_reply(r, -1, "");
	sm_msg_free(&data);
}

int
sm_exit_code(const struct sm_result *r, bool dropped)
{
	switch (r->outcome) {
	case SM_SENT:
		return r->nrefused > 0 ? EX_NOUSER : EX_OK;
	case SM_DEFERRED:
		if (!dropped)
			return EX_TEMPFAIL;
		return r->nrefused > 0 ? EX_NOUSER : EX_OK;
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

int
sm_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
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
