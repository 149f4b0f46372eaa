/* SPDX-License-Identifier: ISC */
/* Which notice queued writes (queued/dsn.c): an internationalised one
 * (RFC 6533) for an SMTPUTF8 message or a non-ASCII address, with its
 * global media types and UTF-8 addresses, and today's RFC 3464 one
 * otherwise; Original-Recipient in the encoding of its address type
 * (RFC 3461 4.2); and the checked decoding of deliverd's per-recipient
 * result, where only a delivered recipient may carry "DSN passed on";
 * the header fields plugins added on top of the returned content. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "../../queued/dsn.h"
#include "proto.h"
#include "util.h"

#define NOW 1764072000
#define JORG "j\xc3\xb6rg"                       /* jörg */
#define BUCHER "b\xc3\xbc" "cher.test"           /* bücher.test */

static const char original[] =
    "From: " JORG "@" BUCHER "\r\n"
    "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n"
    "Message-ID: <u@" BUCHER ">\r\n"
    "\r\n"
    "Body, UTF-8: \xc3\xa9\r\n";

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
	d->arrival = NOW - 3600;
	d->now = NOW;
	d->nrcpt = n;
	d->rcpt = r;
}

/* The part that starts with this Content-Type line, up to the next
 * boundary (to free). */
static char *
part(const char *t, const char *ctype)
{
	const char *p = strstr(t, ctype), *e;

	ck_assert_msg(p != NULL, "no part %s", ctype);
	e = strstr(p, "\r\n--01ARZ3NDEKTSV4RRFFQ69G5FAV/");
	ck_assert_ptr_nonnull(e);
	return strndup(p, (size_t)(e - p));
}

/* A bounced SMTPUTF8 message from a UTF-8 sender, headers returned. */
START_TEST(global_notice_for_smtputf8)
{
	struct dsn_rcpt r[2];
	struct dsn_info d;
	char *t, *human, *ds, *ret;
	bool e8 = false;

	memset(r, 0, sizeof(r));
	r[0].addr = "ren\xc3\xa9@" BUCHER;
	r[0].orcpt = "utf-8;ren\xc3\xa9@" BUCHER;
	r[0].action = DSN_FAILED;
	r[0].diag = "550 5.1.1 unknown";
	r[1].addr = "plain@example.com";
	r[1].orcpt = "rfc822;Plain+list@example.com";
	r[1].action = DSN_FAILED;
	r[1].diag = "550 5.1.1 unknown";
	info_init(&d, r, 2);
	d.orig_sender = JORG "@" BUCHER;
	d.smtputf8 = true;
	ck_assert(dsn_global(&d));
	t = notice(&d, original, &e8);
	fx_check_mail_lines(t, true);
	ck_assert(e8);
	ck_assert_ptr_nonnull(strstr(t, "\r\nTo: <" JORG "@" BUCHER ">\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: multipart/report; "
	    "report-type=global-delivery-status;\r\n"));
	ck_assert_ptr_null(strstr(t, "message/delivery-status"));
	ck_assert_ptr_null(strstr(t, "rfc822-headers"));

	human = part(t, "Content-Type: text/plain");
	ck_assert_ptr_nonnull(strstr(human, "charset=utf-8\r\n"));
	ck_assert_ptr_nonnull(strstr(human, "<ren\xc3\xa9@" BUCHER ">:\r\n"));

	ds = part(t, "Content-Type: message/global-delivery-status\r\n");
	ck_assert_ptr_nonnull(strstr(ds, "Content-Transfer-Encoding: 8bit\r\n"));
	ck_assert_ptr_nonnull(strstr(ds, "\r\n\r\nFinal-Recipient: utf-8;ren"
	    "\xc3\xa9@" BUCHER "\r\nOriginal-Recipient: utf-8;ren\xc3\xa9@"
	    BUCHER "\r\nAction: failed\r\nStatus: 5.1.1\r\n"));
	/* ASCII addresses keep the rfc822 type, ORCPT decoded. */
	ck_assert_ptr_nonnull(strstr(ds, "\r\n\r\nFinal-Recipient: rfc822;"
	    "plain@example.com\r\nOriginal-Recipient: rfc822;"
	    "Plain+list@example.com\r\n"));

	ret = part(t, "Content-Type: message/global-headers\r\n");
	ck_assert_ptr_nonnull(strstr(ret, "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n"));
	ck_assert_ptr_null(strstr(t, "Body, UTF-8"));
	free(ret);
	free(ds);
	free(human);
	free(t);

	/* RET=FULL: message/global with the body. */
	d.ret_full = true;
	t = notice(&d, original, NULL);
	fx_check_mail_lines(t, true);
	ret = part(t, "Content-Type: message/global\r\n");
	ck_assert_ptr_nonnull(strstr(ret, "Body, UTF-8: \xc3\xa9\r\n"));
	ck_assert_ptr_null(strstr(t, "message/rfc822"));
	free(ret);
	free(t);
}
END_TEST

