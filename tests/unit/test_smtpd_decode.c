/* SPDX-License-Identifier: ISC */
/* The message content decoder (smtpd/decode.c): the end of DATA, dot
 * un-stuffing, every smuggling payload, the refusals (bare CR, bare LF,
 * NUL, long lines, a folded first line, size) and BDAT mode, each for every way of cutting the
 * input into reads. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "../../smtpd/decode.h"

struct result {
	char     out[8192];
	size_t   outlen;
	size_t   consumed;
	unsigned flags;
	bool     done;
	uint64_t size;
};

/* Decode in, cut at every position in turn (and byte by byte): all
 * runs must agree; returns the result. */
static struct result
decode(const char *in, size_t len, bool bdat, uint64_t max, bool finish)
{
	static struct result r[3];
	struct msgdec d;
	char buf[8192 + 2];
	size_t cut, i, n, used;

	ck_assert_uint_lt(len, 4000);
	for (cut = 0; cut <= len; cut++) {
		for (int mode = 0; mode < 2; mode++) {
			struct result *x = &r[mode];
			size_t off = 0;

			if (mode == 1 && cut > 0)
				continue;
			memset(x, 0, sizeof(*x));
			msgdec_init(&d, bdat, max);
			while (off < len && !d.done) {
				size_t chunk = mode == 1 ? 1 :
				    (off < cut ? cut - off : len - off);

				used = msgdec_feed(&d, in + off, chunk, buf, &n);
				ck_assert_uint_le(n, chunk + 2);
				ck_assert_uint_le(used, chunk);
				if (!d.done)
					ck_assert_uint_eq(used, chunk);
				memcpy(x->out + x->outlen, buf, n);
				x->outlen += n;
				off += used;
			}
			if (finish) {
				msgdec_finish(&d, buf, &n);
				ck_assert_uint_le(n, 2);
				memcpy(x->out + x->outlen, buf, n);
				x->outlen += n;
			}
			x->consumed = off;
			x->flags = d.flags;
			x->done = d.done;
			x->size = d.size;
		}
		if (cut == 0)
			r[2] = r[0];
		/* Byte by byte and every cut agree with one whole read. */
		for (i = 0; i < 2; i++) {
			if (i == 1 && cut > 0)
				continue;
			ck_assert_uint_eq(r[i].flags, r[2].flags);
			ck_assert_uint_eq(r[i].consumed, r[2].consumed);
			ck_assert_uint_eq(r[i].done, r[2].done);
			ck_assert_uint_eq(r[i].outlen, r[2].outlen);
			ck_assert_mem_eq(r[i].out, r[2].out, r[2].outlen);
		}
	}
	r[2].out[r[2].outlen] = '\0';
	return r[2];
}

#define DATA(s) decode(s, sizeof(s) - 1, false, 0, false)

START_TEST(data_end_and_unstuffing)
{
	struct result r = DATA("Subject: x\r\n\r\n..dot\r\n...two\r\n.x\r\n.\r\nQUIT\r\n");

	ck_assert(r.done);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_str_eq(r.out, "Subject: x\r\n\r\n.dot\r\n..two\r\nx\r\n");
	/* The command after the terminator is left for the session. */
	ck_assert_uint_eq(r.consumed, sizeof("Subject: x\r\n\r\n..dot\r\n...two\r\n.x\r\n.\r\n") - 1);
	ck_assert_uint_eq(r.size, r.outlen);
}
END_TEST

START_TEST(data_empty_message)
{
	struct result r = DATA(".\r\n");

	ck_assert(r.done);
	ck_assert_uint_eq(r.outlen, 0);
	ck_assert_uint_eq(r.consumed, 3);
	r = DATA("\r\n.\r\n");
	ck_assert(r.done);
	ck_assert_str_eq(r.out, "\r\n");
}
END_TEST

