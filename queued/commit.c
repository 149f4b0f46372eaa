/* SPDX-License-Identifier: ISC */
/* The reception side of the queue: a new message file for each DATA, the
 * durable commit, the rollback; and the same commit for the messages
 * queued itself writes (notifications, bounce.c).
 *
 * A message goes through the write pipeline (pipeline.c):
 *
 *   open       incoming/<id> handed to smtpd, being written; the id is
 *              given then (a pool file is renamed to it): it and the
 *              arrival time tell when the message arrived
 *   waiting    Q_COMMIT received: waits for the next round
 *   syncing    the sync thread writes it out, renames it into queue/
 *   published  its file is in queue/: the next index transaction inserts
 *              it
 *   stored     inserted; Q_COMMIT_OK goes once that transaction is
 *              durable (the round after)
 *
 * A message whose smtpd channel goes away before it is stored is dropped
 * (its client never got a 250); once stored it stays and is delivered.
 *
 * smtpd is a network process: what it says is checked, not believed. It
 * gets only files without content (new, or wiped: pool.c), the size
 * queued stores is the one it measures on its own descriptor (at the
 * commit, and again once the file is durable), the arrival time is
 * queued's clock, and the receptions it may hold open are bounded. */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "log.h"
#include "plugin_ctx.h"
#include "queued.h"
#include "spool.h"
#include "syncer.h"
#include "ulid.h"
#include "util.h"
#include "wire.h"

/* Free room below which no new message is taken (452 4.3.1 at DATA): the
 * largest message a listener accepts, within these bounds, so that a
 * message that was started can usually be finished. */
#define MINFREE_LOW   (1024 * 1024)
#define MINFREE_HIGH  (64 * 1024 * 1024)
#define MINFREE_INODES 16

/* Receptions one smtpd channel may hold (files handed out and not yet
 * committed or rolled back, commits not yet stored): this many per
 * connection the listeners allow. A session holds one at a time; the
 * rest is slack for commits in flight while their sessions go on. */
#define RECEPTIONS_PER_CONNECTION 4
/* At most one line per this long about receptions refused over the cap. */
#define CAP_LOG_MS (60 * 1000)

enum in_stage { IN_OPEN, IN_WAITING, IN_SYNCING, IN_PUBLISHED, IN_STORED };

struct inmsg {
	TAILQ_ENTRY(inmsg) pentry;     /* peer->incoming, while peer != NULL */
	TAILQ_ENTRY(inmsg) sentry;     /* the list of its stage */
	struct qpeer      *peer;       /* NULL: internal, or its smtpd left */
	char               id[ULID_LEN + 1];
	int                fd;         /* until the round that publishes it */
	bool               reused;     /* a recycled (wiped) file: for the log */
	int64_t            arrived;    /* wall s, when the file was handed out */
	uint32_t           reqid;      /* Q_COMMIT request id */
	enum in_stage      stage;
	bool               dropped;    /* rolled back while syncing */
	int                err;        /* errno of a failed step, 0 if none */
	struct envelope    env;
	struct commit_hook hook;       /* internal messages */
};

static struct inmsg_list waiting = TAILQ_HEAD_INITIALIZER(waiting);
static struct inmsg_list syncing = TAILQ_HEAD_INITIALIZER(syncing);
static struct inmsg_list published = TAILQ_HEAD_INITIALIZER(published);
static size_t nwaiting, nsyncing, npublished, nstored;
static size_t fd_limit = 1000;          /* what the descriptors allow */
static size_t conn_limit = SIZE_MAX;    /* what the listeners justify */
static uint64_t cap_logged;             /* mono ms of the last line */
static size_t cap_refused;              /* refusals since that line */
static uint64_t minfree = MINFREE_LOW;

void
commit_set_limit(size_t n)
{
	fd_limit = n > 0 ? n : 1;
}

static size_t
commit_max_incoming(void)
{
	return fd_limit < conn_limit ? fd_limit : conn_limit;
}

