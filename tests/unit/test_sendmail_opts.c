/* SPDX-License-Identifier: ISC */
/* empath-sendmail's command line (sendmail/opts.c) as sendmail's callers
 * write it, and the exit status of each submission outcome
 * (sendmail/submit.c, sysexits.h). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "sendmail.h"

static struct sm_opts o;
static char err[256];

/* Parse a NULL-terminated argument list; returns sm_opts_parse's. */
static int
parse_v(char **args)
{
	/* o.rcpts points into argv: it must outlive the statement. */
	static char *argv[64];
	int argc = 0;

	while (args[argc] != NULL && argc < 63) {
		argv[argc] = args[argc];
		argc++;
	}
	argv[argc] = NULL;
	err[0] = '\0';
	return sm_opts_parse(argc, argv, &o, err, sizeof(err));
}
#define PARSE(...) parse_v((char *[]){ __VA_ARGS__, NULL })

START_TEST(defaults)
{
	ck_assert_int_eq(PARSE("sendmail", "joe"), 0);
	ck_assert_int_eq(o.mode, SM_DELIVER);
	ck_assert(!o.extract && !o.ignore_dots && !o.verbose);
	ck_assert_ptr_null(o.sender);
	ck_assert_ptr_null(o.fullname);
	ck_assert_ptr_null(o.config);
	ck_assert_str_eq(o.notify, "");
	ck_assert_str_eq(o.ret, "");
	ck_assert_int_eq(o.body, SM_BODY_UNSET);
	ck_assert_int_eq(o.nrcpts, 1);
	ck_assert_str_eq(o.rcpts[0], "joe");
}
END_TEST

START_TEST(flags)
{
	ck_assert_int_eq(PARSE("sendmail", "-t", "-i", "-v"), 0);
	ck_assert(o.extract && o.ignore_dots && o.verbose);
	ck_assert_int_eq(o.nrcpts, 0);
	/* Bundled, as getopt allows: PHP's "-t -i" also written "-ti". */
	ck_assert_int_eq(PARSE("sendmail", "-ti"), 0);
	ck_assert(o.extract && o.ignore_dots);
	ck_assert_int_eq(PARSE("sendmail", "-oi", "x"), 0);
	ck_assert(o.ignore_dots);
	/* "-o i": -o takes its argument from the next word too. */
	ck_assert_int_eq(PARSE("sendmail", "-o", "i", "x"), 0);
	ck_assert(o.ignore_dots);
	ck_assert_int_eq(o.nrcpts, 1);
	ck_assert_int_eq(PARSE("sendmail", "-O", "IgnoreDots=true", "x"), 0);
	ck_assert(o.ignore_dots);
}
END_TEST

START_TEST(ignored_options)
{
	/* -od*, -oe*, -om, -oX anything and -U are accepted and change
	 * nothing; "-o X" eats X, not a recipient. */
	ck_assert_int_eq(PARSE("sendmail", "-odb", "-oem", "-oee", "-om",
	    "-oQ/var/spool", "-o", "A", "-U", "joe"), 0);
	ck_assert(!o.ignore_dots && !o.extract);
	ck_assert_int_eq(o.nrcpts, 1);
	ck_assert_str_eq(o.rcpts[0], "joe");
	ck_assert_int_eq(PARSE("sendmail", "-oix", "joe"), 0);
	ck_assert(!o.ignore_dots);
}
END_TEST

START_TEST(sender_and_name)
{
	ck_assert_int_eq(PARSE("sendmail", "-f", "a@b", "-F", "Ann B", "x"), 0);
	ck_assert_str_eq(o.sender, "a@b");
	ck_assert_str_eq(o.fullname, "Ann B");
	ck_assert_int_eq(PARSE("sendmail", "-fa@b", "-FAnn", "x"), 0);
	ck_assert_str_eq(o.sender, "a@b");
	ck_assert_str_eq(o.fullname, "Ann");
	ck_assert_int_eq(PARSE("sendmail", "-f", "", "x"), 0);
	ck_assert_str_eq(o.sender, "");
	ck_assert_int_eq(PARSE("sendmail", "-f<>", "x"), 0);
	ck_assert_str_eq(o.sender, "<>");
	ck_assert_int_eq(PARSE("sendmail", "-r", "c@d", "x"), 0);
	ck_assert_str_eq(o.sender, "c@d");
	ck_assert_int_eq(PARSE("sendmail", "-C", "/tmp/e.conf", "x"), 0);
	ck_assert_str_eq(o.config, "/tmp/e.conf");
}
END_TEST

