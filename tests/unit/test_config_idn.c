/* SPDX-License-Identifier: ISC */
/* `domain` blocks with internationalised names (IDNA2008, RFC 5890-5891):
 * a block written with U-labels or with A-labels is kept as its
 * lower-case A-label form and config_domain() finds it from either
 * spelling; two blocks for one domain are a duplicate whatever their
 * spellings; names that are not IDNA2008 are refused. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "config.h"

static struct config *
parse(const char *text)
{
	struct config *c;

	c = fx_parse(text);
	ck_assert_msg(c != NULL, "%s: %s", text, fx_nerrs ? fx_errs[0] : "?");
	return c;
}

/* The text must fail with exactly one error, this one. */
static void
fails_with(const char *text, const char *expect)
{
	struct config *c;

	c = fx_parse(text);
	ck_assert_msg(c == NULL, "accepted: %s", text);
	ck_assert_msg(fx_nerrs == 1, "%d errors for: %s (first: %s)", fx_nerrs, text,
	    fx_nerrs ? fx_errs[0] : "none");
	ck_assert_str_eq(fx_errs[0], expect);
	fx_reset_errs();
}

#define UBUCHER "b\xc3\xbc" "cher.test"          /* bücher.test */
#define ABUCHER "xn--bcher-kva.test"

/* Every spelling a daemon may be handed finds the block. */
static void
assert_found_by_all(const struct config *c, const struct cfg_domain *d)
{
	static const char *const spellings[] = {
		UBUCHER, ABUCHER, "XN--BCHER-KVA.test", "Xn--Bcher-Kva.TEST.",
		UBUCHER ".", "B\xc3\x9c" "CHER.TEST",     /* BÜCHER.TEST */
	};
	size_t i;

	for (i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
		ck_assert_msg(config_domain(c, spellings[i]) == d,
		    "%s does not find the block", spellings[i]);
	ck_assert_ptr_null(config_domain(c, "bucher.test"));
	ck_assert_ptr_null(config_domain(c, "b\xc3\xbc" "cher.tes"));
	ck_assert_ptr_null(config_domain(c, "xn--bcher-kva.test.x"));
	ck_assert_ptr_null(config_domain(c, "b\xff" "cher.test"));
}

START_TEST(u_label_block_matches_both_spellings)
{
	struct config *c = parse("domain \"" UBUCHER "\" { accept }\n");
	struct cfg_domain *d = TAILQ_FIRST(&c->domains);

	ck_assert_str_eq(d->name, ABUCHER);
	ck_assert_str_eq(d->spelling, UBUCHER);
	ck_assert(d->accept);
	assert_found_by_all(c, d);
	config_free(c);
}
END_TEST

START_TEST(a_label_block_matches_both_spellings)
{
	struct config *c = parse("domain \"XN--BCHER-KVA.Test\" {\n"
	    "  relay via \"[::1]:2525\"\n}\n");
	struct cfg_domain *d = TAILQ_FIRST(&c->domains);

	ck_assert_str_eq(d->name, ABUCHER);
	ck_assert_str_eq(d->spelling, "XN--BCHER-KVA.Test");
	ck_assert_str_eq(d->relay_host, "::1");
	assert_found_by_all(c, d);
	config_free(c);
}
END_TEST

/* Blocks of other domains, ASCII among them, keep matching as before. */
START_TEST(mixed_blocks)
{
	struct config *c = parse(
	    "domain \"Example.ORG.\" { accept }\n"
	    "domain \"m\xc3\xbcnchen.test\" { }\n"           /* münchen */
	    "domain \"xn--mnchen-3ya.example\" { }\n"       /* münchen */
	    "domain \"_under.example\" { }\n"
	    "domain \"\xe4\xbe\x8b.test\" { mx-allow 10.1.0.0/16 }\n"); /* 例 */
	struct cfg_domain *d;
	struct sockaddr_in sin;

	d = config_domain(c, "example.org");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->name, "example.org");
	ck_assert_ptr_eq(config_domain(c, "EXAMPLE.org."), d);
	d = config_domain(c, "xn--mnchen-3ya.test");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->spelling, "m\xc3\xbcnchen.test");
	ck_assert_ptr_eq(config_domain(c, "M\xc3\x9cNCHEN.test"), d);
	d = config_domain(c, "m\xc3\xbcnchen.example");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->name, "xn--mnchen-3ya.example");
	ck_assert_ptr_nonnull(config_domain(c, "_Under.example"));
	/* mx-allow looks its domain up the same way. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr), 1);
	ck_assert(config_mx_allowed(c, "\xe4\xbe\x8b.test",
	    (const struct sockaddr *)&sin));
	ck_assert(config_mx_allowed(c, "xn--fsq.test",
	    (const struct sockaddr *)&sin));
	ck_assert(!config_mx_allowed(c, "other.test",
	    (const struct sockaddr *)&sin));
	config_free(c);
}
END_TEST

START_TEST(duplicate_in_other_spelling)
{
	fails_with("domain \"" UBUCHER "\" { accept }\n"
	    "domain \"other.test\" { }\n"
	    "domain \"XN--BCHER-KVA.test\" { }\n",
	    "t.conf:3: duplicate domain \"XN--BCHER-KVA.test\" (line 1 has "
	    "it as \"" UBUCHER "\")");
	fails_with("domain \"" ABUCHER "\" { }\n"
	    "domain \"B\xc3\x9c" "CHER.test.\" { }\n",
	    "t.conf:2: duplicate domain \"B\xc3\x9c" "CHER.test.\" (line 1 has "
	    "it as \"" ABUCHER "\")");
	/* Same spelling but for case: the short form of before. */
	fails_with("domain \"" UBUCHER "\" { }\ndomain \"B\xc3\xbc" "cher.Test\" { }",
	    "t.conf:2: duplicate domain \"B\xc3\xbc" "cher.Test\"");
}
END_TEST

