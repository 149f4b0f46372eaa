/* The smtpd side of the queue: a new message file for each DATA, the
 * durable commit, the rollback.
 *
 * A commit is never done inline in the message handler: Q_COMMITs that
 * arrive in the same loop iteration wait in `batch` and are committed
 * together by the write batch (main.c): every fdatasync, every rename, ONE
 * fsync of queue/, ONE sqlite transaction, and only then the Q_COMMIT_OKs.
 * While that work runs, new commits pile up in the sockets and form the
 * next batch: the busier the queue, the more messages share each sync. */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "log.h"
#include "queued.h"
#include "spool.h"
#include "ulid.h"
#include "util.h"

enum in_stage {
	IN_OPEN,            /* in incoming/, smtpd writing */
	IN_PUBLISHED,       /* synced and renamed into queue/ */
	IN_STORED,          /* inserted in the open transaction */
};

struct inmsg {
	TAILQ_ENTRY(inmsg) pentry;     /* peer->incoming */
	TAILQ_ENTRY(inmsg) bentry;     /* batch, while committing */
	struct qpeer      *peer;
	char               id[ULID_LEN + 1];
	int                fd;         /* our own, for the fdatasync */
	bool               committing;
	uint32_t           reqid;      /* Q_COMMIT request id */
	enum in_stage      stage;
	int                err;        /* errno of a failed step, 0 if none */
	struct envelope    env;
};

static struct inmsg_list batch = TAILQ_HEAD_INITIALIZER(batch);
static size_t max_incoming = 1000;

void
commit_set_limit(size_t n)
{
	max_incoming = n > 0 ? n : 1;
}

