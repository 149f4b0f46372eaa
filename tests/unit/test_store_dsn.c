/* SPDX-License-Identifier: ISC */
/* Delivery status notifications (queued/dsn.c): the RFC 3464 report is
 * well formed (multipart/report with its three parts, the per-message and
 * per-recipient fields), returns the headers or the whole message as RET
 * asks, derives Status from the diagnostic, and no text from the network
 * can add a header line or end a MIME part. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "../../queued/dsn.h"
#include "maildate.h"
#include "util.h"

#define NOW 1764072000        /* Tue, 25 Nov 2025 12:00:00 +0000 */

static const char original[] =
    "Received: from client (c [192.0.2.1])\r\n\tby mx; date\r\n"
    "Subject: the original\r\n"
    "Message-ID: <orig@example.org>\r\n"
    "\r\n"
    "Body line one\r\n"
    "X-Not-A-Header: in the body\r\n";

/* Run dsn_write and return the notice as a string (to free). */
static char *
notice(const struct dsn_info *d, const char *orig, bool *eightbit)
{
	int out = fx_memfile(NULL, 0);
	int in = orig ? fx_memfile(orig, strlen(orig)) : -1;
	char *buf;
	bool e8 = false;

	ck_assert_int_eq(dsn_write(out, d, in, &e8), 0);
	buf = fx_fd_text(out, NULL);
	close(out);
	if (in != -1)
		close(in);
	if (eightbit != NULL)
		*eightbit = e8;
	return buf;
}

static void
info_init(struct dsn_info *d, struct dsn_rcpt *r, size_t n)
{
	memset(d, 0, sizeof(*d));
	d->reporting_mta = "mx.example.net";
	d->from = "postmaster@example.net";
	d->notice_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
	d->orig_id = "01BX5ZZKBKACTAV9WEVGEMMVRZ";
	d->orig_sender = "alice@example.org";
	d->envid = "ENV-77";
	d->arrival = NOW - 3600;
	d->now = NOW;
	d->nrcpt = n;
	d->rcpt = r;
}

START_TEST(failure_report_structure)
{
	struct dsn_rcpt r[2];
	struct dsn_info d;
	char *t, *part2, *part3;

	memset(r, 0, sizeof(r));
	r[0].addr = "bob@example.com";
	r[0].orcpt = "rfc822;Bob@Example.COM";
	r[0].action = DSN_FAILED;
	r[0].diag = "550 5.1.1 <bob@example.com>: no such user";
	r[0].remote = "mx1.example.com[192.0.2.25]:25";
	r[0].attempts = 1;
	r[0].last_attempt = NOW - 60;
	r[1].addr = "carol@example.com";
	r[1].action = DSN_RELAYED;
	r[1].diag = "250 2.0.0 ok";
	r[1].last_attempt = NOW - 30;
	info_init(&d, r, 2);
	t = notice(&d, original, NULL);
	fx_check_mail_lines(t, false);

	ck_assert_ptr_nonnull(strstr(t, "\r\nTo: <alice@example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "From: Mail Delivery System "
	    "<postmaster@example.net>\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Auto-Submitted: auto-replied\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Subject: Delivery Status Notification "
	    "(Failure)\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\""));
	part2 = strstr(t, "Content-Type: message/delivery-status\r\n");
	ck_assert_ptr_nonnull(part2);
	part3 = strstr(t, "Content-Type: text/rfc822-headers\r\n");
	ck_assert_ptr_nonnull(part3);
	ck_assert(part2 < part3);
	ck_assert(strstr(t, "Content-Type: text/plain") < part2);

	/* Per message. */
	ck_assert_ptr_nonnull(strstr(part2, "\r\n\r\nReporting-MTA: dns; "
	    "mx.example.net\r\n"));
	ck_assert_ptr_nonnull(strstr(part2, "Original-Envelope-Id: ENV-77\r\n"));
	ck_assert_ptr_nonnull(strstr(part2, "Arrival-Date: Tue, 25 Nov 2025 "
	    "11:00:00 +0000\r\n"));
	/* Per recipient, each block after an empty line. */
	ck_assert_ptr_nonnull(strstr(part2, "\r\n\r\nFinal-Recipient: "
	    "rfc822;bob@example.com\r\nOriginal-Recipient: rfc822;Bob@Example.COM"
	    "\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; "
	    "mx1.example.com\r\nDiagnostic-Code: smtp; 550 5.1.1 "
	    "<bob@example.com>: no such user\r\nLast-Attempt-Date: Tue, 25 Nov "
	    "2025 11:59:00 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(part2, "\r\n\r\nFinal-Recipient: "
	    "rfc822;carol@example.com\r\nAction: relayed\r\nStatus: 2.0.0\r\n"));
	/* Headers only, up to the empty line. */
	ck_assert_ptr_nonnull(strstr(part3, "Subject: the original\r\n"));
	ck_assert_ptr_nonnull(strstr(part3, "Message-ID: <orig@example.org>\r\n"));
	ck_assert_ptr_null(strstr(t, "Body line one"));
	ck_assert_ptr_null(strstr(t, "X-Not-A-Header"));
	/* The closing boundary ends the notice. */
	ck_assert_ptr_nonnull(strstr(t, "\r\n--01ARZ3NDEKTSV4RRFFQ69G5FAV/"
	    "mx.example.net--\r\n"));
	free(t);
}
END_TEST

