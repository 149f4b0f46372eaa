/* SPDX-License-Identifier: ISC */
/* The second half of the queue index (queued/store_query.c) and what
 * the queue operations added to the first: schema migration, idempotent results, the
 * notices owed (RFC 3461 NOTIFY, never to the null sender), delay warning
 * selection, list paging and filters, per-domain counts, retry, and the
 * `removed` table that lets recovery finish interrupted removals. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fixture.h"
#include "envelope.h"
#include "proto.h"
#include "../../queued/store.h"
#include "ulid.h"
#include "util.h"

#define NOW 1764072000

static const char *dir;
static char dbpath[PATH_MAX];

static void
setup(void)
{
	dir = fx_tmpdir("storeq");
	ck_assert_uint_lt((size_t)snprintf(dbpath, sizeof(dbpath), "%s/queue.db",
	    dir), sizeof(dbpath));
}

static void
teardown(void)
{
	ck_assert_int_eq(fx_rmtree(dir), 0);
}

static struct store *
open_ok(void)
{
	char err[256] = "";
	struct store *s = store_open(dbpath, err, sizeof(err));

	ck_assert_msg(s != NULL, "store_open: %s", err);
	return s;
}

/* A message from sender with the given recipients (NOTIFY bits each). */
static void
put(struct store *s, struct envelope *e, const char *sender, int64_t created,
    const char *const *rcpts, const uint32_t *notify, size_t n)
{
	size_t i;

	env_init(e);
	ulid_new(e->id);
	e->sender = xstrdup(sender);
	e->size = 100;
	e->created = created;
	for (i = 0; i < n; i++)
		env_add_rcpt(e, rcpts[i])->notify = notify ? notify[i] : 0;
	ck_assert_int_eq(store_begin(s, true), 0);
	ck_assert_int_eq(store_insert(s, e, created), 0);
	ck_assert_int_eq(store_commit(s), 0);
}

/* One attempt's result, as the scheduler records it. */
static void
result(struct store *s, uint64_t id, uint32_t state, const char *diag)
{
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_mark_inflight(s, id, NOW), 0);
	ck_assert_int_eq(store_rcpt_update(s, id, state, 1,
	    state == RCPT_DEFERRED ? NOW + 60 : 0, diag, "mx.example.com", NOW), 0);
	ck_assert_int_eq(store_commit(s), 0);
}

static uint32_t
dsn_of(struct store *s, const char *msgid, size_t i)
{
	struct store_rcpt *r;
	size_t n;
	bool more;
	uint32_t v;

	ck_assert_int_eq(store_rcpts(s, msgid, 100, &r, &n, &more), 0);
	ck_assert_uint_gt(n, i);
	v = r[i].dsn;
	store_rcpts_free(r, n);
	return v;
}

