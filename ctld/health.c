/* SPDX-License-Identifier: ISC */
/* A deliberately small HTTP/1.0 server for health checks (load balancers,
 * systemd, Kubernetes probes):
 *   GET /health/live   200 {"status":"live"} while ctld runs
 *   GET /health/ready  200 when every daemon runs (last M_PROCS) and queued
 *                      answers a Q_STATUS_REQ in time, 503 otherwise
 * Anything else is 404 (405 for another method, 400 when unparsable). One
 * request per connection, at most HTTP_MAX_REQUEST bytes of request head
 * within HTTP_HEAD_MS, then Connection: close. /metrics and the queue
 * threshold come with the full control plane.
 *
 * A hostile client must not starve the probes: connections that have not
 * sent their request head are the ones given up when room is needed. At
 * most HTTP_MAX_PER_ADDR connections per client address (an IPv6 /64) and
 * HTTP_MAX_CONNS in all; past either, the oldest connection still waiting
 * for its head (from that address, or from anyone) is closed to make room,
 * so the listener never stops accepting and a prompt request is always
 * served. What is dropped is logged as a count, at most every
 * HTTP_NOTE_MS, never one line per connection. */
#include <errno.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctld.h"
#include "health_request.h"
#include "listener.h"
#include "event.h"
#include "log.h"
#include "util.h"

#define HTTP_MAX_CONNS       64
#define HTTP_MAX_PER_ADDR    8
#define HTTP_MAX_REQUEST     (8 * 1024)
#define HTTP_HEAD_MS         (5 * 1000)   /* to send the request head */
#define HTTP_ANSWER_MS       (5 * 1000)   /* then, to take the answer */
#define HTTP_QUEUE_WAIT_MS   (2 * 1000)   /* well inside HTTP_ANSWER_MS */
#define HTTP_NOTE_MS         (10 * 1000)  /* between two drop reports */

struct hconn {
	TAILQ_ENTRY(hconn) entry;     /* oldest first */
	int              fd;
	struct ev_io    *io;
	struct ev_timer *timer;
	struct peer_req *req;         /* /health/ready waiting for queued */
	bool             reading;     /* the request head is not complete */
	uint8_t          addr[16];    /* sa_client_key() of the client, for the cap */
	size_t           inlen;
	char             in[HTTP_MAX_REQUEST];
	char            *out;
	size_t           outlen, outoff;
};

static TAILQ_HEAD(, hconn) conns = TAILQ_HEAD_INITIALIZER(conns);
static bool hconn_new(int fd);
/* One more than we keep: hconn_new() makes room itself, so the listener
 * never stops accepting because of us. */
static struct ctl_listener listener = {
	.name = "health", .max = HTTP_MAX_CONNS + 1, .on_accept = hconn_new,
	.fd = -1,
};
static unsigned nconns;

/* Dropped connections since the last report, by reason. */
static struct {
	unsigned timed_out, evicted, refused;
	uint64_t last_ms;             /* 0: never reported */
} drops;

static void
drops_report(bool force)
{
	uint64_t now = mono_ms();

	if (drops.timed_out + drops.evicted + drops.refused == 0)
		return;
	if (!force && drops.last_ms != 0 && now - drops.last_ms < HTTP_NOTE_MS)
		return;
	log_warnx("health: closed %u connection%s without a request in time, "
	    "%u to make room for newer ones, refused %u", drops.timed_out,
	    drops.timed_out == 1 ? "" : "s", drops.evicted, drops.refused);
	drops.timed_out = drops.evicted = drops.refused = 0;
	drops.last_ms = now;
}

/* Only called from this connection's own io or timer callback, or from
 * the queue answer: nothing refers to h afterwards. */
static void
hconn_free(struct hconn *h)
{
	char sink[512];
	int i;

	peer_request_cancel(h->req);
	/* Unread request bytes would turn close() into a reset that can
	 * destroy the response in flight; drain what is there. */
	for (i = 0; i < 16 && read(h->fd, sink, sizeof(sink)) > 0; i++)
		;
	ev_io_del(h->io);
	close(h->fd);
	ev_timer_free(h->timer);
	free(h->out);
	TAILQ_REMOVE(&conns, h, entry);
	free(h);
	nconns--;
	listener_conn_closed(&listener);
}

static void
hconn_write(struct hconn *h)
{
	ssize_t n;

	while (h->outoff < h->outlen) {
		n = write(h->fd, h->out + h->outoff, h->outlen - h->outoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_set(h->io, EV_WRITE);
			return;
		}
		if (n <= 0) {
			hconn_free(h);
			return;
		}
		h->outoff += (size_t)n;
	}
	(void)shutdown(h->fd, SHUT_WR);
	hconn_free(h);
}

static void
respond(struct hconn *h, int code, const char *reason, const char *extra,
    const char *body)
{
	int n;

	n = xasprintf(&h->out, "HTTP/1.0 %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s"
	    "Connection: close\r\n"
	    "\r\n"
	    "%s\n", code, reason, strlen(body) + 1, extra, body);
	h->outlen = (size_t)n;
	h->outoff = 0;
	ev_io_set(h->io, 0);
	hconn_write(h);
}

