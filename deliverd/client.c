/* SPDX-License-Identifier: ISC */
/* The SMTP client session: non-blocking connections that run jobs (the
 * transaction itself is in txn.c, STARTTLS in client_tls.c).
 *
 * States follow the conversation: connect, greeting, EHLO (HELO when EHLO
 * gets a 5xx), STARTTLS and the handshake when the policy asks for it and
 * EHLO again, the transaction (MAIL, RCPT..., DATA; sent together when the
 * server offers PIPELINING, one at a time otherwise, the replies read in
 * order either way), the body, the reply to the final dot. Until MAIL the
 * next address of the route (the next MX host once one host's addresses
 * are done) is tried on any failure; after it, a failure settles every
 * recipient still open. Each phase has its own timer from
 * `delivery { timeout ... }`.
 *
 * After a transaction the job gets its results and the connection waits
 * in a pool (C_IDLE, POOL_IDLE_MS) for the next job to the same domain,
 * which starts with RSET (connection reuse); otherwise it says QUIT.
 * A connection that fails at the RSET hands its job back for a fresh
 * route and connection: reuse never costs a job an attempt. */
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
#include "delivery_events.h"
#include "event.h"
#include "flow.h"
#include "lineio.h"
#include "log.h"
#include "proto.h"
#include "util.h"

/* What only the connection's owner sees: its place in the lists, its
 * lifetime, the socket and the timer. txn.c and client_tls.c see the
 * struct client at its start (client.h). */
struct conn {
	struct client c;                /* first: conn_of() */
	LIST_ENTRY(conn) entry;
	LIST_ENTRY(conn) idle_entry;    /* in the pool (pooled) */
	bool     pooled;
	bool     detached;              /* no job, still connected: saying QUIT */
	char     domain[ROUTE_HOST_MAX];  /* of its jobs: the pool key */
	uint64_t born;                  /* monotonic ms of the connection */
	int      fd;
	int      conn_err;              /* connect() failed at once: its errno */
	bool     lio_ready;
	struct ev_timer *timer;
};

static LIST_HEAD(, conn) clients = LIST_HEAD_INITIALIZER(clients);
static LIST_HEAD(, conn) idle = LIST_HEAD_INITIALIZER(idle);
static unsigned nclients, ndetached, nidle;

#define CMD_MAX 1024

/* How long a connection may serve jobs: idle in the pool, in all, and
 * in transactions. Postfix keeps 2 s idle and 300 s in all. */
#define POOL_IDLE_MS     3000
#define POOL_AGE_MAX_MS  300000
#define POOL_TXN_MAX     100

static void io_cb(int, int, void *);

/* Every struct client is the start of a struct conn (client_start()). */
static struct conn *
conn_of(struct client *c)
{
	return (struct conn *)(void *)c;
}
static int connect_dest(struct client *);

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

/* The conversation's transitions (RFC 5321 3 and 4.1.4, RFC 3207 4.2):
 * for each state, the states it may go to. CONNECT again is the next
 * address of the route (or the same one without TLS), allowed until a
 * transaction starts; QUIT once a reply came and the server waits for a
 * command. A transaction ends in the pool (IDLE), in QUIT, or, for
 * recipients over the server's limit, in a follow-up (TXN again). */
#define S(st) (1u << (st))
static const unsigned allowed[C_NSTATES] = {
	[C_CONNECT]  = S(C_CONNECT) | S(C_GREETING),
	[C_GREETING] = S(C_CONNECT) | S(C_EHLO) | S(C_QUIT),
	[C_EHLO]     = S(C_CONNECT) | S(C_HELO) | S(C_STARTTLS) | S(C_TXN) |
	               S(C_IDLE) | S(C_QUIT),
	[C_HELO]     = S(C_CONNECT) | S(C_STARTTLS) | S(C_TXN) | S(C_IDLE) |
	               S(C_QUIT),
	[C_STARTTLS] = S(C_CONNECT) | S(C_TLS) | S(C_TXN) | S(C_IDLE) |
	               S(C_QUIT),
	[C_TLS]      = S(C_CONNECT) | S(C_EHLO),
	[C_RSET]     = S(C_TXN) | S(C_IDLE) | S(C_QUIT),
	[C_TXN]      = S(C_BODY) | S(C_DATAEND) | S(C_IDLE) | S(C_QUIT),
	[C_BODY]     = S(C_DATAEND),
	[C_DATAEND]  = S(C_TXN) | S(C_IDLE) | S(C_QUIT),
	[C_IDLE]     = S(C_RSET) | S(C_QUIT),
	[C_QUIT]     = 0,
};
#undef S

