/* SPDX-License-Identifier: ISC */
/* The drop-file envelope reader (lib/dropfile_read.c): a well-formed
 * file is read exactly, and every way a local user could write a bad one
 * is refused with nothing left allocated: the magic line, the order and
 * count of the lines, their length, NUL and control characters, and
 * addresses smtpd would not have taken in MAIL FROM or RCPT TO (RFC 5321
 * 4.1.2, RFC 6531 for UTF-8); and the names a reader takes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropfile.h"
#include "fixture.h"
#include "util.h"

#define MAGIC "EMPATH-DROP 1\n"

static int
parse(const char *buf, size_t len, struct drop_env *env, size_t *body,
    char *err, size_t errlen)
{
	/* A copy of exactly len octets: any read past it is caught by the
	 * sanitizer build. */
	char *copy = xmalloc(len ? len : 1);
	int rc;

	memcpy(copy, buf, len);
	rc = dropfile_parse(copy, len, env, body, err, errlen);
	free(copy);
	return rc;
}

static void
refused(const char *text, size_t len, const char *why)
{
	struct drop_env env;
	size_t body = 12345;
	char err[256] = "";

	ck_assert_msg(parse(text, len, &env, &body, err, sizeof(err)) == -1,
	    "accepted: %.*s", (int)len, text);
	ck_assert_msg(err[0] != '\0', "no reason given for %.*s", (int)len, text);
	if (why != NULL)
		ck_assert_msg(strstr(err, why) != NULL, "\"%s\" for %.*s, wanted %s",
		    err, (int)len, text, why);
	ck_assert_ptr_null(env.sender);
	ck_assert_ptr_null(env.rcpts);
	ck_assert_uint_eq(env.nrcpts, 0);
}

#define REFUSED(lit, why) refused(lit, sizeof(lit) - 1, why)

/* text is read into env (to free with drop_env_free), its message at
 * *body. */
static void
accepted(const char *text, size_t len, struct drop_env *env, size_t *body)
{
	char err[128] = "";

	ck_assert_msg(parse(text, len, env, body, err, sizeof(err)) == 0,
	    "refused (%s): %.*s", err, (int)len, text);
}

START_TEST(well_formed_file_is_read_exactly)
{
	static const char text[] = MAGIC
	    "S alice@host.test\n"
	    "R bob@dest.test\n"
	    "R \"odd one\"@dest.test\n"
	    "R carol@[192.0.2.7]\n"
	    "\n"
	    "Subject: hi\n\nbody\n";
	struct drop_env env;
	size_t body;

	accepted(text, sizeof(text) - 1, &env, &body);
	ck_assert_str_eq(env.sender, "alice@host.test");
	ck_assert_uint_eq(env.nrcpts, 3);
	ck_assert_str_eq(env.rcpts[0], "bob@dest.test");
	ck_assert_str_eq(env.rcpts[1], "\"odd one\"@dest.test");
	ck_assert_str_eq(env.rcpts[2], "carol@[192.0.2.7]");
	ck_assert_str_eq(text + body, "Subject: hi\n\nbody\n");
	drop_env_free(&env);
	ck_assert_ptr_null(env.sender);
	ck_assert_uint_eq(env.nrcpts, 0);
}
END_TEST

START_TEST(null_sender_utf8_and_empty_message)
{
	static const char text[] = MAGIC "S \n"
	    "R j\xc3\xb6rg@b\xc3\xbc" "cher.test\n\n";
	struct drop_env env;
	size_t body;

	accepted(text, sizeof(text) - 1, &env, &body);
	ck_assert_str_eq(env.sender, "");
	ck_assert_uint_eq(env.nrcpts, 1);
	ck_assert_str_eq(env.rcpts[0], "j\xc3\xb6rg@b\xc3\xbc" "cher.test");
	ck_assert_uint_eq(body, sizeof(text) - 1);
	drop_env_free(&env);
}
END_TEST