/* A schema 1 queue (the first release) is migrated, its rows kept. */
START_TEST(migration_from_schema_1)
{
	static const char v1[] =
	    "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	    "CREATE TABLE messages (id TEXT PRIMARY KEY NOT NULL, sender TEXT NOT "
	    "NULL, helo TEXT, client_addr TEXT, client_name TEXT, body TEXT, envid "
	    "TEXT, ret INTEGER NOT NULL DEFAULT 0, smtputf8 INTEGER NOT NULL "
	    "DEFAULT 0, size INTEGER NOT NULL, created INTEGER NOT NULL);"
	    "CREATE TABLE recipients (id INTEGER PRIMARY KEY, msgid TEXT NOT NULL "
	    "REFERENCES messages(id), addr TEXT NOT NULL, orcpt TEXT, notify "
	    "INTEGER NOT NULL DEFAULT 0, domain TEXT NOT NULL, state INTEGER NOT "
	    "NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT "
	    "NULL, last_error TEXT, last_host TEXT, updated INTEGER NOT NULL);"
	    "CREATE INDEX recipients_due ON recipients (state, next_attempt);"
	    "CREATE INDEX recipients_msg ON recipients (msgid, domain);"
	    "INSERT INTO meta VALUES ('schema', '1'), ('frozen', '1');"
	    "INSERT INTO messages (id, sender, size, created) VALUES "
	    "('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'a@example.org', 10, 1);"
	    "INSERT INTO recipients (msgid, addr, domain, state, attempts, "
	    "next_attempt, updated) VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV', "
	    "'b@example.com', 'example.com', 2, 3, 5, 1);";
	struct store_rcpt *r;
	struct store *s;
	sqlite3 *db;
	size_t n;
	bool more, frozen;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	s = open_ok();
	ck_assert_int_eq(store_rcpts(s, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 10, &r, &n,
	    &more), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(r[0].addr, "b@example.com");
	ck_assert_uint_eq(r[0].state, RCPT_DEFERRED);
	ck_assert_uint_eq(r[0].attempts, 3);
	ck_assert_uint_eq(r[0].dsn, 0);
	ck_assert_int_eq(r[0].last_attempt, 0);
	store_rcpts_free(r, n);
	ck_assert_int_eq(store_get_frozen(s, &frozen), 0);
	ck_assert(frozen);
	store_close(s);
	/* Opened again: already current, nothing to do. */
	s = open_ok();
	store_close(s);
}
END_TEST

/* A schema 2 queue (made by the SQL of the release before plugins) is
 * migrated to 3: its rows kept, without metadata, and a message stored
 * afterwards keeps its metadata and added header fields. */
START_TEST(migration_from_schema_2)
{
	static const char v2[] =
	    "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	    "CREATE TABLE messages (id TEXT PRIMARY KEY NOT NULL,"
	    " sender TEXT NOT NULL, helo TEXT, client_addr TEXT,"
	    " client_name TEXT, body TEXT, envid TEXT,"
	    " ret INTEGER NOT NULL DEFAULT 0,"
	    " smtputf8 INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL,"
	    " created INTEGER NOT NULL);"
	    "CREATE TABLE recipients (id INTEGER PRIMARY KEY,"
	    " msgid TEXT NOT NULL REFERENCES messages(id),"
	    " addr TEXT NOT NULL, orcpt TEXT, notify INTEGER NOT NULL DEFAULT 0,"
	    " domain TEXT NOT NULL, state INTEGER NOT NULL,"
	    " attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL,"
	    " last_error TEXT, last_host TEXT, updated INTEGER NOT NULL,"
	    " dsn INTEGER NOT NULL DEFAULT 0, last_attempt INTEGER);"
	    "CREATE TABLE removed (id TEXT PRIMARY KEY NOT NULL);"
	    "CREATE INDEX recipients_due ON recipients (state, next_attempt);"
	    "CREATE INDEX recipients_msg ON recipients (msgid, domain);"
	    "CREATE INDEX recipients_dsn ON recipients (msgid) WHERE dsn & 3 != 0;"
	    "INSERT INTO meta (key, value) VALUES ('schema', '2');"
	    "INSERT INTO meta (key, value) VALUES ('frozen', '0');"
	    "INSERT INTO messages (id, sender, envid, size, created) VALUES "
	    "('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'a@example.org', 'E2', 10, 1);"
	    "INSERT INTO recipients (msgid, addr, domain, state, attempts, "
	    "next_attempt, updated, dsn) VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV', "
	    "'b@example.com', 'example.com', 2, 3, 5, 1, 4);";
	struct envelope e, l;
	struct store *s;
	sqlite3 *db;
	sqlite3_stmt *st;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v2, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	s = open_ok();
	env_init(&l);
	ck_assert_int_eq(store_load(s, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &l, true), 0);
	ck_assert_str_eq(l.sender, "a@example.org");
	ck_assert_str_eq(l.envid, "E2");
	ck_assert_ptr_null(l.meta);
	ck_assert_ptr_null(l.headers);
	ck_assert_uint_eq(l.nrcpt, 1);
	ck_assert_uint_eq(l.rcpt[0].state, RCPT_DEFERRED);
	ck_assert_uint_eq(l.rcpt[0].attempts, 3);
	env_clear(&l);

	env_init(&e);
	ulid_new(e.id);
	e.sender = xstrdup("a@example.org");
	e.size = 100;
	e.created = NOW;
	env_add_rcpt(&e, "c@example.com");
	e.meta = xstrdup("score=7\nseen-sender=a@example.org\n");
	e.headers = xstrdup("X-Score: 7\r\nX-Checked: yes\r\n");
	ck_assert_int_eq(store_begin(s, true), 0);
	ck_assert_int_eq(store_insert(s, &e, NOW), 0);
	ck_assert_int_eq(store_commit(s), 0);
	store_close(s);

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key"
	    " = 'schema'", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "3");
	sqlite3_finalize(st);
	sqlite3_close(db);

	s = open_ok();
	env_init(&l);
	ck_assert_int_eq(store_load(s, e.id, &l, false), 0);
	ck_assert_str_eq(l.meta, e.meta);
	ck_assert_str_eq(l.headers, e.headers);
	env_clear(&l);
	env_clear(&e);
	store_close(s);
}
END_TEST

/* A schema newer than this queued knows is refused, not touched. */
START_TEST(unknown_schema_refused)
{
	char err[256] = "";
	struct store *s = open_ok();
	sqlite3 *db;

	store_close(s);
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE meta SET value = '9' WHERE key "
	    "= 'schema'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_ptr_null(store_open(dbpath, err, sizeof(err)));
	ck_assert_msg(strstr(err, "schema version 9") != NULL, "%s", err);
}
END_TEST

/* A result only changes an inflight recipient: a repeated or late one
 * (a job taken back, a deliverd that restarted) changes nothing. */
START_TEST(results_are_idempotent)
{
	static const char *const rc[] = { "b@example.com" };
	struct store *s = open_ok();
	struct store_rcpt *r;
	struct envelope e;
	size_t n;
	bool more;

	put(s, &e, "a@example.org", NOW, rc, NULL, 1);
	result(s, e.rcpt[0].id, RCPT_DELIVERED, "250 ok");
	/* The same result again, then a contradicting late one. */
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_rcpt_update(s, e.rcpt[0].id, RCPT_DELIVERED, 2, 0,
	    "250 again", "other", NOW + 1), 0);
	ck_assert_int_eq(store_rcpt_update(s, e.rcpt[0].id, RCPT_FAILED, 3, 0,
	    "550 late", "other", NOW + 2), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_rcpts(s, e.id, 10, &r, &n, &more), 0);
	ck_assert_uint_eq(r[0].state, RCPT_DELIVERED);
	ck_assert_uint_eq(r[0].attempts, 1);
	ck_assert_str_eq(r[0].last_error, "250 ok");
	ck_assert_int_eq(r[0].last_attempt, NOW);
	store_rcpts_free(r, n);
	/* A result for a message deleted meanwhile is a no-op too. */
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_remove(s, e.id), 0);
	ck_assert_int_eq(store_rcpt_update(s, e.rcpt[0].id, RCPT_FAILED, 3, 0,
	    "550 late", "other", NOW + 2), 0);
	ck_assert_int_eq(store_commit(s), 0);
	env_clear(&e);
	store_close(s);
}
END_TEST

