/* SPDX-License-Identifier: ISC */
/* Bootstrap shared by the unprivileged daemons; see daemon.h. */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "event.h"
#include "log.h"
#include "plugin.h"
#include "privdrop.h"
#include "util.h"
#include "wire.h"
#include "wire_ctl.h"

#define MAX_CONFIG_SIZE (4 * 1024 * 1024)

static const struct daemon_ops *ops;
static struct config *cfg;
static struct channel *master;
static bool started, stopping;
/* The registry report to the master: at most once a second, only when
 * it changed (the last payload sent is kept to compare). */
#define PLUGINS_REPORT_MS 1000
static struct ev_timer *report_timer;
static struct msgbuf last_report;

const struct config *
daemon_config(void)
{
	return cfg;
}

int
daemon_master_send(uint16_t type, uint32_t peerid, const struct msgbuf *mb)
{
	if (master == NULL)
		return -1;
	return chan_send_mb(master, type, peerid, -1, mb);
}

const char *
daemon_empty_dir(const struct config *c)
{
	(void)c;
	return EMPTYDIR;
}

void
daemon_exit(int status)
{
	if (master) {
		(void)chan_flush(master);
	}
	if (cfg)
		config_free(cfg);
	exit(status);
}

static void
config_err(const char *line)
{
	log_warnx("%s", line);
}

