/* SPDX-License-Identifier: ISC */
/* empathctl's rendering of ctld's answers: hostile message headers in a
 * `queue view` answer (longer than any buffer, without line ends, with
 * control bytes and invalid UTF-8) are cleaned and cut, never written
 * past a buffer (the sanitizer build checks that), UTF-8 is kept, and `system status`
 * fails while a daemon is down. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "../../empathctl/empathctl.h"
#include "proto.h"
#include "textesc.h"
#include "utf8.h"

static struct ctl_reply reply;          /* 1 MiB: off the stack */
static char out[Q_VIEW_HEADERS + 2];

static void
to_reply(uint16_t type, const struct msgbuf *mb)
{
	ck_assert(!mb->err);
	reply.type = type;
	reply.len = mb->len;
	memcpy(reply.data, mb->data, mb->len);
}

/* A CTL_QUEUE_VIEW_REPLY with one recipient and these headers. */
static void
view_reply(const char *headers)
{
	struct msgbuf mb;

	mb_init(&mb);
	mb_str(&mb, "01M89DV6F670SNP663J89C66K3");
	mb_str(&mb, "sender@example.org");
	mb_str(&mb, "client.test");
	mb_str(&mb, "127.0.0.1");
	mb_str(&mb, "");
	mb_str(&mb, "7BIT");
	mb_str(&mb, "");
	mb_u32(&mb, 0);
	mb_u32(&mb, 0);
	mb_u64(&mb, 100);
	mb_u64(&mb, 1700000000);
	mb_u32(&mb, 1);
	mb_u64(&mb, 1);
	mb_str(&mb, "rcpt@example.org");
	mb_str(&mb, "");
	mb_u32(&mb, 0);
	mb_u32(&mb, RCPT_QUEUED);
	mb_u32(&mb, 0);
	mb_u64(&mb, 0);
	mb_u64(&mb, 0);
	mb_str(&mb, "");
	mb_str(&mb, "");
	mb_u32(&mb, 0);
	mb_str(&mb, headers);
	mb_u32(&mb, 0);
	to_reply(CTL_QUEUE_VIEW_REPLY, &mb);
	mb_free(&mb);
}

static const char *json_arg;

static int
view_fn(bool json)
{
	return print_queue_view(&reply, json);
}

static int
json_str_fn(bool json)
{
	(void)json;
	out_json_str(json_arg);
	return 0;
}

/* What fn writes to stdout, caught in a file; returned (malloc). */
static char *
render(int (*fn)(bool), bool json, int *rv)
{
	FILE *f = tmpfile();
	char *text;
	long n;
	int saved = dup(1);

	ck_assert_ptr_nonnull(f);
	fflush(stdout);
	ck_assert_int_ne(dup2(fileno(f), 1), -1);
	*rv = fn(json);
	fflush(stdout);
	ck_assert_int_ne(dup2(saved, 1), -1);
	close(saved);
	n = lseek(fileno(f), 0, SEEK_END);
	ck_assert_int_ge(n, 0);
	text = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(pread(fileno(f), text, (size_t)n, 0), n);
	fclose(f);
	return text;
}

/* Render the view both ways into a file; its text is returned (malloc). */
static char *
render_view(bool json, int *rv)
{
	return render(view_fn, json, rv);
}

/* Only LF, printable ASCII and well-formed UTF-8 other than C1
 * controls may reach the terminal. */
static void
assert_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), k;
	uint32_t cp;

	while (*p != '\0') {
		if (*p == '\n' || (*p >= 0x20 && *p < 0x7f)) {
			p++;
			continue;
		}
		k = utf8_decode(p, n - (size_t)(p - (const unsigned char *)s), &cp);
		ck_assert_msg(k > 0 && cp >= 0xa0, "byte 0x%02x printed", *p);
		p += k;
	}
}

