/* SPDX-License-Identifier: ISC */
/* Typed codecs of the daemons' internal messages (see wire.h). Every
 * payload is hostile to its reader: each decoder checks lengths, counts
 * and enums, and wants the payload consumed exactly. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "localusers.h"
#include "ulid.h"
#include "util.h"
#include "wire.h"

/* A recipient's minimum wire size in D_RESULT: u64, u32, two "". */
#define RESULT_RCPT_MIN (8 + 4 + 5 + 5)
/* And in M_PROCS. */
#define PROC_WIRE (4 + 4 + 8 + 4)

_Static_assert(WIRE_LOGIN_MAX == CFG_LOGIN_MAX, "login name length");

static int
done(struct msgbuf *mb)
{
	return mb->err ? -1 : 0;
}

int
wire_listen_encode(struct msgbuf *mb, const struct wire_listen *w)
{
	if (w->kind < LISTEN_SMTP || w->kind > LISTEN_SUBMIT)
		return -1;
	mb_u32(mb, w->kind);
	mb_u32(mb, w->index);
	return done(mb);
}

int
wire_listen_decode(const struct chan_msg *m, struct wire_listen *w)
{
	struct msgreader r;

	mr_init(&r, m);
	w->kind = mr_u32(&r);
	w->index = mr_u32(&r);
	if (!mr_done(&r) || w->kind < LISTEN_SMTP || w->kind > LISTEN_SUBMIT)
		return -1;
	return 0;
}

int
wire_peer_encode(struct msgbuf *mb, const struct wire_peer *w)
{
	if (w->proc >= PROC_COUNT)
		return -1;
	mb_u32(mb, w->proc);
	return done(mb);
}

int
wire_peer_decode(const struct chan_msg *m, struct wire_peer *w)
{
	struct msgreader r;

	mr_init(&r, m);
	w->proc = mr_u32(&r);
	return mr_done(&r) && w->proc < PROC_COUNT ? 0 : -1;
}

int
wire_procs_encode(struct msgbuf *mb, const struct wire_procs *w)
{
	uint32_t i;

	if (w->n > WIRE_PROCS_MAX)
		return -1;
	mb_u64(mb, w->start);
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++) {
		mb_u32(mb, w->p[i].proc);
		mb_u32(mb, w->p[i].pid);
		mb_u64(mb, w->p[i].started);
		mb_u32(mb, w->p[i].restarts);
	}
	return done(mb);
}

int
wire_procs_decode(const struct chan_msg *m, struct wire_procs *w)
{
	struct msgreader r;
	uint32_t i;

	mr_init(&r, m);
	w->start = mr_u64(&r);
	w->n = mr_u32(&r);
	if (r.err || w->n > WIRE_PROCS_MAX ||
	    (size_t)w->n * PROC_WIRE != r.len - r.off) {
		w->n = 0;
		return -1;
	}
	for (i = 0; i < w->n; i++) {
		w->p[i].proc = mr_u32(&r);
		w->p[i].pid = mr_u32(&r);
		w->p[i].started = mr_u64(&r);
		w->p[i].restarts = mr_u32(&r);
	}
	if (!mr_done(&r)) {
		w->n = 0;
		return -1;
	}
	return 0;
}

int
wire_msgid_encode(struct msgbuf *mb, const struct wire_msgid *w)
{
	if (!ulid_valid(w->msgid))
		return -1;
	mb_str(mb, w->msgid);
	return done(mb);
}

int
wire_msgid_decode(const struct chan_msg *m, struct wire_msgid *w)
{
	struct msgreader r;
	const char *id;

	mr_init(&r, m);
	id = mr_str(&r);
	w->msgid[0] = '\0';
	if (r.err || !ulid_valid(id))
		return -1;
	strlcpy(w->msgid, id, sizeof(w->msgid));
	return mr_done(&r) ? 0 : -1;
}

static bool
fail_valid(uint32_t code, size_t textlen)
{
	return code >= 400 && code <= 599 && textlen > 0 &&
	    textlen < WIRE_FAIL_TEXT_MAX;
}

int
wire_fail_encode(struct msgbuf *mb, const struct wire_fail *w)
{
	if (!fail_valid(w->code, strnlen(w->text, sizeof(w->text))))
		return -1;
	mb_u32(mb, w->code);
	mb_str(mb, w->text);
	return done(mb);
}

int
wire_fail_decode(const struct chan_msg *m, struct wire_fail *w)
{
	struct msgreader r;
	const char *t;

	mr_init(&r, m);
	w->code = mr_u32(&r);
	t = mr_str(&r);
	w->text[0] = '\0';
	if (!mr_done(&r) || !fail_valid(w->code, strlen(t)))
		return -1;
	strlcpy(w->text, t, sizeof(w->text));
	return 0;
}

