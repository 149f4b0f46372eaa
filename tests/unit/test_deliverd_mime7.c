/* SPDX-License-Identifier: ISC */
/* deliverd's 8bit to 7bit conversion for servers without 8BITMIME
 * (RFC 6152 3): 8-bit leaf parts become quoted-printable (RFC 2045 6.7)
 * that decodes to the original bytes, other parts pass unchanged, and
 * what cannot be converted (8-bit headers, binary) is refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "mime7_driver.h"

/* Plan then convert msg in chunks of chunk bytes (mime7_driver.c);
 * returns -1 when it cannot be converted (why in *why). */
static int
convert(const char *msg, size_t len, size_t chunk, struct mime7_buf *out,
    struct mime7_plan *plan, const char **why)
{
	static char err[128];
	int r;

	r = mime7_drive_convert(msg, len, chunk, out, plan, err, sizeof(err));
	ck_assert_int_ne(r, -2);      /* the plan held */
	if (r == -1)
		*why = err;
	return r;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A strict quoted-printable decoder: soft breaks vanish, =XX (upper
 * case hex) is one octet, anything else is literal. */
static size_t
qp_decode(const char *in, size_t len, char *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		if (in[i] == '=' && i + 2 < len && in[i + 1] == '\r' &&
		    in[i + 2] == '\n') {
			i += 3;
		} else if (in[i] == '=') {
			ck_assert_uint_lt(i + 2, len);
			ck_assert_int_ge(hexval(in[i + 1]), 0);
			ck_assert_int_ge(hexval(in[i + 2]), 0);
			out[o++] = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
			i += 3;
		} else
			out[o++] = in[i++];
	}
	return o;
}

/* Every line of s at most 76 octets before its CRLF, every octet 7-bit,
 * and every CR part of a CRLF. */
static void
assert_7bit_lines(const char *s, size_t len)
{
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		ck_assert_uint_lt((unsigned char)s[i], 0x80);
		if (s[i] == '\r') {
			ck_assert_uint_lt(i + 1, len);
			ck_assert_int_eq(s[i + 1], '\n');
			continue;
		}
		if (s[i] == '\n') {
			col = 0;
			continue;
		}
		col++;
		ck_assert_uint_le(col, 998);
	}
}

static void
assert_qp_lines(const char *s, size_t len)
{
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
			/* RFC 2045 6.7 (3): no white space before a hard break. */
			if (col > 0)
				ck_assert(s[i - 1] != ' ' && s[i - 1] != '\t');
			col = 0;
			i++;
			continue;
		}
		col++;
		ck_assert_uint_le(col, 76);
	}
}

START_TEST(plain_text_becomes_quoted_printable)
{
	const char *msg =
	    "From: a@example.org\r\n"
	    "Subject: hi\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "Gr\xc3\xbc\xc3\x9f" "e, a=b \r\n"
	    ".tail\t\r\n";
	const char *want =
	    "From: a@example.org\r\n"
	    "Subject: hi\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "Gr=C3=BC=C3=9Fe, a=3Db=20\r\n"
	    ".tail=09\r\n";
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;

	ck_assert_int_eq(convert(msg, strlen(msg), 4096, &out, &plan, &why), 0);
	ck_assert_str_eq(out.p, want);
	ck_assert(plan.any8);
	ck_assert_uint_eq(plan.nleaves, 1);
	ck_assert_uint_eq(plan.size, strlen(want));
	mime7_plan_free(&plan);
	free(out.p);
}
END_TEST

START_TEST(message_without_mime_gets_labels)
{
	const char *msg = "Subject: x\r\n\r\ncaf\xe9\r\n";
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;

	ck_assert_int_eq(convert(msg, strlen(msg), 7, &out, &plan, &why), 0);
	ck_assert_str_eq(out.p, "Subject: x\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=unknown-8bit\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\ncaf=E9\r\n");
	ck_assert_uint_eq(plan.size, out.len);
	mime7_plan_free(&plan);
	free(out.p);
}
END_TEST

