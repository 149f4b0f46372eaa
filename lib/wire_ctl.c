/* SPDX-License-Identifier: ISC */
/* Typed codecs of the control path (see wire_ctl.h). Every payload is
 * hostile to its reader: each decoder checks lengths, counts and enums
 * before it allocates, and wants the payload consumed exactly. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ulid.h"
#include "util.h"
#include "wire.h"
#include "wire_ctl.h"

/* Smallest wire size of one row, to refuse counts the payload cannot
 * hold before allocating: a "" is 5 octets (u32 length, NUL). */
#define STR_MIN       5
#define QLIST_ROW_MIN (ULID_LEN + 5 + STR_MIN + 3 * 8 + 4 + RCPT_STATE_COUNT * 8)
#define QVIEW_RCPT_MIN (8 + 4 * STR_MIN + 3 * 4 + 2 * 8)
#define DNS_ENTRY_MIN (4 * STR_MIN + 2 * 4)
#define OVERRIDE_MIN  (4 * STR_MIN + 4)

static int
done(struct msgbuf *mb)
{
	return mb->err ? -1 : 0;
}

static bool
len_ok(const char *s, size_t min, size_t max)
{
	size_t n = s != NULL ? strnlen(s, max + 1) : 0;

	return n >= min && n <= max;
}

/* Room left in r for n rows of at least min octets each. */
static bool
rows_fit(const struct msgreader *r, uint32_t n, size_t min)
{
	return !r->err && (size_t)n <= (r->len - r->off) / min;
}

static void
put_counts(struct msgbuf *mb, const wire_counts c)
{
	uint32_t i;

	mb_u32(mb, RCPT_STATE_COUNT);
	for (i = 0; i < RCPT_STATE_COUNT; i++)
		mb_u64(mb, c[i]);
}

static bool
get_counts(struct msgreader *r, wire_counts c)
{
	uint32_t i;

	if (mr_u32(r) != RCPT_STATE_COUNT) {
		r->err = true;
		return false;
	}
	for (i = 0; i < RCPT_STATE_COUNT; i++)
		c[i] = mr_u64(r);
	return !r->err;
}

/* A string field of a row: at most WIRE_STR_MAX octets. */
static const char *
get_field(struct msgreader *r)
{
	const char *s = mr_str(r);

	if (!len_ok(s, 0, WIRE_STR_MAX))
		r->err = true;
	return s;
}

/* ---- single strings ---- */

int
wire_text_encode(struct msgbuf *mb, const struct wire_text *w)
{
	if (!len_ok(w->text, 1, WIRE_TEXT_MAX))
		return -1;
	mb_str(mb, w->text);
	return done(mb);
}

int
wire_text_decode(const struct chan_msg *m, struct wire_text *w)
{
	struct msgreader r;

	mr_init(&r, m);
	w->text = mr_str(&r);
	return mr_done(&r) && len_ok(w->text, 1, WIRE_TEXT_MAX) ? 0 : -1;
}

int
wire_auth_encode(struct msgbuf *mb, const struct wire_auth *w)
{
	if (!len_ok(w->token, 1, CTL_TOKEN_MAX))
		return -1;
	mb_str(mb, w->token);
	return done(mb);
}

int
wire_auth_decode(const struct chan_msg *m, struct wire_auth *w)
{
	struct msgreader r;

	mr_init(&r, m);
	w->token = mr_str(&r);
	return mr_done(&r) && len_ok(w->token, 1, CTL_TOKEN_MAX) ? 0 : -1;
}

int
wire_ok_encode(struct msgbuf *mb, const struct wire_ok *w)
{
	if (!len_ok(w->text, 0, WIRE_TEXT_MAX))
		return -1;
	mb_u64(mb, w->count);
	mb_str(mb, w->text);
	return done(mb);
}

int
wire_ok_decode(const struct chan_msg *m, struct wire_ok *w)
{
	struct msgreader r;

	mr_init(&r, m);
	w->count = mr_u64(&r);
	w->text = mr_str(&r);
	return mr_done(&r) && len_ok(w->text, 0, WIRE_TEXT_MAX) ? 0 : -1;
}

