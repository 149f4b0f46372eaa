/* SPDX-License-Identifier: ISC */
/* The write pipeline: how everything queued writes becomes durable, in
 * groups, without the event loop ever waiting for a disk. Its clients
 * (pipeline.h) bring the work; this file only orders it.
 *
 * Two stages alternate, each covering whatever accumulated meanwhile:
 *
 *  1. the index (loop thread): one sqlite transaction in which the clients
 *     insert the messages whose files the last round published (commit.c),
 *     apply the delivery results (scheduler.c), delete the rows of finished
 *     messages and forget removed files (removal.c). It commits with
 *     synchronous=NORMAL: the WAL is written, not synced. After it, the
 *     notices owed are written (bounce.c).
 *  2. a round of the sync thread (syncer.h): the data of new message files
 *     is written out and they are renamed into queue/, finished ones are
 *     removed, pool files made, and, when someone waits for it, one
 *     syncfs() makes all of it durable, together with every transaction
 *     committed before the round started.
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
 * A lazy waiter (pipeline_after_sync(): removals) does not ask for a sync
 * of its own: it rides on the next round that syncs anyway, or on one
 * after LAZY_SYNC_MS when nothing else comes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"
#include "pipeline.h"
#include "queued.h"
#include "spool.h"
#include "store.h"
#include "syncer.h"
#include "util.h"

/* After a failed sync, wait before the next round (a disk in trouble). */
#define RETRY_AFTER_FAIL_MS 1000
/* WAL pages after which a round checkpoints (sqlite's own default). */
#define CHECKPOINT_PAGES    1000
/* How long a lazy waiter (a removal) waits for a sync it can ride on. */
#define LAZY_SYNC_MS        200
/* Clients: queued has five. */
#define MAX_CLIENTS         8

struct waiter {
	struct waiter *next;
	durable_cb     cb;
	void          *arg;
};

static struct {
	const struct pipeline_client *clients[MAX_CLIENTS];
	size_t            nclients;
	struct store     *store;
	void            (*after_round)(void);
	bool              scheduled;
	struct waiter    *waiters, **waiters_tail;     /* for the next round */
	struct waiter    *lazy, **lazy_tail;   /* for the next round that syncs */
	bool              lazy_due;       /* waited LAZY_SYNC_MS: force a sync */
	struct ev_timer  *lazy_timer;
	bool              fail_pause;
	struct ev_timer  *pause;
	struct sync_round round;
	struct waiter    *round_waiters;
	bool              checkpoints; /* the sync thread runs them */
} P = { .waiters_tail = &P.waiters, .lazy_tail = &P.lazy };

struct queue_counters QC;

/* Each client's callback of that name, in the order of registration. */
#define EACH(i) for ((i) = 0; (i) < P.nclients; (i)++)
#define HAS(i, f) (P.clients[(i)]->f != NULL)

static void pipeline_run(void);

void
pipeline_register(const struct pipeline_client *c)
{
	if (P.nclients == MAX_CLIENTS)
		fatalx("pipeline: too many clients (%s)", c->name);
	P.clients[P.nclients++] = c;
}

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
	if (P.scheduled || P.store == NULL)
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

void
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

bool
pipeline_idle(void)
{
	size_t i;

	if (syncer_busy() || P.waiters != NULL || P.lazy != NULL)
		return false;
	EACH(i)
		if (HAS(i, pending) && P.clients[i]->pending())
			return false;
	return true;
}

/* ---- stage 1: the index ---- */

static void
index_stage(void)
{
	bool committed = false, wanted = false;
	size_t i;

	EACH(i)
		if (HAS(i, index_wanted) && P.clients[i]->index_wanted())
			wanted = true;
	if (!wanted)
		return;
	if (store_begin(P.store, false) == 0) {
		EACH(i)
			if (HAS(i, index_apply))
				P.clients[i]->index_apply();
		committed = store_commit(P.store) == 0;
		if (!committed)
			log_warnx("queue index: commit failed: %s",
			    store_errmsg(P.store));
		else
			QC.txns++;
	}
	EACH(i)
		if (HAS(i, index_done))
			P.clients[i]->index_done(committed);
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
	for (i = P.nclients; i-- > 0; )
		if (HAS(i, round_done))
			P.clients[i]->round_done(r);
	while ((w = P.round_waiters) != NULL) {
		P.round_waiters = w->next;
		w->cb(w->arg, ok);
		free(w);
	}
	pipeline_kick();
	if (P.after_round != NULL)
		P.after_round();
}

static void
round_stage(void)
{
	struct sync_round *r = &P.round;
	bool wanted;
	size_t i;

	if (syncer_busy() || P.fail_pause)
		return;
	wanted = P.waiters != NULL || (P.lazy != NULL && P.lazy_due);
	EACH(i)
		if (HAS(i, round_wanted) && P.clients[i]->round_wanted())
			wanted = true;
	if (!wanted)
		return;
	memset(r, 0, sizeof(*r));
	EACH(i)
		if (HAS(i, round_fill))
			P.clients[i]->round_fill(r);
	/* Unlinks and pool files alone need no sync: recovery redoes a lost
	 * unlink and removes pool files with the rest of incoming/. Nor do
	 * publications: their rows are inserted after this round, and the
	 * round that follows syncs for their 250s (the top of this file). */
	r->sync = P.waiters != NULL || (P.lazy != NULL && P.lazy_due);
	r->checkpoint = P.checkpoints &&
	    store_wal_pages(P.store) >= CHECKPOINT_PAGES;
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
	if (P.store == NULL)
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
pipeline_start(struct store *st, void (*after_round)(void))
{
	bool checkpoints;

	P.pause = ev_timer_new(pause_over, NULL);
	P.lazy_timer = ev_timer_new(lazy_over, NULL);
	if (syncer_start(SPOOL_DB, &checkpoints) == -1)
		return -1;
	P.store = st;
	P.after_round = after_round;
	/* Checkpoints sync the database: on the thread, not in a commit. */
	if (checkpoints && store_manual_checkpoints(st) == 0)
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
	size_t i;

	syncer_stop();
	while ((w = P.waiters) != NULL) {
		P.waiters = w->next;
		w->cb(w->arg, false);
		free(w);
	}
	P.waiters_tail = &P.waiters;
	/* Their clients free what they hold (pipeline.h). */
	while ((w = P.lazy) != NULL) {
		P.lazy = w->next;
		free(w);
	}
	P.lazy_tail = &P.lazy;
	for (i = P.nclients; i-- > 0; )
		if (HAS(i, stop))
			P.clients[i]->stop();
	if (P.pause != NULL)
		ev_timer_free(P.pause);
	P.pause = NULL;
	if (P.lazy_timer != NULL)
		ev_timer_free(P.lazy_timer);
	P.lazy_timer = NULL;
	P.lazy_due = false;
	P.fail_pause = false;
	P.store = NULL;
	P.nclients = 0;
}