START_TEST(ret_full_returns_the_message)
{
	struct dsn_rcpt r;
	struct dsn_info d;
	char *t;

	memset(&r, 0, sizeof(r));
	r.addr = "bob@example.com";
	r.action = DSN_FAILED;
	r.diag = "554 5.7.1 rejected";
	info_init(&d, &r, 1);
	d.ret_full = true;
	t = notice(&d, original, NULL);
	fx_check_mail_lines(t, false);
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: message/rfc822\r\n"));
	ck_assert_ptr_null(strstr(t, "text/rfc822-headers"));
	ck_assert_ptr_nonnull(strstr(t, "\r\n\r\nReceived: from client"));
	ck_assert_ptr_nonnull(strstr(t, "Body line one\r\nX-Not-A-Header: in the "
	    "body\r\n"));
	free(t);
}
END_TEST

/* The returned content is capped at return_limit octets, whole lines:
 * RET=FULL of a large message, and a long header section. */
START_TEST(return_limit_caps_the_original)
{
	struct dsn_rcpt r;
	struct dsn_info d;
	char *big, *t, *part3, *end;
	size_t i, n = 0, cap = 50 * 1024;

	/* 200 KiB: headers, then numbered 80-octet lines. */
	big = xmalloc(210 * 1024);
	n += (size_t)sprintf(big, "Subject: big\r\n\r\n");
	for (i = 0; n < 200 * 1024; i++)
		n += (size_t)sprintf(big + n, "%06zu %.70s\r\n", i,
		    "0123456789012345678901234567890123456789012345678901234567890123456789");
	memset(&r, 0, sizeof(r));
	r.addr = "bob@example.com";
	r.action = DSN_FAILED;
	r.diag = "550 5.1.1 no";
	info_init(&d, &r, 1);
	d.ret_full = true;
	d.return_limit = cap;
	t = notice(&d, big, NULL);
	fx_check_mail_lines(t, false);
	ck_assert_ptr_nonnull(strstr(t, "only its first 51200 octets"));
	part3 = strstr(t, "Content-Type: message/rfc822\r\n");
	ck_assert_ptr_nonnull(part3);
	part3 = strstr(part3, "\r\n\r\n") + 4;
	end = strstr(part3, "\r\n--01ARZ3NDEKTSV4RRFFQ69G5FAV/");
	ck_assert_ptr_nonnull(end);
	/* At most the limit, a whole line at the end, and close to it. */
	ck_assert_uint_le((size_t)(end - part3), cap);
	ck_assert_uint_ge((size_t)(end - part3), cap - 82);
	ck_assert(strncmp(part3, big, (size_t)(end - part3)) == 0);
	ck_assert(end[-2] == '\r' && end[-1] == '\n');
	free(t);

	/* The default limit is 50K too. */
	d.return_limit = 0;
	t = notice(&d, big, NULL);
	ck_assert_uint_lt(strlen(t), cap + 4096);
	free(t);

	/* Small enough: whole, without the note. */
	d.return_limit = 300 * 1024;
	t = notice(&d, big, NULL);
	ck_assert_ptr_null(strstr(t, "cut short"));
	ck_assert_ptr_nonnull(strstr(t, big + n - 82));
	free(t);

	/* Headers only: cut at a line end too. */
	d.ret_full = false;
	d.return_limit = 60;
	t = notice(&d, original, NULL);
	fx_check_mail_lines(t, false);
	part3 = strstr(t, "Content-Type: text/rfc822-headers\r\n");
	ck_assert_ptr_nonnull(part3);
	ck_assert_ptr_nonnull(strstr(part3, "Received: from client"));
	ck_assert_ptr_null(strstr(part3, "Subject: the original"));
	free(t);
	free(big);
}
END_TEST

/* A reply that tries to add header lines or a MIME boundary stays on its
 * own line; a non-ASCII address uses the utf-8 type. */
