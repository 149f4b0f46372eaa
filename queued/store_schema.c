/* SPDX-License-Identifier: ISC */
/* The queue index's schema: created in an empty database, migrated from
 * an older version inside the opening transaction (store.c check_db). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "log.h"
#include "store_int.h"

/* Schema 3, as created in a new spool. */
static const char schema_sql[] =
    "CREATE TABLE meta ("
    " key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE messages ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " sender TEXT NOT NULL,"
    " helo TEXT, client_addr TEXT, client_name TEXT,"
    " body TEXT, envid TEXT,"
    " ret INTEGER NOT NULL DEFAULT 0,"
    " smtputf8 INTEGER NOT NULL DEFAULT 0,"
    " size INTEGER NOT NULL,"
    " created INTEGER NOT NULL,"
    " meta TEXT, headers TEXT);"
    "CREATE TABLE recipients ("
    " id INTEGER PRIMARY KEY,"
    " msgid TEXT NOT NULL REFERENCES messages(id),"
    " addr TEXT NOT NULL, orcpt TEXT,"
    " notify INTEGER NOT NULL DEFAULT 0,"
    " domain TEXT NOT NULL,"
    " state INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt INTEGER NOT NULL,"
    " last_error TEXT, last_host TEXT,"
    " updated INTEGER NOT NULL,"
    " dsn INTEGER NOT NULL DEFAULT 0,"
    " last_attempt INTEGER);"
    "CREATE TABLE removed (id TEXT PRIMARY KEY NOT NULL);"
    "CREATE INDEX recipients_due ON recipients (state, next_attempt);"
    "CREATE INDEX recipients_msg ON recipients (msgid, domain);"
    "CREATE INDEX recipients_dsn ON recipients (msgid) WHERE dsn & 3 != 0;"
    "INSERT INTO meta (key, value) VALUES ('schema', '3');"
    "INSERT INTO meta (key, value) VALUES ('frozen', '0');";

/* Schema 1 (the first release) to 2: DSN bookkeeping, the last attempt's
 * time, and the ids of removed messages whose file may remain. */
static const char migrate_1_2_sql[] =
    "ALTER TABLE recipients ADD COLUMN dsn INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE recipients ADD COLUMN last_attempt INTEGER;"
    "CREATE TABLE removed (id TEXT PRIMARY KEY NOT NULL);"
    "CREATE INDEX recipients_dsn ON recipients (msgid) WHERE dsn & 3 != 0;"
    "UPDATE meta SET value = '2' WHERE key = 'schema';";

/* Schema 2 to 3: the plugin metadata and the header fields plugins
 * added (struct envelope meta and headers), kept with the message so
 * that every delivery job carries them, after restarts too. */
static const char migrate_2_3_sql[] =
    "ALTER TABLE messages ADD COLUMN meta TEXT;"
    "ALTER TABLE messages ADD COLUMN headers TEXT;"
    "UPDATE meta SET value = '3' WHERE key = 'schema';";

/* One integer from a query without parameters; -1 when there is no row. */
static int64_t
query_int(struct store *s, const char *sql, bool *ok)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	int rc;

	*ok = false;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			v = sqlite3_column_int64(st, 0);
		*ok = true;
	} else if (rc == SQLITE_DONE)
		*ok = true;
	sqlite3_finalize(st);
	return v;
}

/* Inside a write transaction: create the schema in an empty database,
 * migrate an older one, refuse anything else. */
int
store_schema_prepare(struct store *s, char *err, size_t errlen)
{
	int64_t tables, version;
	bool ok;

	tables = query_int(s, "SELECT count(*) FROM sqlite_master", &ok);
	if (!ok)
		goto sqlerr;
	if (tables == 0) {
		if (store_exec(s, schema_sql) == -1)
			goto sqlerr;
		return 0;
	}
	if (query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	    " AND name = 'meta'", &ok) != 1) {
		if (!ok)
			goto sqlerr;
		snprintf(err, errlen, "not an Empath queue (no meta table)");
		return -1;
	}
	version = query_int(s, "SELECT CAST(value AS INTEGER) FROM meta"
	    " WHERE key = 'schema'", &ok);
	if (!ok)
		goto sqlerr;
	if (version == 1) {
		if (store_exec(s, migrate_1_2_sql) == -1)
			goto sqlerr;
		log_info("queue database: schema 1 migrated to 2");
		version = 2;
	}
	if (version == 2) {
		if (store_exec(s, migrate_2_3_sql) == -1)
			goto sqlerr;
		log_info("queue database: schema 2 migrated to 3");
		version = 3;
	}
	if (version != STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "schema version %lld, this queued knows %d",
		    (long long)version, STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
sqlerr:
	snprintf(err, errlen, "cannot read or create the schema: %s",
	    sqlite3_errmsg(s->db));
	return -1;
}

