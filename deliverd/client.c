/* The SMTP client: one non-blocking connection per job.
 *
 * States follow the conversation: connect, greeting, EHLO (HELO when EHLO
 * gets a 5xx), the transaction (MAIL, RCPT..., DATA; sent together when
 * the server offers PIPELINING, one at a time otherwise, the replies read
 * in order either way), the body, the reply to the final dot, QUIT. The
 * job gets its results as soon as the final reply is in; QUIT runs on
 * without it. Until MAIL the next address of the route is tried on any
 * failure; after it, a failure settles every recipient still open.
 * Each phase has its own timer from `delivery { timeout ... }`.
 *
 * The session and the transaction are separate steps (begin_txn(),
 * finish()), so connection reuse (issue 5) can run a second transaction
 * with RSET where finish() now says QUIT. */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "body.h"
#include "daemon.h"
#include "deliverd.h"
#include "event.h"
#include "lineio.h"
#include "log.h"
#include "proto.h"
#include "util.h"

/* The body is read in chunks of this size and more is produced only when
 * less than BODY_LOW_WATER waits in the output buffer: a connection holds
 * at most about BODY_LOW_WATER + 2 * BODY_CHUNK of the message. */
#define BODY_CHUNK      (64 * 1024)
#define BODY_LOW_WATER  (16 * 1024)
#define CMD_MAX         1024

enum cstate {
	C_CONNECT,
	C_GREETING,
	C_EHLO,
	C_HELO,
	C_TXN,                  /* replies to MAIL, RCPT..., DATA */
	C_BODY,                 /* writing the message */
	C_DATAEND,              /* waiting for the reply to the final dot */
	C_QUIT,
};

struct client {
	LIST_ENTRY(client) entry;
	struct job *job;                /* NULL once the results are handed back */
	bool     detached;              /* ... and still connected, saying QUIT */
	struct route *route;
	size_t   dest;                  /* route->dest being tried */
	int      fd;
	int      conn_err;              /* connect() failed at once: its errno */
	bool     wdead;                 /* writing failed; read what is left */
	struct ev_io *io;
	struct ev_timer *timer;
	struct lineio lio;
	bool     lio_ready;
	enum cstate state;
	struct smtp_reply reply;
	struct smtp_caps caps;
	char     peer[REMOTE_MAX];      /* "host[ip]:port" */
	char     addr[80];              /* "ip:port" or "[ip]:port" */

	/* The transaction: position 0 is MAIL, 1..nsend the RCPTs of
	 * rcpt_idx[], nsend + 1 is DATA. */
	size_t  *rcpt_idx;
	bool    *accepted;
	size_t   nsend, naccepted;
	size_t   sent, replied;
	bool     pipelining;
	bool     mail_failed;
	bool     discard;               /* a 354 nobody needs: send "." only */

	uint64_t off;                   /* next byte of the file to send */
	struct dotstuff ds;
	bool     body_sent;
};

static LIST_HEAD(, client) clients = LIST_HEAD_INITIALIZER(clients);
static unsigned nclients, ndetached;

/* One buffer pair serves every connection: filling is synchronous. */
static char body_in[BODY_CHUNK];
static char body_out[DOTSTUFF_OUT_MAX(BODY_CHUNK) + DOTSTUFF_END_MAX];

static void io_cb(int, int, void *);
static int  pump(struct client *);
static int  conn_broken(struct client *, const char *);

unsigned
client_count(void)
{
	return nclients;
}

unsigned
client_detached(void)
{
	return ndetached;
}

static unsigned
timeout_s(enum cstate st, size_t pos, size_t nsend)
{
	const struct config *cfg = daemon_config();
	const struct cfg_delivery *d = cfg != NULL ? &cfg->delivery : NULL;
	unsigned v = 0, def = 30;

	switch (st) {
	case C_CONNECT:
		v = d ? d->to_connect : 0;
		break;
	case C_GREETING:
	case C_EHLO:
	case C_HELO:
		v = d ? d->to_ehlo : 0;
		break;
	case C_TXN:
		if (pos == 0)
			v = d ? d->to_mail : 0;
		else if (pos <= nsend)
			v = d ? d->to_rcpt : 0;
		else {
			v = d ? d->to_data : 0;
			def = 120;
		}
		break;
	case C_BODY:
	case C_DATAEND:
		v = d ? d->to_data : 0;
		def = 120;
		break;
	case C_QUIT:
		v = d ? d->to_quit : 0;
		def = 10;
		break;
	}
	return v > 0 ? v : def;
}

