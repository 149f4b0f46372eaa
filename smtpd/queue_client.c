/* SPDX-License-Identifier: ISC */
/* smtpd's side of the smtpd <-> queued channel (proto.h): Q_CREATE and
 * Q_COMMIT requests with an id in peerid and a deadline, Q_ROLLBACK
 * without reply. Replies must match a pending request of the right kind;
 * anything else is logged and dropped (a stray file is rolled back so
 * queued does not keep it). When the channel closes or is replaced (queued
 * restarted), every pending request fails as a temporary error. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "channel.h"
#include "event.h"
#include "log.h"
#include "proto.h"
#include "session.h"
#include "smtpd.h"
#include "ulid.h"
#include "util.h"
#include "wire.h"

#define QC_TEMPFAIL "4.3.0 Error: queue unavailable, try again later"

struct qreq {
	TAILQ_ENTRY(qreq) entry;
	uint32_t id;
	uint16_t type;                 /* Q_CREATE or Q_COMMIT */
	struct session *s;             /* NULL once the session is gone */
	uint64_t deadline;             /* ev_now() based */
	char     msgid[ULID_LEN + 1];  /* Q_COMMIT: the message */
};
TAILQ_HEAD(qreq_list, qreq);

static struct {
	struct channel *ch;
	struct qreq_list pending;      /* in sending order = deadline order */
	uint32_t next_id;
	struct ev_timer *timer;
} Q = { .pending = TAILQ_HEAD_INITIALIZER(Q.pending) };

uint64_t qc_timeout_ms = QUEUE_TIMEOUT_MS;

static void qc_timeout(void *);

/* ---- a test-only fault switch ----
 *
 * EMPATH_TEST_FAULT, read once when the program starts (the master passes
 * its environment on), makes this smtpd misbehave toward queued the way a
 * compromised one could, so that the tests can show that queued does not
 * believe it. A comma-separated list of:
 *
 *   write-nothing        the content goes to /dev/null instead of queued's
 *                        file, and the envelope claims 0 octets
 *   claim-previous-size  the envelope claims the size of the previous
 *                        message this smtpd sent to queued
 *   seek-previous-size   before anything is written, the offset of
 *                        queued's file is moved to that size
 *   arrival-1990         the envelope claims an arrival time in 1990
 *   hold                 neither commit nor roll back: the reception stays
 *                        open in queued (the client hears 451)
 *
 * They apply only to transactions whose sender's local part begins with
 * "fault", so that one instance carries normal and faulty mail. Unset,
 * nothing changes. */
#define FAULT_WRITE_NOTHING  0x1u
#define FAULT_CLAIM_PREVIOUS 0x2u
#define FAULT_ARRIVAL_1990   0x4u
#define FAULT_HOLD           0x8u
#define FAULT_SEEK_PREVIOUS  0x10u
#define FAULT_ARRIVAL_TIME   631152000   /* 1990-01-01T00:00:00Z */

static struct {
	unsigned flags;
	int      devnull;                    /* opened before any chroot */
	uint64_t last_size;                  /* of the last message sent */
	char     held[ULID_LEN + 1];         /* its rollback is not sent */
} F = { .devnull = -1 };

/* At start, before main() (and so before the privileges are dropped): the
 * switch cannot be turned on later from inside. */
__attribute__((constructor)) static void
fault_init(void)
{
	static const struct { const char *word; unsigned flag; } words[] = {
		{ "write-nothing", FAULT_WRITE_NOTHING },
		{ "claim-previous-size", FAULT_CLAIM_PREVIOUS },
		{ "arrival-1990", FAULT_ARRIVAL_1990 },
		{ "hold", FAULT_HOLD },
		{ "seek-previous-size", FAULT_SEEK_PREVIOUS },
	};
	const char *env = getenv("EMPATH_TEST_FAULT");
	char buf[256], *w, *save = NULL;
	size_t i;

	if (env == NULL || *env == '\0' || strlcpy(buf, env, sizeof(buf)) >=
	    sizeof(buf))
		return;
	for (w = strtok_r(buf, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strcmp(w, words[i].word) == 0)
				F.flags |= words[i].flag;
	}
	if (F.flags & FAULT_WRITE_NOTHING)
		F.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (F.flags != 0)
		fprintf(stderr, "empath-smtpd: test faults on (%s)\n", env);
}

