/* SPDX-License-Identifier: ISC */
/* Options of one sub-command, parsed with getopt_long(3). Every
 * sub-command takes -j/--json and -h/--help besides its own; an unknown
 * option or a missing argument is reported in one line, followed by the
 * sub-command's one-line usage, and is a usage error (EX_USAGE). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "empathctl.h"

/* Its own table plus --json and --help, into out (at most SUB_MAXOPTS
 * rows before the terminator). */
static void
merge(const struct option *own, struct option *out)
{
	size_t n = 0;

	out[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	out[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	for (; own != NULL && own->name != NULL && n < SUB_MAXOPTS + 2; own++)
		out[n++] = *own;
	out[n] = (struct option){ NULL, 0, NULL, 0 };
}

void
sub_usage(FILE *f, const struct subcmd *sc)
{
	fprintf(f, "usage: empathctl [-j] [-s socket] %s%s%s\n", sc->name,
	    sc->args[0] != '\0' ? " " : "", sc->args);
}

/* The option that getopt_long stopped at: a long one from argv, a short
 * one from optopt. */
static void
name_opt(char *buf, size_t len, char **argv, int ind)
{
	const char *a = ind > 0 ? argv[ind - 1] : NULL;
	size_t n;

	if (optopt != 0 && optopt != '?' && (a == NULL || a[0] != '-' ||
	    a[1] != '-')) {
		(void)snprintf(buf, len, "-%c", optopt);
		return;
	}
	if (a == NULL) {
		(void)snprintf(buf, len, "?");
		return;
	}
	n = strcspn(a, "=");             /* not the value given with it */
	(void)snprintf(buf, len, "%.*s", (int)(n > 64 ? 64 : n), a);
}

int
sub_getopt(int argc, char **argv, const struct subcmd *sc, struct ctl_opts *o)
{
	struct option lo[SUB_MAXOPTS + 3];
	char shortopts[64] = ":hj", what[80];
	const struct option *p;
	int ch;

	merge(sc->longopts, lo);
	/* The short forms are those rows whose value is a printable
	 * character; ':' first so that a missing argument is told apart. */
	for (p = sc->longopts; p != NULL && p->name != NULL; p++)
		if (p->flag == NULL && p->val > ' ' && p->val < 0x7f &&
		    strlen(shortopts) + 3 < sizeof(shortopts)) {
			char s[3] = { (char)p->val, ':', '\0' };

			s[1] = p->has_arg == required_argument ? ':' : '\0';
			strlcat(shortopts, s, sizeof(shortopts));
		}
	opterr = 0;                      /* the messages are ours */
	while ((ch = getopt_long(argc, argv, shortopts, lo, NULL)) == 'j')
		o->json = true;
	switch (ch) {
	case 'h':
		sub_usage(stdout, sc);
		return SUB_HELP;
	case '?':
		name_opt(what, sizeof(what), argv, optind);
		fprintf(stderr, "empathctl: %s: unknown option %s\n", sc->name,
		    what);
		sub_usage(stderr, sc);
		return SUB_ERROR;
	case ':':
		name_opt(what, sizeof(what), argv, optind);
		fprintf(stderr, "empathctl: %s: option %s needs an argument\n",
		    sc->name, what);
		sub_usage(stderr, sc);
		return SUB_ERROR;
	default:
		return ch;
	}
}

int
sub_error(const struct subcmd *sc, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "empathctl: %s: ", sc->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	sub_usage(stderr, sc);
	return EXIT_USAGE;
}
