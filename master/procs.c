/* SPDX-License-Identifier: ISC */
/* Starting, plumbing, restarting and stopping the daemons. */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "sdnotify.h"
#include "util.h"
#include "wire.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR "/usr/libexec/empath"
#endif

#define BACKOFF_MIN_MS     250
#define BACKOFF_MAX_MS     30000
#define STABLE_AFTER_MS    60000     /* a daemon up this long restarts fast again */
#define STOP_GRACE_MS      8000      /* SIGKILL what is left after this */
/* A daemon that exits this many times in a row before it is ready (a
 * missing certificate, an unreadable spool) is down: the master closes
 * the sockets it serves, so that clients are refused at once instead of
 * waiting for a greeting, and retries at the longest backoff. */
#define START_FAILS_DOWN   5

/* Which daemons talk to each other directly. */
static const enum proc_id links[][2] = {
	{ PROC_SMTPD, PROC_QUEUED },
	{ PROC_QUEUED, PROC_DELIVERD },
	{ PROC_CTLD, PROC_QUEUED },
	{ PROC_CTLD, PROC_DELIVERD },
};

/* Start order: the queue first, so that smtpd finds it. */
static const enum proc_id start_order[] = {
	PROC_QUEUED, PROC_DELIVERD, PROC_SMTPD, PROC_CTLD,
};

static void proc_start(struct proc *);

/* What the daemons get of the master's environment: nothing else, so a
 * stray variable in the master's environment (a test fault switch) never
 * reaches them. EMPATH_TEST_* only with -T, for the test suite. */
static const char *const env_keep[] = {
	"TZ",
	"SSL_CERT_FILE", "SSL_CERT_DIR",   /* openssl's CA overrides (tls.c) */
	"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", /* sanitizer builds */
};
#define ENV_TEST_PREFIX "EMPATH_TEST_"
#define ENV_MAX         32

static char *daemon_env[ENV_MAX + 1];

/* Built once, before any fork. */
static void
build_env(void)
{
	extern char **environ;
	size_t n = 0, i, len;
	char **e;

	for (e = environ; e && *e && n < ENV_MAX; e++) {
		const char *eq = strchr(*e, '=');
		bool keep = false;

		if (eq == NULL)
			continue;
		len = (size_t)(eq - *e);
		for (i = 0; i < nitems(env_keep); i++)
			if (strlen(env_keep[i]) == len &&
			    strncmp(*e, env_keep[i], len) == 0)
				keep = true;
		if (M.test_env && strncmp(*e, ENV_TEST_PREFIX,
		    strlen(ENV_TEST_PREFIX)) == 0)
			keep = true;
		if (keep)
			daemon_env[n++] = *e;
	}
	daemon_env[n] = NULL;
}

/* Daemons live beside the master in a build tree, else in LIBEXECDIR. */
static void
daemon_path(enum proc_id id, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(buf, len, "%s/empath-%s", self,
			    proc_name(id)) < len && access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "%s/empath-%s", LIBEXECDIR, proc_name(id));
}

static void
send_procs(void)
{
	struct proc *ctld = &M.procs[PROC_CTLD];
	struct wire_procs w;
	struct msgbuf b;
	int i;

	if (ctld->chan == NULL)
		return;
	w.start = (uint64_t)M.started;
	w.n = 0;
	for (i = PROC_SMTPD; i < PROC_COUNT; i++) {
		struct wire_proc *p = &w.p[w.n++];

		p->proc = (uint32_t)i;
		/* A daemon given up on is down even while it tries again. */
		p->pid = M.procs[i].down && !M.procs[i].ready ? 0 :
		    (uint32_t)M.procs[i].pid;
		p->started = (uint64_t)M.procs[i].started;
		p->restarts = M.procs[i].restarts;
	}
	mb_init(&b);
	if (wire_procs_encode(&b, &w) == 0)
		chan_send_mb(ctld->chan, M_PROCS, 0, -1, &b);
	mb_free(&b);
}

static void
send_peer(struct proc *p, enum proc_id peer, int fd)
{
	struct wire_peer w = { .proc = peer };
	struct msgbuf b;

	mb_init(&b);
	if (wire_peer_encode(&b, &w) == 0)
		chan_send_mb(p->chan, M_PEER, 0, fd, &b);
	mb_free(&b);
}

