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
#include "queued.h"
#include "spool.h"
#include "ulid.h"
#include "util.h"

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

static void
send_fail(struct qpeer *p, uint32_t reqid, uint32_t code, const char *text)
{
	struct msgbuf mb;

	mb_init(&mb);
	mb_u32(&mb, code);
	mb_str(&mb, text);
	if (p->ch != NULL)
		chan_send_mb(p->ch, Q_OP_FAIL, reqid, -1, &mb);
	mb_free(&mb);
}

static void
send_ok(struct qpeer *p, uint32_t reqid, uint64_t count, const char *text)
{
	struct msgbuf mb;

	mb_init(&mb);
	mb_u64(&mb, count);
	mb_str(&mb, text);
	if (p->ch != NULL)
		chan_send_mb(p->ch, Q_OP_OK, reqid, -1, &mb);
	mb_free(&mb);
}

/* A string cut to max octets. */
static void
mb_str_cut(struct msgbuf *mb, const char *s, size_t max)
{
	char buf[FIELD_CUT + 1];

	if (s == NULL)
		s = "";
	if (max > FIELD_CUT)
		max = FIELD_CUT;
	if (strlen(s) <= max) {
		mb_str(mb, s);
		return;
	}
	memcpy(buf, s, max);
	buf[max] = '\0';
	mb_str(mb, buf);
}

/* Its size on the wire once cut (u32 length, octets, NUL). */
static size_t
wire_len(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return 4 + (n < max ? n : max) + 1;
}

static void
mb_counts(struct msgbuf *mb, const uint64_t by[RCPT_STATE_COUNT])
{
	uint32_t i;

	mb_u32(mb, RCPT_STATE_COUNT);
	for (i = 0; i < RCPT_STATE_COUNT; i++)
		mb_u64(mb, by[i]);
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
	uint64_t messages, rcpts, by_state[RCPT_STATE_COUNT];
	struct msgbuf mb;
	uint32_t i;

	/* No reply on error: ctld's request deadline turns it into an error
	 * for its client, rather than a false "queue is empty". */
	if (store_counts(Q.store, &messages, &rcpts, by_state) == -1)
		return;
	mb_init(&mb);
	mb_u64(&mb, messages);
	mb_u64(&mb, rcpts);
	mb_u32(&mb, RCPT_STATE_COUNT);
	for (i = 0; i < RCPT_STATE_COUNT; i++) {
		mb_u32(&mb, i);
		mb_u64(&mb, by_state[i]);
	}
	chan_send_mb(p->ch, Q_STATUS, reqid, -1, &mb);
	mb_free(&mb);
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
	struct msgreader mr;
	struct list_ctx c;
	struct msgbuf mb;
	uint32_t state, limit;
	const char *after;
	bool more = false;
	size_t i;

	mr_init(&mr, m);
	state = mr_u32(&mr);
	after = mr_str(&mr);
	limit = mr_u32(&mr);
	if (!mr_done(&mr) || (state != Q_STATE_ANY && state >= RCPT_STATE_COUNT) ||
	    (after[0] != '\0' && !ulid_valid(after)) || limit == 0 ||
	    limit > Q_LIST_MAX) {
		send_fail(p, m->peerid, Q_ERR_BADREQ, "malformed list request");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.rows = xcalloc(limit, sizeof(*c.rows));
	c.senders = xcalloc(limit, sizeof(*c.senders));
	c.budget = ROWS_BUDGET;
	if (store_list(Q.store, state == Q_STATE_ANY ? RCPT_STATE_COUNT : state,
	    after, limit, list_row, &c, &more) == -1) {
		send_fail(p, m->peerid, Q_ERR_INTERNAL, "cannot read the queue index");
		goto out;
	}
	mb_init(&mb);
	mb_u32(&mb, (uint32_t)c.n);
	for (i = 0; i < c.n; i++) {
		const struct store_list_row *r = &c.rows[i];

		mb_str(&mb, r->id);
		mb_str(&mb, r->sender);
		mb_u64(&mb, r->size);
		mb_u64(&mb, r->created > 0 ? (uint64_t)r->created : 0);
		mb_u64(&mb, r->next_attempt > 0 ? (uint64_t)r->next_attempt : 0);
		mb_counts(&mb, r->by_state);
	}
	mb_u32(&mb, more || c.full);
	chan_send_mb(p->ch, Q_LIST, m->peerid, -1, &mb);
	mb_free(&mb);
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
	struct msgreader mr;
	struct envelope env;
	struct store_rcpt *rc = NULL;
	struct msgbuf mb;
	size_t n = 0, i, keep, budget = ROWS_BUDGET - Q_VIEW_HEADERS;
	const char *id;
	char *headers;
	bool more, cut;
	int rv;

	mr_init(&mr, m);
	id = mr_str(&mr);
	if (!mr_done(&mr) || !ulid_valid(id)) {
		send_fail(p, m->peerid, Q_ERR_BADREQ, "invalid message id");
		return;
	}
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
	headers = read_headers(id, &cut);
	mb_init(&mb);
	mb_str(&mb, id);
	mb_str_cut(&mb, env.sender, FIELD_CUT);
	mb_str_cut(&mb, env.helo, FIELD_CUT);
	mb_str_cut(&mb, env.client_addr, FIELD_CUT);
	mb_str_cut(&mb, env.client_name, FIELD_CUT);
	mb_str_cut(&mb, env.body, FIELD_CUT);
	mb_str_cut(&mb, env.envid, FIELD_CUT);
	mb_u32(&mb, env.ret);
	mb_u32(&mb, env.smtputf8);
	mb_u64(&mb, env.size);
	mb_u64(&mb, env.created > 0 ? (uint64_t)env.created : 0);
	mb_u32(&mb, (uint32_t)keep);
	for (i = 0; i < keep; i++) {
		const struct store_rcpt *r = &rc[i];

		mb_u64(&mb, r->id);
		mb_str_cut(&mb, r->addr, FIELD_CUT);
		mb_str_cut(&mb, r->orcpt, FIELD_CUT);
		mb_u32(&mb, r->notify);
		mb_u32(&mb, r->state);
		mb_u32(&mb, r->attempts);
		mb_u64(&mb, r->next_attempt > 0 ? (uint64_t)r->next_attempt : 0);
		mb_u64(&mb, r->last_attempt > 0 ? (uint64_t)r->last_attempt : 0);
		mb_str_cut(&mb, r->last_error, FIELD_CUT);
		mb_str_cut(&mb, r->last_host, FIELD_CUT);
	}
	mb_u32(&mb, more || keep < n);
	mb_str(&mb, headers);
	mb_u32(&mb, cut);
	chan_send_mb(p->ch, Q_VIEW, m->peerid, -1, &mb);
	mb_free(&mb);
	free(headers);
	store_rcpts_free(rc, n);
	env_clear(&env);
}

/* ---- changes ---- */

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
		store_rollback(Q.store);
		removal_txn_end(false);
		send_fail(p, reqid, rv == 1 ? Q_ERR_NOTFOUND : Q_ERR_INTERNAL,
		    rv == 1 ? "no such message in the queue" : text);
		return;
	}
	if (store_commit(Q.store) == -1) {
		removal_txn_end(false);
		send_fail(p, reqid, Q_ERR_INTERNAL, "cannot write the queue index");
		return;
	}
	removal_txn_end(true);
	log_info("queue operation: %s%s%s: %s", what, id ? " " : "", id ? id : "",
	    text);
	reply_when_durable(p, reqid, n, text);
}

