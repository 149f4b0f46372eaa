/* SPDX-License-Identifier: ISC */
/* lib/msgcheck.c: a message measured as it will be stored, and what
 * smtpd refuses in DATA found (RFC 5322 2.1: NUL; 2.1.1: 998 octets a
 * line), shared by empath-sendmail and queued's drop directory. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "msgcheck.h"

static struct msgcheck mc;

static void
measure(const char *s, size_t n, unsigned flags)
{
	msgcheck_measure(s, n, flags, &mc);
}

/* n octets of 'x', then tail. */
static char *
line_of(size_t n, const char *tail)
{
	char *s = malloc(n + strlen(tail) + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, 'x', n);
	strcpy(s + n, tail);
	return s;
}

START_TEST(received_recognised)
{
	ck_assert(msgcheck_is_received("Received: from x", 16));
	ck_assert(msgcheck_is_received("rEcEiVeD:", 9));
	/* White space before the colon (RFC 5322 4.5.3). */
	ck_assert(msgcheck_is_received("Received \t: x", 13));
	ck_assert(!msgcheck_is_received("Received", 8));
	ck_assert(!msgcheck_is_received("Received-SPF: pass", 18));
	ck_assert(!msgcheck_is_received("Receive: x", 10));
	ck_assert(!msgcheck_is_received("X-Received: x", 13));
	/* The length given is the line: a colon after it does not count. */
	ck_assert(!msgcheck_is_received("Received :", 9));
}
END_TEST

/* The size as stored: every line end CRLF, a last line given one. */
START_TEST(crlf_size)
{
	measure("", 0, 0);
	ck_assert_uint_eq(mc.size, 0);
	measure("a\nbc\r\n", 6, 0);
	ck_assert_uint_eq(mc.size, 7);
	measure("a\nbc", 4, MSGCHECK_BARE_CR);
	ck_assert_uint_eq(mc.size, 7);
	measure("\n\n", 2, 0);
	ck_assert_uint_eq(mc.size, 4);
}
END_TEST

/* A bare CR: a line end for queued (it writes CRLF for it), an octet of
 * its line for sendmail (sent on as it is). */
START_TEST(bare_cr_by_flag)
{
	measure("a\rb\n", 4, 0);
	ck_assert_uint_eq(mc.size, 5);
	measure("a\rb\n", 4, MSGCHECK_BARE_CR);
	ck_assert_uint_eq(mc.size, 6);
	/* A CR at the very end: the end of the last line, or an octet. */
	measure("ab\r", 3, 0);
	ck_assert_uint_eq(mc.size, 5);
	measure("ab\r", 3, MSGCHECK_BARE_CR);
	ck_assert_uint_eq(mc.size, 4);
	/* CR CR LF: one CR is the line's in both. */
	measure("a\r\r\n", 4, 0);
	ck_assert_uint_eq(mc.size, 4);
	measure("a\r\r\n", 4, MSGCHECK_BARE_CR);
	ck_assert_uint_eq(mc.size, 5);
}
END_TEST

START_TEST(long_lines)
{
	char *l;

	/* 998 octets, the end apart, are allowed with either end. */
	l = line_of(998, "\r\n");
	measure(l, strlen(l), 0);
	ck_assert_uint_eq(mc.long_line, 0);
	measure(l, strlen(l), MSGCHECK_BARE_CR);
	ck_assert_uint_eq(mc.long_line, 0);
	free(l);
	l = line_of(999, "");
	measure(l, strlen(l), 0);
	ck_assert_uint_eq(mc.long_line, 1);
	ck_assert_uint_eq(mc.long_len, 999);
	free(l);
	/* The first long line is named, on the line it is on. */
	l = line_of(1000, "\nshort\n");
	{
		char *m = malloc(2 * strlen(l) + 16);   /* "a\nb\n", l twice */

		strcpy(m, "a\nb\n");
		strcat(m, l);
		strcat(m, l);
		measure(m, strlen(m), 0);
		ck_assert_uint_eq(mc.long_line, 3);
		ck_assert_uint_eq(mc.long_len, 1000);
		free(m);
	}
	free(l);
	/* 998 octets and a CR at the end of the message: 999 octets of
	 * line when a bare CR is no line end. */
	l = line_of(998, "\r");
	measure(l, strlen(l), 0);
	ck_assert_uint_eq(mc.long_line, 1);
	measure(l, strlen(l), MSGCHECK_BARE_CR);
	ck_assert_uint_eq(mc.long_line, 0);
	free(l);
}
END_TEST

START_TEST(nul_found)
{
	const char m[] = "Subject: x\n\nab\0c\nd\0\n";

	measure(m, sizeof(m) - 1, 0);
	ck_assert_uint_eq(mc.nul_line, 3);
	measure("a\rb\0\n", 5, 0);
	ck_assert_uint_eq(mc.nul_line, 1);
	measure("a\rb\0\n", 5, MSGCHECK_BARE_CR);
	ck_assert_uint_eq(mc.nul_line, 2);
	measure("plain\n", 6, 0);
	ck_assert_uint_eq(mc.nul_line, 0);
}
END_TEST

/* Received: fields of the header only (RFC 5321 6.3: the hop count). */
START_TEST(hops_in_header_only)
{
	const char m[] = "Received: a\r\n\tb\r\nreceived : c\r\nX: y\r\n\r\n"
	    "Received: body\r\n";

	measure(m, sizeof(m) - 1, 0);
	ck_assert_uint_eq(mc.hops, 2);
	/* A bare CR starts a line for queued, not for sendmail. */
	measure("X: y\rReceived: z\n", 17, 0);
	ck_assert_uint_eq(mc.hops, 0);
	measure("X: y\rReceived: z\n", 17, MSGCHECK_BARE_CR);
	ck_assert_uint_eq(mc.hops, 1);
	/* An empty line ends the header, a CR alone one for queued. */
	measure("X: y\n\rReceived: z\n", 18, MSGCHECK_BARE_CR);
	ck_assert_uint_eq(mc.hops, 0);
}
END_TEST

START_TEST(eightbit_and_leading_space)
{
	measure("a: b\n\nplain\n", 12, 0);
	ck_assert(!mc.eightbit);
	ck_assert(!mc.lead_wsp);
	measure("a: b\n\n\xc3\xa9\n", 9, 0);
	ck_assert(mc.eightbit);
	measure(" a: b\n", 6, 0);
	ck_assert(mc.lead_wsp);
	measure("\ta: b\n", 6, MSGCHECK_BARE_CR);
	ck_assert(mc.lead_wsp);
	measure("a: b\n b\n", 8, 0);
	ck_assert(!mc.lead_wsp);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("msgcheck");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, received_recognised);
	tcase_add_test(tc, crlf_size);
	tcase_add_test(tc, bare_cr_by_flag);
	tcase_add_test(tc, long_lines);
	tcase_add_test(tc, nul_found);
	tcase_add_test(tc, hops_in_header_only);
	tcase_add_test(tc, eightbit_and_leading_space);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
