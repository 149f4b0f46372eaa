/* SPDX-License-Identifier: ISC */
/* lib/maildate.c: the one RFC 5322 section 3.3 date writer. It must
 * agree with strftime() in the C locale (which it replaces, so that a
 * daemon's locale never reaches a header) and stay bounded. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "maildate.h"

START_TEST(known_dates)
{
	char buf[64];

	mail_date(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Thu, 01 Jan 1970 00:00:00 +0000");
	mail_date(1764072000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Tue, 25 Nov 2025 12:00:00 +0000");
	mail_date(1709251199, buf, sizeof(buf));           /* leap day */
	ck_assert_str_eq(buf, "Thu, 29 Feb 2024 23:59:59 +0000");
	mail_date(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Wed, 31 Dec 1969 23:59:59 +0000");
	ck_assert_uint_eq(strlen(buf) + 1, MAILDATE_LEN);
}
END_TEST

START_TEST(agrees_with_strftime_in_the_c_locale)
{
	char mine[64], ref[64];
	struct tm tm;
	time_t t;
	int64_t i;

	/* Every weekday and month over 60 years, at odd hours. */
	for (i = 0; i < 60 * 366; i++) {
		t = (time_t)(i * 86400 + (i % 86400) * 37 % 86400);
		ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
		ck_assert_uint_gt(strftime(ref, sizeof(ref),
		    "%a, %d %b %Y %H:%M:%S +0000", &tm), 0);
		mail_date((int64_t)t, mine, sizeof(mine));
		if (strcmp(mine, ref) != 0)
			ck_abort_msg("%lld: %s, not %s", (long long)t, mine, ref);
	}
}
END_TEST

START_TEST(bounded)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	mail_date(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Thu, 01");
	mail_date(0, buf, 0);           /* writes nothing */
	ck_assert_str_eq(buf, "Thu, 01");
}
END_TEST


static Suite *
maildate_suite(void)
{
	Suite *s = suite_create("maildate");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, known_dates);
	tcase_add_test(tc, agrees_with_strftime_in_the_c_locale);
	tcase_add_test(tc, bounded);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(maildate_suite);
