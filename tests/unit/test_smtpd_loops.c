/* SPDX-License-Identifier: ISC */
/* smtpd's loop and reflection defences: the hop count of a message
 * (smtpd/hops.c: Received: fields of the header section, streamed) and
 * its refusal with 554 5.4.6 at the end of DATA and BDAT; address
 * literals from clients outside `relay from` (smtpd/literal.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "config.h"
#include "smtpd_fixture.h"
#include "../../smtpd/hops.h"

/* Count in, fed whole, byte by byte and cut at every position: all
 * must agree. */
static unsigned
count(const char *in)
{
	struct hopcount h;
	size_t len = strlen(in), cut, i;
	unsigned n;

	hops_init(&h);
	hops_feed(&h, in, len);
	n = h.n;
	hops_init(&h);
	for (i = 0; i < len; i++)
		hops_feed(&h, in + i, 1);
	ck_assert_uint_eq(h.n, n);
	for (cut = 0; cut <= len; cut++) {
		hops_init(&h);
		hops_feed(&h, in, cut);
		hops_feed(&h, in + cut, len - cut);
		ck_assert_uint_eq(h.n, n);
	}
	return n;
}

START_TEST(hop_count)
{
	ck_assert_uint_eq(count(""), 0);
	ck_assert_uint_eq(count("Received: a\r\nReceived: b\r\n\r\nbody\r\n"), 2);
	/* Any case; obsolete white space before the colon; folded. */
	ck_assert_uint_eq(count("RECEIVED: a\r\nreceived : b\r\n\tcont\r\n"
	    "ReCeIvEd\t: c\r\n"), 3);
	/* Other fields and look-alikes do not count. */
	ck_assert_uint_eq(count("X-Received: a\r\nReceivedx: b\r\nReceived\r\n"
	    " Received: folded\r\nReceive: c\r\nSubject: Received: d\r\n"), 0);
	/* Only the header section: not after the first empty line. */
	ck_assert_uint_eq(count("Received: a\r\n\r\nReceived: b\r\n"
	    "Received: c\r\n"), 1);
	ck_assert_uint_eq(count("\r\nReceived: b\r\n"), 0);
}
END_TEST

/* n Received: fields, a subject and a body, as DATA content. */
static char *
hops_message(unsigned n, const char *end)
{
	char *buf = malloc(64 * (n + 2)), *p = buf;
	unsigned i;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < n; i++)
		p += sprintf(p, "Received: from h%u by h%u; hop %u\r\n", i, i + 1, i);
	p += sprintf(p, "Subject: loop\r\n\r\nReceived: in the body\r\n%s", end);
	return buf;
}

START_TEST(data_over_max_hops_is_refused)
{
	char path[64], *msg = hops_message(101, ".\r\n");

	start_data(path, sizeof(path));
	expect(msg, "554 5.4.6 Error: too many hops (more than 100 Received: "
	    "header fields): mail loop?\r\n");
	ck_assert_uint_eq(n_commit, 0);
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_str_eq(rolled_back, MSGID);
	unlink(path);
	expect("NOOP\r\n", "250 2.0.0 Ok\r\n");
	free(msg);
}
END_TEST

START_TEST(data_at_max_hops_is_accepted)
{
	char path[64], *msg = hops_message(100, ".\r\n");

	start_data(path, sizeof(path));
	expect(msg, "");
	ck_assert_uint_eq(n_commit, 1);
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	ck_assert_uint_eq(n_rollback, 0);
	unlink(path);
	free(msg);
}
END_TEST

START_TEST(max_hops_is_configurable)
{
	char path[64], *msg = hops_message(3, ".\r\n");

	cfg->max_hops = 2;
	start_data(path, sizeof(path));
	expect(msg, "554 5.4.6 Error: too many hops (more than 2 Received: "
	    "header fields): mail loop?\r\n");
	ck_assert_uint_eq(n_rollback, 1);
	unlink(path);
	cfg->max_hops = 100;
	free(msg);
}
END_TEST

START_TEST(bdat_over_max_hops_is_refused)
{
	char path[64], line[64], *msg = hops_message(101, "");
	size_t len = strlen(msg);

	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<s@client.example>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	snprintf(line, sizeof(line), "BDAT %zu LAST\r\n", len);
	send_str(line);
	expect("", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect(msg, "554 5.4.6 Error: too many hops (more than 100 Received: "
	    "header fields): mail loop?\r\n");
	ck_assert_uint_eq(n_commit, 0);
	ck_assert_uint_eq(n_rollback, 1);
	unlink(path);
	free(msg);
}
END_TEST

START_TEST(sender_literal_from_outside_is_refused)
{
	/* The session comes from 192.0.2.7, outside relay from. */
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<x@[127.0.0.1]> BODY=8BITMIME\r\n",
	    "550 5.7.1 <x@[127.0.0.1]>: address literals are not accepted "
	    "from this client\r\n");
	expect("MAIL FROM:<x@[IPv6:::1]>\r\n",
	    "550 5.7.1 <x@[IPv6:::1]>: address literals are not accepted "
	    "from this client\r\n");
	/* A recipient literal is refused by the relay rule. */
	expect("MAIL FROM:<x@client.example>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@[127.0.0.1]>\r\n",
	    "554 5.7.1 <u@[127.0.0.1]>: relaying denied\r\n");
}
END_TEST

START_TEST(sender_literal_allowed_by_config)
{
	/* From inside relay from. */
	close(cli);
	cli = -1;
	pump();
	S = connect_from("127.0.0.1", lst);
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<x@[127.0.0.1]>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@[192.0.2.1]>\r\n", "250 2.1.5 Recipient ok\r\n");
	close(cli);
	cli = -1;
	pump();

	/* From outside, with address-literals accept on the listener, and
	 * globally. */
	lst->address_literals = ADDRLIT_ACCEPT;
	S = connect_from("192.0.2.7", lst);
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<x@[192.0.2.9]>\r\n", "250 2.1.0 Sender ok\r\n");
	close(cli);
	cli = -1;
	pump();
	lst->address_literals = -1;
	cfg->address_literals = ADDRLIT_ACCEPT;
	S = connect_from("192.0.2.7", lst);
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<x@[192.0.2.9]>\r\n", "250 2.1.0 Sender ok\r\n");
	/* The listener's refuse wins over the global accept. */
	close(cli);
	cli = -1;
	pump();
	lst->address_literals = ADDRLIT_REFUSE;
	S = connect_from("192.0.2.7", lst);
	talk("EHLO client.example\r\n");
	expect_prefix("MAIL FROM:<x@[192.0.2.9]>\r\n", "550 5.7.1 ");
	lst->address_literals = -1;
	cfg->address_literals = ADDRLIT_REFUSE;
}
END_TEST

static Suite *
loops_suite(void)
{
	Suite *s = suite_create("smtpd_loops");
	TCase *tc;

	tcase_add_test(tc = tcase_create("hops"), hop_count);
	suite_add_tcase(s, tc);
	tc = tcase_create("session");
	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_test(tc, data_over_max_hops_is_refused);
	tcase_add_test(tc, data_at_max_hops_is_accepted);
	tcase_add_test(tc, max_hops_is_configurable);
	tcase_add_test(tc, bdat_over_max_hops_is_refused);
	tcase_add_test(tc, sender_literal_from_outside_is_refused);
	tcase_add_test(tc, sender_literal_allowed_by_config);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(loops_suite);
