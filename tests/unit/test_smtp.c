/* SPDX-License-Identifier: ISC */
/* The SMTP command parser (lib/smtp.c): verbs, paths, parameters and
 * limits, every error kind. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "smtp.h"
#include "utf8.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Parser                                                              */
/* ------------------------------------------------------------------ */

static struct smtp_cmd cmd;

static enum smtp_error
parse(const char *line)
{
	return smtp_parse(line, strlen(line), &cmd);
}

START_TEST(verbs_any_case)
{
	static const struct { const char *line; enum smtp_verb v; } t[] = {
		{ "HELO a.example", SMTP_CMD_HELO }, { "helo a.example", SMTP_CMD_HELO },
		{ "EHLO a.example", SMTP_CMD_EHLO }, { "eHlO a.example", SMTP_CMD_EHLO },
		{ "MAIL FROM:<>", SMTP_CMD_MAIL }, { "mail from:<>", SMTP_CMD_MAIL },
		{ "RCPT TO:<a@b.example>", SMTP_CMD_RCPT },
		{ "rcpt to:<a@b.example>", SMTP_CMD_RCPT },
		{ "DATA", SMTP_CMD_DATA }, { "data", SMTP_CMD_DATA },
		{ "RSET", SMTP_CMD_RSET }, { "rSeT", SMTP_CMD_RSET },
		{ "NOOP", SMTP_CMD_NOOP }, { "noop anything", SMTP_CMD_NOOP },
		{ "QUIT", SMTP_CMD_QUIT }, { "quit", SMTP_CMD_QUIT },
		{ "VRFY postmaster", SMTP_CMD_VRFY }, { "EXPN list", SMTP_CMD_EXPN },
		{ "HELP", SMTP_CMD_HELP }, { "help mail", SMTP_CMD_HELP },
		{ "STARTTLS", SMTP_CMD_STARTTLS }, { "starttls", SMTP_CMD_STARTTLS },
		{ "BDAT 10", SMTP_CMD_BDAT }, { "AUTH PLAIN", SMTP_CMD_AUTH },
	};

	for (size_t i = 0; i < nitems(t); i++) {
		ck_assert_msg(parse(t[i].line) == SMTP_OK, "%s", t[i].line);
		ck_assert_int_eq(cmd.verb, t[i].v);
	}
	ck_assert_str_eq(smtp_verb_name(SMTP_CMD_STARTTLS), "STARTTLS");
}
END_TEST

START_TEST(unknown_verbs)
{
	static const char *t[] = { "", " ", "FOO", "MAILX FROM:<>", "HELOx a",
	    "DAT", "DATAX", " DATA", "MAIL\tFROM:<>", "\xc3\xa9HLO x" };

	for (size_t i = 0; i < nitems(t); i++) {
		ck_assert_msg(parse(t[i]) == SMTP_ERR_UNKNOWN, "%s", t[i]);
		ck_assert_int_eq(cmd.verb, SMTP_CMD_NONE);
	}
}
END_TEST

