/* SPDX-License-Identifier: ISC */
/* deliverd: SMTP reply parsing (single and multi-line, bad codes, long
 * lines, mixed codes, sanitized text), EHLO keywords, DSN codes of
 * diagnostics, and dot-stuffing of the body across chunk boundaries. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "../../deliverd/body.h"
#include "../../deliverd/reply.h"

static enum reply_status
feed(struct smtp_reply *r, const char *s)
{
	return reply_feed(r, s, strlen(s));
}

START_TEST(single_line)
{
	struct smtp_reply r;

	reply_init(&r);
	ck_assert_int_eq(feed(&r, "250 2.0.0 Ok: queued as 4F2A"), REPLY_DONE);
	ck_assert_int_eq(r.code, 250);
	ck_assert_uint_eq(r.nlines, 1);
	ck_assert_str_eq(r.text, "250 2.0.0 Ok: queued as 4F2A");
	ck_assert_str_eq(r.esc, "2.0.0");

	/* A bare code is a complete reply. */
	ck_assert_int_eq(feed(&r, "354"), REPLY_DONE);
	ck_assert_int_eq(r.code, 354);
	ck_assert_str_eq(r.text, "354");
	ck_assert_str_eq(r.esc, "");

	ck_assert_int_eq(feed(&r, "550 no such user"), REPLY_DONE);
	ck_assert_str_eq(r.text, "550 no such user");
	ck_assert_str_eq(r.esc, "");
}
END_TEST