const char *
client_state_name(enum cstate st)
{
	static const char *const name[C_NSTATES] = {
		[C_CONNECT] = "CONNECT", [C_GREETING] = "GREETING",
		[C_EHLO] = "EHLO", [C_HELO] = "HELO",
		[C_STARTTLS] = "STARTTLS", [C_TLS] = "TLS", [C_RSET] = "RSET",
		[C_TXN] = "TXN", [C_BODY] = "BODY", [C_DATAEND] = "DATAEND",
		[C_IDLE] = "IDLE", [C_QUIT] = "QUIT",
	};

	return (unsigned)st < C_NSTATES ? name[st] : "?";
}

bool
client_transition_ok(enum cstate from, enum cstate to)
{
	return (unsigned)from < C_NSTATES && (unsigned)to < C_NSTATES &&
	    (allowed[from] & (1u << to)) != 0;
}

/* Settle what is open, drop the connection. Returns -1. */
static int
client_drop(struct client *c, uint32_t state, const char *diag)
{
	if (c->job != NULL)
		job_pending_result(c->job, state, diag);
	client_release(c);
	client_free(c);
	return -1;
}

int
client_set_state(struct client *c, enum cstate to)
{
	char diag[REPLY_TEXT_MAX];

	if (!client_transition_ok(c->state, to)) {
		/* A bug, not the server's doing: never go on in a state the
		 * conversation cannot be in. Deferred: a later attempt,
		 * not a postponement, so it cannot loop. */
		log_warnx("%s: SMTP client state %s to %s is not allowed, "
		    "dropping the connection to %s",
		    c->job != NULL ? c->job->env.id : "-",
		    client_state_name(c->state), client_state_name(to), c->peer);
		snprintf(diag, sizeof(diag), "4.3.0 local error in the SMTP "
		    "client (state %s to %s)", client_state_name(c->state),
		    client_state_name(to));
		return client_drop(c, RCPT_DEFERRED, diag);
	}
	/* The only write of the state (const everywhere else). */
	memcpy((void *)&c->state, &to, sizeof(to));
	return 0;
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
	case C_RSET:
		v = d ? d->to_ehlo : 0;
		break;
	case C_STARTTLS:
	case C_TLS:
		v = d ? d->to_starttls : 0;
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
	case C_IDLE:
		return POOL_IDLE_MS / 1000;
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
	uint64_t ms = (uint64_t)timeout_s(c->state, c->replied, c->nsend) * 1000;

	if (c->state == C_IDLE)
		ms = POOL_IDLE_MS;
	ev_timer_start(conn_of(c)->timer, ms);
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
	case C_STARTTLS:
		return "STARTTLS";
	case C_TLS:
		return "the TLS handshake";
	case C_RSET:
		return "RSET";
	case C_TXN:
		if (c->replied == 0)
			return "MAIL FROM";
		return c->replied <= c->nsend ? "RCPT TO" : "DATA";
	case C_BODY:
		return "the message body";
	case C_DATAEND:
		return "end of data";
	case C_IDLE:
		return "the next job";
	case C_QUIT:
		return "QUIT";
	}
	return "?";
}

static void
idle_remove(struct client *c)
{
	if (!conn_of(c)->pooled)
		return;
	LIST_REMOVE(conn_of(c), idle_entry);
	nidle--;
	conn_of(c)->pooled = false;
}

static void
conn_close(struct client *c)
{
	struct conn *k = conn_of(c);
	if (c->io != NULL)
		ev_io_del(c->io);
	c->io = NULL;
	if (k->lio_ready) {
		lio_tls_shutdown(&c->lio);
		lio_free(&c->lio);
	}
	k->lio_ready = false;
	c->tls_active = false;
	if (k->fd != -1)
		close(k->fd);
	k->fd = -1;
	ev_timer_stop(k->timer);
}

