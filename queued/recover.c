/* SPDX-License-Identifier: ISC */
/* Start-up recovery: bring the index and the spool back to agreement after
 * any crash, before any peer is served.
 *
 *  1. inflight recipients are queued again, due now (their delivery may or
 *     may not have happened: at least once, never lost);
 *  2. files in incoming/ are removed: their client never got a 250; a
 *     row whose file is still there (the power failed during the one
 *     sync that covers rename and row, doc/architecture.md 4) goes with
 *     it, without a notice: the client retries;
 *  3. the files of messages removed from the index (the `removed` table:
 *     a crash came between the durable deletion and the unlink) go;
 *  4. a message whose queue/ file is missing is failed, loudly, and its
 *     sender is told;
 *  5. a queue/ file without a row is moved to corrupt/ (a crash between a
 *     rename and its commit, whatever a lost database left behind): kept,
 *     never delivered.
 *
 * The database is opened and checked before this runs: when it cannot be,
 * queued stops and no file is touched. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queued.h"
#include "spool.h"
#include "ulid.h"
#include "util.h"

struct idlist {
	char  (*ids)[ULID_LEN + 1];
	size_t n, cap;
};

static int
collect_missing(const char *msgid, void *arg)
{
	struct idlist *l = arg;

	if (spool_exists(msgid))
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->ids = xreallocarray(l->ids, l->cap, sizeof(*l->ids));
	}
	strlcpy(l->ids[l->n++], msgid, sizeof(l->ids[0]));
	return 0;
}

static bool
known(const char *id, void *arg)
{
	return store_has_message(arg, id);
}

static int
collect_removed(const char *msgid, void *arg)
{
	struct idlist *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->ids = xreallocarray(l->ids, l->cap, sizeof(*l->ids));
	}
	strlcpy(l->ids[l->n++], msgid, sizeof(l->ids[0]));
	return 0;
}

/* Step 3: files whose rows are gone for good. */
static size_t
finish_removals(struct store *st)
{
	struct idlist removed = { NULL, 0, 0 };
	size_t i;

	if (store_removed_foreach(st, collect_removed, &removed) == -1)
		fatalx("recovery: cannot read the queue index (%s); queued stops",
		    store_errmsg(st));
	if (removed.n > 0) {
		for (i = 0; i < removed.n; i++)
			if (ulid_valid(removed.ids[i]))
				spool_remove(removed.ids[i]);
		if (store_begin(st, true) == -1)
			fatalx("recovery: cannot write the queue index (%s)",
			    store_errmsg(st));
		for (i = 0; i < removed.n; i++)
			(void)store_removed_done(st, removed.ids[i]);
		if (store_commit(st) == -1)
			fatalx("recovery: cannot write the queue index (%s)",
			    store_errmsg(st));
	}
	free(removed.ids);
	return removed.n;
}

/* A row whose queue/ file is missing but whose incoming/ file is there
 * was never acknowledged: the row reached the disk, the rename did not,
 * so the sync that precedes the 250 never finished. The row goes and the
 * id leaves the missing list; the file goes with incoming/. */
static size_t
drop_unacknowledged(struct store *st, struct idlist *missing)
{
	size_t i, kept = 0, dropped = 0;

	for (i = 0; i < missing->n; i++) {
		const char *id = missing->ids[i];

		if (!spool_incoming_exists(id)) {
			memmove(missing->ids[kept++], id, ULID_LEN + 1);
			continue;
		}
		if (dropped == 0 && store_begin(st, true) == -1)
			fatalx("recovery: cannot write the queue index (%s)",
			    store_errmsg(st));
		log_info("%s: recovery: never acknowledged (its file is still in "
		    "%s/): the row goes, the client tries again", id,
		    SPOOL_INCOMING);
		if (store_remove(st, id) == -1 || store_removed_done(st, id) == -1)
			fatalx("recovery: cannot write the queue index (%s)",
			    store_errmsg(st));
		dropped++;
	}
	missing->n = kept;
	if (dropped > 0 && store_commit(st) == -1)
		fatalx("recovery: cannot write the queue index (%s)",
		    store_errmsg(st));
	return dropped;
}

void
recover(struct store *st)
{
	struct idlist missing = { NULL, 0, 0 };
	int64_t now = wall_s();
	uint64_t inflight = 0;
	unsigned incoming, orphans;
	size_t i, removed, unacked;

	if (store_begin(st, true) == -1 ||
	    store_recover_inflight(st, now, &inflight) == -1 ||
	    store_commit(st) == -1)
		fatalx("recovery: cannot update the queue index (%s); queued stops, "
		    "message files are left untouched", store_errmsg(st));

	if (store_foreach_message(st, collect_missing, &missing) == -1)
		fatalx("recovery: cannot read the queue index (%s); queued stops",
		    store_errmsg(st));
	unacked = drop_unacknowledged(st, &missing);
	incoming = spool_clean_incoming();
	removed = finish_removals(st);

	if (missing.n > 0) {
		if (store_begin(st, true) == -1)
			fatalx("recovery: cannot write the queue index (%s)",
			    store_errmsg(st));
		for (i = 0; i < missing.n; i++) {
			const char *id = missing.ids[i];

			log_warnx("%s: recovery: message file %s/%s is missing: all "
			    "its recipients failed, its sender is told", id,
			    SPOOL_QUEUE, id);
			/* The notice is written at the first tick; the rows go
			 * once it is queued. */
			if (store_fail_message(st, id, "message file missing", now) == 0)
				bounce_settle(id);
		}
		if (store_commit(st) == -1)
			fatalx("recovery: cannot write the queue index (%s)",
			    store_errmsg(st));
		removal_txn_end(true);
	}

	orphans = spool_quarantine_orphans(known, st);

	log_info("recovery: %" PRIu64 " inflight recipients queued again, %u unfinished "
	    "receptions removed (%zu of them indexed), %zu removals finished, "
	    "%zu messages with a missing file failed, %u orphan files "
	    "quarantined", inflight, incoming, unacked,
	    removed, missing.n, orphans);
	free(missing.ids);
}