static bool
opfail_valid(uint32_t code, const char *text)
{
	return code >= Q_ERR_NOTFOUND && code <= Q_ERR_INTERNAL &&
	    len_ok(text, 1, WIRE_TEXT_MAX);
}

int
wire_opfail_encode(struct msgbuf *mb, const struct wire_opfail *w)
{
	if (!opfail_valid(w->code, w->text))
		return -1;
	mb_u32(mb, w->code);
	mb_str(mb, w->text);
	return done(mb);
}

int
wire_opfail_decode(const struct chan_msg *m, struct wire_opfail *w)
{
	struct msgreader r;

	mr_init(&r, m);
	w->code = mr_u32(&r);
	w->text = mr_str(&r);
	return mr_done(&r) && opfail_valid(w->code, w->text) ? 0 : -1;
}

/* ---- requests ---- */

static bool
list_req_valid(const struct wire_list_req *w)
{
	return (w->state == Q_STATE_ANY || w->state < RCPT_STATE_COUNT) &&
	    (w->after[0] == '\0' || ulid_valid(w->after)) &&
	    w->limit > 0 && w->limit <= Q_LIST_MAX;
}

int
wire_list_req_encode(struct msgbuf *mb, const struct wire_list_req *w)
{
	if (!list_req_valid(w))
		return -1;
	mb_u32(mb, w->state);
	mb_str(mb, w->after);
	mb_u32(mb, w->limit);
	return done(mb);
}

int
wire_list_req_decode(const struct chan_msg *m, struct wire_list_req *w)
{
	struct msgreader r;
	const char *after;

	mr_init(&r, m);
	w->state = mr_u32(&r);
	after = mr_str(&r);
	w->limit = mr_u32(&r);
	w->after[0] = '\0';
	if (!mr_done(&r) || strlen(after) >= sizeof(w->after))
		return -1;
	strlcpy(w->after, after, sizeof(w->after));
	return list_req_valid(w) ? 0 : -1;
}