void
txn_reset(struct client *c, bool same_job)
{
	free(c->rcpt_idx);
	free(c->accepted);
	c->rcpt_idx = NULL;
	c->accepted = NULL;
	c->nsend = c->naccepted = c->sent = c->replied = 0;
	c->pipelining = c->mail_failed = c->discard = c->body_sent = false;
	c->nlimited = 0;
	c->limit_hit = c->followup = false;
	c->off = 0;
	mime7_free(c->m7);
	c->m7 = NULL;
	c->convert = false;
	if (!same_job) {
		c->hdr_scanned = c->m7_scanned = false;
		mime7_plan_free(&c->m7plan);
	}
}

void
client_free(struct client *c)
{
	idle_remove(c);
	conn_close(c);
	ev_timer_free(conn_of(c)->timer);
	LIST_REMOVE(conn_of(c), entry);
	nclients--;
	route_free(c->route);
	txn_reset(c, false);
	if (conn_of(c)->detached) {
		ndetached--;
		free(conn_of(c));
		job_kick();             /* its concurrency slot is free */
		return;
	}
	free(conn_of(c));
}

/* Give the job back with its results final. */
static void
hand_back(struct client *c)
{
	struct job *j = c->job;

	if (j == NULL)
		return;
	/* While the connection's TLS is still known. */
	devents_results(j, c);
	c->job = NULL;
	j->client = NULL;
	job_done(j);
}

/* Hand the job back: its results are final; the connection ends. */
void
client_release(struct client *c)
{
	if (c->job == NULL)
		return;
	conn_of(c)->detached = true;
	ndetached++;
	hand_back(c);
}

/* Settle everything still open, drop the connection. Returns -1. */
int
client_fail(struct client *c, uint32_t state, const char *diag)
{
	if (c->job != NULL) {
		/* A follow-up transaction for recipients over the server's
		 * limit (txn.c) that did not get to the body: the transaction
		 * before made progress, so no attempt is spent on them. */
		if (c->followup && c->state == C_TXN && state == RCPT_DEFERRED)
			state = RCPT_POSTPONED;
	}
	return client_drop(c, state, diag);
}

/* A reused connection failed before its transaction: the job starts
 * over on a fresh connection, the old one goes. Returns -1. */
static int
reuse_failed(struct client *c, const char *diag)
{
	struct job *j = c->job;

	log_info("%s: reused connection to %s failed (%s), connecting again",
	    j->env.id, c->peer, diag);
	c->job = NULL;
	client_free(c);
	job_reroute(j);
	return -1;
}

int
client_next_dest(struct client *c, const char *diag)
{
	conn_close(c);
	if (c->job != NULL && c->dest + 1 < c->route->ndest) {
		log_info("%s: %s, trying the next address", c->job->env.id, diag);
		c->dest++;
		c->no_tls = false;
		connect_dest(c);
		return -1;
	}
	return client_fail(c, RCPT_DEFERRED, diag);
}

int
client_retry_plain(struct client *c, const char *diag)
{
	conn_close(c);
	if (c->job == NULL)
		return client_fail(c, RCPT_DEFERRED, diag);
	log_info("%s: %s, trying %s again without TLS", c->job->env.id, diag,
	    c->addr);
	c->no_tls = true;
	connect_dest(c);
	return -1;
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
	if (log_level_enabled(LOGL_DEBUG))
		log_debug("%s > %s", c->peer, log_sanitize(buf, safe, sizeof(safe)));
	memcpy(buf + n, "\r\n", 2);
	lio_write(&c->lio, buf, (size_t)n + 2);
}

/* May this connection wait for another job? */
static bool
reusable(struct client *c)
{
	const struct config *cfg = daemon_config();
	unsigned per = cfg != NULL && cfg->delivery.per_domain ?
	    cfg->delivery.per_domain : 8;
	const struct conn *o;
	unsigned same = 0;

	if (c->wdead || c->discard || c->io == NULL ||
	    c->ntxn >= POOL_TXN_MAX ||
	    mono_ms() - conn_of(c)->born >= POOL_AGE_MAX_MS ||
	    nidle >= job_concurrency())
		return false;
	LIST_FOREACH(o, &idle, idle_entry)
		if (strcasecmp(o->domain, conn_of(c)->domain) == 0)
			same++;
	return same < per;
}

