/* SPDX-License-Identifier: ISC */
/* lib/idn.c: the two spellings of a domain and their comparison. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "idn.h"

START_TEST(ulabel_to_alabel)
{
	char out[IDN_DOMAIN_MAX];

	ck_assert_int_eq(idn_to_ascii("bücher.test", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "xn--bcher-kva.test");
	/* Upper case folds (UTS #46 mapping) and a trailing dot goes. */
	ck_assert_int_eq(idn_to_ascii("BÜCHER.Test.", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "xn--bcher-kva.test");
	ck_assert_int_eq(idn_to_ascii("Example.ORG", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "example.org");
}
END_TEST

START_TEST(alabel_to_ulabel)
{
	char out[IDN_DOMAIN_MAX];

	ck_assert_int_eq(idn_to_utf8("XN--BCHER-KVA.test", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "bücher.test");
	ck_assert_int_eq(idn_to_utf8("bücher.test", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "bücher.test");
}
END_TEST

START_TEST(invalid_names)
{
	char out[IDN_DOMAIN_MAX], big[300];

	ck_assert_int_eq(idn_to_ascii("", out, sizeof(out)), -1);
	ck_assert_int_eq(idn_to_ascii("a..b", out, sizeof(out)), -1);
	ck_assert_int_eq(idn_to_ascii("-a.b", out, sizeof(out)), -1);
	ck_assert_int_eq(idn_to_ascii("a_b.c", out, sizeof(out)), -1);
	ck_assert_int_eq(idn_to_ascii("xn--zz.test", out, sizeof(out)), -1);
	ck_assert_str_eq(out, "");
	/* Invalid UTF-8, and a disallowed code point (U+2665). */
	ck_assert_int_eq(idn_to_ascii("b\xfc" "cher.test", out, sizeof(out)), -1);
	ck_assert_int_eq(idn_to_ascii("i\xe2\x99\xa5.test", out, sizeof(out)), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(idn_to_ascii(big, out, sizeof(out)), -1);
	/* Too small an output buffer is an error, not a truncation. */
	ck_assert_int_eq(idn_to_ascii("bücher.test", out, 8), -1);
}
END_TEST

START_TEST(equal_either_spelling)
{
	ck_assert(idn_equal("bücher.test", "xn--bcher-kva.test"));
	ck_assert(idn_equal("XN--bcher-kva.TEST", "Bücher.test"));
	ck_assert(!idn_equal("bucher.test", "bücher.test"));
	ck_assert(!idn_equal("", ""));
	ck_assert(idn_non_ascii("jörg"));
	ck_assert(!idn_non_ascii("jorg"));
}
END_TEST

static Suite *
idn_suite(void)
{
	Suite *s = suite_create("idn");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, ulabel_to_alabel);
	tcase_add_test(tc, alabel_to_ulabel);
	tcase_add_test(tc, invalid_names);
	tcase_add_test(tc, equal_either_spelling);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(idn_suite);
