/* SPDX-License-Identifier: ISC */
/* The command line of sendmail(8) as its callers (cron, mail(1), PHP's
 * mail(), mutt, scripts) use it. Options are parsed with getopt(3) in
 * its POSIX manner (the first operand ends them; "--" too), so "-ti"
 * and "-f addr" / "-faddr" work as with every sendmail. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sendmail.h"
#include "smtp.h"

enum sm_mode
sm_mode_of(const char *argv0)
{
	const char *base = argv0 != NULL ? strrchr(argv0, '/') : NULL;

	base = base != NULL ? base + 1 : (argv0 != NULL ? argv0 : "");
	if (strcmp(base, "mailq") == 0)
		return SM_QUEUE_LIST;
	if (strcmp(base, "newaliases") == 0)
		return SM_NEWALIASES;
	return SM_DELIVER;
}

void
sm_usage(const char *prog)
{
	fprintf(stderr,
	    "usage: %s [-Ui] [-t] [-v] [-B type] [-C file] [-F name] [-f sender]\n"
	    "           [-N dsn] [-R ret] [-o option] [-bm] [--] [recipient ...]\n"
	    "       %s -bp | -bs | -bi | -q\n", prog, prog);
}

/* -N: "never", or a comma list of success, failure and delay (RFC 3461
 * section 4.1), any case; upper case for NOTIFY=. */
static int
parse_notify(const char *v, char *out, size_t outlen)
{
	uint32_t bits;
	size_t i, n = strlen(v);

	if (n == 0 || n >= outlen || smtp_dsn_notify(v, &bits) == -1)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)toupper((unsigned char)v[i]);
	out[n] = '\0';
	return 0;
}

int
sm_opts_parse(int argc, char **argv, struct sm_opts *o, char *err,
    size_t errlen)
{
	int ch;

	memset(o, 0, sizeof(*o));
	/* Without argv[0], getopt would take what follows the vector's
	 * NULL (the environment) for arguments. */
	if (argc < 1 || argv == NULL || argv[0] == NULL) {
		snprintf(err, errlen, "no program name (empty argument vector)");
		return EX_USAGE;
	}
	o->mode = sm_mode_of(argv[0]);
	opterr = 0;
	optind = 0;                /* a full reset of GNU getopt (tests) */
	while ((ch = getopt(argc, argv, "+:B:C:F:N:O:R:Ub:f:io:q::r:tv"))
	    != -1) {
		switch (ch) {
		case 'B':
			if (strcasecmp(optarg, "7BIT") == 0)
				o->body = SM_BODY_7BIT;
			else if (strcasecmp(optarg, "8BITMIME") == 0)
				o->body = SM_BODY_8BITMIME;
			else {
				snprintf(err, errlen,
				    "-B takes 7BIT or 8BITMIME, not %.64s", optarg);
				return EX_USAGE;
			}
			break;
		case 'C':
			o->config = optarg;
			break;
		case 'F':
			o->fullname = optarg;
			break;
		case 'N':
			if (parse_notify(optarg, o->notify, sizeof(o->notify))
			    == -1) {
				snprintf(err, errlen, "-N takes never or a list "
				    "of success, failure, delay; not %.64s",
				    optarg);
				return EX_USAGE;
			}
			break;
		case 'R':
			if (strcasecmp(optarg, "full") == 0)
				strlcpy(o->ret, "FULL", sizeof(o->ret));
			else if (strcasecmp(optarg, "hdrs") == 0)
				strlcpy(o->ret, "HDRS", sizeof(o->ret));
			else {
				snprintf(err, errlen,
				    "-R takes full or hdrs, not %.64s", optarg);
				return EX_USAGE;
			}
			break;
		case 'O':
			/* -O option=value: IgnoreDots alone means something. */
			if (strcasecmp(optarg, "IgnoreDots") == 0 ||
			    strcasecmp(optarg, "IgnoreDots=true") == 0)
				o->ignore_dots = true;
			break;
		case 'U':          /* initial user submission: what we assume */
			break;
		case 'b':
			if (strcmp(optarg, "m") == 0)
				o->mode = SM_DELIVER;
			else if (strcmp(optarg, "p") == 0)
				o->mode = SM_QUEUE_LIST;
			else if (strcmp(optarg, "s") == 0)
				o->mode = SM_SMTP;
			else if (strcmp(optarg, "i") == 0)
				o->mode = SM_NEWALIASES;
			else {
				snprintf(err, errlen, "unsupported mode -b%.16s",
				    optarg);
				return EX_USAGE;
			}
			break;
		case 'f':
		case 'r':          /* the old name of -f */
			o->sender = optarg;
			break;
		case 'i':
			o->ignore_dots = true;
			break;
		case 'o':
			/* -oX[value] sets sendmail's option X: only -oi means
			 * something here; -od*, -oe*, -om and the rest are
			 * accepted and ignored ("-o X" as well, as getopt
			 * gives it). */
			if (strcmp(optarg, "i") == 0)
				o->ignore_dots = true;
			break;
		case 'q':
			/* -q: now; -q15m and the like are the interval of a
			 * queue daemon, -qRsite a site: all mean a run now. */
			o->mode = SM_QUEUE_RUN;
			break;
		case 't':
			o->extract = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case ':':
			snprintf(err, errlen, "option -%c needs an argument",
			    optopt);
			return EX_USAGE;
		default:
			if (optopt > 0x20 && optopt < 0x7f)
				snprintf(err, errlen, "unknown option -%c",
				    optopt);
			else
				snprintf(err, errlen, "unknown option");
			return EX_USAGE;
		}
	}
	o->rcpts = argv + optind;
	o->nrcpts = argc - optind;
	if (o->extract && o->mode != SM_DELIVER) {
		snprintf(err, errlen, "-t is for delivery mode only");
		return EX_USAGE;
	}
	if (o->nrcpts > 0 && o->mode != SM_DELIVER) {
		snprintf(err, errlen, "recipients are for delivery mode only");
		return EX_USAGE;
	}
	return 0;
}