/* Read the snapshot the master put in a memfd. */
static void
load_config(int fd)
{
	struct stat st;
	char *text;
	ssize_t n;
	size_t off = 0;

	if (cfg)
		fatalx("configuration received twice");
	if (fstat(fd, &st) == -1)
		fatal("fstat config");
	if (st.st_size <= 0 || st.st_size > MAX_CONFIG_SIZE)
		fatalx("configuration snapshot of %lld bytes refused",
		    (long long)st.st_size);
	text = xmalloc((size_t)st.st_size);
	while (off < (size_t)st.st_size) {
		n = pread(fd, text + off, (size_t)st.st_size - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			fatal("read config");
		off += (size_t)n;
	}
	cfg = config_parse("config", text, off, config_err);
	free(text);
	if (cfg == NULL)
		fatalx("configuration snapshot does not parse");
	log_configure(cfg->log_target, cfg->log_format, cfg->log_level);
	if (ops->configure)
		ops->configure(cfg);
}

/* M_PLUGINS_DISABLED, before M_CONFIG: the crash page to map and the
 * plugins the loader must skip. */
static void
plugins_setup(struct chan_msg *m)
{
	struct wire_plugins_off w;
	struct stat st;
	void *page;

	if (cfg != NULL || wire_plugins_off_decode(m, &w) == -1) {
		log_warnx("malformed or late M_PLUGINS_DISABLED ignored");
		return;
	}
	plugins_set_disabled(w.name, w.n);
	if (m->fd == -1 || fstat(m->fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size != PLUGIN_PAGE_SIZE) {
		log_warnx("M_PLUGINS_DISABLED without a crash page");
		return;
	}
	page = mmap(NULL, PLUGIN_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    m->fd, 0);
	if (page == MAP_FAILED) {
		log_warn("mmap crash page");
		return;
	}
	plugin_set_crash_page(page);
}

static void
report_plugins(void *arg)
{
	static struct wire_plugins w;
	const struct plugins *ps = plugins_registry();
	const struct plugin *p;
	struct msgbuf mb;
	size_t i;

	(void)arg;
	memset(&w, 0, sizeof(w));
	w.proc = (uint32_t)ops->self;
	if (ps != NULL)
		TAILQ_FOREACH(p, &ps->list, entry) {
			struct wire_plugin_row *r;

			if (w.n >= WIRE_PLUGINS_MAX)
				break;
			r = &w.row[w.n++];
			r->name = p->name;
			r->version = p->version != NULL ? p->version : "";
			r->disabled = p->disabled;
			for (i = 0; i < EM_POINT_COUNT; i++) {
				if (i < EM_EVENT_CONNECTION_OPENED)
					r->hooks += p->calls[i];
				else
					r->events += p->calls[i];
				r->slow += p->slow[i];
			}
		}
	mb_init(&mb);
	if (master != NULL && wire_plugins_encode(&mb, &w) == 0 &&
	    (mb.len != last_report.len || memcmp(mb.data, last_report.data,
	    mb.len) != 0)) {
		chan_send_mb(master, M_PLUGINS, 0, -1, &mb);
		mb_free(&last_report);
		last_report = mb;
	} else
		mb_free(&mb);
	ev_timer_start(report_timer, PLUGINS_REPORT_MS);
}

static void
do_start(void)
{
	const char *dir = ops->chroot_dir ? ops->chroot_dir(cfg) : NULL;

	if (cfg == NULL)
		fatalx("start before configuration");
	if (started)
		return;
	/* queued alone runs as the queue's user: no network-facing daemon
	 * can read the spool. */
	priv_drop(ops->self == PROC_QUEUED ? cfg->queue_user : cfg->user, dir,
	    ops->chdir_unprivileged);
	started = true;
	log_debug("started");
	if (ops->start)
		ops->start();
	/* The master counts start-up failures until it hears this. */
	if (master)
		chan_send(master, M_READY, 0, -1, NULL, 0);
	if (ops->self == PROC_SMTPD || ops->self == PROC_QUEUED ||
	    ops->self == PROC_DELIVERD) {
		mb_init(&last_report);
		report_timer = ev_timer_new(report_plugins, NULL);
		report_plugins(NULL);
	}
}

static void
master_msg(struct channel *c, struct chan_msg *m, void *arg)
{
	struct wire_listen wl;
	struct wire_peer wp;

	(void)c;
	(void)arg;
	switch (m->type) {
	case M_CONFIG:
		if (m->fd == -1)
			fatalx("M_CONFIG without a descriptor");
		load_config(m->fd);
		break;
	case M_LISTEN:
		if (wire_listen_decode(m, &wl) == -1 || m->fd == -1 ||
		    cfg == NULL) {
			log_warnx("malformed M_LISTEN ignored");
			break;
		}
		if (ops->listen) {
			ops->listen((enum listen_kind)wl.kind, wl.index, m->fd);
			m->fd = -1;
		}
		break;
	case M_PEER:
		if (wire_peer_decode(m, &wp) == -1 || m->fd == -1) {
			log_warnx("malformed M_PEER ignored");
			break;
		}
		if (ops->peer) {
			ops->peer((enum proc_id)wp.proc, m->fd);
			m->fd = -1;
		}
		break;
	case M_START:
		do_start();
		break;
	case M_PLUGINS_DISABLED:
		plugins_setup(m);
		break;
	default:
		if (ops->master_msg)
			ops->master_msg(m);
		else
			log_debug("unexpected %s from master", msg_name(m->type));
	}
}

static void
master_closed(struct channel *c, void *arg)
{
	(void)c;
	(void)arg;
	/* Without the master nobody restarts us or our peers: stop now. */
	log_info("master went away, exiting");
	master = NULL;
	exit(0);
}

static void
on_stop_signal(int signo, void *arg)
{
	(void)arg;
	if (stopping) {
		log_info("second signal %d: exiting now", signo);
		daemon_exit(0);
	}
	stopping = true;
	log_info("stopping on signal %d", signo);
	if (ops->stop && started)
		ops->stop();
	else
		daemon_exit(0);
}

static void
usage(const char *name)
{
	fprintf(stderr, "usage: %s [-dv]\n"
	    "This program is started by empath-master.\n", name);
	exit(1);
}

int
daemon_main(int argc, char **argv, const struct daemon_ops *o)
{
	extern char **environ;
	const char *name = proc_name(o->self);
	int ch, foreground = 0, verbose = 0;

	ops = o;
	while ((ch = getopt(argc, argv, "dv")) != -1) {
		switch (ch) {
		case 'd': foreground = 1; break;
		case 'v': verbose++; break;
		default: usage(argv[0]);
		}
	}
	setproctitle_init(argc, argv, environ);
	/* A leading "-" keeps libbsd from prefixing the program name. */
	setproctitle("-empath: %s", name);
	log_init(name, foreground, verbose);
	if (fcntl(3, F_GETFD) == -1)
		fatalx("no channel to the master on fd 3: start empath-master instead");
	/* If the master dies, do not linger. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	ev_init();
	ev_signal(SIGTERM, on_stop_signal, NULL);
	ev_signal(SIGINT, on_stop_signal, NULL);
	master = chan_new(3, "master", master_msg, master_closed, NULL);
	ev_run();
	daemon_exit(0);
}