bool
wire_domain_valid(const char *d)
{
	size_t n = strnlen(d, WIRE_DOMAIN_MAX + 1), i;

	if (n == 0 || n > WIRE_DOMAIN_MAX || d[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = d[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

int
wire_domain_encode(struct msgbuf *mb, const struct wire_domain *w)
{
	if (!wire_domain_valid(w->domain))
		return -1;
	mb_str(mb, w->domain);
	return done(mb);
}

int
wire_domain_decode(const struct chan_msg *m, struct wire_domain *w)
{
	struct msgreader r;
	const char *d;

	mr_init(&r, m);
	d = mr_str(&r);
	w->domain[0] = '\0';
	if (!mr_done(&r) || !wire_domain_valid(d))
		return -1;
	strlcpy(w->domain, d, sizeof(w->domain));
	return 0;
}

/* ---- status ---- */

static bool
qstatus_valid(const struct wire_qstatus *w)
{
	uint32_t i;

	if (w->n > RCPT_STATE_COUNT)
		return false;
	for (i = 0; i < w->n; i++)
		if (w->row[i].state >= RCPT_STATE_COUNT)
			return false;
	return true;
}

int
wire_qstatus_encode(struct msgbuf *mb, const struct wire_qstatus *w)
{
	uint32_t i;

	if (!qstatus_valid(w))
		return -1;
	mb_u64(mb, w->messages);
	mb_u64(mb, w->recipients);
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++) {
		mb_u32(mb, w->row[i].state);
		mb_u64(mb, w->row[i].count);
	}
	return done(mb);
}

int
wire_qstatus_decode(const struct chan_msg *m, struct wire_qstatus *w)
{
	struct msgreader r;
	uint32_t i;

	mr_init(&r, m);
	w->messages = mr_u64(&r);
	w->recipients = mr_u64(&r);
	w->n = mr_u32(&r);
	if (r.err || w->n > RCPT_STATE_COUNT) {
		w->n = 0;
		return -1;
	}
	for (i = 0; i < w->n; i++) {
		w->row[i].state = mr_u32(&r);
		w->row[i].count = mr_u64(&r);
	}
	if (!mr_done(&r) || !qstatus_valid(w)) {
		w->n = 0;
		return -1;
	}
	return 0;
}

static bool
ctl_status_valid(const struct wire_ctl_status *w)
{
	uint32_t i;

	if (!len_ok(w->version, 1, WIRE_STR_MAX) || w->n > WIRE_STATUS_ROWS)
		return false;
	for (i = 0; i < w->n; i++)
		if (!len_ok(w->row[i].name, 1, WIRE_STR_MAX) ||
		    w->row[i].running > 1)
			return false;
	return true;
}

int
wire_ctl_status_encode(struct msgbuf *mb, const struct wire_ctl_status *w)
{
	uint32_t i;

	if (!ctl_status_valid(w))
		return -1;
	mb_str(mb, w->version);
	mb_u64(mb, w->uptime);
	mb_u64(mb, w->messages);
	mb_u64(mb, w->recipients);
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++) {
		mb_str(mb, w->row[i].name);
		mb_u32(mb, w->row[i].pid);
		mb_u32(mb, w->row[i].running);
		mb_u32(mb, w->row[i].restarts);
	}
	return done(mb);
}

int
wire_ctl_status_decode(const struct chan_msg *m, struct wire_ctl_status *w)
{
	struct msgreader r;
	uint32_t i;

	mr_init(&r, m);
	w->version = mr_str(&r);
	w->uptime = mr_u64(&r);
	w->messages = mr_u64(&r);
	w->recipients = mr_u64(&r);
	w->n = mr_u32(&r);
	if (r.err || w->n > WIRE_STATUS_ROWS) {
		w->n = 0;
		return -1;
	}
	for (i = 0; i < w->n; i++) {
		w->row[i].name = mr_str(&r);
		w->row[i].pid = mr_u32(&r);
		w->row[i].running = mr_u32(&r);
		w->row[i].restarts = mr_u32(&r);
	}
	if (!mr_done(&r) || !ctl_status_valid(w)) {
		w->n = 0;
		return -1;
	}
	return 0;
}

/* ---- queue list ---- */

int
wire_qlist_encode(struct msgbuf *mb, const struct wire_qlist *w)
{
	uint32_t i;

	if (w->n > Q_LIST_MAX || w->more > 1)
		return -1;
	for (i = 0; i < w->n; i++)
		if (!ulid_valid(w->row[i].id) ||
		    !len_ok(w->row[i].sender, 0, WIRE_STR_MAX))
			return -1;
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++) {
		const struct wire_qlist_row *q = &w->row[i];

		mb_str(mb, q->id);
		mb_str(mb, q->sender);
		mb_u64(mb, q->size);
		mb_u64(mb, q->created);
		mb_u64(mb, q->next);
		put_counts(mb, q->by_state);
	}
	mb_u32(mb, w->more);
	return done(mb);
}

int
wire_qlist_decode(const struct chan_msg *m, struct wire_qlist *w)
{
	struct msgreader r;
	uint32_t i, n;

	memset(w, 0, sizeof(*w));
	mr_init(&r, m);
	n = mr_u32(&r);
	if (n > Q_LIST_MAX || !rows_fit(&r, n, QLIST_ROW_MIN))
		return -1;
	w->row = n ? xcalloc(n, sizeof(*w->row)) : NULL;
	w->n = n;
	for (i = 0; i < n; i++) {
		struct wire_qlist_row *q = &w->row[i];

		q->id = mr_str(&r);
		q->sender = get_field(&r);
		q->size = mr_u64(&r);
		q->created = mr_u64(&r);
		q->next = mr_u64(&r);
		if (!get_counts(&r, q->by_state) || !ulid_valid(q->id))
			goto bad;
	}
	w->more = mr_u32(&r);
	if (!mr_done(&r) || w->more > 1)
		goto bad;
	return 0;
bad:
	wire_qlist_free(w);
	return -1;
}

void
wire_qlist_free(struct wire_qlist *w)
{
	free(w->row);
	w->row = NULL;
	w->n = 0;
}

/* ---- queue view ---- */

static bool
qview_valid(const struct wire_qview *w)
{
	const char *f[] = { w->sender, w->helo, w->client_addr,
	    w->client_name, w->body, w->envid };
	uint32_t i;

	if (!ulid_valid(w->id) || w->n > Q_VIEW_RCPTS || w->more > 1 ||
	    w->headers_cut > 1 || w->smtputf8 > 1 ||
	    !len_ok(w->headers, 0, Q_VIEW_HEADERS))
		return false;
	for (i = 0; i < nitems(f); i++)
		if (!len_ok(f[i], 0, WIRE_STR_MAX))
			return false;
	for (i = 0; i < w->n; i++) {
		const struct wire_qview_rcpt *q = &w->rcpt[i];

		if (q->state >= RCPT_STATE_COUNT ||
		    !len_ok(q->addr, 0, WIRE_STR_MAX) ||
		    !len_ok(q->orcpt, 0, WIRE_STR_MAX) ||
		    !len_ok(q->error, 0, WIRE_STR_MAX) ||
		    !len_ok(q->host, 0, WIRE_STR_MAX))
			return false;
	}
	return true;
}

int
wire_qview_encode(struct msgbuf *mb, const struct wire_qview *w)
{
	uint32_t i;

	if (!qview_valid(w))
		return -1;
	mb_str(mb, w->id);
	mb_str(mb, w->sender);
	mb_str(mb, w->helo);
	mb_str(mb, w->client_addr);
	mb_str(mb, w->client_name);
	mb_str(mb, w->body);
	mb_str(mb, w->envid);
	mb_u32(mb, w->ret);
	mb_u32(mb, w->smtputf8);
	mb_u64(mb, w->size);
	mb_u64(mb, w->created);
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++) {
		const struct wire_qview_rcpt *q = &w->rcpt[i];

		mb_u64(mb, q->id);
		mb_str(mb, q->addr);
		mb_str(mb, q->orcpt);
		mb_u32(mb, q->notify);
		mb_u32(mb, q->state);
		mb_u32(mb, q->attempts);
		mb_u64(mb, q->next);
		mb_u64(mb, q->last);
		mb_str(mb, q->error);
		mb_str(mb, q->host);
	}
	mb_u32(mb, w->more);
	mb_str(mb, w->headers);
	mb_u32(mb, w->headers_cut);
	return done(mb);
}

