/* SPDX-License-Identifier: ISC */
/* Who a local client is (doc/architecture.md, "Local submission"): the
 * kernel gives its uid (SO_PEERCRED, server.c); its login name is asked
 * of the master for each session (M_USER_LOOKUP, answered with
 * M_USER_NAME from getpwuid_r(3)), since the password database is out
 * of reach in the chroot and a snapshot would keep a deleted user's
 * name for whoever gets the uid next. The session greets once the
 * answer is in (session_user_known). And no uid holds more than
 * LOCAL_MAX_PER_UID of the local sessions. */
#include <stdlib.h>

#include "channel.h"
#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "smtpd.h"
#include "util.h"
#include "wire.h"

uint64_t lu_timeout_ms = LOOKUP_TIMEOUT_MS;

/* Sessions per uid; few uids at once (the local sessions are bounded). */
struct uidcount {
	uid_t    uid;
	unsigned n;
};
static struct uidcount *counts;
static size_t ncounts, capcounts;

static struct uidcount *
find(uid_t uid)
{
	for (size_t i = 0; i < ncounts; i++)
		if (counts[i].uid == uid)
			return &counts[i];
	return NULL;
}

bool
lu_admit(uid_t uid)
{
	struct uidcount *c = find(uid);

	if (c != NULL) {
		if (c->n >= LOCAL_MAX_PER_UID)
			return false;
		c->n++;
		return true;
	}
	if (ncounts == capcounts) {
		capcounts = capcounts ? capcounts * 2 : 16;
		counts = xreallocarray(counts, capcounts, sizeof(*counts));
	}
	counts[ncounts++] = (struct uidcount){ uid, 1 };
	return true;
}

void
lu_release(uid_t uid)
{
	struct uidcount *c = find(uid);

	if (c == NULL || c->n == 0)
		return;
	if (--c->n == 0)
		*c = counts[--ncounts];
}

int
lu_ask(uint64_t id, uid_t uid)
{
	struct wire_user_lookup w = { .cookie = id, .uid = (uint32_t)uid };
	struct msgbuf mb;
	int rv;

	mb_init(&mb);
	rv = wire_user_lookup_encode(&mb, &w);
	if (rv == 0)
		rv = daemon_master_send(M_USER_LOOKUP, 0, &mb);
	mb_free(&mb);
	return rv;
}

void
lu_master_msg(struct chan_msg *m)
{
	struct wire_user_name w;

	if (m->type != M_USER_NAME) {
		log_debug("unexpected %s from master", msg_name(m->type));
		return;
	}
	if (wire_user_name_decode(m, &w) == -1) {
		log_warnx("malformed M_USER_NAME from the master ignored");
		return;
	}
	session_user_known(w.cookie, w.uid, w.name);
}
