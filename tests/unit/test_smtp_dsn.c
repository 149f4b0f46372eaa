/* SPDX-License-Identifier: ISC */
/* RFC 3461 DSN parameter values (lib/smtp_dsn.c): xtext, NOTIFY, RET,
 * ORCPT with the rfc822 and utf-8 (RFC 6533) address types. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "envelope.h"
#include "smtp.h"

START_TEST(xtext)
{
	char out[128];

	ck_assert_int_eq(smtp_xtext_decode("abc", out, sizeof(out)), 3);
	ck_assert_str_eq(out, "abc");
	ck_assert_int_eq(smtp_xtext_decode("a+2Bb+3Dc+20d", out, sizeof(out)), 7);
	ck_assert_str_eq(out, "a+b=c d");
	ck_assert_int_eq(smtp_xtext_decode("lower+2b", out, sizeof(out)), 6);
	ck_assert_int_eq(smtp_xtext_decode("", out, sizeof(out)), 0);
	/* Malformed: raw "+" or "=", short or bad hex, space, 8-bit. */
	ck_assert_int_eq(smtp_xtext_decode("a+", out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("a+2", out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("a+ZZ", out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("a=b", out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("a b", out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("caf\xc3\xa9", out, sizeof(out)), -1);
	/* Decoded controls would land in a DSN header: refused. */
	ck_assert_int_eq(smtp_xtext_decode("a+0D+0ABcc:x", out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("a+00", out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("a+7F", out, sizeof(out)), -1);
	/* Does not fit. */
	ck_assert_int_eq(smtp_xtext_decode("abcd", out, 4), -1);
	ck_assert_int_eq(smtp_xtext_decode("abc", out, 4), 3);
}
END_TEST

START_TEST(notify)
{
	uint32_t b = 0;

	ck_assert_int_eq(smtp_dsn_notify("NEVER", &b), 0);
	ck_assert_uint_eq(b, DSN_NOTIFY_NEVER);
	ck_assert_int_eq(smtp_dsn_notify("success,Failure,DELAY", &b), 0);
	ck_assert_uint_eq(b, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY);
	ck_assert_int_eq(smtp_dsn_notify("FAILURE", &b), 0);
	ck_assert_uint_eq(b, DSN_NOTIFY_FAILURE);
	ck_assert_int_eq(smtp_dsn_notify("NEVER,SUCCESS", &b), -1);
	ck_assert_int_eq(smtp_dsn_notify("SUCCESS,SUCCESS", &b), -1);
	ck_assert_int_eq(smtp_dsn_notify("SUCCESS,", &b), -1);
	ck_assert_int_eq(smtp_dsn_notify(",SUCCESS", &b), -1);
	ck_assert_int_eq(smtp_dsn_notify("ALWAYS", &b), -1);
	ck_assert_int_eq(smtp_dsn_notify("", &b), -1);
	ck_assert_int_eq(smtp_dsn_notify(NULL, &b), -1);
}
END_TEST

START_TEST(ret)
{
	ck_assert_int_eq(smtp_dsn_ret("FULL"), DSN_RET_FULL);
	ck_assert_int_eq(smtp_dsn_ret("hdrs"), DSN_RET_HDRS);
	ck_assert_int_eq(smtp_dsn_ret("HEADERS"), -1);
	ck_assert_int_eq(smtp_dsn_ret(NULL), -1);
}
END_TEST

START_TEST(orcpt)
{
	char out[SMTP_ORCPT_MAX + 1], big[600];

	ck_assert_int_gt(smtp_dsn_orcpt("rfc822;u+2Bx@example.org", false, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "rfc822;u+x@example.org");
	ck_assert_int_gt(smtp_dsn_orcpt("RFC822;a@b", false, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "RFC822;a@b");
	/* utf-8 type: \x{...} escapes, and raw UTF-8 (utf-8-addr-unitext)
	 * with or without SMTPUTF8 (RFC 6533 §3, liberally). */
	ck_assert_int_gt(smtp_dsn_orcpt("utf-8;j\\x{F6}rg@example.org", false, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "utf-8;j\xc3\xb6rg@example.org");
	ck_assert_int_eq(smtp_dsn_orcpt("utf-8;j\xc3\xb6rg@example.org", false,
	    out, sizeof(out)), 6 + 17);
	ck_assert_str_eq(out, "utf-8;j\xc3\xb6rg@example.org");
	ck_assert_int_gt(smtp_dsn_orcpt("utf-8;j\xc3\xb6rg@example.org", true,
	    out, sizeof(out)), 0);
	ck_assert_str_eq(out, "utf-8;j\xc3\xb6rg@example.org");
	ck_assert_int_gt(smtp_dsn_orcpt("UTF-8;\\x{7528}\\x{6237}@b\\x{FC}cher.test",
	    false, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "UTF-8;\xe7\x94\xa8\xe6\x88\xb7@b\xc3\xbc" "cher.test");
	/* ... and xtext in it too: "+" is no utf-8-addr character. */
	ck_assert_int_gt(smtp_dsn_orcpt("utf-8;u+2Bj\\x{F6}rg@x", false, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "utf-8;u+j\xc3\xb6rg@x");
	ck_assert_int_eq(smtp_dsn_orcpt("utf-8;u+j@x", false, out, sizeof(out)), -1);
	/* C1 controls (U+0085 is NEL) and DEL, escaped or raw. */
	ck_assert_int_eq(smtp_dsn_orcpt("utf-8;a\\x{85}@b", true, out,
	    sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("utf-8;a\xc2\x85@b", true, out,
	    sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("utf-8;a\\x{7F}@b", true, out,
	    sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("utf-8;a\\x{0}@b", true, out,
	    sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("utf-8;a\\x{D800}@b", true, out,
	    sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("utf-8;a\\x{0A}@b", true, out,
	    sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("utf-8;a\\x{}@b", true, out,
	    sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("utf-8;a\\x{1234567}@b", true, out,
	    sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("utf-8;a\\y@b", true, out, sizeof(out)), -1);
	/* rfc822 with xtext-encoded UTF-8 (what Postfix relays): kept as
	 * a RFC 6533 utf-8 address, decoded. */
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;j+C3+B6rg@example.test", false, out,
	    sizeof(out)), 6 + 18);
	ck_assert_str_eq(out, "utf-8;j\xc3\xb6rg@example.test");
	ck_assert_int_gt(smtp_dsn_orcpt("RFC822;+E7+94+A8@b+C3+BC" "cher.test", false,
	    out, sizeof(out)), 0);
	ck_assert_str_eq(out, "utf-8;\xe7\x94\xa8@b\xc3\xbc" "cher.test");
	/* Raw UTF-8 in an rfc822 value, as some SMTPUTF8 clients send it. */
	ck_assert_int_gt(smtp_dsn_orcpt("rfc822;j\xc3\xb6rg@example.test", true, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "utf-8;j\xc3\xb6rg@example.test");
	/* "\" is an ordinary xtext character outside the utf-8 type. */
	ck_assert_int_gt(smtp_dsn_orcpt("rfc822;a\\x{F6}@b", false, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "rfc822;a\\x{F6}@b");
	/* Other types keep their name, whatever the address. */
	ck_assert_int_gt(smtp_dsn_orcpt("x-local;+C3+B6", false, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "x-local;\xc3\xb6");
	/* Decoded octets that are not UTF-8: lone byte, truncated sequence,
	 * overlong, surrogate; and C1 controls. */
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;j+F6rg@x", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;j+C3", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;+C0+AF@x", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;+ED+A0+80@x", false, out,
	    sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;a+C2+85@x", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;a\xff@x", true, out, sizeof(out)), -1);
	/* Malformed: no type, no address, bad type, bad xtext. */
	ck_assert_int_eq(smtp_dsn_orcpt("a@b", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt(";a@b", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("rfc 822;a@b", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;a+0Db@c", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;a+7Fb@c", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;a+@c", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt("rfc822;a=b@c", false, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_dsn_orcpt(NULL, false, out, sizeof(out)), -1);
	/* Over 500 octets. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "rfc822;", 7);
	ck_assert_int_eq(smtp_dsn_orcpt(big, false, out, sizeof(out)), -1);
	big[SMTP_ORCPT_MAX] = '\0';
	ck_assert_int_eq(smtp_dsn_orcpt(big, false, out, sizeof(out)), SMTP_ORCPT_MAX);
}
END_TEST

static Suite *
dsn_suite(void)
{
	Suite *s = suite_create("smtp_dsn");
	TCase *tc = tcase_create("dsn");

	tcase_add_test(tc, xtext);
	tcase_add_test(tc, notify);
	tcase_add_test(tc, ret);
	tcase_add_test(tc, orcpt);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(dsn_suite);
