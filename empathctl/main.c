/* empathctl: control a running Empath through ctld's control socket.
 *
 *   empathctl [-j] [-s socket] [--token T] system ping|status
 *   empathctl [-j] [-s socket] [--token T] queue ...   (queue.c)
 *
 * The socket is -s, else $EMPATH_CONTROL_SOCKET, else the default; the
 * token is --token, else $EMPATHCTL_TOKEN. The configuration file is
 * never read, so any user in the socket's group can run it. Exit 0 on
 * success, 1 on failure, 2 on a usage error. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "empathctl.h"
#include "proto.h"

enum { OPT_TOKEN = 256 };

static void __attribute__((noreturn))
usage(FILE *f, int status)
{
	fprintf(f,
	    "usage: empathctl [-j] [-s socket] [--token token] system ping\n"
	    "       empathctl [-j] [-s socket] [--token token] system status\n"
	    "       empathctl [-j] ... queue list [--status=S] [--limit=N] "
	    "[--after=ID]\n"
	    "       empathctl [-j] ... queue view|delete|retry ID\n"
	    "       empathctl [-j] ... queue freeze|unfreeze|process-now\n"
	    "       empathctl [-j] ... queue stats [--watch [--interval=N] "
	    "[--count=N]]\n"
	    "       empathctl [-j] ... dns list-cache|clear-cache|list-overrides\n"
	    "       empathctl [-j] ... dns refresh DOMAIN\n");
	exit(status);
}

/* Trailing -j/--json after the command, for convenience. */
static void
trailing_opts(int argc, char **argv, struct ctl_opts *o)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--json") == 0)
			o->json = true;
		else
			usage(stderr, EXIT_USAGE);
	}
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

static int
cmd_system(int argc, char **argv, struct ctl_opts *o)
{
	if (argc < 1)
		usage(stderr, EXIT_USAGE);
	trailing_opts(argc - 1, argv + 1, o);
	if (strcmp(argv[0], "ping") == 0)
		return run(o, CTL_PING, print_pong);
	if (strcmp(argv[0], "status") == 0)
		return run(o, CTL_STATUS, print_status);
	usage(stderr, EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",   no_argument,       NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "token",  required_argument, NULL, OPT_TOKEN },
		{ "help",   no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_opts o = { 0 };
	const char *env;
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
	usage(stderr, EXIT_USAGE);
}
