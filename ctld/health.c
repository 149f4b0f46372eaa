/* A deliberately small HTTP/1.0 server for health checks (load balancers,
 * systemd, Kubernetes probes):
 *   GET /health/live   200 {"status":"live"} while ctld runs
 *   GET /health/ready  200 when every daemon runs (last M_PROCS) and queued
 *                      answers a Q_STATUS_REQ in time, 503 otherwise
 * Anything else is 404 (405 for another method, 400 when unparsable). One
 * request per connection, at most HTTP_MAX_REQUEST bytes of request, done
 * within HTTP_TIMEOUT_MS, then Connection: close. /metrics and the queue
 * threshold come with the full control plane. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctld.h"
#include "listener.h"
#include "event.h"
#include "log.h"
#include "util.h"

#define HTTP_MAX_CONNS       32
#define HTTP_MAX_REQUEST     (8 * 1024)
#define HTTP_TIMEOUT_MS      (5 * 1000)
#define HTTP_QUEUE_WAIT_MS   (2 * 1000)   /* well inside HTTP_TIMEOUT_MS */

struct hconn {
	TAILQ_ENTRY(hconn) entry;
	int              fd;
	struct ev_io    *io;
	struct ev_timer *timer;
	struct peer_req *req;         /* /health/ready waiting for queued */
	size_t           inlen;
	char             in[HTTP_MAX_REQUEST + 1];
	char            *out;
	size_t           outlen, outoff;
};

static TAILQ_HEAD(, hconn) conns = TAILQ_HEAD_INITIALIZER(conns);
static bool hconn_new(int fd);
static struct ctl_listener listener = {
	.name = "health", .max = HTTP_MAX_CONNS, .on_accept = hconn_new,
	.fd = -1,
};

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
		    "},\"queue\":{\"answered\":true,\"messages\":%llu,"
		    "\"recipients\":%llu},", (unsigned long long)qc->messages,
		    (unsigned long long)qc->recipients);
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

/* The request line of a complete request head; the headers are ignored. */
static void
route(struct hconn *h)
{
	char *line = h->in, *eol, *target, *version, *q;

	eol = strchr(line, '\n');
	if (eol == NULL || memchr(h->in, '\0', h->inlen) != NULL)
		goto bad;
	*eol = '\0';
	if (eol > line && eol[-1] == '\r')
		eol[-1] = '\0';
	if ((target = strchr(line, ' ')) == NULL)
		goto bad;
	*target++ = '\0';
	if ((version = strchr(target, ' ')) == NULL)
		goto bad;
	*version++ = '\0';
	if (strncmp(version, "HTTP/1.", 7) != 0 || *target != '/')
		goto bad;
	if ((q = strchr(target, '?')) != NULL)
		*q = '\0';
	if (strcmp(line, "GET") != 0) {
		respond(h, 405, "Method Not Allowed", "Allow: GET\r\n",
		    "{\"error\":\"method not allowed\"}");
		return;
	}
	if (strcmp(target, "/health/live") == 0) {
		respond(h, 200, "OK", "", "{\"status\":\"live\"}");
		return;
	}
	if (strcmp(target, "/health/ready") == 0) {
		ev_io_set(h->io, 0);      /* nothing more to read */
		h->req = peer_request(PROC_QUEUED, Q_STATUS_REQ, NULL,
		    HTTP_QUEUE_WAIT_MS, ready_answer, h);
		if (h->req == NULL)
			ready_respond(h, NULL);
		return;
	}
	respond(h, 404, "Not Found", "", "{\"error\":\"not found\"}");
	return;
bad:
	respond(h, 400, "Bad Request", "", "{\"error\":\"bad request\"}");
}

static void
hconn_io(int fd, int events, void *arg)
{
	struct hconn *h = arg;
	ssize_t n;

	if (events & EV_WRITE) {
		hconn_write(h);
		return;
	}
	n = read(fd, h->in + h->inlen, HTTP_MAX_REQUEST - h->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		hconn_free(h);        /* gone before a full request */
		return;
	}
	h->inlen += (size_t)n;
	h->in[h->inlen] = '\0';
	if (memmem(h->in, h->inlen, "\r\n\r\n", 4) != NULL ||
	    memmem(h->in, h->inlen, "\n\n", 2) != NULL)
		route(h);
	else if (h->inlen == HTTP_MAX_REQUEST)
		respond(h, 400, "Bad Request", "", "{\"error\":\"request too large\"}");
}

static void
hconn_timeout(void *arg)
{
	struct hconn *h = arg;

	log_debug("health: request timed out");
	hconn_free(h);
}

static bool
hconn_new(int s)
{
	struct hconn *h = xcalloc(1, sizeof(*h));

	h->fd = s;
	h->io = ev_io_add(s, EV_READ, hconn_io, h);
	h->timer = ev_timer_new(hconn_timeout, h);
	ev_timer_start(h->timer, HTTP_TIMEOUT_MS);
	TAILQ_INSERT_TAIL(&conns, h, entry);
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
}
