/* SPDX-License-Identifier: ISC */
/* smtpd's local submission sessions (session_new_local): the login
 * name the master gives the kernel's uid (M_USER_LOOKUP, asked at
 * accept; the greeting waits for the answer, 421 after 10 s, an answer
 * about another uid closes the session) decides the sender a client may
 * use (553 5.7.1 for another's, 451 4.7.1 for a uid no user has),
 * relaying is allowed where a network client outside `relay from` is
 * refused, the message starts with the Received: field of
 * lib/localusers.c, and one uid holds at most 10 local sessions; the content cannot
 * continue the Received: field. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "smtpd_fixture.h"

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
local_setup(void)
{
	fixture_setup();
	local_user(0, "root");
	local_user(1000, "alice");
	local_user(1001, "bob");
}

START_TEST(own_sender_relays_with_local_received)
{
	char path[64];
	const char *file;

	connect_local(1000, lst);
	ck_assert(S->local);
	ck_assert_str_eq(S->addr, "local");
	talk("EHLO localhost\r\n");
	expect("MAIL FROM:<alice@MX.test>\r\n", "250 2.1.0 Sender ok\r\n");
	/* Not an accept domain, and the client is not in relay from. */
	expect("RCPT TO:<friend@far.away>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("DATA\r\n", "");
	ck_assert_uint_eq(n_create, 1);
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("Subject: hi\r\n\r\nbody\r\n.\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	file = slurp(path);
	ck_assert_msg(starts(file, "Received: by mx.test (Empath, from userid "
	    "1000)\r\n\twith ESMTP id 01JABCDEFGHJKMNPQRSTVWXYZ0; "), "%s", file);
	file = strstr(file, "+0000\r\n");
	ck_assert_ptr_nonnull(file);
	ck_assert_str_eq(file + 7, "Subject: hi\r\n\r\nbody\r\n");
	ck_assert_str_eq(committed.sender, "alice@MX.test");
	ck_assert_str_eq(committed.client_addr, "local");
	ck_assert_str_eq(committed.rcpt[0].addr, "friend@far.away");
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");

	/* The same from the network, outside relay from: refused. */
	connect_from("192.0.2.7", lst);
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<alice@mx.test>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<friend@far.away>\r\n",
	    "554 5.7.1 <friend@far.away>: relaying denied\r\n");
}
END_TEST

