/* SPDX-License-Identifier: ISC */
/* The deliverd side of the queue: due recipients become delivery jobs, and
 * the per-recipient results are recorded.
 *
 * A job is one message, one destination domain and its due recipients
 * (at most JOB_MAX_RCPTS, and as many as fit in one frame). Handing out a
 * job marks its recipients inflight in a transaction that does not wait for
 * the disk: after a crash, recovery turns inflight back into queued anyway.
 * Results are applied in the write batch (main.c), so the results of many
 * jobs share one durable transaction; until it commits they stay here and
 * are retried if it fails. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsn.h"
#include "envelope.h"
#include "event.h"
#include "log.h"
#include "plugin_ctx.h"
#include "queued.h"
#include "retry.h"
#include "spool.h"
#include "util.h"
#include "wire.h"

#define SCHED_TICK_MS     1000
/* RFC 5321 4.5.3.1.8: a server must accept at least 100 recipients. */
#define JOB_MAX_RCPTS     100
/* Keys fetched per query; the loop queries again while slots remain. */
#define SCHED_KEYS_MAX    64
/* Recipients a result left out come back after this much. A correct
 * deliverd never leaves one out; the delay keeps a faulty one from
 * spinning. */
#define UNREPORTED_DELAY  5
#define DIAG_MAX          1000
/* A job without a result after this long is taken back (its recipients
 * due again): deliverd bounds every phase, so only a bug gets here. The
 * bound is generous, as a job taken back too early is delivered twice. */
#define JOB_DEADLINE_MIN  1800
#define JOB_DEADLINE_MULT 10

struct job_rcpt {
	uint64_t id;
	char    *addr;
	uint32_t attempts;
	bool     done;
};

struct job {
	TAILQ_ENTRY(job) entry;
	uint32_t  id;
	char      msgid[ULID_LEN + 1];
	char     *domain;
	int64_t   created;
	/* Only when a plugin wants the events of results: */
	char     *sender, *meta;
	size_t    n;
	struct job_rcpt *r;
	uint64_t  deadline;        /* monotonic ms */
	int       fd;              /* until sent */
	struct msgbuf mb;          /* encoded D_JOB, until sent */
};
TAILQ_HEAD(job_list, job);

/* A recipient row change waiting for the write batch. */
struct rupdate {
	TAILQ_ENTRY(rupdate) entry;
	char      msgid[ULID_LEN + 1];
	uint64_t  id;
	uint32_t  state, attempts;
	int64_t   next;
	char     *error, *host;
	bool      dsn_passed;      /* delivered to a next hop that took DSN */
	bool      applied;
	/* The plugins' event of this result (deferred or expired), fired
	 * once it is committed. */
	enum em_point      point;
	struct em_context *ev;
};
TAILQ_HEAD(rupdate_list, rupdate);

static struct {
	struct channel      *ch;
	struct job_list      jobs;
	size_t               njobs;
	uint32_t             next_jobid;
	struct ev_timer     *tick;
	struct rupdate_list  updates;
	bool                 stopped;
	bool                 frozen;
} S = {
	.jobs = TAILQ_HEAD_INITIALIZER(S.jobs),
	.updates = TAILQ_HEAD_INITIALIZER(S.updates),
};

static void sched_run(void);
static void job_free(struct job *);
static void job_requeue(struct job *, int64_t);

static uint64_t
job_deadline_ms(void)
{
	const struct cfg_delivery *d = &Q.cfg->delivery;
	uint64_t sum = (uint64_t)d->to_connect + d->to_ehlo + d->to_starttls +
	    d->to_mail + d->to_rcpt + d->to_data + d->to_quit;

	sum *= JOB_DEADLINE_MULT;
	return (sum > JOB_DEADLINE_MIN ? sum : JOB_DEADLINE_MIN) * 1000;
}

