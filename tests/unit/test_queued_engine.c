/* SPDX-License-Identifier: ISC */
/* queued as an engine (queued_engine.h): receptions answered only once
 * durable, commits sharing a sync, jobs handed to deliverd and their
 * results (delivered, deferred and retried, failed with a notice to the
 * sender), jobs in flight when deliverd restarts, and the queue
 * operations of ctld. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "queued_engine.h"

#define MSG_TEXT \
	"From: alice@sender.test\r\nTo: bob@dest.test\r\n" \
	"Subject: engine\r\n\r\nHello.\r\n"

static const char *const to_bob[] = { "bob@dest.test", NULL };
static const char *const to_both[] = { "bob@dest.test", "carol@dest.test",
	NULL };

static void
write_text(int fd, const char *text)
{
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

/* The commit is answered only after the sync that makes it durable has
 * returned: while that sync is held, no answer. */
START_TEST(commit_ok_waits_for_the_sync)
{
	char id[ULID_LEN + 1], *kept;
	struct wire_msgid ok;
	struct wire_fail fail;
	uint32_t req;
	int fd;

	qe_sync_hold(true);
	fd = qe_created(qe_create(), id);
	write_text(fd, MSG_TEXT);
	close(fd);
	req = qe_commit(id, "alice@sender.test", to_bob, strlen(MSG_TEXT));
	fx_until(qe_syncs_held() > 0 || qe_smtpd->nmsgs > 0, FX_WAIT_MS);
	fx_run_for(100);
	ck_assert_msg(fx_peer_take(qe_smtpd, Q_COMMIT_OK, 0) == NULL,
	    "Q_COMMIT_OK sent while the sync was still running");
	ck_assert_msg(fx_peer_take(qe_smtpd, Q_COMMIT_FAIL, 0) == NULL,
	    "the commit failed while the sync was still running");
	qe_sync_hold(false);
	ck_assert_uint_eq(qe_committed(req, &ok, &fail), Q_COMMIT_OK);
	ck_assert_str_eq(ok.msgid, id);
	ck_assert(qe_in_queue(id));
	kept = qe_queue_file(id);
	ck_assert_str_eq(kept, MSG_TEXT);
	free(kept);
}
END_TEST

/* A sync that fails leaves the commit unconfirmed: the client is told
 * to try again (451), and the copy in the queue is still delivered. */
START_TEST(commit_fails_when_the_sync_fails)
{
	char id[ULID_LEN + 1], *text;
	struct wire_msgid ok;
	struct wire_fail fail;
	struct qe_job j;
	uint32_t req;
	int fd;

	qe_sync_fail(EIO);
	fd = qe_created(qe_create(), id);
	write_text(fd, MSG_TEXT);
	close(fd);
	req = qe_commit(id, "alice@sender.test", to_bob, strlen(MSG_TEXT));
	ck_assert_uint_eq(qe_committed(req, &ok, &fail), Q_COMMIT_FAIL);
	ck_assert_uint_eq(fail.code, 451);
	ck_assert_msg(strncmp(fail.text, "4.", 2) == 0, "text '%s'", fail.text);
	qe_sync_fail(0);
	qe_job_next(&j, FX_WAIT_MS);
	ck_assert_str_eq(j.env.id, id);
	text = qe_job_text(&j);
	ck_assert_str_eq(text, MSG_TEXT);
	free(text);
	qe_job_free(&j);
}
END_TEST

/* Commits that arrive together are confirmed by fewer syncs than there
 * are messages: the pipeline groups them. */
START_TEST(commits_arriving_together_share_syncs)
{
	enum { N = 8 };
	char id[N][ULID_LEN + 1];
	uint32_t create[N], commit[N];
	struct wire_msgid ok;
	struct wire_fail fail;
	unsigned before;
	int fd, i, k;

	for (i = 0; i < N; i++)
		create[i] = qe_create();
	for (i = 0; i < N; i++) {
		fd = qe_created(create[i], id[i]);
		write_text(fd, MSG_TEXT);
		close(fd);
		for (k = 0; k < i; k++)
			ck_assert_str_ne(id[k], id[i]);
	}
	before = qe_syncs();
	for (i = 0; i < N; i++)
		commit[i] = qe_commit(id[i], "alice@sender.test", to_bob,
		    strlen(MSG_TEXT));
	for (i = 0; i < N; i++) {
		ck_assert_uint_eq(qe_committed(commit[i], &ok, &fail),
		    Q_COMMIT_OK);
		ck_assert_str_eq(ok.msgid, id[i]);
		ck_assert(qe_in_queue(id[i]));
	}
	ck_assert_uint_ge(qe_syncs() - before, 1);
	ck_assert_msg(qe_syncs() - before < N, "%u syncs for %d commits",
	    qe_syncs() - before, N);
}
END_TEST