/* Give p a fresh channel to every running peer, and the peer one to p. */
static void
plumb(struct proc *p)
{
	size_t i;
	int sv[2];

	for (i = 0; i < nitems(links); i++) {
		struct proc *q;

		if (links[i][0] == p->id)
			q = &M.procs[links[i][1]];
		else if (links[i][1] == p->id)
			q = &M.procs[links[i][0]];
		else
			continue;
		if (q->chan == NULL)
			continue;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
			log_warn("socketpair for %s-%s", proc_name(p->id),
			    proc_name(q->id));
			continue;
		}
		send_peer(p, q->id, sv[0]);
		send_peer(q, p->id, sv[1]);
		close(sv[0]);
		close(sv[1]);
	}
}

static void
send_listen(struct proc *p, enum listen_kind kind, unsigned index, int fd)
{
	struct wire_listen w = { .kind = kind, .index = index };
	struct msgbuf b;

	mb_init(&b);
	if (wire_listen_encode(&b, &w) == 0)
		chan_send_mb(p->chan, M_LISTEN, 0, fd, &b);
	else
		log_warnx("listener %u of unknown kind %u", index, kind);
	mb_free(&b);
}

static void
child_msg(struct channel *c, struct chan_msg *m, void *arg)
{
	struct proc *p = arg;

	(void)c;
	if (m->type == M_PLUGINS) {
		plugsup_report(p, m);
		return;
	}
	if (m->type == M_USER_LOOKUP) {
		users_request(p, m);
		return;
	}
	if (m->type != M_READY) {
		log_debug("unexpected %s from %s", msg_name(m->type),
		    proc_name(p->id));
		return;
	}
	if (p->ready)
		return;
	p->ready = true;
	p->start_fails = 0;
	if (p->down) {
		log_info("%s is up again after failing at start-up", proc_name(p->id));
		p->down = false;
	}
	send_procs();
	sdnotify_part_ready((unsigned)(p->id - PROC_SMTPD), PROC_COUNT - PROC_SMTPD);
}

/* Give up on p for now: close what it serves, say why. */
static void
proc_down(struct proc *p)
{
	const char *what = "";

	if (p->id == PROC_SMTPD) {
		sockets_down_smtp();
		what = ": SMTP listening sockets refuse clients";
	} else if (p->id == PROC_CTLD) {
		sockets_down_ctl();
		what = ": control socket removed, health endpoint refuses clients";
	}
	if (!p->down)
		log_err("%s failed %u times in a row at start-up%s; retrying every "
		    "%u s (see the errors above)", proc_name(p->id),
		    (unsigned)p->start_fails, what, BACKOFF_MAX_MS / 1000);
	p->down = true;
	p->backoff_ms = BACKOFF_MAX_MS;
}

static void
child_closed(struct channel *c, void *arg)
{
	struct proc *p = arg;

	(void)c;
	p->chan = NULL;
	/* A daemon that breaks its channel is useless: restart it. */
	if (p->pid > 0 && !M.stopping) {
		log_warnx("%s closed its channel, restarting it", proc_name(p->id));
		kill(p->pid, SIGKILL);
	}
}

static void
restart_cb(void *arg)
{
	struct proc *p = arg;

	if (!M.stopping && p->pid == 0)
		proc_start(p);
}

