/* The SMTP client session: one non-blocking connection per job (the
 * transaction itself is in txn.c).
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
 * The session and the transaction are separate steps (txn_begin(),
 * client_finish()), so connection reuse (issue 5) can run a second
 * transaction with RSET where client_finish() now says QUIT, and STARTTLS
 * fits between EHLO and txn_begin(). */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "daemon.h"
#include "deliverd.h"
#include "event.h"
#include "lineio.h"
#include "log.h"
#include "proto.h"
#include "util.h"

static LIST_HEAD(, client) clients = LIST_HEAD_INITIALIZER(clients);
static unsigned nclients, ndetached;

#define CMD_MAX 1024

static void io_cb(int, int, void *);

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

void
client_arm(struct client *c)
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

void
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
void
client_release(struct client *c)
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
int
client_fail(struct client *c, uint32_t state, const char *diag)
{
	if (c->job != NULL)
		job_pending_result(c->job, state, diag);
	client_release(c);
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

void
client_send(struct client *c, const char *fmt, ...)
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
int
client_finish(struct client *c)
{
	client_release(c);
	c->state = C_QUIT;
	client_send(c, "QUIT");
	client_arm(c);
	return client_pump(c);
}

/* Write what the socket takes, refill the body, set the interest. */
int
client_pump(struct client *c)
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
			client_arm(c);         /* progress restarts the data timer */
		if (c->state != C_BODY || c->body_sent ||
		    lio_out_pending(&c->lio) >= BODY_LOW_WATER)
			break;
		if (txn_body_fill(c) == -1)
			return -1;
	}
	ev_io_set(c->io, EV_READ |
	    (!c->wdead && lio_out_pending(&c->lio) > 0 ? EV_WRITE : 0));
	return 0;
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
		client_send(c, "EHLO %.255s", helo_name());
		client_arm(c);
		return client_pump(c);
	case C_EHLO:
		if (code / 100 == 2)
			return txn_begin(c);
		if (code / 100 != 5)
			return next_dest(c, c->reply.text);
		memset(&c->caps, 0, sizeof(c->caps));
		c->state = C_HELO;
		client_send(c, "HELO %.255s", helo_name());
		client_arm(c);
		return client_pump(c);
	case C_HELO:
		if (code / 100 == 2)
			return txn_begin(c);
		return next_dest(c, c->reply.text);
	case C_TXN:
		return txn_reply(c);
	case C_BODY:
		return txn_data_reply(c, true);
	case C_DATAEND:
		return txn_data_reply(c, false);
	case C_QUIT:
		client_free(c);
		return -1;
	case C_CONNECT:
		break;
	}
	return 0;
}

/* The connection broke (or the server spoke nonsense) in this state. */
int
client_broken(struct client *c, const char *what)
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
				return client_broken(c, "over-long reply line");
			rs = reply_feed(&c->reply, line, len);
			if (rs == REPLY_BAD)
				return client_broken(c, "malformed reply");
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
		return client_broken(c, n == 0 ? "lost connection" :
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
		client_arm(c);
		ev_io_set(c->io, EV_READ);
		return;
	}
	if ((events & EV_READ) && on_read(c) == -1)
		return;
	if (events & EV_WRITE)
		client_pump(c);
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
	client_arm(c);
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