START_TEST(clean_lines_keeps_lines_and_cleans_bytes)
{
	char buf[64];

	ck_assert(out_clean_lines(buf, sizeof(buf), "A: b\r\nC: \x1b[2J\xff\xc3\x28\r\n"));
	ck_assert_str_eq(buf, "A: b\nC: \\x1b[2J\\xff\\xc3" "(\n");
	ck_assert(out_clean_lines(buf, sizeof(buf), "no end"));
	ck_assert_str_eq(buf, "no end\n");
	ck_assert(out_clean_lines(buf, sizeof(buf), "bare\rcr\t"));
	ck_assert_str_eq(buf, "bare\\x0dcr\\x09\n");
	ck_assert(out_clean_lines(buf, sizeof(buf), ""));
	ck_assert_str_eq(buf, "");
	ck_assert(out_clean_lines(buf, sizeof(buf),
	    "From: j\xc3\xb6rg@b\xc3\xbc" "cher.test\r\n\r\n"));
	ck_assert_str_eq(buf, "From: j\xc3\xb6rg@b\xc3\xbc" "cher.test\n\n");
}
END_TEST

START_TEST(clean_keeps_utf8_and_escapes_controls)
{
	char buf[32];
	size_t len;

	out_clean(buf, sizeof(buf), "j\xc3\xb6rg@b\xc3\xbc" "cher.test");
	ck_assert_str_eq(buf, "j\xc3\xb6rg@b\xc3\xbc" "cher.test");
	out_clean(buf, sizeof(buf), "\x1b[31mred\xff\xc2\x9b");
	ck_assert_str_eq(buf, "\\x1b[31mred\\xff\\xc2\\x9b");
	/* Cut at every size: NUL-terminated inside, whole characters and
	 * escapes only ("\xc3\xb6" is 2 octets, "\x01" becomes 4). */
	for (len = 0; len <= 12; len++) {
		static const char *const fits[] = { "", "", "", "\xc3\xb6",
		    "\xc3\xb6", "\xc3\xb6", "\xc3\xb6", "\xc3\xb6\\x01",
		    "\xc3\xb6\\x01", "\xc3\xb6\\x01\xc3\xb6",
		    "\xc3\xb6\\x01\xc3\xb6", "\xc3\xb6\\x01\xc3\xb6",
		    "\xc3\xb6\\x01\xc3\xb6" };

		memset(buf, '#', sizeof(buf));
		out_clean(buf, len, "\xc3\xb6\x01\xc3\xb6");
		if (len == 0)
			ck_assert_int_eq(buf[0], '#');
		else
			ck_assert_str_eq(buf, fits[len]);
		ck_assert_int_eq(buf[len], '#');
	}
}
END_TEST

START_TEST(clean_lines_cuts_at_every_size)
{
	char src[40], buf[48];
	size_t len, i;

	memset(src, 'x', sizeof(src) - 1);
	src[sizeof(src) - 1] = '\0';
	src[10] = '\n';
	for (len = 0; len <= sizeof(buf); len++) {
		memset(buf, '#', sizeof(buf));
		bool fit = out_clean_lines(buf, len, src);

		/* Fits only with room for the text, its last LF and the NUL. */
		ck_assert_int_eq(fit, len >= strlen(src) + 2);
		if (len > 0)
			ck_assert_uint_lt(strlen(buf), len);
		for (i = len; i < sizeof(buf); i++)
			ck_assert_int_eq(buf[i], '#');
	}
}
END_TEST

START_TEST(clean_lines_of_a_huge_line_stays_in_bounds)
{
	size_t n = 3 * sizeof(out);
	char *big = malloc(n + 1);

	memset(big, 'h', n);
	big[n] = '\0';
	ck_assert(!out_clean_lines(out, sizeof(out), big));
	ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
	free(big);
}
END_TEST

/* Headers as large as an answer can carry: more than queued ever sends
 * (Q_VIEW_HEADERS), so the answer is malformed and nothing is shown. */
