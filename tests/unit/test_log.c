/* SPDX-License-Identifier: ISC */
/* lib/log.c: line formats (text and JSON), levels, bounds, errno. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "log.h"
#include "textesc.h"
#include "util.h"

START_TEST(text_format)
{
	char re[256];

	log_init("smtpd", 1, 0);
	fx_stderr_capture();
	log_info("hello %d", 42);
	snprintf(re, sizeof(re), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}\\.[0-9]{3}Z smtpd\\[%ld\\]: info: hello 42\n$",
	    (long)getpid());
	fx_assert_matches(fx_stderr_captured(), re);
}
END_TEST

START_TEST(levels_and_errno)
{
	const char *s;

	log_init("queued", 1, 0);
	fx_stderr_capture();
	log_debug("hidden debug");
	errno = ENOENT;
	log_warn("open %s", "x");
	ck_assert_int_eq(errno, ENOENT);
	log_warnx("plain");
	ck_assert_int_eq(errno, ENOENT);
	log_configure(LOGT_STDERR, LOGF_TEXT, LOGL_WARN);
	log_info("hidden info");
	ck_assert(!log_level_enabled(LOGL_INFO));
	ck_assert(log_level_enabled(LOGL_WARN));
	s = fx_stderr_captured();
	ck_assert_ptr_null(strstr(s, "hidden"));
	fx_assert_matches(s, ": warn: open x: No such file or directory\n");
	fx_assert_matches(s, ": warn: plain\n$");

	/* -v shows debug whatever the configuration says. */
	log_init("queued", 1, 1);
	log_configure(LOGT_STDERR, LOGF_TEXT, LOGL_INFO);
	fx_stderr_capture();
	log_debug("shown %s", "debug");
	fx_assert_matches(fx_stderr_captured(), ": debug: shown debug\n$");
}
END_TEST

START_TEST(json_format)
{
	char re[256];
	const char *s;

	log_init("deliverd", 1, 0);
	log_configure(LOGT_SYSLOG, LOGF_JSON, LOGL_INFO);  /* -d keeps stderr */
	fx_stderr_capture();
	log_warnx("say \"hi\" \\ \x01\t\n caf\xc3\xa9 bad\xff end");
	s = fx_stderr_captured();
	snprintf(re, sizeof(re), "^\\{\"ts\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T"
	    "[0-9:]{8}\\.[0-9]{3}Z\",\"proc\":\"deliverd\",\"pid\":%ld,"
	    "\"level\":\"warn\",\"msg\":\"", (long)getpid());
	fx_assert_matches(s, re);
	ck_assert_ptr_nonnull(strstr(s, "\"msg\":\"say \\\"hi\\\" \\\\ "
	    "\\u0001\\u0009\\u000a caf\xc3\xa9 bad\\ufffd end\"}\n"));
	ck_assert_ptr_eq(strchr(s, '\n'), s + strlen(s) - 1);   /* one line */

	/* A C1 control is escaped too; UTF-8 stays raw. */
	fx_stderr_capture();
	log_warnx("csi\xc2\x9b j\xc3\xb6rg@b\xc3\xbc" "cher.test");
	ck_assert_ptr_nonnull(strstr(fx_stderr_captured(), "\"msg\":\"csi\\u009b "
	    "j\xc3\xb6rg@b\xc3\xbc" "cher.test\"}\n"));
}
END_TEST

START_TEST(lines_are_bounded)
{
	char *big = xmalloc(20001);
	const char *s;
	size_t len;

	memset(big, 'a', 20000);
	big[20000] = '\0';
	log_init("smtpd", 1, 0);
	fx_stderr_capture();
	log_info("%s", big);
	s = fx_stderr_captured();
	len = strlen(s);
	ck_assert_uint_le(len, 8192 + 100);
	ck_assert_uint_gt(len, 8000);
	ck_assert_str_eq(s + len - 5, "a...\n");

	/* JSON escapes grow the line: still bounded, still one object. */
	memset(big, '\x01', 20000);
	log_configure(LOGT_STDERR, LOGF_JSON, LOGL_INFO);
	fx_stderr_capture();
	log_info("%s", big);
	s = fx_stderr_captured();
	len = strlen(s);
	ck_assert_uint_le(len, 8192 + 600);
	ck_assert_str_eq(s + len - 12, "\\u0001...\"}\n");
	free(big);
}
END_TEST

