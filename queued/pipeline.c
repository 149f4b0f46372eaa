/* SPDX-License-Identifier: ISC */
/* The write pipeline: how everything queued writes becomes durable, in
 * groups, without the event loop ever waiting for a disk.
 *
 * Two stages alternate, each covering whatever accumulated meanwhile:
 *
 *  1. the index (loop thread): one sqlite transaction inserts the messages
 *     whose files were published by the last round, applies the delivery
 *     results and the notifications' bookkeeping, deletes the rows of
 *     finished messages. It commits with synchronous=NORMAL: the WAL is
 *     written, not synced.
 *  2. a round of the sync thread (syncer.h): the data of new message files
 *     is written out and they are renamed into queue/, finished ones are
 *     removed, and, when someone waits for it, one syncfs() makes all of it
 *     durable, together with every transaction committed before the round
 *     started.
 *
 * Whoever needs durability (a 250 to a client, an operator's command)
 * waits with pipeline_after_durable(): its callback runs after the next
 * round that started after the call, and that round syncs. A round that
 * only publishes does not sync: its files' data is on the disk before
 * their renames (syncer.c), and the sync of the round that follows the
 * insert covers the renames and the rows together. So a lone message
 * costs ONE sync: publish (no sync), insert, sync, 250. A busy queue
 * shares each sync among all the messages of a round, and while one round
 * syncs the next one fills.
 *
 * The removal of a finished message's file waits for the deletion of its
 * row to be durable, but it does not ask for a sync of its own
 * (pipeline_after_sync()): it rides on the next round that syncs anyway,
 * or on one after LAZY_SYNC_MS when nothing else comes.
 *
 * Files of finished messages go only once the deletion of their rows is
 * durable: a crash in between leaves a file without a row, which recovery
 * finds in the `removed` table and removes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"
#include "queued.h"
#include "spool.h"
#include "syncer.h"
#include "util.h"

/* After a failed sync, wait before the next round (a disk in trouble). */
#define RETRY_AFTER_FAIL_MS 1000
/* WAL pages after which a round checkpoints (sqlite's own default). */
#define CHECKPOINT_PAGES    1000
/* How long a lazy waiter (a removal) waits for a sync it can ride on. */
#define LAZY_SYNC_MS        200

struct waiter {
	struct waiter *next;
	durable_cb     cb;
	void          *arg;
};

struct idnode {
	struct idnode *next;
	char           id[ULID_LEN + 1];
};

static struct {
	bool              scheduled;
	struct waiter    *waiters, **waiters_tail;     /* for the next round */
	struct waiter    *lazy, **lazy_tail;   /* for the next round that syncs */
	bool              lazy_due;       /* waited LAZY_SYNC_MS: force a sync */
	struct ev_timer  *lazy_timer;
	struct idnode    *removals;       /* rows deleted in the open txn */
	struct idnode    *unlinks;        /* durable deletions: files to go */
	size_t            nunlinks;
	struct idnode    *forget;         /* unlinked: forget in `removed` */
	bool              fail_pause;
	struct ev_timer  *pause;
	struct sync_round round;
	struct waiter    *round_waiters;
	char              recycled[ULID_LEN + 1];
	bool              checkpoints; /* the sync thread runs them */
} P = { .waiters_tail = &P.waiters, .lazy_tail = &P.lazy };

struct queue_counters QC;

static void pipeline_run(void);

static void
run_cb(void *arg)
{
	(void)arg;
	P.scheduled = false;
	pipeline_run();
}

void
pipeline_kick(void)
{
	if (P.scheduled || Q.store == NULL)
		return;
	P.scheduled = true;
	ev_defer(run_cb, NULL);
}

void
pipeline_after_durable(durable_cb cb, void *arg)
{
	struct waiter *w = xcalloc(1, sizeof(*w));

	w->cb = cb;
	w->arg = arg;
	*P.waiters_tail = w;
	P.waiters_tail = &w->next;
	pipeline_kick();
}

/* Like pipeline_after_durable(), without asking for a sync: the callback
 * runs after the next round that syncs for someone else, or after one made
 * for it once LAZY_SYNC_MS have passed. For removals only (their argument
 * is an idnode: pipeline_stop() frees it). */
static void
pipeline_after_sync(durable_cb cb, void *arg)
{
	struct waiter *w = xcalloc(1, sizeof(*w));

	w->cb = cb;
	w->arg = arg;
	*P.lazy_tail = w;
	P.lazy_tail = &w->next;
	if (P.lazy_timer != NULL && !ev_timer_pending(P.lazy_timer) &&
	    !P.lazy_due)
		ev_timer_start(P.lazy_timer, LAZY_SYNC_MS);
}