/* None of these ends the data, and each makes the message refused. */
START_TEST(smuggling_payloads)
{
	static const struct {
		const char *in;
		unsigned flag;
	} t[] = {
		{ "a\r\n\n.\nMAIL FROM:<x@y>\r\n", TX_BARE_LF },      /* <LF>.<LF> */
		{ "a\n.\r\nMAIL FROM:<x@y>\r\n", TX_BARE_LF },        /* <LF>.<CR><LF> */
		{ "a\r\n.\nMAIL FROM:<x@y>\r\n", TX_BARE_LF },        /* <CR><LF>.<LF> */
		{ "a\r.\r\nMAIL FROM:<x@y>\r\n", TX_BARE_CR },        /* <CR>.<CR><LF> */
		{ "a\r\n.\rMAIL FROM:<x@y>\r\n", TX_BARE_CR },        /* .<CR> */
		{ "a\r\n\r.\r\nMAIL FROM:<x@y>\r\n", TX_BARE_CR },
		{ "a\r\r\n.\r\r\n", TX_BARE_CR },
		{ "a\n.\n\r\n", TX_BARE_LF },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct result r = decode(t[i].in, strlen(t[i].in), false, 0, false);

		ck_assert_msg(!r.done, "payload %zu ended the data", i);
		ck_assert_msg(r.flags & t[i].flag, "payload %zu: flags %x", i, r.flags);
		ck_assert_uint_eq(r.consumed, strlen(t[i].in));
		/* Nothing after the refusal is output. */
		ck_assert_uint_le(r.outlen, 3);
	}
}
END_TEST

START_TEST(only_crlf_dot_crlf_after_poison)
{
	/* After a bare LF the real <CRLF>.<CRLF> still ends the data, so
	 * the session answers once, at the real end. */
	struct result r = DATA("a\n.\nb\r\nc\r\n.\r\nRSET\r\n");

	ck_assert(r.done);
	ck_assert(r.flags & TX_BARE_LF);
	ck_assert_uint_eq(r.consumed, sizeof("a\n.\nb\r\nc\r\n.\r\n") - 1);
}
END_TEST

START_TEST(long_lines)
{
	static char in[2100];
	struct result r;

	memset(in, 'x', 998);
	strcpy(in + 998, "\r\n.\r\n");
	r = decode(in, strlen(in), false, 0, false);
	ck_assert(r.done);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_uint_eq(r.outlen, 1000);
	/* 999 octets; a stuffing dot does not count. */
	memset(in, 'x', 999);
	strcpy(in + 999, "\r\n.\r\n");
	r = decode(in, strlen(in), false, 0, false);
	ck_assert(r.done);
	ck_assert_uint_eq(r.flags, TX_LONG_LINE);
	in[0] = '.';
	memset(in + 1, 'x', 998);
	strcpy(in + 999, "\r\n.\r\n");
	r = decode(in, strlen(in), false, 0, false);
	ck_assert_uint_eq(r.flags, 0);
	/* Far longer than any buffer: still bounded, still refused. */
	memset(in, 'y', 2000);
	strcpy(in + 2000, "\r\n.\r\n");
	r = decode(in, strlen(in), false, 0, false);
	ck_assert(r.done);
	ck_assert_uint_eq(r.flags, TX_LONG_LINE);
}
END_TEST

START_TEST(size_limit)
{
	struct result r = decode("abc\r\nde\r\n.\r\n", 12, false, 9, false);

	ck_assert(r.done);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_uint_eq(r.size, 9);
	r = decode("abc\r\ndef\r\n.\r\n", 13, false, 9, false);
	ck_assert(r.done);
	ck_assert_uint_eq(r.flags, TX_TOOBIG);
	ck_assert_uint_eq(r.outlen, 8);   /* what came before the limit */
}
END_TEST

START_TEST(bdat_mode)
{
	/* No stuffing and no terminator in BDAT. */
	struct result r = decode("a\r\n.\r\n..b\r\n", 11, true, 0, true);

	ck_assert(!r.done);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_str_eq(r.out, "a\r\n.\r\n..b\r\n");
	/* A missing last CRLF is added at the end. */
	r = decode("a\r\nlast", 7, true, 0, true);
	ck_assert_str_eq(r.out, "a\r\nlast\r\n");
	/* A CR at the very end is a bare CR. */
	r = decode("a\r\nb\r", 6, true, 0, true);
	ck_assert(r.flags & TX_BARE_CR);
	r = decode("a\nb\r\n", 5, true, 0, true);
	ck_assert(r.flags & TX_BARE_LF);
	r = decode("", 0, true, 0, true);
	ck_assert_uint_eq(r.outlen, 0);
	ck_assert_uint_eq(r.flags, 0);
}
END_TEST

START_TEST(eight_bit_passes)
{
	static const char in[] = "caf\xc3\xa9 \xff\r\n.\r\n";
	struct result r = decode(in, sizeof(in) - 1, false, 0, false);

	ck_assert(r.done);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_uint_eq(r.outlen, 9);
	ck_assert_mem_eq(r.out, "caf\xc3\xa9 \xff\r\n", 9);
}
END_TEST