/* The message reaches deliverd as a read-only descriptor on its file and
 * an envelope of one domain; delivered everywhere, it leaves the queue. */
START_TEST(job_delivered_leaves_the_queue)
{
	static const uint32_t st[] = { RCPT_DELIVERED, RCPT_DELIVERED };
	static const char *const diag[] = { "250 2.0.0 ok", "250 2.0.0 ok" };
	char id[ULID_LEN + 1], *text;
	struct qe_job j;
	int flags;

	qe_receive(id, "alice@sender.test", to_both, MSG_TEXT);
	qe_job_next(&j, FX_WAIT_MS);
	ck_assert_str_eq(j.env.id, id);
	ck_assert_str_eq(j.env.sender, "alice@sender.test");
	ck_assert_uint_eq(j.env.size, strlen(MSG_TEXT));
	ck_assert_uint_eq(j.env.nrcpt, 2);
	ck_assert_str_eq(j.env.rcpt[0].addr, "bob@dest.test");
	ck_assert_str_eq(j.env.rcpt[1].addr, "carol@dest.test");
	ck_assert_uint_ne(j.env.rcpt[0].id, 0);
	ck_assert_uint_ne(j.env.rcpt[0].id, j.env.rcpt[1].id);
	ck_assert_uint_eq(j.env.rcpt[0].attempts, 0);
	flags = fcntl(j.fd, F_GETFL);
	ck_assert_int_ne(flags, -1);
	ck_assert_int_eq(flags & O_ACCMODE, O_RDONLY);
	text = qe_job_text(&j);
	ck_assert_str_eq(text, MSG_TEXT);
	free(text);
	qe_result(&j, st, diag);
	fx_until(!qe_in_queue(id), FX_WAIT_MS);
	/* Nothing more to do: no job, no notice. */
	qe_job_free(&j);
	ck_assert(!qe_job_within(&j, 300));
}
END_TEST

/* A deferred recipient comes back after the retry delay, its attempt
 * counted; the delivered one does not come back. */
START_TEST(job_deferred_comes_back)
{
	static const uint32_t st[] = { RCPT_DELIVERED, RCPT_DEFERRED };
	static const char *const diag[] = { "250 2.0.0 ok",
		"451 4.7.1 try later" };
	char id[ULID_LEN + 1];
	struct qe_job j, again;

	qe_receive(id, "alice@sender.test", to_both, MSG_TEXT);
	qe_job_next(&j, FX_WAIT_MS);
	qe_result(&j, st, diag);
	/* retry initial 2s (whole seconds: at least 1 s from now): not at
	 * once. */
	ck_assert(!qe_job_within(&again, 300));
	qe_job_next(&again, FX_WAIT_MS);
	ck_assert_str_eq(again.env.id, id);
	ck_assert_uint_eq(again.env.nrcpt, 1);
	ck_assert_str_eq(again.env.rcpt[0].addr, "carol@dest.test");
	ck_assert_uint_eq(again.env.rcpt[0].id, j.env.rcpt[1].id);
	ck_assert_uint_eq(again.env.rcpt[0].attempts, 1);
	ck_assert(qe_in_queue(id));
	qe_job_free(&again);
	qe_job_free(&j);
}
END_TEST

/* A recipient that failed for good is owed a notice: a new message from
 * <> to the sender, a delivery status report naming the recipient and
 * the diagnostic; the original leaves the queue. */
START_TEST(failed_recipient_gets_a_notice_to_the_sender)
{
	static const uint32_t st[] = { RCPT_DELIVERED, RCPT_FAILED };
	static const char *const diag[] = { "250 2.0.0 ok",
		"550 5.1.1 no such user here" };
	char id[ULID_LEN + 1], *text;
	struct qe_job j, notice;

	qe_receive(id, "alice@sender.test", to_both, MSG_TEXT);
	qe_job_next(&j, FX_WAIT_MS);
	qe_result(&j, st, diag);
	qe_job_next(&notice, FX_WAIT_MS);
	ck_assert_str_ne(notice.env.id, id);
	ck_assert_str_eq(notice.env.sender, "");
	ck_assert_uint_eq(notice.env.nrcpt, 1);
	ck_assert_str_eq(notice.env.rcpt[0].addr, "alice@sender.test");
	text = qe_job_text(&notice);
	ck_assert_msg(strstr(text, "multipart/report") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "carol@dest.test") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "5.1.1") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "Subject: engine") != NULL,
	    "the original's header is not returned: %s", text);
	free(text);
	fx_until(!qe_in_queue(id), FX_WAIT_MS);
	qe_job_free(&notice);
	qe_job_free(&j);
}
END_TEST

