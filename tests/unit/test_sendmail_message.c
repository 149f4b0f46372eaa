/* SPDX-License-Identifier: ISC */
/* The message of empath-sendmail (sendmail/message.c): reading it with
 * and without -i, the header fields added only when missing (RFC 6409
 * section 8), Bcc: removed, the recipients of -t, and the DATA form
 * (RFC 5321 4.5.2: CRLF, dot-stuffing). */
#include <check.h>
#include <limits.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "sendmail.h"
#include "util.h"

static char err[256];

/* Read text as standard input would give it. */
static int
read_text(const char *text, bool ignore_dots, size_t max, struct sm_msg *m)
{
	int fd = fx_memfile(text, strlen(text)), rc;

	lseek(fd, 0, SEEK_SET);
	rc = sm_read_message(fd, ignore_dots, max, m, err, sizeof(err));
	close(fd);
	return rc;
}

static char *
read_str(const char *text, bool ignore_dots)
{
	struct sm_msg m = { NULL, 0, 0 };
	char *s;

	ck_assert_int_eq(read_text(text, ignore_dots, 1 << 20, &m), 0);
	s = strndup(m.buf != NULL ? m.buf : "", m.len);
	sm_msg_free(&m);
	return s;
}

/* What is read of input, with or without -i. */
struct read_case {
	const char *in;
	bool ignore_dots;
	const char *want;
};

static void
reads_as(const struct read_case *t, size_t n)
{
	size_t i;
	char *s;

	for (i = 0; i < n; i++) {
		s = read_str(t[i].in, t[i].ignore_dots);
		ck_assert_msg(strcmp(s, t[i].want) == 0, "case %zu: \"%s\"",
		    i, s);
		free(s);
	}
}

START_TEST(lone_dot_ends_input)
{
	static const struct read_case t[] = {
		{ "a\n.\nb\n", false, "a\n" },
		{ "a\r\n.\r\nb\r\n", false, "a\r\n" },
		/* A dot at the very end without its line end ends it too. */
		{ "a\n.", false, "a\n" },
		{ ".\n", false, "" },
		/* Only a dot alone: leading dots and ".." are text. */
		{ ".a\n..\n . \nb\n", false, ".a\n..\n . \nb\n" },
	};

	reads_as(t, nitems(t));
}
END_TEST

START_TEST(ignore_dots)
{
	static const struct read_case t[] = {
		{ "a\n.\nb\n", true, "a\n.\nb\n" },
		{ "a\n.", true, "a\n." },
	};

	reads_as(t, nitems(t));
}
END_TEST

START_TEST(size_bound)
{
	struct sm_msg m = { NULL, 0, 0 };
	char *big = malloc(200001);

	memset(big, 'x', 200000);
	big[200000] = '\0';
	ck_assert_int_eq(read_text(big, true, 200000, &m), 0);
	ck_assert_uint_eq(m.len, 200000);
	ck_assert_int_eq(read_text(big, true, 199999, &m), EX_DATAERR);
	ck_assert_ptr_nonnull(strstr(err, "too large"));
	/* What follows the end dot does not count. */
	memcpy(big + 10, "\n.\n", 3);
	ck_assert_int_eq(read_text(big, false, 100, &m), 0);
	ck_assert_uint_eq(m.len, 11);
	sm_msg_free(&m);
	free(big);
}
END_TEST

/* sm_prepare of text; the result as a string, the -t recipients joined
 * by '|' in rcpts. */
static char rcpts_seen[1024];
static char *
prep(const char *text, bool extract, const char *fullname, int *rcp)
{
	struct sm_msg in = { (char *)text, strlen(text), 0 };
	struct sm_msg out = { NULL, 0, 0 };
	struct sm_addrs a = { NULL, 0 };
	struct sm_prep p = {
		.hostname = "host.example",
		.from_addr = "joe@host.example",
		.fullname = fullname,
		.now = 86400,
		.extract = extract,
	};
	char *s;
	int rc = sm_prepare(&in, &p, &out, &a, err, sizeof(err));

	if (rcp != NULL)
		*rcp = rc;
	else
		ck_assert_msg(rc == 0, "sm_prepare: %s", err);
	fx_join(rcpts_seen, sizeof(rcpts_seen), a.v, a.n);
	sm_addrs_free(&a);
	s = strndup(out.buf != NULL ? out.buf : "", out.len);
	sm_msg_free(&out);
	return s;
}

static int
count(const char *s, const char *re)
{
	regex_t r;
	regmatch_t m;
	int n = 0;

	ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_ICASE | REG_NEWLINE), 0);
	while (regexec(&r, s, 1, &m, 0) == 0) {
		n++;
		s += m.rm_eo > 0 ? m.rm_eo : 1;
	}
	regfree(&r);
	return n;
}

