/* Wire forms of the daemons' messages: the envelope's size computed beside
 * its encoder equals what env_encode() writes. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "envelope.h"
#include "proto.h"
#include "ulid.h"
#include "util.h"

/* A random string of 0..max-1 printable octets, or NULL (when nullable)
 * one time in four. */
static char *
rand_str(unsigned max, bool nullable)
{
	char *s;
	unsigned i, n;

	if (nullable && rand() % 4 == 0)
		return NULL;
	n = (unsigned)rand() % max;
	s = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		s[i] = (char)(33 + rand() % 94);
	s[n] = '\0';
	return s;
}

START_TEST(env_size_matches_encoding)
{
	int round;

	srand(20261206);
	for (round = 0; round < 500; round++) {
		struct envelope e;
		struct msgbuf mb;
		size_t i, nr, base;

		env_init(&e);
		if (rand() % 2)
			ulid_new(e.id);
		e.sender = rand_str(300, false);
		e.helo = rand_str(300, true);
		e.client_addr = rand_str(50, true);
		e.client_name = rand_str(300, true);
		e.body = rand_str(12, true);
		e.envid = rand_str(100, true);
		e.size = (uint64_t)rand();
		nr = (size_t)rand() % 40;
		for (i = 0; i < nr; i++) {
			char *a = rand_str(300, false);
			struct env_rcpt *r = env_add_rcpt(&e, a);

			free(a);
			r->orcpt = rand_str(300, true);
		}
		base = env_base_wire_size(&e);
		mb_init(&mb);
		env_encode(&e, &mb);
		ck_assert(!mb.err);
		ck_assert_uint_eq(env_wire_size(&e), mb.len);
		for (i = 0; i < e.nrcpt; i++)
			base += env_rcpt_wire_size(e.rcpt[i].addr,
			    e.rcpt[i].orcpt);
		ck_assert_uint_eq(base, mb.len);
		mb_free(&mb);
		env_clear(&e);
	}
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, env_size_matches_encoding);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
