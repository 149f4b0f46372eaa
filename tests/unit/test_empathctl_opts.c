/* SPDX-License-Identifier: ISC */
/* empathctl/opts.c: one sub-command's options through getopt_long, with
 * -j/--json and -h/--help added, and the usage errors told apart. */
// LINK: empathctl/opts.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../empathctl/empathctl.h"

static int checks, failures;
static FILE *report;             /* stderr as it was, for the failures */

#define CHECK(c) do { checks++; if (!(c)) { fprintf(report, "%s:%d: %s\n", __FILE__, \
    __LINE__, #c); failures++; } } while (0)

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

int
main(void)
{
	struct ctl_opts o;
	char seen[256];

	/* The parser's messages go to stderr/stdout: keep them quiet. */
	if ((report = fdopen(dup(STDERR_FILENO), "w")) == NULL)
		return 2;
	setvbuf(report, NULL, _IONBF, 0);
	if (freopen("/dev/null", "w", stderr) == NULL ||
	    freopen("/dev/null", "w", stdout) == NULL)
		return 2;

	memset(&o, 0, sizeof(o));
	CHECK(parse(ARGV("--limit=5", "--watch"), seen, sizeof(seen), &o) == -1);
	CHECK(strcmp(seen, "L5 W ") == 0);
	CHECK(!o.json);

	/* Both value forms, -j anywhere, operands left after optind. */
	memset(&o, 0, sizeof(o));
	CHECK(parse(ARGV("ID", "--limit", "7", "-j", "-v"), seen, sizeof(seen),
	    &o) == -1);
	CHECK(strcmp(seen, "L7 v ") == 0);
	CHECK(o.json);
	CHECK(optind == 5);           /* permuted: the operand comes last */

	memset(&o, 0, sizeof(o));
	CHECK(parse(ARGV("--json"), seen, sizeof(seen), &o) == -1 && o.json);

	/* Errors: unknown long and short, missing argument, an argument
	 * given to an option without one. */
	CHECK(parse(ARGV("--bogus"), seen, sizeof(seen), &o) == SUB_ERROR);
	CHECK(parse(ARGV("-x"), seen, sizeof(seen), &o) == SUB_ERROR);
	CHECK(parse(ARGV("--limit"), seen, sizeof(seen), &o) == SUB_ERROR);
	CHECK(parse(ARGV("--watch=1"), seen, sizeof(seen), &o) == SUB_ERROR);
	/* An option of another command is unknown here. */
	CHECK(parse(ARGV("--interval=3"), seen, sizeof(seen), &o) == SUB_ERROR);

	/* Help, short and long, wins where it stands. */
	CHECK(parse(ARGV("-h"), seen, sizeof(seen), &o) == SUB_HELP);
	CHECK(parse(ARGV("--limit=1", "--help"), seen, sizeof(seen), &o) ==
	    SUB_HELP);

	/* A second parse starts afresh (optind reset to 0). */
	CHECK(parse(ARGV("--limit=9"), seen, sizeof(seen), &o) == -1);
	CHECK(strcmp(seen, "L9 ") == 0);

	/* "--" ends the options. */
	CHECK(parse(ARGV("--", "--bogus"), seen, sizeof(seen), &o) == -1);
	CHECK(seen[0] == '\0');

	/* The summary line tests/run.sh counts, as check writes it. */
	fprintf(report, "%d%%: Checks: %d, Failures: %d, Errors: 0\n",
	    100 * (checks - failures) / checks, checks, failures);
	return failures ? 1 : 0;
}