static void
lazy_over(void *arg)
{
	(void)arg;
	P.lazy_due = true;
	pipeline_kick();
}

static struct idnode *
idnode(const char *id)
{
	struct idnode *n = xcalloc(1, sizeof(*n));

	strlcpy(n->id, id, sizeof(n->id));
	return n;
}

void
removal_add(const char *msgid)
{
	struct idnode *n = idnode(msgid);

	n->next = P.removals;
	P.removals = n;
}

static void
removal_durable(void *arg, bool ok)
{
	struct idnode *n = arg;

	if (!ok) {
		/* Not known to be on disk: keep the file, wait for a good
		 * round. */
		pipeline_after_sync(removal_durable, n);
		return;
	}
	n->next = P.unlinks;
	P.unlinks = n;
	P.nunlinks++;
	log_info("%s: removed", n->id);
}

void *
removal_mark(void)
{
	return P.removals;
}

void
removal_rewind(void *mark)
{
	struct idnode *n;

	while ((n = P.removals) != NULL && (void *)n != mark) {
		P.removals = n->next;
		free(n);
	}
}

void
removal_txn_end(bool committed)
{
	struct idnode *n;

	while ((n = P.removals) != NULL) {
		P.removals = n->next;
		if (committed)
			pipeline_after_sync(removal_durable, n);
		else
			free(n);
	}
}

/* For pool_fill(): the next file whose removal is durable. */
static const char *
next_recycle(void)
{
	struct idnode *n = P.unlinks;

	if (n == NULL)
		return NULL;
	P.unlinks = n->next;
	P.nunlinks--;
	strlcpy(P.recycled, n->id, sizeof(P.recycled));
	free(n);
	return P.recycled;
}

static void
forget_later(const char *id)
{
	struct idnode *n = idnode(id);

	n->next = P.forget;
	P.forget = n;
}

bool
pipeline_idle(void)
{
	return !syncer_busy() && P.waiters == NULL && P.lazy == NULL &&
	    P.unlinks == NULL &&
	    !commit_pending() && !sched_pending() && P.forget == NULL;
}

/* ---- stage 1: the index ---- */

static void
forget_apply(void)
{
	struct idnode *n;

	while ((n = P.forget) != NULL) {
		P.forget = n->next;
		/* Lost on a failed transaction: recovery cleans the table. */
		(void)store_removed_done(Q.store, n->id);
		free(n);
	}
}

static void
index_stage(void)
{
	bool committed = false;

	if (!commit_published() && !sched_pending() && P.forget == NULL)
		return;
	if (store_begin(Q.store, false) == 0) {
		commit_batch_store();
		sched_batch_apply();
		forget_apply();
		committed = store_commit(Q.store) == 0;
		if (!committed)
			log_warnx("queue index: commit failed: %s",
			    store_errmsg(Q.store));
		else
			QC.txns++;
	}
	commit_batch_stored(committed);
	sched_batch_finish(committed);
	removal_txn_end(committed);
	/* Notifications owed by what just settled: their files are written
	 * now and join the round below. */
	bounce_run();
}

/* ---- stage 2: a round of the sync thread ---- */

static void
round_done(struct sync_round *r)
{
	struct waiter *w;
	bool ok = r->sync_err == 0;
	size_t i;

	QC.rounds++;
	QC.syncs += r->nsyncs;
	QC.sync_us += r->sync_us;
	QC.checkpoints += r->checkpointed;
	if (!ok) {
		errno = r->sync_err;
		log_warn("spool sync failed: %zu messages refused or kept for "
		    "a retry", r->npublish);
		P.fail_pause = true;
		ev_timer_start(P.pause, RETRY_AFTER_FAIL_MS);
	}
	for (i = 0; i < r->nunlink; i++) {
		struct sync_item *it = &r->unlink[i];

		if (it->err != 0) {
			errno = it->err;
			log_warn("%s: cannot remove %s/%s", it->id, SPOOL_QUEUE,
			    it->id);
			continue;
		}
		forget_later(it->id);
	}
	free(r->unlink);
	r->unlink = NULL;
	for (i = 0; i < r->nfiles; i++)
		if (r->files[i].kind == SF_RECYCLE && r->files[i].old_gone)
			forget_later(r->files[i].old);
	pool_filled(r->files, r->nfiles);
	free(r->files);
	r->files = NULL;
	commit_round_done(r->publish, r->npublish, r->sync_err);
	free(r->publish);
	r->publish = NULL;
	while ((w = P.round_waiters) != NULL) {
		P.round_waiters = w->next;
		w->cb(w->arg, ok);
		free(w);
	}
	pipeline_kick();
	queued_check_stop();
}

