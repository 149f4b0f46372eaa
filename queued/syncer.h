/* SPDX-License-Identifier: ISC */
/* The sync thread: the slow, blocking file system work of the queue, off
 * the event loop, so that syncs never stall the sessions of other clients.
 *
 * One round at a time: the thread writes the data of the new message files
 * out to the disk and then renames them from incoming/ into queue/ (so the
 * rename is never durable before the data), removes the files of finished
 * messages or
 * recycles them (their content wiped, pool.c), and then,
 * when asked, makes everything written so far durable with ONE syncfs()
 * of the spool's file system: the data of every new file, every rename,
 * and every sqlite commit made before the round was submitted (the index
 * commits with synchronous=NORMAL, its WAL is flushed here). Results go
 * back to the loop through an eventfd; the round's callback runs there.
 *
 * The thread never touches the loop's sqlite connection, channels or the
 * logger: it makes system calls on names and descriptors it is given and
 * reports errnos; its only sqlite use is its own connection for WAL
 * checkpoints (sqlite allows one connection per thread). */
#ifndef EMPATH_QUEUED_SYNCER_H
#define EMPATH_QUEUED_SYNCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

struct sync_item {
	char     id[ULID_LEN + 1];
	int      err;                  /* out: errno of the step, 0 if done */
	/* publish only: queued's own descriptor of the file (-1: none) and
	 * the size measured at commit, where the writer's offset stopped.
	 * Before the rename the file is cut to that size (a reused file may
	 * be longer); after the sync the thread measures it again: `changed`
	 * when its size or offset moved (a writer kept a copy of the
	 * descriptor and went on). */
	int      fd;
	uint64_t size;
	bool     changed;              /* out */
};

/* A file for the pool of ready message files (pool.c): incoming/<id>,
 * open for writing. Made from `old` when given: a message file whose
 * removal is durable (queue/<old>, kind RECYCLE); else new. */
enum sync_file_kind { SF_CREATE, SF_RECYCLE };
struct sync_file {
	enum sync_file_kind kind;
	char id[ULID_LEN + 1];
	char old[ULID_LEN + 1];
	int  fd;                       /* out: the open file */
	bool reused;                   /* out: a recycled inode (wiped) */
	bool old_gone;                 /* out: queue/<old> no longer exists */
	int  err;                      /* out: errno when there is no file */
};

struct sync_round {
	struct sync_item *publish;     /* incoming/<id> -> queue/<id>, measured */
	size_t            npublish;
	struct sync_item *unlink;      /* remove queue/<id> (ENOENT is fine) */
	size_t            nunlink;
	struct sync_file *files;       /* files for the pool */
	size_t            nfiles;
	bool              sync;        /* syncfs() after the names (set by
	                                * the thread too, when it cannot
	                                * write a file out on its own) */
	bool              checkpoint;  /* then copy the index's WAL into it */
	/* out */
	int               sync_err;    /* errno of the sync, 0 if done */
	unsigned          nsyncs;      /* sync system calls made */
	uint64_t          sync_us;     /* time spent in them */
	bool              checkpointed;/* the checkpoint ran */
	/* called on the loop thread when the round is over */
	void            (*done)(struct sync_round *);
	void             *arg;
	struct sync_round *next;       /* private */
};

/* Start the thread; the spool is the working directory. With dbpath,
 * the thread opens its own connection to the index and runs its WAL
 * checkpoints (their syncs must not stall the loop either); false in
 * *checkpoints when it could not. -1 with errno. */
int  syncer_start(const char *dbpath, bool *checkpoints);
/* Hand a round to the thread; at most one is in flight. */
void syncer_submit(struct sync_round *);
bool syncer_busy(void);
/* Wait for the round in flight (if any) and stop the thread; its callback
 * is not called. */
void syncer_stop(void);

#endif
