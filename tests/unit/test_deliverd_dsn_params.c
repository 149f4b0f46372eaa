/* SPDX-License-Identifier: ISC */
/* deliverd: the DSN parameters passed on to a next hop (RFC 3461 4-5,
 * RFC 6533 utf-8 addresses): xtext and utf-8-addr-xtext encoding, ORCPT
 * values with and without a stored one, NOTIFY lists, RET/ENVID, and the
 * command line bound that drops ORCPT or ENVID rather than exceed it. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "../../deliverd/dsn_params.h"
#include "smtp.h"

START_TEST(xtext)
{
	char out[64], back[64];

	ck_assert_int_eq(dsn_xtext_encode("a@b.test", out, sizeof(out)), 8);
	ck_assert_str_eq(out, "a@b.test");
	ck_assert_int_gt(dsn_xtext_encode("a+b=c d", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a+2Bb+3Dc+20d");
	ck_assert_int_gt(dsn_xtext_encode("\x7f\x01~!", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "+7F+01~!");
	ck_assert_int_gt(dsn_xtext_encode("\xc3\xbc", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "+C3+BC");
	/* What the server side decodes is what went in. */
	ck_assert_int_gt(dsn_xtext_encode("x+y=z@q", out, sizeof(out)), 0);
	ck_assert_int_eq(smtp_xtext_decode(out, back, sizeof(back)), 7);
	ck_assert_str_eq(back, "x+y=z@q");
	/* Too small: refused, never cut. */
	ck_assert_int_eq(dsn_xtext_encode("abc", out, 3), -1);
	ck_assert_int_eq(dsn_xtext_encode("a+", out, 4), -1);
	ck_assert_int_eq(dsn_xtext_encode("a+", out, 5), 4);
}
END_TEST