int
wire_qview_decode(const struct chan_msg *m, struct wire_qview *w)
{
	struct msgreader r;
	uint32_t i, n;

	memset(w, 0, sizeof(*w));
	mr_init(&r, m);
	w->id = mr_str(&r);
	w->sender = mr_str(&r);
	w->helo = mr_str(&r);
	w->client_addr = mr_str(&r);
	w->client_name = mr_str(&r);
	w->body = mr_str(&r);
	w->envid = mr_str(&r);
	w->ret = mr_u32(&r);
	w->smtputf8 = mr_u32(&r);
	w->size = mr_u64(&r);
	w->created = mr_u64(&r);
	n = mr_u32(&r);
	if (n > Q_VIEW_RCPTS || !rows_fit(&r, n, QVIEW_RCPT_MIN))
		return -1;
	w->rcpt = n ? xcalloc(n, sizeof(*w->rcpt)) : NULL;
	w->n = n;
	for (i = 0; i < n && !r.err; i++) {
		struct wire_qview_rcpt *q = &w->rcpt[i];

		q->id = mr_u64(&r);
		q->addr = mr_str(&r);
		q->orcpt = mr_str(&r);
		q->notify = mr_u32(&r);
		q->state = mr_u32(&r);
		q->attempts = mr_u32(&r);
		q->next = mr_u64(&r);
		q->last = mr_u64(&r);
		q->error = mr_str(&r);
		q->host = mr_str(&r);
	}
	w->more = mr_u32(&r);
	w->headers = mr_str(&r);
	w->headers_cut = mr_u32(&r);
	if (!mr_done(&r) || !qview_valid(w)) {
		wire_qview_free(w);
		return -1;
	}
	return 0;
}

