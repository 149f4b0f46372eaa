/* SPDX-License-Identifier: ISC */
/* Plugin supervision: each plugin daemon (smtpd, queued, deliverd) gets
 * a crash page before its configuration (M_PLUGINS_DISABLED, with the
 * plugins it must not load); when it dies by a crash signal the page
 * names the plugin that was running (crash.c counts), and a plugin that
 * crashed its daemon too often is disabled there until the master
 * restarts. The daemons' registry reports (M_PLUGINS) are checked and
 * the last of each relayed to ctld for `empathctl plugin list`. */
#include <sys/mman.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"
#include "log.h"
#include "master.h"
#include "plugin.h"
#include "util.h"
#include "wire_ctl.h"

/* ctld hears of a daemon's registry at most this often, however often
 * the daemon reports (it may be compromised). */
#define RELAY_MIN_MS 1000

struct plugsup {
	int                fd;
	volatile uint32_t *page;
	struct crash_stats cs;
	struct msgbuf      report;     /* the last valid M_PLUGINS, as sent on */
	uint64_t           relayed;    /* mono ms of the last relay */
	struct ev_timer   *relay_timer;/* armed: a newer report waits */
};

static struct plugsup sup[PROC_COUNT];
static const char **names;            /* configured plugins, by index */
static size_t nnames;

static void relay_cb(void *);

static bool
supervised(enum proc_id id)
{
	return id == PROC_SMTPD || id == PROC_QUEUED || id == PROC_DELIVERD;
}

void
plugsup_init(void)
{
	struct cfg_plugin *cp;
	size_t i;
	void *page;

	nnames = 0;
	TAILQ_FOREACH(cp, &M.cfg->plugins, entry)
		nnames++;
	names = nnames > 0 ? xcalloc(nnames, sizeof(*names)) : NULL;
	i = 0;
	TAILQ_FOREACH(cp, &M.cfg->plugins, entry)
		names[i++] = cp->name;
	for (i = 0; i < PROC_COUNT; i++) {
		sup[i].fd = -1;
		mb_init(&sup[i].report);
		if (!supervised((enum proc_id)i))
			continue;
		crash_stats_init(&sup[i].cs, nnames);
		sup[i].relay_timer = ev_timer_new(relay_cb, &sup[i]);
		/* Sealed at its size: a daemon holding the descriptor cannot
		 * shrink it under the master's mapping (SIGBUS). */
		sup[i].fd = memfd_create("empath.crashpage", MFD_CLOEXEC |
		    MFD_ALLOW_SEALING);
		if (sup[i].fd == -1 || ftruncate(sup[i].fd, PLUGIN_PAGE_SIZE) == -1 ||
		    fcntl(sup[i].fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
		    F_SEAL_SEAL) == -1)
			fatal("crash page");
		page = mmap(NULL, PLUGIN_PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, sup[i].fd, 0);
		if (page == MAP_FAILED)
			fatal("mmap crash page");
		sup[i].page = page;
	}
}

/* Before M_CONFIG: a clean page and the plugins not to load. */
void
plugsup_send(struct proc *p)
{
	struct plugsup *s = &sup[p->id];
	struct wire_plugins_off w;
	struct msgbuf mb;
	size_t i;

	if (!supervised(p->id) || s->page == NULL)
		return;
	s->page[0] = 0;
	s->page[1] = 0;
	w.n = 0;
	for (i = 0; i < s->cs.n && w.n < WIRE_PLUGINS_MAX; i++)
		if (s->cs.disabled[i])
			w.name[w.n++] = names[i];
	mb_init(&mb);
	if (wire_plugins_off_encode(&mb, &w) == 0)
		chan_send_mb(p->chan, M_PLUGINS_DISABLED, 0, s->fd, &mb);
	mb_free(&mb);
}

bool
plugsup_crashed(struct proc *p, int sig)
{
	struct plugsup *s = &sup[p->id];
	bool disable;
	int i, point;

	if (!supervised(p->id) || s->page == NULL)
		return false;
	i = crash_account(&s->cs, s->page, sig, mono_ms(), &point, &disable);
	s->page[0] = 0;
	s->page[1] = 0;
	if (i == -1)
		return false;
	if (!disable) {
		log_warnx("%s %s in plugin %s (%s): %u of %u crashes "
		    "within %u s before it is disabled", proc_name(p->id),
		    sig != 0 ? "crashed" : "exited", names[i],
		    plugin_point_name((enum em_point)point),
		    crash_window_count(&s->cs.win[i], mono_ms()), CRASH_LIMIT,
		    CRASH_WINDOW_MS / 1000);
		return false;
	}
	log_err("plugin %s crashed %s %u times within %u s (last in %s): "
	    "%s restarts with plugin %s disabled until empath-master restarts",
	    names[i], proc_name(p->id), CRASH_LIMIT, CRASH_WINDOW_MS / 1000,
	    plugin_point_name((enum em_point)point), proc_name(p->id),
	    names[i]);
	return true;
}

static void
relay(enum proc_id id)
{
	struct proc *ctld = &M.procs[PROC_CTLD];

	if (ctld->chan == NULL || sup[id].report.len == 0)
		return;
	sup[id].relayed = mono_ms();
	chan_send_mb(ctld->chan, M_PLUGINS, 0, -1, &sup[id].report);
}

static void
relay_cb(void *arg)
{
	struct plugsup *s = arg;

	relay((enum proc_id)(s - sup));
}

/* Now, or once RELAY_MIN_MS have passed since the last relay. */
static void
relay_limited(enum proc_id id)
{
	uint64_t since = mono_ms() - sup[id].relayed;

	if (sup[id].relayed == 0 || since >= RELAY_MIN_MS) {
		ev_timer_stop(sup[id].relay_timer);
		relay(id);
	} else if (!ev_timer_pending(sup[id].relay_timer))
		ev_timer_start(sup[id].relay_timer, RELAY_MIN_MS - since);
}

/* M_PLUGINS from p: checked, every plugin one of the configuration,
 * the master's disabled flags put over the daemon's, relayed. */
void
plugsup_report(struct proc *p, const struct chan_msg *m)
{
	static struct wire_plugins w;
	struct plugsup *s = &sup[p->id];
	struct msgbuf mb;
	const char *why = NULL;

	if (!supervised(p->id) || wire_plugins_decode(m, &w) == -1 ||
	    w.proc != (uint32_t)p->id) {
		log_warnx("malformed M_PLUGINS from %s ignored", proc_name(p->id));
		return;
	}
	if (crash_report_merge(&w, names, &s->cs, &why) == -1) {
		log_warnx("M_PLUGINS from %s %s: ignored", proc_name(p->id), why);
		return;
	}
	mb_init(&mb);
	if (wire_plugins_encode(&mb, &w) == -1) {
		mb_free(&mb);
		return;
	}
	mb_free(&s->report);
	s->report = mb;
	relay_limited(p->id);
}

/* A fresh ctld learns the last report of each daemon. */
void
plugsup_relay_all(void)
{
	int i;

	for (i = 0; i < PROC_COUNT; i++)
		if (supervised((enum proc_id)i))
			relay((enum proc_id)i);
}
