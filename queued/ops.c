/* SPDX-License-Identifier: ISC */
/* The ctld side of the queue: the counters of `empathctl system status`
 * and the queue operations of `empathctl queue` (list, view, delete,
 * retry, freeze, unfreeze, process now, stats). Every id is checked with
 * ulid_valid() before it is used, every answer fits one frame: long
 * strings are cut, long lists are paged or cut with a marker. A change
 * is answered once it is durable. */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "plugin_ctx.h"
#include "queued.h"
#include "spool.h"
#include "ulid.h"
#include "util.h"
#include "wire.h"
#include "wire_ctl.h"

/* Longest string of a list or view row; longer ones are cut. */
#define FIELD_CUT   512
/* Room for the rows of one answer, below the frame limit. */
#define ROWS_BUDGET (CHAN_MAX_PAYLOAD - 128 * 1024)

struct op_reply {
	LIST_ENTRY(op_reply) entry;
	struct qpeer *peer;            /* NULL once ctld's channel is gone */
	uint32_t      reqid;
	uint64_t      count;
	char          text[128];
};

/* Send an encoded answer; one the codec refuses is a bug here, and ctld
 * then fails the request at its deadline rather than relay it. */
static void
send_wire(struct qpeer *p, uint16_t type, uint32_t reqid, int rv,
    struct msgbuf *mb)
{
	if (rv == -1)
		log_warnx("ctld: %s not encodable, not sent", msg_name(type));
	else if (p->ch != NULL)
		chan_send_mb(p->ch, type, reqid, -1, mb);
	mb_free(mb);
}

static void
send_fail(struct qpeer *p, uint32_t reqid, uint32_t code, const char *text)
{
	struct wire_opfail w = { code, text };
	struct msgbuf mb;

	mb_init(&mb);
	send_wire(p, Q_OP_FAIL, reqid, wire_opfail_encode(&mb, &w), &mb);
}

static void
send_ok(struct qpeer *p, uint32_t reqid, uint64_t count, const char *text)
{
	struct wire_ok w = { count, text };
	struct msgbuf mb;

	mb_init(&mb);
	send_wire(p, CTL_QUEUE_OK, reqid, wire_ok_encode(&mb, &w), &mb);
}

/* A string cut to FIELD_CUT octets, in one of the caller's buffers. */
static const char *
cut(const char *s, char buf[FIELD_CUT + 1])
{
	if (s == NULL)
		return "";
	if (strlen(s) <= FIELD_CUT)
		return s;
	memcpy(buf, s, FIELD_CUT);
	buf[FIELD_CUT] = '\0';
	return buf;
}

/* Its size on the wire once cut (u32 length, octets, NUL). */
static size_t
wire_len(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return 4 + (n < max ? n : max) + 1;
}

static LIST_HEAD(, op_reply) waiting_replies =
    LIST_HEAD_INITIALIZER(waiting_replies);

/* The durable change is answered now. */
static void
op_durable(void *arg, bool ok)
{
	struct op_reply *r = arg;

	LIST_REMOVE(r, entry);
	/* The peer may have gone meanwhile: ctld failed the request then. */
	if (r->peer != NULL && r->peer->ch != NULL) {
		if (ok)
			send_ok(r->peer, r->reqid, r->count, r->text);
		else
			send_fail(r->peer, r->reqid, Q_ERR_INTERNAL,
			    "the change is made but could not be synced to disk");
	}
	free(r);
}

static void
reply_when_durable(struct qpeer *p, uint32_t reqid, uint64_t count,
    const char *text)
{
	struct op_reply *r = xcalloc(1, sizeof(*r));

	r->peer = p;
	r->reqid = reqid;
	r->count = count;
	strlcpy(r->text, text, sizeof(r->text));
	LIST_INSERT_HEAD(&waiting_replies, r, entry);
	pipeline_after_durable(op_durable, r);
}

void
ops_peer_gone(struct qpeer *p)
{
	struct op_reply *r;

	LIST_FOREACH(r, &waiting_replies, entry)
		if (r->peer == p)
			r->peer = NULL;
}

/* ---- status (system status, health) ---- */

