/* The pool of ready message files: incoming/<id> files made in advance by
 * the sync thread (syncer.c), so that a Q_CREATE costs no system call on
 * the loop. They are made new, or recycled from messages whose removal is
 * durable (their inode and blocks reused, their content wiped to zeros:
 * see syncer.c); no file handed out holds a byte of another message.
 * Their ids are given here, on the loop thread; a file that waits in the
 * pool longer than POOL_MAX_AGE gets a fresh id, so that an id still
 * tells when its message arrived.
 *
 * A pool file is an unfinished reception as far as recovery is concerned:
 * after a crash it is removed with the rest of incoming/. */
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
#define POOL_MAX_AGE  (30 * 1000)      /* ms */

struct pool_entry {
	char     id[ULID_LEN + 1];
	int      fd;
	bool     reused;
	uint64_t born;                     /* monotonic ms */
};

static struct pool_entry pool[POOL_CAP];
static size_t npool;
static size_t nasked;                  /* files being made in the round */
static uint64_t pause_until;           /* after a round made none: ENFILE... */
#define POOL_PAUSE_MS 1000

bool
pool_take(char id[ULID_LEN + 1], int *fd, bool *reused)
{
	struct pool_entry *e;

	if (npool == 0)
		return false;
	/* The newest first: the old ones get renamed, not handed out. */
	e = &pool[--npool];
	strlcpy(id, e->id, ULID_LEN + 1);
	*fd = e->fd;
	*reused = e->reused;
	return true;
}

size_t
pool_fill(struct sync_file *files, size_t max, const char *(*recycle)(void))
{
	uint64_t now = mono_ms();
	size_t n = 0, i = 0, want;
	const char *old;

	if (nasked > 0 || Q.stopping || now < pause_until)
		return 0;
	/* Files that waited too long: renamed with a new id. They leave the
	 * pool while the round runs. */
	while (i < npool && n < max) {
		if (now - pool[i].born < POOL_MAX_AGE) {
			i++;
			continue;
		}
		memset(&files[n], 0, sizeof(files[n]));
		files[n].kind = SF_RENAME;
		strlcpy(files[n].old, pool[i].id, sizeof(files[n].old));
		ulid_new(files[n].id);
		files[n].fd = pool[i].fd;
		files[n].reused = pool[i].reused;
		n++;
		pool[i] = pool[--npool];
	}
	/* Recycled files first, up to the cap; new ones up to the target. */
	while (n < max && npool + n < POOL_CAP && recycle != NULL &&
	    (old = recycle()) != NULL) {
		memset(&files[n], 0, sizeof(files[n]));
		ulid_new(files[n].id);
		files[n].fd = -1;
		files[n].kind = SF_RECYCLE;
		strlcpy(files[n].old, old, sizeof(files[n].old));
		n++;
	}
	want = npool < POOL_TARGET ? POOL_TARGET - npool : 0;
	while (n < max && n < want) {
		memset(&files[n], 0, sizeof(files[n]));
		ulid_new(files[n].id);
		files[n].fd = -1;
		files[n].kind = SF_CREATE;
		n++;
	}
	nasked = n;
	return n;
}

void
pool_filled(struct sync_file *files, size_t n)
{
	size_t i, made = 0;

	nasked = 0;
	for (i = 0; i < n; i++) {
		struct sync_file *f = &files[i];

		if (f->fd != -1)
			made++;
		if (f->fd == -1) {
			if (f->kind != SF_RENAME || f->err != 0)
				log_debug("pool: cannot make %s/%s (errno %d)",
				    SPOOL_INCOMING, f->id, f->err);
			continue;
		}
		if (npool == POOL_CAP || Q.stopping) {
			close(f->fd);
			spool_discard_incoming(f->id);
			continue;
		}
		if (f->kind == SF_RECYCLE && f->reused)
			log_debug("pool: %s is the wiped file of %s", f->id,
			    f->old);
		strlcpy(pool[npool].id, f->id, sizeof(pool[npool].id));
		pool[npool].fd = f->fd;
		pool[npool].reused = f->reused;
		pool[npool].born = mono_ms();
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
	uint64_t now = mono_ms();
	size_t i;

	if (nasked > 0 || Q.stopping || now < pause_until)
		return false;
	if (npool < POOL_TARGET / 2)
		return true;
	for (i = 0; i < npool; i++)
		if (now - pool[i].born >= POOL_MAX_AGE)
			return true;
	return false;
}

void
pool_drain(void)
{
	while (npool > 0) {
		npool--;
		close(pool[npool].fd);
		spool_discard_incoming(pool[npool].id);
	}
}

size_t
pool_max(void)
{
	return POOL_CAP;
}
