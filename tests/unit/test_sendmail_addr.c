/* SPDX-License-Identifier: ISC */
/* Address lists of -t and of the command line (sendmail/addrlist.c):
 * RFC 5322 section 3.4 with groups, comments, quoted strings, folding
 * and the obsolete forms of section 4.4; then qualification and the
 * checks every address passes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "sendmail.h"

static char err[256];

/* The addresses of list joined by '|', or "ERR" when it is refused. */
static const char *
list(const char *s)
{
	static char out[2048];
	struct sm_addrs a = { NULL, 0 };
	size_t i;

	err[0] = '\0';
	if (sm_addrlist_parse(s, strlen(s), &a, err, sizeof(err)) == -1) {
		ck_assert_msg(err[0] != '\0', "no error text for %s", s);
		ck_assert_uint_eq(a.n, 0);
		return "ERR";
	}
	out[0] = '\0';
	for (i = 0; i < a.n; i++) {
		if (i > 0)
			strlcat(out, "|", sizeof(out));
		strlcat(out, a.v[i], sizeof(out));
	}
	sm_addrs_free(&a);
	return out;
}

START_TEST(plain_forms)
{
	ck_assert_str_eq(list("joe@example.org"), "joe@example.org");
	ck_assert_str_eq(list(" joe@example.org , ann@example.net "),
	    "joe@example.org|ann@example.net");
	ck_assert_str_eq(list("Joe Bloggs <joe@example.org>"), "joe@example.org");
	ck_assert_str_eq(list("<joe@example.org>"), "joe@example.org");
	ck_assert_str_eq(list("first.last+tag@sub.example.org"),
	    "first.last+tag@sub.example.org");
	/* A local name alone, as sendmail takes it (qualified later). */
	ck_assert_str_eq(list("root"), "root");
	ck_assert_str_eq(list("root, Admin <admin>"), "root|admin");
	ck_assert_str_eq(list("joe@[192.0.2.1]"), "joe@[192.0.2.1]");
	ck_assert_str_eq(list(""), "");
	ck_assert_str_eq(list("   "), "");
}
END_TEST

START_TEST(quoted_display_names)
{
	ck_assert_str_eq(list("\"Bloggs, Joe\" <joe@example.org>, ann@x.org"),
	    "joe@example.org|ann@x.org");
	ck_assert_str_eq(list("\"a \\\"quoted\\\" <name>\" <q@x.org>"),
	    "q@x.org");
	/* A quoted local part stays quoted: it is the address. */
	ck_assert_str_eq(list("\"john doe\"@example.org"),
	    "\"john doe\"@example.org");
	ck_assert_str_eq(list("Joe Q. Public <jqp@example.org>"),
	    "jqp@example.org");  /* obs-phrase: a '.' in the name */
	/* UTF-8 (RFC 6532) and encoded words in the display name. */
	ck_assert_str_eq(list("J\xc3\xb6rg <j@example.org>"), "j@example.org");
	ck_assert_str_eq(list("=?UTF-8?Q?J=C3=B6rg?= <j@example.org>"),
	    "j@example.org");
	/* Broken software writes the address as the name, unquoted. */
	ck_assert_str_eq(list("joe@example.org <joe@example.org>"),
	    "joe@example.org");
}
END_TEST

START_TEST(comments)
{
	ck_assert_str_eq(list("joe@example.org (Joe Bloggs)"),
	    "joe@example.org");
	ck_assert_str_eq(list("(lead) joe (in) @ (the) example.org (end)"),
	    "joe@example.org");
	ck_assert_str_eq(list("joe@example.org (nested (comment, with) commas)"
	    ", ann@x.org"), "joe@example.org|ann@x.org");
	ck_assert_str_eq(list("joe@example.org (escaped \\) paren)"),
	    "joe@example.org");
	ck_assert_str_eq(list("joe@example.org (never closed"), "ERR");
	ck_assert_str_eq(list("joe@example.org )"), "ERR");
}
END_TEST

START_TEST(groups)
{
	ck_assert_str_eq(list("undisclosed-recipients:;"), "");
	ck_assert_str_eq(list("Team: a@x.org, B <b@x.org>;, c@y.org"),
	    "a@x.org|b@x.org|c@y.org");
	ck_assert_str_eq(list("\"The Team\": a@x.org;"), "a@x.org");
	ck_assert_str_eq(list("One: a@x.org;, Two: b@x.org, c@x.org;"),
	    "a@x.org|b@x.org|c@x.org");
	/* A group never closed ends with the field. */
	ck_assert_str_eq(list("Team: a@x.org, b@x.org"), "a@x.org|b@x.org");
	/* Empty members (obs-group-list). */
	ck_assert_str_eq(list("Team: , a@x.org, ,;"), "a@x.org");
}
END_TEST

START_TEST(obsolete_forms)
{
	/* obs-addr-list: empty elements. */
	ck_assert_str_eq(list(", , a@x.org,, b@x.org,"), "a@x.org|b@x.org");
	/* obs-angle-addr with a route, dropped. */
	ck_assert_str_eq(list("Joe <@relay1.org,@relay2.org:joe@x.org>"),
	    "joe@x.org");
	/* obs-local-part / obs-domain: CFWS around the dots. */
	ck_assert_str_eq(list("joe . bloggs @ example . org"),
	    "joe.bloggs@example.org");
	ck_assert_str_eq(list("\"joe\".bloggs@x.org"), "\"joe\".bloggs@x.org");
}
END_TEST