void
commit_configure(const struct config *cfg)
{
	const struct cfg_listen *l;
	uint64_t want = 0, conns = 0;
	bool unlimited = false;

	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		if (l->max_message_size > want)
			want = l->max_message_size;
		if (l->max_connections == 0)
			unlimited = true;         /* no limit: the descriptors' */
		conns += l->max_connections;
	}
	if (unlimited || conns > SIZE_MAX / RECEPTIONS_PER_CONNECTION)
		conn_limit = SIZE_MAX;
	else if (conns == 0)
		conn_limit = RECEPTIONS_PER_CONNECTION;
	else
		conn_limit = (size_t)conns * RECEPTIONS_PER_CONNECTION;
	if (want < MINFREE_LOW)
		want = MINFREE_LOW;
	if (want > MINFREE_HIGH)
		want = MINFREE_HIGH;
	minfree = want;
}

static void
reply_fail(struct qpeer *p, uint16_t type, uint32_t reqid, int err,
    const char *text)
{
	struct wire_fail w;
	struct msgbuf mb;
	bool full = err == ENOSPC || err == EDQUOT;

	if (p == NULL || p->ch == NULL)
		return;
	w.code = full ? 452 : 451;
	strlcpy(w.text, full ? "4.3.1 Insufficient system storage" : text,
	    sizeof(w.text));
	mb_init(&mb);
	if (wire_fail_encode(&mb, &w) == 0)
		chan_send_mb(p->ch, type, reqid, -1, &mb);
	else
		log_warnx("cannot encode %s", msg_name(type));
	mb_free(&mb);
}

/* Q_CREATE_OK, Q_COMMIT_OK: the message's id. */
static int
send_msgid(struct channel *ch, uint16_t type, uint32_t reqid, int fd,
    const char *id)
{
	struct wire_msgid w;
	struct msgbuf mb;
	int rv = -1;

	mb_init(&mb);
	if (strlcpy(w.msgid, id, sizeof(w.msgid)) < sizeof(w.msgid) &&
	    wire_msgid_encode(&mb, &w) == 0)
		rv = chan_send_mb(ch, type, reqid, fd, &mb);
	mb_free(&mb);
	return rv;
}

static struct inmsg *
find(struct qpeer *p, const char *id)
{
	struct inmsg *im;

	TAILQ_FOREACH(im, &p->incoming, pentry)
		if (strcmp(im->id, id) == 0)
			return im;
	return NULL;
}

static void
detach(struct inmsg *im)
{
	if (im->peer != NULL) {
		TAILQ_REMOVE(&im->peer->incoming, im, pentry);
		im->peer->nincoming--;
		im->peer = NULL;
	}
}

/* Take a message off its stage list. */
static void
unstage(struct inmsg *im)
{
	switch (im->stage) {
	case IN_WAITING:
		TAILQ_REMOVE(&waiting, im, sentry);
		nwaiting--;
		break;
	case IN_SYNCING:
		TAILQ_REMOVE(&syncing, im, sentry);
		nsyncing--;
		break;
	case IN_PUBLISHED:
		TAILQ_REMOVE(&published, im, sentry);
		npublished--;
		break;
	case IN_STORED:
		nstored--;
		break;
	case IN_OPEN:
		break;
	}
}

/* Forget a message; remove its file unless it was committed (keep). */
static void
inmsg_free(struct inmsg *im, bool keep)
{
	unstage(im);
	detach(im);
	if (im->fd != -1)
		close(im->fd);
	if (!keep) {
		if (im->stage <= IN_WAITING)
			spool_discard_incoming(im->id);
		else
			spool_remove(im->id);
	}
	if (im->hook.finished != NULL)
		im->hook.finished(im->hook.arg, keep);
	env_clear(&im->env);
	free(im);
	queued_check_stop();
}

/* Is there room for one more message? errno ENOSPC when not. */
static bool
room_left(void)
{
	struct statvfs sv;

	if (statvfs(".", &sv) == -1)
		return true;       /* unknown: the writes will tell */
	if ((uint64_t)sv.f_bavail * sv.f_frsize < minfree ||
	    (sv.f_files > 0 && sv.f_favail < MINFREE_INODES)) {
		errno = ENOSPC;
		return false;
	}
	return true;
}