/* Which recipients owe their sender a notice (RFC 3461 4.1). */
START_TEST(notices_owed_follow_notify)
{
	static const char *const rc[] = { "dflt@x.example", "fail@x.example",
	    "never@x.example", "succ@x.example", "succ2@x.example",
	    "delay@x.example" };
	static const uint32_t nt[] = { 0, DSN_NOTIFY_FAILURE, DSN_NOTIFY_NEVER,
	    DSN_NOTIFY_SUCCESS, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE,
	    DSN_NOTIFY_DELAY };
	struct store *s = open_ok();
	struct store_msg_status ms;
	struct envelope e, z;
	char ids[4][ULID_LEN + 1];
	size_t n, i;

	put(s, &e, "a@example.org", NOW, rc, nt, 6);
	for (i = 0; i < 3; i++)
		result(s, e.rcpt[i].id, RCPT_FAILED, "550 5.1.1 no");
	result(s, e.rcpt[3].id, RCPT_DELIVERED, "250 ok");
	result(s, e.rcpt[4].id, RCPT_FAILED, "550 no");
	result(s, e.rcpt[5].id, RCPT_FAILED, "550 no");
	ck_assert_uint_eq(dsn_of(s, e.id, 0), STORE_DSN_FAIL);   /* default */
	ck_assert_uint_eq(dsn_of(s, e.id, 1), STORE_DSN_FAIL);
	ck_assert_uint_eq(dsn_of(s, e.id, 2), 0);                /* NEVER */
	ck_assert_uint_eq(dsn_of(s, e.id, 3), STORE_DSN_SUCCESS);
	ck_assert_uint_eq(dsn_of(s, e.id, 4), STORE_DSN_FAIL);
	ck_assert_uint_eq(dsn_of(s, e.id, 5), 0);                /* DELAY only */
	ck_assert_int_eq(store_msg_status(s, e.id, &ms), 0);
	ck_assert_uint_eq(ms.active, 0);
	ck_assert_uint_eq(ms.waiting, 0);
	ck_assert_uint_eq(ms.owed, 4);

	/* Never to the null sender, whatever NOTIFY says. */
	put(s, &z, "", NOW, rc, nt, 6);
	for (i = 0; i < 6; i++)
		result(s, z.rcpt[i].id, i == 3 ? RCPT_DELIVERED : RCPT_FAILED, "550");
	ck_assert_int_eq(store_msg_status(s, z.id, &ms), 0);
	ck_assert_uint_eq(ms.owed, 0);
	/* The same for a failure of the whole message (file missing). */
	env_clear(&z);
	put(s, &z, "", NOW, rc, nt, 6);
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_fail_message(s, z.id, "message file missing",
	    NOW), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_msg_status(s, z.id, &ms), 0);
	ck_assert_uint_eq(ms.owed, 0);

	/* Only e owes; clearing its marks settles it. */
	ck_assert_int_eq(store_dsn_owed(s, ids, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ids[0], e.id);
	ck_assert_int_eq(store_begin(s, false), 0);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(store_dsn_update(s, e.rcpt[i].id, STORE_DSN_OWED,
		    0), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_dsn_owed(s, ids, 4, &n), 0);
	ck_assert_uint_eq(n, 0);
	env_clear(&e);
	env_clear(&z);
	store_close(s);
}
END_TEST