START_TEST(sanitize)
{
	char buf[8], big[64];
	size_t len;

	/* UTF-8 kept, controls and invalid octets as \xHH (textesc.h). */
	ck_assert_str_eq(log_sanitize("j\xc3\xb6rg@b\xc3\xbc" "cher.test", big,
	    sizeof(big)), "j\xc3\xb6rg@b\xc3\xbc" "cher.test");
	ck_assert_str_eq(log_sanitize("a\r\nb\x80\x7f~", big, sizeof(big)),
	    "a\\x0d\\x0ab\\x80\\x7f~");
	ck_assert_str_eq(log_sanitize("\x1b[31mred\xff", big, sizeof(big)),
	    "\\x1b[31mred\\xff");
	ck_assert_str_eq(log_sanitize("abcdefg", buf, sizeof(buf)), "abcdefg");
	ck_assert_str_eq(log_sanitize("abcdefgh", buf, sizeof(buf)), "abcd...");
	ck_assert_str_eq(log_sanitize("", buf, sizeof(buf)), "");
	ck_assert_str_eq(log_sanitize("abc", buf, 2), "a");
	ck_assert_str_eq(log_sanitize(NULL, big, sizeof(big)), "(null)");
	/* A cut lands between characters and escapes, never inside. */
	ck_assert_str_eq(log_sanitize("ab\xc3\xb6\xc3\xb6\xc3\xb6", buf, sizeof(buf)),
	    "ab\xc3\xb6...");
	ck_assert_str_eq(log_sanitize("a\x1b\x1b\x1b", buf, sizeof(buf)), "a...");
	for (len = 1; len <= sizeof(big); len++) {
		char again[64];
		const char *b;

		memset(big, '#', sizeof(big));
		log_sanitize("\xc3\xb6\x01\xe2\x82\xac\xff", big, len);
		ck_assert_uint_lt(strlen(big), len);
		/* No half character: escaping again changes nothing... */
		text_escape(again, sizeof(again), big, strlen(big));
		ck_assert_str_eq(again, big);
		/* ... and no half escape. */
		for (b = big; (b = strchr(b, '\\')) != NULL; b++)
			ck_assert_msg(b[1] == 'x' && isxdigit((unsigned char)b[2]) &&
			    isxdigit((unsigned char)b[3]), "cut escape at %zu: %s",
			    len, big);
	}
}
END_TEST

/* Text lines keep UTF-8 and escape what the caller did not. */
START_TEST(text_lines_escape_controls)
{
	const char *s;

	log_init("smtpd", 1, 0);
	fx_stderr_capture();
	log_info("rcpt j\xc3\xb6rg@b\xc3\xbc" "cher.test \x1b[31m bad\xff\r\nnext");
	s = fx_stderr_captured();
	ck_assert_ptr_nonnull(strstr(s, ": info: rcpt j\xc3\xb6rg@b\xc3\xbc"
	    "cher.test \\x1b[31m bad\\xff\\x0d\\x0anext\n"));
	ck_assert_ptr_eq(strchr(s, '\n'), s + strlen(s) - 1);   /* one line */

	/* An escaped message is not escaped again. */
	fx_stderr_capture();
	log_info("%s", "\\x1b");
	ck_assert_ptr_nonnull(strstr(fx_stderr_captured(), ": info: \\x1b\n"));
}
END_TEST

/* The exit status is what matters here; keep the line off the terminal. */
static void
quiet(void)
{
	int fd = open("/dev/null", O_WRONLY);

	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	close(fd);
}

START_TEST(fatalx_exits)
{
	quiet();
	log_init("master", 1, 0);
	fatalx("cannot %s", "go on");
}
END_TEST

START_TEST(fatal_exits)
{
	quiet();
	log_init("master", 1, 0);
	errno = EACCES;
	fatal("bind");
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, text_format);
	tcase_add_test(tc, levels_and_errno);
	tcase_add_test(tc, json_format);
	tcase_add_test(tc, lines_are_bounded);
	tcase_add_test(tc, sanitize);
	tcase_add_test(tc, text_lines_escape_controls);
	tcase_add_exit_test(tc, fatalx_exits, 1);
	tcase_add_exit_test(tc, fatal_exits, 1);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(log_suite);