START_TEST(folded)
{
	ck_assert_str_eq(list("Joe\r\n <joe@x.org>,\r\n\tann@y.org"),
	    "joe@x.org|ann@y.org");
	ck_assert_str_eq(list("a@x.org,\n b@x.org"), "a@x.org|b@x.org");
}
END_TEST

START_TEST(malformed)
{
	static const char *bad[] = {
		"joe@", "joe@@x.org", "@x.org", "joe@x..org", "joe@.x.org",
		"joe@x.org.", "<joe@x.org", "joe@x.org>", "Joe <>",
		"joe bloggs@x.org", "a@x.org b@x.org", "\"unterminated@x.org",
		"joe@[192.0.2.1", "Joe <joe@x.org> trailing", "a;b",
		"Joe <a@x.org, b@x.org>", "<@route joe@x.org>", "\\joe@x.org",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(strcmp(list(bad[i]), "ERR") == 0,
		    "accepted %s as %s", bad[i], list(bad[i]));
}
END_TEST

START_TEST(final_addresses)
{
	char *a;

	a = sm_addr_final("joe", "host.example", err, sizeof(err));
	ck_assert_str_eq(a, "joe@host.example");
	free(a);
	a = sm_addr_final("joe@other.example", "host.example", err,
	    sizeof(err));
	ck_assert_str_eq(a, "joe@other.example");
	free(a);
	/* An '@' inside the quotes is no domain. */
	a = sm_addr_final("\"a@b\"", "h.example", err, sizeof(err));
	ck_assert_str_eq(a, "\"a@b\"@h.example");
	free(a);
	a = sm_addr_final("j\xc3\xb6rg@example.org", "h", err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	free(a);
}
END_TEST

START_TEST(final_refusals)
{
	char longer[300], *a;

	ck_assert_ptr_null(sm_addr_final("-oi", "h.example", err, sizeof(err)));
	ck_assert_ptr_null(sm_addr_final("", "h.example", err, sizeof(err)));
	ck_assert_ptr_null(sm_addr_final("a\rb@x", "h", err, sizeof(err)));
	ck_assert_ptr_null(sm_addr_final("a\nb@x", "h", err, sizeof(err)));
	ck_assert_ptr_null(sm_addr_final("a\x7f@x", "h", err, sizeof(err)));
	ck_assert_ptr_null(sm_addr_final("j\xc3@x.org", "h", err, sizeof(err)));
	ck_assert_ptr_null(sm_addr_final("j\xff@x.org", "h", err, sizeof(err)));
	/* 254 octets is the limit (RFC 5321 4.5.3.1.3 with the brackets). */
	memset(longer, 'a', sizeof(longer));
	strcpy(longer + 250 - 2, "@h");
	ck_assert_uint_eq(strlen(longer), 250);
	a = sm_addr_final(longer, "h", err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	free(a);
	memcpy(longer + 250 - 2, "aaaaa@h", 8);   /* 255 octets */
	ck_assert_ptr_null(sm_addr_final(longer, "h", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "254"));
	/* Qualification counts too. */
	memset(longer, 'b', 250);
	longer[250] = '\0';
	ck_assert_ptr_null(sm_addr_final(longer, "host.example", err,
	    sizeof(err)));
}
END_TEST

START_TEST(senders)
{
	char *s;

	s = sm_sender_final("", "h.example", err, sizeof(err));
	ck_assert_str_eq(s, "");
	free(s);
	s = sm_sender_final("<>", "h.example", err, sizeof(err));
	ck_assert_str_eq(s, "");
	free(s);
	s = sm_sender_final("<bounce@x.org>", "h.example", err, sizeof(err));
	ck_assert_str_eq(s, "bounce@x.org");
	free(s);
	s = sm_sender_final("daemon", "h.example", err, sizeof(err));
	ck_assert_str_eq(s, "daemon@h.example");
	free(s);
	s = sm_sender_final("Web Server <www@x.org>", "h", err, sizeof(err));
	ck_assert_str_eq(s, "www@x.org");
	free(s);
	ck_assert_ptr_null(sm_sender_final("a@x.org, b@x.org", "h", err,
	    sizeof(err)));
	ck_assert_ptr_null(sm_sender_final("a@", "h", err, sizeof(err)));
	ck_assert_ptr_null(sm_sender_final("-x", "h", err, sizeof(err)));
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s = suite_create("sendmail_addr");
	TCase *tc = tcase_create("addrlist");

	tcase_add_test(tc, plain_forms);
	tcase_add_test(tc, quoted_display_names);
	tcase_add_test(tc, comments);
	tcase_add_test(tc, groups);
	tcase_add_test(tc, obsolete_forms);
	tcase_add_test(tc, folded);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, final_addresses);
	tcase_add_test(tc, final_refusals);
	tcase_add_test(tc, senders);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(addr_suite);