START_TEST(invalid_names_are_refused)
{
	/* Not a label IDNA2008 allows (U+2603 SNOWMAN), not UTF-8, an
	 * A-label that does not decode. */
	fails_with("domain \"\xe2\x98\x83.test\" { }",
	    "t.conf:1: invalid domain \"\xe2\x98\x83.test\" (not an IDNA2008 "
	    "name)");
	fails_with("domain \"b\xff.test\" { }",
	    "t.conf:1: invalid domain \"b\\xff.test\" (not an IDNA2008 name)");
	fails_with("domain \"xn--zz.test\" { }",
	    "t.conf:1: invalid domain \"xn--zz.test\" (not an IDNA2008 name)");
	fails_with("domain \"b\xc3\xbc" "cher..test\" { }",
	    "t.conf:1: invalid domain \"b\xc3\xbc" "cher..test\" (not an "
	    "IDNA2008 name)");
}
END_TEST

/* config_domain() runs per recipient (smtpd) and per job (deliverd):
 * ASCII arguments must stay as cheap as a caseless compare. Loose
 * bound, so that a slow machine does not fail it: 200k ASCII lookups
 * over 50 blocks well under a second. */
START_TEST(ascii_lookups_stay_cheap)
{
	char text[50 * 40], *t = text;
	struct config *c;
	struct timespec a, b;
	double secs;
	int i, found = 0;

	for (i = 0; i < 50; i++)
		t += sprintf(t, "domain \"d%d.example\" { }\n", i);
	c = parse(text);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < 200000; i++)
		found += config_domain(c, i % 2 ? "D49.example" : "xn--x.nope") != NULL;
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	ck_assert_int_eq(found, 100000);
	ck_assert_msg(secs < 1.0, "200k lookups took %.3f s", secs);
	config_free(c);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("config_idn");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, u_label_block_matches_both_spellings);
	tcase_add_test(tc, a_label_block_matches_both_spellings);
	tcase_add_test(tc, mixed_blocks);
	tcase_add_test(tc, duplicate_in_other_spelling);
	tcase_add_test(tc, invalid_names_are_refused);
	tcase_add_test(tc, ascii_lookups_stay_cheap);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