START_TEST(modes)
{
	ck_assert_int_eq(PARSE("sendmail", "-bm", "x"), 0);
	ck_assert_int_eq(o.mode, SM_DELIVER);
	ck_assert_int_eq(PARSE("sendmail", "-bp"), 0);
	ck_assert_int_eq(o.mode, SM_QUEUE_LIST);
	ck_assert_int_eq(PARSE("sendmail", "-bs"), 0);
	ck_assert_int_eq(o.mode, SM_SMTP);
	ck_assert_int_eq(PARSE("sendmail", "-bi"), 0);
	ck_assert_int_eq(o.mode, SM_NEWALIASES);
	ck_assert_int_eq(PARSE("sendmail", "-q"), 0);
	ck_assert_int_eq(o.mode, SM_QUEUE_RUN);
	ck_assert_int_eq(PARSE("sendmail", "-q30m"), 0);
	ck_assert_int_eq(o.mode, SM_QUEUE_RUN);
	/* The name of the program chooses too. */
	ck_assert_int_eq(PARSE("/usr/bin/mailq"), 0);
	ck_assert_int_eq(o.mode, SM_QUEUE_LIST);
	ck_assert_int_eq(PARSE("newaliases"), 0);
	ck_assert_int_eq(o.mode, SM_NEWALIASES);
	ck_assert_int_eq(PARSE("/usr/sbin/sendmail", "x"), 0);
	ck_assert_int_eq(o.mode, SM_DELIVER);
	ck_assert_int_eq(sm_mode_of("/usr/lib/sendmail"), SM_DELIVER);
	ck_assert_int_eq(sm_mode_of("mailqx"), SM_DELIVER);
}
END_TEST

START_TEST(dsn_and_body)
{
	ck_assert_int_eq(PARSE("sendmail", "-N", "success,Delay", "-R", "hdrs",
	    "-B", "8bitmime", "x"), 0);
	ck_assert_str_eq(o.notify, "SUCCESS,DELAY");
	ck_assert_str_eq(o.ret, "HDRS");
	ck_assert_int_eq(o.body, SM_BODY_8BITMIME);
	ck_assert_int_eq(PARSE("sendmail", "-Nnever", "-Rfull", "-B7BIT", "x"),
	    0);
	ck_assert_str_eq(o.notify, "NEVER");
	ck_assert_str_eq(o.ret, "FULL");
	ck_assert_int_eq(o.body, SM_BODY_7BIT);
	/* RFC 3461 4.1: NEVER alone, each keyword once. */
	ck_assert_int_eq(PARSE("sendmail", "-N", "never,success", "x"),
	    EX_USAGE);
	ck_assert_int_eq(PARSE("sendmail", "-N", "sometimes", "x"), EX_USAGE);
	ck_assert_int_eq(PARSE("sendmail", "-R", "all", "x"), EX_USAGE);
	ck_assert_int_eq(PARSE("sendmail", "-B", "BINARYMIME", "x"), EX_USAGE);
}
END_TEST

START_TEST(end_of_options)
{
	/* "--" ends the options; so does the first operand (a recipient
	 * that looks like an option is then refused by the address check,
	 * not taken as one). */
	ck_assert_int_eq(PARSE("sendmail", "-i", "--", "-t", "joe"), 0);
	ck_assert(!o.extract);
	ck_assert_int_eq(o.nrcpts, 2);
	ck_assert_str_eq(o.rcpts[0], "-t");
	ck_assert_int_eq(PARSE("sendmail", "joe", "-t"), 0);
	ck_assert(!o.extract);
	ck_assert_int_eq(o.nrcpts, 2);
}
END_TEST

