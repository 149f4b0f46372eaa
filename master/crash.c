/* SPDX-License-Identifier: ISC */
/* Crash accounting of the plugins, per daemon: which plugin a daemon's
 * crash page names, and whether that plugin has now crashed its daemon
 * CRASH_LIMIT times within CRASH_WINDOW_MS. The page is written by the
 * daemon, which may be compromised: it is read once, as two numbers,
 * and only a plugin index of the configuration and a point of the API
 * are believed. Nothing here touches the master's globals, so that the
 * unit tests drive it alone. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "util.h"

void
crash_stats_init(struct crash_stats *cs, size_t n)
{
	memset(cs, 0, sizeof(*cs));
	cs->n = n;
	if (n > 0) {
		cs->win = xcalloc(n, sizeof(*cs->win));
		cs->disabled = xcalloc(n, sizeof(*cs->disabled));
	}
}

void
crash_stats_free(struct crash_stats *cs)
{
	free(cs->win);
	free(cs->disabled);
	memset(cs, 0, sizeof(*cs));
}

bool
crash_signal(int sig)
{
	switch (sig) {
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGABRT:
	case SIGSYS: case SIGTRAP:
		return true;
	}
	return false;
}

/* The last CRASH_LIMIT crash times, oldest overwritten. */
bool
crash_window_add(struct crash_window *w, uint64_t now)
{
	w->t[w->next] = now;
	w->next = (w->next + 1) % CRASH_LIMIT;
	if (w->n < CRASH_LIMIT)
		w->n++;
	return crash_window_count(w, now) >= CRASH_LIMIT;
}

int
crash_page_read(const volatile uint32_t *page, size_t nplugins, int *point)
{
	/* Each word read once: the daemon cannot change it between the
	 * check and the use (it is dead, but the page is shared). */
	uint32_t idx = page[0], pt = page[1];

	*point = -1;
	if (idx == 0 || idx > nplugins || pt == 0 || pt > EM_POINT_COUNT)
		return -1;
	*point = (int)(pt - 1);
	return (int)(idx - 1);
}

int
crash_account(struct crash_stats *cs, const volatile uint32_t *page,
    int sig, uint64_t now, int *point, bool *disable)
{
	int i;

	*disable = false;
	*point = -1;
	/* 0: it exited, which a plugin has no business doing either. */
	if (sig != 0 && !crash_signal(sig))
		return -1;
	if ((i = crash_page_read(page, cs->n, point)) == -1)
		return -1;
	/* A disabled plugin is not loaded: it cannot be running. */
	if (cs->disabled[i]) {
		*point = -1;
		return -1;
	}
	if (crash_window_add(&cs->win[i], now)) {
		cs->disabled[i] = true;
		*disable = true;
	}
	return i;
}

unsigned
crash_window_count(const struct crash_window *w, uint64_t now)
{
	unsigned i, recent = 0;

	for (i = 0; i < w->n; i++)
		if (w->t[i] <= now && now - w->t[i] < CRASH_WINDOW_MS)
			recent++;
	return recent;
}

int
crash_report_merge(struct wire_plugins *w, const char *const *names,
    const struct crash_stats *cs, const char **why)
{
	bool seen[WIRE_PLUGINS_MAX] = { false };
	size_t i, n = cs->n < WIRE_PLUGINS_MAX ? cs->n : WIRE_PLUGINS_MAX;
	uint32_t k;

	for (k = 0; k < w->n; k++) {
		for (i = 0; i < n; i++)
			if (strcmp(names[i], w->row[k].name) == 0)
				break;
		if (i == n) {
			*why = "names an unknown plugin";
			return -1;
		}
		if (seen[i]) {
			*why = "names a plugin twice";
			return -1;
		}
		seen[i] = true;
		if (cs->disabled[i])
			w->row[k].disabled = 1;
	}
	/* A daemon may not hide what the master disabled. */
	for (i = 0; i < n; i++)
		if (cs->disabled[i] && !seen[i]) {
			if (w->n == WIRE_PLUGINS_MAX) {
				*why = "too many rows";
				return -1;
			}
			memset(&w->row[w->n], 0, sizeof(w->row[w->n]));
			w->row[w->n].name = names[i];
			w->row[w->n].version = "";
			w->row[w->n].disabled = 1;
			w->n++;
		}
	return 0;
}
