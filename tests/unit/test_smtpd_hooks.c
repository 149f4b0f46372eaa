/* SPDX-License-Identifier: ISC */
/* The hook points of smtpd (smtpd/hooks.c), driven by a built-in test
 * hook table: the points are reached in order with the right argument
 * and context, a rejection at each point replaces smtpd's reply (and at
 * connect, STARTTLS and with 421 ends the session), an accepting hook may
 * choose the MAIL/RCPT reply, and whatever a hook writes is made safe. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "util.h"
#include "smtpd_fixture.h"
#include "../../smtpd/hooks.h"

/* The test hook: logs every call, answers as its rule says. */
static struct rule {
	enum hook_verdict verdict;
	unsigned code;
	const char *text;
} rules[HOOK_COUNT];
static char calls[2048];
static unsigned second_calls;

static enum hook_verdict
test_hook(const struct hook_ctx *ctx, struct hook_reply *r, void *arg)
{
	const struct rule *ru = &rules[ctx->point];
	char one[300];

	ck_assert_ptr_eq(arg, rules);
	ck_assert_str_eq(ctx->client_addr, "192.0.2.7");
	snprintf(one, sizeof(one), "%s%s%s%s%s;", hook_point_name(ctx->point),
	    ctx->arg ? " " : "", ctx->arg ? ctx->arg : "",
	    ctx->tls_version ? " tls" : "", ctx->env ? " env" : "");
	strlcat(calls, one, sizeof(calls));
	if (ru->code) {
		r->code = ru->code;
		strlcpy(r->text, ru->text ? ru->text : "", sizeof(r->text));
	}
	return ru->verdict;
}

/* A second hook: runs only when the first accepts. */
static enum hook_verdict
second_hook(const struct hook_ctx *ctx, struct hook_reply *r, void *arg)
{
	(void)ctx;
	(void)r;
	(void)arg;
	second_calls++;
	return HOOK_ACCEPT;
}

static void
setup(void)
{
	fixture_setup_tls();
	memset(rules, 0, sizeof(rules));
	calls[0] = '\0';
	second_calls = 0;
	hooks_register(test_hook, rules, HOOK_ALL);
	hooks_register(second_hook, NULL, HOOK_MASK(HOOK_RCPT));
	/* The fixture's first session predates the hooks: start over. */
	close(cli);
	pump();
	calls[0] = '\0';
}

static void
reject(enum hook_point p, unsigned code, const char *text)
{
	rules[p].verdict = HOOK_REJECT;
	rules[p].code = code;
	rules[p].text = text;
}

static void
transaction_to_data(char *path, size_t len)
{
	expect("EHLO client.example\r\n", "250-mx.test\r\n250-PIPELINING\r\n"
	    "250-SIZE 10000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250 DSN\r\n");
	expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@accept.test>\r\nRCPT TO:<v@accept.test>\r\nDATA\r\n",
	    "250 2.1.5 Recipient ok\r\n250 2.1.5 Recipient ok\r\n");
	q_create_ok(create_id, incoming_file(path, len), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
}

START_TEST(points_in_order)
{
	char path[64];

	S = connect_from("192.0.2.7", lst);
	transaction_to_data(path, sizeof(path));
	expect("x\r\n.\r\n", "");
	unlink(path);
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_str_eq(calls, "connect;helo client.example;mail a@b.example env;"
	    "rcpt u@accept.test env;rcpt v@accept.test env;"
	    "data 01JABCDEFGHJKMNPQRSTVWXYZ0 env;");
	ck_assert_uint_eq(second_calls, 2);
}
END_TEST

