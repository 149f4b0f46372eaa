/* SPDX-License-Identifier: ISC */
/* empathctl: control a running Empath through ctld's control socket.
 *
 *   empathctl [-j] [-s socket] [--token T | --token-file F] system ping|status
 *   empathctl [-j] [-s socket] [--token T | --token-file F] queue ...
 *   empathctl [-j] [-s socket] [--token T | --token-file F] plugin list
 *
 * The socket is -s, else $EMPATH_CONTROL_SOCKET, else the default; the
 * token is --token-file's first line or --token, else $EMPATHCTL_TOKEN
 * (--token shows in ps to every local user; the other two do not). The configuration file is
 * never read, so any user in the socket's group can run it. Exit 0 on
 * success, 1 on failure, 64 (EX_USAGE) on a usage error. Each command
 * parses its own options (opts.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "empathctl.h"
#include "proto.h"

enum { OPT_TOKEN = 256, OPT_TOKEN_FILE };

static void __attribute__((noreturn))
usage(FILE *f, int status)
{
	fprintf(f,
	    "usage: empathctl [-j] [-s socket] [--token token | --token-file file] "
	    "system ping\n"
	    "       empathctl [-j] [-s socket] [--token token | --token-file file] "
	    "system status\n"
	    "       empathctl [-j] ... queue list [--status=S] [--limit=N] "
	    "[--after=ID]\n"
	    "       empathctl [-j] ... queue view|delete|retry ID\n"
	    "       empathctl [-j] ... queue freeze|unfreeze|process-now\n"
	    "       empathctl [-j] ... queue stats [--watch [--interval=N] "
	    "[--count=N]]\n"
	    "       empathctl [-j] ... dns list-cache|clear-cache|list-overrides\n"
	    "       empathctl [-j] ... dns refresh DOMAIN\n"
	    "       empathctl [-j] ... plugin list\n");
	exit(status);
}

static int
run(const struct ctl_opts *o, uint16_t type, int (*print)(const struct ctl_reply *, bool))
{
	static struct ctl_reply reply;   /* 64 KiB: off the stack */
	char err[512];

	if (ctl_roundtrip(o->socket, type, NULL, 0, &reply, err, sizeof(err)) == -1) {
		fprintf(stderr, "empathctl: %s\n", err);
		return EXIT_FAIL;
	}
	return print(&reply, o->json);
}

/* The status, with the plugins disabled after crashes when ctld can
 * tell (a second request; without it the status is shown alone). */
static int
run_status(const struct ctl_opts *o)
{
	static struct ctl_reply reply, plugins;
	static struct plugin_disabled pd;
	const struct plugin_disabled *known = NULL;
	char err[512];

	if (ctl_roundtrip(o->socket, CTL_STATUS, NULL, 0, &reply, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "empathctl: %s\n", err);
		return EXIT_FAIL;
	}
	if (reply.type == CTL_STATUS_REPLY &&
	    ctl_roundtrip(o->socket, CTL_PLUGIN_LIST, NULL, 0, &plugins, err,
	    sizeof(err)) == 0 && plugin_disabled_parse(&plugins, &pd) == 0)
		known = &pd;
	return print_status_plugins(&reply, known, o->json);
}

static const struct subcmd sub_ping = { "system ping", "", NULL };
static const struct subcmd sub_status = { "system status", "", NULL };

static int
cmd_system(int argc, char **argv, struct ctl_opts *o)
{
	const struct subcmd *sc;
	int ch;

	if (argc < 1)
		usage(stderr, EXIT_USAGE);
	if (strcmp(argv[0], "ping") == 0)
		sc = &sub_ping;
	else if (strcmp(argv[0], "status") == 0)
		sc = &sub_status;
	else {
		fprintf(stderr, "empathctl: system: unknown command %.64s\n",
		    argv[0]);
		usage(stderr, EXIT_USAGE);
	}
	/* argv[0] is the sub-command: getopt_long starts after it. */
	optind = 0;
	if ((ch = sub_getopt(argc, argv, sc, o)) != -1)
		return ch == SUB_HELP ? EXIT_OK : EXIT_USAGE;
	if (optind < argc)
		return sub_error(sc, "unexpected argument %.64s", argv[optind]);
	return sc == &sub_ping ? run(o, CTL_PING, print_pong) : run_status(o);
}