static void
arm(struct client *c)
{
	ev_timer_start(c->timer,
	    (uint64_t)timeout_s(c->state, c->replied, c->nsend) * 1000);
}

/* What the server is being asked, for diagnostics. */
static const char *
phase(const struct client *c)
{
	switch (c->state) {
	case C_CONNECT:
		return "connect";
	case C_GREETING:
		return "the greeting";
	case C_EHLO:
		return "EHLO";
	case C_HELO:
		return "HELO";
	case C_TXN:
		if (c->replied == 0)
			return "MAIL FROM";
		return c->replied <= c->nsend ? "RCPT TO" : "DATA";
	case C_BODY:
		return "the message body";
	case C_DATAEND:
		return "end of data";
	case C_QUIT:
		return "QUIT";
	}
	return "?";
}

static uint32_t
fail_state(int code)
{
	return code >= 500 && code <= 599 ? RCPT_FAILED : RCPT_DEFERRED;
}

static void
conn_close(struct client *c)
{
	if (c->io != NULL)
		ev_io_del(c->io);
	c->io = NULL;
	if (c->lio_ready)
		lio_free(&c->lio);
	c->lio_ready = false;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	ev_timer_stop(c->timer);
}

static void
client_free(struct client *c)
{
	conn_close(c);
	ev_timer_free(c->timer);
	LIST_REMOVE(c, entry);
	nclients--;
	route_free(c->route);
	free(c->rcpt_idx);
	free(c->accepted);
	if (c->detached) {
		ndetached--;
		free(c);
		job_kick();             /* its concurrency slot is free */
		return;
	}
	free(c);
}

/* Hand the job back: its results are final. */
static void
release_job(struct client *c)
{
	struct job *j = c->job;

	if (j == NULL)
		return;
	c->job = NULL;
	c->detached = true;
	ndetached++;
	j->client = NULL;
	job_done(j);
}

/* Settle everything still open, drop the connection. Returns -1. */
static int
client_fail(struct client *c, uint32_t state, const char *diag)
{
	if (c->job != NULL)
		job_pending_result(c->job, state, diag);
	release_job(c);
	client_free(c);
	return -1;
}

static int connect_dest(struct client *);

/* Before MAIL: give up on this address, try the next one. Returns -1. */
static int
next_dest(struct client *c, const char *diag)
{
	conn_close(c);
	if (c->job != NULL && c->dest + 1 < c->route->ndest) {
		log_info("%s: %s, trying the next address", c->job->env.id, diag);
		c->dest++;
		connect_dest(c);
		return -1;
	}
	return client_fail(c, RCPT_DEFERRED, diag);
}