static bool
fault_on(const struct envelope *env, unsigned flag)
{
	return (F.flags & flag) && env->sender != NULL &&
	    strncasecmp(env->sender, "fault", 5) == 0;
}

static void
qc_arm(void)
{
	struct qreq *r = TAILQ_FIRST(&Q.pending);
	uint64_t now = ev_now();

	if (Q.timer == NULL)
		Q.timer = ev_timer_new(qc_timeout, NULL);
	if (r == NULL)
		ev_timer_stop(Q.timer);
	else
		ev_timer_start(Q.timer, r->deadline > now ? r->deadline - now : 0);
}

/* Tell the session (if still there) that its request failed. */
static void
qc_fail(struct qreq *r, unsigned code, const char *text)
{
	if (r->type == Q_COMMIT && r->msgid[0] != '\0')
		qc_rollback(r->msgid);   /* a no-op when the channel is gone */
	if (r->s == NULL)
		return;
	if (r->type == Q_CREATE)
		session_create_failed(r->s, code, text);
	else
		session_commit_failed(r->s, code, text);
}

/* Fail every pending request: the channel closed or was replaced. */
static void
qc_fail_all(void)
{
	struct qreq_list list = TAILQ_HEAD_INITIALIZER(list);
	struct qreq *r;

	/* Detach first: the sessions may send new requests meanwhile. */
	while ((r = TAILQ_FIRST(&Q.pending)) != NULL) {
		TAILQ_REMOVE(&Q.pending, r, entry);
		TAILQ_INSERT_TAIL(&list, r, entry);
	}
	qc_arm();
	while ((r = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, r, entry);
		/* The file dies with the old channel; queued's recovery
		 * removes what is left in incoming/. */
		r->msgid[0] = '\0';
		qc_fail(r, 451, QC_TEMPFAIL);
		free(r);
	}
}

static void
qc_timeout(void *arg)
{
	struct qreq *r;
	uint64_t now = ev_now();

	(void)arg;
	while ((r = TAILQ_FIRST(&Q.pending)) != NULL && r->deadline <= now) {
		TAILQ_REMOVE(&Q.pending, r, entry);
		log_warnx("queued did not answer %s request %u in time",
		    msg_name(r->type), r->id);
		qc_fail(r, 451, QC_TEMPFAIL);
		free(r);
	}
	qc_arm();
}

static struct qreq *
qc_take(uint32_t id, uint16_t type)
{
	struct qreq *r;

	TAILQ_FOREACH(r, &Q.pending, entry)
		if (r->id == id && r->type == type) {
			TAILQ_REMOVE(&Q.pending, r, entry);
			qc_arm();
			return r;
		}
	return NULL;
}

/* queued's "u32 code, str enhanced code + text": only a 4xx/5xx with
 * printable text is passed on to a client; else a plain tempfail. The
 * text becomes an SMTP reply, whose textstring is printable ASCII
 * (RFC 5321 4.2, not widened by RFC 6531): other octets become '?'. */
static void
read_failure(const struct chan_msg *m, unsigned *code, char *text, size_t len)
{
	struct wire_fail w;
	size_t i, n;

	if (wire_fail_decode(m, &w) == -1 || (n = strlen(w.text)) >= len) {
		*code = 451;
		strlcpy(text, QC_TEMPFAIL, len);
		return;
	}
	for (i = 0; i < n; i++)
		text[i] = (w.text[i] >= 32 && w.text[i] < 127) ? w.text[i] : '?';
	text[n] = '\0';
	*code = w.code;
}