START_TEST(bad_structure_is_refused)
{
	REFUSED("", "not a drop file");
	REFUSED("EMPATH-DROP 2\nS a@b.test\nR c@d.test\n\n", "not a drop file");
	REFUSED("EMPATH-DROP 1 \nS a@b.test\nR c@d.test\n\n", "not a drop file");
	REFUSED("EMPATH-DROP 1\r\nS a@b.test\nR c@d.test\n\n", "not a drop file");
	REFUSED(MAGIC, "does not end");
	REFUSED(MAGIC "S a@b.test\nR c@d.test\n", "does not end");
	REFUSED(MAGIC "S a@b.test\nR c@d.test", "does not end");
	REFUSED(MAGIC "\n", "no sender");
	REFUSED(MAGIC "S a@b.test\n\n", "no recipient");
	REFUSED(MAGIC "R c@d.test\nS a@b.test\n\n", "before the sender");
	REFUSED(MAGIC "S a@b.test\nR c@d.test\nS e@f.test\n\n", "more than one");
	REFUSED(MAGIC "S a@b.test\nS a@b.test\nR c@d.test\n\n", "more than one");
	REFUSED(MAGIC "S a@b.test\nX c@d.test\n\n", "unknown");
	REFUSED(MAGIC "S a@b.test\nRc@d.test\n\n", "unknown");
	REFUSED(MAGIC "S a@b.test\nr c@d.test\n\n", "unknown");
	REFUSED(MAGIC "S\nR c@d.test\n\n", "unknown");
	REFUSED(MAGIC "S a@b.test\nR c@d.test\n \n", "unknown");
	/* CRLF envelope lines: the CR is part of the address. */
	REFUSED(MAGIC "S a@b.test\r\nR c@d.test\r\n\r\n", "control");
}
END_TEST

START_TEST(nul_anywhere_in_the_envelope_is_refused)
{
	static const char text[] = MAGIC "S a@b.test\nR c@d.test\n\n";
	char buf[sizeof(text)];
	size_t i;

	for (i = sizeof(MAGIC) - 1; i < sizeof(text) - 1; i++) {
		memcpy(buf, text, sizeof(text));
		buf[i] = '\0';
		refused(buf, sizeof(text) - 1, NULL);
	}
	/* A NUL in the message is not the envelope's business. */
	{
		static const char withnul[] = MAGIC "S a@b.test\nR c@d.test\n\nx\0y";
		struct drop_env env;
		size_t body;

		accepted(withnul, sizeof(withnul) - 1, &env, &body);
		ck_assert_uint_eq(body, sizeof(withnul) - 4);
		drop_env_free(&env);
	}
}
END_TEST

START_TEST(addresses_smtpd_would_refuse_are_refused)
{
	static const char *const bad[] = {
		"nodomain", "postmaster", "@d.test", "a@", "a@@d.test", "a b@d.test",
		"a@d..test", "a@-d.test", "<a@d.test>", "a@d.test>", "a@d.test> SIZE=1",
		"@r.test:a@d.test", "a@d.test ", " a@d.test", "a\t@d.test",
		"a@d.test\x7f", "a@[300.1.1.1]", "a@[tag:x]", "\"unterminated@d.test",
		"a.@d.test", ".a@d.test", "a@d_test.x", "a@\xc3(.test", "\xff@d.test",
		"\x80" "a@d.test",
	};
	char text[512];
	size_t i;
	int n;

	for (i = 0; i < nitems(bad); i++) {
		n = snprintf(text, sizeof(text), MAGIC "S a@b.test\nR %s\n\n", bad[i]);
		refused(text, (size_t)n, NULL);
		n = snprintf(text, sizeof(text), MAGIC "S %s\nR c@d.test\n\n", bad[i]);
		refused(text, (size_t)n, NULL);
	}
	REFUSED(MAGIC "S a@b.test\nR \n\n", "empty");
	/* The reason names the line. */
	REFUSED(MAGIC "S a@b.test\nR <c@d.test>\n\n", "recipient: ");
	REFUSED(MAGIC "S <a@b.test>\nR c@d.test\n\n", "sender: ");
}
END_TEST

static char *
file_with_rcpt(size_t local_len, const char *domain, size_t *len)
{
	size_t cap = local_len + strlen(domain) + 64, n;
	char *t = xmalloc(cap);

	n = (size_t)snprintf(t, cap, MAGIC "S a@b.test\nR ");
	memset(t + n, 'x', local_len);
	n += local_len;
	n += (size_t)snprintf(t + n, cap - n, "@%s\n\n", domain);
	*len = n;
	return t;
}