void
wire_qview_free(struct wire_qview *w)
{
	free(w->rcpt);
	w->rcpt = NULL;
	w->n = 0;
}

/* ---- queue stats ---- */

int
wire_qstats_encode(struct msgbuf *mb, const struct wire_qstats *w)
{
	uint32_t i;

	if (w->n > Q_STATS_DOMAINS || w->frozen > 1)
		return -1;
	for (i = 0; i < w->n; i++)
		if (!len_ok(w->dom[i].domain, 0, WIRE_STR_MAX))
			return -1;
	mb_u64(mb, w->messages);
	mb_u64(mb, w->recipients);
	mb_u32(mb, w->frozen);
	mb_u64(mb, w->oldest);
	put_counts(mb, w->by_state);
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++) {
		mb_str(mb, w->dom[i].domain);
		put_counts(mb, w->dom[i].by_state);
	}
	mb_u64(mb, w->ndomains);
	mb_u64(mb, w->uptime);
	mb_u32(mb, w->jobs);
	mb_u64(mb, w->accepted);
	mb_u64(mb, w->notices);
	mb_u64(mb, w->txns);
	mb_u64(mb, w->rounds);
	mb_u64(mb, w->syncs);
	mb_u64(mb, w->sync_us);
	return done(mb);
}

int
wire_qstats_decode(const struct chan_msg *m, struct wire_qstats *w)
{
	struct msgreader r;
	uint32_t i;

	mr_init(&r, m);
	w->messages = mr_u64(&r);
	w->recipients = mr_u64(&r);
	w->frozen = mr_u32(&r);
	w->oldest = mr_u64(&r);
	(void)get_counts(&r, w->by_state);
	w->n = mr_u32(&r);
	if (r.err || w->n > Q_STATS_DOMAINS || w->frozen > 1)
		goto bad;
	for (i = 0; i < w->n; i++) {
		w->dom[i].domain = get_field(&r);
		if (!get_counts(&r, w->dom[i].by_state))
			goto bad;
	}
	w->ndomains = mr_u64(&r);
	w->uptime = mr_u64(&r);
	w->jobs = mr_u32(&r);
	w->accepted = mr_u64(&r);
	w->notices = mr_u64(&r);
	w->txns = mr_u64(&r);
	w->rounds = mr_u64(&r);
	w->syncs = mr_u64(&r);
	w->sync_us = mr_u64(&r);
	if (mr_done(&r))
		return 0;
bad:
	w->n = 0;
	return -1;
}

/* ---- DNS ---- */

int
wire_dns_list_encode(struct msgbuf *mb, const struct wire_dns_list *w)
{
	uint32_t i;

	if (w->ns > WIRE_DNS_SERVERS || w->n > D_DNS_LIST_MAX)
		return -1;
	for (i = 0; i < w->ns; i++)
		if (!len_ok(w->server[i], 1, WIRE_STR_MAX))
			return -1;
	for (i = 0; i < w->n; i++)
		if (!len_ok(w->e[i].name, 0, WIRE_STR_MAX) ||
		    !len_ok(w->e[i].type, 0, WIRE_STR_MAX) ||
		    !len_ok(w->e[i].status, 0, WIRE_STR_MAX) ||
		    !len_ok(w->e[i].data, 0, WIRE_TEXT_MAX))
			return -1;
	mb_u32(mb, w->ns);
	for (i = 0; i < w->ns; i++)
		mb_str(mb, w->server[i]);
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++) {
		mb_str(mb, w->e[i].name);
		mb_str(mb, w->e[i].type);
		mb_str(mb, w->e[i].status);
		mb_u32(mb, w->e[i].ttl);
		mb_u32(mb, w->e[i].left);
		mb_str(mb, w->e[i].data);
	}
	mb_u32(mb, w->more);
	return done(mb);
}