static const char multipart[] =
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"=_outer (x)\"\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "preamble\r\n"
    "--=_outer (x)\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "d\xe9j\xe0 vu\r\n"
    "--=_outer (x)\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1\r\n"
    "Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWpr\r\n"
    "--=_outer (x)--\r\n"
    "epilogue\r\n";

START_TEST(multipart_converts_only_the_8bit_part)
{
	const char *b64part =
	    "--=_outer (x)\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1\r\n"
	    "Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWpr\r\n"
	    "--=_outer (x)--\r\n"
	    "epilogue\r\n";
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;

	ck_assert_int_eq(convert(multipart, sizeof(multipart) - 1, 4096, &out,
	    &plan, &why), 0);
	assert_7bit_lines(out.p, out.len);
	/* The multipart is relabelled 7bit (RFC 2045 6.4). */
	ck_assert_ptr_nonnull(strstr(out.p, "boundary=\"=_outer (x)\"\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\npreamble\r\n"));
	ck_assert_ptr_nonnull(strstr(out.p,
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "d=E9j=E0 vu\r\n--=_outer (x)\r\n"));
	/* The base64 part, byte for byte, is the end of the output. */
	ck_assert_uint_ge(out.len, strlen(b64part));
	ck_assert_str_eq(out.p + out.len - strlen(b64part), b64part);
	ck_assert_uint_eq(plan.nleaves, 2);
	ck_assert_uint_eq(plan.size, out.len);
	mime7_plan_free(&plan);
	free(out.p);
}
END_TEST