/* A notice waits for the end of the attempt round: not while a recipient
 * is queued or inflight; a deferred one does not hold it. */
START_TEST(notice_waits_for_the_round)
{
	static const char *const rc[] = { "a@x.example", "b@y.example",
	    "c@z.example" };
	struct store *s = open_ok();
	struct store_msg_status ms;
	struct envelope e;
	char ids[4][ULID_LEN + 1];
	size_t n;

	put(s, &e, "s@example.org", NOW, rc, NULL, 3);
	result(s, e.rcpt[0].id, RCPT_FAILED, "550 no");
	ck_assert_int_eq(store_dsn_owed(s, ids, 4, &n), 0);
	ck_assert_uint_eq(n, 0);                 /* b and c still queued */
	ck_assert_int_eq(store_msg_status(s, e.id, &ms), 0);
	ck_assert_uint_eq(ms.waiting, 2);
	result(s, e.rcpt[1].id, RCPT_DEFERRED, "451 later");
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[2].id, NOW), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_dsn_owed(s, ids, 4, &n), 0);
	ck_assert_uint_eq(n, 0);                 /* c inflight */
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_rcpt_update(s, e.rcpt[2].id, RCPT_DELIVERED, 1, 0,
	    "250", NULL, NOW), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_dsn_owed(s, ids, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_msg_status(s, e.id, &ms), 0);
	ck_assert_uint_eq(ms.active, 1);         /* b, deferred */
	ck_assert_uint_eq(ms.waiting, 0);
	env_clear(&e);
	store_close(s);
}
END_TEST