int
wire_dns_list_decode(const struct chan_msg *m, struct wire_dns_list *w)
{
	struct msgreader r;
	uint32_t i, n;

	memset(w, 0, sizeof(*w));
	mr_init(&r, m);
	w->ns = mr_u32(&r);
	if (r.err || w->ns > WIRE_DNS_SERVERS)
		goto bad;
	for (i = 0; i < w->ns; i++)
		if (!len_ok(w->server[i] = mr_str(&r), 1, WIRE_STR_MAX))
			goto bad;
	n = mr_u32(&r);
	if (n > D_DNS_LIST_MAX || !rows_fit(&r, n, DNS_ENTRY_MIN))
		goto bad;
	w->e = n ? xcalloc(n, sizeof(*w->e)) : NULL;
	w->n = n;
	for (i = 0; i < n; i++) {
		w->e[i].name = get_field(&r);
		w->e[i].type = get_field(&r);
		w->e[i].status = get_field(&r);
		w->e[i].ttl = mr_u32(&r);
		w->e[i].left = mr_u32(&r);
		w->e[i].data = mr_str(&r);
		if (r.err || !len_ok(w->e[i].data, 0, WIRE_TEXT_MAX))
			goto bad;
	}
	w->more = mr_u32(&r);
	if (mr_done(&r))
		return 0;
bad:
	wire_dns_list_free(w);
	w->ns = 0;
	return -1;
}

void
wire_dns_list_free(struct wire_dns_list *w)
{
	free(w->e);
	w->e = NULL;
	w->n = 0;
}

static bool
override_valid(const struct wire_override *o)
{
	return len_ok(o->domain, 1, WIRE_STR_MAX) &&
	    len_ok(o->relay, 0, WIRE_STR_MAX) && o->port <= 65535 &&
	    len_ok(o->tls, 0, WIRE_STR_MAX) && len_ok(o->rate, 0, WIRE_STR_MAX);
}

int
wire_overrides_encode(struct msgbuf *mb, const struct wire_overrides *w)
{
	uint32_t i;

	if (w->n > WIRE_OVERRIDES_MAX)
		return -1;
	for (i = 0; i < w->n; i++)
		if (!override_valid(&w->o[i]))
			return -1;
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++) {
		mb_str(mb, w->o[i].domain);
		mb_str(mb, w->o[i].relay);
		mb_u32(mb, w->o[i].port);
		mb_str(mb, w->o[i].tls);
		mb_str(mb, w->o[i].rate);
	}
	return done(mb);
}

int
wire_overrides_decode(const struct chan_msg *m, struct wire_overrides *w)
{
	struct msgreader r;
	uint32_t i, n;

	memset(w, 0, sizeof(*w));
	mr_init(&r, m);
	n = mr_u32(&r);
	if (n > WIRE_OVERRIDES_MAX || !rows_fit(&r, n, OVERRIDE_MIN))
		return -1;
	w->o = n ? xcalloc(n, sizeof(*w->o)) : NULL;
	w->n = n;
	for (i = 0; i < n; i++) {
		w->o[i].domain = mr_str(&r);
		w->o[i].relay = mr_str(&r);
		w->o[i].port = mr_u32(&r);
		w->o[i].tls = mr_str(&r);
		w->o[i].rate = mr_str(&r);
		if (r.err || !override_valid(&w->o[i]))
			goto bad;
	}
	if (mr_done(&r))
		return 0;
bad:
	wire_overrides_free(w);
	return -1;
}

void
wire_overrides_free(struct wire_overrides *w)
{
	free(w->o);
	w->o = NULL;
	w->n = 0;
}

/* ---- plugin supervision ---- */

/* Smallest wire sizes: a name of one octet, a row, a row with its daemon. */
#define PNAME_MIN      (4 + 2)
#define PLUGIN_ROW_MIN (PNAME_MIN + STR_MIN + 4 + 3 * 8)

static bool
pname_ok(const char *s)
{
	return s != NULL && strnlen(s, CFG_PLUGIN_NAME_MAX + 1) <=
	    CFG_PLUGIN_NAME_MAX && config_plugin_name_ok(s);
}

static bool
daemon_name_ok(const char *s)
{
	size_t i, n = s != NULL ? strnlen(s, 16) : 0;

	if (n == 0 || n > 15)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 'a' || s[i] > 'z')
			return false;
	return true;
}

