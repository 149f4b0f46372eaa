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
#include "util.h"

static char err[256];

/* The addresses of list joined by '|', or "ERR" when it is refused. */
static const char *
list(const char *s)
{
	static char out[2048];
	struct sm_addrs a = { NULL, 0 };

	err[0] = '\0';
	if (sm_addrlist_parse(s, strlen(s), &a, err, sizeof(err)) == -1) {
		ck_assert_msg(err[0] != '\0', "no error text for %s", s);
		ck_assert_uint_eq(a.n, 0);
		return "ERR";
	}
	fx_join(out, sizeof(out), a.v, a.n);
	sm_addrs_free(&a);
	return out;
}

/* An address list and its addresses as list() gives them. */
struct list_case {
	const char *in, *want;
};

static void
lists_are(const struct list_case *t, size_t n)
{
	const char *got;
	size_t i;

	for (i = 0; i < n; i++) {
		got = list(t[i].in);
		ck_assert_msg(strcmp(got, t[i].want) == 0,
		    "%s: \"%s\", not \"%s\"", t[i].in, got, t[i].want);
	}
}

START_TEST(plain_forms)
{
	static const struct list_case t[] = {
		{ "joe@example.org", "joe@example.org" },
		{ " joe@example.org , ann@example.net ",
		  "joe@example.org|ann@example.net" },
		{ "Joe Bloggs <joe@example.org>", "joe@example.org" },
		{ "<joe@example.org>", "joe@example.org" },
		{ "first.last+tag@sub.example.org",
		  "first.last+tag@sub.example.org" },
		/* A local name alone, as sendmail takes it (qualified
		 * later). */
		{ "root", "root" },
		{ "root, Admin <admin>", "root|admin" },
		{ "joe@[192.0.2.1]", "joe@[192.0.2.1]" },
		{ "", "" },
		{ "   ", "" },
	};

	lists_are(t, nitems(t));
}
END_TEST

START_TEST(quoted_display_names)
{
	static const struct list_case t[] = {
		{ "\"Bloggs, Joe\" <joe@example.org>, ann@x.org",
		  "joe@example.org|ann@x.org" },
		{ "\"a \\\"quoted\\\" <name>\" <q@x.org>", "q@x.org" },
		/* A quoted local part stays quoted: it is the address. */
		{ "\"john doe\"@example.org", "\"john doe\"@example.org" },
		/* obs-phrase: a '.' in the name */
		{ "Joe Q. Public <jqp@example.org>", "jqp@example.org" },
		/* UTF-8 (RFC 6532) and encoded words in the display name. */
		{ "J\xc3\xb6rg <j@example.org>", "j@example.org" },
		{ "=?UTF-8?Q?J=C3=B6rg?= <j@example.org>", "j@example.org" },
		/* Broken software writes the address as the name, unquoted. */
		{ "joe@example.org <joe@example.org>", "joe@example.org" },
	};

	lists_are(t, nitems(t));
}
END_TEST

START_TEST(comments)
{
	static const struct list_case t[] = {
		{ "joe@example.org (Joe Bloggs)", "joe@example.org" },
		{ "(lead) joe (in) @ (the) example.org (end)",
		  "joe@example.org" },
		{ "joe@example.org (nested (comment, with) commas), ann@x.org",
		  "joe@example.org|ann@x.org" },
		{ "joe@example.org (escaped \\) paren)", "joe@example.org" },
		{ "joe@example.org (never closed", "ERR" },
		{ "joe@example.org )", "ERR" },
	};

	lists_are(t, nitems(t));
}
END_TEST

START_TEST(groups)
{
	static const struct list_case t[] = {
		{ "undisclosed-recipients:;", "" },
		{ "Team: a@x.org, B <b@x.org>;, c@y.org",
		  "a@x.org|b@x.org|c@y.org" },
		{ "\"The Team\": a@x.org;", "a@x.org" },
		{ "One: a@x.org;, Two: b@x.org, c@x.org;",
		  "a@x.org|b@x.org|c@x.org" },
		/* A group never closed ends with the field. */
		{ "Team: a@x.org, b@x.org", "a@x.org|b@x.org" },
		/* Empty members (obs-group-list). */
		{ "Team: , a@x.org, ,;", "a@x.org" },
	};

	lists_are(t, nitems(t));
}
END_TEST

