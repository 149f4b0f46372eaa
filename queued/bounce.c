/* SPDX-License-Identifier: ISC */
/* Who is told what, and when (RFC 3461): the notices of queued.
 *
 *  - A recipient that fails, or is delivered with NOTIFY=SUCCESS, owes
 *    its sender a notice: the index marks it (store.h STORE_DSN_*) in the
 *    same transaction that records the result, unless the sender is the
 *    null path or NOTIFY says otherwise.
 *  - Once a message has no recipient queued or inflight (its attempt
 *    round is over), ONE notice covers every recipient it owes for.
 *  - A message still deferred `dsn { delay-warning }` after it arrived
 *    gets one delay warning for its deferred recipients.
 *
 * A notice is a message like any other: its file is written into
 * incoming/ and it goes through the commit pipeline (commit.c), from the
 * null sender to the original sender. Its insertion and the clearing of
 * the marks it answers happen in ONE transaction: after a crash either
 * both are there or neither (then it is written again): at least once,
 * never lost. A message with nothing left to do is removed then. */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsn.h"
#include "log.h"
#include "plugin_ctx.h"
#include "queued.h"
#include "retry.h"
#include "spool.h"
#include "util.h"

/* Recipients answered by one notice; the rest wait for the next one. */
#define NOTICE_MAX_RCPTS  1000
/* Messages looked at per scan of the index. */
#define SCAN_BATCH        64
/* Full scans for owed notices and delay warnings, in seconds; every
 * second when the delay warning is that short (tests). */
#define SCAN_INTERVAL     30
#define SCAN_FAST_BELOW   60

struct idlink {
	struct idlink *next;
	char           id[ULID_LEN + 1];
};

/* A notice in the pipeline. */
struct notice {
	struct idlink  busy;           /* on the busy list: its original */
	bool           delay;
	size_t         n;
	uint64_t      *rcptid;
	uint32_t      *clear;          /* dsn bits each recipient is rid of */
	struct em_context *ev;         /* EM_EVENT_MESSAGE_BOUNCED, if wanted */
};

static struct idlink *candidates;
static struct idlink *busy;            /* originals with a notice under way */
static int64_t last_scan;

static bool
listed(const struct idlink *l, const char *id)
{
	for (; l != NULL; l = l->next)
		if (strcmp(l->id, id) == 0)
			return true;
	return false;
}

static void
candidate_add(const char *id)
{
	struct idlink *c;

	if (listed(candidates, id) || listed(busy, id))
		return;
	c = xcalloc(1, sizeof(*c));
	strlcpy(c->id, id, sizeof(c->id));
	c->next = candidates;
	candidates = c;
}

void
bounce_settle(const char *msgid)
{
	struct store_msg_status ms;

	if (store_msg_status(Q.store, msgid, &ms) == -1)
		return;
	if (ms.active == 0 && ms.owed == 0) {
		/* All its rows, or none. */
		if (store_savepoint(Q.store) == -1)
			return;
		if (store_remove(Q.store, msgid) == 0 &&
		    store_release(Q.store) == 0)
			removal_add(msgid);
		else
			store_rollback_to(Q.store);
	} else if (ms.owed > 0 && ms.waiting == 0)
		candidate_add(msgid);
}

static void
busy_remove(struct notice *nt)
{
	struct idlink **pp;

	for (pp = &busy; *pp != NULL; pp = &(*pp)->next)
		if (*pp == &nt->busy) {
			*pp = nt->busy.next;
			break;
		}
}

static void
notice_free(struct notice *nt)
{
	free(nt->rcptid);
	free(nt->clear);
	plugin_ctx_free(nt->ev);
	free(nt);
}

/* In the transaction that inserts the notice. */
static bool
notice_stored(void *arg)
{
	struct notice *nt = arg;
	size_t i;

	for (i = 0; i < nt->n; i++)
		if (store_dsn_update(Q.store, nt->rcptid[i], nt->clear[i],
		    nt->delay ? STORE_DSN_WARNED : 0) == -1)
			return false;
	bounce_settle(nt->busy.id);
	return true;
}

static void
notice_finished(void *arg, bool ok)
{
	struct notice *nt = arg;

	busy_remove(nt);
	if (ok) {
		QC.dsns++;
		/* The notice is queued for good: the bounce happened. */
		qevent_fire(EM_EVENT_MESSAGE_BOUNCED, nt->ev);
		nt->ev = NULL;
	}
	else
		log_warnx("%s: the notice to its sender could not be queued; "
		    "it is tried again later", nt->busy.id);
	notice_free(nt);
}

