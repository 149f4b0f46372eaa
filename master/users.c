/* SPDX-License-Identifier: ISC */
/* Local users for smtpd and queued (doc/architecture.md, "Local
 * submission"): M_USER_LOOKUP { cookie, uid } is answered with
 * M_USER_NAME { cookie, uid, name } from getpwuid_r(3), here, outside
 * any chroot, with NSS: the daemons see the password database as it is
 * now (a renamed, deleted or reused uid, a user SSSD does not list).
 *
 * The asker may be a compromised daemon: only smtpd and queued may ask,
 * the request is decoded strictly, and the work is bounded: at most
 * USERS_QUEUE_MAX requests wait per daemon (more are dropped, and said
 * so in the log once per burst), at most USERS_PER_TURN are answered
 * per daemon and turn of the event loop, the rest at the next turn (an
 * NSS lookup may be slow; the master's other work goes on between). A
 * name that is not a plain login name (localusers_login_ok()) is
 * answered as "", like a uid without entry; a lookup that fails (NSS
 * unreachable) is not answered at all, so that the asker's timeout makes
 * it a temporary failure rather than "no such user". */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "localusers.h"
#include "log.h"
#include "master.h"
#include "util.h"
#include "wire.h"

struct pending {
	uint64_t cookie;
	uint32_t uid;
};

struct uqueue {
	pid_t    pid;                  /* of the daemon that asked */
	struct pending ring[USERS_QUEUE_MAX];
	size_t   head, n;
	uint64_t dropped;              /* in the current burst */
};

static struct uqueue queues[PROC_COUNT];
/* A bad request is logged once per instance of its daemon: a flood of
 * them must not flood the log. */
static pid_t refused_said[PROC_COUNT], malformed_said[PROC_COUNT];
static struct ev_timer *turn;
static unsigned long turns_run;

int (*users_getpwuid_r)(uid_t, struct passwd *, char *, size_t,
    struct passwd **) = getpwuid_r;

/* The largest buffer getpwuid_r gets: entries bigger than this (an
 * enormous GECOS) count as no entry. */
#define PW_BUF_MAX (1024 * 1024)

int
users_name(uint32_t uid, char *name, size_t len)
{
	struct passwd pw, *res = NULL;
	size_t size = 16384;
	char *buf;
	int rv;

	name[0] = '\0';
	for (;;) {
		buf = xmalloc(size);
		errno = 0;
		rv = users_getpwuid_r((uid_t)uid, &pw, buf, size, &res);
		if (rv != ERANGE || size >= PW_BUF_MAX)
			break;
		free(buf);
		size *= 2;
	}
	if (rv == ERANGE)
		log_warnx("uid %u has a password entry over %u octets: no local "
		    "user for mail", (unsigned)uid, PW_BUF_MAX);
	else if (rv != 0) {
		log_warnx("local user lookup of uid %u failed: %s; not answered "
		    "(the asker tries again later)", (unsigned)uid, strerror(rv));
		free(buf);
		return -1;
	} else if (res != NULL && res->pw_name != NULL) {
		if (localusers_login_ok(res->pw_name) &&
		    strlen(res->pw_name) < len)
			strlcpy(name, res->pw_name, len);
		else
			log_info("uid %u has a login name that is not plain "
			    "(letters, digits, '.', '_', '-'): no local user for "
			    "mail", (unsigned)uid);
	}
	free(buf);
	return 0;
}

static void
answer(struct proc *p, const struct pending *q)
{
	struct wire_user_name w;
	struct msgbuf mb;

	memset(&w, 0, sizeof(w));
	w.cookie = q->cookie;
	w.uid = q->uid;
	/* A failed lookup (NSS down) is not "no such user": no answer, and
	 * the asker's timeout makes it a temporary failure. */
	if (users_name(q->uid, w.name, sizeof(w.name)) == -1)
		return;
	mb_init(&mb);
	if (wire_user_name_encode(&mb, &w) == 0 && p->chan != NULL)
		chan_send_mb(p->chan, M_USER_NAME, 0, -1, &mb);
	mb_free(&mb);
}

static void
run_turn(void *arg)
{
	bool left = false;
	size_t i, k;

	(void)arg;
	turns_run++;
	for (i = 0; i < PROC_COUNT; i++) {
		struct uqueue *u = &queues[i];
		struct proc *p = &M.procs[i];

		if (u->n > 0 && (p->pid != u->pid || p->chan == NULL)) {
			u->n = 0;              /* asked by an instance now gone */
			continue;
		}
		for (k = 0; k < USERS_PER_TURN && u->n > 0; k++) {
			answer(p, &u->ring[u->head]);
			u->head = (u->head + 1) % USERS_QUEUE_MAX;
			u->n--;
		}
		if (u->n > 0)
			left = true;
		else if (u->dropped > 0) {
			log_warnx("%s asked for more local users than %u at once: "
			    "%llu requests dropped", proc_name(p->id),
			    USERS_QUEUE_MAX, (unsigned long long)u->dropped);
			u->dropped = 0;
		}
	}
	/* 1 ms, not 0: a timer armed for now from a timer runs again in
	 * the same pass, before any I/O. */
	if (left)
		ev_timer_start(turn, 1);
}

unsigned long
users_turns(void)
{
	return turns_run;
}

void
users_forget(struct proc *p)
{
	queues[p->id].n = 0;
	queues[p->id].dropped = 0;
}

void
users_request(struct proc *p, const struct chan_msg *m)
{
	struct wire_user_lookup w;
	struct uqueue *u = &queues[p->id];

	if (p->id != PROC_SMTPD && p->id != PROC_QUEUED) {
		if (refused_said[p->id] != p->pid)
			log_warnx("M_USER_LOOKUP from %s refused: only smtpd and "
			    "queued may ask", proc_name(p->id));
		refused_said[p->id] = p->pid;
		return;
	}
	if (wire_user_lookup_decode(m, &w) == -1) {
		if (malformed_said[p->id] != p->pid)
			log_warnx("malformed M_USER_LOOKUP from %s ignored (and any "
			    "more from this process)", proc_name(p->id));
		malformed_said[p->id] = p->pid;
		return;
	}
	if (u->pid != p->pid) {
		u->pid = p->pid;
		u->n = 0;
		u->dropped = 0;
	}
	if (u->n == USERS_QUEUE_MAX) {
		u->dropped++;
		return;
	}
	u->ring[(u->head + u->n) % USERS_QUEUE_MAX] =
	    (struct pending){ w.cookie, w.uid };
	u->n++;
	if (turn == NULL)
		turn = ev_timer_new(run_turn, NULL);
	if (!ev_timer_pending(turn))
		ev_timer_start(turn, 0);
}
