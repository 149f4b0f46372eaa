/* SPDX-License-Identifier: ISC */
/* Who may use ctld's control socket (ctld/auth.c): tokens are matched by
 * their SHA-256 against every configured hash and named in audit lines
 * by index and hash prefix; peers are admitted by uid, primary group or
 * supplementary group. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "../../ctld/auth.h"
#include "channel.h"
#include "proto.h"

#define H_SECRET "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
#define H_OTHER  "d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"

START_TEST(tokens_match_their_hash_only)
{
	char *hex[] = { H_OTHER, H_SECRET };
	char fp[AUTH_FINGERPRINT_LEN];

	ck_assert_uint_eq(auth_setup(hex, 2, 1000, 1000), 2);
	ck_assert_int_eq(auth_token_check("secret", 6), 1);
	ck_assert_int_eq(auth_token_check("other", 5), 0);
	ck_assert_int_eq(auth_token_check("secret\n", 7), -1);
	ck_assert_int_eq(auth_token_check("secre", 5), -1);
	ck_assert_int_eq(auth_token_check("", 0), -1);
	auth_fingerprint(1, fp, sizeof(fp));
	ck_assert_str_eq(fp, "#2:2bb80d53");
	auth_fingerprint(-1, fp, sizeof(fp));
	ck_assert_str_eq(fp, "invalid");
	auth_fingerprint(7, fp, sizeof(fp));
	ck_assert_str_eq(fp, "invalid");
}
END_TEST

START_TEST(malformed_hashes_are_skipped)
{
	char *hex[] = { "xyz", H_SECRET "00", H_SECRET };

	ck_assert_uint_eq(auth_setup(hex, 3, 1000, 1000), 1);
	ck_assert_uint_eq(auth_ntokens(), 1);
	ck_assert_int_eq(auth_token_check("secret", 6), 0);
	ck_assert_uint_eq(auth_setup(NULL, 0, 1000, 1000), 0);
	ck_assert_int_eq(auth_token_check("secret", 6), -1);
}
END_TEST

START_TEST(peers_by_credentials)
{
	gid_t other[] = { 5, 6, 7 }, member[] = { 5, 4242, 7 };

	auth_setup(NULL, 0, 4242, 0);             /* started as root */
	ck_assert(auth_peer_allowed(0, 0, NULL, 0));
	ck_assert(!auth_peer_allowed(1000, 1000, NULL, 0));
	ck_assert(!auth_peer_allowed(1000, 1000, other, 3));
	ck_assert(auth_peer_allowed(1000, 4242, NULL, 0));
	ck_assert(auth_peer_allowed(1000, 1000, member, 3));

	auth_setup(NULL, 0, 4242, 65534);         /* owner: not root */
	ck_assert(auth_peer_allowed(65534, 65534, NULL, 0));
	ck_assert(auth_peer_allowed(0, 0, NULL, 0));
	ck_assert(!auth_peer_allowed(1000, 1000, other, 3));
}
END_TEST

/* A CTL_AUTH frame is checked, and its payload wiped whatever the outcome. */
static int
frame_check(struct msgbuf *mb)
{
	struct chan_msg m = { .type = CTL_AUTH, .fd = -1, .data = mb->data,
	    .len = mb->len };
	int found = auth_token_frame(&m);

	for (size_t i = 0; i < mb->len; i++)
		ck_assert_msg(mb->data[i] == 0, "payload octet %zu left", i);
	mb_free(mb);
	return found;
}

START_TEST(token_frames_are_checked_and_wiped)
{
	char *hex[] = { H_OTHER, H_SECRET };
	char big[CTL_TOKEN_MAX + 2];
	struct msgbuf mb;

	ck_assert_uint_eq(auth_setup(hex, 2, 1000, 1000), 2);
	mb_init(&mb);
	mb_str(&mb, "secret");
	ck_assert_int_eq(frame_check(&mb), 1);
	mb_init(&mb);
	mb_str(&mb, "wrong");
	ck_assert_int_eq(frame_check(&mb), -1);
	/* Malformed: a trailing octet, an empty or an oversized token. */
	mb_init(&mb);
	mb_str(&mb, "secret");
	mb_bytes(&mb, "x", 1);
	ck_assert_int_eq(frame_check(&mb), -1);
	mb_init(&mb);
	mb_str(&mb, "");
	ck_assert_int_eq(frame_check(&mb), -1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mb_init(&mb);
	mb_str(&mb, big);
	ck_assert_int_eq(frame_check(&mb), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("ctld_auth");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, tokens_match_their_hash_only);
	tcase_add_test(tc, token_frames_are_checked_and_wiped);
	tcase_add_test(tc, malformed_hashes_are_skipped);
	tcase_add_test(tc, peers_by_credentials);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