/* A Q_CREATE over the cap: a warning, at most one per CAP_LOG_MS (an
 * smtpd that leaks receptions, or a flood, asks again and again). */
static void
refused_over_cap(const struct qpeer *p)
{
	uint64_t now = mono_ms();

	cap_refused++;
	if (cap_logged != 0 && now - cap_logged < CAP_LOG_MS)
		return;
	log_warnx("smtpd holds %zu receptions open, the most allowed: new "
	    "messages are refused with a temporary error (%zu refused since "
	    "the last report)", p->nincoming, cap_refused);
	cap_logged = now;
	cap_refused = 0;
}

static void
do_create(struct qpeer *p, struct chan_msg *m)
{
	struct inmsg *im;
	int fd;

	if (Q.stopping || Q.store == NULL) {
		reply_fail(p, Q_CREATE_FAIL, m->peerid, 0,
		    "4.3.2 Queue is shutting down");
		return;
	}
	if (p->nincoming >= commit_max_incoming()) {
		refused_over_cap(p);
		reply_fail(p, Q_CREATE_FAIL, m->peerid, 0,
		    "4.3.0 Too many messages being received, try again later");
		return;
	}
	if (!room_left()) {
		log_warnx("spool %s: less than %" PRIu64 " KiB free, refusing a message",
		    Q.cfg->spool, minfree / 1024);
		reply_fail(p, Q_CREATE_FAIL, m->peerid, ENOSPC, NULL);
		return;
	}
	im = xcalloc(1, sizeof(*im));
	env_init(&im->env);
	/* A file from the pool costs one rename here, to the id given now:
	 * the id and the arrival time are the time of this Q_CREATE. */
	if (pool_take(im->id, &fd, &im->reused)) {
		if (pool_wants())
			pipeline_kick();
	} else
		fd = spool_create(im->id);
	if (fd == -1) {
		int err = errno;

		log_warn("cannot create a file in %s/", SPOOL_INCOMING);
		reply_fail(p, Q_CREATE_FAIL, m->peerid, err,
		    "4.3.0 Cannot create a queue file");
		env_clear(&im->env);
		free(im);
		return;
	}
	im->arrived = wall_s();
	im->fd = fd;
	im->peer = p;
	im->stage = IN_OPEN;
	TAILQ_INSERT_TAIL(&p->incoming, im, pentry);
	p->nincoming++;

	if (send_msgid(p->ch, Q_CREATE_OK, m->peerid, fd, im->id) == -1) {
		log_warnx("%s: cannot hand the file to smtpd", im->id);
		inmsg_free(im, false);
	} else
		log_debug("%s: created for request %u (%s file)", im->id,
		    m->peerid, im->reused ? "a recycled" : "a new");
}

/* Checks on an envelope from smtpd; NULL when acceptable. */
static const char *
envelope_problem(const struct envelope *env)
{
	size_t i;

	if (env->nrcpt == 0)
		return "no recipient";
	if (env->sender == NULL)
		return "no sender";
	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].addr == NULL || env->rcpt[i].addr[0] == '\0')
			return "empty recipient address";
	return NULL;
}

static void
enqueue(struct inmsg *im)
{
	im->stage = IN_WAITING;
	TAILQ_INSERT_TAIL(&waiting, im, sentry);
	nwaiting++;
	pipeline_kick();
}