static void
expire_jobs(void)
{
	struct job *j, *tj;
	uint64_t now = mono_ms();

	TAILQ_FOREACH_SAFE(j, &S.jobs, entry, tj) {
		if (now < j->deadline)
			continue;
		log_warnx("%s: job %u got no result from deliverd in time: its "
		    "recipients are queued again", j->msgid, j->id);
		TAILQ_REMOVE(&S.jobs, j, entry);
		S.njobs--;
		job_requeue(j, wall_s());
		job_free(j);
		pipeline_kick();
	}
}

static void
tick_cb(void *arg)
{
	(void)arg;
	expire_jobs();
	if (!TAILQ_EMPTY(&S.updates))
		pipeline_kick();
	/* Notices are written outside any transaction, like jobs. */
	if (!store_in_txn(Q.store))
		bounce_tick();
	/* The pool ages even when nothing else happens. */
	if (pool_wants())
		pipeline_kick();
	sched_run();
	if (!S.stopped)
		ev_timer_start(S.tick, SCHED_TICK_MS);
}

static void
drain_cb(struct channel *ch, void *arg)
{
	(void)ch;
	(void)arg;
	sched_kick();
}

void
sched_init(void)
{
	if (store_get_frozen(Q.store, &S.frozen) == -1)
		S.frozen = false;
	if (S.frozen)
		log_warnx("the queue is frozen: no delivery until it is unfrozen");
	S.tick = ev_timer_new(tick_cb, NULL);
	ev_timer_start(S.tick, 0);
}

void
sched_kick(void)
{
	if (S.tick != NULL && !S.stopped)
		ev_timer_start(S.tick, 0);
}

void
sched_stop(void)
{
	S.stopped = true;
	if (S.tick != NULL)
		ev_timer_stop(S.tick);
}

size_t
sched_jobs(void)
{
	return S.njobs;
}

static bool
sched_pending(void)
{
	return !TAILQ_EMPTY(&S.updates);
}

static void
job_free(struct job *j)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		free(j->r[i].addr);
	free(j->r);
	free(j->domain);
	free(j->sender);
	free(j->meta);
	if (j->fd != -1)
		close(j->fd);
	mb_free(&j->mb);
	free(j);
}

static bool
results_wanted(void)
{
	return qevent_wanted(EM_EVENT_MESSAGE_DEFERRED) ||
	    qevent_wanted(EM_EVENT_MESSAGE_EXPIRED);
}

static struct rupdate *
add_update(const char *msgid, uint64_t id, uint32_t state, uint32_t attempts,
    int64_t next, const char *error, const char *host)
{
	struct rupdate *u = xcalloc(1, sizeof(*u));

	strlcpy(u->msgid, msgid, sizeof(u->msgid));
	u->id = id;
	u->state = state;
	u->attempts = attempts;
	u->next = next;
	if (error != NULL)
		u->error = strndup(error, DIAG_MAX);
	if (host != NULL)
		u->host = strndup(host, STORE_DOMAIN_MAX);
	TAILQ_INSERT_TAIL(&S.updates, u, entry);
	return u;
}

/* Every recipient of the job without a result becomes due again at
 * `when`, without counting an attempt. */
static void
job_requeue(struct job *j, int64_t when)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		if (!j->r[i].done)
			add_update(j->msgid, j->r[i].id, RCPT_QUEUED,
			    j->r[i].attempts, when, NULL, NULL);
}

void
sched_set_channel(struct channel *ch)
{
	S.ch = ch;
	chan_on_drain(ch, drain_cb);
	sched_kick();
}

void
sched_channel_gone(void)
{
	struct job *j;
	int64_t now = wall_s();
	size_t n = S.njobs;

	S.ch = NULL;
	while ((j = TAILQ_FIRST(&S.jobs)) != NULL) {
		TAILQ_REMOVE(&S.jobs, j, entry);
		job_requeue(j, now);
		job_free(j);
	}
	S.njobs = 0;
	if (n > 0) {
		log_warnx("deliverd channel lost with %zu jobs in flight: their "
		    "recipients are queued again", n);
		pipeline_kick();
	}
	queued_check_stop();
}