static void
send_cmd(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
send_cmd(struct client *c, const char *fmt, ...)
{
	char buf[CMD_MAX], safe[CMD_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	/* Addresses are bounded by job_check(), so this cannot cut. */
	if (n < 0 || (size_t)n >= sizeof(buf) - 2)
		fatalx("SMTP command too long");
	log_debug("%s > %s", c->peer, log_sanitize(buf, safe, sizeof(safe)));
	memcpy(buf + n, "\r\n", 2);
	lio_write(&c->lio, buf, (size_t)n + 2);
}

/* Transaction over: results to the job, then QUIT. */
static int
finish(struct client *c)
{
	release_job(c);
	c->state = C_QUIT;
	send_cmd(c, "QUIT");
	arm(c);
	return pump(c);
}

static void
send_pos(struct client *c, size_t pos)
{
	const struct job *j = c->job;

	if (pos == 0) {
		char size[32] = "";

		if (c->caps.size)
			snprintf(size, sizeof(size), " SIZE=%ju", (uintmax_t)j->size);
		send_cmd(c, "MAIL FROM:<%s>%s%s%s", j->env.sender, size,
		    c->caps.eightbitmime && j->env.body != NULL &&
		    strcasecmp(j->env.body, "8BITMIME") == 0 ? " BODY=8BITMIME" : "",
		    c->caps.smtputf8 && j->env.smtputf8 ? " SMTPUTF8" : "");
	} else if (pos <= c->nsend)
		send_cmd(c, "RCPT TO:<%s>", j->env.rcpt[c->rcpt_idx[pos - 1]].addr);
	else
		send_cmd(c, "DATA");
}

static int
begin_txn(struct client *c)
{
	struct job *j = c->job;
	char diag[REPLY_TEXT_MAX];
	size_t i;

	if (c->caps.size && c->caps.size_max > 0 && j->size > c->caps.size_max) {
		snprintf(diag, sizeof(diag), "5.3.4 message size %ju exceeds the "
		    "limit of %s (%ju)", (uintmax_t)j->size, c->peer,
		    (uintmax_t)c->caps.size_max);
		job_pending_result(j, RCPT_FAILED, diag);
		return finish(c);
	}
	c->rcpt_idx = xcalloc(j->env.nrcpt, sizeof(*c->rcpt_idx));
	c->accepted = xcalloc(j->env.nrcpt, sizeof(*c->accepted));
	for (i = 0; i < j->env.nrcpt; i++)
		if (job_rcpt_pending(j, i))
			c->rcpt_idx[c->nsend++] = i;
	if (c->nsend == 0)
		return finish(c);
	c->state = C_TXN;
	c->pipelining = c->caps.pipelining;
	if (c->pipelining) {
		while (c->sent < c->nsend + 2)
			send_pos(c, c->sent++);
	} else
		send_pos(c, c->sent++);
	arm(c);
	return pump(c);
}

static int
start_body(struct client *c)
{
	c->state = C_BODY;
	c->off = 0;
	c->body_sent = false;
	dotstuff_init(&c->ds);
	arm(c);
	return pump(c);
}

/* Produce body bytes while the output buffer is low. */
static int
body_fill(struct client *c)
{
	ssize_t n;
	size_t out;

	while (!c->body_sent && lio_out_pending(&c->lio) < BODY_LOW_WATER) {
		n = pread(c->job->fd, body_in, sizeof(body_in), (off_t)c->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("%s: read of the message file", c->job->env.id);
			/* Never send the final dot after a short body. */
			return client_fail(c, RCPT_DEFERRED,
			    "4.3.0 cannot read the message file");
		}
		if (n == 0) {
			out = dotstuff_end(&c->ds, body_out);
			c->body_sent = true;
			c->state = C_DATAEND;
			arm(c);
		} else {
			out = dotstuff(&c->ds, body_in, (size_t)n, body_out);
			c->off += (uint64_t)n;
		}
		lio_write(&c->lio, body_out, out);
	}
	return 0;
}

/* Write what the socket takes, refill the body, set the interest. */
static int
pump(struct client *c)
{
	size_t before;
	int r;

	if (c->io == NULL)
		return 0;
	while (!c->wdead) {
		before = lio_out_pending(&c->lio);
		r = lio_flush(&c->lio);
		if (r == -1) {
			/* The server may have said why before closing:
			 * read on, EOF or a reply settles it. */
			log_debug("%s: write: %s", c->peer, strerror(errno));
			c->wdead = true;
			break;
		}
		if ((c->state == C_BODY || c->state == C_DATAEND) &&
		    lio_out_pending(&c->lio) < before)
			arm(c);         /* progress restarts the data timer */
		if (c->state != C_BODY || c->body_sent ||
		    lio_out_pending(&c->lio) >= BODY_LOW_WATER)
			break;
		if (body_fill(c) == -1)
			return -1;
	}
	ev_io_set(c->io, EV_READ |
	    (!c->wdead && lio_out_pending(&c->lio) > 0 ? EV_WRITE : 0));
	return 0;
}

static int
txn_reply(struct client *c)
{
	struct job *j = c->job;
	const char *diag = c->reply.text;
	int code = c->reply.code;
	size_t pos, k;

	if (c->replied >= c->sent)
		return conn_broken(c, "unexpected reply");
	pos = c->replied++;
	if (pos == 0) {
		if (code / 100 != 2) {
			c->mail_failed = true;
			job_pending_result(j, fail_state(code), diag);
		}
	} else if (pos <= c->nsend) {
		if (!c->mail_failed) {
			if (code / 100 == 2) {
				c->accepted[pos - 1] = true;
				c->naccepted++;
			} else
				job_rcpt_result(j, c->rcpt_idx[pos - 1],
				    fail_state(code), diag);
		}
	} else {
		/* The reply to DATA. */
		if (c->mail_failed || c->naccepted == 0) {
			if (code != 354)
				return finish(c);
			/* RFC 2920 3.1: a 354 with no valid recipient
			 * gets an empty message that is then ignored. */
			c->discard = true;
			c->state = C_DATAEND;
			lio_write(&c->lio, ".\r\n", 3);
			arm(c);
			return pump(c);
		}
		if (code == 354)
			return start_body(c);
		for (k = 0; k < c->nsend; k++)
			if (c->accepted[k])
				job_rcpt_result(j, c->rcpt_idx[k],
				    fail_state(code), diag);
		return finish(c);
	}
	if (!c->pipelining) {
		if (c->mail_failed)
			return finish(c);
		/* Every recipient refused: no DATA, just QUIT. */
		if (c->sent == c->nsend + 1 && c->naccepted == 0)
			return finish(c);
		send_pos(c, c->sent++);
	}
	arm(c);
	return pump(c);
}

/* The reply to the final dot, or one that came while the body was still
 * going out (early: the server gave up on the message). */
static int
data_reply(struct client *c, bool early)
{
	const char *diag = c->reply.text;
	int code = c->reply.code;
	uint32_t st;
	size_t k;

	if (!c->discard) {
		if (code / 100 == 2 && !early)
			st = RCPT_DELIVERED;
		else
			st = fail_state(code);
		for (k = 0; k < c->nsend; k++)
			if (c->accepted[k])
				job_rcpt_result(c->job, c->rcpt_idx[k], st, diag);
	}
	if (early) {
		/* Mid-body, no QUIT can follow. */
		release_job(c);
		client_free(c);
		return -1;
	}
	return finish(c);
}

static const char *
helo_name(void)
{
	const struct config *cfg = daemon_config();

	return cfg != NULL && cfg->hostname != NULL && cfg->hostname[0] != '\0' ?
	    cfg->hostname : "localhost";
}

static int
on_reply(struct client *c)
{
	int code = c->reply.code;

	if (log_level_enabled(LOGL_DEBUG))
		log_debug("%s < %s", c->peer, c->reply.text);
	switch (c->state) {
	case C_GREETING:
		if (code / 100 != 2)
			return next_dest(c, c->reply.text);
		c->state = C_EHLO;
		send_cmd(c, "EHLO %.255s", helo_name());
		arm(c);
		return pump(c);
	case C_EHLO:
		if (code / 100 == 2)
			return begin_txn(c);
		if (code / 100 != 5)
			return next_dest(c, c->reply.text);
		memset(&c->caps, 0, sizeof(c->caps));
		c->state = C_HELO;
		send_cmd(c, "HELO %.255s", helo_name());
		arm(c);
		return pump(c);
	case C_HELO:
		if (code / 100 == 2)
			return begin_txn(c);
		return next_dest(c, c->reply.text);
	case C_TXN:
		return txn_reply(c);
	case C_BODY:
		return data_reply(c, true);
	case C_DATAEND:
		return data_reply(c, false);
	case C_QUIT:
		client_free(c);
		return -1;
	case C_CONNECT:
		break;
	}
	return 0;
}

/* The connection broke (or the server spoke nonsense) in this state. */
static int
conn_broken(struct client *c, const char *what)
{
	char diag[REPLY_TEXT_MAX];

	snprintf(diag, sizeof(diag), "4.4.2 %s with %s while %s %s", what,
	    c->peer, c->state == C_BODY ? "sending" : "waiting for", phase(c));
	switch (c->state) {
	case C_CONNECT:
	case C_GREETING:
	case C_EHLO:
	case C_HELO:
		return next_dest(c, diag);
	case C_TXN:
	case C_BODY:
	case C_DATAEND:
		return client_fail(c, RCPT_DEFERRED, diag);
	case C_QUIT:
		break;
	}
	client_free(c);
	return -1;
}

static int
on_read(struct client *c)
{
	enum lio_line st;
	enum reply_status rs;
	char *line;
	size_t len;
	ssize_t n;
	bool crlf;

	for (;;) {
		while ((st = lio_getline(&c->lio, REPLY_LINE_MAX, &line, &len,
		    &crlf)) != LIO_NONE) {
			if (st == LIO_TOOLONG)
				return conn_broken(c, "over-long reply line");
			rs = reply_feed(&c->reply, line, len);
			if (rs == REPLY_BAD)
				return conn_broken(c, "malformed reply");
			if (c->state == C_EHLO && c->reply.nlines > 1)
				caps_parse_line(&c->caps, c->reply.line,
				    c->reply.line_len);
			if (rs == REPLY_DONE && on_reply(c) == -1)
				return -1;
		}
		n = lio_fill(&c->lio);
		if (n > 0)
			continue;
		if (n == -1)
			return 0;
		return conn_broken(c, n == 0 ? "lost connection" :
		    "connection error");
	}
}

static int
connect_failed(struct client *c, int err)
{
	char diag[REPLY_TEXT_MAX];

	if (err == ECONNREFUSED)
		snprintf(diag, sizeof(diag), "4.4.1 connection refused by %s",
		    c->addr);
	else if (err == ETIMEDOUT)
		snprintf(diag, sizeof(diag), "4.4.1 connection to %s timed out",
		    c->addr);
	else
		snprintf(diag, sizeof(diag), "4.4.1 cannot connect to %s: %s",
		    c->addr, strerror(err));
	return next_dest(c, diag);
}

static void
timer_cb(void *arg)
{
	struct client *c = arg;
	char diag[REPLY_TEXT_MAX];

	switch (c->state) {
	case C_CONNECT:
		connect_failed(c, c->conn_err != 0 ? c->conn_err : ETIMEDOUT);
		return;
	case C_QUIT:
		client_free(c);
		return;
	case C_BODY:
		snprintf(diag, sizeof(diag),
		    "4.4.2 timeout sending the message to %s", c->peer);
		break;
	default:
		snprintf(diag, sizeof(diag),
		    "4.4.2 timeout waiting for %s from %s", phase(c), c->peer);
		break;
	}
	if (c->state == C_GREETING || c->state == C_EHLO || c->state == C_HELO)
		next_dest(c, diag);
	else
		client_fail(c, RCPT_DEFERRED, diag);
}

static void
io_cb(int fd, int events, void *arg)
{
	struct client *c = arg;
	socklen_t len;
	int err = 0;

	if (c->state == C_CONNECT) {
		len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			connect_failed(c, err);
			return;
		}
		log_debug("%s: connected to %s", c->job->env.id, c->peer);
		c->state = C_GREETING;
		arm(c);
		ev_io_set(c->io, EV_READ);
		return;
	}
	if ((events & EV_READ) && on_read(c) == -1)
		return;
	if (events & EV_WRITE)
		pump(c);
}

/* Open a connection to route->dest[c->dest]. Never completes at once: an
 * immediate failure is reported from the timer. */
static int
connect_dest(struct client *c)
{
	const struct route_dest *d = &c->route->dest[c->dest];
	char ip[64];

	sa_ntop((const struct sockaddr *)&d->ss, ip, sizeof(ip));
	if (d->ss.ss_family == AF_INET6)
		snprintf(c->addr, sizeof(c->addr), "[%s]:%u", ip, (unsigned)d->port);
	else
		snprintf(c->addr, sizeof(c->addr), "%s:%u", ip, (unsigned)d->port);
	snprintf(c->peer, sizeof(c->peer), "%s[%s]:%u", d->host, ip,
	    (unsigned)d->port);
	job_set_remote(c->job, c->peer);

	reply_init(&c->reply);
	memset(&c->caps, 0, sizeof(c->caps));
	c->wdead = false;
	c->conn_err = 0;
	c->state = C_CONNECT;
	c->fd = socket(d->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->fd == -1) {
		c->conn_err = errno;
		ev_timer_start(c->timer, 0);
		return 0;
	}
	if (connect(c->fd, (const struct sockaddr *)&d->ss, d->sslen) == -1 &&
	    errno != EINPROGRESS) {
		c->conn_err = errno;
		close(c->fd);
		c->fd = -1;
		ev_timer_start(c->timer, 0);
		return 0;
	}
	lio_init(&c->lio, c->fd);
	c->lio_ready = true;
	/* Writable once connected, whether at once or later. */
	c->io = ev_io_add(c->fd, EV_WRITE, io_cb, c);
	arm(c);
	return 0;
}

struct client *
client_start(struct job *j, struct route *r)
{
	struct client *c = xcalloc(1, sizeof(*c));

	c->job = j;
	c->route = r;
	c->fd = -1;
	c->timer = ev_timer_new(timer_cb, c);
	LIST_INSERT_HEAD(&clients, c, entry);
	nclients++;
	connect_dest(c);
	return c;
}

void
client_abort(struct client *c)
{
	c->job = NULL;
	client_free(c);
}

void
client_close_all(void)
{
	struct client *c;

	while ((c = LIST_FIRST(&clients)) != NULL) {
		if (c->job != NULL) {
			c->job->client = NULL;
			c->job = NULL;
		}
		client_free(c);
	}
}