START_TEST(utf8_xtext)
{
	char out[128], back[128];

	ck_assert_int_gt(dsn_utf8_xtext_encode("j\xc3\xb6rg@b\xc3\xbc" "cher.test",
	    out, sizeof(out)), 0);
	ck_assert_str_eq(out, "j\\x{F6}rg@b\\x{FC}cher.test");
	/* "+", "=", "\" and space are escaped the RFC 6533 way. */
	ck_assert_int_gt(dsn_utf8_xtext_encode("a+b=c\\d e", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a\\x{2B}b\\x{3D}c\\x{5C}d\\x{20}e");
	/* Four-byte sequence. */
	ck_assert_int_gt(dsn_utf8_xtext_encode("\xf0\x9f\x98\x80@x", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "\\x{1F600}@x");
	/* Invalid UTF-8 is refused. */
	ck_assert_int_eq(dsn_utf8_xtext_encode("a\xc3", out, sizeof(out)), -1);
	ck_assert_int_eq(dsn_utf8_xtext_encode("\xc0\xaf", out, sizeof(out)), -1);
	ck_assert_int_eq(dsn_utf8_xtext_encode("\xc3\xbc", out, 6), -1);
	/* Round trip through the parser smtpd uses. */
	ck_assert_int_gt(dsn_orcpt_value("utf-8;j\xc3\xb6rg+x@b\xc3\xbc" "cher.test",
	    NULL, out, sizeof(out)), 0);
	ck_assert_int_gt(smtp_dsn_orcpt(out, false, back, sizeof(back)), 0);
	ck_assert_str_eq(back, "utf-8;j\xc3\xb6rg+x@b\xc3\xbc" "cher.test");
}
END_TEST

START_TEST(orcpt_values)
{
	char out[600], back[600];

	ck_assert_int_gt(dsn_orcpt_value("rfc822;a+b@c.test", "x@y", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "rfc822;a+2Bb@c.test");
	ck_assert_int_gt(smtp_dsn_orcpt(out, false, back, sizeof(back)), 0);
	ck_assert_str_eq(back, "rfc822;a+b@c.test");
	/* The type is kept as it came. */
	ck_assert_int_gt(dsn_orcpt_value("RFC822;u@v", "x@y", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "RFC822;u@v");
	ck_assert_int_gt(dsn_orcpt_value("x-local;a=b", "x@y", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "x-local;a+3Db");
	/* None stored: the recipient itself (RFC 3461 4.2). */
	ck_assert_int_gt(dsn_orcpt_value(NULL, "Rcpt@Example.test", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "rfc822;Rcpt@Example.test");
	ck_assert_int_gt(dsn_orcpt_value(NULL, "u@b\xc3\xbc" "cher.test", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "utf-8;u@b\\x{FC}cher.test");
	ck_assert_int_eq(dsn_orcpt_value(NULL, "", out, sizeof(out)), -1);
	ck_assert_int_eq(dsn_orcpt_value("rfc822;a@b", NULL, out, 8), -1);
}
END_TEST

START_TEST(mail_params)
{
	struct envelope env;
	char out[DSN_LINE_MAX], big[300];

	memset(&env, 0, sizeof(env));
	ck_assert_int_eq(dsn_mail_params(&env, 30, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	env.ret = DSN_RET_HDRS;
	env.envid = (char *)"id+1 x";
	ck_assert_int_gt(dsn_mail_params(&env, 30, out, sizeof(out)), 0);
	ck_assert_str_eq(out, " RET=HDRS ENVID=id+2B1+20x");
	env.ret = DSN_RET_FULL;
	env.envid = NULL;
	dsn_mail_params(&env, 30, out, sizeof(out));
	ck_assert_str_eq(out, " RET=FULL");
	/* ENVID that would take the line to the limit stays home. */
	memset(big, '+', 100);
	big[100] = '\0';
	env.envid = big;
	dsn_mail_params(&env, 700, out, sizeof(out));
	ck_assert_str_eq(out, " RET=FULL");
	dsn_mail_params(&env, 500, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), 9 + 7 + 300);
}
END_TEST

START_TEST(rcpt_params)
{
	struct env_rcpt r;
	char out[DSN_LINE_MAX], addr[300];
	size_t used;

	memset(&r, 0, sizeof(r));
	r.addr = (char *)"a@b.test";
	dsn_rcpt_params(&r, 20, out, sizeof(out));
	ck_assert_str_eq(out, " ORCPT=rfc822;a@b.test");
	r.notify = DSN_NOTIFY_NEVER;
	dsn_rcpt_params(&r, 20, out, sizeof(out));
	ck_assert_str_eq(out, " NOTIFY=NEVER ORCPT=rfc822;a@b.test");
	r.notify = DSN_NOTIFY_DELAY | DSN_NOTIFY_SUCCESS;
	r.orcpt = (char *)"rfc822;orig@b.test";
	dsn_rcpt_params(&r, 20, out, sizeof(out));
	ck_assert_str_eq(out, " NOTIFY=SUCCESS,DELAY ORCPT=rfc822;orig@b.test");
	r.notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY;
	dsn_rcpt_params(&r, 20, out, sizeof(out));
	ck_assert_str_eq(out, " NOTIFY=SUCCESS,FAILURE,DELAY "
	    "ORCPT=rfc822;orig@b.test");

	/* A long ORCPT whose encoding would pass the line limit is left
	 * out; NOTIFY still goes. */
	memset(addr, '=', 250);
	strcpy(addr + 250, "@b.test");
	r.addr = addr;
	r.orcpt = NULL;
	r.notify = DSN_NOTIFY_FAILURE;
	used = strlen("RCPT TO:<>") + strlen(addr);
	dsn_rcpt_params(&r, used, out, sizeof(out));
	ck_assert_str_eq(out, " NOTIFY=FAILURE");
	ck_assert_uint_lt(used + strlen(out) + 2, DSN_LINE_MAX);
	/* The same, shorter, fits. */
	addr[100] = '\0';
	strcat(addr, "@b.test");
	used = strlen("RCPT TO:<>") + strlen(addr);
	dsn_rcpt_params(&r, used, out, sizeof(out));
	ck_assert_ptr_nonnull(strstr(out, " ORCPT=rfc822;+3D+3D"));
	ck_assert_uint_lt(used + strlen(out) + 2, DSN_LINE_MAX);
}
END_TEST


/* Every octet of s printable ASCII, no space (one SMTP parameter). */
static void
assert_one_param(const char *s)
{
	for (; *s != '\0'; s++)
		ck_assert(*s > 32 && *s < 127);
}

/* A stored ORCPT comes from another daemon: a type that is not an atom
 * (RFC 3461 4.2: addr-type) or an address with controls is not passed
 * on; the recipient stands in for it, and nothing can end the line. */
START_TEST(stored_orcpt_is_checked)
{
	struct env_rcpt r;
	char line[DSN_LINE_MAX], out[600], type[64];
	int n;

	memset(&r, 0, sizeof(r));
	r.addr = (char *)"bob@example.org";
	r.orcpt = (char *)"rfc822\r\nRCPT TO:<victim@evil.example> "
	    "NOTIFY=NEVER\r\nX;bob@example.org";
	n = snprintf(line, sizeof(line), "RCPT TO:<%s>", r.addr);
	dsn_rcpt_params(&r, (size_t)n, line + n, sizeof(line) - (size_t)n);
	ck_assert_str_eq(line, "RCPT TO:<bob@example.org> "
	    "ORCPT=rfc822;bob@example.org");

	ck_assert_int_gt(dsn_orcpt_value("rfc 822;a@b", "x@y", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "rfc822;x@y");
	ck_assert_int_gt(dsn_orcpt_value("rfc822:x;a@b", "x@y", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "rfc822;x@y");
	ck_assert_int_gt(dsn_orcpt_value("rfc822;a\r\nb@c", "x@y", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "rfc822;x@y");
	ck_assert_int_gt(dsn_orcpt_value("rfc822;a\x7f@c", "x@y", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "rfc822;x@y");
	ck_assert_int_gt(dsn_orcpt_value("utf-8;a\tb@c", "x@y", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "rfc822;x@y");
	/* 32 octets of letters, digits and "-" are a type; 33 are not. */
	memset(type, 'a', 32);
	strcpy(type + 32, ";u@v");
	ck_assert_int_gt(dsn_orcpt_value(type, "x@y", out, sizeof(out)), 0);
	ck_assert_str_eq(out, type);
	memset(type, 'b', 33);
	strcpy(type + 33, ";u@v");
	ck_assert_int_gt(dsn_orcpt_value(type, "x@y", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "rfc822;x@y");
	ck_assert_int_gt(dsn_orcpt_value("X-9-z;u v@w", "x@y", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "X-9-z;u+20v@w");
	assert_one_param(out);
}
END_TEST

static Suite *
dsn_params_suite(void)
{
	Suite *s = suite_create("deliverd_dsn_params");
	TCase *tc = tcase_create("encode");

	tcase_add_test(tc, xtext);
	tcase_add_test(tc, utf8_xtext);
	tcase_add_test(tc, orcpt_values);
	tcase_add_test(tc, mail_params);
	tcase_add_test(tc, rcpt_params);
	tcase_add_test(tc, stored_orcpt_is_checked);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(dsn_params_suite);