/* Which action a recipient gets in this notice, or -1 for none. */
static int
rcpt_action(const struct store_rcpt *r, bool delay, uint32_t *clear)
{
	*clear = 0;
	if (delay) {
		if (r->state != RCPT_DEFERRED || (r->dsn & STORE_DSN_WARNED) ||
		    (r->notify != 0 && !(r->notify & DSN_NOTIFY_DELAY)) ||
		    (r->notify & DSN_NOTIFY_NEVER))
			return -1;
		return DSN_DELAYED;
	}
	if (r->state == RCPT_FAILED && (r->dsn & STORE_DSN_FAIL)) {
		*clear = STORE_DSN_FAIL;
		return DSN_FAILED;
	}
	if (r->state == RCPT_DELIVERED && (r->dsn & STORE_DSN_SUCCESS)) {
		*clear = STORE_DSN_SUCCESS;
		return DSN_RELAYED;
	}
	return -1;
}

/* Write and queue one notice about msgid; false when there was nothing
 * to say or it could not be done now. */
static bool
make_notice(const char *msgid, bool delay)
{
	const struct config *cfg = Q.cfg;
	struct envelope orig, env;
	struct store_rcpt *rc = NULL;
	struct dsn_rcpt *dr = NULL;
	struct dsn_info info;
	struct notice *nt = NULL;
	struct commit_hook hook;
	char id[ULID_LEN + 1], from[512], who[512];
	size_t n = 0, i, k = 0;
	bool more, eightbit = false, ok = false;
	int fd = -1, ofd = -1, a;
	uint32_t clear;
	struct stat sb;
	int64_t now = wall_s();

	env_init(&orig);
	env_init(&env);
	if (store_load(Q.store, msgid, &orig, false) != 0 ||
	    store_rcpts(Q.store, msgid, NOTICE_MAX_RCPTS, &rc, &n, &more) == -1)
		goto out;
	dr = xcalloc(n ? n : 1, sizeof(*dr));
	nt = xcalloc(1, sizeof(*nt));
	nt->rcptid = xcalloc(n ? n : 1, sizeof(*nt->rcptid));
	nt->clear = xcalloc(n ? n : 1, sizeof(*nt->clear));
	nt->delay = delay;
	if (!delay && qevent_wanted(EM_EVENT_MESSAGE_BOUNCED))
		nt->ev = qevent_new(&orig);
	for (i = 0; i < n; i++) {
		if ((a = rcpt_action(&rc[i], delay, &clear)) == -1)
			continue;
		if (nt->ev != NULL && a == DSN_FAILED) {
			plugin_ctx_add_rcpt(nt->ev, rc[i].addr);
			qevent_delivery(nt->ev, rc[i].last_host, rc[i].last_error,
			    rc[i].attempts);
		}
		dr[k].addr = rc[i].addr;
		dr[k].orcpt = rc[i].orcpt;
		dr[k].action = (enum dsn_action)a;
		dr[k].diag = rc[i].last_error;
		dr[k].remote = rc[i].last_host;
		dr[k].attempts = rc[i].attempts;
		dr[k].last_attempt = rc[i].last_attempt;
		/* The real end: expire, or max-attempts when it comes first. */
		if (delay)
			dr[k].retry_until = retry_until(&cfg->delivery,
			    rc[i].attempts, orig.created,
			    rc[i].next_attempt > now ? rc[i].next_attempt : now);
		nt->rcptid[k] = rc[i].id;
		nt->clear[k] = clear;
		k++;
	}
	nt->n = k;
	if (k == 0)
		goto out;
	if (nt->ev != NULL && nt->ev->nrcpts == 0) {
		/* Only success notices: no bounce. */
		plugin_ctx_free(nt->ev);
		nt->ev = NULL;
	}
	if (orig.sender == NULL || orig.sender[0] == '\0') {
		/* Never a notice to the null path (the marks are never set for
		 * one: this is a safety net). */
		log_warnx("%s: no notice for a message from the null sender",
		    msgid);
		goto out;
	}

	if ((fd = spool_create(id)) == -1) {
		log_warn("%s: cannot create the notice file", msgid);
		goto out;
	}
	ofd = spool_open_message(msgid);
	if (cfg->dsn_postmaster != NULL)
		strlcpy(from, cfg->dsn_postmaster, sizeof(from));
	else
		snprintf(from, sizeof(from), "postmaster@%s", cfg->hostname);
	memset(&info, 0, sizeof(info));
	info.reporting_mta = cfg->dsn_reporting_mta ? cfg->dsn_reporting_mta :
	    cfg->hostname;
	info.from = from;
	info.notice_id = id;
	info.orig_id = msgid;
	info.orig_sender = orig.sender;
	info.envid = orig.envid;
	info.arrival = orig.created;
	info.now = now;
	info.ret_full = orig.ret == DSN_RET_FULL;
	info.smtputf8 = orig.smtputf8;
	info.return_limit = cfg->dsn_return_limit;
	info.headers = orig.headers;
	info.nrcpt = k;
	info.rcpt = dr;
	if (dsn_write(fd, &info, ofd, &eightbit) == -1 || fstat(fd, &sb) == -1) {
		log_warn("%s: cannot write the notice %s", msgid, id);
		spool_discard_incoming(id);
		goto out;
	}

	strlcpy(env.id, id, sizeof(env.id));
	env.sender = xstrdup("");
	env.helo = xstrdup(info.reporting_mta);
	env.client_addr = xstrdup("localhost");
	env.body = xstrdup(eightbit ? "8BITMIME" : "7BIT");
	/* An internationalised notice (RFC 6533) goes out as SMTPUTF8. */
	env.smtputf8 = dsn_global(&info);
	env.size = (uint64_t)sb.st_size;
	env.created = info.now;
	env_add_rcpt(&env, orig.sender);
	log_info("%s: %s notice %s to <%s> for %zu recipient%s", msgid,
	    delay ? "delay" : "delivery status", id,
	    log_sanitize(info.orig_sender, who, sizeof(who)), k,
	    k == 1 ? "" : "s");
	strlcpy(nt->busy.id, msgid, sizeof(nt->busy.id));
	nt->busy.next = busy;
	busy = &nt->busy;
	memset(&hook, 0, sizeof(hook));
	hook.stored = notice_stored;
	hook.finished = notice_finished;
	hook.arg = nt;
	commit_internal(id, &env, &hook);
	nt = NULL;
	ok = true;
out:
	if (fd != -1)
		close(fd);
	if (ofd != -1)
		close(ofd);
	if (nt != NULL)
		notice_free(nt);
	free(dr);
	store_rcpts_free(rc, n);
	env_clear(&orig);
	env_clear(&env);
	return ok;
}

