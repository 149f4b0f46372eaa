/* SPDX-License-Identifier: ISC */
/* The write pipeline (pipeline.c) and the contract of its clients.
 *
 * A round of the pipeline has two stages, each covering whatever its
 * clients accumulated since the last one:
 *
 *   index  one sqlite transaction, committed without a sync;
 *   sync   one round of the sync thread (syncer.h): renames, removals,
 *          pool files and, when someone waits for durability, one syncfs()
 *          that covers the files and every transaction committed before
 *          the round was handed to the thread.
 *
 * A client is a module with a part in both or either: it registers a
 * struct pipeline_client once, before pipeline_start(), and the pipeline
 * calls it without knowing what it is. Every callback may be NULL. The
 * order of registration is the order of the calls (for round_done, the
 * reverse: see below); main.c registers commit, scheduler, pool, removal,
 * bounce.
 *
 * Index stage, when some client's index_wanted() says so:
 *   index_apply()            for every client, inside the transaction; a
 *                            failure of its own is the client's (a
 *                            savepoint); the transaction may still fail
 *   index_done(committed)    for every client once it ended, in order: a
 *                            later client sees what an earlier one settled
 *                            (the bounce client writes the notices that the
 *                            scheduler's results made owed: their files join
 *                            the sync stage that follows at once)
 * Each client's work is taken once per stage, at its own call: what
 * reaches it after that (from a later callback, or while a round is in
 * flight) waits for the next stage of that kind. A client with new work
 * calls pipeline_kick(); the pipeline kicks itself after every round.
 *
 * Sync stage, when no round is in flight (nor a pause of a second after a
 * failed sync) and some client's round_wanted() says so, or someone waits
 * for durability:
 *   round_fill(r)            for every client: put its items in r (files to
 *                            publish, to make, to remove); it owns what it
 *                            allocates there
 *   round_done(r)            on the loop thread when the thread is done, in
 *                            the REVERSE order: a later client may read what
 *                            an earlier one put in r (the removals read the
 *                            pool's recycled files) before that one frees it
 *   then the durable waiters (below), then the after_round hook given to
 *   pipeline_start().
 *
 * Durability, for the clients and their callers:
 *   pipeline_after_durable(cb, arg): cb(arg, ok) after the next round that
 *     is handed to the thread after the call, and that round syncs: all
 *     that was committed and published before the call is then on stable
 *     storage (ok false: the sync failed, it may not be).
 *   pipeline_after_sync(cb, arg): the same without asking for a sync: it
 *     rides on the next round that syncs for someone else, or on one made
 *     for it after LAZY_SYNC_MS (200 ms). At pipeline_stop() these are
 *     dropped without a call: their client frees what they hold.
 * A round that only publishes, removes or makes pool files does not sync:
 * recovery redoes or undoes each of those (architecture.md). So a lone
 * message costs one sync: its publication (no sync), its insert (index),
 * the round its 250 waits for (sync).
 *
 * pending(): the client still has work the stop must wait for
 * (pipeline_idle()); stop(): at pipeline_stop(), drop what remains (no
 * round is in flight then; recovery redoes it). */
#ifndef EMPATH_QUEUED_PIPELINE_H
#define EMPATH_QUEUED_PIPELINE_H

#include <stdbool.h>

struct store;
struct sync_round;

struct pipeline_client {
	const char *name;
	bool (*index_wanted)(void);
	void (*index_apply)(void);
	void (*index_done)(bool committed);
	bool (*round_wanted)(void);
	void (*round_fill)(struct sync_round *);
	void (*round_done)(struct sync_round *);
	bool (*pending)(void);
	void (*stop)(void);
};

typedef void (*durable_cb)(void *arg, bool ok);

/* Before pipeline_start(); the client outlives the pipeline, which
 * forgets it at pipeline_stop(). */
void pipeline_register(const struct pipeline_client *);
/* Start the sync thread on the spool (the working directory) and the
 * index st; after_round() runs at the end of every round (NULL: none).
 * -1 with errno. */
int  pipeline_start(struct store *st, void (*after_round)(void));
void pipeline_stop(void);
/* Run the pipeline at the end of this loop iteration. */
void pipeline_kick(void);
void pipeline_after_durable(durable_cb, void *arg);
void pipeline_after_sync(durable_cb, void *arg);
/* No round in flight, no waiter, no client pending. */
bool pipeline_idle(void);

#endif