START_TEST(usage_errors)
{
	static const char *bad[] = { "-x", "-bd", "-bt", "-bv", "-Z", "-h",
	    "-V", "-G", "-n", "-m", "-d0", "-L", "-X" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(PARSE("sendmail", (char *)bad[i], "x") == EX_USAGE,
		    "%s accepted", bad[i]);
		ck_assert(err[0] != '\0');
	}
	/* An option without its argument. */
	ck_assert_int_eq(PARSE("sendmail", "-f"), EX_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "-f"));
	ck_assert_int_eq(PARSE("sendmail", "-C"), EX_USAGE);
	/* Recipients or -t outside delivery mode. */
	ck_assert_int_eq(PARSE("sendmail", "-bp", "joe"), EX_USAGE);
	ck_assert_int_eq(PARSE("sendmail", "-bs", "joe"), EX_USAGE);
	ck_assert_int_eq(PARSE("sendmail", "-q", "joe"), EX_USAGE);
	ck_assert_int_eq(PARSE("sendmail", "-t", "-bp"), EX_USAGE);
	ck_assert_int_eq(PARSE("mailq", "joe"), EX_USAGE);
}
END_TEST

static int
code(enum sm_outcome out, size_t nrefused)
{
	struct sm_result r;

	memset(&r, 0, sizeof(r));
	r.outcome = out;
	r.nrefused = nrefused;
	return sm_exit_code(&r);
}

START_TEST(exit_codes)
{
	ck_assert_int_eq(code(SM_SENT, 0), EX_OK);
	/* Some recipients refused: the others got it, the status says. */
	ck_assert_int_eq(code(SM_SENT, 1), EX_NOUSER);
	/* Deferred is always for the caller to retry, refused ones or
	 * not: nothing was queued. */
	ck_assert_int_eq(code(SM_DEFERRED, 0), EX_TEMPFAIL);
	ck_assert_int_eq(code(SM_DEFERRED, 2), EX_TEMPFAIL);
	ck_assert_int_eq(code(SM_REFUSED_RCPTS, 3), EX_NOUSER);
	ck_assert_int_eq(code(SM_REFUSED_SENDER, 0), EX_NOPERM);
	ck_assert_int_eq(code(SM_REFUSED_DATA, 0), EX_DATAERR);
	ck_assert_int_eq(code(SM_REFUSED_OTHER, 0), EX_UNAVAILABLE);
	/* The values callers test for (sysexits.h). */
	ck_assert_int_eq(EX_USAGE, 64);
	ck_assert_int_eq(EX_DATAERR, 65);
	ck_assert_int_eq(EX_NOUSER, 67);
	ck_assert_int_eq(EX_TEMPFAIL, 75);
	ck_assert_int_eq(EX_NOPERM, 77);
}
END_TEST

/* execve() with an empty argument vector: argv[0] is NULL and what
 * follows it is the environment, never to be read as arguments. */
START_TEST(empty_argv)
{
	char *vec[] = { NULL, "-bs", "evil@x.example", NULL };
	struct sm_opts o;
	char err[256] = "";

	ck_assert_int_eq(sm_opts_parse(0, vec, &o, err, sizeof(err)),
	    EX_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "empty argument vector"));
	ck_assert_int_eq(o.nrcpts, 0);
	ck_assert_int_eq(o.mode, SM_DELIVER);
	/* argc 1 with argv[0] NULL is no better. */
	ck_assert_int_eq(sm_opts_parse(1, vec, &o, err, sizeof(err)),
	    EX_USAGE);
}
END_TEST

static Suite *
opts_suite(void)
{
	Suite *s = suite_create("sendmail_opts");
	TCase *tc = tcase_create("opts");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, flags);
	tcase_add_test(tc, ignored_options);
	tcase_add_test(tc, sender_and_name);
	tcase_add_test(tc, modes);
	tcase_add_test(tc, dsn_and_body);
	tcase_add_test(tc, end_of_options);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tc, exit_codes);
	tcase_add_test(tc, empty_argv);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(opts_suite);
