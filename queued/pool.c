/* SPDX-License-Identifier: ISC */
/* The pool of ready message files: files in incoming/ made in advance by
 * the sync thread (syncer.c), so that a Q_CREATE costs no sync and no
 * allocation on the loop. They are made new, or recycled from messages
 * whose removal is durable (their inode and blocks reused, their content
 * wiped to zeros: see syncer.c); no file handed out holds a byte of
 * another message.
 *
 * A pool file has a private name ("POOL<n>", never a message id): the
 * id is given when the file is handed out, and the file is renamed to it
 * then (one rename within incoming/, no sync: nothing in incoming/ is
 * durable before its commit). So an id tells when its message arrived,
 * however long its file waited in the pool, and ids increase in the
 * order messages arrive (ulid.c is monotonic).
 *
 * A pool file is an unfinished reception as far as recovery is concerned:
 * after a crash it is removed with the rest of incoming/. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "queued.h"
#include "spool.h"
#include "syncer.h"
#include "ulid.h"
#include "util.h"

/* New files are made up to POOL_TARGET; the files of removed messages
 * are recycled up to POOL_CAP, so that in a steady flow (as many messages
 * in as out) nothing is created or freed on the file system at all. */
#define POOL_TARGET   64
#define POOL_CAP      256

/* "incoming/" + a name of the pool or an id + NUL, with room to spare. */
#define POOL_PATH_MAX 64

struct pool_entry {
	char     name[ULID_LEN + 1];       /* POOL_PREFIX and a number */
	char     of[ULID_LEN + 1];         /* reused: the message it held */
	int      fd;
	bool     reused;
};

static struct pool_entry pool[POOL_CAP];
static size_t npool;
static size_t nasked;                  /* files being made in the round */
static uint64_t pause_until;           /* after a round made none: ENFILE... */
static unsigned long long nnamed;      /* names given so far */
#define POOL_PAUSE_MS 1000

/* Rename incoming/<name> to incoming/<a new id>: a metadata change on
 * the loop, no sync (incoming/ is not durable, recovery empties it).
 * Never over an existing file: ids of this process never repeat (ulid.c),
 * so one is taken only by a file left there, and a second one is tried. */
static int
claim(const char *name, char id[ULID_LEN + 1])
{
	char from[POOL_PATH_MAX], to[POOL_PATH_MAX];
	int tries;

	snprintf(from, sizeof(from), "%s/%s", SPOOL_INCOMING, name);
	for (tries = 0; tries < 2; tries++) {
		ulid_new(id);
		snprintf(to, sizeof(to), "%s/%s", SPOOL_INCOMING, id);
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
			return 0;
		/* A file system without RENAME_NOREPLACE: the id is fresh. */
		if (errno == EINVAL)
			return rename(from, to);
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

bool
pool_take(char id[ULID_LEN + 1], int *fd, bool *reused)
{
	struct pool_entry *e;

	if (npool == 0)
		return false;
	/* The newest first: the most likely to be still in the caches. */
	e = &pool[--npool];
	if (claim(e->name, id) == -1) {
		log_warn("pool: cannot rename %s/%s to a message id",
		    SPOOL_INCOMING, e->name);
		close(e->fd);
		spool_discard_incoming(e->name);
		return false;
	}
	if (e->reused)
		log_debug("pool: %s is the wiped file of %s", id, e->of);
	*fd = e->fd;
	*reused = e->reused;
	return true;
}

bool
pool_is_name(const char *name)
{
	return strncmp(name, POOL_PREFIX, strlen(POOL_PREFIX)) == 0;
}

/* As long as an id, and as plainly not one (ulid.c: no O, no L). */
static void
new_name(char name[ULID_LEN + 1])
{
	snprintf(name, ULID_LEN + 1, "%s%0*llu", POOL_PREFIX,
	    (int)(ULID_LEN - strlen(POOL_PREFIX)), ++nnamed);
}

/* Up to max files for the next round, recycled or new: recycle() gives a
 * queue/ id whose removal is durable, or NULL; 0 while a round is making
 * some. */
static size_t
pool_fill(struct sync_file *files, size_t max, const char *(*recycle)(void))
{
	size_t n = 0, want;
	const char *old;

	if (nasked > 0 || Q.stopping || mono_ms() < pause_until)
		return 0;
	/* Recycled files first, up to the cap; new ones up to the target. */
	while (n < max && npool + n < POOL_CAP && recycle != NULL &&
	    (old = recycle()) != NULL) {
		memset(&files[n], 0, sizeof(files[n]));
		new_name(files[n].id);
		files[n].fd = -1;
		files[n].kind = SF_RECYCLE;
		strlcpy(files[n].old, old, sizeof(files[n].old));
		n++;
	}
	want = npool < POOL_TARGET ? POOL_TARGET - npool : 0;
	while (n < max && n < want) {
		memset(&files[n], 0, sizeof(files[n]));
		new_name(files[n].id);
		files[n].fd = -1;
		files[n].kind = SF_CREATE;
		n++;
	}
	nasked = n;
	return n;
}

static void
pool_filled(struct sync_file *files, size_t n)
{
	size_t i, made = 0;

	nasked = 0;
	for (i = 0; i < n; i++) {
		struct sync_file *f = &files[i];

		if (f->fd == -1) {
			log_debug("pool: cannot make %s/%s (errno %d)",
			    SPOOL_INCOMING, f->id, f->err);
			continue;
		}
		made++;
		if (npool == POOL_CAP || Q.stopping) {
			close(f->fd);
			spool_discard_incoming(f->id);
			continue;
		}
		/* Logged again with its id when it is handed out. */
		if (f->kind == SF_RECYCLE && f->reused)
			log_debug("pool: %s is the wiped file of %s", f->id,
			    f->old);
		strlcpy(pool[npool].name, f->id, sizeof(pool[npool].name));
		strlcpy(pool[npool].of, f->reused ? f->old : "",
		    sizeof(pool[npool].of));
		pool[npool].fd = f->fd;
		pool[npool].reused = f->reused;
		npool++;
	}
	/* None could be made (out of descriptors, of inodes): do not ask
	 * again at once, Q_CREATE makes its own meanwhile. */
	if (n > 0 && made == 0)
		pause_until = mono_ms() + POOL_PAUSE_MS;
}

bool
pool_wants(void)
{
	if (nasked > 0 || Q.stopping || mono_ms() < pause_until)
		return false;
	return npool < POOL_TARGET / 2;
}

static void
pool_drain(void)
{
	while (npool > 0) {
		npool--;
		close(pool[npool].fd);
		spool_discard_incoming(pool[npool].name);
	}
}

size_t
pool_max(void)
{
	return POOL_CAP;
}

/* ---- the pipeline client (pipeline.h) ---- */

/* Before the removals': pool files take their share of them. */
static void
pool_round_fill(struct sync_round *r)
{
	r->files = xcalloc(POOL_CAP, sizeof(*r->files));
	r->nfiles = pool_fill(r->files, POOL_CAP, removal_recycle);
}

static void
pool_round_done(struct sync_round *r)
{
	pool_filled(r->files, r->nfiles);
	free(r->files);
	r->files = NULL;
}

const struct pipeline_client pool_client = {
	.name = "pool",
	.round_wanted = pool_wants,
	.round_fill = pool_round_fill,
	.round_done = pool_round_done,
	.stop = pool_drain,
};
