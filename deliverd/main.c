/* SPDX-License-Identifier: ISC */
/* empath-deliverd: takes delivery jobs from queued, delivers them over
 * SMTP, answers each with a result per recipient.
 *
 * Channels: the master (fd 3, handled by lib/daemon.c), queued (D_JOB in,
 * D_RESULT out) and ctld (status). Either peer may restart: a new M_PEER
 * replaces its channel. Losing queued aborts every job, since their
 * results could not reach it; queued puts them back in the queue. */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dns_control.h"
#include "daemon.h"
#include "deliverd.h"
#include "delivery_events.h"
#include "event.h"
#include "log.h"
#include "proto.h"
#include "route.h"
#include "sandbox.h"
#include "util.h"

/* After the last job, how long the last results may take to leave. */
#define EXIT_DRAIN_MS 2000

static struct channel *queued_chan, *ctld_chan;
static struct ev_timer *exit_timer;
static uint64_t exit_deadline;

struct channel *
deliverd_queued(void)
{
	return queued_chan;
}

static void
send_status(struct channel *c, uint32_t id)
{
	struct msgbuf mb;

	mb_init(&mb);
	mb_u32(&mb, job_active());
	mb_u32(&mb, client_count());
	chan_send_mb(c, D_STATUS, id, -1, &mb);
	mb_free(&mb);
}

static void
queued_msg(struct channel *c, struct chan_msg *m, void *arg)
{
	(void)arg;
	switch (m->type) {
	case D_JOB:
		job_submit(m);
		break;
	case D_STATUS_REQ:
		send_status(c, m->peerid);
		break;
	case MSG_HELLO:
		break;
	default:
		log_warnx("%s: unexpected %s", chan_name(c), msg_name(m->type));
		break;
	}
}

static void
queued_closed(struct channel *c, void *arg)
{
	(void)arg;
	if (c != queued_chan)
		return;
	queued_chan = NULL;
	log_warnx("channel to queued closed, aborting %u deliveries",
	    job_active());
	job_abort_all(NULL);
}

static void
ctld_msg(struct channel *c, struct chan_msg *m, void *arg)
{
	(void)arg;
	if (control_msg(c, m))
		return;
	switch (m->type) {
	case D_STATUS_REQ:
		send_status(c, m->peerid);
		break;
	case MSG_HELLO:
		break;
	default:
		log_warnx("%s: unexpected %s", chan_name(c), msg_name(m->type));
		break;
	}
}

static void
ctld_closed(struct channel *c, void *arg)
{
	(void)arg;
	control_channel_gone(c);
	if (c == ctld_chan)
		ctld_chan = NULL;
}

static void
deliverd_peer(enum proc_id proc, int fd)
{
	switch (proc) {
	case PROC_QUEUED:
		if (queued_chan != NULL) {
			/* Jobs of the old channel cannot be answered on
			 * the new one: the new queued has requeued them. */
			chan_free(queued_chan);
			queued_chan = NULL;
			job_abort_all(NULL);
		}
		queued_chan = chan_new(fd, "deliverd>queued", queued_msg,
		    queued_closed, NULL);
		break;
	case PROC_CTLD:
		if (ctld_chan != NULL) {
			control_channel_gone(ctld_chan);
			chan_free(ctld_chan);
		}
		ctld_chan = chan_new(fd, "deliverd>ctld", ctld_msg, ctld_closed,
		    NULL);
		break;
	default:
		log_warnx("unexpected peer channel for %s", proc_name(proc));
		close(fd);
		break;
	}
}

static void
deliverd_listen(enum listen_kind kind, unsigned index, int fd)
{
	log_warnx("unexpected listening socket (kind %d, index %u)", (int)kind,
	    index);
	close(fd);
}

static void
deliverd_configure(struct config *cfg)
{
	struct rlimit rl;

	/* A failed write to a closed connection is an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	/* Each running job holds a message fd and a socket. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
	route_configure(cfg);
	client_configure(cfg);
	/* Before the sandbox: dlopen() reads files and maps code. */
	devents_configure(cfg);
}

static void
deliverd_start(void)
{
	sandbox_enter(PROC_DELIVERD);
	log_info("deliverd ready, up to %u deliveries at once",
	    job_concurrency());
	job_start();
}

static void
exit_check(void *arg)
{
	(void)arg;
	if (queued_chan == NULL || chan_pending(queued_chan) == 0 ||
	    mono_ms() >= exit_deadline) {
		devents_unload();
		daemon_exit(0);
	}
	ev_timer_start(exit_timer, 10);
}

static void
stopped(void)
{
	client_close_all();
	exit_deadline = mono_ms() + EXIT_DRAIN_MS;
	exit_timer = ev_timer_new(exit_check, NULL);
	/* From the loop: the last results are still being queued now. */
	ev_timer_start(exit_timer, 0);
}

static void
deliverd_stop(void)
{
	log_info("stopping: %u deliveries in progress", job_active());
	job_shutdown(stopped);
}

static void
deliverd_master_msg(struct chan_msg *m)
{
	log_debug("master: ignoring %s", msg_name(m->type));
}

int
main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
		.self = PROC_DELIVERD,
		.chroot_dir = daemon_empty_dir,
		.chdir_unprivileged = false,
		.configure = deliverd_configure,
		.listen = deliverd_listen,
		.peer = deliverd_peer,
		.start = deliverd_start,
		.master_msg = deliverd_master_msg,
		.stop = deliverd_stop,
	};

	return daemon_main(argc, argv, &ops);
}