static void
do_commit(struct qpeer *p, struct chan_msg *m)
{
	struct envelope env;
	struct msgreader mr;
	struct inmsg *im;
	struct stat sb;
	const char *problem;
	off_t end;

	memset(&sb, 0, sizeof(sb));
	env_init(&env);
	mr_init(&mr, m);
	if (env_decode(&env, &mr) == -1) {
		log_warnx("smtpd: malformed Q_COMMIT (request %u), refused", m->peerid);
		reply_fail(p, Q_COMMIT_FAIL, m->peerid, 0, "4.3.0 Queue error");
		return;
	}
	if (!ulid_valid(env.id) || (im = find(p, env.id)) == NULL ||
	    im->stage != IN_OPEN) {
		char buf[64];

		log_warnx("smtpd: Q_COMMIT for %s, not a message of this channel "
		    "being received, refused", log_sanitize(env.id, buf, sizeof(buf)));
		reply_fail(p, Q_COMMIT_FAIL, m->peerid, 0, "4.3.0 Queue error");
		env_clear(&env);
		return;
	}
	if ((problem = envelope_problem(&env)) != NULL) {
		log_warnx("%s: commit refused: %s", im->id, problem);
		reply_fail(p, Q_COMMIT_FAIL, m->peerid, 0, "4.3.0 Queue error");
		env_clear(&env);
		inmsg_free(im, false);
		return;
	}
	/* The id is ours (checked above); the rest of the envelope is the
	 * peer's word, kept as data, except what queued can know itself.
	 * The size is measured here on queued's own descriptor: smtpd's
	 * figure is only checked against it. smtpd writes from the start of
	 * the file, and its descriptor shares the offset of queued's: where
	 * the offset stopped is where its writes ended. The file may be
	 * longer (a reused file keeps its size, wiped to zeros: pool.c):
	 * the sync thread cuts it there. A figure that differs means smtpd
	 * lost track of what it wrote, or lies: nothing it says about this
	 * message can be relied upon. */
	end = lseek(im->fd, 0, SEEK_CUR);
	if (end == -1 || fstat(im->fd, &sb) == -1) {
		int err = errno;

		log_warn("%s: cannot measure the message file", im->id);
		reply_fail(p, Q_COMMIT_FAIL, m->peerid, err, "4.3.0 Queue error");
		env_clear(&env);
		inmsg_free(im, false);
		return;
	}
	if (env.size != (uint64_t)end || end > sb.st_size) {
		log_warnx("%s: commit refused: smtpd says %" PRIu64 " octets, it wrote "
		    "%lld (the file holds %lld)", im->id,
		    env.size, (long long)end,
		    (long long)sb.st_size);
		reply_fail(p, Q_COMMIT_FAIL, m->peerid, 0,
		    "4.3.0 Queue error, try again later");
		env_clear(&env);
		inmsg_free(im, false);
		return;
	}
	env.size = (uint64_t)end;
	/* The arrival time is queued's clock, whatever smtpd's says: when
	 * the file was handed out, as the id tells. */
	env.created = im->arrived;
	/* The descriptor stays open until the round that makes the file
	 * durable has measured it again (syncer.h). */
	env_clear(&im->env);
	im->env = env;
	im->reqid = m->peerid;
	im->err = 0;
	enqueue(im);
}

void
commit_internal(const char *id, struct envelope *env,
    const struct commit_hook *hook)
{
	struct inmsg *im = xcalloc(1, sizeof(*im));

	strlcpy(im->id, id, sizeof(im->id));
	im->fd = -1;
	im->env = *env;                /* taken over */
	env_init(env);
	if (hook != NULL)
		im->hook = *hook;
	enqueue(im);
}

static void
do_rollback(struct qpeer *p, struct chan_msg *m)
{
	struct wire_msgid w;
	struct inmsg *im;

	if (wire_msgid_decode(m, &w) == -1 || (im = find(p, w.msgid)) == NULL) {
		log_debug("smtpd: Q_ROLLBACK for unknown message %s",
		    w.msgid[0] != '\0' ? w.msgid : "(malformed)");
		return;
	}
	/* The client never saw a 250: the message must not be delivered
	 * unless it is already in the index. */
	switch (im->stage) {
	case IN_SYNCING:
		im->dropped = true;       /* the round's end removes it */
		detach(im);
		break;
	case IN_STORED:
		log_info("%s: rollback after the commit: it will be delivered",
		    im->id);
		detach(im);
		break;
	default:
		log_debug("%s: rolled back", im->id);
		inmsg_free(im, false);
		break;
	}
}