/* Remove the recipients past `keep` from env (they stay due). */
static void
env_truncate(struct envelope *env, size_t keep)
{
	size_t i;

	for (i = keep; i < env->nrcpt; i++) {
		free(env->rcpt[i].addr);
		free(env->rcpt[i].orcpt);
	}
	env->nrcpt = keep;
}

/* A queued message whose file is gone: fail it, in the open transaction;
 * its sender is told, then its rows go. */
static void
message_file_missing(const char *msgid, int64_t now)
{
	log_warnx("%s: message file %s/%s is missing: all its recipients "
	    "failed", msgid, SPOOL_QUEUE, msgid);
	if (store_fail_message(Q.store, msgid, "message file missing", now) == 0)
		bounce_settle(msgid);
}

/* Build one job for a (message, domain) pair and mark its recipients
 * inflight (inside the open transaction). NULL when nothing to send. */
static struct job *
job_build(const struct store_key *k, int64_t now)
{
	struct envelope env;
	struct job *j;
	size_t i;
	int fd, rc;

	env_init(&env);
	rc = store_load(Q.store, k->msgid, &env, false);
	if (rc == 1) {
		/* Recipient rows without a message row: nothing can deliver
		 * them. */
		log_warnx("%s: recipients without a message in the index, removed",
		    k->msgid);
		store_remove(Q.store, k->msgid);
		env_clear(&env);
		return NULL;
	}
	if (rc == -1 || store_due_rcpts(Q.store, k->msgid, k->domain, now,
	    JOB_MAX_RCPTS, &env) == -1 || env.nrcpt == 0) {
		env_clear(&env);
		return NULL;
	}
	if ((fd = spool_open_message(k->msgid)) == -1) {
		if (errno == ENOENT)
			message_file_missing(k->msgid, now);
		else
			log_warn("%s: cannot open the message file", k->msgid);
		env_clear(&env);
		return NULL;
	}

	j = xcalloc(1, sizeof(*j));
	j->fd = fd;
	mb_init(&j->mb);
	env_encode(&env, &j->mb);
	/* Long addresses can make 100 recipients overflow one frame: send
	 * fewer, the others come in the next job. */
	while (j->mb.err && env.nrcpt > 1) {
		env_truncate(&env, env.nrcpt / 2);
		mb_free(&j->mb);
		mb_init(&j->mb);
		env_encode(&env, &j->mb);
	}
	if (j->mb.err) {
		log_warnx("%s: envelope too large for one job", k->msgid);
		env_clear(&env);
		job_free(j);
		return NULL;
	}

	strlcpy(j->msgid, k->msgid, sizeof(j->msgid));
	j->domain = xstrdup(k->domain);
	j->created = env.created;
	if (results_wanted()) {
		j->sender = xstrdup(env.sender ? env.sender : "");
		if (env.meta != NULL)
			j->meta = xstrdup(env.meta);
	}
	j->n = env.nrcpt;
	j->r = xcalloc(env.nrcpt, sizeof(*j->r));
	/* All of the job's marks or none: a job never sent must not leave
	 * recipients inflight. */
	if (store_savepoint(Q.store) == -1) {
		env_clear(&env);
		job_free(j);
		return NULL;
	}
	for (i = 0; i < env.nrcpt; i++) {
		j->r[i].id = env.rcpt[i].id;
		j->r[i].addr = xstrdup(env.rcpt[i].addr);
		j->r[i].attempts = env.rcpt[i].attempts;
		if (store_mark_inflight(Q.store, env.rcpt[i].id, now) == -1) {
			store_rollback_to(Q.store);
			env_clear(&env);
			job_free(j);
			return NULL;
		}
	}
	store_release(Q.store);
	if (++S.next_jobid == 0)
		S.next_jobid = 1;
	j->id = S.next_jobid;

	if (log_level_enabled(LOGL_DEBUG)) {
		char sender[512];

		log_debug("%s: job %u to %s, nrcpt=%zu, from=<%s>", j->msgid, j->id,
		    j->domain, j->n, log_sanitize(env.sender, sender, sizeof(sender)));
	}
	env_clear(&env);
	return j;
}

