/* SPDX-License-Identifier: ISC */
/* The queue index, second half: what the queue operations, the
 * notifications (bounce.c) and the removal of files need. See store.h. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_int.h"
#include "util.h"

const char *const store_query_sql[QS_COUNT] = {
	/* Walks messages in id order from the cursor; each message's rows
	 * come from the recipients_msg index. */
	[QS_LIST] =
	    "SELECT m.id, m.sender, m.size, m.created,"
	    " coalesce(sum(r.state = 0), 0), coalesce(sum(r.state = 1), 0),"
	    " coalesce(sum(r.state = 2), 0), coalesce(sum(r.state = 3), 0),"
	    " coalesce(sum(r.state = 4), 0),"
	    " min(CASE WHEN r.state IN (0, 2) THEN r.next_attempt END)"
	    " FROM messages m LEFT JOIN recipients r ON r.msgid = m.id"
	    " WHERE m.id > ?1 GROUP BY m.id"
	    " HAVING ?2 < 0 OR coalesce(sum(r.state = ?2), 0) > 0"
	    " ORDER BY m.id LIMIT ?3",
	[QS_RCPT_INFO] =
	    "SELECT id, addr, orcpt, notify, state, attempts, dsn, next_attempt,"
	    " coalesce(last_attempt, 0), updated, last_error, last_host"
	    " FROM recipients WHERE msgid = ?1 ORDER BY id LIMIT ?2",
	[QS_STATS_DOMAINS] =
	    "SELECT domain, sum(state = 0), sum(state = 1), sum(state = 2),"
	    " sum(state = 3), sum(state = 4) FROM recipients GROUP BY domain"
	    " ORDER BY sum(state IN (0, 1, 2)) DESC, count(*) DESC, domain"
	    " LIMIT ?1",
	[QS_COUNT_DOMAINS] = "SELECT count(DISTINCT domain) FROM recipients",
	[QS_OLDEST] = "SELECT coalesce(min(created), 0) FROM messages",
	[QS_RETRY_MSG] =
	    "UPDATE recipients SET next_attempt = ?2"
	    " WHERE msgid = ?1 AND state IN (0, 2)",
	[QS_RETRY_ALL] =
	    "UPDATE recipients SET next_attempt = ?1"
	    " WHERE state IN (0, 2) AND next_attempt > ?1",
	[QS_DSN_UPDATE] =
	    "UPDATE recipients SET dsn = (dsn & ~?2) | ?3 WHERE id = ?1",
	/* The partial index recipients_dsn answers the first condition. */
	[QS_DSN_OWED] =
	    "SELECT DISTINCT r.msgid FROM recipients r WHERE r.dsn & 3 != 0"
	    " AND NOT EXISTS (SELECT 1 FROM recipients w WHERE w.msgid = r.msgid"
	    " AND w.state IN (0, 1)) LIMIT ?1",
	[QS_DELAY_DUE] =
	    "SELECT DISTINCT r.msgid FROM recipients r"
	    " JOIN messages m ON m.id = r.msgid"
	    " WHERE r.state = 2 AND (r.dsn & 4) = 0"
	    " AND (r.notify = 0 OR (r.notify & 8) != 0)"
	    " AND m.created <= ?1 AND m.sender != '' LIMIT ?2",
	[QS_MSG_STATUS] =
	    "SELECT coalesce(sum(state IN (0, 1)), 0),"
	    " coalesce(sum(state IN (0, 1, 2)), 0),"
	    " coalesce(sum(dsn & 3 != 0), 0) FROM recipients WHERE msgid = ?1",
	[QS_REMOVED_ALL] = "SELECT id FROM removed",
	[QS_REMOVED_DEL] = "DELETE FROM removed WHERE id = ?1",
};

static sqlite3_stmt *
qstmt(struct store *s, enum qstmt_id id)
{
	return store_reset(s->qs[id]);
}

static uint64_t
col_u64(sqlite3_stmt *st, int i)
{
	int64_t v = sqlite3_column_int64(st, i);

	return v > 0 ? (uint64_t)v : 0;
}