/* prep() of text, without -t, matches the extended regular expression
 * re. */
static void
prep_matches(const char *text, const char *fullname, const char *re)
{
	char *s = prep(text, false, fullname, NULL);

	fx_assert_matches(s, re);
	free(s);
}

/* The From: field added for the full name is the line re. */
static void
from_is(const char *fullname, const char *re)
{
	char *s = prep("\n", false, fullname, NULL);

	ck_assert_msg(count(s, re) == 1, "for %s: %s", fullname, s);
	free(s);
}

START_TEST(fields_added_when_missing)
{
	char *s = prep("Subject: x\n\nbody\n", false, NULL, NULL);

	/* At the end of the header, in the line ends of the message. */
	fx_assert_matches(s, "^Subject: x\n"
	    "From: joe@host\\.example\n"
	    "Date: Fri, 02 Jan 1970 00:00:00 \\+0000\n"
	    "Message-ID: <[0-9A-Z]{26}@host\\.example>\n"
	    "\nbody\n$");
	free(s);
}
END_TEST

START_TEST(fields_kept_when_present)
{
	const char *text = "from: Me <me@x.org>\r\nDATE: Mon, 1 Jan 2024 "
	    "00:00:00 +0000\r\nmessage-id: <a@b>\r\nSubject: s\r\n\r\nbody\r\n";
	char *s = prep(text, false, "Someone Else", NULL);

	/* Names matched without case: nothing added, nothing changed. */
	ck_assert_str_eq(s, text);
	free(s);
}
END_TEST

START_TEST(added_field_forms)
{
	char *s;

	s = prep("Subject: x\r\n\r\nbody\r\n", false, "Joe Bloggs", NULL);
	ck_assert_int_eq(count(s, "^From: Joe Bloggs <joe@host\\.example>\r$"), 1);
	fx_assert_matches(s, "\r\nMessage-ID: <[0-9A-HJKMNP-TV-Z]{26}"
	    "@host\\.example>\r\n\r\nbody\r\n$");
	fx_check_mail_lines(s, true);
	free(s);
	/* Specials: a quoted string; UTF-8: encoded words (RFC 2047). */
	from_is("Bloggs, \"Joe\"", "^From: \"Bloggs, \\\\\"Joe\\\\\"\" "
	    "<joe@host\\.example>$");
	from_is("J\xc3\xb6rg", "^From: =\\?UTF-8\\?B\\?SsO2cmc=\\?= "
	    "<joe@host\\.example>$");
	/* A name with a control character is left out. */
	from_is("a\x01" "b", "^From: joe@host\\.example$");
}
END_TEST

START_TEST(long_utf8_name_split)
{
	char name[200] = "";
	char *s, *from, *eol, *w;
	int words = 0;

	while (strlen(name) < 150)
		strlcat(name, "\xc3\xa9t\xc3\xa9 ", sizeof(name));
	s = prep("\n", false, name, NULL);
	from = strstr(s, "From: ");
	ck_assert_ptr_nonnull(from);
	eol = strchr(from, '\n');
	*eol = '\0';
	for (w = strstr(from, "=?UTF-8?B?"); w != NULL;
	    w = strstr(w + 1, "=?UTF-8?B?")) {
		char *end = strstr(w, "?=");

		ck_assert_ptr_nonnull(end);
		ck_assert_int_le(end + 2 - w, 75);
		words++;
	}
	ck_assert_int_ge(words, 3);
	free(s);
}
END_TEST

START_TEST(header_without_separator)
{
	/* A line that is no field starts the body: it gets its empty line. */
	prep_matches("Subject: x\nthis is the body\n", NULL,
	    "^Subject: x\nFrom: .*\nDate: .*\nMessage-ID: "
	    "<.*>\n\nthis is the body\n$");
	/* No header at all. */
	prep_matches("hello\n", NULL, "^From: joe@host\\.example\nDate: [^\n]*\n"
	    "Message-ID: <[^\n]*>\n\nhello\n$");
	/* No line end on the last line: one is added. */
	prep_matches("Subject: x\n\nno end", NULL, "\n\nno end\n$");
	prep_matches("Subject: last", NULL, "^Subject: last\nFrom: ");
	/* An mbox "From " line is dropped. */
	prep_matches("From joe Mon Jan  1 00:00:00 2024\nSubject: x\n\nb\n",
	    NULL, "^Subject: x\n");
	/* Empty input: the added fields alone. */
	prep_matches("", NULL,
	    "^From: [^\n]*\nDate: [^\n]*\nMessage-ID: [^\n]*\n$");
}
END_TEST

/* A first line that starts with white space continues no field: it is
 * body, after the added fields and an empty line, so that it can never
 * continue the Received: field smtpd or queued puts on top. */