static bool
can_send(void)
{
	const struct cfg_delivery *d = &Q.cfg->delivery;
	size_t max = d->concurrency > 0 ? d->concurrency : 1;

	return S.ch != NULL && !S.stopped && !S.frozen && Q.store != NULL &&
	    S.njobs < max && !chan_congested(S.ch);
}

/* Hand out due jobs while deliverd has room. */
static void
sched_run(void)
{
	const struct cfg_delivery *d = &Q.cfg->delivery;
	struct store_key keys[SCHED_KEYS_MAX];
	struct job_list built = TAILQ_HEAD_INITIALIZER(built);
	struct job *j;
	size_t i, n, want, nbuilt;
	int64_t now = wall_s();

	/* The batch owns the transaction while it runs; it kicks us after. */
	if (store_in_txn(Q.store))
		return;
	while (can_send()) {
		want = (d->concurrency > 0 ? d->concurrency : 1) - S.njobs;
		if (want > SCHED_KEYS_MAX)
			want = SCHED_KEYS_MAX;
		if (store_due_keys(Q.store, now, keys, want, &n) == -1 || n == 0)
			return;
		if (store_begin(Q.store, false) == -1)
			return;
		nbuilt = 0;
		for (i = 0; i < n; i++) {
			if ((j = job_build(&keys[i], now)) == NULL)
				continue;
			TAILQ_INSERT_TAIL(&built, j, entry);
			nbuilt++;
		}
		if (store_commit(Q.store) == -1) {
			log_warnx("cannot mark recipients inflight: jobs not sent");
			removal_txn_end(false);
			while ((j = TAILQ_FIRST(&built)) != NULL) {
				TAILQ_REMOVE(&built, j, entry);
				job_free(j);
			}
			return;
		}
		removal_txn_end(true);
		while ((j = TAILQ_FIRST(&built)) != NULL) {
			TAILQ_REMOVE(&built, j, entry);
			if (S.ch == NULL || chan_send_mb(S.ch, D_JOB, j->id, j->fd,
			    &j->mb) == -1) {
				log_warnx("%s: cannot send job %u to deliverd",
				    j->msgid, j->id);
				job_requeue(j, now);
				job_free(j);
				pipeline_kick();
				continue;
			}
			/* chan_send dup()ed the descriptor. */
			close(j->fd);
			j->fd = -1;
			mb_free(&j->mb);
			mb_init(&j->mb);
			j->deadline = mono_ms() + job_deadline_ms();
			TAILQ_INSERT_TAIL(&S.jobs, j, entry);
			S.njobs++;
		}
		/* Nothing buildable in this round (all failed): do not spin. */
		if (nbuilt == 0)
			return;
	}
}

static struct job *
job_find(uint32_t id)
{
	struct job *j;

	TAILQ_FOREACH(j, &S.jobs, entry)
		if (j->id == id)
			return j;
	return NULL;
}

static struct job_rcpt *
job_rcpt(struct job *j, uint64_t id)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		if (j->r[i].id == id)
			return &j->r[i];
	return NULL;
}

