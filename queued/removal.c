/* SPDX-License-Identifier: ISC */
/* The removal of finished messages' files: a client of the write pipeline
 * (pipeline.h).
 *
 * A transaction deletes a message's rows (and records its id in the
 * `removed` table) and calls removal_add(); once the transaction commits,
 * the file waits for the deletion to be durable without asking for a sync
 * of its own (pipeline_after_sync()). Then a round removes it, or the pool
 * recycles its inode, and the next index transaction forgets the id in
 * `removed`.
 *
 * Files go only once the deletion of their rows is durable: a crash in
 * between leaves a file without a row, which recovery finds in the
 * `removed` table and removes; a crash before the forgetting leaves an id
 * in `removed` whose file is gone, which recovery forgets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipeline.h"
#include "queued.h"
#include "spool.h"
#include "store.h"
#include "syncer.h"
#include "util.h"

struct idnode {
	struct idnode *next;
	char           id[ULID_LEN + 1];
};

/* Ids whose deletion was committed, waiting together for one sync. */
struct batch {
	struct batch  *next;
	struct idnode *ids;
};

static struct {
	struct idnode *removals;        /* rows deleted in the open txn */
	struct batch  *batches;         /* committed, not known durable */
	struct idnode *unlinks;         /* durable deletions: files to go */
	size_t         nunlinks;
	struct idnode *forget;          /* unlinked: forget in `removed` */
	char           recycled[ULID_LEN + 1];
} R;

static struct idnode *
idnode(const char *id)
{
	struct idnode *n = xcalloc(1, sizeof(*n));

	strlcpy(n->id, id, sizeof(n->id));
	return n;
}

static void
free_ids(struct idnode *n)
{
	struct idnode *next;

	for (; n != NULL; n = next) {
		next = n->next;
		free(n);
	}
}

void
removal_add(const char *msgid)
{
	struct idnode *n = idnode(msgid);

	n->next = R.removals;
	R.removals = n;
}

static void
batch_durable(void *arg, bool ok)
{
	struct batch *b = arg, **bp;
	struct idnode *n;

	if (!ok) {
		/* Not known to be on disk: keep the files, wait for a good
		 * round. */
		pipeline_after_sync(batch_durable, b);
		return;
	}
	for (bp = &R.batches; *bp != NULL && *bp != b; bp = &(*bp)->next)
		;
	if (*bp == b)
		*bp = b->next;
	while ((n = b->ids) != NULL) {
		b->ids = n->next;
		n->next = R.unlinks;
		R.unlinks = n;
		R.nunlinks++;
		log_info("%s: removed", n->id);
	}
	free(b);
}

void *
removal_mark(void)
{
	return R.removals;
}

void
removal_rewind(void *mark)
{
	struct idnode *n;

	while ((n = R.removals) != NULL && (void *)n != mark) {
		R.removals = n->next;
		free(n);
	}
}

void
removal_txn_end(bool committed)
{
	struct batch *b;

	if (R.removals == NULL)
		return;
	if (!committed) {
		free_ids(R.removals);
		R.removals = NULL;
		return;
	}
	b = xcalloc(1, sizeof(*b));
	b->ids = R.removals;
	R.removals = NULL;
	b->next = R.batches;
	R.batches = b;
	pipeline_after_sync(batch_durable, b);
}

const char *
removal_recycle(void)
{
	struct idnode *n = R.unlinks;

	if (n == NULL)
		return NULL;
	R.unlinks = n->next;
	R.nunlinks--;
	strlcpy(R.recycled, n->id, sizeof(R.recycled));
	free(n);
	return R.recycled;
}

static void
forget_later(const char *id)
{
	struct idnode *n = idnode(id);

	n->next = R.forget;
	R.forget = n;
}

/* ---- the pipeline client ---- */

static bool
index_wanted(void)
{
	return R.forget != NULL;
}

static void
index_apply(void)
{
	struct idnode *n;

	while ((n = R.forget) != NULL) {
		R.forget = n->next;
		/* Lost on a failed transaction: recovery cleans the table. */
		(void)store_removed_done(Q.store, n->id);
		free(n);
	}
}

static bool
round_wanted(void)
{
	return R.unlinks != NULL;
}

/* After the pool's: it took its share of the files to recycle. */
static void
round_fill(struct sync_round *r)
{
	struct idnode *n;
	size_t i;

	if (R.nunlinks == 0)
		return;
	r->unlink = xcalloc(R.nunlinks, sizeof(*r->unlink));
	for (i = 0; (n = R.unlinks) != NULL; i++) {
		R.unlinks = n->next;
		strlcpy(r->unlink[i].id, n->id, sizeof(r->unlink[i].id));
		free(n);
	}
	r->nunlink = i;
	R.nunlinks = 0;
}

/* Before the pool's: its recycled files are still in the round. */
static void
round_done(struct sync_round *r)
{
	size_t i;

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
}

static bool
pending(void)
{
	return R.unlinks != NULL || R.forget != NULL;
}

/* What remains, recovery finishes from the `removed` table. */
static void
stop(void)
{
	struct batch *b;

	while ((b = R.batches) != NULL) {
		R.batches = b->next;
		free_ids(b->ids);
		free(b);
	}
	free_ids(R.unlinks);
	R.unlinks = NULL;
	R.nunlinks = 0;
	free_ids(R.forget);
	R.forget = NULL;
}

const struct pipeline_client removal_client = {
	.name = "removal",
	.index_wanted = index_wanted,
	.index_apply = index_apply,
	.index_done = removal_txn_end,
	.round_wanted = round_wanted,
	.round_fill = round_fill,
	.round_done = round_done,
	.pending = pending,
	.stop = stop,
};
