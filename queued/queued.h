/* SPDX-License-Identifier: ISC */
/* empath-queued: what the modules of the queue manager share.
 *
 *   main.c       daemon_ops, the spool lock, peer channels and routing, stop
 *   pipeline.c   the write pipeline: index transactions and sync rounds,
 *                for its clients (pipeline.h): commit, scheduler, pool,
 *                removal (removal.c: files of finished messages), bounce
 *   syncer.c     the sync thread (renames, removals, one syncfs per round)
 *   pool.c       ready message files, made or recycled by the sync thread
 *   commit.c     smtpd side: Q_CREATE, Q_COMMIT, Q_ROLLBACK; internal commits
 *   scheduler.c  deliverd side: due recipients -> D_JOB, D_RESULT, retries
 *   bounce.c     who is owed a notice, and queueing it;  dsn.c  its text
 *   recover.c    start-up recovery of the spool and the index
 *   drop.c       the offline drop directory: messages left by sendmail
 *   ops.c        ctld side: status and the queue operations
 *   events.c     the plugins and their message events
 *   store.c, store_query.c, store_schema.c  the sqlite3 index;
 *   spool.c      the message files
 *
 * See empath-queued(8) for the queue as the operator sees it. */
#ifndef EMPATH_QUEUED_H
#define EMPATH_QUEUED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "channel.h"
#include "config.h"
#include "empath/empath.h"
#include "pipeline.h"
#include "proto.h"
#include "store.h"

struct inmsg;
TAILQ_HEAD(inmsg_list, inmsg);

/* One peer channel (smtpd, deliverd or ctld). */
struct qpeer {
	enum proc_id       proc;
	struct channel    *ch;
	struct inmsg_list  incoming;    /* smtpd: messages being received */
	size_t             nincoming;
};

/* Process-wide state, owned by main.c. */
struct queued {
	const struct config *cfg;
	struct store        *store;
	bool                 started;
	bool                 stopping;
	int64_t              start_time;    /* wall s */
};
extern struct queued Q;

/* Counters for `queue stats` and the benchmark (pipeline.c). */
struct queue_counters {
	uint64_t messages;       /* accepted from smtpd (Q_COMMIT_OK sent) */
	uint64_t dsns;           /* notices queued */
	uint64_t txns;           /* index transactions of the pipeline */
	uint64_t rounds;         /* sync rounds */
	uint64_t syncs;          /* sync system calls (syncfs) */
	uint64_t sync_us;        /* time spent in them */
	uint64_t checkpoints;    /* WAL checkpoints by the sync thread */
};
extern struct queue_counters QC;

/* main.c */
/* Called when the stop conditions may have changed. */
void queued_check_stop(void);

/* pipeline.c: see pipeline.h. Its clients, registered by main.c in this
 * order: */
extern const struct pipeline_client commit_client, sched_client,
    pool_client, removal_client, bounce_client;

/* removal.c */
/* Inside a transaction that deleted msgid's rows: its file goes once
 * that is durable. Whoever commits calls removal_txn_end(). */
void removal_add(const char *msgid);
void removal_txn_end(bool committed);
/* Around a savepoint: forget the removals added since the mark when it is
 * rolled back. */
void *removal_mark(void);
void removal_rewind(void *mark);
/* For the pool: the next file whose removal is durable, or NULL. */
const char *removal_recycle(void);

/* commit.c */
struct commit_hook {
	bool (*stored)(void *arg);              /* in the insert's transaction */
	void (*finished)(void *arg, bool kept); /* queued for good, or dropped */
	/* Before finished(kept): whether the insert is known durable (false:
	 * its sync failed, the message is kept all the same). NULL: none. */
	void (*durable)(void *arg, bool ok);
	void  *arg;
};
void commit_configure(const struct config *);
/* Receptions one smtpd may hold: the least of what the descriptors allow
 * (set_limit) and a few per connection of the listeners (configure). */
void commit_set_limit(size_t max_incoming);
void commit_msg(struct qpeer *, struct chan_msg *);
void commit_peer_gone(struct qpeer *, const char *why);
/* Queue a message queued wrote itself: incoming/<id> is complete and
 * closed; env (its id, sender, recipients, size) is taken over. */
void commit_internal(const char *id, struct envelope *env,
                     const struct commit_hook *);

/* pool.c: ready message files (see syncer.h struct sync_file), under
 * private names in incoming/ that start with POOL_PREFIX (never an id) */
#define POOL_PREFIX "POOL"
/* A ready file, renamed to a new message id given now; false when the
 * pool is empty or the rename failed (make one with spool_create()). */
bool   pool_take(char id[ULID_LEN + 1], int *fd, bool *reused);
bool   pool_is_name(const char *name);
bool   pool_wants(void);              /* running low */
size_t pool_max(void);

/* scheduler.c */
void sched_init(void);
void sched_set_channel(struct channel *);
void sched_channel_gone(void);
void sched_result(struct chan_msg *);
void sched_kick(void);
void sched_stop(void);
size_t sched_jobs(void);
void sched_set_frozen(bool);
bool sched_frozen(void);

/* bounce.c */
/* Inside a transaction, after msgid's recipients changed: remove it when
 * nothing is left to do, or list it for a notice. */
void bounce_settle(const char *msgid);
void bounce_tick(void);

/* recover.c */
void recover(struct store *);

/* drop.c: the offline drop directory (SPOOL/drop) */
void drop_configure(const struct config *);  /* before the chroot */
void drop_open(void);                        /* in the spool, at start */
void drop_start(void);                       /* after recovery: scans */
void drop_stop(void);
void drop_close(void);
void drop_set_interval(unsigned ms);         /* for tests */
struct chan_msg;
void drop_user_name(const struct chan_msg *);  /* M_USER_NAME from master */

/* events.c: the plugins' message events (empath-plugin(3)) */
struct em_context;
/* Load the plugins with a queued point (file names the configuration in
 * the "file:line" of an error); -1 with err. */
int  qevents_load(const struct config *, const char *file, char *err,
                  size_t errlen);
void qevents_unload(void);
/* Some plugin wants point: only then is a context built. */
bool qevent_wanted(enum em_point);
/* A context with env's id, sender and metadata, and no recipient. */
struct em_context *qevent_new(const struct envelope *env);
/* The same from the index, with the recipients whose row id is in ids
 * (every one when n is 0); NULL when msgid is not there. */
struct em_context *qevent_from_store(const char *msgid, const uint64_t *ids,
                                     size_t n);
void qevent_delivery(struct em_context *, const char *host,
                     const char *error, unsigned attempts);
/* Run point's event (if any plugin still wants it), then free ctx
 * (NULL: nothing). */
void qevent_fire(enum em_point, struct em_context *);

/* ops.c */
void ops_msg(struct qpeer *, struct chan_msg *);
void ops_peer_gone(struct qpeer *);

#endif
