/* SPDX-License-Identifier: ISC */
/* The queue index (queued/store.c) and the retry policy (queued/retry.c):
 * messages and recipients survive a round trip and a reopen, due selection
 * follows state and next_attempt, backoff doubles up to its cap and ends in
 * failure, recovery requeues inflight recipients, finished messages go, and
 * a damaged database is refused rather than recreated. */
#include <check.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "envelope.h"
#include "proto.h"
#include "../../queued/retry.h"
#include "../../queued/store.h"
#include "ulid.h"
#include "util.h"

#define NOW 1764072000

static const char *dir;
static char dbpath[PATH_MAX];

static void
setup(void)
{
	dir = fx_tmpdir("store");
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

/* A message for alice with recipients in two domains (one spelled in
 * upper case) committed at `created`. */
static void
make_env(struct envelope *e, int64_t created)
{
	struct env_rcpt *r;

	env_init(e);
	ulid_new(e->id);
	e->sender = xstrdup("alice@example.org");
	e->helo = xstrdup("client.example.net");
	e->client_addr = xstrdup("192.0.2.7");
	e->client_name = xstrdup("client.example.net");
	e->body = xstrdup("8BITMIME");
	e->envid = xstrdup("ENV42");
	e->ret = DSN_RET_HDRS;
	e->size = 4096;
	e->created = created;
	r = env_add_rcpt(e, "bob@Example.COM");
	r->orcpt = xstrdup("rfc822;bob@example.com");
	r->notify = DSN_NOTIFY_FAILURE;
	env_add_rcpt(e, "carol@example.com");
	env_add_rcpt(e, "dave@test.example.net");
}

static void
insert(struct store *s, struct envelope *e, int64_t now)
{
	ck_assert_int_eq(store_begin(s, true), 0);
	ck_assert_int_eq(store_insert(s, e, now), 0);
	ck_assert_int_eq(store_commit(s), 0);
}

static uint64_t
count_state(struct store *s, uint32_t state)
{
	uint64_t m, r, by[RCPT_STATE_COUNT];

	ck_assert_int_eq(store_counts(s, &m, &r, by), 0);
	return by[state];
}

START_TEST(insert_and_load)
{
	struct store *s = open_ok();
	struct envelope e, l;
	uint64_t m, r, by[RCPT_STATE_COUNT];

	make_env(&e, NOW);
	insert(s, &e, NOW);
	ck_assert(e.rcpt[0].id != 0);
	ck_assert(e.rcpt[0].id != e.rcpt[1].id && e.rcpt[1].id != e.rcpt[2].id);

	/* Survives closing and reopening the database. */
	store_close(s);
	s = open_ok();
	env_init(&l);
	ck_assert_int_eq(store_load(s, e.id, &l, true), 0);
	ck_assert_str_eq(l.id, e.id);
	ck_assert_str_eq(l.sender, "alice@example.org");
	ck_assert_str_eq(l.helo, "client.example.net");
	ck_assert_str_eq(l.client_addr, "192.0.2.7");
	ck_assert_str_eq(l.body, "8BITMIME");
	ck_assert_str_eq(l.envid, "ENV42");
	ck_assert_uint_eq(l.ret, DSN_RET_HDRS);
	ck_assert_uint_eq(l.size, 4096);
	ck_assert_int_eq(l.created, NOW);
	ck_assert_uint_eq(l.nrcpt, 3);
	ck_assert_uint_eq(l.rcpt[0].id, e.rcpt[0].id);
	ck_assert_str_eq(l.rcpt[0].addr, "bob@Example.COM");
	ck_assert_str_eq(l.rcpt[0].orcpt, "rfc822;bob@example.com");
	ck_assert_uint_eq(l.rcpt[0].notify, DSN_NOTIFY_FAILURE);
	ck_assert_ptr_null(l.rcpt[1].orcpt);
	ck_assert_str_eq(l.rcpt[2].addr, "dave@test.example.net");
	ck_assert_uint_eq(l.rcpt[2].state, RCPT_QUEUED);
	ck_assert_uint_eq(l.rcpt[2].attempts, 0);
	ck_assert(store_has_message(s, e.id));

	ck_assert_int_eq(store_counts(s, &m, &r, by), 0);
	ck_assert_uint_eq(m, 1);
	ck_assert_uint_eq(r, 3);
	ck_assert_uint_eq(by[RCPT_QUEUED], 3);

	env_clear(&l);
	env_init(&l);
	ck_assert_int_eq(store_load(s, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &l, true), 1);
	ck_assert(!store_has_message(s, "01ARZ3NDEKTSV4RRFFQ69G5FAV"));
	env_clear(&l);
	env_clear(&e);
	store_close(s);
}
END_TEST

/* A failed insert inside a savepoint takes nothing else with it: the
 * group commit depends on this. */
START_TEST(savepoint_isolates_one_message)
{
	struct store *s = open_ok();
	struct envelope a, b, l;

	make_env(&a, NOW);
	make_env(&b, NOW);
	insert(s, &a, NOW);

	ck_assert_int_eq(store_begin(s, true), 0);
	ck_assert_int_eq(store_savepoint(s), 0);
	ck_assert_int_eq(store_insert(s, &a, NOW), -1);   /* duplicate id */
	store_rollback_to(s);
	ck_assert_int_eq(store_savepoint(s), 0);
	ck_assert_int_eq(store_insert(s, &b, NOW), 0);
	ck_assert_int_eq(store_release(s), 0);
	ck_assert_int_eq(store_commit(s), 0);

	env_init(&l);
	ck_assert_int_eq(store_load(s, a.id, &l, true), 0);
	ck_assert_uint_eq(l.nrcpt, 3);          /* not 6 */
	env_clear(&l);
	env_init(&l);
	ck_assert_int_eq(store_load(s, b.id, &l, true), 0);
	ck_assert_uint_eq(l.nrcpt, 3);
	env_clear(&l);
	env_clear(&a);
	env_clear(&b);
	store_close(s);
}
END_TEST

START_TEST(due_selection)
{
	struct store *s = open_ok();
	struct store_key keys[8];
	struct envelope e, f, j;
	size_t n;

	make_env(&e, NOW);
	insert(s, &e, NOW);

	/* One key per (message, domain), the domain folded to lower case. */
	ck_assert_int_eq(store_due_keys(s, NOW, keys, 8, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(keys[0].msgid, e.id);
	ck_assert((strcmp(keys[0].domain, "example.com") == 0 &&
	    strcmp(keys[1].domain, "test.example.net") == 0) ||
	    (strcmp(keys[1].domain, "example.com") == 0 &&
	    strcmp(keys[0].domain, "test.example.net") == 0));
	/* Nothing is due before it was queued. */
	ck_assert_int_eq(store_due_keys(s, NOW - 1, keys, 8, &n), 0);
	ck_assert_uint_eq(n, 0);

	/* bob deferred to NOW+100, carol inflight, dave delivered: results
	 * apply to recipients handed out (inflight). */
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[0].id, NOW), 0);
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[1].id, NOW), 0);
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[2].id, NOW), 0);
	ck_assert_int_eq(store_rcpt_update(s, e.rcpt[0].id, RCPT_DEFERRED, 1,
	    NOW + 100, "451 try later", "mx.example.com", NOW), 0);
	ck_assert_int_eq(store_rcpt_update(s, e.rcpt[2].id, RCPT_DELIVERED, 1,
	    0, "250 ok", "mx.test.example.net", NOW), 0);
	ck_assert_int_eq(store_commit(s), 0);

	ck_assert_int_eq(store_due_keys(s, NOW + 99, keys, 8, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_due_keys(s, NOW + 100, keys, 8, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(keys[0].domain, "example.com");
	ck_assert_int_eq(keys[0].next_attempt, NOW + 100);

	/* The job for example.com holds bob only: carol is inflight. */
	env_init(&j);
	ck_assert_int_eq(store_due_rcpts(s, e.id, "example.com", NOW + 100, 100,
	    &j), 0);
	ck_assert_uint_eq(j.nrcpt, 1);
	ck_assert_uint_eq(j.rcpt[0].id, e.rcpt[0].id);
	ck_assert_uint_eq(j.rcpt[0].attempts, 1);
	ck_assert_uint_eq(j.rcpt[0].state, RCPT_DEFERRED);
	env_clear(&j);

	/* Earliest due first across states, and the max is honoured. */
	make_env(&f, NOW - 50);
	insert(s, &f, NOW - 50);
	ck_assert_int_eq(store_due_keys(s, NOW + 100, keys, 1, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(keys[0].msgid, f.id);
	ck_assert_int_eq(store_due_keys(s, NOW + 100, keys, 8, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(keys[2].msgid, e.id);

	/* Row limit of a job. */
	env_init(&j);
	ck_assert_int_eq(store_due_rcpts(s, f.id, "example.com", NOW, 1, &j), 0);
	ck_assert_uint_eq(j.nrcpt, 1);
	env_clear(&j);

	env_clear(&e);
	env_clear(&f);
	store_close(s);
}
END_TEST

START_TEST(backoff)
{
	struct cfg_delivery d;
	const char *why;
	int64_t next;

	memset(&d, 0, sizeof(d));
	d.retry_initial = 60;
	d.retry_max = 4 * 3600;
	d.max_attempts = 5;
	d.expire = 5 * 86400;

	ck_assert_uint_eq(retry_delay(&d, 1), 60);
	ck_assert_uint_eq(retry_delay(&d, 2), 120);
	ck_assert_uint_eq(retry_delay(&d, 3), 240);
	ck_assert_uint_eq(retry_delay(&d, 8), 7680);
	ck_assert_uint_eq(retry_delay(&d, 9), 4 * 3600);    /* 15360 capped */
	ck_assert_uint_eq(retry_delay(&d, 4000000000u), 4 * 3600);

	/* With jitter: within 10% of the doubled delay. */
	ck_assert_uint_eq(retry_after_defer(&d, 1, NOW, NOW, &next, &why),
	    RCPT_DEFERRED);
	ck_assert_int_ge(next, NOW + 54);
	ck_assert_int_le(next, NOW + 66);
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(retry_after_defer(&d, 4, NOW, NOW + 10, &next, &why),
	    RCPT_DEFERRED);
	ck_assert_int_ge(next, NOW + 10 + 432);
	ck_assert_int_le(next, NOW + 10 + 528);
	/* The max-attempts-th failure is the last. */
	ck_assert_uint_eq(retry_after_defer(&d, 5, NOW, NOW, &next, &why),
	    RCPT_FAILED);
	ck_assert_ptr_nonnull(why);
	/* Past the queue lifetime: failed whatever the count. */
	d.max_attempts = 100;
	ck_assert_uint_eq(retry_after_defer(&d, 2, NOW, NOW + 5 * 86400, &next,
	    &why), RCPT_FAILED);
	ck_assert_ptr_nonnull(why);
	/* Close to the end: one last attempt right at the deadline. */
	ck_assert_uint_eq(retry_after_defer(&d, 20, NOW, NOW + 5 * 86400 - 10,
	    &next, &why), RCPT_DEFERRED);
	ck_assert_int_eq(next, NOW + 5 * 86400);
	/* max-attempts 0 and expire 0: no limit. */
	d.max_attempts = 0;
	d.expire = 0;
	ck_assert_uint_eq(retry_after_defer(&d, 1000, NOW, NOW + 365 * 86400,
	    &next, &why), RCPT_DEFERRED);
	ck_assert_int_ge(next, NOW + 365 * 86400 + 4 * 3600 - 1440);
	ck_assert_int_le(next, NOW + 365 * 86400 + 4 * 3600 + 1440);
}
END_TEST

/* The jitter spreads retries over +-10%, both ways, and leaves short
 * delays alone. */
START_TEST(jitter)
{
	bool below = false, above = false;
	uint64_t v;
	uint32_t i;

	ck_assert_uint_eq(retry_jitter(1000, 0), 900);
	ck_assert_uint_eq(retry_jitter(1000, 200), 1100);
	ck_assert_uint_eq(retry_jitter(1000, 201), 900);     /* wraps */
	ck_assert_uint_eq(retry_jitter(4, 12345), 4);
	ck_assert_uint_eq(retry_jitter(0, 7), 0);
	for (i = 0; i < 200; i++) {
		v = retry_jitter(3600, arc4random());
		ck_assert_uint_ge(v, 3240);
		ck_assert_uint_le(v, 3960);
		below |= v < 3500;
		above |= v > 3700;
	}
	ck_assert(below && above);
}
END_TEST

START_TEST(recovery_requeues_inflight)
{
	struct store *s = open_ok();
	struct store_key keys[4];
	struct envelope e, l;
	uint64_t n;
	size_t nk;

	make_env(&e, NOW);
	insert(s, &e, NOW);
	ck_assert_int_eq(store_begin(s, false), 0);
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[0].id, NOW), 0);
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[2].id, NOW), 0);
	/* A deferred recipient that was handed out again keeps its count. */
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[1].id, NOW), 0);
	ck_assert_int_eq(store_rcpt_update(s, e.rcpt[1].id, RCPT_DEFERRED, 3,
	    NOW + 999, "421 busy", NULL, NOW), 0);
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[1].id, NOW), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_uint_eq(count_state(s, RCPT_INFLIGHT), 3);
	ck_assert_int_eq(store_due_keys(s, NOW + 1000, keys, 4, &nk), 0);
	ck_assert_uint_eq(nk, 0);

	/* As at start-up after a crash: reopen, then recover. */
	store_close(s);
	s = open_ok();
	ck_assert_int_eq(store_begin(s, true), 0);
	ck_assert_int_eq(store_recover_inflight(s, NOW + 5, &n), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(count_state(s, RCPT_INFLIGHT), 0);
	ck_assert_uint_eq(count_state(s, RCPT_QUEUED), 3);
	/* Due now, not at their old next attempt. */
	ck_assert_int_eq(store_due_keys(s, NOW + 5, keys, 4, &nk), 0);
	ck_assert_uint_eq(nk, 2);
	env_init(&l);
	ck_assert_int_eq(store_load(s, e.id, &l, true), 0);
	ck_assert_uint_eq(l.rcpt[1].attempts, 3);
	env_clear(&l);

	/* Nothing inflight: recovery is a no-op. */
	ck_assert_int_eq(store_begin(s, true), 0);
	ck_assert_int_eq(store_recover_inflight(s, NOW + 6, &n), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_uint_eq(n, 0);
	env_clear(&e);
	store_close(s);
}
END_TEST

START_TEST(removal_when_final)
{
	struct store *s = open_ok();
	struct envelope e, l;
	uint64_t active, m, r, by[RCPT_STATE_COUNT];

	make_env(&e, NOW);
	insert(s, &e, NOW);
	ck_assert_int_eq(store_active_count(s, e.id, &active), 0);
	ck_assert_uint_eq(active, 3);

	ck_assert_int_eq(store_begin(s, true), 0);
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[0].id, NOW), 0);
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[1].id, NOW), 0);
	ck_assert_int_eq(store_rcpt_update(s, e.rcpt[0].id, RCPT_DELIVERED, 1, 0,
	    "250 ok", "mx", NOW), 0);
	ck_assert_int_eq(store_rcpt_update(s, e.rcpt[1].id, RCPT_DEFERRED, 1,
	    NOW + 60, "451 later", "mx", NOW), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_active_count(s, e.id, &active), 0);
	ck_assert_uint_eq(active, 2);

	/* Last error and host are kept when an update gives none. */
	ck_assert_int_eq(store_begin(s, true), 0);
	ck_assert_int_eq(store_mark_inflight(s, e.rcpt[1].id, NOW), 0);
	ck_assert_int_eq(store_rcpt_update(s, e.rcpt[1].id, RCPT_FAILED, 2, 0,
	    NULL, NULL, NOW), 0);
	ck_assert_int_eq(store_fail_message(s, e.id, "message file missing",
	    NOW), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_active_count(s, e.id, &active), 0);
	ck_assert_uint_eq(active, 0);
	env_init(&l);
	ck_assert_int_eq(store_load(s, e.id, &l, true), 0);
	ck_assert_uint_eq(l.rcpt[0].state, RCPT_DELIVERED);  /* not failed */
	ck_assert_uint_eq(l.rcpt[1].state, RCPT_FAILED);
	ck_assert_uint_eq(l.rcpt[2].state, RCPT_FAILED);
	env_clear(&l);

	ck_assert_int_eq(store_begin(s, true), 0);
	ck_assert_int_eq(store_remove(s, e.id), 0);
	ck_assert_int_eq(store_commit(s), 0);
	env_init(&l);
	ck_assert_int_eq(store_load(s, e.id, &l, true), 1);
	env_clear(&l);
	ck_assert_int_eq(store_counts(s, &m, &r, by), 0);
	ck_assert_uint_eq(m, 0);
	ck_assert_uint_eq(r, 0);
	env_clear(&e);
	store_close(s);
}
END_TEST