START_TEST(network_text_cannot_inject)
{
	struct dsn_rcpt r;
	struct dsn_info d;
	bool e8;
	char *t;

	memset(&r, 0, sizeof(r));
	r.addr = "jos\xc3\xa9@exa\r\nmple.com";
	r.action = DSN_FAILED;
	r.diag = "550 no\r\nX-Injected: yes\r\n--01ARZ3NDEKTSV4RRFFQ69G5FAV/"
	    "mx.example.net--\r\n";
	r.remote = "evil\r\nX-Bad: 1";
	info_init(&d, &r, 1);
	d.envid = "E\nX-Env: 1";
	t = notice(&d, NULL, &e8);
	fx_check_mail_lines(t, false);
	ck_assert_ptr_null(strstr(t, "\r\nX-Injected"));
	ck_assert_ptr_null(strstr(t, "\r\nX-Bad"));
	ck_assert_ptr_null(strstr(t, "\r\nX-Env"));
	/* Not ASCII: an RFC 6533 notice, the address in UTF-8. */
	ck_assert_ptr_nonnull(strstr(t, "Final-Recipient: utf-8;jos\xc3\xa9@exa??"
	    "mple.com\r\n"));
	/* Only the real closing boundary starts a line. */
	ck_assert_ptr_eq(strstr(t, "\r\n--01ARZ3NDEKTSV4RRFFQ69G5FAV/"
	    "mx.example.net--"), strrchr(t, '-') - strlen("\r\n--01ARZ3NDEKTSV4RR"
	    "FFQ69G5FAV/mx.example.net-"));
	/* No original: the notice says so and quotes nothing. */
	ck_assert_ptr_nonnull(strstr(t, "lost from the queue"));
	ck_assert_ptr_null(strstr(t, "rfc822-headers"));
	ck_assert_ptr_null(strstr(t, "global-headers"));
	ck_assert(e8);
	free(t);
}
END_TEST

START_TEST(delay_report)
{
	struct dsn_rcpt r;
	struct dsn_info d;
	char *t;

	memset(&r, 0, sizeof(r));
	r.addr = "bob@example.com";
	r.action = DSN_DELAYED;
	r.diag = "451 4.3.0 try later";
	r.last_attempt = NOW - 10;
	r.retry_until = NOW + 86400;
	info_init(&d, &r, 1);
	t = notice(&d, original, NULL);
	fx_check_mail_lines(t, false);
	ck_assert_ptr_nonnull(strstr(t, "Subject: Delivery Status Notification "
	    "(Delay)\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Action: delayed\r\nStatus: 4.3.0\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Will-Retry-Until: Wed, 26 Nov 2025 "
	    "12:00:00 +0000\r\n"));
	free(t);
}
END_TEST

START_TEST(status_from_diagnostic)
{
	struct dsn_rcpt r;
	char st[32];

	memset(&r, 0, sizeof(r));
	r.action = DSN_FAILED;
	r.diag = "550 5.7.26 unauthenticated";
	dsn_status(&r, st, sizeof(st));
	ck_assert_str_eq(st, "5.7.26");
	r.diag = "5.1.10 null MX";
	dsn_status(&r, st, sizeof(st));
	ck_assert_str_eq(st, "5.1.10");
	/* Failed after temporary errors: the 4.x.y code is kept. */
	r.diag = "451 4.4.1 connection refused";
	dsn_status(&r, st, sizeof(st));
	ck_assert_str_eq(st, "4.4.1");
	r.diag = "550 no enhanced code";
	dsn_status(&r, st, sizeof(st));
	ck_assert_str_eq(st, "5.0.0");
	r.diag = NULL;
	dsn_status(&r, st, sizeof(st));
	ck_assert_str_eq(st, "5.0.0");
	/* A code of the wrong class is not used. */
	r.action = DSN_RELAYED;
	r.diag = "550 5.1.1 no";
	dsn_status(&r, st, sizeof(st));
	ck_assert_str_eq(st, "2.0.0");
	r.action = DSN_DELAYED;
	r.diag = "421 4.7.0 slow down";
	dsn_status(&r, st, sizeof(st));
	ck_assert_str_eq(st, "4.7.0");
}
END_TEST

START_TEST(dates_and_addresses)
{
	char buf[128];

	mail_date(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Thu, 01 Jan 1970 00:00:00 +0000");
	mail_date(NOW, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Tue, 25 Nov 2025 12:00:00 +0000");
	dsn_address("a@b.example", buf, sizeof(buf));
	ck_assert_str_eq(buf, "rfc822;a@b.example");
	dsn_address("\xe7\x94\xb0\xe4\xb8\xad@x.example", buf, sizeof(buf));
	ck_assert_str_eq(buf, "utf-8;\\x{7530}\\x{4E2D}@x.example");
	dsn_address("bad\xff@x", buf, sizeof(buf));
	ck_assert_str_eq(buf, "utf-8;bad\\x{FFFD}@x");
	/* Bounded. */
	dsn_address("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x", buf, 16);
	ck_assert_uint_lt(strlen(buf), 16);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("dsn");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, failure_report_structure);
	tcase_add_test(tc, ret_full_returns_the_message);
	tcase_add_test(tc, return_limit_caps_the_original);
	tcase_add_test(tc, network_text_cannot_inject);
	tcase_add_test(tc, delay_report);
	tcase_add_test(tc, status_from_diagnostic);
	tcase_add_test(tc, dates_and_addresses);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