START_TEST(leading_white_space_is_body)
{
	static const char *const in[] = {
		" indented\nSubject: not a field here\n",
		"\tTab\r\n",
		"From joe Mon Jan  1 00:00:00 2024\n continued?\n",
	};
	size_t i;

	for (i = 0; i < nitems(in); i++)
		prep_matches(in[i], NULL, "^From: joe@host\\.example\r?\n"
		    "Date: [^\n]*\nMessage-ID: <[^\n]*>\r?\n\r?\n[ \t]");
}
END_TEST

static int
check(const char *text, size_t max, unsigned hops, size_t *size)
{
	return sm_check_message(text, strlen(text), max, hops, size, err,
	    sizeof(err));
}

/* A line of n octets of 'x', then eol. */
static char *
line_of(size_t n, const char *eol)
{
	char *s = malloc(n + strlen(eol) + 1);

	memset(s, 'x', n);
	strcpy(s + n, eol);
	return s;
}

/* sm_check_message() of a line of n octets, then eol: want; err is
 * left for the caller. */
static void
line_checks(size_t n, const char *eol, int want)
{
	char *l = line_of(n, eol);

	ck_assert_msg(check(l, SIZE_MAX, UINT_MAX, NULL) == want,
	    "%zu octets: not %d (%s)", n, want, err);
	free(l);
}

/* What smtpd and queued refuse (RFC 5322 2.1.1), refused before the
 * message is submitted or dropped. */
START_TEST(check_lines_and_nul)
{
	const char nul[] = "Subject: x\n\nab\0c\n";
	size_t size;

	ck_assert_int_eq(check("Subject: x\n\nbody\n", SIZE_MAX, UINT_MAX,
	    &size), 0);
	ck_assert_int_eq(sm_check_message(nul, sizeof(nul) - 1, SIZE_MAX,
	    UINT_MAX, NULL, err, sizeof(err)), EX_DATAERR);
	ck_assert_ptr_nonnull(strstr(err, "line 3"));
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
	/* 998 octets are the most a line may have, its end apart. */
	line_checks(998, "\r\n", 0);
	line_checks(998, "", 0);
	line_checks(999, "\n", EX_DATAERR);
	ck_assert_ptr_nonnull(strstr(err, "line 1 is 999 octets"));
	ck_assert_ptr_nonnull(strstr(err, "998"));
	line_checks(999, "\r\n", EX_DATAERR);
	/* A CR not before LF is no line end. */
	line_checks(998, "\r", EX_DATAERR);
}
END_TEST

/* The size is counted as it will be: every line end CRLF. */
START_TEST(check_size_after_crlf)
{
	char text[3001];
	size_t size = 0, i;

	for (i = 0; i < 1000; i++)
		memcpy(text + 2 * i, "x\n", 2);
	text[2000] = '\0';
	ck_assert_int_eq(check(text, 3000, UINT_MAX, &size), 0);
	ck_assert_uint_eq(size, 3000);
	ck_assert_int_eq(check(text, 2999, UINT_MAX, NULL), EX_DATAERR);
	ck_assert_ptr_nonnull(strstr(err, "too large"));
	ck_assert_ptr_nonnull(strstr(err, "3000"));
	/* CRLF already: no growth; a last line without its end gets one. */
	ck_assert_int_eq(check("a\r\nb", 6, UINT_MAX, &size), 0);
	ck_assert_uint_eq(size, 6);
	ck_assert_int_eq(check("a\r\nb", 5, UINT_MAX, NULL), EX_DATAERR);
}
END_TEST

/* More Received: fields than max-hops: smtpd and queued refuse a loop. */
START_TEST(check_hops)
{
	const char *m = "Received: a\nreceived : b\n\tcontinued\n"
	    "X-Received: no\nSubject: x\n\nReceived: in the body\n";

	ck_assert_int_eq(check(m, SIZE_MAX, 2, NULL), 0);
	ck_assert_int_eq(check(m, SIZE_MAX, 1, NULL), EX_DATAERR);
	ck_assert_ptr_nonnull(strstr(err, "Received"));
}
END_TEST

START_TEST(bcc_removed)
{
	char *s;

	s = prep("To: a@x.org\nBcc: secret@x.org,\n  other@x.org\nSubject: s\n"
	    "resent-bcc: r@x.org\nCc: c@x.org\n\nBcc: in the body stays\n",
	    false, NULL, NULL);
	ck_assert_ptr_null(strstr(s, "secret"));
	ck_assert_ptr_null(strstr(s, "other@"));
	ck_assert_ptr_null(strstr(s, "r@x.org"));
	fx_assert_matches(s, "^To: a@x\\.org\nSubject: s\nCc: c@x\\.org\nFrom: ");
	fx_assert_matches(s, "\n\nBcc: in the body stays\n$");
	/* Without -t, no recipients are taken from the header. */
	ck_assert_str_eq(rcpts_seen, "");
	free(s);
}
END_TEST

