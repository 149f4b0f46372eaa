/* SPDX-License-Identifier: ISC */
/* empath-queued: the queue manager. Owns the spool (chrooted into it, or
 * chdir()ed into it when unprivileged: every path is relative), the sqlite
 * index, the scheduler. This file holds the daemon glue: start-up and the
 * spool lock, the peer channels and the routing of their messages, the
 * stop. See queued.h for the module map and empath-queued(8) for the
 * queue. */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"
#include "event.h"
#include "log.h"
#include "queued.h"
#include "sandbox.h"
#include "spool.h"
#include "util.h"

/* Graceful stop: how long to wait for in-flight jobs and receptions.
 * The master gives every daemon 10 s before SIGKILL. */
#define STOP_GRACE_MS   8000
#define STOP_POLL_MS    100
/* Descriptors kept for the database, the channels, the directory scans. */
#define FD_RESERVE      64
/* One queued per spool: held for the process's lifetime. A new master
 * may start a queued while the old one (its master killed) still exits. */
#define SPOOL_LOCK      "queued.lock"
#define LOCK_RETRY_MS   200
#define LOCK_LOG_MS     10000

struct queued Q;

static struct qpeer *peers[PROC_COUNT];
_Static_assert(PROC_COUNT == 5, "pending_fd initialiser");
static int pending_fd[PROC_COUNT] = { -1, -1, -1, -1, -1 };
static struct ev_timer *stop_timer;
static uint64_t stop_deadline;
static int lock_fd = -1;
static struct ev_timer *lock_timer;
static uint64_t lock_since, lock_logged;

static const char *
chroot_dir(const struct config *cfg)
{
	return cfg->spool;
}

static void
configure(struct config *cfg)
{
	char err[1400];

	Q.cfg = cfg;
	commit_configure(cfg);
	drop_configure(cfg);
	/* Before the chroot and the sandbox: the plugins' files, and what
	 * their init opens, are reachable only now. The master parsed the
	 * file; the snapshot is named "config" as in its other errors. */
	if (qevents_load(cfg, "config", err, sizeof(err)) == -1)
		fatalx("%s", err);
}

/* ---- peers ---- */

static const char *
peer_chan_name(enum proc_id proc)
{
	switch (proc) {
	case PROC_SMTPD:    return "smtpd>queued";
	case PROC_DELIVERD: return "deliverd>queued";
	case PROC_CTLD:     return "ctld>queued";
	default:            return "peer>queued";
	}
}

static void
peer_msg(struct channel *ch, struct chan_msg *m, void *arg)
{
	struct qpeer *p = arg;

	(void)ch;
	switch (p->proc) {
	case PROC_SMTPD:
		commit_msg(p, m);
		break;
	case PROC_DELIVERD:
		sched_result(m);
		break;
	case PROC_CTLD:
		ops_msg(p, m);
		break;
	default:
		log_warnx("%s: unexpected %s, ignored", proc_name(p->proc),
		    msg_name(m->type));
		break;
	}
}

/* The channel is going (closed by the peer, or replaced): what was
 * pending on it fails as a temporary error, nothing waits for it. */
static void
peer_gone(struct qpeer *p, const char *why)
{
	if (p->proc == PROC_SMTPD)
		commit_peer_gone(p, why);
	else if (p->proc == PROC_DELIVERD)
		sched_channel_gone();
	else if (p->proc == PROC_CTLD)
		ops_peer_gone(p);
	p->ch = NULL;
	if (peers[p->proc] == p)
		peers[p->proc] = NULL;
	free(p);
	queued_check_stop();
}

static void
peer_closed(struct channel *ch, void *arg)
{
	struct qpeer *p = arg;

	(void)ch;
	log_info("channel to %s closed", proc_name(p->proc));
	peer_gone(p, "smtpd channel closed");
}

