/* SPDX-License-Identifier: ISC */
/* The queue index: one sqlite3 database (queue.db, WAL) holding the
 * messages and their recipients with state, attempts and next attempt.
 * The message bodies live in spool files (spool.h); this module never
 * touches them. All times are wall-clock seconds passed in by the caller,
 * so the tests can drive the clock.
 *
 * Writes happen inside a transaction opened by store_begin(); savepoints
 * isolate one message or one result inside a grouped transaction, so one
 * bad row does not fail its neighbours. */
#ifndef EMPATH_QUEUED_STORE_H
#define EMPATH_QUEUED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "proto.h"

#define STORE_SCHEMA_VERSION 3
/* Longest domain kept for a recipient (RFC 5321: 255 octets). */
#define STORE_DOMAIN_MAX 255

struct store;

/* A (message, destination domain) pair that has at least one due recipient:
 * the unit of one delivery job. */
struct store_key {
	char    msgid[ULID_LEN + 1];
	char    domain[STORE_DOMAIN_MAX + 1];
	int64_t next_attempt;
};

/* Open (creating when missing) and check the database. On failure returns
 * NULL and writes a human-readable reason into err. A database that exists
 * but is not a valid Empath queue is an error, never recreated. */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *);
const char *store_errmsg(const struct store *);
/* The last failure was for lack of room (SQLITE_FULL): 452, not 451. */
bool store_full(const struct store *);
/* Leave WAL checkpoints to the caller (the sync thread's connection):
 * no automatic checkpoint in this connection's commits. */
int  store_manual_checkpoints(struct store *);
/* Pages in the WAL after the last commit (0 until one happened). */
unsigned store_wal_pages(const struct store *);

/* Transactions. durable = false commits without waiting for the disk
 * (used for state that recovery rebuilds anyway, such as inflight marks);
 * a later durable commit makes it durable too. */
int  store_begin(struct store *, bool durable);
int  store_commit(struct store *);
void store_rollback(struct store *);
bool store_in_txn(const struct store *);
int  store_savepoint(struct store *);
int  store_release(struct store *);
void store_rollback_to(struct store *);   /* undo since savepoint, and release */

/* Insert a committed message and its recipients (state queued, due at
 * now). Fills env->rcpt[i].id with the row ids. 0 or -1. */
int  store_insert(struct store *, struct envelope *env, int64_t now);
/* Load a message: 0 found, 1 unknown id, -1 error. with_rcpts also loads
 * every recipient (id, addr, orcpt, notify, state, attempts). */
int  store_load(struct store *, const char *msgid, struct envelope *env,
                bool with_rcpts);
bool store_has_message(struct store *, const char *msgid);

/* Up to max distinct (message, domain) pairs with due recipients (state
 * queued or deferred, next_attempt <= now), earliest due first. */
int  store_due_keys(struct store *, int64_t now, struct store_key *keys,
                    size_t max, size_t *n);
/* Append to env up to max due recipients of one (message, domain) pair,
 * in row order. Their state is not changed. */
int  store_due_rcpts(struct store *, const char *msgid, const char *domain,
                     int64_t now, size_t max, struct envelope *env);
int  store_mark_inflight(struct store *, uint64_t rcptid, int64_t now);

/* Record the outcome of an attempt of an inflight recipient, or put it
 * back in the queue (state queued). Only an inflight row changes: a late
 * or repeated result for a recipient already settled (or deleted) is a
 * no-op, so results are idempotent. error and host NULL keep the stored
 * values. A delivered or failed recipient owes its sender a notification
 * (STORE_DSN_SUCCESS / STORE_DSN_FAIL) when its NOTIFY asks for one and
 * the sender is not the null path. */
int  store_rcpt_update(struct store *, uint64_t rcptid, uint32_t state,
                       uint32_t attempts, int64_t next_attempt,
                       const char *error, const char *host, int64_t now);
/* Fail every recipient of msgid still queued, inflight or deferred (a
 * failure notice is owed as above). */
int  store_fail_message(struct store *, const char *msgid, const char *error,
                        int64_t now);
/* Recipients of msgid still queued, inflight or deferred. */
int  store_active_count(struct store *, const char *msgid, uint64_t *n);
/* Delete a message and all its recipient rows, and remember its id in the
 * `removed` table until its file is gone (store_removed_done). */
int  store_remove(struct store *, const char *msgid);