/* The token is the first line of path ("-": standard input), without its
 * line end, into buf (CTL_TOKEN_MAX + 1 bytes). A file others may read is
 * used but warned about. Exits with a usage error when the file cannot be
 * read or its first line is empty or too long. */
static void
read_token_file(const char *path, char *buf)
{
	char line[CTL_TOKEN_MAX + 3];  /* token, "\r\n", NUL */
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd;
	bool eol = false;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		fprintf(stderr, "empathctl: cannot open token file %s: %s\n",
		    path, strerror(errno));
		exit(EXIT_USAGE);
	}
	if (fd != STDIN_FILENO && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)))
		fprintf(stderr, "empathctl: warning: token file %s is accessible "
		    "by group or others (mode %03o); chmod 600 it\n", path,
		    (unsigned)(st.st_mode & 0777));
	/* Byte by byte up to the first line end: nothing after it is read,
	 * so stdin may carry more than the token. */
	while (n < sizeof(line) - 1) {
		r = read(fd, line + n, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			fprintf(stderr, "empathctl: cannot read token file %s: "
			    "%s\n", path, strerror(errno));
			exit(EXIT_USAGE);
		}
		if (r == 0)
			break;
		if (line[n] == '\n') {
			eol = true;
			break;
		}
		n++;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (!eol && n == sizeof(line) - 1)
		n = CTL_TOKEN_MAX + 1;      /* the line goes on: too long */
	if (n == 0 || n > CTL_TOKEN_MAX) {
		explicit_bzero(line, sizeof(line));
		fprintf(stderr, "empathctl: token file %s: %s\n", path, n == 0 ?
		    "the first line is empty" :
		    "the token is longer than the limit");
		exit(EXIT_USAGE);
	}
	memcpy(buf, line, n);
	buf[n] = '\0';
	explicit_bzero(line, sizeof(line));
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",   no_argument,       NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "token",  required_argument, NULL, OPT_TOKEN },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "help",   no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_opts o = { 0 };
	static char filetoken[CTL_TOKEN_MAX + 1];
	const char *env, *token_file = NULL;
	int ch;

	/* '+': stop at the command; its own arguments are parsed after. */
	while ((ch = getopt_long(argc, argv, "+hjs:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			o.json = true;
			break;
		case 's':
			o.socket = optarg;
			break;
		case OPT_TOKEN:
			o.token = optarg;
			break;
		case OPT_TOKEN_FILE:
			token_file = optarg;
			break;
		case 'h':
			usage(stdout, EXIT_OK);
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (o.socket == NULL && (env = getenv("EMPATH_CONTROL_SOCKET")) != NULL &&
	    *env != '\0')
		o.socket = env;
	if (o.socket == NULL)
		o.socket = CTL_DEFAULT_SOCKET;
	if (token_file != NULL) {
		if (o.token != NULL) {
			fprintf(stderr, "empathctl: --token and --token-file "
			    "are exclusive\n");
			return EXIT_USAGE;
		}
		read_token_file(token_file, filetoken);
		o.token = filetoken;
	}
	if (o.token == NULL && (env = getenv("EMPATHCTL_TOKEN")) != NULL &&
	    *env != '\0')
		o.token = env;
	if (*o.socket == '\0' || (o.token != NULL && *o.token == '\0'))
		usage(stderr, EXIT_USAGE);
	if (o.token != NULL && strlen(o.token) > CTL_TOKEN_MAX) {
		fprintf(stderr, "empathctl: a token is at most %d characters\n",
		    CTL_TOKEN_MAX);
		return EXIT_USAGE;
	}
	ctl_set_token(o.token);
	if (argc < 1)
		usage(stderr, EXIT_USAGE);

	if (strcmp(argv[0], "system") == 0)
		return cmd_system(argc - 1, argv + 1, &o);
	if (strcmp(argv[0], "queue") == 0)
		return cmd_queue(argc - 1, argv + 1, &o);
	if (strcmp(argv[0], "dns") == 0)
		return cmd_dns(argc - 1, argv + 1, &o);
	if (strcmp(argv[0], "plugin") == 0)
		return cmd_plugin(argc - 1, argv + 1, &o);
	fprintf(stderr, "empathctl: unknown command %.64s\n", argv[0]);
	usage(stderr, EXIT_USAGE);
}
