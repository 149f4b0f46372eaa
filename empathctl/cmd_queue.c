/* SPDX-License-Identifier: ISC */
/* empathctl queue ...: the queue commands. Arguments are checked here
 * (ids are ULIDs, states are names, numbers in range) before anything is
 * sent; ctld and queued check them again.
 *
 *   queue list [--status=S] [--limit=N] [--after=ID]
 *   queue view|delete|retry ID
 *   queue freeze|unfreeze|process-now
 *   queue stats [--watch [--interval=N] [--count=N]]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "empathctl.h"
#include "wire.h"
#include "wire_ctl.h"
#include "proto.h"
#include "ulid.h"

#define LIST_DEFAULT   100
#define WATCH_DEFAULT  2
#define WATCH_MAX      3600

static int
queue_usage(void)
{
	fprintf(stderr,
	    "usage: empathctl queue list [--status=S] [--limit=N] [--after=ID]\n"
	    "       empathctl queue view|delete|retry ID\n"
	    "       empathctl queue freeze|unfreeze|process-now\n"
	    "       empathctl queue stats [--watch [--interval=N] [--count=N]]\n"
	    "states: queued, inflight, deferred, delivered, failed\n");
	return EXIT_USAGE;
}

enum { OPT_STATUS = 256, OPT_LIMIT, OPT_AFTER, OPT_WATCH, OPT_INTERVAL,
    OPT_COUNT };

static const struct option list_opts[] = {
	{ "status", required_argument, NULL, OPT_STATUS },
	{ "limit",  required_argument, NULL, OPT_LIMIT },
	{ "after",  required_argument, NULL, OPT_AFTER },
	{ NULL, 0, NULL, 0 }
};
static const struct option stats_opts[] = {
	{ "watch",    no_argument,       NULL, OPT_WATCH },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "count",    required_argument, NULL, OPT_COUNT },
	{ NULL, 0, NULL, 0 }
};

static const struct subcmd sub_list = { "queue list",
    "[--status=S] [--limit=N] [--after=ID]", list_opts };
static const struct subcmd sub_view = { "queue view", "ID", NULL };
static const struct subcmd sub_delete = { "queue delete", "ID", NULL };
static const struct subcmd sub_retry = { "queue retry", "ID", NULL };
static const struct subcmd sub_freeze = { "queue freeze", "", NULL };
static const struct subcmd sub_unfreeze = { "queue unfreeze", "", NULL };
static const struct subcmd sub_process = { "queue process-now", "", NULL };
static const struct subcmd sub_stats = { "queue stats",
    "[--watch [--interval=N] [--count=N]]", stats_opts };

/* Options only (no operands): SUB_HELP, SUB_ERROR or 0. */
static int
no_operands(int argc, char **argv, const struct subcmd *sc, struct ctl_opts *o)
{
	int ch;

	optind = 0;
	while ((ch = sub_getopt(argc, argv, sc, o)) != -1)
		if (ch < 0)
			return ch;
	if (optind < argc) {
		(void)sub_error(sc, "unexpected argument %.64s", argv[optind]);
		return SUB_ERROR;
	}
	return 0;
}

static int
sub_exit(int rc)
{
	return rc == SUB_HELP ? EXIT_OK : EXIT_USAGE;
}

