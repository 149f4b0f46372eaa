/* SPDX-License-Identifier: ISC */
/* smtpd and its plugins (smtpd/hook_plugins.c), on the session bench
 * with the test plugins smtpd_policy and smtpd_events: a plugin's
 * rejection reaches the client with its code and text (421 closing the
 * session), made safe whatever it tried; a 2xx replaces the MAIL reply;
 * the context holds what each point should (the recipient being checked
 * last, and gone again when refused); the DATA hook sees the message as
 * in the file; metadata and added header fields arrive in the Q_COMMIT
 * queued gets, and a new transaction starts without them; the events come
 * in order. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "plugin.h"
#include "plugin_ctx.h"
#include "fixture.h"
#include "util.h"
#include "smtpd_fixture.h"
#include "../../smtpd/hooks.h"

static char policy_file[256], events_file[256];
static struct config *pcfg;

static const char *
file_text(const char *path)
{
	static char buf[16384];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static void
load(const char *plugins)
{
	char text[2048], err[2048];

	snprintf(text, sizeof(text), "plugin-dir \"%s\"\n%s", TEST_PLUGIN_DIR,
	    plugins);
	pcfg = fx_parse(text);
	ck_assert_msg(pcfg != NULL, "%s", fx_nerrs ? fx_errs[0] : "");
	ck_assert_msg(hplug_load(pcfg, "t.conf", err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert(hplug_active());
}

static void
setup_with(void (*fixture)(void))
{
	const char *dir;
	char text[1024];

	fixture();
	dir = fx_tmpdir("smtpd-plugins");
	snprintf(policy_file, sizeof(policy_file), "%s/policy", dir);
	snprintf(events_file, sizeof(events_file), "%s/events", dir);
	snprintf(text, sizeof(text),
	    "plugin \"smtpd_policy\" { args \"%s\" \"5.7.1 <blocked> is not "
	    "wanted here\" }\n"
	    "plugin \"smtpd_events\" { args \"%s\" }\n", policy_file,
	    events_file);
	load(text);
	/* The fixture's session predates the plugins: start over. */
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst);
	ck_assert_ptr_nonnull(S->pctx);
}

static void
setup(void)
{
	setup_with(fixture_setup);
}

static void
setup_tls(void)
{
	setup_with(fixture_setup_tls);
}

static void
teardown(void)
{
	fixture_teardown();
	config_free(pcfg);
	pcfg = NULL;
}

static void
mail_rcpt(void)
{
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<sender@client.example>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
}

/* Through DATA and the commit; the message file's content in *file. */
static void
send_message(const char *body, char **file)
{
	char path[64];

	mail_rcpt();
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect(body, "");
	ck_assert_uint_eq(n_commit, 1);
	*file = slurp(path);
}

START_TEST(rcpt_rejected_with_the_plugins_reply)
{
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RCPT TO:<blocked@accept.test>\r\n",
	    "550 5.7.1 <blocked> is not wanted here\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	/* A repeat is in the envelope, and the context, once. */
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("RCPT TO:<v@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	ck_assert_uint_eq(S->tx->env.nrcpt, 2);
	/* Room kept in the Q_COMMIT frame for what the plugins may add. */
	ck_assert_uint_gt(S->tx->env_wire, PLUGIN_META_ENCODED_MAX +
	    PLUGIN_HEADERS_ENCODED_MAX);
	/* The recipient checked is the last one; a refused one is gone. */
	ck_assert_str_eq(file_text(policy_file),
	    "mail a@b.example id=2 meta=-\n"
	    "rcpt 1 blocked@accept.test\n"
	    "rcpt 1 u@accept.test\n"
	    "rcpt 2 u@accept.test\n"
	    "rcpt 2 v@accept.test\n");
}
END_TEST

START_TEST(mail_temporary_rejection_and_own_2xx)
{
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<temp@b.example>\r\n",
	    "451 4.7.1 greylisted, come back\r\n");
	ck_assert_ptr_null(S->tx);
	expect("MAIL FROM:<nice@b.example>\r\n", "250 2.1.0 nice sender\r\n");
	ck_assert_ptr_nonnull(S->tx);
}
END_TEST

START_TEST(code_421_closes)
{
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RCPT TO:<bye@accept.test>\r\nNOOP\r\n",
	    "421 4.7.0 enough for today\r\n");
	ck_assert(server_closed);
}
END_TEST

/* CR LF, 8-bit and overlong texts never leave the plugin: the API
 * refuses each, and the client gets one generic line. */