/* Record one recipient's result (already validated against the job). */
static void
record(struct job *j, struct job_rcpt *r, uint32_t state, bool dsn_passed,
    const char *host, const char *diag, int64_t now)
{
	char a[512], h[256], dg[512];
	uint32_t attempts = r->attempts + 1, newstate = state;
	int64_t next = 0;
	const char *why = NULL;
	struct rupdate *u;

	log_sanitize(r->addr, a, sizeof(a));
	log_sanitize(host, h, sizeof(h));
	log_sanitize(diag, dg, sizeof(dg));
	switch (state) {
	case RCPT_DELIVERED:
		log_info("%s: to=<%s>, relay=%s, attempts=%u, status=sent (%s)%s",
		    j->msgid, a, h, attempts, dg,
		    dsn_passed ? ", dsn=passed" : "");
		break;
	case RCPT_DEFERRED:
		newstate = retry_after_defer(&Q.cfg->delivery, attempts,
		    j->created, now, &next, &why);
		if (newstate == RCPT_DEFERRED)
			log_info("%s: to=<%s>, relay=%s, attempts=%u, "
			    "status=deferred (%s), next attempt in %llds", j->msgid,
			    a, h, attempts, dg, (long long)(next - now));
		else
			log_warnx("%s: to=<%s>, relay=%s, attempts=%u, "
			    "status=failed (%s; %s)", j->msgid, a, h, attempts, dg,
			    why);
		break;
	default:
		log_warnx("%s: to=<%s>, relay=%s, attempts=%u, status=failed (%s)",
		    j->msgid, a, h, attempts, dg);
		break;
	}
	u = add_update(j->msgid, r->id, newstate, attempts, next, diag, host);
	u->dsn_passed = newstate == RCPT_DELIVERED && dsn_passed;
	r->done = true;
	/* A deferral that ran out of retry time fails: expired. */
	if (state == RCPT_DEFERRED) {
		u->point = newstate == RCPT_DEFERRED ? EM_EVENT_MESSAGE_DEFERRED :
		    EM_EVENT_MESSAGE_EXPIRED;
		if (qevent_wanted(u->point) && j->sender != NULL) {
			struct envelope e;

			env_init(&e);
			strlcpy(e.id, j->msgid, sizeof(e.id));
			e.sender = j->sender;
			e.meta = j->meta;
			u->ev = qevent_new(&e);
			plugin_ctx_add_rcpt(u->ev, r->addr);
			qevent_delivery(u->ev, host, diag, attempts);
		}
	}
}

void
sched_result(struct chan_msg *m)
{
	struct wire_result res;
	struct job *j;
	struct job_rcpt *r;
	const char *host, *diag;
	uint32_t n, i, raw, state, missing = 0;
	bool passed;
	uint64_t id;
	int64_t now = wall_s();

	if (m->type != D_RESULT) {
		if (m->type != D_STATUS)
			log_warnx("deliverd: unexpected %s, ignored",
			    msg_name(m->type));
		return;
	}
	if ((j = job_find(m->peerid)) == NULL) {
		log_warnx("deliverd: result for unknown job %u, ignored", m->peerid);
		return;
	}
	/* All or nothing: a malformed result leaves every recipient
	 * without one, and they are queued again below. */
	if (wire_result_decode(m, &res) == -1) {
		log_warnx("deliverd: malformed result for job %u: recipients "
		    "queued again", j->id);
		n = 0;
	} else if (strcmp(res.msgid, j->msgid) != 0) {
		log_warnx("deliverd: result for job %u names message %s, not %s: "
		    "recipients queued again", j->id, res.msgid, j->msgid);
		n = 0;
	} else
		n = res.n;
	for (i = 0; i < n; i++) {
		id = res.r[i].id;
		raw = res.r[i].state;
		host = res.r[i].host;
		diag = res.r[i].diag;
		if ((r = job_rcpt(j, id)) == NULL || r->done) {
			log_warnx("%s: result for recipient %" PRIu64 " not in job %u, "
			    "ignored", j->msgid, id, j->id);
			continue;
		}
		if ((raw & RCPT_POSTPONE_MASK) == RCPT_POSTPONED) {
			/* Held back by deliverd's flow control: due
			 * again after the delay, no attempt counted. */
			add_update(j->msgid, r->id, RCPT_QUEUED, r->attempts,
			    now + (raw >> RCPT_POSTPONE_SHIFT), diag, host);
			r->done = true;
			continue;
		}
		if (dsn_result_state(raw, &state, &passed) == -1) {
			log_warnx("%s: invalid state %u for recipient %" PRIu64 ", ignored",
			    j->msgid, raw, id);
			continue;
		}
		record(j, r, state, passed, host, diag, now);
	}
	wire_result_free(&res);
	for (i = 0; i < j->n; i++)
		if (!j->r[i].done)
			missing++;
	if (missing > 0) {
		log_warnx("%s: job %u: %u recipients without a result, queued again",
		    j->msgid, j->id, missing);
		job_requeue(j, now + UNREPORTED_DELAY);
	}
	TAILQ_REMOVE(&S.jobs, j, entry);
	S.njobs--;
	job_free(j);
	pipeline_kick();
	/* A slot is free: the next job goes out after the batch (the timer
	 * fires in the next loop iteration, after the deferred batch). */
	sched_kick();
	queued_check_stop();
}