static bool
number(const char *s, long long min, long long max, uint32_t *out)
{
	const char *err = NULL;
	long long v = strtonum(s, min, max, &err);

	if (err != NULL)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int
request(const struct ctl_opts *o, uint16_t type, const struct msgbuf *mb,
    struct ctl_reply *reply)
{
	char err[512];

	if (mb != NULL && mb->err) {
		fprintf(stderr, "empathctl: request too large\n");
		return EXIT_FAIL;
	}
	if (ctl_roundtrip(o->socket, type, mb ? mb->data : NULL, mb ? mb->len : 0,
	    reply, err, sizeof(err)) == -1) {
		fprintf(stderr, "empathctl: %s\n", err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static struct ctl_reply reply;       /* 1 MiB: off the stack */

static int
do_list(int argc, char **argv, struct ctl_opts *o)
{
	uint32_t state = Q_STATE_ANY, limit = LIST_DEFAULT, s;
	const char *after = "";
	struct wire_list_req req;
	struct msgbuf mb;
	int ch, rc;

	optind = 0;
	while ((ch = sub_getopt(argc, argv, &sub_list, o)) != -1) {
		switch (ch) {
		case OPT_STATUS:
			for (s = 0; s < RCPT_STATE_COUNT; s++)
				if (strcmp(optarg, rcpt_state_name(s)) == 0)
					break;
			if (s == RCPT_STATE_COUNT)
				return sub_error(&sub_list, "unknown state %.64s "
				    "(queued, inflight, deferred, delivered, failed)",
				    optarg);
			state = s;
			break;
		case OPT_LIMIT:
			if (!number(optarg, 1, Q_LIST_MAX, &limit))
				return sub_error(&sub_list, "--limit takes 1 to %d",
				    Q_LIST_MAX);
			break;
		case OPT_AFTER:
			if (!ulid_valid(optarg))
				return sub_error(&sub_list, "%.64s is not a message "
				    "id", optarg);
			after = optarg;
			break;
		default:
			return sub_exit(ch);
		}
	}
	if (optind < argc)
		return sub_error(&sub_list, "unexpected argument %.64s",
		    argv[optind]);
	req.state = state;
	strlcpy(req.after, after, sizeof(req.after));
	req.limit = limit;
	mb_init(&mb);
	if (wire_list_req_encode(&mb, &req) == -1)
		mb.err = true;
	rc = request(o, CTL_QUEUE_LIST, &mb, &reply);
	mb_free(&mb);
	if (rc != EXIT_OK)
		return rc;
	return print_queue_list(&reply, o->json, state);
}

/* view, delete, retry: one message id. */
static int
do_id(int argc, char **argv, struct ctl_opts *o, const struct subcmd *sc,
    uint16_t type)
{
	struct wire_msgid w;
	const char *id;
	struct msgbuf mb;
	int ch, rc;

	optind = 0;
	if ((ch = sub_getopt(argc, argv, sc, o)) != -1)
		return sub_exit(ch);        /* no options of its own */
	if (optind >= argc)
		return sub_error(sc, "%s", "a message id is needed");
	if (optind + 1 < argc)
		return sub_error(sc, "unexpected argument %.64s",
		    argv[optind + 1]);
	id = argv[optind];
	if (!ulid_valid(id))
		return sub_error(sc, "%.64s is not a message id (26 characters "
		    "of Crockford base 32)", id);
	strlcpy(w.msgid, id, sizeof(w.msgid));
	mb_init(&mb);
	if (wire_msgid_encode(&mb, &w) == -1)
		mb.err = true;
	rc = request(o, type, &mb, &reply);
	mb_free(&mb);
	if (rc != EXIT_OK)
		return rc;
	return type == CTL_QUEUE_VIEW ? print_queue_view(&reply, o->json) :
	    print_queue_ok(&reply, o->json);
}

static int
do_simple(int argc, char **argv, struct ctl_opts *o, const struct subcmd *sc,
    uint16_t type)
{
	int rc;

	if ((rc = no_operands(argc, argv, sc, o)) != 0)
		return sub_exit(rc);
	if ((rc = request(o, type, NULL, &reply)) != EXIT_OK)
		return rc;
	return print_queue_ok(&reply, o->json);
}

static int
do_stats(int argc, char **argv, struct ctl_opts *o)
{
	uint32_t interval = WATCH_DEFAULT, count = 0, n;
	bool watch = false;
	char stamp[32];
	time_t now;
	int ch, rc;

	optind = 0;
	while ((ch = sub_getopt(argc, argv, &sub_stats, o)) != -1) {
		switch (ch) {
		case OPT_WATCH:
			watch = true;
			break;
		case OPT_INTERVAL:
			if (!number(optarg, 1, WATCH_MAX, &interval))
				return sub_error(&sub_stats, "--interval takes 1 to "
				    "%d seconds", WATCH_MAX);
			break;
		case OPT_COUNT:
			if (!number(optarg, 1, UINT32_MAX, &count))
				return sub_error(&sub_stats, "--count takes 1 to %u",
				    UINT32_MAX);
			break;
		default:
			return sub_exit(ch);
		}
	}
	if (optind < argc)
		return sub_error(&sub_stats, "unexpected argument %.64s",
		    argv[optind]);
	if (!watch)
		count = 1;
	for (n = 0; count == 0 || n < count; n++) {
		if (n > 0)
			sleep(interval);
		if (watch && !o->json) {
			now = time(NULL);
			strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
			printf("%s---- %s ----\n", n > 0 ? "\n" : "", stamp);
		}
		if ((rc = request(o, CTL_QUEUE_STATS, NULL, &reply)) != EXIT_OK ||
		    (rc = print_queue_stats(&reply, o->json)) != EXIT_OK)
			return rc;
		/* Each refresh reaches a pipe or a terminal at once. */
		fflush(stdout);
	}
	return EXIT_OK;
}

int
cmd_queue(int argc, char **argv, struct ctl_opts *o)
{
	if (argc < 1)
		return queue_usage();
	/* argv[0] is the sub-command: getopt_long starts after it. */
	if (strcmp(argv[0], "list") == 0)
		return do_list(argc, argv, o);
	if (strcmp(argv[0], "view") == 0)
		return do_id(argc, argv, o, &sub_view, CTL_QUEUE_VIEW);
	if (strcmp(argv[0], "delete") == 0)
		return do_id(argc, argv, o, &sub_delete, CTL_QUEUE_DELETE);
	if (strcmp(argv[0], "retry") == 0)
		return do_id(argc, argv, o, &sub_retry, CTL_QUEUE_RETRY);
	if (strcmp(argv[0], "freeze") == 0)
		return do_simple(argc, argv, o, &sub_freeze, CTL_QUEUE_FREEZE);
	if (strcmp(argv[0], "unfreeze") == 0)
		return do_simple(argc, argv, o, &sub_unfreeze, CTL_QUEUE_UNFREEZE);
	if (strcmp(argv[0], "process-now") == 0)
		return do_simple(argc, argv, o, &sub_process, CTL_QUEUE_PROCESS);
	if (strcmp(argv[0], "stats") == 0)
		return do_stats(argc, argv, o);
	fprintf(stderr, "empathctl: queue: unknown command %.64s\n", argv[0]);
	return queue_usage();
}