START_TEST(obsolete_forms)
{
	static const struct list_case t[] = {
		/* obs-addr-list: empty elements. */
		{ ", , a@x.org,, b@x.org,", "a@x.org|b@x.org" },
		/* obs-angle-addr with a route, dropped. */
		{ "Joe <@relay1.org,@relay2.org:joe@x.org>", "joe@x.org" },
		/* obs-local-part / obs-domain: CFWS around the dots. */
		{ "joe . bloggs @ example . org", "joe.bloggs@example.org" },
		{ "\"joe\".bloggs@x.org", "\"joe\".bloggs@x.org" },
	};

	lists_are(t, nitems(t));
}
END_TEST

START_TEST(folded)
{
	static const struct list_case t[] = {
		{ "Joe\r\n <joe@x.org>,\r\n\tann@y.org", "joe@x.org|ann@y.org" },
		{ "a@x.org,\n b@x.org", "a@x.org|b@x.org" },
	};

	lists_are(t, nitems(t));
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

	for (i = 0; i < nitems(bad); i++)
		ck_assert_msg(strcmp(list(bad[i]), "ERR") == 0,
		    "accepted %s as %s", bad[i], list(bad[i]));
}
END_TEST

/* f(addr, host) is want (to free), or NULL when want is. */
static void
final_is(char *(*f)(const char *, const char *, char *, size_t),
    const char *addr, const char *host, const char *want)
{
	char *a = f(addr, host, err, sizeof(err));

	if (want == NULL)
		ck_assert_msg(a == NULL, "%s: %s", addr, a);
	else
		ck_assert_msg(a != NULL && strcmp(a, want) == 0,
		    "%s: %s, not %s (%s)", addr, a ? a : "refused", want, err);
	free(a);
}

START_TEST(final_addresses)
{
	char *a;

	final_is(sm_addr_final, "joe", "host.example", "joe@host.example");
	final_is(sm_addr_final, "joe@other.example", "host.example",
	    "joe@other.example");
	/* An '@' inside the quotes is no domain. */
	final_is(sm_addr_final, "\"a@b\"", "h.example", "\"a@b\"@h.example");
	a = sm_addr_final("j\xc3\xb6rg@example.org", "h", err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	free(a);
}
END_TEST

START_TEST(final_refusals)
{
	static const char *const bad[] = {
		"a\rb@x", "a\nb@x", "a\x7f@x", "j\xc3@x.org", "j\xff@x.org",
	};
	char longer[300], *a;
	size_t i;

	final_is(sm_addr_final, "-oi", "h.example", NULL);
	final_is(sm_addr_final, "", "h.example", NULL);
	for (i = 0; i < nitems(bad); i++)
		final_is(sm_addr_final, bad[i], "h", NULL);
	/* 254 octets is the limit (RFC 5321 4.5.3.1.3 with the brackets). */
	memset(longer, 'a', sizeof(longer));
	strcpy(longer + 250 - 2, "@h");
	ck_assert_uint_eq(strlen(longer), 250);
	a = sm_addr_final(longer, "h", err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	free(a);
	memcpy(longer + 250 - 2, "aaaaa@h", 8);   /* 255 octets */
	final_is(sm_addr_final, longer, "h", NULL);
	ck_assert_ptr_nonnull(strstr(err, "254"));
	/* Qualification counts too. */
	memset(longer, 'b', 250);
	longer[250] = '\0';
	final_is(sm_addr_final, longer, "host.example", NULL);
}
END_TEST

START_TEST(senders)
{
	static const struct { const char *in, *host, *want; } t[] = {
		{ "", "h.example", "" },
		{ "<>", "h.example", "" },
		{ "<bounce@x.org>", "h.example", "bounce@x.org" },
		{ "daemon", "h.example", "daemon@h.example" },
		{ "Web Server <www@x.org>", "h", "www@x.org" },
		{ "a@x.org, b@x.org", "h", NULL },
		{ "a@", "h", NULL },
		{ "-x", "h", NULL },
	};
	size_t i;

	for (i = 0; i < nitems(t); i++)
		final_is(sm_sender_final, t[i].in, t[i].host, t[i].want);
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