START_TEST(view_of_one_megabyte_line_is_refused)
{
	size_t n = CHAN_MAX_PAYLOAD - 4096;
	char *h = malloc(n + 1), *text;
	int rv, json;

	memset(h, 'A', n);
	h[n] = '\0';
	view_reply(h);
	free(h);
	for (json = 0; json <= 1; json++) {
		text = render_view(json, &rv);
		ck_assert_int_eq(rv, EXIT_FAIL);
		ck_assert_ptr_null(strstr(text, "AAAA"));
		free(text);
	}
}
END_TEST

/* The most headers queued sends, each octet escaped into four: cut to
 * the buffer, and said to be. */
START_TEST(view_of_escaped_headers_is_cut)
{
	size_t n = Q_VIEW_HEADERS;
	char *h = malloc(n + 1), *text;
	int rv, json;

	memset(h, '\x01', n);
	h[n] = '\0';
	view_reply(h);
	free(h);
	for (json = 0; json <= 1; json++) {
		text = render_view(json, &rv);
		ck_assert_int_eq(rv, EXIT_OK);
		ck_assert_ptr_nonnull(strstr(text, json ? "\"headers_truncated\":true" :
		    "headers: (truncated)"));
		/* At most the buffer, once more escaped for JSON. */
		ck_assert_uint_lt(strlen(text), 2 * Q_VIEW_HEADERS);
		free(text);
	}
}
END_TEST

/* A line a little longer than the headers shown, ending in CR LF: the
 * cut falls just past the buffer, where a sanitizer would see a stray
 * read or write. */
START_TEST(view_of_a_line_just_too_long_is_cut)
{
	size_t n = Q_VIEW_HEADERS - 3, i;
	char *h = malloc(n + 4), *text;
	int rv;

	/* As many octets as queued sends; the one escape (four octets)
	 * pushes the line past the buffer. */
	for (i = 0; i < n; i++)
		h[i] = 'B';
	memcpy(h + n, "\x01\r\n", 4);
	view_reply(h);
	free(h);
	text = render_view(false, &rv);
	ck_assert_int_eq(rv, EXIT_OK);
	ck_assert_ptr_nonnull(strstr(text, "headers: (truncated)"));
	free(text);
}
END_TEST

/* Many short lines, control bytes, invalid UTF-8, lone CRs, an ESC. */
START_TEST(view_of_hostile_bytes_prints_only_clean_text)
{
	size_t n = Q_VIEW_HEADERS, i;
	char *h = malloc(n + 1), *text;
	int rv;

	for (i = 0; i < n; i++) {
		static const char pat[] = "X\n\r\x1b\xff\xfe\xc0\x80\x7f\x01\t\n\n";

		h[i] = pat[i % (sizeof(pat) - 1)];
	}
	h[n] = '\0';
	view_reply(h);
	free(h);
	text = render_view(false, &rv);
	ck_assert_int_eq(rv, EXIT_OK);
	assert_printable(text);
	ck_assert_ptr_nonnull(strstr(text, "headers: (truncated)"));
	free(text);
	text = render_view(true, &rv);
	ck_assert_int_eq(rv, EXIT_OK);
	assert_printable(text);
	free(text);
}
END_TEST

/* JSON text is UTF-8 (RFC 8259 section 8.1): an octet that does not
 * decode becomes U+FFFD, a control \u00XX, a quote is escaped. */
START_TEST(json_str_of_invalid_utf8_is_valid_json)
{
	static char big[2001];
	char *text;
	size_t i;
	int rv;

	json_arg = "a\xff\xc3\"b\x01\xc3\xbc@example.org";
	text = render(json_str_fn, true, &rv);
	ck_assert_str_eq(text,
	    "\"a\\ufffd\\ufffd\\\"b\\u0001\xc3\xbc@example.org\"");
	free(text);
	/* Longer than the escaper's buffer: written whole, in pieces. */
	memset(big, 0x01, sizeof(big) - 1);
	json_arg = big;
	text = render(json_str_fn, true, &rv);
	ck_assert_uint_eq(strlen(text), 2 + 6 * (sizeof(big) - 1));
	for (i = 0; i < sizeof(big) - 1; i++)
		ck_assert_int_eq(memcmp(text + 1 + 6 * i, "\\u0001", 6), 0);
	free(text);
}
END_TEST