void
commit_msg(struct qpeer *p, struct chan_msg *m)
{
	switch (m->type) {
	case Q_CREATE:
		do_create(p, m);
		break;
	case Q_COMMIT:
		do_commit(p, m);
		break;
	case Q_ROLLBACK:
		do_rollback(p, m);
		break;
	default:
		log_warnx("smtpd: unexpected %s, ignored", msg_name(m->type));
		break;
	}
}

void
commit_peer_gone(struct qpeer *p, const char *why)
{
	struct inmsg *im;

	while ((im = TAILQ_FIRST(&p->incoming)) != NULL) {
		if (im->stage == IN_SYNCING || im->stage == IN_STORED) {
			if (im->stage == IN_SYNCING)
				im->dropped = true;
			detach(im);
			continue;
		}
		log_info("%s: rolled back (%s)", im->id, why);
		inmsg_free(im, false);
	}
}

static bool
commit_pending(void)
{
	return nwaiting + nsyncing + npublished + nstored > 0;
}

static bool
commit_waiting(void)
{
	return nwaiting > 0;
}

static bool
commit_published(void)
{
	return npublished > 0;
}

static void
commit_take_waiting(struct sync_item **items, size_t *n)
{
	struct inmsg *im;
	size_t i = 0;

	*items = NULL;
	*n = 0;
	if (nwaiting == 0)
		return;
	*items = xcalloc(nwaiting, sizeof(**items));
	while ((im = TAILQ_FIRST(&waiting)) != NULL) {
		struct sync_item *it = &(*items)[i++];

		TAILQ_REMOVE(&waiting, im, sentry);
		nwaiting--;
		strlcpy(it->id, im->id, sizeof(it->id));
		it->fd = im->fd;              /* -1 for internal messages */
		it->size = im->env.size;
		im->stage = IN_SYNCING;
		TAILQ_INSERT_TAIL(&syncing, im, sentry);
		nsyncing++;
	}
	*n = i;
}

static void
fail_msg(struct inmsg *im, int err)
{
	if (err == 0)
		err = EIO;
	if (im->peer != NULL) {
		log_warnx("%s: commit failed, message refused with a temporary "
		    "error", im->id);
		reply_fail(im->peer, Q_COMMIT_FAIL, im->reqid, err,
		    "4.3.0 Queue error, try again later");
	} else
		log_warnx("%s: could not be queued", im->id);
	inmsg_free(im, false);
}

static void
commit_round_done(struct sync_item *items, size_t n, int sync_err)
{
	struct inmsg *im;
	size_t i;

	/* The syncing list is in the order of the items. */
	for (i = 0; i < n && (im = TAILQ_FIRST(&syncing)) != NULL; i++) {
		int err = items[i].err;

		if (strcmp(items[i].id, im->id) != 0)
			fatalx("commit: round items out of order");
		TAILQ_REMOVE(&syncing, im, sentry);
		nsyncing--;
		if (im->fd != -1) {
			close(im->fd);
			im->fd = -1;
		}
		/* Not renamed: still in incoming/, on no list (the stage tells
		 * inmsg_free() where the file is). */
		if (err != 0)
			im->stage = IN_OPEN;
		else {
			im->stage = IN_PUBLISHED;
			TAILQ_INSERT_TAIL(&published, im, sentry);
			npublished++;
		}
		if (im->dropped) {
			log_debug("%s: rolled back", im->id);
			inmsg_free(im, false);
			continue;
		}
		if (err != 0 || sync_err != 0) {
			errno = err != 0 ? err : sync_err;
			log_warn("%s: cannot make the message durable", im->id);
			fail_msg(im, errno);
		} else if (items[i].changed) {
			log_warnx("%s: commit refused: the file changed after its "
			    "commit (%" PRIu64 " octets then): someone kept writing",
			    im->id, items[i].size);
			fail_msg(im, EIO);
		}
	}
}