void
store_rcpts_free(struct store_rcpt *r, size_t n)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(r[i].addr);
		free(r[i].orcpt);
		free(r[i].last_error);
		free(r[i].last_host);
	}
	free(r);
}

int
store_rcpts(struct store *s, const char *msgid, size_t max,
    struct store_rcpt **rcpts, size_t *n, bool *more)
{
	sqlite3_stmt *st = qstmt(s, QS_RCPT_INFO);
	struct store_rcpt *r = NULL, *x;
	size_t cap = 0;
	int rc = SQLITE_DONE;

	*rcpts = NULL;
	*n = 0;
	*more = false;
	store_bind_text(st, 1, msgid);
	/* One more than asked: tells whether there are more. */
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == max) {
			*more = true;
			rc = SQLITE_DONE;
			break;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			r = xreallocarray(r, cap, sizeof(*r));
		}
		x = &r[(*n)++];
		memset(x, 0, sizeof(*x));
		x->id = col_u64(st, 0);
		x->addr = store_col_strdup(st, 1);
		if (x->addr == NULL)
			x->addr = xstrdup("");
		x->orcpt = store_col_strdup(st, 2);
		x->notify = (uint32_t)col_u64(st, 3);
		x->state = (uint32_t)col_u64(st, 4);
		x->attempts = (uint32_t)col_u64(st, 5);
		x->dsn = (uint32_t)col_u64(st, 6);
		x->next_attempt = sqlite3_column_int64(st, 7);
		x->last_attempt = sqlite3_column_int64(st, 8);
		x->updated = sqlite3_column_int64(st, 9);
		x->last_error = store_col_strdup(st, 10);
		x->last_host = store_col_strdup(st, 11);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_serr(s, "load recipients");
		store_rcpts_free(r, *n);
		*n = 0;
		return -1;
	}
	*rcpts = r;
	return 0;
}

int
store_msg_status(struct store *s, const char *msgid,
    struct store_msg_status *ms)
{
	sqlite3_stmt *st = qstmt(s, QS_MSG_STATUS);
	int rc = SQLITE_DONE;

	store_bind_text(st, 1, msgid);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		store_serr(s, "message status");
		sqlite3_reset(st);
		return -1;
	}
	ms->waiting = col_u64(st, 0);
	ms->active = col_u64(st, 1);
	ms->owed = col_u64(st, 2);
	sqlite3_reset(st);
	return 0;
}

int
store_dsn_update(struct store *s, uint64_t rcptid, uint32_t clear, uint32_t set)
{
	sqlite3_stmt *st = qstmt(s, QS_DSN_UPDATE);

	sqlite3_bind_int64(st, 1, (sqlite3_int64)rcptid);
	sqlite3_bind_int64(st, 2, clear);
	sqlite3_bind_int64(st, 3, set);
	return store_run(s, st, "update notification state");
}