static int
fn_delete(const char *id, uint64_t *n, char *text, size_t len)
{
	if (!store_has_message(Q.store, id))
		return 1;
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
take_id(struct qpeer *p, struct chan_msg *m)
{
	struct msgreader mr;
	const char *id;

	mr_init(&mr, m);
	id = mr_str(&mr);
	if (!mr_done(&mr) || !ulid_valid(id)) {
		send_fail(p, m->peerid, Q_ERR_BADREQ, "invalid message id");
		return NULL;
	}
	return id;
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
	uint64_t messages, rcpts, by_state[RCPT_STATE_COUNT], ndomains;
	struct store_domain_row *rows = NULL;
	struct msgbuf mb;
	int64_t oldest, now = wall_s();
	size_t n, i;

	if (store_counts(Q.store, &messages, &rcpts, by_state) == -1 ||
	    store_oldest(Q.store, &oldest) == -1 ||
	    store_domains(Q.store, Q_STATS_DOMAINS, &rows, &n, &ndomains) == -1) {
		send_fail(p, reqid, Q_ERR_INTERNAL, "cannot read the queue index");
		return;
	}
	mb_init(&mb);
	mb_u64(&mb, messages);
	mb_u64(&mb, rcpts);
	mb_u32(&mb, sched_frozen());
	mb_u64(&mb, oldest > 0 && now > oldest ? (uint64_t)(now - oldest) : 0);
	mb_counts(&mb, by_state);
	mb_u32(&mb, (uint32_t)n);
	for (i = 0; i < n; i++) {
		mb_str(&mb, rows[i].domain);
		mb_counts(&mb, rows[i].by_state);
	}
	mb_u64(&mb, ndomains);
	mb_u64(&mb, now > Q.start_time ? (uint64_t)(now - Q.start_time) : 0);
	mb_u32(&mb, (uint32_t)sched_jobs());
	mb_u64(&mb, QC.messages);
	mb_u64(&mb, QC.dsns);
	mb_u64(&mb, QC.txns);
	mb_u64(&mb, QC.rounds);
	mb_u64(&mb, QC.syncs);
	mb_u64(&mb, QC.sync_us);
	chan_send_mb(p->ch, Q_STATS, reqid, -1, &mb);
	mb_free(&mb);
	free(rows);
}

void
ops_msg(struct qpeer *p, struct chan_msg *m)
{
	const char *id;

	if (Q.store == NULL)
		return;
	switch (m->type) {
	case Q_STATUS_REQ:
		do_status(p, m->peerid);
		break;
	case Q_LIST_REQ:
		do_list(p, m);
		break;
	case Q_VIEW_REQ:
		do_view(p, m);
		break;
	case Q_DELETE_REQ:
		if ((id = take_id(p, m)) != NULL)
			change(p, m->peerid, "delete", fn_delete, id);
		break;
	case Q_RETRY_REQ:
		if ((id = take_id(p, m)) != NULL) {
			change(p, m->peerid, "retry", fn_retry, id);
			sched_kick();
		}
		break;
	case Q_PROCESS_REQ:
		if (no_payload(p, m)) {
			change(p, m->peerid, "process now", fn_retry, NULL);
			sched_kick();
		}
		break;
	case Q_FREEZE_REQ:
		if (no_payload(p, m)) {
			change(p, m->peerid, "freeze", fn_freeze, NULL);
			follow_frozen();
		}
		break;
	case Q_UNFREEZE_REQ:
		if (no_payload(p, m)) {
			change(p, m->peerid, "unfreeze", fn_unfreeze, NULL);
			follow_frozen();
		}
		break;
	case Q_STATS_REQ:
		if (no_payload(p, m))
			do_stats(p, m->peerid);
		break;
	default:
		log_warnx("ctld: unexpected %s, ignored", msg_name(m->type));
		break;
	}
}