START_TEST(hostile_text_does_not_reach_the_wire)
{
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RCPT TO:<hostile@accept.test>\r\nNOOP\r\n",
	    "554 5.7.1 rejected\r\n250 2.0.0 Ok\r\n");
	ck_assert(strstr(file_text(policy_file), "hostile -1 -1 -1\n") != NULL);
}
END_TEST

START_TEST(data_hook_sees_the_file_and_commit_carries_its_work)
{
	char *file, want[256];
	size_t len;

	send_message("Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n", &file);
	len = strlen(file);
	/* Dot-unstuffed, our Received: on top: the file as written. */
	ck_assert(strstr(file, "\r\n.dot\r\nbody\r\n") != NULL);
	snprintf(want, sizeof(want), "\ndata %zu Received: from client.example",
	    len);
	ck_assert_msg(strstr(file_text(policy_file), want) != NULL, "%s",
	    file_text(policy_file));
	snprintf(want, sizeof(want), "X-Policy: seen %zu octets\r\n", len);
	ck_assert_str_eq(committed.headers, want);
	snprintf(want, sizeof(want), "policy.from=sender@client.example\n"
	    "policy.size=%zu octets\n", len);
	ck_assert_str_eq(committed.meta, want);
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as " "01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	/* The next transaction starts without metadata, with the session
	 * id again. */
	expect("MAIL FROM:<again@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
	ck_assert(strstr(file_text(policy_file),
	    "mail again@b.example id=2 meta=-\n") != NULL);
}
END_TEST

START_TEST(bdat_after_last)
{
	char path[64], want[128];
	char *file;

	mail_rcpt();
	expect("BDAT 5 LAST\r\nab\r\nc", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	pump();
	ck_assert_uint_eq(n_commit, 1);
	file = slurp(path);
	snprintf(want, sizeof(want), "data %zu Received:", strlen(file));
	ck_assert(strstr(file_text(policy_file), want) != NULL);
	ck_assert_ptr_nonnull(committed.headers);
}
END_TEST

START_TEST(rset_forgets_the_metadata)
{
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RSET\r\n", "250 2.0.0 Ok\r\n");
	talk("MAIL FROM:<c@b.example>\r\n");
	ck_assert_str_eq(file_text(policy_file),
	    "mail a@b.example id=2 meta=-\nmail c@b.example id=2 meta=-\n");
}
END_TEST

START_TEST(events_in_order)
{
	char *file, want[1024];

	send_message("x\r\n.\r\n", &file);
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RCPT TO:<blocked@accept.test>\r\n",
	    "550 5.7.1 <blocked> is not wanted here\r\n");
	expect("QUIT\r\n", "221 2.0.0 Bye\r\n");
	pump();
	snprintf(want, sizeof(want),
	    "opened 192.0.2.7 \n"
	    "received 192.0.2.7 %s from=sender@client.example n=1 "
	    "first=u@accept.test size=%zu octets\n"
	    "error 192.0.2.7 550 5.7.1 <blocked> is not wanted here\n"
	    "closed 192.0.2.7 -\n", MSGID, strlen(file));
	ck_assert_str_eq(file_text(events_file), want);
}
END_TEST

/* A plugin with events only: the context still follows the
 * transaction, for MESSAGE_RECEIVED. */
START_TEST(events_only_plugin_sees_the_envelope)
{
	char text[1024], want[512];
	char *file;

	hplug_unload();
	config_free(pcfg);
	snprintf(text, sizeof(text), "plugin \"smtpd_events\" { args \"%s\" }\n",
	    events_file);
	load(text);
	ck_assert(!hplug_wants(EM_VALIDATE_RCPT));
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst);
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<sender@client.example>\r\n");
	talk("RCPT TO:<u@accept.test>\r\nRCPT TO:<u@accept.test>\r\n");
	expect("RCPT TO:<v@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	{
		char path[64];

		expect("DATA\r\n", "");
		q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
		expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
		expect("x\r\n.\r\n", "");
		file = slurp(path);
		(void)file;
	}
	ck_assert_ptr_null(committed.meta);
	ck_assert_ptr_null(committed.headers);
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	snprintf(want, sizeof(want), "received 192.0.2.7 %s from=sender@client.example "
	    "n=2 first=u@accept.test size=-\n", MSGID);
	ck_assert_msg(strstr(file_text(events_file), want) != NULL, "%s",
	    file_text(events_file));
}
END_TEST

/* The most metadata and header fields a plugin can leave travel in the
 * one Q_COMMIT, which queued's decoder takes. */