START_TEST(lengths_are_bounded)
{
	struct drop_env env;
	char dom[200], *t;
	size_t len, body;

	/* A local part of 64 octets passes, 65 does not (RFC 5321 4.5.3.1.1). */
	t = file_with_rcpt(64, "d.test", &len);
	accepted(t, len, &env, &body);
	drop_env_free(&env);
	free(t);
	t = file_with_rcpt(65, "d.test", &len);
	refused(t, len, NULL);
	free(t);
	/* 64 + 1 + 189 = 254 octets: the longest address; one more is too long,
	 * whatever the parser of commands allows. */
	memset(dom, 'a', 60);
	memcpy(dom + 60, ".", 1);
	memset(dom + 61, 'b', 60);
	memcpy(dom + 121, ".", 1);
	memset(dom + 122, 'c', 60);
	memcpy(dom + 182, ".dtest", 7);
	ck_assert_uint_eq(strlen(dom), 188);
	t = file_with_rcpt(64, dom, &len);
	accepted(t, len, &env, &body);
	ck_assert_uint_eq(strlen(env.rcpts[0]), 253);
	drop_env_free(&env);
	free(t);
	strlcat(dom, "e", sizeof(dom));
	t = file_with_rcpt(64, dom, &len);
	accepted(t, len, &env, &body);
	ck_assert_uint_eq(strlen(env.rcpts[0]), DROP_ADDR_MAX);
	drop_env_free(&env);
	free(t);
	strlcat(dom, "f", sizeof(dom));
	t = file_with_rcpt(64, dom, &len);
	refused(t, len, "too long");
	free(t);
	/* A line that never ends within any address's reach is refused as
	 * such, without looking further. */
	t = xmalloc(4096);
	len = (size_t)snprintf(t, 4096, MAGIC "S a@b.test\nR ");
	memset(t + len, 'y', 4000);
	refused(t, len + 4000, "too long");
	free(t);
}
END_TEST

START_TEST(recipient_count_is_bounded)
{
	size_t cap = (DROP_RCPT_MAX + 2) * 24 + 64, len, body, i;
	char *t = xmalloc(cap);
	struct drop_env env;

	len = (size_t)snprintf(t, cap, MAGIC "S a@b.test\n");
	for (i = 0; i < DROP_RCPT_MAX; i++)
		len += (size_t)snprintf(t + len, cap - len, "R r%zu@d.test\n", i);
	memcpy(t + len, "\nbody\n", 6);
	accepted(t, len + 6, &env, &body);
	ck_assert_uint_eq(env.nrcpts, DROP_RCPT_MAX);
	ck_assert_str_eq(env.rcpts[DROP_RCPT_MAX - 1], "r999@d.test");
	ck_assert_uint_eq(body, len + 1);
	drop_env_free(&env);
	len += (size_t)snprintf(t + len, cap - len, "R one-more@d.test\n\n");
	refused(t, len, "too many");
	free(t);
}
END_TEST

START_TEST(every_truncation_is_refused)
{
	static const char text[] = MAGIC "S a@b.test\nR c@d.test\nR e@f.test\n\n";
	size_t i;

	for (i = 0; i < sizeof(text) - 1; i++)
		refused(text, i, NULL);
}
END_TEST

START_TEST(names)
{
	static const char *const bad[] = {
		"0123456789abcdef0123456789abcde",
		"0123456789abcdef0123456789abcdef0",
		"0123456789ABCDEF0123456789abcdef",
		".0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdeg",
		"0123456789abcdef/123456789abcdef",
		"", ".", "..",
	};
	size_t i;

	ck_assert(dropfile_name_ok("0123456789abcdef0123456789abcdef"));
	for (i = 0; i < nitems(bad); i++)
		ck_assert_msg(!dropfile_name_ok(bad[i]), "taken: \"%s\"", bad[i]);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("dropfile");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, well_formed_file_is_read_exactly);
	tcase_add_test(tc, null_sender_utf8_and_empty_message);
	tcase_add_test(tc, bad_structure_is_refused);
	tcase_add_test(tc, nul_anywhere_in_the_envelope_is_refused);
	tcase_add_test(tc, addresses_smtpd_would_refuse_are_refused);
	tcase_add_test(tc, lengths_are_bounded);
	tcase_add_test(tc, recipient_count_is_bounded);
	tcase_add_test(tc, every_truncation_is_refused);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
