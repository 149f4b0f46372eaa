/* SPDX-License-Identifier: ISC */
/* Private to the queue index (store.c, store_query.c): the handle and the
 * small helpers both halves use. Nothing outside store*.c includes this. */
#ifndef EMPATH_QUEUED_STORE_INT_H
#define EMPATH_QUEUED_STORE_INT_H

#include <stdbool.h>

#include <sqlite3.h>

#include "store.h"

/* Statements of store_query.c, prepared with the others at open. */
enum qstmt_id {
	QS_LIST,
	QS_RCPT_INFO,
	QS_STATS_DOMAINS,
	QS_COUNT_DOMAINS,
	QS_OLDEST,
	QS_RETRY_MSG,
	QS_RETRY_ALL,
	QS_DSN_UPDATE,
	QS_DSN_OWED,
	QS_DELAY_DUE,
	QS_MSG_STATUS,
	QS_REMOVED_ALL,
	QS_REMOVED_DEL,
	QS_COUNT
};

struct store {
	sqlite3      *db;
	sqlite3_stmt *st[32];          /* store.c's statements */
	sqlite3_stmt *qs[QS_COUNT];    /* store_query.c's */
	bool          in_txn;
	bool          durable;         /* current synchronous setting is FULL */
	bool          full;            /* the last error was SQLITE_FULL */
	unsigned      wal_pages;       /* from the WAL hook */
};

/* The SQL of store_query.c's statements, indexed by enum qstmt_id. */
extern const char *const store_query_sql[QS_COUNT];

void  store_serr(struct store *, const char *what);
int   store_foreach_id(struct store *, sqlite3_stmt *,
          int (*cb)(const char *msgid, void *), void *arg, const char *what);
/* A prepared statement, reset and with its bindings cleared. */
sqlite3_stmt *store_reset(sqlite3_stmt *);
/* Bind a string, NULL as SQL NULL (SQLITE_STATIC: step before it goes). */
int   store_bind_text(sqlite3_stmt *, int i, const char *v);
/* Step a statement that returns no row; 0 or -1. */
int   store_run(struct store *, sqlite3_stmt *, const char *what);
char *store_col_strdup(sqlite3_stmt *, int i);
/* Run SQL without parameters; 0 or -1 (logged). */
int   store_exec(struct store *, const char *sql);

/* store_schema.c: inside a write transaction, create the schema in an
 * empty database, migrate an older one, refuse anything else (err). */
int   store_schema_prepare(struct store *, char *err, size_t errlen);

#endif