/* Not SMTPUTF8, but one address is not ASCII: global as well. */
START_TEST(global_notice_for_a_utf8_address)
{
	struct dsn_rcpt r;
	struct dsn_info d;
	char *t;

	memset(&r, 0, sizeof(r));
	r.addr = "bob@example.com";
	r.action = DSN_FAILED;
	info_init(&d, &r, 1);
	ck_assert(!dsn_global(&d));
	r.orcpt = "utf-8;b\xc3\xb6" "b@example.com";
	ck_assert(dsn_global(&d));
	r.orcpt = NULL;
	r.addr = JORG "@example.com";
	ck_assert(dsn_global(&d));
	r.addr = "bob@example.com";
	d.orig_sender = JORG "@example.org";
	ck_assert(dsn_global(&d));
	d.orig_sender = "alice@example.org";
	d.smtputf8 = true;
	ck_assert(dsn_global(&d));

	d.smtputf8 = false;
	r.addr = JORG "@" BUCHER;
	t = notice(&d, "Subject: x\r\n\r\nbody\r\n", NULL);
	fx_check_mail_lines(t, true);
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: message/"
	    "global-delivery-status\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: message/global-headers"
	    "\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Final-Recipient: utf-8;" JORG "@"
	    BUCHER "\r\n"));
	free(t);
}
END_TEST

/* ASCII only: the RFC 3464 notice as before, Original-Recipient in
 * xtext (RFC 3461 4.2), a utf-8 ORCPT of ASCII in utf-8-addr-xtext. */
START_TEST(plain_notice_for_ascii)
{
	struct dsn_rcpt r[3];
	struct dsn_info d;
	char *t, *ds;
	bool e8 = true;

	memset(r, 0, sizeof(r));
	r[0].addr = "a@example.com";
	r[0].orcpt = "rfc822;A+tag=x@Example.com";
	r[0].action = DSN_FAILED;
	r[1].addr = "b@example.com";
	r[1].orcpt = "utf-8;b+tag\\@example.com";
	r[1].action = DSN_DELAYED;
	r[1].retry_until = NOW + 3600;
	r[2].addr = "c@example.com";
	r[2].orcpt = "x400;c=d; e";
	r[2].action = DSN_RELAYED;
	info_init(&d, r, 3);
	ck_assert(!dsn_global(&d));
	t = notice(&d, "Subject: x\r\n\r\nbody\r\n", &e8);
	fx_check_mail_lines(t, true);
	ck_assert(!e8);
	ck_assert_ptr_nonnull(strstr(t, "report-type=delivery-status;\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: text/plain; "
	    "charset=us-ascii\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: text/rfc822-headers\r\n"));
	ck_assert_ptr_null(strstr(t, "global"));
	ck_assert_ptr_null(strstr(t, "Content-Transfer-Encoding"));
	ds = part(t, "Content-Type: message/delivery-status\r\n");
	ck_assert_ptr_nonnull(strstr(ds, "Final-Recipient: rfc822;a@example.com"
	    "\r\nOriginal-Recipient: rfc822;A+tag=x@Example.com\r\n"));
	ck_assert_ptr_nonnull(strstr(ds, "Original-Recipient: utf-8;"
	    "b\\x{2B}tag\\x{5C}@example.com\r\n"));
	ck_assert_ptr_nonnull(strstr(ds, "Original-Recipient: x400;c=d;+20e"
	    "\r\n"));
	ck_assert_ptr_nonnull(strstr(ds, "Will-Retry-Until: "));
	free(ds);
	free(t);
}
END_TEST

/* Hostile bytes in a global notice: no control, no broken UTF-8, no
 * header or boundary can come from an address. */
