/* SPDX-License-Identifier: ISC */
/* empathctl/opts.c: one sub-command's options through getopt_long, with
 * -j/--json and -h/--help added, and the usage errors told apart. */
// LINK: empathctl/opts.c
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "../../empathctl/empathctl.h"

enum { OPT_LIMIT = 256, OPT_WATCH };
static const struct option own[] = {
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "watch", no_argument,       NULL, OPT_WATCH },
	{ "verbose", no_argument,     NULL, 'v' },   /* with a short form */
	{ NULL, 0, NULL, 0 }
};
static const struct subcmd sc = { "queue list", "[--limit=N]", own };

/* Parse argv (NULL ended, argv[0] the sub-command) to its end: the
 * options seen as "L5 W v " and what ended it (-1, SUB_HELP, SUB_ERROR). */
static int
parse(char **argv, char *seen, size_t len, struct ctl_opts *o)
{
	int argc = 0, ch;

	while (argv[argc] != NULL)
		argc++;
	seen[0] = '\0';
	optind = 0;
	while ((ch = sub_getopt(argc, argv, &sc, o)) != -1) {
		char one[64];

		if (ch < 0)
			return ch;
		if (ch == OPT_LIMIT)
			snprintf(one, sizeof(one), "L%s ", optarg);
		else if (ch == OPT_WATCH)
			snprintf(one, sizeof(one), "W ");
		else
			snprintf(one, sizeof(one), "%c ", ch);
		strlcat(seen, one, len);
	}
	return -1;
}

#define ARGV(...) ((char *[]){ "list", __VA_ARGS__, NULL })

static int saved_out = -1, saved_err = -1;

/* The parser's messages go to stderr/stdout: keep them quiet. */
static void
quiet(void)
{
	int fd = open("/dev/null", O_WRONLY);

	ck_assert_int_ne(fd, -1);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	ck_assert(saved_out != -1 && saved_err != -1);
	ck_assert(dup2(fd, STDOUT_FILENO) != -1 && dup2(fd, STDERR_FILENO) != -1);
	close(fd);
}

static void
loud(void)
{
	fflush(stdout);
	fflush(stderr);
	if (saved_out != -1) {
		dup2(saved_out, STDOUT_FILENO);
		close(saved_out);
	}
	if (saved_err != -1) {
		dup2(saved_err, STDERR_FILENO);
		close(saved_err);
	}
	saved_out = saved_err = -1;
}

START_TEST(options_are_seen)
{
	struct ctl_opts o;
	char seen[256];

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(parse(ARGV("--limit=5", "--watch"), seen, sizeof(seen),
	    &o), -1);
	ck_assert_str_eq(seen, "L5 W ");
	ck_assert(!o.json);

	/* Both value forms, -j anywhere, operands left after optind. */
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(parse(ARGV("ID", "--limit", "7", "-j", "-v"), seen,
	    sizeof(seen), &o), -1);
	ck_assert_str_eq(seen, "L7 v ");
	ck_assert(o.json);
	ck_assert_int_eq(optind, 5);  /* permuted: the operand comes last */

	memset(&o, 0, sizeof(o));
	ck_assert(parse(ARGV("--json"), seen, sizeof(seen), &o) == -1 && o.json);
}
END_TEST

/* Errors: unknown long and short, missing argument, an argument given to
 * an option without one. */
START_TEST(usage_errors_are_told)
{
	struct ctl_opts o;
	char seen[256];

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(parse(ARGV("--bogus"), seen, sizeof(seen), &o),
	    SUB_ERROR);
	ck_assert_int_eq(parse(ARGV("-x"), seen, sizeof(seen), &o), SUB_ERROR);
	ck_assert_int_eq(parse(ARGV("--limit"), seen, sizeof(seen), &o),
	    SUB_ERROR);
	ck_assert_int_eq(parse(ARGV("--watch=1"), seen, sizeof(seen), &o),
	    SUB_ERROR);
	/* An option of another command is unknown here. */
	ck_assert_int_eq(parse(ARGV("--interval=3"), seen, sizeof(seen), &o),
	    SUB_ERROR);
}
END_TEST

/* Help, short and long, wins where it stands. */
START_TEST(help_wins)
{
	struct ctl_opts o;
	char seen[256];

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(parse(ARGV("-h"), seen, sizeof(seen), &o), SUB_HELP);
	ck_assert_int_eq(parse(ARGV("--limit=1", "--help"), seen, sizeof(seen),
	    &o), SUB_HELP);
}
END_TEST

/* A second parse starts afresh (optind reset to 0); "--" ends the
 * options. */
START_TEST(each_parse_starts_afresh)
{
	struct ctl_opts o;
	char seen[256];

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(parse(ARGV("--limit=1", "--help"), seen, sizeof(seen),
	    &o), SUB_HELP);
	ck_assert_int_eq(parse(ARGV("--limit=9"), seen, sizeof(seen), &o), -1);
	ck_assert_str_eq(seen, "L9 ");
	ck_assert_int_eq(parse(ARGV("--", "--bogus"), seen, sizeof(seen), &o),
	    -1);
	ck_assert_str_eq(seen, "");
}
END_TEST

static Suite *
opts_suite(void)
{
	Suite *s = suite_create("empathctl_opts");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, quiet, loud);
	tcase_add_test(tc, options_are_seen);
	tcase_add_test(tc, usage_errors_are_told);
	tcase_add_test(tc, help_wins);
	tcase_add_test(tc, each_parse_starts_afresh);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(opts_suite);