START_TEST(rollback_discards)
{
	struct store *s = open_ok();
	struct envelope e;
	uint64_t m, r, by[RCPT_STATE_COUNT];

	make_env(&e, NOW);
	ck_assert_int_eq(store_begin(s, true), 0);
	ck_assert_int_eq(store_insert(s, &e, NOW), 0);
	store_rollback(s);
	ck_assert(!store_in_txn(s));
	ck_assert_int_eq(store_counts(s, &m, &r, by), 0);
	ck_assert_uint_eq(m, 0);
	ck_assert_uint_eq(r, 0);
	env_clear(&e);
	store_close(s);
}
END_TEST

START_TEST(frozen_flag)
{
	struct store *s = open_ok();
	bool frozen = true;

	ck_assert_int_eq(store_get_frozen(s, &frozen), 0);
	ck_assert(!frozen);
	ck_assert_int_eq(store_begin(s, true), 0);
	ck_assert_int_eq(store_set_frozen(s, true), 0);
	ck_assert_int_eq(store_commit(s), 0);
	store_close(s);
	s = open_ok();
	ck_assert_int_eq(store_get_frozen(s, &frozen), 0);
	ck_assert(frozen);
	store_close(s);
}
END_TEST

/* A file that is not a database, or a damaged one, is refused with a
 * reason, and left as it was. */
