/* SPDX-License-Identifier: ISC */
/* The queue index in sqlite3. See store.h and empath-queued(8).
 *
 * Settings: WAL journal (readers never block the writer, one sequential
 * append per commit), temp_store=MEMORY (nothing outside the spool is
 * needed, which matters in the chroot). Statements are prepared once at
 * open.
 *
 * Durability: synchronous=FULL makes a commit durable by itself (used at
 * start and by store_begin(s, true)); the write pipeline
 * (pipeline.c) commits with synchronous=NORMAL instead and makes the WAL
 * durable with one syncfs() for a whole group of transactions, on its
 * sync thread. Only the thread that opened the store uses it. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "log.h"
#include "plugin_ctx.h"
#include "store_int.h"
#include "util.h"

/* Bounded waits for a lock held by another connection (an administrator's
 * sqlite3 shell): queued is the only writer, so this should never be hit. */
#define STORE_BUSY_MS 2000

enum stmt_id {
	S_INS_MSG,
	S_INS_RCPT,
	S_LOAD_MSG,
	S_LOAD_RCPTS,
	S_HAS_MSG,
	S_DUE_KEYS,
	S_DUE_RCPTS,
	S_MARK_INFLIGHT,
	S_RCPT_UPDATE,
	S_FAIL_MSG,
	S_ACTIVE,
	S_DEL_RCPTS,
	S_DEL_MSG,
	S_REMOVED_ADD,
	S_RECOVER,
	S_ALL_MSGS,
	S_COUNT_MSGS,
	S_COUNT_STATES,
	S_META_GET,
	S_META_SET,
	S_COUNT
};
_Static_assert(S_COUNT <= sizeof(((struct store *)0)->st) /
    sizeof(((struct store *)0)->st[0]), "struct store: room for statements");

/* The notice a recipient's new state owes its sender (column dsn), from
 * ?8 (1: failed, 2: delivered, 0: none), its NOTIFY (RFC 3461: none given
 * means FAILURE; NEVER means nothing) and the message's sender (never to
 * the null path). */
#define DSN_OWED_SQL \
	"(CASE WHEN (SELECT sender FROM messages m WHERE m.id = recipients.msgid) = ''" \
	" OR (notify & 1) != 0 THEN 0" \
	" WHEN ?8 = 1 AND (notify = 0 OR (notify & 4) != 0) THEN 1" \
	" WHEN ?8 = 2 AND (notify & 2) != 0 THEN 2 ELSE 0 END)"