static void
commit_batch_store(void)
{
	struct inmsg *im, *tmp;
	int64_t now = wall_s();

	void *mark;

	TAILQ_FOREACH_SAFE(im, &published, sentry, tmp) {
		strlcpy(im->env.id, im->id, sizeof(im->env.id));
		if (im->env.created == 0)
			im->env.created = now;
		/* One savepoint per message: a row that fails does not take
		 * the rest of the batch with it (nor do the removals its
		 * hook asked for). */
		if (store_savepoint(Q.store) == -1) {
			im->err = EIO;
			continue;
		}
		mark = removal_mark();
		if (store_insert(Q.store, &im->env, now) == -1 ||
		    (im->hook.stored != NULL && !im->hook.stored(im->hook.arg))) {
			im->err = store_full(Q.store) ? ENOSPC : EIO;
			store_rollback_to(Q.store);
			removal_rewind(mark);
			log_warnx("%s: cannot insert into the queue index", im->id);
			continue;
		}
		if (store_release(Q.store) == -1) {
			im->err = EIO;
			store_rollback_to(Q.store);
			removal_rewind(mark);
			continue;
		}
		im->err = 0;
	}
}

static void
log_queued(const struct inmsg *im)
{
	char sender[512];

	log_info("%s: from=<%s>, size=%" PRIu64 ", nrcpt=%zu (queue active)", im->id,
	    log_sanitize(im->env.sender, sender, sizeof(sender)),
	    im->env.size, im->env.nrcpt);
}

static void
stored_durable(void *arg, bool ok)
{
	struct inmsg *im = arg;

	if (im->hook.durable != NULL)
		im->hook.durable(im->hook.arg, ok);
	if (!ok) {
		/* In the index but maybe not on disk: refuse (the client
		 * retries), keep it (it may be delivered twice). */
		log_warnx("%s: not known to be durable: %s, the queued copy is "
		    "kept", im->id, im->peer != NULL ? "the client is told to retry" :
		    "queued anyway");
		reply_fail(im->peer, Q_COMMIT_FAIL, im->reqid, EIO,
		    "4.3.0 Queue error, try again later");
		inmsg_free(im, true);
		return;
	}
	log_queued(im);
	if (im->peer != NULL) {
		if (im->peer->ch != NULL)
			(void)send_msgid(im->peer->ch, Q_COMMIT_OK, im->reqid,
			    -1, im->id);
		QC.messages++;
	}
	/* After the answer: a plugin never delays the client's 250. */
	if (qevent_wanted(EM_EVENT_MESSAGE_QUEUED)) {
		struct em_context *ctx = qevent_new(&im->env);
		size_t i;

		for (i = 0; i < im->env.nrcpt; i++)
			plugin_ctx_add_rcpt(ctx, im->env.rcpt[i].addr);
		qevent_fire(EM_EVENT_MESSAGE_QUEUED, ctx);
	}
	inmsg_free(im, true);
	sched_kick();
}

static void
commit_batch_stored(bool committed)
{
	struct inmsg *im;

	while ((im = TAILQ_FIRST(&published)) != NULL) {
		if (!committed || im->err != 0) {
			fail_msg(im, committed ? im->err :
			    store_full(Q.store) ? ENOSPC : EIO);
			continue;
		}
		TAILQ_REMOVE(&published, im, sentry);
		npublished--;
		im->stage = IN_STORED;
		nstored++;
		pipeline_after_durable(stored_durable, im);
	}
}

/* ---- the pipeline client (pipeline.h) ---- */

static void
commit_round_fill(struct sync_round *r)
{
	commit_take_waiting(&r->publish, &r->npublish);
}

static void
commit_round_over(struct sync_round *r)
{
	commit_round_done(r->publish, r->npublish, r->sync_err);
	free(r->publish);
	r->publish = NULL;
}

const struct pipeline_client commit_client = {
	.name = "commit",
	.index_wanted = commit_published,
	.index_apply = commit_batch_store,
	.index_done = commit_batch_stored,
	.round_wanted = commit_waiting,
	.round_fill = commit_round_fill,
	.round_done = commit_round_over,
	.pending = commit_pending,
};