static void
do_status(struct qpeer *p, uint32_t reqid)
{
	uint64_t by_state[RCPT_STATE_COUNT];
	struct wire_qstatus w;
	struct msgbuf mb;
	uint32_t i;

	/* No reply on error: ctld's request deadline turns it into an error
	 * for its client, rather than a false "queue is empty". */
	if (store_counts(Q.store, &w.messages, &w.recipients, by_state) == -1)
		return;
	w.n = RCPT_STATE_COUNT;
	for (i = 0; i < RCPT_STATE_COUNT; i++) {
		w.row[i].state = i;
		w.row[i].count = by_state[i];
	}
	mb_init(&mb);
	send_wire(p, Q_STATUS, reqid, wire_qstatus_encode(&mb, &w), &mb);
}

/* ---- list ---- */

struct list_ctx {
	struct store_list_row *rows;
	char  (*senders)[FIELD_CUT + 1];
	size_t n, budget;
	bool   full;
};

static void
list_row(const struct store_list_row *row, void *arg)
{
	struct list_ctx *c = arg;
	size_t need = wire_len(row->id, ULID_LEN) + wire_len(row->sender,
	    FIELD_CUT) + 3 * 8 + 4 + RCPT_STATE_COUNT * 8;

	if (c->full || need > c->budget) {
		c->full = true;
		return;
	}
	c->budget -= need;
	c->rows[c->n] = *row;
	strlcpy(c->senders[c->n], row->sender, sizeof(c->senders[0]));
	c->rows[c->n].sender = c->senders[c->n];
	c->n++;
}