static void
reply_fail(struct qpeer *p, uint16_t type, uint32_t reqid, int err,
    const char *text)
{
	struct msgbuf mb;
	bool full = err == ENOSPC || err == EDQUOT;

	mb_init(&mb);
	mb_u32(&mb, full ? 452 : 451);
	mb_str(&mb, full ? "4.3.1 Insufficient system storage" : text);
	if (p->ch != NULL)
		chan_send_mb(p->ch, type, reqid, -1, &mb);
	mb_free(&mb);
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

/* Forget a message; remove its file unless it was committed (keep). */
static void
inmsg_free(struct inmsg *im, bool keep)
{
	struct qpeer *p = im->peer;

	if (im->committing)
		TAILQ_REMOVE(&batch, im, bentry);
	TAILQ_REMOVE(&p->incoming, im, pentry);
	p->nincoming--;
	if (im->fd != -1)
		close(im->fd);
	if (!keep) {
		if (im->stage == IN_OPEN)
			spool_discard_incoming(im->id);
		else
			spool_remove(im->id);
	}
	env_clear(&im->env);
	free(im);
	queued_check_stop();
}

static void
do_create(struct qpeer *p, struct chan_msg *m)
{
	struct inmsg *im;
	struct msgbuf mb;
	int fd;

	if (Q.stopping || Q.store == NULL) {
		reply_fail(p, Q_CREATE_FAIL, m->peerid, 0,
		    "4.3.2 Queue is shutting down");
		return;
	}
	if (p->nincoming >= max_incoming) {
		log_warnx("too many messages being received (%zu), refusing one",
		    p->nincoming);
		reply_fail(p, Q_CREATE_FAIL, m->peerid, 0,
		    "4.3.0 Too many messages being received, try again later");
		return;
	}
	im = xcalloc(1, sizeof(*im));
	env_init(&im->env);
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
	im->fd = fd;
	im->peer = p;
	im->stage = IN_OPEN;
	TAILQ_INSERT_TAIL(&p->incoming, im, pentry);
	p->nincoming++;

	mb_init(&mb);
	mb_str(&mb, im->id);
	if (chan_send_mb(p->ch, Q_CREATE_OK, m->peerid, fd, &mb) == -1) {
		log_warnx("%s: cannot hand the file to smtpd", im->id);
		inmsg_free(im, false);
	} else
		log_debug("%s: created for request %u", im->id, m->peerid);
	mb_free(&mb);
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
do_commit(struct qpeer *p, struct chan_msg *m)
{
	struct envelope env;
	struct msgreader mr;
	struct inmsg *im;
	const char *problem;

	env_init(&env);
	mr_init(&mr, m);
	if (env_decode(&env, &mr) == -1) {
		log_warnx("smtpd: malformed Q_COMMIT (request %u), refused", m->peerid);
		reply_fail(p, Q_COMMIT_FAIL, m->peerid, 0, "4.3.0 Queue error");
		return;
	}
	if (!ulid_valid(env.id) || (im = find(p, env.id)) == NULL ||
	    im->committing) {
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
	 * peer's word, kept as data. */
	env_clear(&im->env);
	im->env = env;
	im->committing = true;
	im->reqid = m->peerid;
	im->err = 0;
	TAILQ_INSERT_TAIL(&batch, im, bentry);
	batch_schedule();
}

static void
do_rollback(struct qpeer *p, struct chan_msg *m)
{
	struct msgreader mr;
	struct inmsg *im;
	const char *id;

	mr_init(&mr, m);
	id = mr_str(&mr);
	if (!mr_done(&mr) || !ulid_valid(id) || (im = find(p, id)) == NULL) {
		char buf[64];

		log_debug("smtpd: Q_ROLLBACK for unknown message %s",
		    log_sanitize(id, buf, sizeof(buf)));
		return;
	}
	/* A rollback overtakes a commit still waiting for its batch: the
	 * client never saw a 250, so the message must not be delivered. */
	log_debug("%s: rolled back", im->id);
	inmsg_free(im, false);
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
		log_info("%s: rolled back (%s)", im->id, why);
		inmsg_free(im, false);
	}
}

bool
commit_pending(void)
{
	return !TAILQ_EMPTY(&batch);
}

void
commit_batch_sync(void)
{
	struct inmsg *im;
	struct stat sb;
	bool published = false;

	/* Data first: each file's blocks and size on disk. */
	TAILQ_FOREACH(im, &batch, bentry) {
		if (fstat(im->fd, &sb) == -1 || fdatasync(im->fd) == -1) {
			im->err = errno;
			log_warn("%s: cannot sync the message file", im->id);
			continue;
		}
		im->env.size = (uint64_t)sb.st_size;
	}
	/* Then the names: renames, and one directory sync for all. */
	TAILQ_FOREACH(im, &batch, bentry) {
		if (im->err != 0)
			continue;
		if (spool_publish(im->id) == -1) {
			im->err = errno;
			log_warn("%s: cannot move the message into %s/", im->id,
			    SPOOL_QUEUE);
			continue;
		}
		im->stage = IN_PUBLISHED;
		published = true;
	}
	if (published && spool_sync_queue() == -1) {
		int err = errno;

		log_warn("cannot sync the %s/ directory", SPOOL_QUEUE);
		TAILQ_FOREACH(im, &batch, bentry)
			if (im->err == 0)
				im->err = err;
	}
}

void
commit_batch_store(void)
{
	struct inmsg *im;
	int64_t now = wall_s();

	TAILQ_FOREACH(im, &batch, bentry) {
		if (im->err != 0)
			continue;
		strlcpy(im->env.id, im->id, sizeof(im->env.id));
		im->env.created = now;
		/* One savepoint per message: a row that fails does not take
		 * the rest of the batch with it. */
		if (store_savepoint(Q.store) == -1) {
			im->err = EIO;
			continue;
		}
		if (store_insert(Q.store, &im->env, now) == -1) {
			im->err = EIO;
			store_rollback_to(Q.store);
			log_warnx("%s: cannot insert into the queue index", im->id);
			continue;
		}
		if (store_release(Q.store) == -1) {
			im->err = EIO;
			store_rollback_to(Q.store);
			continue;
		}
		im->stage = IN_STORED;
	}
}

static void
log_queued(const struct inmsg *im)
{
	char sender[512];

	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", im->id,
	    log_sanitize(im->env.sender, sender, sizeof(sender)),
	    (unsigned long long)im->env.size, im->env.nrcpt);
}

void
commit_batch_finish(bool committed)
{
	struct inmsg *im;
	struct msgbuf mb;
	size_t ok = 0, n = 0;

	while ((im = TAILQ_FIRST(&batch)) != NULL) {
		struct qpeer *p = im->peer;

		n++;
		if (committed && im->err == 0 && im->stage == IN_STORED) {
			log_queued(im);
			mb_init(&mb);
			mb_str(&mb, im->id);
			if (p->ch != NULL)
				chan_send_mb(p->ch, Q_COMMIT_OK, im->reqid, -1, &mb);
			mb_free(&mb);
			inmsg_free(im, true);
			ok++;
			continue;
		}
		if (im->err == 0)
			im->err = EIO;
		log_warnx("%s: commit failed, message refused with a temporary error",
		    im->id);
		reply_fail(p, Q_COMMIT_FAIL, im->reqid, im->err,
		    "4.3.0 Queue error, try again later");
		inmsg_free(im, false);
	}
	if (n > 1)
		log_debug("group commit: %zu of %zu messages", ok, n);
	if (ok > 0)
		sched_kick();
}