static void
qc_msg(struct channel *ch, struct chan_msg *m, void *arg)
{
	struct wire_msgid w;
	struct qreq *r;
	const char *msgid = w.msgid;
	char text[WIRE_FAIL_TEXT_MAX];
	unsigned code;
	int fd;

	(void)ch;
	(void)arg;
	switch (m->type) {
	case Q_CREATE_OK:
		r = qc_take(m->peerid, Q_CREATE);
		if (wire_msgid_decode(m, &w) == -1 || m->fd == -1) {
			log_warnx("malformed Q_CREATE_OK from queued");
			if (r) {
				qc_fail(r, 451, QC_TEMPFAIL);
				free(r);
			}
			if (ulid_valid(msgid))
				qc_rollback(msgid);
			return;
		}
		if (r == NULL || r->s == NULL) {
			if (r == NULL)
				log_warnx("Q_CREATE_OK for unknown request %u",
				    m->peerid);
			qc_rollback(msgid);   /* m->fd is closed by the channel */
			free(r);
			return;
		}
		fd = m->fd;
		m->fd = -1;
		if (r->s->tx != NULL &&
		    fault_on(&r->s->tx->env, FAULT_SEEK_PREVIOUS))
			(void)lseek(fd, (off_t)F.last_size, SEEK_SET);
		if (r->s->tx != NULL &&
		    fault_on(&r->s->tx->env, FAULT_WRITE_NOTHING) &&
		    F.devnull != -1) {
			int null = dup(F.devnull);

			if (null != -1) {
				close(fd);
				fd = null;
			}
		}
		session_created(r->s, fd, msgid);
		free(r);
		return;
	case Q_CREATE_FAIL:
		if ((r = qc_take(m->peerid, Q_CREATE)) == NULL) {
			log_warnx("Q_CREATE_FAIL for unknown request %u", m->peerid);
			return;
		}
		read_failure(m, &code, text, sizeof(text));
		if (r->s)
			session_create_failed(r->s, code, text);
		free(r);
		return;
	case Q_COMMIT_OK:
		if ((r = qc_take(m->peerid, Q_COMMIT)) == NULL) {
			log_warnx("Q_COMMIT_OK for unknown request %u", m->peerid);
			return;
		}
		if (wire_msgid_decode(m, &w) == -1 ||
		    strcmp(msgid, r->msgid) != 0) {
			/* Whatever queued did, the client must not get 250. */
			log_warnx("malformed Q_COMMIT_OK from queued");
			qc_fail(r, 451, QC_TEMPFAIL);
			free(r);
			return;
		}
		if (r->s)
			session_committed(r->s, r->msgid);
		else
			log_info("message %s queued, but its client has gone",
			    r->msgid);
		free(r);
		return;
	case Q_COMMIT_FAIL:
		if ((r = qc_take(m->peerid, Q_COMMIT)) == NULL) {
			log_warnx("Q_COMMIT_FAIL for unknown request %u", m->peerid);
			return;
		}
		read_failure(m, &code, text, sizeof(text));
		if (r->s)
			session_commit_failed(r->s, code, text);
		free(r);
		return;
	default:
		log_warnx("unexpected %s from queued", msg_name(m->type));
	}
}

static void
qc_closed(struct channel *ch, void *arg)
{
	(void)arg;
	if (ch != Q.ch)
		return;
	log_warnx("channel to queued lost");
	Q.ch = NULL;
	session_queue_lost();
	qc_fail_all();
	if (smtpd.congested) {
		smtpd.congested = false;
		session_update_all();
	}
}

static void
qc_drained(struct channel *ch, void *arg)
{
	(void)arg;
	if (ch != Q.ch || !smtpd.congested)
		return;
	log_debug("channel to queued drained, reading clients again");
	smtpd.congested = false;
	session_update_all();
}