/* Recovery: every inflight recipient becomes queued, due at now. */
int  store_recover_inflight(struct store *, int64_t now, uint64_t *n);
/* Call cb for every message id (stops early when cb returns non-zero).
 * cb must not write to the store; collect ids and act afterwards. */
int  store_foreach_message(struct store *,
                           int (*cb)(const char *msgid, void *arg), void *arg);

/* Counts for status and metrics. */
int  store_counts(struct store *, uint64_t *messages, uint64_t *rcpts,
                  uint64_t by_state[RCPT_STATE_COUNT]);

/* The global freeze flag (`empathctl queue freeze`). */
int  store_get_frozen(struct store *, bool *frozen);
int  store_set_frozen(struct store *, bool frozen);

/* ---- store_query.c: notifications, queue operations, removals ---- */

/* Column `dsn` of a recipient: what its sender is owed. */
#define STORE_DSN_FAIL     0x1     /* failed: a failure notice is owed */
#define STORE_DSN_SUCCESS  0x2     /* delivered: a success notice is owed */
#define STORE_DSN_WARNED   0x4     /* a delay warning was sent */
#define STORE_DSN_OWED     (STORE_DSN_FAIL | STORE_DSN_SUCCESS)

/* Everything the index knows about one recipient. */
struct store_rcpt {
	uint64_t id;
	char    *addr, *orcpt, *last_error, *last_host;
	uint32_t notify, state, attempts, dsn;
	int64_t  next_attempt, last_attempt, updated;   /* last_attempt 0: never */
};
void store_rcpts_free(struct store_rcpt *, size_t n);
/* Up to max recipients of msgid in row order (*rcpts allocated, free with
 * store_rcpts_free); *more is set when there are more. */
int  store_rcpts(struct store *, const char *msgid, size_t max,
                 struct store_rcpt **rcpts, size_t *n, bool *more);

/* How a message stands: recipients queued or inflight (an attempt round
 * is not over), queued+inflight+deferred (active), and owing a notice. */
struct store_msg_status {
	uint64_t waiting, active, owed;
};
int  store_msg_status(struct store *, const char *msgid,
                      struct store_msg_status *);
/* Clear and set bits of a recipient's dsn column. */
int  store_dsn_update(struct store *, uint64_t rcptid, uint32_t clear,
                      uint32_t set);
/* Up to max messages owing a notice with no attempt round under way. */
int  store_dsn_owed(struct store *, char (*ids)[ULID_LEN + 1], size_t max,
                    size_t *n);
/* Up to max messages created at or before `created_before` with deferred
 * recipients not warned yet whose NOTIFY allows a delay warning, and a
 * sender that is not the null path. */
int  store_delay_due(struct store *, int64_t created_before,
                     char (*ids)[ULID_LEN + 1], size_t max, size_t *n);

/* One row of `queue list`. */
struct store_list_row {
	char     id[ULID_LEN + 1];
	const char *sender;            /* valid during the callback only */
	uint64_t size;
	int64_t  created;
	uint64_t by_state[RCPT_STATE_COUNT];
	int64_t  next_attempt;         /* earliest of queued/deferred, 0: none */
};
/* Messages with id > after ("" from the start) in id order, with at least
 * one recipient in `state` (RCPT_STATE_COUNT: any), at most max; *more
 * when there are more. cb must not write to the store. */
int  store_list(struct store *, uint32_t state, const char *after, size_t max,
                void (*cb)(const struct store_list_row *, void *), void *arg,
                bool *more);

struct store_domain_row {
	char     domain[STORE_DOMAIN_MAX + 1];
	uint64_t by_state[RCPT_STATE_COUNT];
};
/* Per-domain recipient counts, busiest (most active) first, at most max
 * rows (*rows allocated); *ndomains is the number of domains in all. */
int  store_domains(struct store *, size_t max, struct store_domain_row **rows,
                   size_t *n, uint64_t *ndomains);
/* Creation time of the oldest message, 0 when the queue is empty. */
int  store_oldest(struct store *, int64_t *created);

/* Make queued and deferred recipients of msgid (NULL: of every message)
 * due at now; *n counts them. */
int  store_retry(struct store *, const char *msgid, int64_t now, uint64_t *n);

/* Removed messages whose file may still be there. */
int  store_removed_foreach(struct store *,
                           int (*cb)(const char *msgid, void *), void *arg);
int  store_removed_done(struct store *, const char *msgid);

#endif
