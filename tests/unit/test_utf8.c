/* SPDX-License-Identifier: ISC */
/* lib/utf8.c: the one UTF-8 decoder and encoder. RFC 3629 section 3:
 * every scalar value round-trips; overlong forms, surrogates, values
 * past U+10FFFF, stray continuation octets and cut sequences do not
 * decode. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "utf8.h"

#define U(s) ((const unsigned char *)(s))

START_TEST(every_scalar_value_round_trips)
{
	unsigned char b[4];
	uint32_t cp, back, bad = 0;
	size_t n, want;

	/* Plain comparisons in the loop (ck_assert per value is slow); the
	 * first value that fails is reported. */
	for (cp = 0; cp <= 0x10ffff && bad == 0; cp++) {
		n = utf8_encode(cp, b);
		if (cp >= 0xd800 && cp <= 0xdfff) {
			if (n != 0)
				bad = cp;
			continue;
		}
		want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		back = 0xffffffff;
		if (n != want || utf8_decode(b, n, &back) != n || back != cp ||
		    (n > 1 && utf8_decode(b, n - 1, &back) != 0))
			bad = cp == 0 ? 0xffffffff : cp;
	}
	ck_assert_msg(bad == 0, "U+%04X does not round-trip", (unsigned)bad);
	ck_assert_uint_eq(cp, 0x110000);
	ck_assert_uint_eq(utf8_encode(0x110000, b), 0);
	ck_assert_uint_eq(utf8_encode(0xffffffff, b), 0);
}
END_TEST

START_TEST(known_encodings)
{
	unsigned char b[4];
	uint32_t cp = 0;

	ck_assert_uint_eq(utf8_encode(0xf6, b), 2);
	ck_assert(memcmp(b, "\xc3\xb6", 2) == 0);
	ck_assert_uint_eq(utf8_encode(0x20ac, b), 3);
	ck_assert(memcmp(b, "\xe2\x82\xac", 3) == 0);
	ck_assert_uint_eq(utf8_encode(0x1f600, b), 4);
	ck_assert(memcmp(b, "\xf0\x9f\x98\x80", 4) == 0);
	ck_assert_uint_eq(utf8_decode(U("\xf4\x8f\xbf\xbf"), 4, &cp), 4);
	ck_assert_uint_eq(cp, 0x10ffff);
	ck_assert_uint_eq(utf8_decode(U("A"), 1, &cp), 1);
	ck_assert_uint_eq(cp, 'A');
	/* Only the first sequence counts; cp may be NULL. */
	ck_assert_uint_eq(utf8_decode(U("\xc3\xb6xyz"), 5, NULL), 2);
}
END_TEST

START_TEST(ill_formed_sequences)
{
	uint32_t cp = 7;
	unsigned c;

	ck_assert_uint_eq(utf8_decode(U("A"), 0, &cp), 0);
	ck_assert_uint_eq(utf8_decode(U("\x80"), 1, &cp), 0);        /* stray */
	ck_assert_uint_eq(utf8_decode(U("\xc0\xaf"), 2, &cp), 0);    /* overlong / */
	ck_assert_uint_eq(utf8_decode(U("\xc1\xbf"), 2, &cp), 0);
	ck_assert_uint_eq(utf8_decode(U("\xe0\x80\x80"), 3, &cp), 0);
	ck_assert_uint_eq(utf8_decode(U("\xe0\x9f\xbf"), 3, &cp), 0);
	ck_assert_uint_eq(utf8_decode(U("\xf0\x8f\xbf\xbf"), 4, &cp), 0);
	ck_assert_uint_eq(utf8_decode(U("\xed\xa0\x80"), 3, &cp), 0); /* D800 */
	ck_assert_uint_eq(utf8_decode(U("\xed\xbf\xbf"), 3, &cp), 0); /* DFFF */
	ck_assert_uint_eq(utf8_decode(U("\xf4\x90\x80\x80"), 4, &cp), 0);
	ck_assert_uint_eq(utf8_decode(U("\xe2\x82"), 2, &cp), 0);     /* cut */
	ck_assert_uint_eq(utf8_decode(U("\xe2\x82\x41"), 3, &cp), 0); /* not a continuation */
	ck_assert_uint_eq(utf8_decode(U("\xc3\x00"), 2, &cp), 0);
	for (c = 0xf5; c <= 0xff; c++) {
		unsigned char b[4] = { (unsigned char)c, 0x80, 0x80, 0x80 };

		ck_assert_uint_eq(utf8_decode(b, 4, &cp), 0);
	}
	/* A failed decode leaves *cp alone. */
	ck_assert_uint_eq(cp, 7);
	/* The edges around the surrogates still decode. */
	ck_assert_uint_eq(utf8_decode(U("\xed\x9f\xbf"), 3, &cp), 3);
	ck_assert_uint_eq(cp, 0xd7ff);
	ck_assert_uint_eq(utf8_decode(U("\xee\x80\x80"), 3, &cp), 3);
	ck_assert_uint_eq(cp, 0xe000);
}
END_TEST


static Suite *
utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, every_scalar_value_round_trips);
	tcase_add_test(tc, known_encodings);
	tcase_add_test(tc, ill_formed_sequences);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(utf8_suite);