void
qc_set_channel(int fd)
{
	if (Q.ch) {
		log_info("new channel to queued replaces the old one");
		chan_free(Q.ch);
		Q.ch = NULL;
		session_queue_lost();
		qc_fail_all();
	}
	Q.ch = chan_new(fd, "smtpd>queued", qc_msg, qc_closed, NULL);
	chan_on_drain(Q.ch, qc_drained);
	if (smtpd.congested) {
		smtpd.congested = false;
		session_update_all();
	}
}

/* Register a sent request; stop reading clients if the channel is full. */
static uint32_t
qc_sent(struct session *s, uint32_t id, uint16_t type, const char *msgid)
{
	struct qreq *r = xcalloc(1, sizeof(*r));

	r->id = id;
	r->type = type;
	r->s = s;
	r->deadline = ev_now() + qc_timeout_ms;
	if (msgid)
		strlcpy(r->msgid, msgid, sizeof(r->msgid));
	TAILQ_INSERT_TAIL(&Q.pending, r, entry);
	if (TAILQ_FIRST(&Q.pending) == r)
		qc_arm();
	if (!smtpd.congested && chan_congested(Q.ch)) {
		log_debug("channel to queued congested, pausing clients");
		smtpd.congested = true;
		session_update_all();
	}
	return id;
}

static uint32_t
qc_new_id(void)
{
	if (++Q.next_id == 0)
		Q.next_id = 1;
	return Q.next_id;
}

uint32_t
qc_create(struct session *s)
{
	uint32_t id;

	if (Q.ch == NULL)
		return 0;
	id = qc_new_id();
	if (chan_send(Q.ch, Q_CREATE, id, -1, NULL, 0) == -1)
		return 0;
	return qc_sent(s, id, Q_CREATE, NULL);
}

uint32_t
qc_commit(struct session *s, const struct envelope *env)
{
	struct envelope said = *env;     /* what queued is told */
	struct msgbuf mb;
	uint32_t id;
	int rv;

	if (Q.ch == NULL)
		return 0;
	if (F.flags != 0) {
		if (fault_on(env, FAULT_WRITE_NOTHING))
			said.size = 0;
		if (fault_on(env, FAULT_CLAIM_PREVIOUS))
			said.size = F.last_size;
		if (fault_on(env, FAULT_ARRIVAL_1990))
			said.created = FAULT_ARRIVAL_TIME;
		F.last_size = env->size;
		if (fault_on(env, FAULT_HOLD)) {
			log_warnx("test fault: %s left open in queued", env->id);
			strlcpy(F.held, env->id, sizeof(F.held));
			return 0;
		}
	}
	id = qc_new_id();
	mb_init(&mb);
	env_encode(&said, &mb);
	rv = mb.err ? -1 : chan_send_mb(Q.ch, Q_COMMIT, id, -1, &mb);
	mb_free(&mb);
	if (rv == -1) {
		log_warnx("cannot send the envelope of %s to queued", env->id);
		return 0;
	}
	return qc_sent(s, id, Q_COMMIT, env->id);
}

void
qc_rollback(const char *msgid)
{
	struct wire_msgid w;
	struct msgbuf mb;

	if (Q.ch == NULL)
		return;
	if (F.held[0] != '\0' && strcmp(msgid, F.held) == 0)
		return;                       /* test fault: left open */
	if (strlcpy(w.msgid, msgid, sizeof(w.msgid)) >= sizeof(w.msgid))
		return;
	mb_init(&mb);
	if (wire_msgid_encode(&mb, &w) == 0)
		(void)chan_send_mb(Q.ch, Q_ROLLBACK, 0, -1, &mb);
	mb_free(&mb);
}

void
qc_forget(struct session *s)
{
	struct qreq *r;

	TAILQ_FOREACH(r, &Q.pending, entry)
		if (r->s == s)
			r->s = NULL;
}

void
qc_flush(void)
{
	if (Q.ch)
		(void)chan_flush(Q.ch);
}
