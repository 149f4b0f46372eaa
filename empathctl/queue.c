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

/* "--name=value" or "--name value": the value, or NULL when arg is not
 * that option. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
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
	const char *after = "", *v;
	struct msgbuf mb;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if ((v = opt_value(argc, argv, &i, "--status")) != NULL) {
			for (s = 0; s < RCPT_STATE_COUNT; s++)
				if (strcmp(v, rcpt_state_name(s)) == 0)
					break;
			if (s == RCPT_STATE_COUNT) {
				fprintf(stderr, "empathctl: unknown state %s\n", v);
				return queue_usage();
			}
			state = s;
		} else if ((v = opt_value(argc, argv, &i, "--limit")) != NULL) {
			if (!number(v, 1, Q_LIST_MAX, &limit)) {
				fprintf(stderr, "empathctl: --limit takes 1 to %d\n",
				    Q_LIST_MAX);
				return EXIT_USAGE;
			}
		} else if ((v = opt_value(argc, argv, &i, "--after")) != NULL) {
			if (!ulid_valid(v)) {
				fprintf(stderr, "empathctl: %s is not a message id\n", v);
				return EXIT_USAGE;
			}
			after = v;
		} else if (strcmp(argv[i], "-j") == 0 ||
		    strcmp(argv[i], "--json") == 0)
			o->json = true;
		else
			return queue_usage();
	}
	mb_init(&mb);
	mb_u32(&mb, state);
	mb_str(&mb, after);
	mb_u32(&mb, limit);
	rc = request(o, CTL_QUEUE_LIST, &mb, &reply);
	mb_free(&mb);
	if (rc != EXIT_OK)
		return rc;
	return print_queue_list(&reply, o->json, state);
}

/* view, delete, retry: one message id. */
static int
do_id(int argc, char **argv, struct ctl_opts *o, uint16_t type)
{
	const char *id = NULL;
	struct msgbuf mb;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--json") == 0)
			o->json = true;
		else if (id == NULL)
			id = argv[i];
		else
			return queue_usage();
	}
	if (id == NULL)
		return queue_usage();
	if (!ulid_valid(id)) {
		fprintf(stderr, "empathctl: %s is not a message id (26 characters "
		    "of Crockford base 32)\n", id);
		return EXIT_USAGE;
	}
	mb_init(&mb);
	mb_str(&mb, id);
	rc = request(o, type, &mb, &reply);
	mb_free(&mb);
	if (rc != EXIT_OK)
		return rc;
	return type == CTL_QUEUE_VIEW ? print_queue_view(&reply, o->json) :
	    print_queue_ok(&reply, o->json);
}

static int
do_simple(int argc, char **argv, struct ctl_opts *o, uint16_t type)
{
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--json") == 0)
			o->json = true;
		else
			return queue_usage();
	}
	if ((rc = request(o, type, NULL, &reply)) != EXIT_OK)
		return rc;
	return print_queue_ok(&reply, o->json);
}

static int
do_stats(int argc, char **argv, struct ctl_opts *o)
{
	uint32_t interval = WATCH_DEFAULT, count = 0, n;
	bool watch = false;
	const char *v;
	char stamp[32];
	time_t now;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--watch") == 0)
			watch = true;
		else if ((v = opt_value(argc, argv, &i, "--interval")) != NULL) {
			if (!number(v, 1, WATCH_MAX, &interval)) {
				fprintf(stderr, "empathctl: --interval takes 1 to %d "
				    "seconds\n", WATCH_MAX);
				return EXIT_USAGE;
			}
		} else if ((v = opt_value(argc, argv, &i, "--count")) != NULL) {
			if (!number(v, 1, UINT32_MAX, &count)) {
				fprintf(stderr, "empathctl: bad --count\n");
				return EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "-j") == 0 ||
		    strcmp(argv[i], "--json") == 0)
			o->json = true;
		else
			return queue_usage();
	}
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
	if (strcmp(argv[0], "list") == 0)
		return do_list(argc - 1, argv + 1, o);
	if (strcmp(argv[0], "view") == 0)
		return do_id(argc - 1, argv + 1, o, CTL_QUEUE_VIEW);
	if (strcmp(argv[0], "delete") == 0)
		return do_id(argc - 1, argv + 1, o, CTL_QUEUE_DELETE);
	if (strcmp(argv[0], "retry") == 0)
		return do_id(argc - 1, argv + 1, o, CTL_QUEUE_RETRY);
	if (strcmp(argv[0], "freeze") == 0)
		return do_simple(argc - 1, argv + 1, o, CTL_QUEUE_FREEZE);
	if (strcmp(argv[0], "unfreeze") == 0)
		return do_simple(argc - 1, argv + 1, o, CTL_QUEUE_UNFREEZE);
	if (strcmp(argv[0], "process-now") == 0)
		return do_simple(argc - 1, argv + 1, o, CTL_QUEUE_PROCESS);
	if (strcmp(argv[0], "stats") == 0)
		return do_stats(argc - 1, argv + 1, o);
	return queue_usage();
}
