/* empath-queued: what the modules of the queue manager share.
 *
 *   main.c       daemon_ops, peer channels and routing, the write batch
 *   commit.c     smtpd side: Q_CREATE, Q_COMMIT (group commit), Q_ROLLBACK
 *   scheduler.c  deliverd side: due recipients -> D_JOB, D_RESULT, retries
 *   recover.c    start-up recovery of the spool and the index
 *   status.c     ctld side: Q_STATUS
 *   store.c      the sqlite3 index;  spool.c  the message files
 *
 * The write batch: work that arrives in one loop iteration (commits from
 * many sessions, results of many jobs) is applied at the end of the
 * iteration in ONE sqlite transaction, after ONE directory sync, and only
 * then are the replies sent. batch_schedule() asks for that flush. */
#ifndef QUEUED_QUEUED_H
#define QUEUED_QUEUED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "channel.h"
#include "config.h"
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
};
extern struct queued Q;

/* main.c */
void batch_schedule(void);
void batch_flush(void);
/* Called when the stop conditions may have changed (a job finished, a
 * reception ended). */
void queued_check_stop(void);

/* commit.c */
void commit_set_limit(size_t max_incoming);
void commit_msg(struct qpeer *, struct chan_msg *);
void commit_peer_gone(struct qpeer *, const char *why);
bool commit_pending(void);
void commit_batch_sync(void);         /* file and directory syncs */
void commit_batch_store(void);        /* inserts, inside the transaction */
void commit_batch_finish(bool committed);

/* scheduler.c */
void sched_init(void);
void sched_set_channel(struct channel *);
void sched_channel_gone(void);
void sched_result(struct chan_msg *);
void sched_kick(void);
void sched_stop(void);
size_t sched_jobs(void);
bool sched_pending(void);
void sched_batch_apply(void);         /* result updates, inside the txn */
void sched_batch_finish(bool committed);

/* recover.c */
void recover(struct store *);

/* status.c */
void status_msg(struct qpeer *, struct chan_msg *);

#endif
