/* SPDX-License-Identifier: ISC */
/* ctld's channels to the daemons that own the data (queued, deliverd) and
 * the requests in flight on them. Every request carries an id (peerid) and
 * a deadline; when the peer restarts, its channel closes or the deadline
 * passes, the request fails at once: a control client never hangs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <unistd.h>

#include "ctld.h"
#include "event.h"
#include "log.h"
#include "util.h"
#include "wire_ctl.h"

struct peer_req {
	TAILQ_ENTRY(peer_req) entry;
	enum proc_id     to;
	uint32_t         id;
	uint16_t         type;
	struct ev_timer *timer;
	peer_reply_cb    cb;
	void            *arg;
};

static TAILQ_HEAD(, peer_req) reqs = TAILQ_HEAD_INITIALIZER(reqs);
static struct channel *chans[PROC_COUNT];
static uint32_t last_id;

static void
req_destroy(struct peer_req *q)
{
	ev_timer_free(q->timer);
	free(q);
}

/* Complete an unlinked request: the callback may start new ones. */
static void
req_finish(struct peer_req *q, const struct chan_msg *reply)
{
	peer_reply_cb cb = q->cb;
	void *arg = q->arg;

	req_destroy(q);
	cb(reply, arg);
}

static void
fail_requests(enum proc_id p)
{
	struct peer_req *q, *tmp;
	TAILQ_HEAD(, peer_req) failed = TAILQ_HEAD_INITIALIZER(failed);

	/* Move them aside first: callbacks may add new requests to reqs. */
	TAILQ_FOREACH_SAFE(q, &reqs, entry, tmp) {
		if (q->to != p)
			continue;
		TAILQ_REMOVE(&reqs, q, entry);
		TAILQ_INSERT_TAIL(&failed, q, entry);
	}
	while ((q = TAILQ_FIRST(&failed)) != NULL) {
		TAILQ_REMOVE(&failed, q, entry);
		req_finish(q, NULL);
	}
}

static void
req_timeout(void *arg)
{
	struct peer_req *q = arg;

	log_warnx("%s did not answer %s (request %u) in time", proc_name(q->to),
	    msg_name(q->type), q->id);
	TAILQ_REMOVE(&reqs, q, entry);
	req_finish(q, NULL);
}

static void
peer_msg(struct channel *ch, struct chan_msg *m, void *arg)
{
	enum proc_id p = (enum proc_id)(uintptr_t)arg;
	struct peer_req *q;

	(void)ch;
	TAILQ_FOREACH(q, &reqs, entry) {
		if (q->to == p && q->id == m->peerid) {
			TAILQ_REMOVE(&reqs, q, entry);
			req_finish(q, m);
			return;
		}
	}
	/* A late answer to a request that timed out or whose client left. */
	log_debug("%s: %s for no pending request (%u)", proc_name(p),
	    msg_name(m->type), m->peerid);
}

static void
peer_closed(struct channel *ch, void *arg)
{
	enum proc_id p = (enum proc_id)(uintptr_t)arg;

	if (chans[p] != ch)
		return;
	chans[p] = NULL;
	log_warnx("channel to %s closed; waiting for a new one", proc_name(p));
	fail_requests(p);
}

void
peer_attach(enum proc_id p, int fd)
{
	char name[32];

	if (p != PROC_QUEUED && p != PROC_DELIVERD) {
		log_warnx("unexpected peer channel for %s", proc_name(p));
		close(fd);
		return;
	}
	if (chans[p] != NULL) {
		/* The peer restarted: what was asked of the old one is lost. */
		chan_free(chans[p]);
		chans[p] = NULL;
		fail_requests(p);
	}
	(void)snprintf(name, sizeof(name), "ctld>%s", proc_name(p));
	chans[p] = chan_new(fd, name, peer_msg, peer_closed, (void *)(uintptr_t)p);
	if (chans[p] == NULL) {
		log_warnx("cannot set up the channel to %s", proc_name(p));
		close(fd);
		return;
	}
	log_debug("channel to %s ready", proc_name(p));
}

static bool
peer_up(enum proc_id p)
{
	return (unsigned)p < PROC_COUNT && chans[p] != NULL;
}

struct peer_req *
peer_request(enum proc_id p, uint16_t type, const struct msgbuf *mb,
    uint64_t timeout_ms, peer_reply_cb cb, void *arg)
{
	struct peer_req *q;
	int rc;

	if (!peer_up(p))
		return NULL;
	if (++last_id == 0)
		last_id = 1;
	if (mb != NULL)
		rc = chan_send_mb(chans[p], type, last_id, -1, mb);
	else
		rc = chan_send(chans[p], type, last_id, -1, NULL, 0);
	if (rc == -1)
		return NULL;
	q = xcalloc(1, sizeof(*q));
	q->to = p;
	q->id = last_id;
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	q->timer = ev_timer_new(req_timeout, q);
	ev_timer_start(q->timer, timeout_ms);
	TAILQ_INSERT_TAIL(&reqs, q, entry);
	return q;
}

void
peer_request_cancel(struct peer_req *q)
{
	if (q != NULL) {
		TAILQ_REMOVE(&reqs, q, entry);
		req_destroy(q);
	}
}

void
peers_shutdown(void)
{
	struct peer_req *q;
	unsigned p;

	while ((q = TAILQ_FIRST(&reqs)) != NULL) {
		TAILQ_REMOVE(&reqs, q, entry);
		req_destroy(q);
	}
	for (p = 0; p < PROC_COUNT; p++) {
		if (chans[p] != NULL) {
			chan_free(chans[p]);
			chans[p] = NULL;
		}
	}
}

bool
queue_counts_parse(const struct chan_msg *m, struct queue_counts *qc)
{
	struct wire_qstatus w;

	if (m == NULL || m->type != Q_STATUS || wire_qstatus_decode(m, &w) == -1)
		return false;
	/* The per-state rows serve `queue stats`; the totals are enough here. */
	qc->messages = w.messages;
	qc->recipients = w.recipients;
	return true;
}