static void
bounce_run(void)
{
	struct idlink *c;

	while ((c = candidates) != NULL) {
		candidates = c->next;
		if (!listed(busy, c->id))
			(void)make_notice(c->id, false);
		free(c);
	}
}

/* From the scheduler's tick: what the settling of results did not catch
 * (a notice that could not be queued, recovery, the passing of time). */
void
bounce_tick(void)
{
	char ids[SCAN_BATCH][ULID_LEN + 1];
	int64_t now = wall_s();
	size_t n, i;
	int64_t every = Q.cfg->dsn_delay_warning > 0 &&
	    Q.cfg->dsn_delay_warning < SCAN_FAST_BELOW ? 1 : SCAN_INTERVAL;

	if (now - last_scan >= every) {
		last_scan = now;
		if (store_dsn_owed(Q.store, ids, SCAN_BATCH, &n) == 0)
			for (i = 0; i < n; i++)
				candidate_add(ids[i]);
		if (Q.cfg->dsn_delay_warning > 0 &&
		    store_delay_due(Q.store, now - (int64_t)Q.cfg->dsn_delay_warning,
		    ids, SCAN_BATCH, &n) == 0)
			for (i = 0; i < n; i++)
				if (!listed(busy, ids[i]))
					(void)make_notice(ids[i], true);
	}
	bounce_run();
}

/* The pipeline client (pipeline.h): after each index transaction, the
 * notices its results made owed (listed by bounce_settle() inside it);
 * their files join the round that follows. */
static void
bounce_index_done(bool committed)
{
	(void)committed;
	bounce_run();
}

const struct pipeline_client bounce_client = {
	.name = "bounce",
	.index_done = bounce_index_done,
};