/* Transaction over: results to the job, then the pool or QUIT. */
int
client_finish(struct client *c)
{
	c->ntxn++;
	if (c->job != NULL && reusable(c)) {
		if (client_set_state(c, C_IDLE) == -1)
			return -1;
		txn_reset(c, false);    /* the next job is another one */
		lio_compact(&c->lio);
		LIST_INSERT_HEAD(&idle, conn_of(c), idle_entry);
		conn_of(c)->pooled = true;
		nidle++;
		client_arm(c);
		ev_io_set(c->io, EV_READ);
		/* job_done() may start a job that takes this connection
		 * back at once (client_reuse()). */
		hand_back(c);
		if (c->state == C_IDLE)
			return -1;
		return client_pump(c);
	}
	if (client_set_state(c, C_QUIT) == -1)
		return -1;
	client_release(c);
	client_send(c, "QUIT");
	client_arm(c);
	return client_pump(c);
}

/* Write what the socket takes, refill the body, set the interest. */
int
client_pump(struct client *c)
{
	size_t before;
	int r, ev;

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
	ev = EV_READ;
	if (!c->wdead && lio_out_pending(&c->lio) > 0)
		ev |= c->lio.ssl != NULL ? lio_tls_events(&c->lio) | EV_WRITE :
		    EV_WRITE;
	ev_io_set(c->io, ev);
	return 0;
}

static const char *
helo_name(void)
{
	const struct config *cfg = daemon_config();

	return cfg != NULL && cfg->hostname != NULL && cfg->hostname[0] != '\0' ?
	    cfg->hostname : "localhost";
}

int
client_send_ehlo(struct client *c)
{
	if (client_set_state(c, C_EHLO) == -1)
		return -1;
	memset(&c->caps, 0, sizeof(c->caps));
	client_send(c, "EHLO %.255s", helo_name());
	client_arm(c);
	return 0;
}

static int
client_ehlo_done(struct client *c)
{
	return tls_after_ehlo(c);
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
			return client_next_dest(c, c->reply.text);
		if (client_send_ehlo(c) == -1)
			return -1;
		return client_pump(c);
	case C_EHLO:
		if (code / 100 == 2)
			return client_ehlo_done(c);
		if (code / 100 != 5 || c->tls_active)
			return client_next_dest(c, c->reply.text);
		if (client_set_state(c, C_HELO) == -1)
			return -1;
		memset(&c->caps, 0, sizeof(c->caps));
		client_send(c, "HELO %.255s", helo_name());
		client_arm(c);
		return client_pump(c);
	case C_HELO:
		if (code / 100 == 2)
			return client_ehlo_done(c);
		return client_next_dest(c, c->reply.text);
	case C_STARTTLS:
		return tls_starttls_reply(c);
	case C_RSET:
		if (code / 100 != 2)
			return reuse_failed(c, c->reply.text);
		return txn_begin(c);
	case C_TXN:
		return txn_reply(c);
	case C_BODY:
		return txn_data_reply(c, true);
	case C_DATAEND:
		return txn_data_reply(c, false);
	case C_IDLE:
		/* Unasked: usually 421 before the server closes. */
		log_debug("%s: idle connection closed by the server", c->peer);
		client_free(c);
		return -1;
	case C_QUIT:
		client_free(c);
		return -1;
	case C_CONNECT:
	case C_TLS:
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
	case C_STARTTLS:
	case C_TLS:
		return client_next_dest(c, diag);
	case C_RSET:
		return reuse_failed(c, diag);
	case C_TXN:
	case C_BODY:
	case C_DATAEND:
		return client_fail(c, RCPT_DEFERRED, diag);
	case C_IDLE:
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
	return client_next_dest(c, diag);
}

static void
timer_cb(void *arg)
{
	struct client *c = arg;
	char diag[REPLY_TEXT_MAX];

	switch (c->state) {
	case C_CONNECT:
		connect_failed(c, conn_of(c)->conn_err != 0 ?
		    conn_of(c)->conn_err : ETIMEDOUT);
		return;
	case C_IDLE:
		/* Nobody needed it: say goodbye. It holds no job slot. */
		idle_remove(c);
		if (client_set_state(c, C_QUIT) == -1)
			return;
		client_send(c, "QUIT");
		client_arm(c);
		client_pump(c);
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
	switch (c->state) {
	case C_GREETING:
	case C_EHLO:
	case C_HELO:
	case C_STARTTLS:
	case C_TLS:
		client_next_dest(c, diag);
		break;
	case C_RSET:
		reuse_failed(c, diag);
		break;
	default:
		client_fail(c, RCPT_DEFERRED, diag);
		break;
	}
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
		if (client_set_state(c, C_GREETING) == -1)
			return;
		conn_of(c)->born = mono_ms();
		client_arm(c);
		ev_io_set(c->io, EV_READ);
		return;
	}
	if (c->state == C_TLS) {
		tls_step(c);
		return;
	}
	if ((events & EV_READ) && on_read(c) == -1)
		return;
	/* Reading may have moved the connection into the handshake. */
	if ((events & EV_WRITE) && c->state != C_TLS)
		client_pump(c);
}