START_TEST(nested_multipart_and_message)
{
	const char *msg =
	    "Content-Type: multipart/mixed; boundary=A\r\n"
	    "\r\n"
	    "--A\r\n"
	    "Content-Type: multipart/alternative; boundary=B\r\n"
	    "\r\n"
	    "--B\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "plain ascii = stays\r\n"
	    "--B\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "\r\n"
	    "<p>\xe2\x82\xac</p>\r\n"
	    "--B--\r\n"
	    "--A\r\n"
	    "Content-Type: message/rfc822\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "Subject: inner\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n"
	    "\xc3\xa9t\xc3\xa9\r\n"
	    "--A--\r\n";
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;

	ck_assert_int_eq(convert(msg, strlen(msg), 4096, &out, &plan, &why), 0);
	assert_7bit_lines(out.p, out.len);
	ck_assert_uint_eq(plan.nleaves, 3);
	/* The 7-bit part is untouched, with no new label. */
	ck_assert_ptr_nonnull(strstr(out.p, "--B\r\nContent-Type: text/plain\r\n"
	    "\r\nplain ascii = stays\r\n--B\r\n"));
	ck_assert_ptr_nonnull(strstr(out.p, "charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "<p>=E2=82=AC</p>\r\n--B--\r\n"));
	/* The message/rfc822 part is 7bit now, its own body QP. */
	ck_assert_ptr_nonnull(strstr(out.p, "Content-Type: message/rfc822\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nSubject: inner\r\n"));
	ck_assert_ptr_nonnull(strstr(out.p,
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "=C3=A9t=C3=A9\r\n--A--\r\n"));
	/* Neither message had a MIME-Version: both get one (RFC 2045 4),
	 * the inner one in its own header. */
	ck_assert(strncmp(out.p, "Content-Type: multipart/mixed; boundary=A\r\n"
	    "MIME-Version: 1.0\r\n\r\n--A\r\n", 67) == 0);
	ck_assert_ptr_nonnull(strstr(out.p, "Subject: inner\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nMIME-Version: 1.0\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"));
	ck_assert_uint_eq(plan.size, out.len);
	mime7_plan_free(&plan);
	free(out.p);
}
END_TEST

START_TEST(eight_bit_header_is_refused)
{
	const char *top = "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n\r\nbody\r\n";
	const char *part =
	    "Content-Type: multipart/mixed; boundary=A\r\n\r\n"
	    "--A\r\nContent-Type: text/plain; name=\"\xe9.txt\"\r\n\r\nx\r\n"
	    "--A--\r\n";
	const char *inner =
	    "Content-Type: message/rfc822\r\n\r\n"
	    "Subject: \xe9\r\n\r\nx\r\n";
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;

	ck_assert_int_eq(convert(top, strlen(top), 4096, &out, &plan, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "header"));
	ck_assert_int_eq(convert(part, strlen(part), 3, &out, &plan, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "header"));
	ck_assert_int_eq(convert(inner, strlen(inner), 1, &out, &plan, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "header"));
}
END_TEST

START_TEST(binary_is_refused)
{
	const char *msg =
	    "Content-Type: multipart/mixed; boundary=A\r\n\r\n"
	    "--A\r\nContent-Type: image/png\r\n"
	    "Content-Transfer-Encoding: binary\r\n\r\n\x89PNG\r\n"
	    "--A--\r\n";
	const char *b64 =
	    "Content-Type: image/png\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n\x89PNG\r\n";
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;

	ck_assert_int_eq(convert(msg, strlen(msg), 4096, &out, &plan, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "binary"));
	/* 8-bit octets under base64 cannot be re-encoded either. */
	ck_assert_int_eq(convert(b64, strlen(b64), 4096, &out, &plan, &why), -1);
}
END_TEST

START_TEST(header_over_the_bound_is_refused)
{
	/* One field folded over many lines, past MIME7_HEADER_MAX. */
	size_t cap = MIME7_HEADER_MAX + 4096, n;
	char *msg = malloc(cap);
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;

	ck_assert_ptr_nonnull(msg);
	n = (size_t)snprintf(msg, cap, "X-Long: a\r\n");
	while (n < MIME7_HEADER_MAX + 100)
		n += (size_t)snprintf(msg + n, cap - n, " %060d\r\n", 7);
	n += (size_t)snprintf(msg + n, cap - n, "\r\n\xe9\r\n");
	ck_assert_int_eq(convert(msg, n, 4096, &out, &plan, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "header"));
	free(msg);
}
END_TEST

/* A message/rfc822 part whose message starts right with its body. */
START_TEST(nested_message_without_header)
{
	const char *msg = "Content-Type: message/rfc822\r\n\r\n"
	    "\xe9t\xe9 no header\r\n";
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;

	ck_assert_int_eq(convert(msg, strlen(msg), 5, &out, &plan, &why), 0);
	/* Its header is empty: what it gets ends with a blank line. */
	ck_assert_str_eq(out.p, "Content-Type: message/rfc822\r\n"
	    "MIME-Version: 1.0\r\n\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=unknown-8bit\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "=E9t=E9 no header\r\n");
	ck_assert_uint_eq(plan.size, out.len);
	mime7_plan_free(&plan);
	free(out.p);
}
END_TEST

START_TEST(nesting_is_bounded)
{
	char msg[8192];
	size_t n = 0;
	int d, ok;
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;

	for (ok = 0; ok < 2; ok++) {
		/* MIME7_DEPTH_MAX multiparts and the leaf: one level too
		 * many; one multipart less is fine. */
		n = 0;
		for (d = 0; d < MIME7_DEPTH_MAX - ok; d++)
			n += (size_t)snprintf(msg + n, sizeof(msg) - n,
			    "Content-Type: multipart/mixed; boundary=b%d\r\n"
			    "\r\n--b%d\r\n", d, d);
		n += (size_t)snprintf(msg + n, sizeof(msg) - n,
		    "\r\n\xe9\r\n");
		ck_assert_int_eq(convert(msg, n, 64, &out, &plan, &why),
		    ok ? 0 : -1);
		if (ok) {
			ck_assert_ptr_nonnull(strstr(out.p, "\r\n=E9\r\n"));
			mime7_plan_free(&plan);
			free(out.p);
		} else
			ck_assert_ptr_nonnull(strstr(why, "deep"));
	}
}
END_TEST

START_TEST(one_byte_chunks_give_the_same_output)
{
	struct mime7_plan p1, p2;
	struct mime7_buf whole, bytes;
	const char *why;

	ck_assert_int_eq(convert(multipart, sizeof(multipart) - 1, 1 << 20,
	    &whole, &p1, &why), 0);
	ck_assert_int_eq(convert(multipart, sizeof(multipart) - 1, 1,
	    &bytes, &p2, &why), 0);
	ck_assert_uint_eq(whole.len, bytes.len);
	ck_assert_mem_eq(whole.p, bytes.p, whole.len);
	ck_assert_uint_eq(p1.size, p2.size);
	mime7_plan_free(&p1);
	mime7_plan_free(&p2);
	free(whole.p);
	free(bytes.p);
}
END_TEST

/* Every octet, long lines, white space at line ends and a bare CR:
 * the QP body is within 76 columns and decodes to the original. */
START_TEST(qp_lines_are_short_and_decode_back)
{
	const char *hdr = "Content-Type: application/x-test\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n";
	size_t hl = strlen(hdr), n = 0, i, k, chunk;
	char body[8192], *msg, dec[8192];
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why, *b;

	for (k = 0; k < 3; k++) {
		for (i = 0; i < 256; i++)
			if (i != '\n' && i != '\r')
				body[n++] = (char)i;
		body[n++] = ' ';
		body[n++] = '\r';
		body[n++] = '\n';
		for (i = 0; i < 300; i++)
			body[n++] = (char)(i % 2 ? '\t' : 'x');
		body[n++] = '\t';
		body[n++] = '\r';
		body[n++] = 'y';
		body[n++] = '\r';
		body[n++] = '\n';
	}
	msg = malloc(hl + n);
	ck_assert_ptr_nonnull(msg);
	memcpy(msg, hdr, hl);
	memcpy(msg + hl, body, n);
	for (chunk = 1; chunk <= 4096; chunk *= 8) {
		ck_assert_int_eq(convert(msg, hl + n, chunk, &out, &plan,
		    &why), 0);
		assert_7bit_lines(out.p, out.len);
		b = strstr(out.p, "\r\n\r\n");
		ck_assert_ptr_nonnull(b);
		b += 4;
		assert_qp_lines(b, out.len - (size_t)(b - out.p));
		ck_assert_uint_eq(qp_decode(b, out.len - (size_t)(b - out.p),
		    dec), n);
		ck_assert_mem_eq(dec, body, n);
		ck_assert_uint_eq(plan.size, out.len);
		mime7_plan_free(&plan);
		free(out.p);
	}
	free(msg);
}
END_TEST


/* Lines of s (CRLF or LF ended) that start with prefix. */
static size_t
lines_starting(const char *s, size_t len, const char *prefix)
{
	size_t i, n = 0, pl = strlen(prefix);

	for (i = 0; i < len; i++)
		if ((i == 0 || s[i - 1] == '\n') && len - i >= pl &&
		    memcmp(s + i, prefix, pl) == 0)
			n++;
	return n;
}

/* RFC 2046 5.1.1: the encoded body must not contain a delimiter line.
 * A 75-octet line then "--B": the soft break at column 75 must not put
 * "--B" at the start of a line. */
START_TEST(soft_break_never_starts_a_boundary)
{
	char msg[512], line[80], dec[512];
	const char *b, *e;
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;
	size_t n, w, chunk;

	for (w = 70; w <= 78; w++) {
		memset(line, 'x', w);
		line[w] = '\0';
		n = (size_t)snprintf(msg, sizeof(msg),
		    "MIME-Version: 1.0\r\n"
		    "Content-Type: multipart/mixed; boundary=\"BND\"\r\n\r\n"
		    "--BND\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
		    "caf\xc3\xa9\r\n%s--BND\r\n-\r\n--x\r\n"
		    "Content-Type: text/html\r\n\r\n"
		    "<script>evil</script>\r\n"
		    "--BND--\r\n", line);
		for (chunk = 1; chunk <= 4096; chunk *= 64) {
			ck_assert_int_eq(convert(msg, n, chunk, &out, &plan,
			    &why), 0);
			ck_assert_uint_eq(plan.size, out.len);
			/* The opening and the closing delimiter only. */
			ck_assert_uint_eq(lines_starting(out.p, out.len, "--"), 2);
			ck_assert_uint_eq(lines_starting(out.p, out.len, "--BND\r\n"),
			    1);
			b = strstr(out.p, "quoted-printable\r\n\r\n");
			ck_assert_ptr_nonnull(b);
			b += strlen("quoted-printable\r\n\r\n");
			e = strstr(b, "\r\n--BND--\r\n");
			ck_assert_ptr_nonnull(e);
			e += 2;
			assert_qp_lines(b, (size_t)(e - b));
			/* It decodes to the whole part, the fake parts too. */
			dec[qp_decode(b, (size_t)(e - b), dec)] = '\0';
			ck_assert_ptr_nonnull(strstr(msg, dec));
			ck_assert_ptr_nonnull(strstr(dec, "--BND\r\n-\r\n--x\r\n"
			    "Content-Type: text/html\r\n\r\n<script>"));
			mime7_plan_free(&plan);
			free(out.p);
		}
	}
}
END_TEST

/* A part header that ends without a blank line (the next line is not
 * a field): the converted body must not read as header fields. */
START_TEST(header_without_blank_line_stays_apart)
{
	const char *m3 =
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=B\r\n\r\n"
	    "--B\r\n"
	    "Content-Type: text/plain\r\n"
	    "X\xe9: y\r\n"
	    "Content-Disposition: attachment; filename=\"invoice.html\"\r\n"
	    "\r\n"
	    "hi\r\n"
	    "--B--\r\n";
	const char *m2 =
	    "Subject: hi\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=B\r\n\r\n"
	    "--B\r\n"
	    "X\xe9: y\r\n"
	    "Content-Type: text/html\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "PHNjcmlwdD4=\r\n"
	    "--B--\r\n";
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;
	size_t chunk;

	for (chunk = 1; chunk <= 4096; chunk *= 64) {
		ck_assert_int_eq(convert(m3, strlen(m3), chunk, &out, &plan,
		    &why), 0);
		ck_assert_ptr_nonnull(strstr(out.p, "--B\r\n"
		    "Content-Type: text/plain\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		    "X=E9: y\r\n"
		    "Content-Disposition: attachment; filename=3D\"invoice.html\"\r\n"
		    "\r\nhi\r\n--B--\r\n"));
		ck_assert_uint_eq(plan.size, out.len);
		mime7_plan_free(&plan);
		free(out.p);
		ck_assert_int_eq(convert(m2, strlen(m2), chunk, &out, &plan,
		    &why), 0);
		ck_assert_ptr_nonnull(strstr(out.p, "--B\r\n"
		    "Content-Type: text/plain; charset=unknown-8bit\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		    "X=E9: y\r\nContent-Type: text/html\r\n"));
		ck_assert_uint_eq(plan.size, out.len);
		mime7_plan_free(&plan);
		free(out.p);
	}
}
END_TEST

/* RFC 2045 4: a message/rfc822 part's message that gets MIME labels
 * gets MIME-Version too. */
START_TEST(nested_message_gets_mime_version)
{
	const char *m4 =
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: message/rfc822\r\n\r\n"
	    "Subject: inner\r\n"
	    "From: a@b\r\n\r\n"
	    "caf\xc3\xa9\r\n";
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;

	ck_assert_int_eq(convert(m4, strlen(m4), 3, &out, &plan, &why), 0);
	ck_assert_str_eq(out.p,
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: message/rfc822\r\n\r\n"
	    "Subject: inner\r\n"
	    "From: a@b\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=unknown-8bit\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=C3=A9\r\n");
	ck_assert_uint_eq(plan.size, out.len);
	mime7_plan_free(&plan);
	free(out.p);
}
END_TEST


/* The message ends in its header, without a line end: that last line is
 * read like any other (here the start of the body, or an 8-bit field). */
START_TEST(last_header_line_without_line_end)
{
	const char *body = "Subject: a\r\nnot a field \xe9";
	const char *field = "Subject: a\r\nX-Y: \xe9";
	struct mime7_plan plan;
	struct mime7_buf out;
	const char *why;

	ck_assert_int_eq(convert(body, strlen(body), 4, &out, &plan, &why), 0);
	ck_assert_str_eq(out.p, "Subject: a\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=unknown-8bit\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "not a field =E9");
	ck_assert_uint_eq(plan.size, out.len);
	mime7_plan_free(&plan);
	free(out.p);
	ck_assert_int_eq(convert(field, strlen(field), 4, &out, &plan, &why),
	    -1);
	ck_assert_ptr_nonnull(strstr(why, "header"));
}
END_TEST

static int
file_of(const char *text, size_t len)
{
	FILE *f = tmpfile();
	int fd;

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fflush(f), 0);
	fd = dup(fileno(f));
	fclose(f);
	return fd;
}

START_TEST(prescan_decides)
{
	const char *ascii = "Subject: a\r\n\r\nplain\r\n";
	const char *bin7 = "Content-Transfer-Encoding: binary\r\n\r\nx\r\n";
	const char *hdr8 = "Subject: \xe9\r\n\r\nx\r\n";
	struct mime7_plan plan;
	char err[128];
	int fd;

	fd = file_of(ascii, strlen(ascii));
	ck_assert_int_eq(mime7_prescan(fd, strlen(ascii), &plan, err,
	    sizeof(err)), MIME7_SCAN_7BIT);
	close(fd);
	/* Unconvertible, but 7-bit all the same: it goes as it is. */
	fd = file_of(bin7, strlen(bin7));
	ck_assert_int_eq(mime7_prescan(fd, strlen(bin7), &plan, err,
	    sizeof(err)), MIME7_SCAN_7BIT);
	close(fd);
	fd = file_of(hdr8, strlen(hdr8));
	ck_assert_int_eq(mime7_prescan(fd, strlen(hdr8), &plan, err,
	    sizeof(err)), MIME7_SCAN_FAIL);
	ck_assert_ptr_nonnull(strstr(err, "header"));
	close(fd);
	fd = file_of(multipart, sizeof(multipart) - 1);
	ck_assert_int_eq(mime7_prescan(fd, sizeof(multipart) - 1, &plan, err,
	    sizeof(err)), MIME7_SCAN_CONVERT);
	ck_assert_uint_eq(plan.nleaves, 2);
	ck_assert_uint_gt(plan.size, sizeof(multipart) - 1);
	mime7_plan_free(&plan);
	/* A file shorter than its queued size is a read error. */
	ck_assert_int_eq(mime7_prescan(fd, sizeof(multipart) + 10, &plan, err,
	    sizeof(err)), MIME7_SCAN_READ);
	close(fd);
}
END_TEST

static Suite *
mime7_suite(void)
{
	Suite *s = suite_create("deliverd_mime7");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, plain_text_becomes_quoted_printable);
	tcase_add_test(tc, message_without_mime_gets_labels);
	tcase_add_test(tc, multipart_converts_only_the_8bit_part);
	tcase_add_test(tc, nested_multipart_and_message);
	tcase_add_test(tc, eight_bit_header_is_refused);
	tcase_add_test(tc, binary_is_refused);
	tcase_add_test(tc, header_over_the_bound_is_refused);
	tcase_add_test(tc, nested_message_without_header);
	tcase_add_test(tc, nesting_is_bounded);
	tcase_add_test(tc, one_byte_chunks_give_the_same_output);
	tcase_add_test(tc, qp_lines_are_short_and_decode_back);
	tcase_add_test(tc, prescan_decides);
	tcase_add_test(tc, soft_break_never_starts_a_boundary);
	tcase_add_test(tc, header_without_blank_line_stays_apart);
	tcase_add_test(tc, nested_message_gets_mime_version);
	tcase_add_test(tc, last_header_line_without_line_end);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(mime7_suite);