static void
proc_start(struct proc *p)
{
	char path[PATH_MAX], name[32];
	char *argv[6];
	int argc = 0, sv[2];
	sigset_t none;
	pid_t pid;
	size_t i;

	daemon_path(p->id, path, sizeof(path));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	snprintf(name, sizeof(name), "empath-%s", proc_name(p->id));
	argv[argc++] = name;
	if (M.foreground)
		argv[argc++] = "-d";
	if (M.verbose)
		argv[argc++] = "-v";
	if (M.verbose > 1)
		argv[argc++] = "-v";
	argv[argc] = NULL;

	switch (pid = fork()) {
	case -1:
		fatal("fork");
	case 0:
		/* The child: fd 3 is its channel, nothing else leaks. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sv[1], 3) == -1)
			_exit(127);
		closefrom(4);
		execve(path, argv, daemon_env);
		fprintf(stderr, "empath-master: exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	users_forget(p);
	p->pid = pid;
	p->ready = false;
	p->started = wall_s();
	p->started_mono = mono_ms();
	snprintf(name, sizeof(name), "master>%s", proc_name(p->id));
	p->chan = chan_new(sv[0], name, child_msg, child_closed, p);
	log_info("started %s, pid %d", proc_name(p->id), (int)pid);

	plugsup_send(p);
	chan_send(p->chan, M_CONFIG, 0, M.cfg_memfd, NULL, 0);
	/* Sockets paused for a daemon that kept failing (or shut down by a
	 * daemon) listen again for each new try: it cannot work without them. */
	if (p->id == PROC_SMTPD) {
		sockets_resume_smtp();
		for (i = 0; i < M.nsmtp_fds; i++)
			if (M.smtp_fds[i] != -1)
				send_listen(p, LISTEN_SMTP, (unsigned)i,
				    M.smtp_fds[i]);
		if (M.submit_fd != -1)
			send_listen(p, LISTEN_SUBMIT, 0, M.submit_fd);
	}
	if (p->id == PROC_CTLD) {
		sockets_resume_ctl();
		if (M.control_fd != -1)
			send_listen(p, LISTEN_CONTROL, 0, M.control_fd);
		if (M.health_fd != -1)
			send_listen(p, LISTEN_HEALTH, 0, M.health_fd);
	}
	chan_send(p->chan, M_START, 0, -1, NULL, 0);
	plumb(p);
	send_procs();
	if (p->id == PROC_CTLD)
		plugsup_relay_all();
}

void
procs_start_all(void)
{
	size_t i;

	build_env();
	for (i = 0; i < PROC_COUNT; i++) {
		M.procs[i].id = (enum proc_id)i;
		M.procs[i].backoff_ms = BACKOFF_MIN_MS;
		M.procs[i].restart_timer = ev_timer_new(restart_cb, &M.procs[i]);
	}
	for (i = 0; i < nitems(start_order); i++)
		proc_start(&M.procs[start_order[i]]);
}

static bool
all_stopped(void)
{
	int i;

	for (i = PROC_SMTPD; i < PROC_COUNT; i++)
		if (M.procs[i].pid > 0)
			return false;
	return true;
}

static void
kill_timeout(void *arg)
{
	int i;

	(void)arg;
	for (i = PROC_SMTPD; i < PROC_COUNT; i++)
		if (M.procs[i].pid > 0) {
			log_warnx("%s did not stop in time, killing it",
			    proc_name((enum proc_id)i));
			kill(M.procs[i].pid, SIGKILL);
		}
}

void
procs_stop_all(void)
{
	int i;

	M.stopping = true;
	sdnotify("STOPPING=1");
	for (i = PROC_SMTPD; i < PROC_COUNT; i++) {
		ev_timer_stop(M.procs[i].restart_timer);
		if (M.procs[i].pid > 0)
			kill(M.procs[i].pid, SIGTERM);
	}
	if (all_stopped()) {
		ev_break();
		return;
	}
	M.kill_timer = ev_timer_new(kill_timeout, NULL);
	ev_timer_start(M.kill_timer, STOP_GRACE_MS);
}

static struct proc *
proc_by_pid(pid_t pid)
{
	int i;

	for (i = PROC_SMTPD; i < PROC_COUNT; i++)
		if (M.procs[i].pid == pid)
			return &M.procs[i];
	return NULL;
}

void
procs_reap(void)
{
	struct proc *p;
	pid_t pid;
	int status;
	bool disabled;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((p = proc_by_pid(pid)) == NULL)
			continue;
		if (WIFSIGNALED(status))
			log_warnx("%s (pid %d) killed by signal %d",
			    proc_name(p->id), (int)pid, WTERMSIG(status));
		else if (WEXITSTATUS(status) != 0 || !M.stopping)
			log_warnx("%s (pid %d) exited with status %d",
			    proc_name(p->id), (int)pid, WEXITSTATUS(status));
		else
			log_debug("%s (pid %d) exited", proc_name(p->id), (int)pid);
		/* Which plugin, if any, was running when it crashed or
		 * exited: counted, and disabled when it keeps doing it
		 * (plugsup.c). */
		disabled = !M.stopping && plugsup_crashed(p,
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		p->pid = 0;
		if (p->chan) {
			chan_free(p->chan);
			p->chan = NULL;
		}
		if (M.stopping)
			continue;
		if (mono_ms() - p->started_mono > STABLE_AFTER_MS)
			p->backoff_ms = BACKOFF_MIN_MS;
		if (!p->ready && ++p->start_fails >= START_FAILS_DOWN)
			proc_down(p);
		/* Without the plugin it should work again: back soon. */
		if (disabled)
			p->backoff_ms = BACKOFF_MIN_MS;
		log_info("restarting %s in %" PRIu64 " ms", proc_name(p->id),
		    p->backoff_ms);
		ev_timer_start(p->restart_timer, p->backoff_ms);
		p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ?
		    BACKOFF_MAX_MS : p->backoff_ms * 2;
		p->restarts++;
		send_procs();
	}
	if (M.stopping && all_stopped()) {
		ev_timer_free(M.kill_timer);
		M.kill_timer = NULL;
		ev_break();
	}
}