bool
wire_result_state_valid(uint32_t s)
{
	if ((s & RCPT_POSTPONE_MASK) == RCPT_POSTPONED)
		return true;
	return s == RCPT_DELIVERED || s == (RCPT_DELIVERED | RCPT_DSN_PASSED) ||
	    s == RCPT_DEFERRED || s == RCPT_FAILED;
}

/* s cut to at most max octets. */
static void
str_cut(struct msgbuf *mb, const char *s, size_t max)
{
	size_t n;
	char *cut;

	if (s == NULL)
		s = "";
	if ((n = strlen(s)) <= max) {
		mb_str(mb, s);
		return;
	}
	cut = xmalloc(max + 1);
	memcpy(cut, s, max);
	cut[max] = '\0';
	mb_str(mb, cut);
	free(cut);
}

int
wire_result_encode(struct msgbuf *mb, const struct wire_result *w,
    size_t max_host, size_t max_diag)
{
	uint32_t i;

	if (!ulid_valid(w->msgid) || w->n > ENV_MAX_RCPT)
		return -1;
	for (i = 0; i < w->n; i++)
		if (!wire_result_state_valid(w->r[i].state))
			return -1;
	mb_str(mb, w->msgid);
	mb_u32(mb, w->n);
	for (i = 0; i < w->n; i++) {
		mb_u64(mb, w->r[i].id);
		mb_u32(mb, w->r[i].state);
		str_cut(mb, w->r[i].host, max_host);
		str_cut(mb, w->r[i].diag, max_diag);
	}
	return done(mb);
}

int
wire_result_decode(const struct chan_msg *m, struct wire_result *w)
{
	struct msgreader r;
	const char *id;
	uint32_t i, n;

	memset(w, 0, sizeof(*w));
	mr_init(&r, m);
	id = mr_str(&r);
	n = mr_u32(&r);
	if (r.err || !ulid_valid(id))
		return -1;
	strlcpy(w->msgid, id, sizeof(w->msgid));
	/* Refuse counts the payload cannot hold before allocating. */
	if (n > ENV_MAX_RCPT || (size_t)n > (r.len - r.off) / RESULT_RCPT_MIN)
		goto bad;
	w->r = n ? xcalloc(n, sizeof(*w->r)) : NULL;
	w->n = n;
	for (i = 0; i < n; i++) {
		w->r[i].id = mr_u64(&r);
		w->r[i].state = mr_u32(&r);
		w->r[i].host = mr_str(&r);
		w->r[i].diag = mr_str(&r);
		if (r.err || !wire_result_state_valid(w->r[i].state))
			goto bad;
	}
	if (!mr_done(&r))
		goto bad;
	return 0;
bad:
	wire_result_free(w);
	return -1;
}

void
wire_result_free(struct wire_result *w)
{
	free(w->r);
	w->r = NULL;
	w->n = 0;
}

int
wire_status_encode(struct msgbuf *mb, const struct wire_status *w)
{
	mb_u32(mb, w->jobs);
	mb_u32(mb, w->conns);
	return done(mb);
}

int
wire_status_decode(const struct chan_msg *m, struct wire_status *w)
{
	struct msgreader r;

	mr_init(&r, m);
	w->jobs = mr_u32(&r);
	w->conns = mr_u32(&r);
	return mr_done(&r) ? 0 : -1;
}

int
wire_user_lookup_encode(struct msgbuf *mb, const struct wire_user_lookup *w)
{
	mb_u64(mb, w->cookie);
	mb_u32(mb, w->uid);
	return done(mb);
}

int
wire_user_lookup_decode(const struct chan_msg *m, struct wire_user_lookup *w)
{
	struct msgreader r;

	mr_init(&r, m);
	w->cookie = mr_u64(&r);
	w->uid = mr_u32(&r);
	return mr_done(&r) ? 0 : -1;
}

static bool
user_name_valid(const char *name)
{
	return name[0] == '\0' || localusers_login_ok(name);
}

int
wire_user_name_encode(struct msgbuf *mb, const struct wire_user_name *w)
{
	if (memchr(w->name, '\0', sizeof(w->name)) == NULL ||
	    !user_name_valid(w->name))
		return -1;
	mb_u64(mb, w->cookie);
	mb_u32(mb, w->uid);
	mb_str(mb, w->name);
	return done(mb);
}

int
wire_user_name_decode(const struct chan_msg *m, struct wire_user_name *w)
{
	struct msgreader r;
	const char *name;

	mr_init(&r, m);
	w->cookie = mr_u64(&r);
	w->uid = mr_u32(&r);
	name = mr_str(&r);
	w->name[0] = '\0';
	if (!mr_done(&r) || !user_name_valid(name))
		return -1;
	strlcpy(w->name, name, sizeof(w->name));
	return 0;
}
