/* SPDX-License-Identifier: ISC */
/* The health endpoint's request-head parser (ctld/health_request.c):
 * what it accepts, what it refuses at once, and that a head cut at any
 * point is only ever "incomplete" until its end arrives. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "../../ctld/health_request.h"

#define MAX 8192

static enum health_head
parse(const char *s, struct health_request *r)
{
	return health_request_parse(s, strlen(s), MAX, r);
}

START_TEST(good_heads)
{
	struct health_request r;

	ck_assert_int_eq(parse("GET /health/live HTTP/1.0\r\n\r\n", &r), HEAD_DONE);
	ck_assert_int_eq(r.method, HM_GET);
	ck_assert_int_eq(r.target, HT_LIVE);
	ck_assert_int_eq(parse("GET /health/ready?x=1 HTTP/1.1\nHost: a\n\n", &r),
	    HEAD_DONE);
	ck_assert_int_eq(r.target, HT_READY);
	ck_assert_int_eq(parse("HEAD /health/live HTTP/1.1\r\nA: b\r\n\r\n", &r),
	    HEAD_DONE);
	ck_assert_int_eq(r.method, HM_OTHER);
	ck_assert_int_eq(parse("GET /health/lively HTTP/1.0\r\n\r\n", &r), HEAD_DONE);
	ck_assert_int_eq(r.target, HT_OTHER);
}
END_TEST

START_TEST(bad_heads)
{
	static const char *const bad[] = {
		"GET health HTTP/1.0\r\n\r\n",
		"GET /health/live HTTP/2.0\r\n\r\n",
		"GET /health/live HTTP/1.0 \r\n\r\n",
		"GET  /health/live HTTP/1.0\r\n\r\n",
		"GET /health/live\r\n\r\n",
		"\r\n\r\n",
		"G\x01T /health/live HTTP/1.0\r\n\r\n",
		"GET /health/live HTTP/1.0\r\nA: b\rc\r\n\r\n",
		"\x16\x03\x01\x02\xfc\n",
	};
	struct health_request r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], &r) == HEAD_BAD, "case %zu", i);
	/* A NUL inside the head. */
	ck_assert_int_eq(health_request_parse("GET / HTTP/1.0\r\nA\0\r\n\r\n", 22,
	    MAX, &r), HEAD_BAD);
	/* A bad request line is refused before the head ends. */
	ck_assert_int_eq(parse("BAD LINE\r\n", &r), HEAD_BAD);
}
END_TEST

START_TEST(every_prefix_is_incomplete)
{
	const char *s = "GET /health/live HTTP/1.0\r\nHost: x\r\n\r\n";
	struct health_request r;
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++)
		ck_assert_msg(health_request_parse(s, i, MAX, &r) == HEAD_INCOMPLETE,
		    "prefix %zu", i);
	ck_assert_int_eq(health_request_parse(s, n, MAX, &r), HEAD_DONE);
}
END_TEST

START_TEST(too_large)
{
	char *s = malloc(MAX + 10);
	struct health_request r;

	memcpy(s, "GET / HTTP/1.0\r\nX: ", 19);
	memset(s + 19, 'a', MAX + 10 - 19);
	ck_assert_int_eq(health_request_parse(s, MAX - 1, MAX, &r), HEAD_INCOMPLETE);
	ck_assert_int_eq(health_request_parse(s, MAX, MAX, &r), HEAD_TOO_LARGE);
	ck_assert_int_eq(health_request_parse(s, MAX + 10, MAX, &r), HEAD_TOO_LARGE);
	free(s);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("ctld_health_request");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, good_heads);
	tcase_add_test(tc, bad_heads);
	tcase_add_test(tc, every_prefix_is_incomplete);
	tcase_add_test(tc, too_large);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
