/* SPDX-License-Identifier: ISC */
/* The message table (lib/proto_msgs.h): names and values unique, and
 * msg_name() agrees with the table for every entry, so a log line names
 * the type the frame carried. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "proto.h"

struct entry {
	const char *ident;    /* the enum name */
	unsigned    value;
	const char *name;     /* the name in logs */
};

/* Built from the table itself, not from proto.c. */
static const struct entry table[] = {
#define MSG(id, v, s) { #id, v, s },
#include "proto_msgs.h"
#undef MSG
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

static bool
in_table(unsigned v)
{
	size_t i;

	for (i = 0; i < NTABLE; i++)
		if (table[i].value == v)
			return true;
	return false;
}

START_TEST(names_unique)
{
	size_t i, j;

	ck_assert_uint_gt(NTABLE, 40);
	for (i = 0; i < NTABLE; i++)
		for (j = i + 1; j < NTABLE; j++) {
			ck_assert_str_ne(table[i].name, table[j].name);
			ck_assert_str_ne(table[i].ident, table[j].ident);
		}
}
END_TEST

START_TEST(values_unique_and_fit)
{
	size_t i, j;

	for (i = 0; i < NTABLE; i++) {
		/* The frame header carries the type as a u16, and 0 is never
		 * a message. */
		ck_assert_uint_gt(table[i].value, 0);
		ck_assert_uint_lt(table[i].value, MSG_TYPE_MAX);
		ck_assert_uint_le(table[i].value, UINT16_MAX);
		for (j = i + 1; j < NTABLE; j++)
			ck_assert_uint_ne(table[i].value, table[j].value);
	}
}
END_TEST

START_TEST(name_round_trip)
{
	size_t i;

	for (i = 0; i < NTABLE; i++)
		ck_assert_str_eq(msg_name((uint16_t)table[i].value),
		    table[i].name);
	/* Wire values other daemons and older binaries rely on. */
	ck_assert_uint_eq(MSG_HELLO, 1);
	ck_assert_uint_eq(M_CONFIG, 10);
	ck_assert_uint_eq(M_READY, 19);
	ck_assert_uint_eq(Q_ROLLBACK, 36);
	ck_assert_uint_eq(D_STATUS, 53);
	ck_assert_uint_eq(D_DNS_FAIL, 67);
	ck_assert_uint_eq(Q_OP_FAIL, 92);
	ck_assert_uint_eq(CTL_AUTH, 105);
	ck_assert_uint_eq(CTL_QUEUE_STATS_REPLY, 121);
	ck_assert_uint_eq(CTL_DNS_OK, 136);
	ck_assert_str_eq(msg_name(Q_COMMIT_OK), "Q_COMMIT_OK");
}
END_TEST

/* The numbers of the request and answer types the CTL_ types replaced
 * (proto_msgs.h): an older peer may still send them, so they must keep
 * meaning nothing. */
START_TEST(retired_values_stay_free)
{
	unsigned v;

	for (v = 60; v <= 66; v++)
		ck_assert_msg(!in_table(v), "%u reused", v);
	for (v = 80; v <= 91; v++)
		ck_assert_msg(!in_table(v), "%u reused", v);
}
END_TEST

START_TEST(unknown_is_generic)
{
	unsigned v;
	char want[32];

	for (v = 0; v <= UINT16_MAX; v++) {
		const char *n;

		if (in_table(v))
			continue;
		n = msg_name((uint16_t)v);
		snprintf(want, sizeof(want), "type %u", v);
		ck_assert_str_eq(n, want);
		ck_assert_uint_lt(strlen(n), 32);
	}
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, names_unique);
	tcase_add_test(tc, values_unique_and_fit);
	tcase_add_test(tc, name_round_trip);
	tcase_add_test(tc, unknown_is_generic);
	tcase_add_test(tc, retired_values_stay_free);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(proto_suite);