/* deliverd restarts with a job in flight (the master offers a new
 * channel): the job's recipients are queued again and go to the new
 * deliverd, their attempt not counted. */
START_TEST(jobs_in_flight_go_to_a_restarted_deliverd)
{
	char id[ULID_LEN + 1];
	struct qe_job j, again;

	qe_receive(id, "alice@sender.test", to_both, MSG_TEXT);
	qe_job_next(&j, FX_WAIT_MS);
	fx_peer_free(qe_deliverd);
	qe_deliverd = fx_peer_new(fx_engine_peer(PROC_DELIVERD),
	    "fake-deliverd");
	qe_job_next(&again, FX_WAIT_MS);
	ck_assert_str_eq(again.env.id, id);
	ck_assert_uint_eq(again.env.nrcpt, 2);
	ck_assert_uint_eq(again.env.rcpt[0].id, j.env.rcpt[0].id);
	ck_assert_uint_eq(again.env.rcpt[0].attempts, 0);
	qe_job_free(&again);
	qe_job_free(&j);
}
END_TEST

/* ctld lists the queue and deletes a message: it leaves the list and
 * the spool; an unknown id is an error. */
START_TEST(ops_list_and_delete)
{
	char id1[ULID_LEN + 1], id2[ULID_LEN + 1], ids[4][ULID_LEN + 1];
	uint64_t n;

	qe_receive(id1, "alice@sender.test", to_bob, MSG_TEXT);
	qe_receive(id2, "alice@sender.test", to_bob, MSG_TEXT);
	ck_assert(qe_op(QE_LIST, NULL, &n, ids, 4));
	ck_assert_uint_eq(n, 2);
	ck_assert((strcmp(ids[0], id1) == 0 && strcmp(ids[1], id2) == 0) ||
	    (strcmp(ids[0], id2) == 0 && strcmp(ids[1], id1) == 0));
	ck_assert(qe_op(QE_DELETE, id1, &n, NULL, 0));
	ck_assert_uint_eq(n, 1);
	ck_assert(qe_op(QE_LIST, NULL, &n, ids, 4));
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ids[0], id2);
	fx_until(!qe_in_queue(id1), FX_WAIT_MS);
	ck_assert(qe_in_queue(id2));
	/* Gone: deleting it again is an error. */
	ck_assert(!qe_op(QE_DELETE, id1, &n, NULL, 0));
}
END_TEST

/* ctld's retry makes a deferred recipient due now. */
START_TEST(ops_retry_makes_deferred_due)
{
	static const uint32_t st[] = { RCPT_DEFERRED };
	static const char *const diag[] = { "421 4.4.2 timeout" };
	char id[ULID_LEN + 1];
	struct qe_job j, again;
	uint64_t n;

	qe_receive(id, "alice@sender.test", to_bob, MSG_TEXT);
	qe_job_next(&j, FX_WAIT_MS);
	qe_result(&j, st, diag);
	/* The default first retry is a minute away. */
	ck_assert(!qe_job_within(&again, 300));
	ck_assert(qe_op(QE_RETRY, id, &n, NULL, 0));
	ck_assert_uint_eq(n, 1);
	qe_job_next(&again, FX_WAIT_MS);
	ck_assert_str_eq(again.env.id, id);
	ck_assert_uint_eq(again.env.rcpt[0].attempts, 1);
	qe_job_free(&again);
	qe_job_free(&j);
}
END_TEST

static void
setup_fast_retry(void)
{
	qe_setup_with("delivery { retry initial 2s max 4s }");
}

static Suite *
suite(void)
{
	Suite *s = suite_create("queued_engine");
	TCase *tc = tcase_create("commit");

	tcase_add_checked_fixture(tc, qe_setup, qe_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, commit_ok_waits_for_the_sync);
	tcase_add_test(tc, commit_fails_when_the_sync_fails);
	tcase_add_test(tc, commits_arriving_together_share_syncs);
	suite_add_tcase(s, tc);

	tc = tcase_create("deliver");
	tcase_add_checked_fixture(tc, setup_fast_retry, qe_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, job_delivered_leaves_the_queue);
	tcase_add_test(tc, job_deferred_comes_back);
	tcase_add_test(tc, failed_recipient_gets_a_notice_to_the_sender);
	tcase_add_test(tc, jobs_in_flight_go_to_a_restarted_deliverd);
	suite_add_tcase(s, tc);

	tc = tcase_create("ops");
	tcase_add_checked_fixture(tc, qe_setup, qe_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, ops_list_and_delete);
	tcase_add_test(tc, ops_retry_makes_deferred_due);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