static void
do_list(struct qpeer *p, struct chan_msg *m)
{
	struct wire_list_req req;
	struct wire_qlist w;
	struct list_ctx c;
	struct msgbuf mb;
	bool more = false;
	size_t i;

	if (wire_list_req_decode(m, &req) == -1) {
		send_fail(p, m->peerid, Q_ERR_BADREQ, "malformed list request");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.rows = xcalloc(req.limit, sizeof(*c.rows));
	c.senders = xcalloc(req.limit, sizeof(*c.senders));
	c.budget = ROWS_BUDGET;
	if (store_list(Q.store, req.state == Q_STATE_ANY ? RCPT_STATE_COUNT :
	    req.state, req.after, req.limit, list_row, &c, &more) == -1) {
		send_fail(p, m->peerid, Q_ERR_INTERNAL, "cannot read the queue index");
		goto out;
	}
	w.n = (uint32_t)c.n;
	w.more = more || c.full;
	w.row = c.n ? xcalloc(c.n, sizeof(*w.row)) : NULL;
	for (i = 0; i < c.n; i++) {
		const struct store_list_row *r = &c.rows[i];

		w.row[i].id = r->id;
		w.row[i].sender = r->sender;
		w.row[i].size = r->size;
		w.row[i].created = r->created > 0 ? (uint64_t)r->created : 0;
		w.row[i].next = r->next_attempt > 0 ?
		    (uint64_t)r->next_attempt : 0;
		memcpy(w.row[i].by_state, r->by_state, sizeof(w.row[i].by_state));
	}
	mb_init(&mb);
	send_wire(p, CTL_QUEUE_LIST_REPLY, m->peerid, wire_qlist_encode(&mb, &w),
	    &mb);
	free(w.row);
out:
	free(c.rows);
	free(c.senders);
}

/* ---- view ---- */

/* The header section of the message file, at most Q_VIEW_HEADERS octets
 * (allocated; *cut when there was more). */
static char *
read_headers(const char *id, bool *cut)
{
	char *buf = xmalloc(Q_VIEW_HEADERS + 1);
	size_t len = 0, i;
	ssize_t n;
	int fd;

	*cut = false;
	buf[0] = '\0';
	if ((fd = spool_open_message(id)) == -1)
		return buf;
	while (len < Q_VIEW_HEADERS &&
	    (n = read(fd, buf + len, Q_VIEW_HEADERS - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	for (i = 0; i < len; i++) {
		/* An empty line ends the header section; a NUL ends the string. */
		if (buf[i] == '\0' || ((i == 0 || buf[i - 1] == '\n') &&
		    (buf[i] == '\n' || (buf[i] == '\r' && buf[i + 1] == '\n')))) {
			buf[i] = '\0';
			return buf;
		}
	}
	*cut = len == Q_VIEW_HEADERS;
	return buf;
}

static void
do_view(struct qpeer *p, struct chan_msg *m)
{
	static char bufs[6][FIELD_CUT + 1];
	struct wire_msgid req;
	struct wire_qview w;
	struct envelope env;
	struct store_rcpt *rc = NULL;
	struct msgbuf mb;
	size_t n = 0, i, keep, budget = ROWS_BUDGET - Q_VIEW_HEADERS;
	const char *id;
	char *headers, (*rbufs)[4][FIELD_CUT + 1];
	bool more, hcut;
	int rv;

	if (wire_msgid_decode(m, &req) == -1) {
		send_fail(p, m->peerid, Q_ERR_BADREQ, "invalid message id");
		return;
	}
	id = req.msgid;
	env_init(&env);
	if ((rv = store_load(Q.store, id, &env, false)) != 0 ||
	    store_rcpts(Q.store, id, Q_VIEW_RCPTS, &rc, &n, &more) == -1) {
		send_fail(p, m->peerid, rv == 1 ? Q_ERR_NOTFOUND : Q_ERR_INTERNAL,
		    rv == 1 ? "no such message in the queue" :
		    "cannot read the queue index");
		env_clear(&env);
		return;
	}
	/* As many recipients as fit. */
	for (keep = 0; keep < n; keep++) {
		const struct store_rcpt *r = &rc[keep];
		size_t need = 8 + 3 * 4 + 2 * 8 + wire_len(r->addr, FIELD_CUT) +
		    wire_len(r->orcpt, FIELD_CUT) + wire_len(r->last_error,
		    FIELD_CUT) + wire_len(r->last_host, FIELD_CUT);

		if (need > budget)
			break;
		budget -= need;
	}
	headers = read_headers(id, &hcut);
	memset(&w, 0, sizeof(w));
	w.id = id;
	w.sender = cut(env.sender, bufs[0]);
	w.helo = cut(env.helo, bufs[1]);
	w.client_addr = cut(env.client_addr, bufs[2]);
	w.client_name = cut(env.client_name, bufs[3]);
	w.body = cut(env.body, bufs[4]);
	w.envid = cut(env.envid, bufs[5]);
	w.ret = env.ret;
	w.smtputf8 = env.smtputf8 != 0;
	w.size = env.size;
	w.created = env.created > 0 ? (uint64_t)env.created : 0;
	w.n = (uint32_t)keep;
	w.rcpt = keep ? xcalloc(keep, sizeof(*w.rcpt)) : NULL;
	rbufs = keep ? xcalloc(keep, sizeof(*rbufs)) : NULL;
	for (i = 0; i < keep; i++) {
		const struct store_rcpt *r = &rc[i];
		struct wire_qview_rcpt *q = &w.rcpt[i];

		q->id = r->id;
		q->addr = cut(r->addr, rbufs[i][0]);
		q->orcpt = cut(r->orcpt, rbufs[i][1]);
		q->notify = r->notify;
		q->state = r->state;
		q->attempts = r->attempts;
		q->next = r->next_attempt > 0 ? (uint64_t)r->next_attempt : 0;
		q->last = r->last_attempt > 0 ? (uint64_t)r->last_attempt : 0;
		q->error = cut(r->last_error, rbufs[i][2]);
		q->host = cut(r->last_host, rbufs[i][3]);
	}
	w.more = more || keep < n;
	w.headers = headers;
	w.headers_cut = hcut;
	mb_init(&mb);
	send_wire(p, CTL_QUEUE_VIEW_REPLY, m->peerid, wire_qview_encode(&mb, &w),
	    &mb);
	free(w.rcpt);
	free(rbufs);
	free(headers);
	store_rcpts_free(rc, n);
	env_clear(&env);
}

/* ---- changes ---- */

/* EM_EVENT_MESSAGE_DELETED of the delete in the transaction under way,
 * fired once it is committed. */
static struct em_context *deleted_ev;

/* Run fn inside a transaction; answer once durable. */
static void
change(struct qpeer *p, uint32_t reqid, const char *what,
    int (*fn)(const char *id, uint64_t *n, char *text, size_t len),
    const char *id)
{
	char text[128] = "";
	uint64_t n = 0;
	int rv;

	if (store_begin(Q.store, false) == -1) {
		send_fail(p, reqid, Q_ERR_INTERNAL, "cannot write the queue index");
		return;
	}
	rv = fn(id, &n, text, sizeof(text));
	if (rv != 0) {
		plugin_ctx_free(deleted_ev);
		deleted_ev = NULL;
		store_rollback(Q.store);
		removal_txn_end(false);
		send_fail(p, reqid, rv == 1 ? Q_ERR_NOTFOUND : Q_ERR_INTERNAL,
		    rv == 1 ? "no such message in the queue" : text);
		return;
	}
	if (store_commit(Q.store) == -1) {
		plugin_ctx_free(deleted_ev);
		deleted_ev = NULL;
		removal_txn_end(false);
		send_fail(p, reqid, Q_ERR_INTERNAL, "cannot write the queue index");
		return;
	}
	removal_txn_end(true);
	log_info("queue operation: %s%s%s: %s", what, id ? " " : "", id ? id : "",
	    text);
	reply_when_durable(p, reqid, n, text);
	qevent_fire(EM_EVENT_MESSAGE_DELETED, deleted_ev);
	deleted_ev = NULL;
}

static struct em_context *
deleted_context(const char *id)
{
	struct envelope env;
	struct em_context *ctx;
	size_t i;

	env_init(&env);
	if (store_load(Q.store, id, &env, true) != 0) {
		env_clear(&env);
		return NULL;
	}
	ctx = qevent_new(&env);
	for (i = 0; i < env.nrcpt; i++)
		if (env.rcpt[i].state == RCPT_QUEUED ||
		    env.rcpt[i].state == RCPT_INFLIGHT ||
		    env.rcpt[i].state == RCPT_DEFERRED)
			plugin_ctx_add_rcpt(ctx, env.rcpt[i].addr);
	env_clear(&env);
	return ctx;
}

static int
fn_delete(const char *id, uint64_t *n, char *text, size_t len)
{
	if (!store_has_message(Q.store, id))
		return 1;
	/* Its recipients still to deliver are the ones concerned. */
	if (qevent_wanted(EM_EVENT_MESSAGE_DELETED))
		deleted_ev = deleted_context(id);
	if (store_active_count(Q.store, id, n) == -1 ||
	    store_remove(Q.store, id) == -1) {
		strlcpy(text, "cannot delete from the queue index", len);
		return -1;
	}
	removal_add(id);
	snprintf(text, len, "deleted (%" PRIu64 " recipients were still to deliver)",
	    *n);
	return 0;
}

static int
fn_retry(const char *id, uint64_t *n, char *text, size_t len)
{
	if (id != NULL && !store_has_message(Q.store, id))
		return 1;
	if (store_retry(Q.store, id, wall_s(), n) == -1) {
		strlcpy(text, "cannot update the queue index", len);
		return -1;
	}
	snprintf(text, len, "%" PRIu64 " recipient%s due now",
	    *n, *n == 1 ? "" : "s");
	return 0;
}

static int
set_frozen(bool on, uint64_t *n, char *text, size_t len)
{
	*n = 0;
	if (store_set_frozen(Q.store, on) == -1) {
		strlcpy(text, "cannot update the queue index", len);
		return -1;
	}
	strlcpy(text, on ? "queue frozen: deliveries stop, reception goes on" :
	    "queue unfrozen: deliveries resume", len);
	return 0;
}

static int
fn_freeze(const char *id, uint64_t *n, char *text, size_t len)
{
	(void)id;
	return set_frozen(true, n, text, len);
}

static int
fn_unfreeze(const char *id, uint64_t *n, char *text, size_t len)
{
	(void)id;
	return set_frozen(false, n, text, len);
}

/* The scheduler follows the flag as committed. */
static void
follow_frozen(void)
{
	bool frozen;

	if (store_get_frozen(Q.store, &frozen) == 0)
		sched_set_frozen(frozen);
}

/* Requests that carry one message id. */
static const char *
take_id(struct qpeer *p, struct chan_msg *m, struct wire_msgid *w)
{
	if (wire_msgid_decode(m, w) == -1) {
		send_fail(p, m->peerid, Q_ERR_BADREQ, "invalid message id");
		return NULL;
	}
	return w->msgid;
}

static bool
no_payload(struct qpeer *p, struct chan_msg *m)
{
	if (m->len == 0)
		return true;
	send_fail(p, m->peerid, Q_ERR_BADREQ, "unexpected payload");
	return false;
}

/* ---- stats ---- */

static void
do_stats(struct qpeer *p, uint32_t reqid)
{
	static struct wire_qstats w;
	struct store_domain_row *rows = NULL;
	struct msgbuf mb;
	int64_t oldest, now = wall_s();
	size_t n, i;

	memset(&w, 0, sizeof(w));
	if (store_counts(Q.store, &w.messages, &w.recipients, w.by_state) == -1 ||
	    store_oldest(Q.store, &oldest) == -1 ||
	    store_domains(Q.store, Q_STATS_DOMAINS, &rows, &n, &w.ndomains) == -1) {
		send_fail(p, reqid, Q_ERR_INTERNAL, "cannot read the queue index");
		return;
	}
	w.frozen = sched_frozen();
	w.oldest = oldest > 0 && now > oldest ? (uint64_t)(now - oldest) : 0;
	w.n = (uint32_t)(n < Q_STATS_DOMAINS ? n : Q_STATS_DOMAINS);
	for (i = 0; i < w.n; i++) {
		w.dom[i].domain = rows[i].domain;
		memcpy(w.dom[i].by_state, rows[i].by_state,
		    sizeof(w.dom[i].by_state));
	}
	w.uptime = now > Q.start_time ? (uint64_t)(now - Q.start_time) : 0;
	w.jobs = (uint32_t)sched_jobs();
	w.accepted = QC.messages;
	w.notices = QC.dsns;
	w.txns = QC.txns;
	w.rounds = QC.rounds;
	w.syncs = QC.syncs;
	w.sync_us = QC.sync_us;
	mb_init(&mb);
	send_wire(p, CTL_QUEUE_STATS_REPLY, reqid, wire_qstats_encode(&mb, &w),
	    &mb);
	free(rows);
}

void
ops_msg(struct qpeer *p, struct chan_msg *m)
{
	struct wire_msgid w;
	const char *id;

	if (Q.store == NULL)
		return;
	switch (m->type) {
	case Q_STATUS_REQ:
		do_status(p, m->peerid);
		break;
	case CTL_QUEUE_LIST:
		do_list(p, m);
		break;
	case CTL_QUEUE_VIEW:
		do_view(p, m);
		break;
	case CTL_QUEUE_DELETE:
		if ((id = take_id(p, m, &w)) != NULL)
			change(p, m->peerid, "delete", fn_delete, id);
		break;
	case CTL_QUEUE_RETRY:
		if ((id = take_id(p, m, &w)) != NULL) {
			change(p, m->peerid, "retry", fn_retry, id);
			sched_kick();
		}
		break;
	case CTL_QUEUE_PROCESS:
		if (no_payload(p, m)) {
			change(p, m->peerid, "process now", fn_retry, NULL);
			sched_kick();
		}
		break;
	case CTL_QUEUE_FREEZE:
		if (no_payload(p, m)) {
			change(p, m->peerid, "freeze", fn_freeze, NULL);
			follow_frozen();
		}
		break;
	case CTL_QUEUE_UNFREEZE:
		if (no_payload(p, m)) {
			change(p, m->peerid, "unfreeze", fn_unfreeze, NULL);
			follow_frozen();
		}
		break;
	case CTL_QUEUE_STATS:
		if (no_payload(p, m))
			do_stats(p, m->peerid);
		break;
	default:
		log_warnx("ctld: unexpected %s, ignored", msg_name(m->type));
		break;
	}
}