/* Collect up to max message ids from a statement already bound. */
static int
collect_ids(struct store *s, sqlite3_stmt *st, char (*ids)[ULID_LEN + 1],
    size_t max, size_t *n, const char *what)
{
	int rc = SQLITE_DONE;

	*n = 0;
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(st, 0);

		if (id != NULL)
			strlcpy(ids[(*n)++], (const char *)id, sizeof(ids[0]));
	}
	if (*n < max && rc != SQLITE_DONE) {
		store_serr(s, what);
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

int
store_dsn_owed(struct store *s, char (*ids)[ULID_LEN + 1], size_t max,
    size_t *n)
{
	sqlite3_stmt *st = qstmt(s, QS_DSN_OWED);

	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	return collect_ids(s, st, ids, max, n, "messages owing a notice");
}

int
store_delay_due(struct store *s, int64_t created_before,
    char (*ids)[ULID_LEN + 1], size_t max, size_t *n)
{
	sqlite3_stmt *st = qstmt(s, QS_DELAY_DUE);

	sqlite3_bind_int64(st, 1, created_before);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	return collect_ids(s, st, ids, max, n, "messages due a delay warning");
}

int
store_list(struct store *s, uint32_t state, const char *after, size_t max,
    void (*cb)(const struct store_list_row *, void *), void *arg, bool *more)
{
	sqlite3_stmt *st = qstmt(s, QS_LIST);
	struct store_list_row row;
	size_t n = 0;
	int rc = SQLITE_DONE, i;

	*more = false;
	store_bind_text(st, 1, after != NULL ? after : "");
	sqlite3_bind_int64(st, 2, state < RCPT_STATE_COUNT ? (int64_t)state : -1);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(st, 0);
		const unsigned char *sender = sqlite3_column_text(st, 1);

		if (n == max) {
			*more = true;
			rc = SQLITE_DONE;
			break;
		}
		memset(&row, 0, sizeof(row));
		strlcpy(row.id, id ? (const char *)id : "", sizeof(row.id));
		row.sender = sender ? (const char *)sender : "";
		row.size = col_u64(st, 2);
		row.created = sqlite3_column_int64(st, 3);
		for (i = 0; i < RCPT_STATE_COUNT; i++)
			row.by_state[i] = col_u64(st, 4 + i);
		row.next_attempt = sqlite3_column_int64(st, 4 + RCPT_STATE_COUNT);
		cb(&row, arg);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_serr(s, "list messages");
		return -1;
	}
	return 0;
}

int
store_domains(struct store *s, size_t max, struct store_domain_row **rows,
    size_t *n, uint64_t *ndomains)
{
	sqlite3_stmt *st = qstmt(s, QS_COUNT_DOMAINS);
	struct store_domain_row *r;
	int rc = SQLITE_DONE, i;

	*rows = NULL;
	*n = 0;
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_serr(s, "count domains");
		sqlite3_reset(st);
		return -1;
	}
	*ndomains = col_u64(st, 0);
	sqlite3_reset(st);

	r = xcalloc(max ? max : 1, sizeof(*r));
	st = qstmt(s, QS_STATS_DOMAINS);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *d = sqlite3_column_text(st, 0);

		strlcpy(r[*n].domain, d ? (const char *)d : "",
		    sizeof(r[*n].domain));
		for (i = 0; i < RCPT_STATE_COUNT; i++)
			r[*n].by_state[i] = col_u64(st, 1 + i);
		(*n)++;
	}
	if (*n < max && rc != SQLITE_DONE) {
		store_serr(s, "count recipients by domain");
		sqlite3_reset(st);
		free(r);
		*n = 0;
		return -1;
	}
	sqlite3_reset(st);
	*rows = r;
	return 0;
}

int
store_oldest(struct store *s, int64_t *created)
{
	sqlite3_stmt *st = qstmt(s, QS_OLDEST);

	if (sqlite3_step(st) != SQLITE_ROW) {
		store_serr(s, "oldest message");
		sqlite3_reset(st);
		return -1;
	}
	*created = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int
store_retry(struct store *s, const char *msgid, int64_t now, uint64_t *n)
{
	sqlite3_stmt *st;

	if (msgid != NULL) {
		st = qstmt(s, QS_RETRY_MSG);
		store_bind_text(st, 1, msgid);
		sqlite3_bind_int64(st, 2, now);
	} else {
		st = qstmt(s, QS_RETRY_ALL);
		sqlite3_bind_int64(st, 1, now);
	}
	if (store_run(s, st, "make recipients due") == -1)
		return -1;
	*n = (uint64_t)sqlite3_changes(s->db);
	return 0;
}

int
store_removed_foreach(struct store *s, int (*cb)(const char *msgid, void *),
    void *arg)
{
	return store_foreach_id(s, qstmt(s, QS_REMOVED_ALL), cb, arg,
	    "list removed messages");
}

int
store_removed_done(struct store *s, const char *msgid)
{
	sqlite3_stmt *st = qstmt(s, QS_REMOVED_DEL);

	store_bind_text(st, 1, msgid);
	return store_run(s, st, "forget removed message");
}