START_TEST(view_of_ordinary_headers_is_whole)
{
	char *text;
	int rv;

	view_reply("Subject: hi\r\nFrom: <a@b>\r\n");
	text = render_view(false, &rv);
	ck_assert_int_eq(rv, EXIT_OK);
	ck_assert_ptr_nonnull(strstr(text, "headers:\nSubject: hi\nFrom: <a@b>\n"));
	free(text);
}
END_TEST

START_TEST(view_of_utf8_headers_keeps_them)
{
	char *text;
	int rv;

	view_reply("Subject: gr\xc3\xbc\xc3\x9f \x1b[2J\r\nTo: <j\xc3\xb6rg@b\xc3\xbc"
	    "cher.test>\r\n");
	text = render_view(false, &rv);
	ck_assert_int_eq(rv, EXIT_OK);
	assert_printable(text);
	ck_assert_ptr_nonnull(strstr(text, "Subject: gr\xc3\xbc\xc3\x9f \\x1b[2J\n"
	    "To: <j\xc3\xb6rg@b\xc3\xbc" "cher.test>\n"));
	free(text);
	text = render_view(true, &rv);
	ck_assert_int_eq(rv, EXIT_OK);
	assert_printable(text);
	ck_assert_ptr_nonnull(strstr(text, "Subject: gr\xc3\xbc\xc3\x9f \\\\x1b[2J"
	    "\\u000aTo: <j\xc3\xb6rg@b\xc3\xbc" "cher.test>\\u000a"));
	free(text);
}
END_TEST

static void
status_reply(uint32_t deliverd_running)
{
	struct msgbuf mb;

	mb_init(&mb);
	mb_str(&mb, "0.1.0");
	mb_u64(&mb, 10);
	mb_u64(&mb, 0);
	mb_u64(&mb, 0);
	mb_u32(&mb, 2);
	mb_str(&mb, "queued");
	mb_u32(&mb, 42);
	mb_u32(&mb, 1);
	mb_u32(&mb, 0);
	mb_str(&mb, "deliverd");
	mb_u32(&mb, deliverd_running ? 43 : 0);
	mb_u32(&mb, deliverd_running);
	mb_u32(&mb, 3);
	to_reply(CTL_STATUS_REPLY, &mb);
	mb_free(&mb);
}

START_TEST(status_fails_while_a_daemon_is_down)
{
	FILE *null = fopen("/dev/null", "w");
	int saved = dup(1);

	ck_assert_int_ne(dup2(fileno(null), 1), -1);
	status_reply(1);
	ck_assert_int_eq(print_status(&reply, false), EXIT_OK);
	ck_assert_int_eq(print_status(&reply, true), EXIT_OK);
	status_reply(0);
	ck_assert_int_eq(print_status(&reply, false), EXIT_FAIL);
	ck_assert_int_eq(print_status(&reply, true), EXIT_FAIL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	fclose(null);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("empathctl_output");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, clean_lines_keeps_lines_and_cleans_bytes);
	tcase_add_test(tc, clean_lines_cuts_at_every_size);
	tcase_add_test(tc, clean_keeps_utf8_and_escapes_controls);
	tcase_add_test(tc, view_of_utf8_headers_keeps_them);
	tcase_add_test(tc, clean_lines_of_a_huge_line_stays_in_bounds);
	tcase_add_test(tc, view_of_one_megabyte_line_is_refused);
	tcase_add_test(tc, view_of_escaped_headers_is_cut);
	tcase_add_test(tc, view_of_a_line_just_too_long_is_cut);
	tcase_add_test(tc, view_of_hostile_bytes_prints_only_clean_text);
	tcase_add_test(tc, view_of_ordinary_headers_is_whole);
	tcase_add_test(tc, json_str_of_invalid_utf8_is_valid_json);
	tcase_add_test(tc, status_fails_while_a_daemon_is_down);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