static void
peer_attach(enum proc_id proc, int fd)
{
	struct qpeer *old = peers[proc], *p;

	if (old != NULL) {
		struct channel *ch = old->ch;

		log_info("new channel to %s replaces the old one", proc_name(proc));
		peer_gone(old, "smtpd channel replaced");
		chan_free(ch);
	}
	p = xcalloc(1, sizeof(*p));
	p->proc = proc;
	TAILQ_INIT(&p->incoming);
	p->ch = chan_new(fd, peer_chan_name(proc), peer_msg, peer_closed, p);
	peers[proc] = p;
	if (proc == PROC_DELIVERD)
		sched_set_channel(p->ch);
	log_debug("channel to %s ready", proc_name(proc));
}

static void
peer(enum proc_id proc, int fd)
{
	if (proc != PROC_SMTPD && proc != PROC_DELIVERD && proc != PROC_CTLD) {
		log_warnx("channel to %s offered, not one of queued's peers",
		    proc_name(proc));
		close(fd);
		return;
	}
	/* Before start the store is not open and recovery has not run:
	 * serve nobody yet, the peer's frames wait in the socket. */
	if (!Q.started) {
		if (pending_fd[proc] != -1)
			close(pending_fd[proc]);
		pending_fd[proc] = fd;
		return;
	}
	if (Q.stopping) {
		close(fd);
		return;
	}
	peer_attach(proc, fd);
}

/* ---- start ---- */

/* Every message being received holds a descriptor here: take the hard
 * limit, and size the reception limit from it. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;
	size_t reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1000000)
		rl.rlim_cur = 1000000;
	/* The pool of ready files holds descriptors too. */
	reserve = FD_RESERVE + pool_max();
	commit_set_limit(rl.rlim_cur > 2 * reserve ?
	    (size_t)(rl.rlim_cur - reserve) : FD_RESERVE);
}

/* The spool is ours: open the index (nothing in the spool is touched
 * before it is known good), recover, serve. */
static void
open_queue(void)
{
	char err[512];
	int i;

	Q.store = store_open(SPOOL_DB, err, sizeof(err));
	if (Q.store == NULL)
		fatalx("queue database unusable: %s; queued stops, message files "
		    "are left untouched in %s", err, Q.cfg->spool);
	/* The order of their calls in a round (pipeline.h): the inserts,
	 * the results, the pool files (which recycle removed files), the
	 * removals, and the notices the results made owed. */
	pipeline_register(&commit_client);
	pipeline_register(&sched_client);
	pipeline_register(&pool_client);
	pipeline_register(&removal_client);
	pipeline_register(&bounce_client);
	if (pipeline_start(Q.store, queued_check_stop) == -1)
		fatal("cannot start the sync thread");
	recover(Q.store);
	sched_init();
	Q.started = true;
	Q.start_time = wall_s();
	for (i = 0; i < PROC_COUNT; i++) {
		if (pending_fd[i] != -1) {
			peer_attach((enum proc_id)i, pending_fd[i]);
			pending_fd[i] = -1;
		}
	}
	drop_start();
	log_info("queue ready in %s", Q.cfg->spool);
}