START_TEST(global_fields_are_clean)
{
	struct dsn_rcpt r;
	struct dsn_info d;
	char *t;

	memset(&r, 0, sizeof(r));
	r.addr = "a\xc3\xa9\r\nX-Injected: 1\xc2\x85\xff\xc3@x";
	r.orcpt = "utf-8;o\xc3\xa9\r\nX-Orcpt: 1 \xed\xa0\x80@x";
	r.action = DSN_FAILED;
	r.diag = "550 5.1.1 \xc3\xa9\r\nX-Diag: 1";
	info_init(&d, &r, 1);
	d.orig_sender = "s\xc3\xa9\n--01ARZ3NDEKTSV4RRFFQ69G5FAV/x@y";
	t = notice(&d, NULL, NULL);
	fx_check_mail_lines(t, true);
	ck_assert_ptr_null(strstr(t, "\r\nX-Injected"));
	ck_assert_ptr_null(strstr(t, "\r\nX-Orcpt"));
	ck_assert_ptr_null(strstr(t, "\r\nX-Diag"));
	ck_assert_ptr_null(strstr(t, "\r\n--01ARZ3NDEKTSV4RRFFQ69G5FAV/x@y"));
	/* The C1 control and the bad bytes are gone, é stays. */
	ck_assert_ptr_nonnull(strstr(t, "Final-Recipient: utf-8;a\xc3\xa9??"
	    "X-Injected:\\x{20}1\\x{85}\\x{FFFD}\\x{FFFD}@x\r\n"));
	ck_assert_ptr_null(strstr(t, "\xc2\x85"));
	ck_assert_ptr_null(strstr(t, "\xed\xa0\x80"));
	ck_assert_ptr_nonnull(strstr(t, "Original-Recipient: utf-8;o\xc3\xa9"));
	free(t);
}
END_TEST

/* A remote's reply text in UTF-8 (deliverd keeps it, controls as \xHH):
 * the human-readable part of a global notice shows it, the ASCII
 * Diagnostic-Code and a plain notice's text/plain never carry 8-bit. */
START_TEST(reply_text_in_utf8)
{
	struct dsn_rcpt r;
	struct dsn_info d;
	char *t, *human, *ds;
	bool e8;

	memset(&r, 0, sizeof(r));
	r.addr = JORG "@" BUCHER;
	r.action = DSN_FAILED;
	r.diag = "550 5.2.2 Postfach von " JORG " voll\\x0d";
	info_init(&d, &r, 1);
	d.smtputf8 = true;
	e8 = false;
	t = notice(&d, NULL, &e8);
	fx_check_mail_lines(t, true);
	ck_assert(e8);
	human = part(t, "Content-Type: text/plain; charset=utf-8\r\n");
	ck_assert_ptr_nonnull(strstr(human, "\r\n    550 5.2.2 Postfach von "
	    JORG " voll\\x0d\r\n"));
	ds = part(t, "Content-Type: message/global-delivery-status\r\n");
	ck_assert_ptr_nonnull(strstr(ds, "Diagnostic-Code: smtp; 550 5.2.2 "
	    "Postfach von j??rg voll\\x0d\r\n"));
	free(ds);
	free(human);
	free(t);

	/* ASCII addresses, a plain notice: the text in ASCII. */
	r.addr = "joerg@example.com";
	d.smtputf8 = false;
	ck_assert(!dsn_global(&d));
	e8 = true;
	t = notice(&d, NULL, &e8);
	fx_check_mail_lines(t, true);
	ck_assert(!e8);
	ck_assert_ptr_nonnull(strstr(t, "\r\n    550 5.2.2 Postfach von j??rg "
	    "voll\\x0d\r\n"));
	ck_assert_ptr_null(strstr(t, JORG));
	free(t);
}
END_TEST

/* deliverd's state: exactly one of the three results, and "DSN passed
 * on" only with delivered; everything else is refused. */