START_TEST(nul_refused)
{
	/* Like a bare CR or LF: the message is refused, nothing is output,
	 * and DATA is still read to its real end. */
	static const char data[] = "a\r\nb\0c\r\n.\r\nQUIT\r\n";
	static const char data_bol[] = "\0\r\n.\r\n";
	static const char bdat[] = "a\r\n\0";
	static const char after_cr[] = "a\r\0\r\n.\r\n";
	struct result r = decode(data, sizeof(data) - 1, false, 0, false);

	ck_assert(r.done);
	ck_assert_uint_eq(r.flags, TX_NUL);
	ck_assert_uint_eq(r.consumed, sizeof(data) - 1 - 6);
	ck_assert_uint_eq(r.outlen, 4);            /* "a\r\nb" before the NUL */
	ck_assert(TX_NUL & TX_REJECT);
	r = decode(data_bol, sizeof(data_bol) - 1, false, 0, false);
	ck_assert(r.done);
	ck_assert_uint_eq(r.flags, TX_NUL);
	r = decode(bdat, sizeof(bdat) - 1, true, 0, true);
	ck_assert_uint_eq(r.flags, TX_NUL);
	ck_assert_uint_eq(r.outlen, 3);
	r = decode(after_cr, sizeof(after_cr) - 1, false, 0, false);
	ck_assert(r.done);
	ck_assert_uint_eq(r.flags, TX_NUL | TX_BARE_CR);
}
END_TEST

START_TEST(folded_first_line_refused)
{
	/* SP or HT as the first octet of the content would continue the
	 * Received: field written above it (RFC 5322 §2.2.3). */
	static const char *const refused[] = {
		" x\r\n.\r\nQUIT\r\n",
		"\tx\r\n.\r\nQUIT\r\n",
		". x\r\n.\r\nQUIT\r\n",      /* a stuffing dot, then SP */
		" \r\n.\r\nQUIT\r\n",
	};
	/* Fine: folding later in the header, a body line after the blank
	 * line that ends an empty header, a dot-stuffed ". x" (content
	 * ". x"), an empty message. */
	static const struct {
		const char *in, *out;
	} fine[] = {
		{ "Subject: a\r\n b\r\n\tc\r\n\r\n d\r\n.\r\n",
		  "Subject: a\r\n b\r\n\tc\r\n\r\n d\r\n" },
		{ "\r\n x\r\n\ty\r\n.\r\n", "\r\n x\r\n\ty\r\n" },
		{ ".. x\r\n.\r\n", ". x\r\n" },
		{ ".\r\n", "" },
	};
	struct result r;
	size_t i;

	ck_assert(TX_FOLDED & TX_REJECT);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		r = decode(refused[i], strlen(refused[i]), false, 0, false);
		ck_assert_msg(r.done, "refused %zu: not read to its end", i);
		ck_assert_msg(r.flags == TX_FOLDED, "refused %zu: flags %x",
		    i, r.flags);
		ck_assert_uint_eq(r.outlen, 0);
		ck_assert_uint_eq(r.consumed, strlen(refused[i]) - 6);
	}
	for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		r = decode(fine[i].in, strlen(fine[i].in), false, 0, false);
		ck_assert(r.done);
		ck_assert_msg(r.flags == 0, "fine %zu: flags %x", i, r.flags);
		ck_assert_str_eq(r.out, fine[i].out);
	}
	/* BDAT: no stuffing, the same rule. */
	r = decode(" x\r\n", 4, true, 0, true);
	ck_assert_uint_eq(r.flags, TX_FOLDED);
	ck_assert_uint_eq(r.outlen, 0);
	r = decode("\t", 1, true, 0, true);
	ck_assert_uint_eq(r.flags, TX_FOLDED);
	r = decode("Subject: a\r\n\tb\r\n\r\n c\r\n", 22, true, 0, true);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_str_eq(r.out, "Subject: a\r\n\tb\r\n\r\n c\r\n");
	r = decode("\r\n\tbody", 7, true, 0, true);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_str_eq(r.out, "\r\n\tbody\r\n");
}
END_TEST

static Suite *
decode_suite(void)
{
	Suite *s = suite_create("smtpd_decode");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, data_end_and_unstuffing);
	tcase_add_test(tc, data_empty_message);
	tcase_add_test(tc, smuggling_payloads);
	tcase_add_test(tc, only_crlf_dot_crlf_after_poison);
	tcase_add_test(tc, long_lines);
	tcase_add_test(tc, size_limit);
	tcase_add_test(tc, bdat_mode);
	tcase_add_test(tc, eight_bit_passes);
	tcase_add_test(tc, nul_refused);
	tcase_add_test(tc, folded_first_line_refused);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(decode_suite);