/* Take the spool lock; false while another queued holds it. */
static bool
take_lock(void)
{
	if (lock_fd == -1 && (lock_fd = open(SPOOL_LOCK,
	    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		fatal("spool %s: cannot open %s", Q.cfg->spool, SPOOL_LOCK);
	if (flock(lock_fd, LOCK_EX | LOCK_NB) == 0)
		return true;
	if (errno != EWOULDBLOCK && errno != EINTR)
		fatal("spool %s: cannot lock %s", Q.cfg->spool, SPOOL_LOCK);
	return false;
}

static void
lock_retry(void *arg)
{
	uint64_t now = mono_ms();

	(void)arg;
	if (Q.stopping) {
		log_info("stopping before the spool was free");
		daemon_exit(0);
	}
	if (!take_lock()) {
		if (now - lock_logged >= LOCK_LOG_MS) {
			log_warnx("spool %s still locked by another empath-queued "
			    "after %" PRIu64 " s: waiting", Q.cfg->spool,
			    (now - lock_since) / 1000);
			lock_logged = now;
		}
		ev_timer_start(lock_timer, LOCK_RETRY_MS);
		return;
	}
	log_info("spool %s: lock taken after %" PRIu64 " ms", Q.cfg->spool,
	    (now - lock_since));
	ev_timer_free(lock_timer);
	lock_timer = NULL;
	open_queue();
}

static void
start(void)
{
	/* The index and its WAL hold envelopes: private, like the files. */
	umask(077);
	raise_fd_limit();
	if (spool_init() == -1)
		fatal("spool %s: cannot prepare %s/, %s/ and %s/", Q.cfg->spool,
		    SPOOL_INCOMING, SPOOL_QUEUE, SPOOL_CORRUPT);
	drop_open();
	sandbox_enter(PROC_QUEUED);
	if (take_lock()) {
		open_queue();
		return;
	}
	/* Nothing is touched, the database is not even opened, until the
	 * other queued is gone. */
	log_warnx("spool %s is locked by another empath-queued (one still "
	    "exiting?): waiting for it before touching the queue", Q.cfg->spool);
	lock_since = lock_logged = mono_ms();
	lock_timer = ev_timer_new(lock_retry, NULL);
	ev_timer_start(lock_timer, LOCK_RETRY_MS);
}

/* ---- stop ---- */

static void
finish(void)
{
	int i;

	/* Receptions still open will never commit now. */
	if (peers[PROC_SMTPD] != NULL)
		commit_peer_gone(peers[PROC_SMTPD], "queued stopping");
	for (i = 0; i < PROC_COUNT; i++)
		if (peers[i] != NULL && peers[i]->ch != NULL)
			chan_flush(peers[i]->ch);
	pipeline_stop();
	store_close(Q.store);
	Q.store = NULL;
	spool_close();
	drop_close();
	qevents_unload();
	log_info("queue closed");
	daemon_exit(0);
}

static bool
stop_ready(void)
{
	const struct qpeer *s = peers[PROC_SMTPD];

	if (!pipeline_idle())
		return false;
	/* Results of jobs in flight: waiting saves a second delivery. */
	if (sched_jobs() > 0 && peers[PROC_DELIVERD] != NULL)
		return false;
	/* smtpd, stopping too, finishes its transactions: their commits. */
	return s == NULL || s->nincoming == 0;
}

static void
stop_tick(void *arg)
{
	(void)arg;
	if (stop_ready())
		finish();
	if (mono_ms() >= stop_deadline) {
		log_warnx("stop: %zu jobs still in flight and %zu receptions open "
		    "after %d s, closing anyway", sched_jobs(),
		    peers[PROC_SMTPD] ? peers[PROC_SMTPD]->nincoming : 0,
		    STOP_GRACE_MS / 1000);
		finish();
	}
	ev_timer_start(stop_timer, STOP_POLL_MS);
}

void
queued_check_stop(void)
{
	/* Only a wake-up: exiting from inside a handler or the batch would
	 * cut its work short. */
	if (Q.stopping && stop_timer != NULL)
		ev_timer_start(stop_timer, 0);
}

static void
stop(void)
{
	if (Q.stopping)
		return;
	Q.stopping = true;
	log_info("stopping: no new jobs nor receptions, finishing commits");
	sched_stop();
	drop_stop();
	stop_deadline = mono_ms() + STOP_GRACE_MS;
	stop_timer = ev_timer_new(stop_tick, NULL);
	ev_timer_start(stop_timer, 0);
}

static void
master_msg(struct chan_msg *m)
{
	if (m->type == M_USER_NAME) {
		drop_user_name(m);
		return;
	}
	log_debug("unexpected %s from master", msg_name(m->type));
}

static const struct daemon_ops ops = {
	.self = PROC_QUEUED,
	.chroot_dir = chroot_dir,
	.chdir_unprivileged = true,
	.configure = configure,
	.peer = peer,
	.start = start,
	.master_msg = master_msg,
	.stop = stop,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &ops);
}