START_TEST(points_with_starttls_and_implicit)
{
	S = connect_from("192.0.2.7", lst_tls);
	talk("EHLO client.example\r\n");
	expect("STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
	client_handshake();
	tls_collect(0);
	tls_send("EHLO again.example\r\nMAIL FROM:<>\r\n", 34);
	tls_collect(0);
	ck_assert_str_eq(calls, "connect;helo client.example;starttls tls;"
	    "helo again.example tls;mail  tls env;");
	/* Implicit TLS: connect (already in TLS), starttls, greeting. */
	close(cli);
	pump();
	calls[0] = '\0';
	S = connect_raw("192.0.2.7", lst_imp);
	client_handshake();
	ck_assert_str_eq(tls_collect(26), "220 mx.test ESMTP Empath\r\n");
	ck_assert_str_eq(calls, "connect tls;starttls tls;");
}
END_TEST

START_TEST(reject_connect)
{
	reject(HOOK_CONNECT, 554, "5.7.1 no service for you");
	S = connect_raw("192.0.2.7", lst);
	expect_out("554 5.7.1 no service for you\r\n");
	ck_assert(server_closed);
	ck_assert_str_eq(calls, "connect;");
}
END_TEST

START_TEST(reject_helo)
{
	reject(HOOK_HELO, 550, "bad name");
	S = connect_from("192.0.2.7", lst);
	expect("EHLO client.example\r\n", "550 5.7.1 bad name\r\n");
	/* Not greeted: the transaction cannot start. */
	expect("MAIL FROM:<a@b.example>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n");
	rules[HOOK_HELO].verdict = HOOK_ACCEPT;
	expect_prefix("HELO client.example\r\n", "250 mx.test");
}
END_TEST

START_TEST(reject_mail_then_accept)
{
	reject(HOOK_MAIL, 451, "4.7.1 try again later");
	S = connect_from("192.0.2.7", lst);
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<a@b.example>\r\n", "451 4.7.1 try again later\r\n");
	ck_assert_ptr_null(S->tx);
	expect("RCPT TO:<u@accept.test>\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	/* An accepting hook that chooses its reply. */
	rules[HOOK_MAIL].verdict = HOOK_ACCEPT;
	rules[HOOK_MAIL].code = 250;
	rules[HOOK_MAIL].text = "2.1.0 welcome back";
	expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 welcome back\r\n");
	ck_assert_ptr_nonnull(S->tx);
}
END_TEST

START_TEST(reject_rcpt_keeps_others)
{
	char path[64];

	reject(HOOK_RCPT, 550, "5.1.1 <v@accept.test>: no such user");
	S = connect_from("192.0.2.7", lst);
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RCPT TO:<v@accept.test>\r\n",
	    "550 5.1.1 <v@accept.test>: no such user\r\n");
	/* The second hook did not run after the rejection. */
	ck_assert_uint_eq(second_calls, 0);
	rules[HOOK_RCPT].verdict = HOOK_ACCEPT;
	rules[HOOK_RCPT].code = 0;
	expect("RCPT TO:<u@accept.test>\r\nDATA\r\n", "250 2.1.5 Recipient ok\r\n");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("x\r\n.\r\n", "");
	unlink(path);
	ck_assert_uint_eq(committed.nrcpt, 1);
	ck_assert_str_eq(committed.rcpt[0].addr, "u@accept.test");
}
END_TEST

START_TEST(reject_data_rolls_back)
{
	char path[64];

	reject(HOOK_DATA, 554, "5.7.1 message content rejected");
	S = connect_from("192.0.2.7", lst);
	transaction_to_data(path, sizeof(path));
	expect("spam\r\n.\r\n", "554 5.7.1 message content rejected\r\n");
	unlink(path);
	ck_assert_uint_eq(n_commit, 0);
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_str_eq(rolled_back, MSGID);
	/* The session goes on. */
	expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
}
END_TEST

START_TEST(reject_data_after_bdat)
{
	char path[64];

	reject(HOOK_DATA, 550, "5.7.1 no");
	S = connect_from("192.0.2.7", lst);
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	talk("RCPT TO:<u@accept.test>\r\n");
	expect("BDAT 3 LAST\r\nabc", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("550 5.7.1 no\r\n");
	unlink(path);
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_uint_eq(n_commit, 0);
}
END_TEST

START_TEST(reject_starttls_closes)
{
	reject(HOOK_STARTTLS, 550, "5.7.0 your certificate is not welcome");
	S = connect_from("192.0.2.7", lst_tls);
	expect("STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
	client_handshake();
	ck_assert_str_eq(tls_collect(43), "550 5.7.0 your certificate is not welcome\r\n");
	tls_collect(0);
	ck_assert(server_closed);
}
END_TEST

START_TEST(code_421_closes)
{
	reject(HOOK_RCPT, 421, "4.7.0 enough");
	S = connect_from("192.0.2.7", lst);
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RCPT TO:<u@accept.test>\r\nNOOP\r\n", "421 4.7.0 enough\r\n");
	ck_assert(server_closed);
}
END_TEST

START_TEST(replies_made_safe)
{
	S = connect_from("192.0.2.7", lst);
	/* A code out of range, CR LF in the text: one safe line. */
	reject(HOOK_HELO, 999, "no\r\nBcc: x");
	expect("HELO client.example\r\n", "554 5.7.1 no??Bcc: x\r\n");
	/* An enhanced code of the wrong class is corrected. */
	reject(HOOK_HELO, 550, "4.7.1 go");
	expect("HELO client.example\r\n", "550 5.7.1 go\r\n");
	/* No text at all. */
	reject(HOOK_HELO, 450, "");
	expect("HELO client.example\r\n", "450 4.7.1 rejected\r\n");
	/* A rejection without a code. */
	rules[HOOK_HELO].code = 0;
	expect("HELO client.example\r\n", "554 5.7.1 rejected\r\n");
	/* An "accept" with a failure code is a plain accept. */
	rules[HOOK_HELO].verdict = HOOK_ACCEPT;
	rules[HOOK_HELO].code = 550;
	expect("HELO client.example\r\n", "250 mx.test\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	/* A long text is cut, never overflows. */
	{
		static char big[2000];

		memset(big, 'x', sizeof(big) - 1);
		reject(HOOK_RCPT, 550, big);
		send_str("RCPT TO:<u@accept.test>\r\n");
		ck_assert_uint_eq(strlen(collect(HOOK_TEXT_MAX)), 4 + HOOK_TEXT_MAX - 1 + 2);
	}
}
END_TEST

static Suite *
hooks_suite(void)
{
	Suite *s = suite_create("smtpd_hooks");
	TCase *tc = tcase_create("hooks");

	tcase_add_checked_fixture(tc, setup, fixture_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, points_in_order);
	tcase_add_test(tc, points_with_starttls_and_implicit);
	tcase_add_test(tc, reject_connect);
	tcase_add_test(tc, reject_helo);
	tcase_add_test(tc, reject_mail_then_accept);
	tcase_add_test(tc, reject_rcpt_keeps_others);
	tcase_add_test(tc, reject_data_rolls_back);
	tcase_add_test(tc, reject_data_after_bdat);
	tcase_add_test(tc, reject_starttls_closes);
	tcase_add_test(tc, code_421_closes);
	tcase_add_test(tc, replies_made_safe);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(hooks_suite);