int
wire_plugins_off_encode(struct msgbuf *mb, const struct wire_plugins_off *w)
{
	uint32_t i;

	if (w->n > WIRE_PLUGINS_MAX)
		return -1;
	for (i = 0; i < w->n; i++)
		if (!pname_ok(w->name[i]))
			return -1;
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++)
		mb_str(mb, w->name[i]);
	return done(mb);
}

int
wire_plugins_off_decode(const struct chan_msg *m, struct wire_plugins_off *w)
{
	struct msgreader r;
	uint32_t i;

	mr_init(&r, m);
	w->n = mr_u32(&r);
	if (r.err || w->n > WIRE_PLUGINS_MAX)
		return -1;
	for (i = 0; i < w->n; i++)
		if (!pname_ok(w->name[i] = mr_str(&r)))
			return -1;
	return mr_done(&r) ? 0 : -1;
}

static bool
plugin_row_ok(const struct wire_plugin_row *row)
{
	return pname_ok(row->name) && len_ok(row->version, 0,
	    WIRE_PLUGIN_VERSION_MAX) && row->disabled <= 1;
}

static void
put_plugin_row(struct msgbuf *mb, const struct wire_plugin_row *row)
{
	mb_str(mb, row->name);
	mb_str(mb, row->version);
	mb_u32(mb, row->disabled);
	mb_u64(mb, row->hooks);
	mb_u64(mb, row->events);
	mb_u64(mb, row->slow);
}

static bool
get_plugin_row(struct msgreader *r, struct wire_plugin_row *row)
{
	row->name = mr_str(r);
	row->version = mr_str(r);
	row->disabled = mr_u32(r);
	row->hooks = mr_u64(r);
	row->events = mr_u64(r);
	row->slow = mr_u64(r);
	return !r->err && plugin_row_ok(row);
}

int
wire_plugins_encode(struct msgbuf *mb, const struct wire_plugins *w)
{
	uint32_t i;

	if (w->proc >= PROC_COUNT || w->n > WIRE_PLUGINS_MAX)
		return -1;
	for (i = 0; i < w->n; i++)
		if (!plugin_row_ok(&w->row[i]))
			return -1;
	mb_u32(mb, w->proc);
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++)
		put_plugin_row(mb, &w->row[i]);
	return done(mb);
}

int
wire_plugins_decode(const struct chan_msg *m, struct wire_plugins *w)
{
	struct msgreader r;
	uint32_t i;

	mr_init(&r, m);
	w->proc = mr_u32(&r);
	w->n = mr_u32(&r);
	if (r.err || w->proc >= PROC_COUNT || w->n > WIRE_PLUGINS_MAX ||
	    !rows_fit(&r, w->n, PLUGIN_ROW_MIN))
		return -1;
	for (i = 0; i < w->n; i++) {
		w->row[i].daemon = NULL;
		if (!get_plugin_row(&r, &w->row[i]))
			return -1;
	}
	return mr_done(&r) ? 0 : -1;
}

int
wire_plugin_list_encode(struct msgbuf *mb, const struct wire_plugin_list *w)
{
	uint32_t i;

	if (w->n > WIRE_PLUGIN_ROWS)
		return -1;
	for (i = 0; i < w->n; i++)
		if (!daemon_name_ok(w->row[i].daemon) || !plugin_row_ok(&w->row[i]))
			return -1;
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++) {
		mb_str(mb, w->row[i].daemon);
		put_plugin_row(mb, &w->row[i]);
	}
	return done(mb);
}

int
wire_plugin_list_decode(const struct chan_msg *m, struct wire_plugin_list *w)
{
	struct msgreader r;
	uint32_t i;

	mr_init(&r, m);
	w->n = mr_u32(&r);
	if (r.err || w->n > WIRE_PLUGIN_ROWS ||
	    !rows_fit(&r, w->n, PLUGIN_ROW_MIN + 6))
		return -1;
	for (i = 0; i < w->n; i++) {
		w->row[i].daemon = mr_str(&r);
		if (r.err || !daemon_name_ok(w->row[i].daemon) ||
		    !get_plugin_row(&r, &w->row[i]))
			return -1;
	}
	return mr_done(&r) ? 0 : -1;
}