START_TEST(delay_warning_selection)
{
	static const char *const rc[] = { "a@x.example", "b@x.example" };
	static const uint32_t none[] = { DSN_NOTIFY_FAILURE, DSN_NOTIFY_NEVER };
	struct store *s = open_ok();
	struct envelope old, young, quiet, null;
	char ids[8][ULID_LEN + 1];
	size_t n;

	put(s, &old, "s@example.org", NOW - 5000, rc, NULL, 2);
	put(s, &young, "s@example.org", NOW - 10, rc, NULL, 2);
	put(s, &quiet, "s@example.org", NOW - 5000, rc, none, 2);
	put(s, &null, "", NOW - 5000, rc, NULL, 2);
	result(s, old.rcpt[0].id, RCPT_DEFERRED, "451");
	result(s, young.rcpt[0].id, RCPT_DEFERRED, "451");
	result(s, quiet.rcpt[0].id, RCPT_DEFERRED, "451");
	result(s, quiet.rcpt[1].id, RCPT_DEFERRED, "451");
	result(s, null.rcpt[0].id, RCPT_DEFERRED, "451");
	ck_assert_int_eq(store_delay_due(s, NOW - 4000, ids, 8, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ids[0], old.id);
	/* Once warned, not again. */
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_dsn_update(s, old.rcpt[0].id, 0, STORE_DSN_WARNED),
	    0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_delay_due(s, NOW - 4000, ids, 8, &n), 0);
	ck_assert_uint_eq(n, 0);
	env_clear(&old);
	env_clear(&young);
	env_clear(&quiet);
	env_clear(&null);
	store_close(s);
}
END_TEST

struct rows {
	char     ids[8][ULID_LEN + 1];
	uint64_t failed[8];
	size_t   n;
};

static void
collect(const struct store_list_row *r, void *arg)
{
	struct rows *c = arg;

	ck_assert_uint_lt(c->n, 8);
	strlcpy(c->ids[c->n], r->id, sizeof(c->ids[0]));
	c->failed[c->n] = r->by_state[RCPT_FAILED];
	c->n++;
}

START_TEST(list_filters_and_pages)
{
	static const char *const rc[] = { "a@x.example", "b@y.example" };
	struct store *s = open_ok();
	struct envelope e[5];
	struct rows c;
	bool more;
	size_t i;

	for (i = 0; i < 5; i++) {
		put(s, &e[i], "s@example.org", NOW + (int64_t)i, rc, NULL, 2);
		usleep(2000);          /* ids in creation order */
	}
	result(s, e[1].rcpt[0].id, RCPT_FAILED, "550");
	result(s, e[3].rcpt[1].id, RCPT_FAILED, "550");

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_list(s, RCPT_STATE_COUNT, "", 3, collect, &c,
	    &more), 0);
	ck_assert_uint_eq(c.n, 3);
	ck_assert(more);
	ck_assert_str_eq(c.ids[0], e[0].id);
	ck_assert_str_eq(c.ids[2], e[2].id);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_list(s, RCPT_STATE_COUNT, e[2].id, 3, collect, &c,
	    &more), 0);
	ck_assert_uint_eq(c.n, 2);
	ck_assert(!more);
	ck_assert_str_eq(c.ids[0], e[3].id);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_list(s, RCPT_FAILED, "", 10, collect, &c, &more), 0);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_str_eq(c.ids[0], e[1].id);
	ck_assert_str_eq(c.ids[1], e[3].id);
	ck_assert_uint_eq(c.failed[0], 1);
	for (i = 0; i < 5; i++)
		env_clear(&e[i]);
	store_close(s);
}
END_TEST

