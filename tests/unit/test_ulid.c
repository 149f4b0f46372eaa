/* SPDX-License-Identifier: ISC */
/* ULIDs: valid, strictly increasing within a process, time-ordered. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "ulid.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The 48-bit timestamp of the first 10 characters. */
static uint64_t
ulid_ms(const char *id)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 10; i++)
		v = v * 32 + (uint64_t)(strchr(alphabet, id[i]) - alphabet);
	return v;
}

START_TEST(increasing_and_valid)
{
	enum { N = 10000 };
	char (*ids)[27] = calloc(N, 27);
	int i;

	ck_assert_ptr_nonnull(ids);
	for (i = 0; i < N; i++) {
		ulid_new(ids[i]);
		ck_assert_uint_eq(strlen(ids[i]), 26);
		ck_assert_msg(ulid_valid(ids[i]), "invalid id %s", ids[i]);
		if (i > 0)
			ck_assert_msg(strcmp(ids[i - 1], ids[i]) < 0,
			    "%s not after %s", ids[i], ids[i - 1]);
	}
	free(ids);
}
END_TEST

START_TEST(timestamp_is_now)
{
	struct timespec ts;
	uint64_t before, after, ms;
	char id[27];

	clock_gettime(CLOCK_REALTIME, &ts);
	before = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	ulid_new(id);
	clock_gettime(CLOCK_REALTIME, &ts);
	after = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	ms = ulid_ms(id);
	/* Earlier ids of this process may have pushed it up by a few ms. */
	ck_assert_uint_ge(ms, before);
	ck_assert_uint_le(ms, after + 1000);
}
END_TEST

START_TEST(random_part_differs_between_ms)
{
	char a[27], b[27];
	struct timespec d = { 0, 3 * 1000 * 1000 };

	ulid_new(a);
	nanosleep(&d, NULL);
	ulid_new(b);
	ck_assert_int_lt(strcmp(a, b), 0);
	ck_assert_int_ne(ulid_ms(a), ulid_ms(b));
	/* Fresh randomness, not a counter continuing from a. */
	ck_assert_int_ne(memcmp(a + 10, b + 10, 16), 0);
}
END_TEST

/* A child forked without exec must not repeat its parent's next ids. */
START_TEST(forked_child_differs)
{
	char parent[3][27], child[27];
	int p[2], status, round;
	pid_t pid;

	for (round = 0; round < 20; round++) {
		ck_assert_int_eq(pipe(p), 0);
		ulid_new(parent[0]);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			ulid_new(child);
			_exit(write(p[1], child, 27) == 27 ? 0 : 1);
		}
		ulid_new(parent[1]);
		ulid_new(parent[2]);
		ck_assert_int_eq(read(p[0], child, 27), 27);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(ulid_valid(child));
		ck_assert_str_ne(child, parent[1]);
		ck_assert_str_ne(child, parent[2]);
		close(p[0]);
		close(p[1]);
	}
}
END_TEST

START_TEST(valid_rejects)
{
	char id[27], bad[40];
	const char *bad_chars = "ILOU?a z-/\x7f\x80";
	size_t i;

	ulid_new(id);
	ck_assert(ulid_valid(id));
	ck_assert(ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
	ck_assert(ulid_valid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
	ck_assert(!ulid_valid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
	ck_assert(!ulid_valid(NULL));
	ck_assert(!ulid_valid(""));
	ck_assert(!ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FA"));     /* 25 */
	ck_assert(!ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAV0"));   /* 27 */
	ck_assert(!ulid_valid("01arz3ndektsv4rrffq69g5fav"));    /* lower case */
	ck_assert(!ulid_valid("../../../etc/passwd0000000"));
	for (i = 0; i < strlen(bad_chars); i++) {
		size_t pos;

		for (pos = 1; pos < 26; pos += 12) {
			strcpy(bad, id);
			bad[pos] = bad_chars[i];
			ck_assert_msg(!ulid_valid(bad), "accepted %s", bad);
		}
	}
}
END_TEST

static Suite *
ulid_suite(void)
{
	Suite *s = suite_create("ulid");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, increasing_and_valid);
	tcase_add_test(tc, timestamp_is_now);
	tcase_add_test(tc, random_part_differs_between_ms);
	tcase_add_test(tc, forked_child_differs);
	tcase_add_test(tc, valid_rejects);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(ulid_suite);