START_TEST(corrupt_database_refused)
{
	static const char junk[] = "this is not an sqlite database, but it is "
	    "long enough to have a header............................................"
	    "........................................................................";
	char err[256] = "", buf[sizeof(junk)];
	struct store *s;
	int fd;

	fd = open(dbpath, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	s = store_open(dbpath, err, sizeof(err));
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, dbpath) != NULL, "error names the file: %s", err);
	fd = open(dbpath, O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), (ssize_t)sizeof(junk));
	close(fd);
	ck_assert_int_eq(memcmp(buf, junk, sizeof(junk)), 0);
}
END_TEST

/* A real database with a damaged page is refused too. */
START_TEST(damaged_pages_refused)
{
	struct store *s = open_ok();
	struct envelope e;
	char err[256] = "", page[4096];
	int fd, i;

	/* Enough rows to spread over several pages. */
	for (i = 0; i < 200; i++) {
		make_env(&e, NOW);
		insert(s, &e, NOW);
		env_clear(&e);
	}
	store_close(s);     /* checkpoints the WAL into the main file */
	memset(page, 0xA5, sizeof(page));
	fd = open(dbpath, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, page, sizeof(page), 4096 * 3),
	    (ssize_t)sizeof(page));
	close(fd);
	s = store_open(dbpath, err, sizeof(err));
	ck_assert_msg(s == NULL, "a damaged database was accepted");
	ck_assert(err[0] != '\0');
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, insert_and_load);
	tcase_add_test(tc, savepoint_isolates_one_message);
	tcase_add_test(tc, due_selection);
	tcase_add_test(tc, backoff);
	tcase_add_test(tc, jitter);
	tcase_add_test(tc, recovery_requeues_inflight);
	tcase_add_test(tc, removal_when_final);
	tcase_add_test(tc, rollback_discards);
	tcase_add_test(tc, frozen_flag);
	tcase_add_test(tc, corrupt_database_refused);
	tcase_add_test(tc, damaged_pages_refused);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(store_suite);