START_TEST(arguments_of_simple_verbs)
{
	ck_assert_int_eq(parse("DATA x"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(cmd.verb, SMTP_CMD_DATA);
	ck_assert_int_eq(parse("RSET now"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("QUIT please"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("STARTTLS x"), SMTP_ERR_SYNTAX);
	/* Trailing spaces are forgiven. */
	ck_assert_int_eq(parse("DATA  "), SMTP_OK);
	ck_assert_int_eq(parse("QUIT "), SMTP_OK);
	ck_assert_int_eq(parse("NOOP  hello there "), SMTP_OK);
	ck_assert_str_eq(cmd.arg, "hello there");
	ck_assert_int_eq(parse("VRFY"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("EXPN "), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("AUTH"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("VRFY <someone>"), SMTP_OK);
	ck_assert_str_eq(cmd.arg, "<someone>");
}
END_TEST

START_TEST(helo_argument)
{
	ck_assert_int_eq(parse("EHLO client.example"), SMTP_OK);
	ck_assert_str_eq(cmd.arg, "client.example");
	ck_assert_int_eq(parse("HELO   client.example   "), SMTP_OK);
	ck_assert_str_eq(cmd.arg, "client.example");
	ck_assert_int_eq(parse("EHLO [192.0.2.1]"), SMTP_OK);
	ck_assert_str_eq(cmd.arg, "[192.0.2.1]");
	ck_assert_int_eq(parse("EHLO MY_PC"), SMTP_OK);
	ck_assert_int_eq(parse("EHLO"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(cmd.verb, SMTP_CMD_EHLO);
	ck_assert_int_eq(parse("HELO "), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("EHLO two words"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("EHLO caf\xc3\xa9.example"), SMTP_ERR_SYNTAX);
}
END_TEST

START_TEST(mail_and_rcpt_basic)
{
	ck_assert_int_eq(parse("MAIL FROM:<user@example.org>"), SMTP_OK);
	ck_assert_str_eq(cmd.addr, "user@example.org");
	ck_assert_str_eq(cmd.domain, "example.org");
	ck_assert(!cmd.null_path);
	ck_assert_uint_eq(cmd.nparams, 0);

	ck_assert_int_eq(parse("mail from:<User@Example.ORG>"), SMTP_OK);
	ck_assert_str_eq(cmd.addr, "User@Example.ORG");

	/* A common leniency: spaces after the colon. */
	ck_assert_int_eq(parse("MAIL FROM:  <a@b.example>"), SMTP_OK);
	ck_assert_str_eq(cmd.addr, "a@b.example");

	ck_assert_int_eq(parse("RCPT TO:<rcpt@example.net>"), SMTP_OK);
	ck_assert_str_eq(cmd.addr, "rcpt@example.net");
	ck_assert_str_eq(cmd.domain, "example.net");

	ck_assert_int_eq(parse("MAIL FROM:<>"), SMTP_OK);
	ck_assert(cmd.null_path);
	ck_assert_str_eq(cmd.addr, "");
	ck_assert_str_eq(cmd.domain, "");
}
END_TEST

START_TEST(mail_and_rcpt_syntax_errors)
{
	ck_assert_int_eq(parse("MAIL"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(cmd.verb, SMTP_CMD_MAIL);
	ck_assert_int_eq(parse("MAIL FROM:"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("MAIL TO:<a@b.example>"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("MAIL FROM <a@b.example>"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("RCPT FROM:<a@b.example>"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("RCPT TO:<a@b.example>junk"), SMTP_ERR_SYNTAX);
	ck_assert_ptr_nonnull(cmd.error);
	/* Malformed paths are address errors, not syntax errors. */
	ck_assert_int_eq(parse("MAIL FROM:a@b.example"), SMTP_ERR_ADDRESS);
	ck_assert_int_eq(parse("MAIL FROM:<a@b.example"), SMTP_ERR_ADDRESS);
	ck_assert_int_eq(parse("RCPT TO:<>"), SMTP_ERR_ADDRESS);
	ck_assert_int_eq(parse("MAIL FROM:<postmaster>"), SMTP_ERR_ADDRESS);
	ck_assert_int_eq(parse("RCPT TO:<user>"), SMTP_ERR_ADDRESS);
}
END_TEST

START_TEST(local_part_forms)
{
	ck_assert_int_eq(parse("RCPT TO:<first.last@example.org>"), SMTP_OK);
	ck_assert_int_eq(parse("RCPT TO:<a!#$%&'*+-/=?^_`{|}~@example.org>"), SMTP_OK);
	ck_assert_str_eq(cmd.addr, "a!#$%&'*+-/=?^_`{|}~@example.org");
	ck_assert_int_eq(parse("RCPT TO:<\"john doe\"@example.org>"), SMTP_OK);
	ck_assert_str_eq(cmd.addr, "\"john doe\"@example.org");
	ck_assert_str_eq(cmd.domain, "example.org");
	/* A quoted '>' or '@' does not end anything. */
	ck_assert_int_eq(parse("RCPT TO:<\"a>b@c\"@example.org> X=1"), SMTP_OK);
	ck_assert_str_eq(cmd.addr, "\"a>b@c\"@example.org");
	ck_assert_uint_eq(cmd.nparams, 1);
	ck_assert_int_eq(parse("RCPT TO:<\"q\\\"uote\\\\\"@example.org>"), SMTP_OK);
	ck_assert_int_eq(parse("RCPT TO:<\"\"@example.org>"), SMTP_OK);

	static const char *bad[] = {
		"RCPT TO:<.a@example.org>", "RCPT TO:<a.@example.org>",
		"RCPT TO:<a..b@example.org>", "RCPT TO:<a b@example.org>",
		"RCPT TO:<a(b)@example.org>", "RCPT TO:<a,b@example.org>",
		"RCPT TO:<\"open@example.org>", "RCPT TO:<@example.org>",
		"RCPT TO:<a@@example.org>", "RCPT TO:<a@b@example.org>",
		"RCPT TO:<\"a\\\xc3\xa9\"@example.org>",
	};
	for (size_t i = 0; i < nitems(bad); i++)
		ck_assert_msg(parse(bad[i]) == SMTP_ERR_ADDRESS, "%s", bad[i]);
}
END_TEST

START_TEST(domain_forms)
{
	ck_assert_int_eq(parse("RCPT TO:<a@localhost>"), SMTP_OK);
	ck_assert_int_eq(parse("RCPT TO:<a@x-1.example-2.org>"), SMTP_OK);
	ck_assert_int_eq(parse("RCPT TO:<a@123.example>"), SMTP_OK);
	ck_assert_int_eq(parse("RCPT TO:<a@[192.0.2.1]>"), SMTP_OK);
	ck_assert_str_eq(cmd.domain, "[192.0.2.1]");
	ck_assert_int_eq(parse("RCPT TO:<a@[IPv6:2001:db8::1]>"), SMTP_OK);
	ck_assert_str_eq(cmd.domain, "[IPv6:2001:db8::1]");
	ck_assert_int_eq(parse("RCPT TO:<a@[ipv6:::ffff:192.0.2.1]>"), SMTP_OK);

	static const char *bad[] = {
		"RCPT TO:<a@>", "RCPT TO:<a@.example.org>", "RCPT TO:<a@example..org>",
		"RCPT TO:<a@example.org.>", "RCPT TO:<a@-example.org>",
		"RCPT TO:<a@example-.org>", "RCPT TO:<a@exa_mple.org>",
		"RCPT TO:<a@[300.0.2.1]>", "RCPT TO:<a@[192.0.2]>",
		"RCPT TO:<a@[IPv6:2001:db8::g]>", "RCPT TO:<a@[2001:db8::1]>",
		"RCPT TO:<a@[tag:content]>", "RCPT TO:<a@[192.0.2.1>",
		"RCPT TO:<a@[]>", "RCPT TO:<a@[192.0.2.1]x>",
	};
	for (size_t i = 0; i < nitems(bad); i++)
		ck_assert_msg(parse(bad[i]) == SMTP_ERR_ADDRESS, "%s", bad[i]);

	ck_assert(smtp_domain_valid("a.b-c.d", 7, false));
	ck_assert(!smtp_domain_valid("a.b-.d", 6, false));
	ck_assert(!smtp_domain_valid("", 0, false));
	ck_assert(smtp_addr_literal_valid("[10.0.0.1]", 10));
	ck_assert(!smtp_addr_literal_valid("10.0.0.1", 8));
}
END_TEST

START_TEST(source_route_dropped)
{
	ck_assert_int_eq(parse("RCPT TO:<@a.example,@b.example:user@c.example>"), SMTP_OK);
	ck_assert_str_eq(cmd.addr, "user@c.example");
	ck_assert_str_eq(cmd.domain, "c.example");
	ck_assert_int_eq(parse("MAIL FROM:<@relay.example:u@d.example>"), SMTP_OK);
	ck_assert_str_eq(cmd.addr, "u@d.example");
	ck_assert_int_eq(parse("RCPT TO:<@a.example user@c.example>"), SMTP_ERR_ADDRESS);
	ck_assert_int_eq(parse("RCPT TO:<@:user@c.example>"), SMTP_ERR_ADDRESS);
	ck_assert_int_eq(parse("RCPT TO:<@a.example,b.example:u@c.example>"), SMTP_ERR_ADDRESS);
	ck_assert_int_eq(parse("RCPT TO:<@a..example:u@c.example>"), SMTP_ERR_ADDRESS);
}
END_TEST

START_TEST(postmaster_without_domain)
{
	ck_assert_int_eq(parse("RCPT TO:<postmaster>"), SMTP_OK);
	ck_assert(cmd.postmaster);
	ck_assert_str_eq(cmd.addr, "postmaster");
	ck_assert_str_eq(cmd.domain, "");
	ck_assert_int_eq(parse("RCPT TO:<PostMaster>"), SMTP_OK);
	ck_assert(cmd.postmaster);
	ck_assert_int_eq(parse("RCPT TO:<postmaster@example.org>"), SMTP_OK);
	ck_assert(!cmd.postmaster);
}
END_TEST

static char *
repeat(char c, size_t n)
{
	static char buf[4][1024];
	static int which;
	char *b = buf[which++ % 4];

	memset(b, c, n);
	b[n] = '\0';
	return b;
}

START_TEST(length_limits)
{
	char line[1024];

	/* Local part: 64 octets. */
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.org>", repeat('l', 64));
	ck_assert_int_eq(parse(line), SMTP_OK);
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.org>", repeat('l', 65));
	ck_assert_int_eq(parse(line), SMTP_ERR_TOOLONG);
	/* Quoted: the quotes count. */
	snprintf(line, sizeof(line), "RCPT TO:<\"%s\"@example.org>", repeat('q', 63));
	ck_assert_int_eq(parse(line), SMTP_ERR_TOOLONG);
	/* Label: 63 octets. */
	snprintf(line, sizeof(line), "RCPT TO:<a@%s.org>", repeat('d', 63));
	ck_assert_int_eq(parse(line), SMTP_OK);
	snprintf(line, sizeof(line), "RCPT TO:<a@%s.org>", repeat('d', 64));
	ck_assert_int_eq(parse(line), SMTP_ERR_TOOLONG);
	/* Path: 256 octets with the brackets: "<" 1 "@" 252 ">" = 256. */
	snprintf(line, sizeof(line), "RCPT TO:<a@%s.%s.%s.%s>", repeat('a', 63),
	    repeat('b', 63), repeat('c', 63), repeat('d', 60));
	ck_assert_int_eq(parse(line), SMTP_OK);
	ck_assert_uint_eq(strlen(cmd.addr), 254);
	snprintf(line, sizeof(line), "RCPT TO:<ab@%s.%s.%s.%s>", repeat('a', 63),
	    repeat('b', 63), repeat('c', 63), repeat('d', 60));
	ck_assert_int_eq(parse(line), SMTP_ERR_TOOLONG);
	/* Domain: 255 octets. */
	snprintf(line, sizeof(line), "RCPT TO:<a@%s.%s.%s.%s>", repeat('a', 63),
	    repeat('b', 63), repeat('c', 63), repeat('d', 64));
	ck_assert_int_eq(parse(line), SMTP_ERR_TOOLONG);
	snprintf(line, sizeof(line), "RCPT TO:<a@%s.%s.%s.%s.e>", repeat('a', 63),
	    repeat('b', 63), repeat('c', 63), repeat('d', 63));
	ck_assert_int_eq(parse(line), SMTP_ERR_TOOLONG);
	ck_assert_str_eq(cmd.error, "domain too long");
	/* The whole command line: 510 octets without CRLF. */
	memset(line, 'x', 600);
	memcpy(line, "NOOP ", 5);
	ck_assert_int_eq(smtp_parse(line, 510, &cmd), SMTP_OK);
	ck_assert_int_eq(smtp_parse(line, 511, &cmd), SMTP_ERR_SYNTAX);
}
END_TEST

START_TEST(utf8_paths)
{
	ck_assert_int_eq(parse("RCPT TO:<j\xc3\xb6ran@example.org>"), SMTP_OK);
	ck_assert(cmd.utf8);
	ck_assert_int_eq(parse("RCPT TO:<user@b\xc3\xbc" "cher.example>"), SMTP_OK);
	ck_assert(cmd.utf8);
	ck_assert_int_eq(parse("RCPT TO:<\"\xe2\x82\xac\"@example.org>"), SMTP_OK);
	ck_assert(cmd.utf8);
	ck_assert_int_eq(parse("RCPT TO:<plain@example.org>"), SMTP_OK);
	ck_assert(!cmd.utf8);
	/* Invalid UTF-8: stray continuation, overlong, surrogate, truncated. */
	ck_assert_int_eq(parse("RCPT TO:<a\x80@example.org>"), SMTP_ERR_ADDRESS);
	ck_assert_int_eq(parse("RCPT TO:<a\xc0\xaf@example.org>"), SMTP_ERR_ADDRESS);
	ck_assert_int_eq(parse("RCPT TO:<a\xed\xa0\x80@example.org>"), SMTP_ERR_ADDRESS);
	ck_assert_int_eq(parse("RCPT TO:<a@b\xc3>"), SMTP_ERR_ADDRESS);

	ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, NULL), 4);
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xf4\x90\x80\x80", 4, NULL), 0);
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xe0\x80\x80", 3, NULL), 0);
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xe2\x82", 2, NULL), 0);
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"A", 1, NULL), 1);
}
END_TEST

/* RFC 6531 §3.2: a UTF-8 domain must be a valid IDNA2008 name. */
START_TEST(idn_domains)
{
	char line[512], label[200];
	size_t i;

	ck_assert_int_eq(parse("RCPT TO:<j\xc3\xb6rg@b\xc3\xbc" "cher.test>"), SMTP_OK);
	ck_assert(cmd.utf8);
	/* Passed on as received: matching against the A-label form is
	 * config_domain()'s business. */
	ck_assert_str_eq(cmd.domain, "b\xc3\xbc" "cher.test");
	ck_assert_int_eq(parse("MAIL FROM:<j\xc3\xb6rg@B\xc3\x9c" "CHER.test> SMTPUTF8"),
	    SMTP_OK);
	ck_assert_int_eq(parse("RCPT TO:<a@xn--bcher-kva.test>"), SMTP_OK);
	ck_assert(!cmd.utf8);
	/* A disallowed code point (U+2665), a leading combining mark
	 * (U+0301): not IDNA2008 names. */
	ck_assert_int_eq(parse("RCPT TO:<a@i\xe2\x99\xa5.test>"), SMTP_ERR_ADDRESS);
	ck_assert_str_eq(cmd.error, "bad internationalized domain");
	ck_assert_int_eq(parse("MAIL FROM:<a@\xcc\x81x.test> SMTPUTF8"),
	    SMTP_ERR_ADDRESS);
	/* The 63-octet limit bounds the A-label: 32 x U+00FC is 64 octets
	 * of UTF-8 but "xn--tda" plus 31 "a" in DNS; 63 of them are not. */
	for (i = 0; i < 32; i++)
		memcpy(label + 2 * i, "\xc3\xbc", 2);
	label[64] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<a@%s.test>", label);
	ck_assert_int_eq(parse(line), SMTP_OK);
	for (i = 0; i < 63; i++)
		memcpy(label + 2 * i, "\xc3\xbc", 2);
	label[126] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<a@%s.test>", label);
	ck_assert_int_eq(parse(line), SMTP_ERR_ADDRESS);
	/* smtp_domain_valid: U-labels only when utf8. */
	ck_assert(smtp_domain_valid("b\xc3\xbc" "cher.test", 12, true));
	ck_assert(!smtp_domain_valid("b\xc3\xbc" "cher.test", 12, false));
	ck_assert(!smtp_domain_valid("i\xe2\x99\xa5.test", 9, true));
}
END_TEST

START_TEST(esmtp_parameters)
{
	const struct smtp_param *p;

	ck_assert_int_eq(parse("MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME"), SMTP_OK);
	ck_assert_uint_eq(cmd.nparams, 2);
	ck_assert_str_eq(cmd.params[0].key, "SIZE");
	ck_assert_str_eq(cmd.params[0].value, "1000");
	p = smtp_param_find(&cmd, "body");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->value, "8BITMIME");
	ck_assert_ptr_null(smtp_param_find(&cmd, "RET"));

	ck_assert_int_eq(parse("MAIL FROM:<> SMTPUTF8  RET=HDRS "), SMTP_OK);
	ck_assert_uint_eq(cmd.nparams, 2);
	ck_assert_ptr_null(cmd.params[0].value);
	ck_assert_str_eq(cmd.params[1].value, "HDRS");

	ck_assert_int_eq(parse("RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@b.example"),
	    SMTP_OK);
	ck_assert_str_eq(smtp_param_find(&cmd, "orcpt")->value, "rfc822;a+2Bb@b.example");

	ck_assert_int_eq(parse("MAIL FROM:<a@b.example> SIZE="), SMTP_ERR_PARAM);
	ck_assert_int_eq(parse("MAIL FROM:<a@b.example> =1"), SMTP_ERR_PARAM);
	ck_assert_int_eq(parse("MAIL FROM:<a@b.example> -X=1"), SMTP_ERR_PARAM);
	ck_assert_int_eq(parse("MAIL FROM:<a@b.example> A=b=c"), SMTP_ERR_PARAM);
	ck_assert_int_eq(parse("MAIL FROM:<a@b.example> A_B=1"), SMTP_ERR_PARAM);
	ck_assert_int_eq(parse("MAIL FROM:<a@b.example> SIZE=1 size=2"), SMTP_ERR_PARAM);
	ck_assert_str_eq(cmd.error, "parameter given twice");

	char line[256] = "MAIL FROM:<a@b.example>";
	for (int i = 0; i < SMTP_MAX_PARAMS; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " P%d=1", i);
	ck_assert_int_eq(parse(line), SMTP_OK);
	ck_assert_uint_eq(cmd.nparams, SMTP_MAX_PARAMS);
	strlcat(line, " ONEMORE", sizeof(line));
	ck_assert_int_eq(parse(line), SMTP_ERR_PARAM);
}
END_TEST

START_TEST(bdat_arguments)
{
	ck_assert_int_eq(parse("BDAT 1000"), SMTP_OK);
	ck_assert_uint_eq(cmd.bdat_size, 1000);
	ck_assert(!cmd.bdat_last);
	ck_assert_int_eq(parse("bdat 0 last"), SMTP_OK);
	ck_assert_uint_eq(cmd.bdat_size, 0);
	ck_assert(cmd.bdat_last);
	ck_assert_int_eq(parse("BDAT"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("BDAT x"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("BDAT 10 FIRST"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("BDAT -1"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("BDAT 99999999999999999999999"), SMTP_ERR_SYNTAX);
}
END_TEST

START_TEST(control_characters_refused)
{
	static const char line[] = "MAIL FROM:<a@b.example>\0 SIZE=1";

	ck_assert_int_eq(smtp_parse(line, sizeof(line) - 1, &cmd), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(cmd.verb, SMTP_CMD_MAIL);
	ck_assert_int_eq(parse("NOOP a\tb"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("RCPT TO:<a\rb@example.org>"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("HELO a\x7f"), SMTP_ERR_SYNTAX);
	ck_assert_int_eq(parse("RCPT TO:<\"a\\\x7f\"@example.org>"), SMTP_ERR_SYNTAX);
}
END_TEST

static Suite *
smtp_suite(void)
{
	Suite *s = suite_create("smtp");
	TCase *tc = tcase_create("parser");

	tcase_add_test(tc, verbs_any_case);
	tcase_add_test(tc, unknown_verbs);
	tcase_add_test(tc, arguments_of_simple_verbs);
	tcase_add_test(tc, helo_argument);
	tcase_add_test(tc, mail_and_rcpt_basic);
	tcase_add_test(tc, mail_and_rcpt_syntax_errors);
	tcase_add_test(tc, local_part_forms);
	tcase_add_test(tc, domain_forms);
	tcase_add_test(tc, source_route_dropped);
	tcase_add_test(tc, postmaster_without_domain);
	tcase_add_test(tc, length_limits);
	tcase_add_test(tc, utf8_paths);
	tcase_add_test(tc, idn_domains);
	tcase_add_test(tc, esmtp_parameters);
	tcase_add_test(tc, bdat_arguments);
	tcase_add_test(tc, control_characters_refused);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(smtp_suite);
