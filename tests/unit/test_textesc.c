/* SPDX-License-Identifier: ISC */
/* lib/textesc.c: the one escaper of log lines, JSON log output and
 * empathctl. Well-formed UTF-8 (RFC 3629) is kept; controls and octets
 * that do not decode are escaped; a cut never splits a character or an
 * escape and the result is always NUL-terminated inside its buffer. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "textesc.h"
#include "utf8.h"

static char out[512];

static const char *
esc(const char *s, size_t n)
{
	ck_assert_uint_eq(text_escape(out, sizeof(out), s, n), n);
	return out;
}

static const char *
jesc(const char *s, size_t n)
{
	ck_assert_uint_eq(text_escape_json(out, sizeof(out), s, n), n);
	return out;
}

#define ESC(s) esc(s, sizeof(s) - 1)
#define JESC(s) jesc(s, sizeof(s) - 1)

START_TEST(utf8_is_kept)
{
	ck_assert_str_eq(ESC("j\xc3\xb6rg@b\xc3\xbc" "cher.test"),
	    "j\xc3\xb6rg@b\xc3\xbc" "cher.test");
	/* U+00A0 (first past C1), U+20AC, U+FFFD, U+10FFFF, an emoji. */
	ck_assert_str_eq(ESC("\xc2\xa0\xe2\x82\xac\xef\xbf\xbd\xf4\x8f\xbf\xbf"
	    "\xf0\x9f\x93\xa7"), "\xc2\xa0\xe2\x82\xac\xef\xbf\xbd"
	    "\xf4\x8f\xbf\xbf\xf0\x9f\x93\xa7");
	ck_assert_str_eq(ESC("back\\slash \"q\""), "back\\slash \"q\"");
}
END_TEST

START_TEST(controls_are_escaped)
{
	ck_assert_str_eq(ESC("\x1b[31mred"), "\\x1b[31mred");
	ck_assert_str_eq(ESC("a\r\nb\tc\x7f"), "a\\x0d\\x0ab\\x09c\\x7f");
	ck_assert_str_eq(ESC("nul\0here"), "nul\\x00here");
	/* C1 controls (U+0085 NEL, U+009B CSI) by their two octets. */
	ck_assert_str_eq(ESC("\xc2\x85" "x\xc2\x9b"), "\\xc2\\x85x\\xc2\\x9b");
}
END_TEST

START_TEST(invalid_octets_are_escaped)
{
	ck_assert_str_eq(ESC("\xff"), "\\xff");
	ck_assert_str_eq(ESC("a\xfe\x80z"), "a\\xfe\\x80z");
	/* Overlong '/', overlong NUL, a surrogate, past U+10FFFF. */
	ck_assert_str_eq(ESC("\xc0\xaf"), "\\xc0\\xaf");
	ck_assert_str_eq(ESC("\xe0\x80\x80"), "\\xe0\\x80\\x80");
	ck_assert_str_eq(ESC("\xed\xa0\x80"), "\\xed\\xa0\\x80");
	ck_assert_str_eq(ESC("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
	ck_assert_str_eq(ESC("\xf8\x88\x80\x80\x80"),
	    "\\xf8\\x88\\x80\\x80\\x80");
	/* A sequence cut by the end of the input, or by an ASCII octet. */
	ck_assert_str_eq(ESC("ok\xc3"), "ok\\xc3");
	ck_assert_str_eq(ESC("\xe2\x82z"), "\\xe2\\x82z");
	/* srclen, not the NUL, ends the input: a sequence past it is cut. */
	ck_assert_str_eq(esc("\xc3\xb6", 1), "\\xc3");
}
END_TEST

START_TEST(escaping_twice_changes_nothing)
{
	static const char src[] = "\x1b[2J j\xc3\xb6rg \xff\xc2\x85\\x41\n";
	char once[256];

	ck_assert_str_eq(ESC(src), "\\x1b[2J j\xc3\xb6rg \\xff\\xc2\\x85\\x41\\x0a");
	strcpy(once, out);
	ck_assert_str_eq(esc(once, strlen(once)), once);
}
END_TEST

START_TEST(json_strings)
{
	ck_assert_str_eq(JESC("say \"hi\" \\ j\xc3\xb6rg"),
	    "say \\\"hi\\\" \\\\ j\xc3\xb6rg");
	ck_assert_str_eq(JESC("\x1b[31m\x01\n\x7f"),
	    "\\u001b[31m\\u0001\\u000a\\u007f");
	ck_assert_str_eq(JESC("\xc2\x85"), "\\u0085");
	ck_assert_str_eq(JESC("bad\xff\xc0\xaf end"), "bad\\ufffd\\ufffd\\ufffd end");
	ck_assert_str_eq(JESC("\xf0\x9f\x93\xa7"), "\xf0\x9f\x93\xa7");
}
END_TEST

/* Every buffer size: NUL-terminated inside the buffer, and what is there
 * is exactly the escape of the octets reported consumed: never half a
 * character or half an escape. */
static void
cut_everywhere(size_t (*fn)(char *, size_t, const char *, size_t))
{
	static const char src[] = "a\xc3\xb6\x1b\xf0\x9f\x93\xa7\xff\"\xc2\x85z";
	char full[128], buf[128], whole[128];
	size_t n = sizeof(src) - 1, len, used, prev = 0;

	ck_assert_uint_eq(fn(full, sizeof(full), src, n), n);
	for (len = 0; len <= strlen(full) + 1; len++) {
		memset(buf, '#', sizeof(buf));
		used = fn(buf, len, src, n);
		ck_assert_uint_le(used, n);
		ck_assert_uint_ge(used, prev);
		prev = used;
		if (len == 0) {
			ck_assert_uint_eq(used, 0);
			ck_assert_int_eq(buf[0], '#');
			continue;
		}
		ck_assert_uint_lt(strlen(buf), len);
		ck_assert_int_eq(buf[len], '#');
		fn(whole, sizeof(whole), src, used);
		ck_assert_str_eq(buf, whole);
		ck_assert_int_eq(used == n, len > strlen(full));
	}
}

START_TEST(cuts_are_whole)
{
	cut_everywhere(text_escape);
	cut_everywhere(text_escape_json);
}
END_TEST

START_TEST(sequence_lengths)
{
	uint32_t cp = 0;

	ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xc3\xb6", 2, &cp), 2);
	ck_assert_uint_eq(cp, 0xf6);
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xf4\x8f\xbf\xbf", 4,
	    &cp), 4);
	ck_assert_uint_eq(cp, 0x10ffff);
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xc3\xb6", 1, &cp), 0);
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"A", 1, &cp), 1);
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"\x80", 1, &cp), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("textesc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, utf8_is_kept);
	tcase_add_test(tc, controls_are_escaped);
	tcase_add_test(tc, invalid_octets_are_escaped);
	tcase_add_test(tc, escaping_twice_changes_nothing);
	tcase_add_test(tc, json_strings);
	tcase_add_test(tc, cuts_are_whole);
	tcase_add_test(tc, sequence_lengths);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