/* The job learns where it goes: for its results and the plugins. */
static void
remote_to_job(struct client *c)
{
	const struct route_dest *d = &c->route->dest[c->dest];
	char ip[64];

	sa_ntop((const struct sockaddr *)&d->ss, ip, sizeof(ip));
	job_set_remote(c->job, c->peer, d->host, ip);
}

/* Open a connection to route->dest[c->dest]. Never completes at once: an
 * immediate failure is reported from the timer. */
static int
connect_dest(struct client *c)
{
	struct conn *k = conn_of(c);
	const struct route_dest *d = &c->route->dest[c->dest];
	char ip[64];

	sa_ntop((const struct sockaddr *)&d->ss, ip, sizeof(ip));
	if (d->ss.ss_family == AF_INET6)
		snprintf(c->addr, sizeof(c->addr), "[%s]:%u", ip, (unsigned)d->port);
	else
		snprintf(c->addr, sizeof(c->addr), "%s:%u", ip, (unsigned)d->port);
	snprintf(c->peer, sizeof(c->peer), "%s[%s]:%u", d->host, ip,
	    (unsigned)d->port);
	remote_to_job(c);

	if (client_set_state(c, C_CONNECT) == -1)
		return -1;
	reply_init(&c->reply);
	memset(&c->caps, 0, sizeof(c->caps));
	c->wdead = false;
	k->conn_err = 0;
	c->ntxn = 0;
	k->fd = socket(d->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (k->fd == -1) {
		k->conn_err = errno;
		ev_timer_start(k->timer, 0);
		return 0;
	}
	if (connect(k->fd, (const struct sockaddr *)&d->ss, d->sslen) == -1 &&
	    errno != EINPROGRESS) {
		k->conn_err = errno;
		close(k->fd);
		k->fd = -1;
		ev_timer_start(k->timer, 0);
		return 0;
	}
	lio_init(&c->lio, k->fd);
	k->lio_ready = true;
	/* Writable once connected, whether at once or later. */
	c->io = ev_io_add(k->fd, EV_WRITE, io_cb, c);
	client_arm(c);
	return 0;
}

struct client *
client_start(struct job *j, struct route *r)
{
	struct conn *k = xcalloc(1, sizeof(*k));
	struct client *c = &k->c;

	c->job = j;
	c->route = r;
	k->fd = -1;
	strlcpy(k->domain, j->domain, sizeof(k->domain));
	tls_policy_of(c, j->domain);
	k->timer = ev_timer_new(timer_cb, c);
	LIST_INSERT_HEAD(&clients, k, entry);
	nclients++;
	connect_dest(c);
	return c;
}

struct client *
client_reuse(struct job *j)
{
	struct client *c;
	struct conn *k;

	LIST_FOREACH(k, &idle, idle_entry)
		if (strcasecmp(k->domain, j->domain) == 0)
			break;
	if (k == NULL)
		return NULL;
	c = &k->c;
	idle_remove(c);
	/* Before it has the job: a failure here leaves the job alone. */
	if (client_set_state(c, C_RSET) == -1)
		return NULL;
	c->job = j;
	remote_to_job(c);
	log_debug("%s: reusing the connection to %s", j->env.id, c->peer);
	reply_init(&c->reply);
	client_send(c, "RSET");
	client_arm(c);
	/* Written from the loop: the caller may be inside this client. */
	ev_io_set(c->io, EV_READ | EV_WRITE);
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
	struct conn *k;

	while ((k = LIST_FIRST(&clients)) != NULL) {
		c = &k->c;
		if (c->job != NULL) {
			c->job->client = NULL;
			c->job = NULL;
		}
		client_free(c);
	}
}
