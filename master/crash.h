/* SPDX-License-Identifier: ISC */
/* Crash accounting of the plugins (crash.c). A plugin that makes its
 * daemon crash CRASH_LIMIT times within CRASH_WINDOW_MS is disabled in
 * that daemon until empath-master restarts. */
#ifndef EMPATH_MASTER_CRASH_H
#define EMPATH_MASTER_CRASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "empath/empath.h"
#include "wire_ctl.h"

#define CRASH_LIMIT     5
#define CRASH_WINDOW_MS 60000

struct crash_window {
	uint64_t t[CRASH_LIMIT];       /* monotonic ms of the last crashes */
	unsigned n, next;
};

/* One daemon: a window and a disabled flag per configured plugin, by
 * its index in the configuration. */
struct crash_stats {
	size_t               n;
	struct crash_window *win;
	bool                *disabled;
};

void crash_stats_init(struct crash_stats *, size_t nplugins);
void crash_stats_free(struct crash_stats *);
/* A signal that is a crash (SIGSEGV, SIGBUS, ...), not a stop or kill. */
bool crash_signal(int sig);
/* Record a crash at now; true when CRASH_LIMIT of them, this one
 * included, are less than CRASH_WINDOW_MS old. */
bool crash_window_add(struct crash_window *, uint64_t now);
unsigned crash_window_count(const struct crash_window *, uint64_t now);
/* The plugin index (0-based) the page names and its point, or -1 when
 * it names none or holds values out of range. */
int  crash_page_read(const volatile uint32_t *page, size_t nplugins,
         int *point);
/* A daemon died by sig (0: it exited) at now with this page: the plugin
 * blamed (-1: none: not a crash signal, nothing named, or one already
 * disabled), its point, and whether it is now to be disabled. */
int  crash_account(struct crash_stats *, const volatile uint32_t *page,
         int sig, uint64_t now, int *point, bool *disable);
/* A daemon's registry report (M_PLUGINS) made to tell the master's
 * truth: every row names a configured plugin (names[0..n)) at most once,
 * or -1 with *why set; each plugin the master disabled (cs) is marked
 * so, with a row of its own if the daemon left it out. */
int  crash_report_merge(struct wire_plugins *, const char *const *names,
         const struct crash_stats *cs, const char **why);

#endif