START_TEST(multi_line)
{
	struct smtp_reply r;

	reply_init(&r);
	ck_assert_int_eq(feed(&r, "250-mx.example.org hello"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250-PIPELINING"), REPLY_MORE);
	ck_assert_uint_eq(r.line_len, strlen("PIPELINING"));
	ck_assert(memcmp(r.line, "PIPELINING", r.line_len) == 0);
	ck_assert_int_eq(feed(&r, "250-"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250 SIZE 1000"), REPLY_DONE);
	ck_assert_uint_eq(r.nlines, 4);
	ck_assert_str_eq(r.text, "250 mx.example.org hello PIPELINING SIZE 1000");

	/* A new reply starts after the last line. */
	ck_assert_int_eq(feed(&r, "550-5.1.1 The email account that you tried"),
	    REPLY_MORE);
	ck_assert_int_eq(feed(&r, "550 5.1.1 to reach does not exist"), REPLY_DONE);
	ck_assert_int_eq(r.code, 550);
	ck_assert_str_eq(r.esc, "5.1.1");
	/* The repeated enhanced code is dropped from continuation lines. */
	ck_assert_str_eq(r.text,
	    "550 5.1.1 The email account that you tried to reach does not exist");

	/* A different enhanced code on a later line is kept. */
	ck_assert_int_eq(feed(&r, "451-4.7.1 greylisted"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "451 4.7.0 try later"), REPLY_DONE);
	ck_assert_str_eq(r.text, "451 4.7.1 greylisted 4.7.0 try later");
}
END_TEST

START_TEST(bad_codes)
{
	static const char *bad[] = {
		"", "2", "25", "abc", "25x ok", "199 too low", "600 too high",
		"260 second digit", "2500 no separator", "250x", "250_ok",
		" 250 leading space", "-250 x",
	};
	struct smtp_reply r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reply_init(&r);
		ck_assert_msg(feed(&r, bad[i]) == REPLY_BAD, "accepted \"%s\"",
		    bad[i]);
	}
	/* The edges of the valid range. */
	reply_init(&r);
	ck_assert_int_eq(feed(&r, "200 x"), REPLY_DONE);
	ck_assert_int_eq(feed(&r, "559 x"), REPLY_DONE);
	ck_assert_int_eq(r.code, 559);
}
END_TEST

START_TEST(mixed_codes)
{
	struct smtp_reply r;

	reply_init(&r);
	ck_assert_int_eq(feed(&r, "250-first"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "251 second"), REPLY_BAD);

	reply_init(&r);
	ck_assert_int_eq(feed(&r, "250-first"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "550 second"), REPLY_BAD);
}
END_TEST

START_TEST(long_lines)
{
	struct smtp_reply r;
	char *line = malloc(REPLY_LINE_MAX + 2);
	unsigned i;

	ck_assert_ptr_nonnull(line);
	/* At the bound: accepted, text cut and marked. */
	memset(line, 'x', REPLY_LINE_MAX);
	memcpy(line, "550 ", 4);
	reply_init(&r);
	ck_assert_int_eq(reply_feed(&r, line, REPLY_LINE_MAX), REPLY_DONE);
	ck_assert_uint_lt(strlen(r.text), REPLY_TEXT_MAX);
	ck_assert_uint_eq(strlen(r.text), r.text_len);
	ck_assert(strncmp(r.text, "550 xxx", 7) == 0);
	ck_assert_str_eq(r.text + strlen(r.text) - 3, "...");

	/* Past it: not a reply. */
	memset(line, 'x', REPLY_LINE_MAX + 1);
	memcpy(line, "550 ", 4);
	reply_init(&r);
	ck_assert_int_eq(reply_feed(&r, line, REPLY_LINE_MAX + 1), REPLY_BAD);

	/* Many continuation lines fill the text only up to its bound. */
	reply_init(&r);
	for (i = 0; i < REPLY_LINES_MAX - 1; i++)
		ck_assert_int_eq(feed(&r, "250-some capability"), REPLY_MORE);
	ck_assert_uint_lt(strlen(r.text), REPLY_TEXT_MAX);
	ck_assert_int_eq(feed(&r, "250 last"), REPLY_DONE);

	/* More lines than that: a server gone wrong. */
	reply_init(&r);
	for (i = 0; i < REPLY_LINES_MAX; i++)
		ck_assert_int_eq(feed(&r, "250-x"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250 x"), REPLY_BAD);
	free(line);
}
END_TEST

START_TEST(sanitized)
{
	static const char raw[] = "550 5.7.1 bad\0nul\r\x1b[31mred\xc3\xa9\x7f end"
	    "\n\xff\xc2\x85";
	struct smtp_reply r;
	size_t i;

	reply_init(&r);
	ck_assert_int_eq(reply_feed(&r, raw, sizeof(raw) - 1), REPLY_DONE);
	/* UTF-8 stays, controls (C1 too) and stray octets become \xHH. */
	ck_assert_str_eq(r.text, "550 5.7.1 bad\\x00nul\\x0d\\x1b[31mred"
	    "\xc3\xa9\\x7f end\\x0a\\xff\\xc2\\x85");
	ck_assert_uint_eq(r.text_len, strlen(r.text));
	for (i = 0; i < r.text_len; i++)
		ck_assert((unsigned char)r.text[i] >= 0x20 && r.text[i] != 0x7f);
}
END_TEST

/* A cut never splits a character or an escape, and ends the text. */
START_TEST(sanitized_cut)
{
	char line[REPLY_LINE_MAX];
	struct smtp_reply r;
	size_t i, n, lead;

	for (lead = 0; lead < 4; lead++) {
		n = 0;
		memcpy(line, "550 ", 4);
		n = 4;
		for (i = 0; i < lead; i++)
			line[n++] = 'a';
		while (n + 2 <= 700) {
			memcpy(line + n, n % 4 ? "\xc3\xb6" : "\x01x", 2);
			n += 2;
		}
		reply_init(&r);
		ck_assert_int_eq(reply_feed(&r, line, n), REPLY_DONE);
		ck_assert_uint_eq(r.text_len, strlen(r.text));
		ck_assert_uint_lt(r.text_len, REPLY_TEXT_MAX);
		ck_assert(r.text_len > REPLY_TEXT_MAX - 8);
		ck_assert_str_eq(r.text + r.text_len - 3, "...");
		/* Before the mark: a whole "\xc3\xb6", "x" or "\x01". */
		ck_assert(memcmp(r.text + r.text_len - 5, "\xc3\xb6", 2) == 0 ||
		    r.text[r.text_len - 4] == 'x' ||
		    memcmp(r.text + r.text_len - 7, "\\x01", 4) == 0);
		/* Later lines add nothing. */
		reply_init(&r);
		line[3] = '-';
		ck_assert_int_eq(reply_feed(&r, line, n), REPLY_MORE);
		ck_assert_int_eq(feed(&r, "550 more"), REPLY_DONE);
		ck_assert_str_eq(r.text + r.text_len - 3, "...");
		ck_assert_ptr_null(strstr(r.text, "more"));
	}
}
END_TEST

START_TEST(enhanced_codes)
{
	struct smtp_reply r;

	reply_init(&r);
	feed(&r, "550 5.1.10 null MX");
	ck_assert_str_eq(r.esc, "5.1.10");
	feed(&r, "250 2.0.0");
	ck_assert_str_eq(r.esc, "2.0.0");
	feed(&r, "550 5.1.1234 too many digits");
	ck_assert_str_eq(r.esc, "");
	feed(&r, "550 5.1.1x not a code");
	ck_assert_str_eq(r.esc, "");
	feed(&r, "550 3.1.1 bad class");
	ck_assert_str_eq(r.esc, "");
}
END_TEST

START_TEST(ehlo_keywords)
{
	struct smtp_caps c;

	memset(&c, 0, sizeof(c));
	caps_parse_line(&c, "PIPELINING", 10);
	caps_parse_line(&c, "size 10485760", 13);
	caps_parse_line(&c, "8BITMIME", 8);
	caps_parse_line(&c, "STARTTLSX", 9);
	caps_parse_line(&c, "AUTH PLAIN", 10);
	ck_assert(c.pipelining);
	ck_assert(c.size);
	ck_assert_uint_eq(c.size_max, 10485760);
	ck_assert(c.eightbitmime);
	ck_assert(!c.starttls);
	ck_assert(!c.dsn);

	memset(&c, 0, sizeof(c));
	caps_parse_line(&c, "PIPELININGX", 11);
	caps_parse_line(&c, "SIZE", 4);
	caps_parse_line(&c, "DSN", 3);
	ck_assert(!c.pipelining);
	ck_assert(c.size);
	ck_assert_uint_eq(c.size_max, 0);
	ck_assert(c.dsn);

	/* A limit that is not a number means no limit. */
	caps_parse_line(&c, "SIZE 12abc", 10);
	ck_assert(c.size);
	ck_assert_uint_eq(c.size_max, 0);
	caps_parse_line(&c, "SIZE 99999999999999999999999", 27);
	ck_assert_uint_eq(c.size_max, 0);
}
END_TEST

START_TEST(dsn_of_diagnostics)
{
	char b[REPLY_ESC_MAX];

	ck_assert_str_eq(reply_dsn("550 5.1.1 no such user", 5, b, sizeof(b)),
	    "5.1.1");
	ck_assert_str_eq(reply_dsn("4.4.1 connection refused by 127.0.0.1:2526",
	    4, b, sizeof(b)), "4.4.1");
	ck_assert_str_eq(reply_dsn("250 Ok", 2, b, sizeof(b)), "2.0.0");
	/* A code of another class than the outcome is not believed. */
	ck_assert_str_eq(reply_dsn("554 5.7.1 go away", 4, b, sizeof(b)),
	    "4.0.0");
	ck_assert_str_eq(reply_dsn(NULL, 4, b, sizeof(b)), "4.0.0");
	ck_assert_str_eq(reply_dsn("", 5, b, sizeof(b)), "5.0.0");
}
END_TEST

/* ---- dot-stuffing ---- */

/* Encode in chunks of size chunk; returns a malloc'ed NUL-terminated
 * result and its length. */
static char *
stuff(const char *in, size_t len, size_t chunk, size_t *outlen)
{
	char *out = malloc(DOTSTUFF_OUT_MAX(len) + DOTSTUFF_END_MAX + 1);
	struct dotstuff ds;
	size_t off = 0, o = 0, n, w;

	ck_assert_ptr_nonnull(out);
	dotstuff_init(&ds);
	while (off < len) {
		n = len - off < chunk ? len - off : chunk;
		w = dotstuff(&ds, in + off, n, out + o);
		ck_assert_uint_le(w, DOTSTUFF_OUT_MAX(n));
		o += w;
		off += n;
	}
	o += dotstuff_end(&ds, out + o);
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Every chunk size from 1 to the whole input gives the same bytes. */
static void
check_stuff(const char *in, const char *want)
{
	size_t len = strlen(in), chunk, olen;
	char *out;

	for (chunk = 1; chunk <= (len ? len : 1); chunk++) {
		out = stuff(in, len, chunk, &olen);
		ck_assert_msg(olen == strlen(want) && memcmp(out, want, olen) == 0,
		    "input \"%s\" chunk %zu: got \"%s\"", in, chunk, out);
		free(out);
	}
}

START_TEST(dot_stuffing)
{
	check_stuff("", ".\r\n");
	check_stuff("a\r\nb\r\n", "a\r\nb\r\n.\r\n");
	check_stuff(".a\r\n", "..a\r\n.\r\n");
	check_stuff("x.\r\ny . z\r\n", "x.\r\ny . z\r\n.\r\n");
	/* A lone "." line in the body must not end the data. */
	check_stuff("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n");
	check_stuff(".\r\n", "..\r\n.\r\n");
	check_stuff("..\r\n...\r\n", "...\r\n....\r\n.\r\n");
	/* No CRLF at the end of the file: one is added. */
	check_stuff("a\r\nb", "a\r\nb\r\n.\r\n");
	check_stuff("a\r\n.", "a\r\n..\r\n.\r\n");
	check_stuff("a\r", "a\r\n.\r\n");
	/* Bare LF becomes CRLF, so "\n.\n" cannot end the data anywhere. */
	check_stuff("a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n");
	/* A bare CR is not a line end: no stuffing after it. */
	check_stuff("a\r.b\r\n", "a\r.b\r\n.\r\n");
}
END_TEST

START_TEST(dot_stuffing_chunks)
{
	struct dotstuff ds;
	char out[64];
	size_t o;

	/* The split falls inside CRLF, then a dot starts the next chunk. */
	dotstuff_init(&ds);
	o = dotstuff(&ds, "a\r", 2, out);
	o += dotstuff(&ds, "\n.b\r\n", 5, out + o);
	o += dotstuff_end(&ds, out + o);
	ck_assert_uint_eq(o, strlen("a\r\n..b\r\n.\r\n"));
	ck_assert(memcmp(out, "a\r\n..b\r\n.\r\n", o) == 0);

	/* The split falls right after CRLF. */
	dotstuff_init(&ds);
	o = dotstuff(&ds, "a\r\n", 3, out);
	o += dotstuff(&ds, ".b", 2, out + o);
	o += dotstuff_end(&ds, out + o);
	ck_assert_uint_eq(o, strlen("a\r\n..b\r\n.\r\n"));
	ck_assert(memcmp(out, "a\r\n..b\r\n.\r\n", o) == 0);

	/* The split falls inside a line that has a dot in it. */
	dotstuff_init(&ds);
	o = dotstuff(&ds, "ab", 2, out);
	o += dotstuff(&ds, ".c\r\n", 4, out + o);
	o += dotstuff_end(&ds, out + o);
	ck_assert_uint_eq(o, strlen("ab.c\r\n.\r\n"));
	ck_assert(memcmp(out, "ab.c\r\n.\r\n", o) == 0);
}
END_TEST

/* A large body with many dot lines, in 64 KiB chunks, against a
 * line-by-line reference. */
START_TEST(dot_stuffing_large)
{
	size_t len = 300 * 1024, i = 0, olen, rlen = 0, ln = 0;
	char *in = malloc(len), *ref = malloc(2 * len + 8), *out;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(ref);
	while (i + 2 < len) {
		/* Lines of 0..79 bytes, a third of them starting with '.'. */
		size_t n = (ln * 37) % 80, k;

		if (i + n + 2 > len)
			n = len - i - 2;
		for (k = 0; k < n; k++)
			in[i + k] = (k == 0 && ln % 3 == 0) ? '.' :
			    (char)('a' + (ln + k) % 26);
		if (n > 0 && in[i] == '.')
			ref[rlen++] = '.';
		memcpy(ref + rlen, in + i, n);
		rlen += n;
		memcpy(in + i + n, "\r\n", 2);
		memcpy(ref + rlen, "\r\n", 2);
		rlen += 2;
		i += n + 2;
		ln++;
	}
	len = i;
	memcpy(ref + rlen, ".\r\n", 3);
	rlen += 3;

	out = stuff(in, len, 64 * 1024, &olen);
	ck_assert_uint_eq(olen, rlen);
	ck_assert(memcmp(out, ref, rlen) == 0);
	free(out);
	/* An odd chunk size puts boundaries everywhere. */
	out = stuff(in, len, 4093, &olen);
	ck_assert_uint_eq(olen, rlen);
	ck_assert(memcmp(out, ref, rlen) == 0);
	free(out);
	free(in);
	free(ref);
}
END_TEST

/* The worst case fits the documented bound. */
START_TEST(dot_stuffing_bound)
{
	static const char worst[] = ".\n.\n.\n.\n";
	struct dotstuff ds;
	char out[DOTSTUFF_OUT_MAX(sizeof(worst) - 1)];

	dotstuff_init(&ds);
	ck_assert_uint_eq(dotstuff(&ds, worst, sizeof(worst) - 1, out),
	    DOTSTUFF_OUT_MAX(sizeof(worst) - 1));
	ck_assert(memcmp(out, "..\r\n..\r\n..\r\n..\r\n", sizeof(out)) == 0);
}
END_TEST

static Suite *
reply_suite(void)
{
	Suite *s = suite_create("deliverd_reply");
	TCase *tc = tcase_create("reply");

	tcase_add_test(tc, single_line);
	tcase_add_test(tc, multi_line);
	tcase_add_test(tc, bad_codes);
	tcase_add_test(tc, mixed_codes);
	tcase_add_test(tc, long_lines);
	tcase_add_test(tc, sanitized);
	tcase_add_test(tc, sanitized_cut);
	tcase_add_test(tc, enhanced_codes);
	tcase_add_test(tc, ehlo_keywords);
	tcase_add_test(tc, dsn_of_diagnostics);
	suite_add_tcase(s, tc);

	tc = tcase_create("body");
	tcase_add_test(tc, dot_stuffing);
	tcase_add_test(tc, dot_stuffing_chunks);
	tcase_add_test(tc, dot_stuffing_large);
	tcase_add_test(tc, dot_stuffing_bound);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(reply_suite);
