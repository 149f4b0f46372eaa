/* The queue index: one sqlite3 database (queue.db, WAL) holding the
 * messages and their recipients with state, attempts and next attempt.
 * The message bodies live in spool files (spool.h); this module never
 * touches them. All times are wall-clock seconds passed in by the caller,
 * so the tests can drive the clock.
 *
 * Writes happen inside a transaction opened by store_begin(); savepoints
 * isolate one message or one result inside a grouped transaction, so one
 * bad row does not fail its neighbours. */
#ifndef QUEUED_STORE_H
#define QUEUED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "proto.h"

#define STORE_SCHEMA_VERSION 1
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

/* Record the outcome of an attempt (or a return to the queue). error and
 * host NULL keep the stored values. */
int  store_rcpt_update(struct store *, uint64_t rcptid, uint32_t state,
                       uint32_t attempts, int64_t next_attempt,
                       const char *error, const char *host, int64_t now);
/* Fail every recipient of msgid still queued, inflight or deferred. */
int  store_fail_message(struct store *, const char *msgid, const char *error,
                        int64_t now);
/* Recipients of msgid still queued, inflight or deferred. */
int  store_active_count(struct store *, const char *msgid, uint64_t *n);
/* Delete a message and all its recipient rows. */
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

/* The global freeze flag (issue 4: `empathctl queue freeze`). */
int  store_get_frozen(struct store *, bool *frozen);
int  store_set_frozen(struct store *, bool frozen);

#endif