static void
round_stage(void)
{
	struct sync_round *r = &P.round;
	struct idnode *n;
	size_t i;

	if (syncer_busy() || P.fail_pause)
		return;
	if (!commit_waiting() && P.waiters == NULL && P.unlinks == NULL &&
	    !pool_wants() && !(P.lazy != NULL && P.lazy_due))
		return;
	memset(r, 0, sizeof(*r));
	commit_take_waiting(&r->publish, &r->npublish);
	/* Pool files first: they take their share of the removals. */
	r->files = xcalloc(pool_max(), sizeof(*r->files));
	r->nfiles = pool_fill(r->files, pool_max(), next_recycle);
	if (P.nunlinks > 0) {
		r->unlink = xcalloc(P.nunlinks, sizeof(*r->unlink));
		for (i = 0; (n = P.unlinks) != NULL; i++) {
			P.unlinks = n->next;
			strlcpy(r->unlink[i].id, n->id, sizeof(r->unlink[i].id));
			free(n);
		}
		r->nunlink = i;
		P.nunlinks = 0;
	}
	/* Unlinks and pool files alone need no sync: recovery redoes a lost
	 * unlink and removes pool files with the rest of incoming/. Nor do
	 * publications: their rows are inserted after this round, and the
	 * round that follows syncs for their 250s (the top of this file). */
	r->sync = P.waiters != NULL || (P.lazy != NULL && P.lazy_due);
	r->checkpoint = P.checkpoints &&
	    store_wal_pages(Q.store) >= CHECKPOINT_PAGES;
	if (r->checkpoint)
		r->sync = true;
	P.round_waiters = P.waiters;
	P.waiters = NULL;
	P.waiters_tail = &P.waiters;
	/* The lazy ones ride along on a sync made anyway. */
	if (r->sync && P.lazy != NULL) {
		*P.lazy_tail = P.round_waiters;
		P.round_waiters = P.lazy;
		P.lazy = NULL;
		P.lazy_tail = &P.lazy;
		P.lazy_due = false;
		ev_timer_stop(P.lazy_timer);
	}
	r->done = round_done;
	syncer_submit(r);
}

/* The index stage runs even while a round is in flight: results and
 * bookkeeping need not wait; what it commits is covered by the next
 * round. */
static void
pipeline_run(void)
{
	if (Q.store == NULL)
		return;
	index_stage();
	round_stage();
}

static void
pause_over(void *arg)
{
	(void)arg;
	P.fail_pause = false;
	pipeline_kick();
}

int
pipeline_start(void)
{
	bool checkpoints;

	P.pause = ev_timer_new(pause_over, NULL);
	P.lazy_timer = ev_timer_new(lazy_over, NULL);
	if (syncer_start(SPOOL_DB, &checkpoints) == -1)
		return -1;
	/* Checkpoints sync the database: on the thread, not in a commit. */
	if (checkpoints && store_manual_checkpoints(Q.store) == 0)
		P.checkpoints = true;
	pipeline_kick();              /* fill the pool */
	return 0;
}

/* At the end of a graceful stop: no round in flight (the stop waits for
 * pipeline_idle()), whatever remains is dropped; recovery redoes it. */
void
pipeline_stop(void)
{
	struct waiter *w;
	struct idnode *n;

	syncer_stop();
	while ((w = P.waiters) != NULL) {
		P.waiters = w->next;
		w->cb(w->arg, false);
		free(w);
	}
	P.waiters_tail = &P.waiters;
	/* Only removals wait there (their idnodes): recovery finishes them. */
	while ((w = P.lazy) != NULL) {
		P.lazy = w->next;
		free(w->arg);
		free(w);
	}
	P.lazy_tail = &P.lazy;
	while ((n = P.unlinks) != NULL) {
		P.unlinks = n->next;
		free(n);
	}
	while ((n = P.forget) != NULL) {
		P.forget = n->next;
		free(n);
	}
	P.nunlinks = 0;
	if (P.pause != NULL)
		ev_timer_free(P.pause);
	P.pause = NULL;
	if (P.lazy_timer != NULL)
		ev_timer_free(P.lazy_timer);
	P.lazy_timer = NULL;
	pool_drain();
}