START_TEST(extract_recipients)
{
	char *s;
	int rc;

	s = prep("TO: Joe <joe@x.org>,\r\n\tGroup: a@y.org, \"b c\"@y.org;\r\n"
	    "Subject: To: not@this.org\r\ncc: ann (Ann)\r\nBCC: hidden@z.org\r\n"
	    "X-To: no@x.org\r\nResent-To: no2@x.org\r\n\r\nTo: body@x.org\r\n",
	    true, NULL, NULL);
	ck_assert_str_eq(rcpts_seen,
	    "joe@x.org|a@y.org|\"b c\"@y.org|ann|hidden@z.org");
	ck_assert_ptr_null(strstr(s, "hidden"));
	free(s);
	/* Empty and group-only fields give nothing. */
	s = prep("To: undisclosed-recipients:;\nCc:\n\nb\n", true, NULL, NULL);
	ck_assert_str_eq(rcpts_seen, "");
	free(s);
	/* A malformed list is bad data. */
	s = prep("To: <joe@x.org\n\nb\n", true, NULL, &rc);
	ck_assert_int_eq(rc, EX_DATAERR);
	ck_assert_ptr_nonnull(strstr(err, "To:"));
	free(s);
}
END_TEST

static char *
stuffed(const char *text)
{
	struct sm_msg out = { NULL, 0, 0 };
	char *s;

	sm_dot_stuff(text, strlen(text), &out);
	s = strndup(out.buf, out.len);
	sm_msg_free(&out);
	return s;
}

START_TEST(data_form)
{
	static const struct { const char *in, *want; } t[] = {
		{ "a\nb\r\n", "a\r\nb\r\n.\r\n" },
		{ ".\n..x\n.y\r\nz.\n", "..\r\n...x\r\n..y\r\nz.\r\n.\r\n" },
		{ "no end", "no end\r\n.\r\n" },
		{ "", ".\r\n" },
		/* A lone CR is no line end. */
		{ "a\rb\n\n", "a\rb\r\n\r\n.\r\n" },
	};
	size_t i;
	char *s;

	for (i = 0; i < nitems(t); i++) {
		s = stuffed(t[i].in);
		ck_assert_msg(strcmp(s, t[i].want) == 0, "case %zu: \"%s\"",
		    i, s);
		free(s);
	}
	ck_assert(sm_has_8bit("a\x80", 2));
	ck_assert(!sm_has_8bit("plain\n", 6));
}
END_TEST

START_TEST(gecos_names)
{
	/* No name: none given, or (not printable ASCII, too long) rather
	 * than a wrong one. */
	static const struct {
		const char *gecos, *login;
		size_t outlen;
	} none[] = {
		{ "", "joe", 64 }, { ",,,", "joe", 64 }, { NULL, "joe", 64 },
		{ "J\xc3\xb6rg", "j", 64 }, { "a\nFrom: x", "j", 64 },
		{ "0123456789", "j", 10 },
	};
	char out[64];
	size_t i;

	ck_assert(sm_gecos_name("Joe Bloggs,Room 1,555,,", "joe", out,
	    sizeof(out)));
	ck_assert_str_eq(out, "Joe Bloggs");
	ck_assert(sm_gecos_name("& Smith", "ann", out, sizeof(out)));
	ck_assert_str_eq(out, "Ann Smith");
	for (i = 0; i < nitems(none); i++)
		ck_assert_msg(!sm_gecos_name(none[i].gecos, none[i].login, out,
		    none[i].outlen), "case %zu: %s", i, out);
	ck_assert(sm_gecos_name("012345678", "j", out, 10));
}
END_TEST

static Suite *
message_suite(void)
{
	Suite *s = suite_create("sendmail_message");
	TCase *tc = tcase_create("message");

	tcase_add_test(tc, lone_dot_ends_input);
	tcase_add_test(tc, ignore_dots);
	tcase_add_test(tc, size_bound);
	tcase_add_test(tc, fields_added_when_missing);
	tcase_add_test(tc, fields_kept_when_present);
	tcase_add_test(tc, added_field_forms);
	tcase_add_test(tc, long_utf8_name_split);
	tcase_add_test(tc, header_without_separator);
	tcase_add_test(tc, leading_white_space_is_body);
	tcase_add_test(tc, check_lines_and_nul);
	tcase_add_test(tc, check_size_after_crlf);
	tcase_add_test(tc, check_hops);
	tcase_add_test(tc, bcc_removed);
	tcase_add_test(tc, extract_recipients);
	tcase_add_test(tc, data_form);
	tcase_add_test(tc, gecos_names);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(message_suite);