static void
ready_respond(struct hconn *h, const struct queue_counts *qc)
{
	static const enum proc_id need[] = {
		PROC_SMTPD, PROC_QUEUED, PROC_DELIVERD, PROC_CTLD
	};
	char body[512], part[128];
	const struct proc_info *pi;
	bool ready = qc != NULL, up;
	size_t i;

	(void)strlcpy(body, "{\"daemons\":{", sizeof(body));
	for (i = 0; i < nitems(need); i++) {
		pi = procs_get(need[i]);
		up = procs_known() && pi->listed && pi->pid != 0;
		ready = ready && up;
		(void)snprintf(part, sizeof(part), "%s\"%s\":\"%s\"",
		    i ? "," : "", proc_name(need[i]), up ? "up" : "down");
		(void)strlcat(body, part, sizeof(body));
	}
	if (qc != NULL)
		(void)snprintf(part, sizeof(part),
		    "},\"queue\":{\"answered\":true,\"messages\":%" PRIu64 ","
		    "\"recipients\":%" PRIu64 "},", qc->messages,
		    qc->recipients);
	else
		(void)strlcpy(part, "},\"queue\":{\"answered\":false},",
		    sizeof(part));
	(void)strlcat(body, part, sizeof(body));
	(void)strlcat(body, ready ? "\"status\":\"ready\"}" :
	    "\"status\":\"not ready\"}", sizeof(body));
	if (ready)
		respond(h, 200, "OK", "", body);
	else
		respond(h, 503, "Service Unavailable", "", body);
}

static void
ready_answer(const struct chan_msg *reply, void *arg)
{
	struct hconn *h = arg;
	struct queue_counts qc;

	h->req = NULL;
	ready_respond(h, queue_counts_parse(reply, &qc) ? &qc : NULL);
}

/* A complete request head: answer it. */
static void
route(struct hconn *h, const struct health_request *rq)
{
	h->reading = false;
	ev_timer_start(h->timer, HTTP_ANSWER_MS);
	if (rq->method != HM_GET) {
		respond(h, 405, "Method Not Allowed", "Allow: GET\r\n",
		    "{\"error\":\"method not allowed\"}");
		return;
	}
	switch (rq->target) {
	case HT_LIVE:
		respond(h, 200, "OK", "", "{\"status\":\"live\"}");
		return;
	case HT_READY:
		ev_io_set(h->io, 0);      /* nothing more to read */
		h->req = peer_request(PROC_QUEUED, Q_STATUS_REQ, NULL,
		    HTTP_QUEUE_WAIT_MS, ready_answer, h);
		if (h->req == NULL)
			ready_respond(h, NULL);
		return;
	default:
		respond(h, 404, "Not Found", "", "{\"error\":\"not found\"}");
		return;
	}
}

static void
hconn_io(int fd, int events, void *arg)
{
	struct hconn *h = arg;
	struct health_request rq;
	ssize_t n;

	if (events & EV_WRITE) {
		hconn_write(h);
		return;
	}
	if (h->inlen == sizeof(h->in))
		return;               /* answered already; cannot happen */
	n = read(fd, h->in + h->inlen, sizeof(h->in) - h->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		hconn_free(h);        /* gone before a full request */
		return;
	}
	h->inlen += (size_t)n;
	switch (health_request_parse(h->in, h->inlen, sizeof(h->in), &rq)) {
	case HEAD_INCOMPLETE:
		return;
	case HEAD_DONE:
		route(h, &rq);
		return;
	case HEAD_BAD:
		h->reading = false;
		respond(h, 400, "Bad Request", "", "{\"error\":\"bad request\"}");
		return;
	case HEAD_TOO_LARGE:
		h->reading = false;
		respond(h, 400, "Bad Request", "",
		    "{\"error\":\"request too large\"}");
		return;
	}
}

static void
hconn_timeout(void *arg)
{
	struct hconn *h = arg;

	drops.timed_out++;
	drops_report(false);
	hconn_free(h);
}

/* The client's key for the per-address cap: its IPv4 address, or its
 * /64 for IPv6 (v4-mapped as the IPv4), as smtpd counts sessions. */
static void
peer_addr(int s, uint8_t out[16])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(out, 0, 16);
	if (getpeername(s, (struct sockaddr *)&ss, &len) == -1 ||
	    !sa_client_key((struct sockaddr *)&ss, out))
		memset(out, 0, 16);   /* counted together: the cap still holds */
}

/* Close the oldest connection still waiting for its head, from addr (or
 * from anyone when addr is NULL). False when there is none. */
static bool
evict_oldest(const uint8_t *addr)
{
	struct hconn *h;

	TAILQ_FOREACH(h, &conns, entry) {
		if (h->reading && (addr == NULL ||
		    memcmp(h->addr, addr, sizeof(h->addr)) == 0)) {
			drops.evicted++;
			hconn_free(h);
			return true;
		}
	}
	return false;
}

static bool
hconn_new(int s)
{
	struct hconn *h;
	uint8_t addr[16];
	unsigned same = 0;
	bool room = true;

	peer_addr(s, addr);
	TAILQ_FOREACH(h, &conns, entry)
		same += memcmp(h->addr, addr, sizeof(addr)) == 0;
	if (same >= HTTP_MAX_PER_ADDR)
		room = evict_oldest(addr);
	else if (nconns >= HTTP_MAX_CONNS)
		room = evict_oldest(NULL);
	if (!room) {
		drops.refused++;
		drops_report(false);
		close(s);
		return false;
	}
	drops_report(false);
	h = xcalloc(1, sizeof(*h));
	h->fd = s;
	h->reading = true;
	memcpy(h->addr, addr, sizeof(h->addr));
	h->io = ev_io_add(s, EV_READ, hconn_io, h);
	h->timer = ev_timer_new(hconn_timeout, h);
	ev_timer_start(h->timer, HTTP_HEAD_MS);
	TAILQ_INSERT_TAIL(&conns, h, entry);
	nconns++;
	return true;
}

void
health_listen(int fd)
{
	listener_set_fd(&listener, fd);
}

void
health_start(void)
{
	listener_start(&listener);
}

void
health_shutdown(void)
{
	struct hconn *h;

	listener_close(&listener);
	while ((h = TAILQ_FIRST(&conns)) != NULL)
		hconn_free(h);
	drops_report(true);
}