static const char *const stmt_sql[S_COUNT] = {
	[S_INS_MSG] =
	    "INSERT INTO messages (id, sender, helo, client_addr, client_name,"
	    " body, envid, ret, smtputf8, size, created, meta, headers)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[S_INS_RCPT] =
	    "INSERT INTO recipients (msgid, addr, orcpt, notify, domain, state,"
	    " attempts, next_attempt, updated)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?6, ?6)",
	[S_LOAD_MSG] =
	    "SELECT sender, helo, client_addr, client_name, body, envid, ret,"
	    " smtputf8, size, created, meta, headers FROM messages WHERE id = ?1",
	[S_LOAD_RCPTS] =
	    "SELECT id, addr, orcpt, notify, state, attempts FROM recipients"
	    " WHERE msgid = ?1 ORDER BY id",
	[S_HAS_MSG] = "SELECT 1 FROM messages WHERE id = ?1",
	/* Two index-ordered scans (queued, deferred) merged by due time, so
	 * neither state starves the other and no full sort is needed. */
	[S_DUE_KEYS] =
	    "SELECT msgid, domain, next_attempt FROM"
	    " (SELECT msgid, domain, next_attempt FROM recipients"
	    "  WHERE state = 0 AND next_attempt <= ?1"
	    "  ORDER BY next_attempt LIMIT ?2)"
	    " UNION ALL"
	    " SELECT msgid, domain, next_attempt FROM"
	    " (SELECT msgid, domain, next_attempt FROM recipients"
	    "  WHERE state = 2 AND next_attempt <= ?1"
	    "  ORDER BY next_attempt LIMIT ?2)"
	    " ORDER BY 3 LIMIT ?2",
	[S_DUE_RCPTS] =
	    "SELECT id, addr, orcpt, notify, state, attempts FROM recipients"
	    " WHERE msgid = ?1 AND domain = ?2 AND state IN (0, 2)"
	    " AND next_attempt <= ?3 ORDER BY id LIMIT ?4",
	[S_MARK_INFLIGHT] =
	    "UPDATE recipients SET state = 1, updated = ?2"
	    " WHERE id = ?1 AND state IN (0, 2)",
	/* Only from inflight: see store_rcpt_update(). */
	[S_RCPT_UPDATE] =
	    "UPDATE recipients SET state = ?2, attempts = ?3, next_attempt = ?4,"
	    " last_error = coalesce(?5, last_error),"
	    " last_host = coalesce(?6, last_host), updated = ?7,"
	    " last_attempt = CASE WHEN ?8 = 0 THEN last_attempt ELSE ?7 END,"
	    " dsn = dsn | " DSN_OWED_SQL
	    " WHERE id = ?1 AND state = 1",
	[S_FAIL_MSG] =
	    "UPDATE recipients SET state = 4, last_error = ?2, updated = ?3,"
	    " dsn = dsn | " DSN_OWED_SQL
	    " WHERE msgid = ?1 AND state IN (0, 1, 2)",
	[S_ACTIVE] =
	    "SELECT count(*) FROM recipients WHERE msgid = ?1 AND state IN (0, 1, 2)",
	[S_DEL_RCPTS] = "DELETE FROM recipients WHERE msgid = ?1",
	[S_DEL_MSG] = "DELETE FROM messages WHERE id = ?1",
	[S_REMOVED_ADD] = "INSERT OR IGNORE INTO removed (id) VALUES (?1)",
	[S_RECOVER] =
	    "UPDATE recipients SET state = 0, next_attempt = ?1, updated = ?1"
	    " WHERE state = 1",
	[S_ALL_MSGS] = "SELECT id FROM messages ORDER BY id",
	[S_COUNT_MSGS] = "SELECT count(*) FROM messages",
	[S_COUNT_STATES] = "SELECT state, count(*) FROM recipients GROUP BY state",
	[S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[S_META_SET] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
};

void
store_serr(struct store *s, const char *what)
{
	s->full = (sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_FULL;
	log_warnx("queue database: %s: %s", what, sqlite3_errmsg(s->db));
}

sqlite3_stmt *
store_reset(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static sqlite3_stmt *
stmt(struct store *s, enum stmt_id id)
{
	return store_reset(s->st[id]);
}

int
store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

int
store_run(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_serr(s, what);
		return -1;
	}
	return 0;
}

int
store_exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		s->full = (sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_FULL;
		log_warnx("queue database: %s: %s", sql, msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

char *
store_col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? xstrdup((const char *)v) : NULL;
}

/* Integrity and schema version of an opened database; 0 when usable. */
static int
check_db(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	const unsigned char *v;
	int rc;

	/* quick_check reads every page: catches a damaged file before any
	 * recovery step acts on what it says. */
	if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
		return -1;
	}
	rc = sqlite3_step(st);
	v = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	if (v == NULL || strcmp((const char *)v, "ok") != 0) {
		snprintf(err, errlen, "integrity check failed: %s",
		    v ? (const char *)v : sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);

	if (store_exec(s, "BEGIN IMMEDIATE") == -1) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (store_schema_prepare(s, err, errlen) == -1) {
		store_exec(s, "ROLLBACK");
		return -1;
	}
	if (store_exec(s, "COMMIT") == -1) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
		store_exec(s, "ROLLBACK");
		return -1;
	}
	return 0;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store *s = xcalloc(1, sizeof(*s));
	int rc, i;

	rc = sqlite3_open_v2(path, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	/* The journal mode must be checked: a file that is not a database
	 * fails here with "file is not a database". */
	{
		sqlite3_stmt *st;
		const unsigned char *mode;

		if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st,
		    NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
			goto fail;
		}
		rc = sqlite3_step(st);
		mode = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
		if (mode == NULL || strcasecmp((const char *)mode, "wal") != 0) {
			snprintf(err, errlen, "%s: cannot use WAL journal: %s", path,
			    mode ? (const char *)mode : sqlite3_errmsg(s->db));
			sqlite3_finalize(st);
			goto fail;
		}
		sqlite3_finalize(st);
	}
	if (store_exec(s, "PRAGMA synchronous=FULL") == -1 ||
	    store_exec(s, "PRAGMA temp_store=MEMORY") == -1 ||
	    store_exec(s, "PRAGMA foreign_keys=OFF") == -1) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	s->durable = true;
	if (check_db(s, err, errlen) == -1) {
		/* Prefix the path for the operator. */
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
		snprintf(err, errlen, "%s", tmp);
		goto fail;
	}
	for (i = 0; i < S_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing statement %d: %s", path,
			    i, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	for (i = 0; i < QS_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, store_query_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->qs[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing query %d: %s", path,
			    i, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	return s;
fail:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	int i;

	if (s == NULL)
		return;
	if (s->in_txn)
		store_rollback(s);
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (i = 0; i < QS_COUNT; i++)
		sqlite3_finalize(s->qs[i]);
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("queue database: close: %s", sqlite3_errmsg(s->db));
	free(s);
}

const char *
store_errmsg(const struct store *s)
{
	return sqlite3_errmsg(s->db);
}

bool
store_full(const struct store *s)
{
	return s->full;
}

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *s = arg;

	(void)db;
	(void)name;
	s->wal_pages = pages > 0 ? (unsigned)pages : 0;
	return SQLITE_OK;
}

int
store_manual_checkpoints(struct store *s)
{
	if (store_exec(s, "PRAGMA wal_autocheckpoint=0") == -1)
		return -1;
	/* Replaces the automatic checkpoint's own hook. */
	sqlite3_wal_hook(s->db, wal_hook, s);
	return 0;
}

unsigned
store_wal_pages(const struct store *s)
{
	return s->wal_pages;
}

int
store_begin(struct store *s, bool durable)
{
	if (s->in_txn) {
		log_warnx("queue database: nested transaction");
		return -1;
	}
	/* A non-durable commit skips the WAL sync; the next durable commit
	 * syncs the WAL and with it every frame written before. */
	if (durable != s->durable) {
		if (store_exec(s, durable ? "PRAGMA synchronous=FULL" :
		    "PRAGMA synchronous=NORMAL") == -1)
			return -1;
		s->durable = durable;
	}
	s->full = false;
	if (store_exec(s, "BEGIN IMMEDIATE") == -1)
		return -1;
	s->in_txn = true;
	return 0;
}

int
store_commit(struct store *s)
{
	if (!s->in_txn)
		return -1;
	if (store_exec(s, "COMMIT") == -1) {
		store_rollback(s);
		return -1;
	}
	s->in_txn = false;
	return 0;
}

void
store_rollback(struct store *s)
{
	/* After some errors sqlite has already rolled back: that is fine. */
	if (sqlite3_get_autocommit(s->db) == 0)
		store_exec(s, "ROLLBACK");
	s->in_txn = false;
}

bool
store_in_txn(const struct store *s)
{
	return s->in_txn;
}

int
store_savepoint(struct store *s)
{
	return store_exec(s, "SAVEPOINT one");
}

int
store_release(struct store *s)
{
	return store_exec(s, "RELEASE one");
}

void
store_rollback_to(struct store *s)
{
	store_exec(s, "ROLLBACK TO one");
	store_exec(s, "RELEASE one");
}

/* The destination domain of an address, lower case, bounded. */
static void
rcpt_domain(const char *addr, char *out, size_t outlen)
{
	const char *d = addr_domain(addr);
	size_t i;

	for (i = 0; d[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (char)tolower((unsigned char)d[i]);
	out[i] = '\0';
}

int
store_insert(struct store *s, struct envelope *env, int64_t now)
{
	sqlite3_stmt *st = stmt(s, S_INS_MSG);
	char domain[STORE_DOMAIN_MAX + 1];
	size_t i;

	store_bind_text(st, 1, env->id);
	store_bind_text(st, 2, env->sender ? env->sender : "");
	store_bind_text(st, 3, env->helo);
	store_bind_text(st, 4, env->client_addr);
	store_bind_text(st, 5, env->client_name);
	store_bind_text(st, 6, env->body);
	store_bind_text(st, 7, env->envid);
	sqlite3_bind_int64(st, 8, env->ret);
	sqlite3_bind_int64(st, 9, env->smtputf8);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)env->size);
	sqlite3_bind_int64(st, 11, env->created);
	/* Empty is stored as NULL: most messages have neither. */
	store_bind_text(st, 12, env->meta && *env->meta ? env->meta : NULL);
	store_bind_text(st, 13, env->headers && *env->headers ?
	    env->headers : NULL);
	if (store_run(s, st, "insert message") == -1)
		return -1;

	for (i = 0; i < env->nrcpt; i++) {
		struct env_rcpt *r = &env->rcpt[i];

		rcpt_domain(r->addr, domain, sizeof(domain));
		st = stmt(s, S_INS_RCPT);
		store_bind_text(st, 1, env->id);
		store_bind_text(st, 2, r->addr);
		store_bind_text(st, 3, r->orcpt);
		sqlite3_bind_int64(st, 4, r->notify);
		store_bind_text(st, 5, domain);
		sqlite3_bind_int64(st, 6, now);
		if (store_run(s, st, "insert recipient") == -1)
			return -1;
		r->id = (uint64_t)sqlite3_last_insert_rowid(s->db);
		r->state = RCPT_QUEUED;
		r->attempts = 0;
	}
	return 0;
}

/* Append the recipient in the current row (id, addr, orcpt, notify,
 * state, attempts) to env. */
static void
row_rcpt(sqlite3_stmt *st, struct envelope *env)
{
	const unsigned char *addr = sqlite3_column_text(st, 1);
	struct env_rcpt *r = env_add_rcpt(env, addr ? (const char *)addr : "");

	r->id = (uint64_t)sqlite3_column_int64(st, 0);
	r->orcpt = store_col_strdup(st, 2);
	r->notify = (uint32_t)sqlite3_column_int64(st, 3);
	r->state = (uint32_t)sqlite3_column_int64(st, 4);
	r->attempts = (uint32_t)sqlite3_column_int64(st, 5);
}

int
store_load(struct store *s, const char *msgid, struct envelope *env,
    bool with_rcpts)
{
	sqlite3_stmt *st = stmt(s, S_LOAD_MSG);
	int rc;

	store_bind_text(st, 1, msgid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		store_serr(s, "load message");
		sqlite3_reset(st);
		return -1;
	}
	strlcpy(env->id, msgid, sizeof(env->id));
	env->sender = store_col_strdup(st, 0);
	if (env->sender == NULL)
		env->sender = xstrdup("");
	env->helo = store_col_strdup(st, 1);
	env->client_addr = store_col_strdup(st, 2);
	env->client_name = store_col_strdup(st, 3);
	env->body = store_col_strdup(st, 4);
	env->envid = store_col_strdup(st, 5);
	env->ret = (uint32_t)sqlite3_column_int64(st, 6);
	env->smtputf8 = (uint32_t)sqlite3_column_int64(st, 7);
	env->size = (uint64_t)sqlite3_column_int64(st, 8);
	env->created = sqlite3_column_int64(st, 9);
	free(env->meta);
	free(env->headers);
	env->meta = store_col_strdup(st, 10);
	env->headers = store_col_strdup(st, 11);
	sqlite3_reset(st);
	/* What deliverd would refuse at decode: a damaged row must not
	 * block its message's jobs forever. */
	if (env->meta != NULL &&
	    !plugin_meta_valid(env->meta, strlen(env->meta))) {
		log_warnx("queue database: %s: invalid metadata ignored", msgid);
		free(env->meta);
		env->meta = NULL;
	}
	if (env->headers != NULL &&
	    !plugin_headers_valid(env->headers, strlen(env->headers))) {
		log_warnx("queue database: %s: invalid header fields ignored",
		    msgid);
		free(env->headers);
		env->headers = NULL;
	}
	if (!with_rcpts)
		return 0;

	st = stmt(s, S_LOAD_RCPTS);
	store_bind_text(st, 1, msgid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		row_rcpt(st, env);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_serr(s, "load recipients");
		return -1;
	}
	return 0;
}

bool
store_has_message(struct store *s, const char *msgid)
{
	sqlite3_stmt *st = stmt(s, S_HAS_MSG);
	int rc;

	store_bind_text(st, 1, msgid);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		/* Unknown is not the same as absent: say it exists, so that a
		 * caller deciding whether a file is an orphan keeps it. */
		store_serr(s, "look up message");
		return true;
	}
	return rc == SQLITE_ROW;
}

int
store_due_keys(struct store *s, int64_t now, struct store_key *keys,
    size_t max, size_t *n)
{
	sqlite3_stmt *st = stmt(s, S_DUE_KEYS);
	size_t i;
	int rc = SQLITE_DONE;

	*n = 0;
	if (max == 0)
		return 0;
	sqlite3_bind_int64(st, 1, now);
	/* Fetch a few rows per key: several recipients of one pair come as
	 * several rows and collapse into one key below. */
	sqlite3_bind_int64(st, 2, (sqlite3_int64)(max * 4));
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *msgid = (const char *)sqlite3_column_text(st, 0);
		const char *domain = (const char *)sqlite3_column_text(st, 1);

		if (msgid == NULL || domain == NULL)
			continue;
		for (i = 0; i < *n; i++)
			if (strcmp(keys[i].msgid, msgid) == 0 &&
			    strcmp(keys[i].domain, domain) == 0)
				break;
		if (i < *n)
			continue;
		strlcpy(keys[*n].msgid, msgid, sizeof(keys[*n].msgid));
		strlcpy(keys[*n].domain, domain, sizeof(keys[*n].domain));
		keys[*n].next_attempt = sqlite3_column_int64(st, 2);
		(*n)++;
	}
	if (*n < max && rc != SQLITE_DONE) {
		store_serr(s, "select due recipients");
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

int
store_due_rcpts(struct store *s, const char *msgid, const char *domain,
    int64_t now, size_t max, struct envelope *env)
{
	sqlite3_stmt *st = stmt(s, S_DUE_RCPTS);
	int rc;

	store_bind_text(st, 1, msgid);
	store_bind_text(st, 2, domain);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		row_rcpt(st, env);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_serr(s, "select recipients of a job");
		return -1;
	}
	return 0;
}

int
store_mark_inflight(struct store *s, uint64_t rcptid, int64_t now)
{
	sqlite3_stmt *st = stmt(s, S_MARK_INFLIGHT);

	sqlite3_bind_int64(st, 1, (sqlite3_int64)rcptid);
	sqlite3_bind_int64(st, 2, now);
	return store_run(s, st, "mark recipient inflight");
}

int
store_rcpt_update(struct store *s, uint64_t rcptid, uint32_t state,
    uint32_t attempts, int64_t next_attempt, const char *error,
    const char *host, int64_t now)
{
	sqlite3_stmt *st = stmt(s, S_RCPT_UPDATE);

	sqlite3_bind_int64(st, 1, (sqlite3_int64)rcptid);
	sqlite3_bind_int64(st, 2, state);
	sqlite3_bind_int64(st, 3, attempts);
	sqlite3_bind_int64(st, 4, next_attempt);
	store_bind_text(st, 5, error);
	store_bind_text(st, 6, host);
	sqlite3_bind_int64(st, 7, now);
	/* ?8: the event, for last_attempt and DSN_OWED_SQL. */
	sqlite3_bind_int64(st, 8, state == RCPT_FAILED ? 1 :
	    state == RCPT_DELIVERED ? 2 : state == RCPT_DEFERRED ? 3 : 0);
	return store_run(s, st, "update recipient");
}

int
store_fail_message(struct store *s, const char *msgid, const char *error,
    int64_t now)
{
	sqlite3_stmt *st = stmt(s, S_FAIL_MSG);

	store_bind_text(st, 1, msgid);
	store_bind_text(st, 2, error);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 8, 1);           /* a failure, for DSN_OWED_SQL */
	return store_run(s, st, "fail message");
}

/* Run a statement returning one integer, bound to one text parameter
 * (or none). */
static int
count1(struct store *s, enum stmt_id id, const char *arg, uint64_t *n,
    const char *what)
{
	sqlite3_stmt *st = stmt(s, id);
	int rc;

	if (arg != NULL)
		store_bind_text(st, 1, arg);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		store_serr(s, what);
		sqlite3_reset(st);
		return -1;
	}
	*n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int
store_active_count(struct store *s, const char *msgid, uint64_t *n)
{
	return count1(s, S_ACTIVE, msgid, n, "count active recipients");
}

int
store_remove(struct store *s, const char *msgid)
{
	sqlite3_stmt *st = stmt(s, S_DEL_RCPTS);

	store_bind_text(st, 1, msgid);
	if (store_run(s, st, "delete recipients") == -1)
		return -1;
	st = stmt(s, S_DEL_MSG);
	store_bind_text(st, 1, msgid);
	if (store_run(s, st, "delete message") == -1)
		return -1;
	st = stmt(s, S_REMOVED_ADD);
	store_bind_text(st, 1, msgid);
	return store_run(s, st, "remember removal");
}

int
store_recover_inflight(struct store *s, int64_t now, uint64_t *n)
{
	sqlite3_stmt *st = stmt(s, S_RECOVER);

	sqlite3_bind_int64(st, 1, now);
	if (store_run(s, st, "recover inflight recipients") == -1)
		return -1;
	*n = (uint64_t)sqlite3_changes(s->db);
	return 0;
}

/* Call cb with the message id in column 0 of every row of st, until cb
 * returns non-zero. */
int
store_foreach_id(struct store *s, sqlite3_stmt *st,
    int (*cb)(const char *msgid, void *arg), void *arg, const char *what)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		if (id != NULL && cb(id, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_serr(s, what);
		return -1;
	}
	return 0;
}

int
store_foreach_message(struct store *s,
    int (*cb)(const char *msgid, void *arg), void *arg)
{
	return store_foreach_id(s, stmt(s, S_ALL_MSGS), cb, arg, "list messages");
}

int
store_counts(struct store *s, uint64_t *messages, uint64_t *rcpts,
    uint64_t by_state[RCPT_STATE_COUNT])
{
	sqlite3_stmt *st;
	int rc;

	if (count1(s, S_COUNT_MSGS, NULL, messages, "count messages") == -1)
		return -1;
	memset(by_state, 0, sizeof(uint64_t) * RCPT_STATE_COUNT);
	*rcpts = 0;
	st = stmt(s, S_COUNT_STATES);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t state = sqlite3_column_int64(st, 0);
		uint64_t c = (uint64_t)sqlite3_column_int64(st, 1);

		if (state >= 0 && state < RCPT_STATE_COUNT)
			by_state[state] = c;
		*rcpts += c;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_serr(s, "count recipients");
		return -1;
	}
	return 0;
}

int
store_get_frozen(struct store *s, bool *frozen)
{
	sqlite3_stmt *st = stmt(s, S_META_GET);
	int rc;

	store_bind_text(st, 1, "frozen");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_serr(s, "read frozen flag");
		sqlite3_reset(st);
		return -1;
	}
	*frozen = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) != 0;
	sqlite3_reset(st);
	return 0;
}

int
store_set_frozen(struct store *s, bool frozen)
{
	sqlite3_stmt *st = stmt(s, S_META_SET);

	store_bind_text(st, 1, "frozen");
	store_bind_text(st, 2, frozen ? "1" : "0");
	return store_run(s, st, "write frozen flag");
}