START_TEST(most_metadata_and_headers_fit_the_commit)
{
	char path[64];
	size_t i;

	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<fill@client.example>\r\n", "250 2.1.0 Sender ok\r\n");
	talk("RCPT TO:<u@accept.test>\r\nRCPT TO:<v@accept.test>\r\n"
	    "RCPT TO:<w@accept.test>\r\n");
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("x\r\n.\r\n", "");
	unlink(path);
	ck_assert_uint_eq(n_commit, 1);
	ck_assert(strstr(file_text(policy_file), "fill failed") == NULL);
	ck_assert_uint_eq(committed.nrcpt, 3);
	ck_assert_uint_gt(strlen(committed.meta), EM_META_PAIRS_MAX *
	    EM_META_VALUE_MAX);
	for (i = 0; committed.headers[i] != '\0'; i++)
		;
	ck_assert_uint_gt(i, EM_HEADERS_MAX * EM_HEADER_VALUE_MAX);
}
END_TEST

/* TLS: the context has the session's protocol. */
START_TEST(tls_in_the_context)
{
	S = connect_raw("192.0.2.7", lst_imp);
	client_handshake();
	ck_assert_str_eq(tls_collect(26), "220 mx.test ESMTP Empath\r\n");
	tls_send("QUIT\r\n", 6);
	tls_collect(0);
	pump();
	ck_assert_msg(strstr(file_text(events_file), "closed 192.0.2.7 TLSv1.")
	    != NULL, "%s", file_text(events_file));
}
END_TEST

/* Without plugins no session has a context. */
START_TEST(no_plugins_no_context)
{
	hplug_unload();
	ck_assert(!hplug_active());
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst);
	ck_assert_ptr_null(S->pctx);
	mail_rcpt();
}
END_TEST

/* Loading is all or nothing, with the statement's line in the error. */
START_TEST(load_failure_names_the_line)
{
	char text[512], err[2048];
	struct config *c;

	snprintf(text, sizeof(text), "plugin-dir \"%s\"\n\nplugin \"nosuch\"\n",
	    TEST_PLUGIN_DIR);
	c = fx_parse(text);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(hplug_load(c, "t.conf", err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "t.conf:3: plugin \"nosuch\"", 25) == 0,
	    "%s", err);
	ck_assert(!hplug_active());
	config_free(c);
}
END_TEST

/* A plugin the master disabled after crashes: not loaded, nothing of
 * it runs, but smtpd's registry lists it so that `empathctl plugin list`
 * shows it disabled. */
START_TEST(disabled_plugin_listed_not_run)
{
	static const char *const off[] = { "smtpd_policy" };
	const struct plugins *ps;
	const struct plugin *p;
	char text[512], err[2048];
	struct config *c;

	hplug_unload();
	snprintf(text, sizeof(text), "plugin-dir \"%s\"\nplugin \"smtpd_policy\""
	    " { args \"%s\" }\n", TEST_PLUGIN_DIR, policy_file);
	c = fx_parse(text);
	ck_assert_ptr_nonnull(c);
	plugins_set_disabled(off, 1);
	ck_assert_int_eq(hplug_load(c, "t.conf", err, sizeof(err)), 0);
	plugins_set_disabled(NULL, 0);
	ck_assert(!hplug_active());
	ps = plugins_registry();
	ck_assert_ptr_nonnull(ps);
	p = TAILQ_FIRST(&ps->list);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "smtpd_policy");
	ck_assert(p->disabled);
	ck_assert_ptr_null(TAILQ_NEXT(p, entry));
	hplug_unload();
	ck_assert_ptr_null(plugins_registry());
	config_free(c);
}
END_TEST

static Suite *
plugins_suite(void)
{
	Suite *s = suite_create("smtpd_plugins");
	TCase *tc = tcase_create("plugins");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, rcpt_rejected_with_the_plugins_reply);
	tcase_add_test(tc, mail_temporary_rejection_and_own_2xx);
	tcase_add_test(tc, code_421_closes);
	tcase_add_test(tc, hostile_text_does_not_reach_the_wire);
	tcase_add_test(tc, data_hook_sees_the_file_and_commit_carries_its_work);
	tcase_add_test(tc, bdat_after_last);
	tcase_add_test(tc, rset_forgets_the_metadata);
	tcase_add_test(tc, events_in_order);
	tcase_add_test(tc, events_only_plugin_sees_the_envelope);
	tcase_add_test(tc, most_metadata_and_headers_fit_the_commit);
	tcase_add_test(tc, no_plugins_no_context);
	tcase_add_test(tc, load_failure_names_the_line);
	tcase_add_test(tc, disabled_plugin_listed_not_run);
	suite_add_tcase(s, tc);
	tc = tcase_create("tls");
	tcase_add_checked_fixture(tc, setup_tls, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, tls_in_the_context);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(plugins_suite);