START_TEST(result_state_decoding)
{
	uint32_t st, raw;
	bool passed;

	ck_assert_int_eq(dsn_result_state(RCPT_DELIVERED, &st, &passed), 0);
	ck_assert_uint_eq(st, RCPT_DELIVERED);
	ck_assert(!passed);
	ck_assert_int_eq(dsn_result_state(RCPT_DELIVERED | RCPT_DSN_PASSED, &st,
	    &passed), 0);
	ck_assert_uint_eq(st, RCPT_DELIVERED);
	ck_assert(passed);
	ck_assert_int_eq(dsn_result_state(RCPT_DEFERRED, &st, &passed), 0);
	ck_assert_uint_eq(st, RCPT_DEFERRED);
	ck_assert(!passed);
	ck_assert_int_eq(dsn_result_state(RCPT_FAILED, &st, &passed), 0);
	ck_assert_uint_eq(st, RCPT_FAILED);
	ck_assert(!passed);
	/* The flag with anything but delivered. */
	ck_assert_int_eq(dsn_result_state(RCPT_DEFERRED | RCPT_DSN_PASSED, &st,
	    &passed), -1);
	ck_assert_int_eq(dsn_result_state(RCPT_FAILED | RCPT_DSN_PASSED, &st,
	    &passed), -1);
	ck_assert_int_eq(dsn_result_state(RCPT_DSN_PASSED, &st, &passed), -1);
	/* States deliverd never reports, and every other bit. */
	ck_assert_int_eq(dsn_result_state(RCPT_QUEUED, &st, &passed), -1);
	ck_assert_int_eq(dsn_result_state(RCPT_INFLIGHT, &st, &passed), -1);
	ck_assert_int_eq(dsn_result_state(RCPT_STATE_COUNT, &st, &passed), -1);
	for (raw = 0x40; raw != 0; raw <<= 1) {
		ck_assert_int_eq(dsn_result_state(RCPT_DELIVERED | raw, &st,
		    &passed), -1);
		ck_assert_int_eq(dsn_result_state(RCPT_DELIVERED |
		    RCPT_DSN_PASSED | raw, &st, &passed), -1);
	}
	ck_assert_int_eq(dsn_result_state(RCPT_DELIVERED | 0x08, &st, &passed),
	    -1);
	ck_assert_int_eq(dsn_result_state(UINT32_MAX, &st, &passed), -1);
}
END_TEST

/* The header fields plugins added at DATA are on top of the returned
 * message (RET=FULL) and of the returned header section (HDRS), as the
 * recipient would have got them, and count in the return limit. */
START_TEST(added_header_fields_on_top)
{
	static const char orig[] = "Subject: x\r\nFrom: a@example.org\r\n"
	    "\r\nbody line\r\n";
	static const char added[] = "X-Score: 7\r\nX-Checked: yes\r\n";
	struct dsn_rcpt r[1];
	struct dsn_info d;
	char *t, *p, want[256];

	memset(r, 0, sizeof(r));
	r[0].addr = "a@example.com";
	r[0].action = DSN_FAILED;
	info_init(&d, r, 1);
	d.headers = added;
	snprintf(want, sizeof(want), "Content-Description: Undelivered "
	    "Message\r\n\r\n%s%s", added, orig);

	d.ret_full = true;
	t = notice(&d, orig, NULL);
	fx_check_mail_lines(t, true);
	ck_assert_msg(strstr(t, want) != NULL, "%s", t);
	free(t);

	/* HDRS: the added fields, then the original header section. */
	d.ret_full = false;
	t = notice(&d, orig, NULL);
	p = part(t, "Content-Type: text/rfc822-headers\r\n");
	ck_assert_msg(strstr(p, "\r\n\r\nX-Score: 7\r\nX-Checked: yes\r\n"
	    "Subject: x\r\n") != NULL, "%s", p);
	ck_assert_ptr_null(strstr(p, "body line"));
	free(p);
	free(t);

	/* The limit leaves room for the added fields only: the original is
	 * cut, they are not. */
	d.ret_full = true;
	d.return_limit = sizeof(added) - 1 + 12;
	t = notice(&d, orig, NULL);
	ck_assert_msg(strstr(t, "Message\r\n\r\nX-Score: 7\r\nX-Checked: "
	    "yes\r\nSubject: x\r\n\r\n--") != NULL, "%s", t);
	free(t);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("queued_dsn");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, global_notice_for_smtputf8);
	tcase_add_test(tc, global_notice_for_a_utf8_address);
	tcase_add_test(tc, plain_notice_for_ascii);
	tcase_add_test(tc, global_fields_are_clean);
	tcase_add_test(tc, reply_text_in_utf8);
	tcase_add_test(tc, result_state_decoding);
	tcase_add_test(tc, added_header_fields_on_top);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