START_TEST(domains_oldest_and_retry)
{
	static const char *const rc[] = { "a@busy.example", "b@busy.example",
	    "c@calm.example" };
	struct store *s = open_ok();
	struct store_domain_row *rows;
	struct envelope e, f;
	struct store_key keys[4];
	uint64_t nd, n;
	int64_t oldest;
	size_t nr, nk;

	ck_assert_int_eq(store_oldest(s, &oldest), 0);
	ck_assert_int_eq(oldest, 0);
	put(s, &e, "s@example.org", NOW - 300, rc, NULL, 3);
	put(s, &f, "s@example.org", NOW - 100, rc, NULL, 1);
	result(s, e.rcpt[2].id, RCPT_DELIVERED, "250");
	result(s, e.rcpt[0].id, RCPT_DEFERRED, "451");   /* due NOW + 60 */

	ck_assert_int_eq(store_domains(s, 1, &rows, &nr, &nd), 0);
	ck_assert_uint_eq(nd, 2);
	ck_assert_uint_eq(nr, 1);                       /* cut at max */
	ck_assert_str_eq(rows[0].domain, "busy.example");
	ck_assert_uint_eq(rows[0].by_state[RCPT_QUEUED], 2);
	ck_assert_uint_eq(rows[0].by_state[RCPT_DEFERRED], 1);
	free(rows);
	ck_assert_int_eq(store_oldest(s, &oldest), 0);
	ck_assert_int_eq(oldest, NOW - 300);

	/* retry ID: its deferred recipient is due now. */
	ck_assert_int_eq(store_due_keys(s, NOW, keys, 4, &nk), 0);
	ck_assert_uint_eq(nk, 2);     /* e/busy (b), f/busy */
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[1].id, NOW), 0);
	ck_assert_int_eq(store_mark_inflight(s, f.rcpt[0].id, NOW), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_due_keys(s, NOW, keys, 4, &nk), 0);
	ck_assert_uint_eq(nk, 0);
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_retry(s, e.id, NOW, &n), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_uint_eq(n, 1);                        /* a only: b inflight */
	ck_assert_int_eq(store_due_keys(s, NOW, keys, 4, &nk), 0);
	ck_assert_uint_eq(nk, 1);
	ck_assert_str_eq(keys[0].msgid, e.id);
	/* process now: every queued/deferred one not due yet. */
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_retry(s, NULL, NOW, &n), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_uint_eq(n, 0);                        /* a is due already */
	env_clear(&e);
	env_clear(&f);
	store_close(s);
}
END_TEST

static int
count_cb(const char *id, void *arg)
{
	(void)id;
	(*(size_t *)arg)++;
	return 0;
}

START_TEST(removed_table)
{
	static const char *const rc[] = { "a@x.example" };
	struct store *s = open_ok();
	struct envelope e;
	size_t n = 0;

	put(s, &e, "s@example.org", NOW, rc, NULL, 1);
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_remove(s, e.id), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert(!store_has_message(s, e.id));
	/* Survives a crash (reopen) until its file is gone. */
	store_close(s);
	s = open_ok();
	ck_assert_int_eq(store_removed_foreach(s, count_cb, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_removed_done(s, e.id), 0);
	ck_assert_int_eq(store_commit(s), 0);
	n = 0;
	ck_assert_int_eq(store_removed_foreach(s, count_cb, &n), 0);
	ck_assert_uint_eq(n, 0);
	env_clear(&e);
	store_close(s);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("store_query");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, migration_from_schema_1);
	tcase_add_test(tc, migration_from_schema_2);
	tcase_add_test(tc, unknown_schema_refused);
	tcase_add_test(tc, results_are_idempotent);
	tcase_add_test(tc, notices_owed_follow_notify);
	tcase_add_test(tc, notice_waits_for_the_round);
	tcase_add_test(tc, delay_warning_selection);
	tcase_add_test(tc, list_filters_and_pages);
	tcase_add_test(tc, domains_oldest_and_retry);
	tcase_add_test(tc, removed_table);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