/* Has an earlier update of this batch named the same message? */
static bool
seen_before(const struct rupdate *u)
{
	const struct rupdate *v;

	TAILQ_FOREACH(v, &S.updates, entry) {
		if (v == u)
			return false;
		if (v->applied && strcmp(v->msgid, u->msgid) == 0)
			return true;
	}
	return false;
}

static void
sched_batch_apply(void)
{
	struct rupdate *u;
	int64_t now = wall_s();

	TAILQ_FOREACH(u, &S.updates, entry) {
		if (store_savepoint(Q.store) == -1)
			continue;
		/* Passed on with its DSN request: the next hop reports
		 * delivery, no "relayed" notice from here (RFC 3461 5.2.2);
		 * the mark goes in the same savepoint that set it. Results
		 * only come for this job's inflight rows, so the mark cleared
		 * is the one this update set. */
		if (store_rcpt_update(Q.store, u->id, u->state, u->attempts,
		    u->next, u->error, u->host, now) == -1 ||
		    (u->dsn_passed && store_dsn_update(Q.store, u->id,
		    STORE_DSN_SUCCESS, 0) == -1)) {
			store_rollback_to(Q.store);
			continue;
		}
		store_release(Q.store);
		u->applied = true;
	}
	/* Each message once: finished ones go, notices owed are listed. */
	TAILQ_FOREACH(u, &S.updates, entry)
		if (u->applied && !seen_before(u))
			bounce_settle(u->msgid);
}

/* After the commit, on the loop: one event per message and kind, for the
 * recipients of this batch it concerns, with the last one's delivery
 * details. */
static void
fire_events(void)
{
	struct rupdate *u, *v;
	size_t i;

	TAILQ_FOREACH(u, &S.updates, entry) {
		if (!u->applied || u->ev == NULL)
			continue;
		for (v = TAILQ_NEXT(u, entry); v != NULL; v = TAILQ_NEXT(v, entry)) {
			if (!v->applied || v->ev == NULL || v->point != u->point ||
			    strcmp(v->msgid, u->msgid) != 0)
				continue;
			for (i = 0; i < v->ev->nrcpts; i++)
				plugin_ctx_add_rcpt(u->ev, v->ev->rcpts[i]);
			qevent_delivery(u->ev, v->host, v->error, v->attempts);
			plugin_ctx_free(v->ev);
			v->ev = NULL;
		}
		qevent_fire(u->point, u->ev);
		u->ev = NULL;
	}
}

static void
sched_batch_finish(bool committed)
{
	struct rupdate *u, *tu;

	if (committed)
		fire_events();
	TAILQ_FOREACH_SAFE(u, &S.updates, entry, tu) {
		/* Not committed: everything stays for the next batch. */
		if (!committed || !u->applied) {
			u->applied = false;
			continue;
		}
		TAILQ_REMOVE(&S.updates, u, entry);
		plugin_ctx_free(u->ev);
		free(u->error);
		free(u->host);
		free(u);
	}
	if (!committed && !TAILQ_EMPTY(&S.updates))
		log_warnx("queue index: %s: recipient results kept for a retry",
		    store_errmsg(Q.store));
}

void
sched_set_frozen(bool frozen)
{
	if (S.frozen != frozen)
		log_info("queue %s: deliveries %s", frozen ? "frozen" : "unfrozen",
		    frozen ? "stop (reception goes on)" : "resume");
	S.frozen = frozen;
	if (!frozen)
		sched_kick();
}

bool
sched_frozen(void)
{
	return S.frozen;
}

/* The pipeline client (pipeline.h): results, applied in its transaction. */
const struct pipeline_client sched_client = {
	.name = "scheduler",
	.index_wanted = sched_pending,
	.index_apply = sched_batch_apply,
	.index_done = sched_batch_finish,
	.pending = sched_pending,
};