START_TEST(forged_sender_is_refused)
{
	connect_local(1000, lst);
	talk("EHLO localhost\r\n");
	expect("MAIL FROM:<bob@mx.test>\r\n",
	    "553 5.7.1 <bob@mx.test>: sender address not owned by user alice\r\n");
	expect("MAIL FROM:<alicex@mx.test>\r\n", "553 5.7.1 <alicex@mx.test>: "
	    "sender address not owned by user alice\r\n");
	expect("MAIL FROM:<alice@mx.test.evil>\r\n", "553 5.7.1 "
	    "<alice@mx.test.evil>: sender address not owned by user alice\r\n");
	/* Each counts as an error; no transaction was opened. */
	ck_assert_uint_eq(S->errors, 3);
	ck_assert_ptr_null(S->tx);
	expect("RCPT TO:<x@far.away>\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	/* The null sender is everybody's; root may use any. */
	expect("MAIL FROM:<>\r\n", "250 2.1.0 Sender ok\r\n");
	connect_local(0, lst);
	talk("EHLO localhost\r\n");
	expect("MAIL FROM:<bob@mx.test>\r\n", "250 2.1.0 Sender ok\r\n");
}
END_TEST

START_TEST(unknown_uid_is_told_to_retry)
{
	connect_local(4242, lst);
	talk("HELO localhost\r\n");
	expect("MAIL FROM:<someone@mx.test>\r\n",
	    "451 4.7.1 unknown local user (uid 4242)\r\n");
	ck_assert_ptr_null(S->tx);
	ck_assert_uint_eq(S->errors, 0);
	expect("MAIL FROM:<>\r\n", "250 2.1.0 Sender ok\r\n");
}
END_TEST

START_TEST(helo_gives_smtp_in_received)
{
	char path[64];
	const char *file;

	connect_local(1001, lst);
	talk("HELO localhost\r\n");
	expect("MAIL FROM:<bob@mx.test>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<x@far.away>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("\r\nx\r\n.\r\n", "");
	file = slurp(path);
	ck_assert_msg(starts(file, "Received: by mx.test (Empath, from userid "
	    "1001)\r\n\twith SMTP id 01JABCDEFGHJKMNPQRSTVWXYZ0; "), "%s", file);
}
END_TEST

START_TEST(folded_first_line_cannot_extend_received)
{
	char path[64];

	/* Our Received: field ends the file so far: SP or HT first would
	 * append the client's text to it (RFC 5322 §2.2.3). */
	connect_local(1000, lst);
	talk("EHLO localhost\r\n");
	expect("MAIL FROM:<alice@mx.test>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<x@far.away>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("\t(Empath, from userid 0)\r\nSubject: x\r\n\r\nb\r\n.\r\n",
	    "550 5.6.0 Error: message begins with a folded line\r\n");
	ck_assert_uint_eq(n_commit, 0);
	ck_assert_uint_eq(n_rollback, 1);
	unlink(path);
}
END_TEST

/* Nothing is said before the master has answered; then 220. */
START_TEST(greeting_waits_for_the_answer)
{
	struct session *s = connect_local_raw(1000, lst);
	uint64_t id = s->id;

	ck_assert_uint_eq(lookup_uid, 1000);
	ck_assert(lookup_cookie == id);
	/* An early command is not read before the greeting. */
	send_str("EHLO localhost\r\n");
	ck_assert_str_eq(collect(0), "");
	/* Answers for other sessions change nothing. */
	master_answer(id + 1000, 1000, "alice");
	master_answer(1, 1000, "alice");       /* the network session */
	ck_assert_str_eq(collect(0), "");
	master_answer(id, 1000, "alice");
	ck_assert(starts(collect(40), "220 mx.test ESMTP Empath\r\n"
	    "250-mx.test\r\n"));
	ck_assert_str_eq(S->login, "alice");
	/* A second answer is ignored too. */
	master_answer(id, 1000, "bob");
	ck_assert_str_eq(S->login, "alice");
}
END_TEST

/* The answer is about another uid: a confused or lying master, or a
 * stale answer; the session cannot go on. */
START_TEST(answer_about_another_uid_closes)
{
	struct session *s = connect_local_raw(1000, lst);

	master_answer(s->id, 1001, "bob");
	expect_out("421 4.3.0 mx.test Error: internal error, closing\r\n");
	collect(0);
	ck_assert(server_closed);
}
END_TEST

START_TEST(no_answer_times_out)
{
	lu_timeout_ms = 300;
	connect_local_raw(1000, lst);
	run_ms(100);
	ck_assert_str_eq(collect(0), "");
	run_ms(300);
	expect_out("421 4.3.0 mx.test Error: local user lookup timed out\r\n");
	collect(0);
	ck_assert(server_closed);
}
END_TEST

/* A session that went before the answer: the answer finds nobody. */
START_TEST(answer_after_the_close_is_ignored)
{
	struct session *s = connect_local_raw(1000, lst);
	uint64_t id = s->id;
	unsigned closed = n_closed;

	close(cli);
	cli = -1;
	run_ms(50);
	ck_assert_uint_eq(n_closed, closed + 1);
	master_answer(id, 1000, "alice");
	run_ms(20);
}
END_TEST

/* 10 local sessions per uid; others uids are not held back, and a slot
 * is free again once a session ends. */
START_TEST(sessions_per_uid_are_limited)
{
	int fds[LOCAL_MAX_PER_UID];
	unsigned i, closed;

	for (i = 0; i < LOCAL_MAX_PER_UID; i++) {
		connect_local(1000, lst);
		fds[i] = cli;
	}
	connect_local_raw(1000, lst);
	expect_out("421 4.7.0 mx.test Error: too many connections from uid "
	    "1000\r\n");
	collect(0);
	ck_assert(server_closed);
	close(cli);
	connect_local(1001, lst);
	close(cli);
	closed = n_closed;
	close(fds[0]);
	run_ms(50);
	ck_assert_uint_ge(n_closed, closed + 1);
	connect_local(1000, lst);
	for (i = 1; i < LOCAL_MAX_PER_UID; i++)
		close(fds[i]);
}
END_TEST

static Suite *
local_suite(void)
{
	Suite *s = suite_create("smtpd_local");
	TCase *tc = tcase_create("session");

	tcase_add_checked_fixture(tc, local_setup, fixture_teardown);
	tcase_add_test(tc, own_sender_relays_with_local_received);
	tcase_add_test(tc, forged_sender_is_refused);
	tcase_add_test(tc, unknown_uid_is_told_to_retry);
	tcase_add_test(tc, helo_gives_smtp_in_received);
	tcase_add_test(tc, folded_first_line_cannot_extend_received);
	tcase_add_test(tc, greeting_waits_for_the_answer);
	tcase_add_test(tc, answer_about_another_uid_closes);
	tcase_add_test(tc, no_answer_times_out);
	tcase_add_test(tc, answer_after_the_close_is_ignored);
	tcase_add_test(tc, sessions_per_uid_are_limited);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(local_suite);
