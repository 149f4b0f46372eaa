/* SPDX-License-Identifier: ISC */
/* The retry policy's promises (queued/retry.c): with the default
 * configuration a recipient is tried for the whole documented lifetime
 * (expire), and the end of the lifetime that a delay notice announces
 * (Will-Retry-Until, RFC 3464 2.3.9) is when the last attempt really
 * happens, whether max-attempts or expire ends it. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "../../queued/retry.h"
#include "config.h"
#include "proto.h"

#define T0 1764072000

/* The schedule without jitter: the time of attempt `want` (1-based) of a
 * recipient first tried at T0 that keeps failing, or -1 when it fails for
 * good before that attempt. Built from retry_delay() step by step, the
 * way the scheduler applies it. */
static int64_t
attempt_time(const struct cfg_delivery *d, uint32_t want)
{
	int64_t t = T0, deadline = T0 + (int64_t)d->expire;
	uint32_t n;

	for (n = 1; n < want; n++) {
		if (d->max_attempts > 0 && n >= d->max_attempts)
			return -1;
		if (d->expire > 0 && t >= deadline)
			return -1;
		t += (int64_t)retry_delay(d, n);
		if (d->expire > 0 && t > deadline)
			t = deadline;
	}
	return t;
}

static void
ignore(const char *line)
{
	(void)line;
}

START_TEST(default_lifetime_is_expire)
{
	/* The defaults: an empty configuration. */
	struct config *c = config_parse("t.conf", "", 0, ignore);
	const struct cfg_delivery *d;
	int64_t now = T0, next, deadline;
	uint32_t attempts, st;
	const char *why;

	ck_assert_ptr_nonnull(c);
	d = &c->delivery;
	ck_assert_uint_gt(d->expire, 0);
	deadline = T0 + (int64_t)d->expire;
	/* Fail every attempt, each one as soon as it is due (with the
	 * scheduler's own jitter): it is never given up before the end of
	 * the lifetime, and it is given up then. */
	for (attempts = 1; attempts < 100000; attempts++) {
		st = retry_after_defer(d, attempts, T0, now, &next, &why);
		if (st == RCPT_FAILED) {
			ck_assert_ptr_nonnull(why);
			break;
		}
		ck_assert_uint_eq(st, RCPT_DEFERRED);
		ck_assert_int_gt(next, now);
		ck_assert_int_le(next, deadline);
		now = next;
	}
	ck_assert_uint_eq(st, RCPT_FAILED);
	ck_assert_int_ge(now, deadline);
	/* The notice says so too: the lifetime, not an earlier count. */
	ck_assert_int_eq(retry_until(d, 1, T0, T0 + 60), deadline);
	ck_assert_int_eq(retry_until(d, 40, T0, T0 + 86400), deadline);
	config_free(c);
}
END_TEST

START_TEST(until_is_the_last_attempt)
{
	struct cfg_delivery d;
	uint32_t a;

	memset(&d, 0, sizeof(d));
	d.retry_initial = 60;
	d.retry_max = 4 * 3600;
	d.expire = 5 * 86400;
	d.max_attempts = 3;
	/* After the first failure, the second attempt is due at T0 + 60:
	 * the third (the last) comes 120 s later. */
	ck_assert_int_eq(retry_until(&d, 1, T0, T0 + 60), T0 + 60 + 120);
	ck_assert_int_eq(retry_until(&d, 1, T0, T0 + 60), attempt_time(&d, 3));
	/* After the second failure the next attempt is the last. */
	ck_assert_int_eq(retry_until(&d, 2, T0, T0 + 500), T0 + 500);

	/* Any count: the schedule's last attempt, or the lifetime when it
	 * comes first. */
	for (d.max_attempts = 2; d.max_attempts < 40; d.max_attempts++) {
		int64_t last = attempt_time(&d, d.max_attempts);

		/* Past the lifetime (from 38 on): the lifetime. */
		if (last == -1)
			last = T0 + (int64_t)d.expire;
		ck_assert_int_eq(last == T0 + (int64_t)d.expire,
		    d.max_attempts >= 38);
		ck_assert_int_eq(retry_until(&d, 1, T0, attempt_time(&d, 2)),
		    last);
		for (a = 2; a < d.max_attempts &&
		    attempt_time(&d, a + 1) != -1; a++)
			ck_assert_int_eq(retry_until(&d, a, T0,
			    attempt_time(&d, a + 1)), last);
	}
	/* 25 attempts under 1m..4h end near 70 hours, before 5 days. */
	d.max_attempts = 25;
	ck_assert_int_lt(retry_until(&d, 1, T0, T0 + 60), T0 + 3 * 86400);
	ck_assert_int_gt(retry_until(&d, 1, T0, T0 + 60), T0 + 2 * 86400);
	/* A delay that is already capped, and a huge count: expire. */
	d.max_attempts = 2000000000u;
	ck_assert_int_eq(retry_until(&d, 30, T0, T0 + 86400), T0 + 5 * 86400);
	/* The lifetime ends first: it is the limit. */
	d.max_attempts = 25;
	d.expire = 3600;
	ck_assert_int_eq(retry_until(&d, 1, T0, T0 + 60), T0 + 3600);
	/* No limit at all: nothing to announce. */
	d.max_attempts = 0;
	d.expire = 0;
	ck_assert_int_eq(retry_until(&d, 1, T0, T0 + 60), 0);
	/* Only a count: far in the future but finite and exact. */
	d.max_attempts = 1000;
	ck_assert_int_eq(retry_until(&d, 1, T0, T0 + 60),
	    T0 + 60 + (120 + 240 + 480 + 960 + 1920 + 3840 + 7680) +
	    (int64_t)(1000 - 9) * 4 * 3600);
	d.max_attempts = UINT32_MAX;
	ck_assert_int_gt(retry_until(&d, 1, T0, T0 + 60), T0);
}
END_TEST

START_TEST(max_attempts_limits_the_schedule)
{
	struct cfg_delivery d;
	int64_t now = T0, next;
	uint32_t attempts, st = RCPT_DEFERRED;
	const char *why;

	memset(&d, 0, sizeof(d));
	d.retry_initial = 60;
	d.retry_max = 4 * 3600;
	d.expire = 5 * 86400;
	d.max_attempts = 3;
	for (attempts = 1; attempts <= 10; attempts++) {
		st = retry_after_defer(&d, attempts, T0, now, &next, &why);
		if (st == RCPT_FAILED)
			break;
		now = next;
	}
	ck_assert_uint_eq(st, RCPT_FAILED);
	ck_assert_uint_eq(attempts, 3);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("queued_retry");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, default_lifetime_is_expire);
	tcase_add_test(tc, until_is_the_last_attempt);
	tcase_add_test(tc, max_attempts_limits_the_schedule);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
