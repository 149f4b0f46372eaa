/* SPDX-License-Identifier: ISC */
/* STARTTLS and implicit TLS in smtpd's sessions, with a real TLS client
 * (lib/tls.c) on the other end of the socketpair: the offer, the reset
 * after the handshake, the discard of commands pipelined after
 * STARTTLS, `tls required`, `tls implicit`, failed and slow handshakes,
 * a large message through TLS and the Received: header. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "fixture.h"
#include "lineio.h"
#include "util.h"
#include "smtpd_fixture.h"

static const char EHLO_TLS[] =
    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n"
    "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-DSN\r\n"
    "250 STARTTLS\r\n";
static const char EHLO_IN_TLS[] =
    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n"
    "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250 DSN\r\n";

/* A session on l, through STARTTLS. */
static void
starttls_on(struct cfg_listen *l)
{
	close(cli);
	pump();
	S = connect_from("192.0.2.7", l);
	expect("EHLO client.example\r\n", EHLO_TLS);
	expect("STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
	client_handshake();
}

START_TEST(starttls_then_fresh_session)
{
	char path[64];
	const char *file;

	starttls_on(lst_tls);
	ck_assert_ptr_nonnull(S->lio.ssl);
	/* RFC 3207 §4.2: the client starts over with EHLO. */
	tls_expect("MAIL FROM:<a@b.example>\r\n",
	    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	tls_expect("EHLO client.example\r\n", EHLO_IN_TLS);
	tls_expect("STARTTLS\r\n", "503 5.5.1 Error: TLS already active\r\n");
	tls_expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
	tls_expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	tls_expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	ck_assert_str_eq(tls_collect(38), "354 End data with <CR><LF>.<CR><LF>\r\n");
	tls_expect("hello\r\n.\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	file = slurp(path);
	ck_assert_msg(strstr(file, "\t(using TLSv1.3 with cipher TLS_") != NULL, "%s", file);
	ck_assert_msg(strstr(file, " with ESMTPS id ") != NULL, "%s", file);
	q_commit_ok(commit_id, MSGID);
	ck_assert_str_eq(tls_collect(50),
	    "250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	tls_expect("QUIT\r\n", "221 2.0.0 Bye\r\n");
	tls_collect(0);
	ck_assert(server_closed);
}
END_TEST

/* RFC 6531 §4.3: a SMTPUTF8 transaction over TLS is UTF8SMTPS. */
START_TEST(smtputf8_over_tls)
{
	char path[64];
	const char *file;

	starttls_on(lst_tls);
	tls_expect("EHLO client.example\r\n", EHLO_IN_TLS);
	tls_expect("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.test> SMTPUTF8\r\n",
	    "250 2.1.0 Sender ok\r\n");
	tls_expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	tls_expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	ck_assert_str_eq(tls_collect(38), "354 End data with <CR><LF>.<CR><LF>\r\n");
	tls_expect("hello\r\n.\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	file = slurp(path);
	unlink(path);
	ck_assert_msg(strstr(file, " with UTF8SMTPS id ") != NULL, "%s", file);
}
END_TEST

START_TEST(commands_pipelined_after_starttls_are_discarded)
{
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst_tls);
	/* One write: the MAIL and RCPT after STARTTLS must never run. */
	expect("EHLO client.example\r\nSTARTTLS\r\nMAIL FROM:<evil@b.example>\r\n"
	    "RCPT TO:<u@accept.test>\r\n", "250-mx.test\r\n250-PIPELINING\r\n"
	    "250-SIZE 36700160\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-DSN\r\n"
	    "250 STARTTLS\r\n220 2.0.0 Ready to start TLS\r\n");
	client_handshake();
	tls_expect("EHLO client.example\r\n", EHLO_IN_TLS);
	tls_expect("RCPT TO:<u@accept.test>\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	ck_assert_ptr_null(S->tx);
}
END_TEST

START_TEST(starttls_refusals)
{
	/* No certificate on this listener: not offered, not done. */
	expect("STARTTLS\r\n", "502 5.5.1 Error: command not implemented\r\n");
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst_tls);
	expect("STARTTLS now\r\n", "501 5.5.4 Syntax: STARTTLS\r\n");
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("STARTTLS\r\n", "503 5.5.1 Error: MAIL transaction in progress\r\n");
	expect("RSET\r\n", "250 2.0.0 Ok\r\n");
	expect("STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
}
END_TEST

START_TEST(tls_required_before_mail)
{
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst_req);
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<a@b.example>\r\n",
	    "530 5.7.0 Must issue a STARTTLS command first\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	expect("STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
	client_handshake();
	tls_expect("EHLO client.example\r\n", EHLO_IN_TLS);
	tls_expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
}
END_TEST

START_TEST(implicit_tls)
{
	close(cli);
	pump();
	S = connect_raw("192.0.2.7", lst_imp);
	/* Not a byte in plain text. */
	ck_assert_str_eq(replies(), "");
	ck_assert(!server_closed);
	client_handshake();
	ck_assert_str_eq(tls_collect(26), "220 mx.test ESMTP Empath\r\n");
	tls_expect("EHLO client.example\r\n", EHLO_IN_TLS);
	tls_expect("STARTTLS\r\n", "503 5.5.1 Error: TLS already active\r\n");
	tls_expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
}
END_TEST

START_TEST(implicit_tls_plain_client_dropped)
{
	close(cli);
	pump();
	S = connect_raw("192.0.2.7", lst_imp);
	send_str("EHLO plain.example\r\n");
	replies();
	ck_assert(server_closed);
	ck_assert_uint_eq(n_closed, 2);
}
END_TEST

START_TEST(failed_handshake_closes)
{
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst_tls);
	expect("STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
	send_str("GET / HTTP/1.0\r\n\r\n");
	replies();
	ck_assert(server_closed);
}
END_TEST

START_TEST(handshake_timeout)
{
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst_tls);   /* timeout command 2s */
	expect("STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
	run_ms(1500);
	ck_assert_ptr_nonnull(S);
	run_ms(800);
	replies();
	ck_assert(server_closed);
	ck_assert_ptr_null(S);
}
END_TEST

START_TEST(large_message_through_tls)
{
	static char body[200 * 1024];
	char path[64], line[1001];
	const char *file;
	size_t n = 0, i;

	starttls_on(lst_tls);
	tls_expect("EHLO client.example\r\n", EHLO_IN_TLS);
	/* Pipelined and through a partly full socket. */
	tls_expect("MAIL FROM:<a@b.example>\r\nRCPT TO:<u@accept.test>\r\nDATA\r\n",
	    "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	ck_assert_str_eq(tls_collect(38), "354 End data with <CR><LF>.<CR><LF>\r\n");
	memset(line, 'z', 996);
	for (i = 0; n + 1000 < sizeof(body) - 10; i++) {
		snprintf(line, 5, "%04zu", i % 10000);
		line[4] = 'z';
		memcpy(body + n, line, 996);
		memcpy(body + n + 996, "\r\n", 2);
		n += 998;
	}
	memcpy(body + n, ".\r\n", 3);
	tls_send(body, n + 3);
	/* 200 KiB through TLS may take the server more than one moment on a
	 * loaded machine (sanitizers): give it up to about 6 s. */
	for (i = 0; i < 200 && n_commit == 0; i++)
		tls_collect(0);
	ck_assert_uint_eq(n_commit, 1);
	file = slurp(path);
	ck_assert_uint_eq(strlen(strstr(file, "+0000\r\n") + 7), n);
	ck_assert_uint_eq(committed.size, strlen(file));
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("smtpd_tls");
	TCase *tc = tcase_create("tls");

	tcase_add_checked_fixture(tc, fixture_setup_tls, fixture_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, starttls_then_fresh_session);
	tcase_add_test(tc, smtputf8_over_tls);
	tcase_add_test(tc, commands_pipelined_after_starttls_are_discarded);
	tcase_add_test(tc, starttls_refusals);
	tcase_add_test(tc, tls_required_before_mail);
	tcase_add_test(tc, implicit_tls);
	tcase_add_test(tc, implicit_tls_plain_client_dropped);
	tcase_add_test(tc, failed_handshake_closes);
	tcase_add_test(tc, handshake_timeout);
	tcase_add_test(tc, large_message_through_tls);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(tls_suite);
