/* SPDX-License-Identifier: ISC */
/* The plugin loader shared by the daemons: `plugin "name" { args ... }`
 * loads plugin-dir/name.so (dlopen RTLD_NOW | RTLD_LOCAL), finds its
 * empath_plugin descriptor (<empath/empath.h>), checks the API version
 * and calls init with the configured args. A registry keeps what each
 * plugin implements, how often each point was called and how often it
 * ran past the warning limit. The em_context_* accessors the plugins
 * call live in plugin_ctx.c. */
#ifndef EMPATH_PLUGIN_H
#define EMPATH_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "empath/empath.h"

struct config;

enum plugin_daemon { PLUGIN_SMTPD = 0, PLUGIN_QUEUED, PLUGIN_DELIVERD };

struct plugin {
	TAILQ_ENTRY(plugin) entry;
	char    *name;                 /* the configured name */
	char    *version;              /* the descriptor's, made printable */
	void    *handle;
	const struct empath_plugin *desc;
	uint32_t points;               /* bit (1 << em_point) it implements */
	uint64_t calls[EM_POINT_COUNT];
	uint64_t slow[EM_POINT_COUNT]; /* calls past the warning limit */
	bool     initialised;
	bool     disabled;             /* skipped by plugins_run_*() */
	unsigned cfg_pos;              /* 1 + its index in the configuration's
	                                  plugin list, 0 when not loaded from it */
};
TAILQ_HEAD(plugin_list, plugin);

struct plugins {
	struct plugin_list list;
	unsigned warn_ms;              /* 0: never warn */
};

/* The points a daemon calls, as a mask of (1 << em_point). */
uint32_t plugin_daemon_points(enum plugin_daemon);
const char *plugin_point_name(enum em_point);
void plugins_init(struct plugins *, unsigned warn_ms);
/* Load dir/name.so with args (argv[0] = name). A plugin implementing
 * none of the points in mask is unloaded without init; returns 1 then.
 * 0 when loaded and initialised, -1 with err ("where: plugin ...") on
 * an error. */
int  plugin_load(struct plugins *, const char *dir, const char *name,
         size_t nargs, char *const *args, uint32_t mask, const char *where,
         char *err, size_t errlen);
/* Every configured plugin implementing a point of mask, all or nothing:
 * on a failure the ones already initialised are finished and unloaded,
 * err holds "file:line: plugin ..." and -1 is returned. */
int  plugins_load_config(struct plugins *, const struct config *,
         const char *file, uint32_t mask, char *err, size_t errlen);
/* fini then dlclose, in reverse load order. */
void plugins_unload(struct plugins *);
/* The loaded plugins implementing any point of daemon, in load order:
 * up to max of them in out; returns how many there are. */
size_t plugins_for_daemon(const struct plugins *, enum plugin_daemon,
         const struct plugin **out, size_t max);
/* empath-master -n: load, init, fini and unload each configured plugin
 * on its own; each error goes to errfn as a line. Returns the count. */
int  plugins_check(const struct config *, const char *file,
         void (*errfn)(const char *));

/* One call, timed: counted, and logged with the plugin's name when it
 * took longer than warn_ms. plugin_call_hook returns EM_ACCEPT or
 * EM_REJECT (any non-zero return of the hook). */
int  plugin_call_hook(struct plugins *, struct plugin *, enum em_point,
         em_context *);
void plugin_call_event(struct plugins *, struct plugin *, enum em_point,
         em_context *);
/* The hook of point of every enabled plugin, in load order, until one
 * rejects (*who, if not NULL, then names it); the context's response is
 * reset before each. Events go to every enabled plugin. */
int  plugins_run_hook(struct plugins *, enum em_point, em_context *,
         const struct plugin **who);
void plugins_run_event(struct plugins *, enum em_point, em_context *);

/* Crash supervision (empath-master(8)). The daemon's crash page, shared
 * with the master: plugin_call_hook/event write the running plugin's
 * cfg_pos into page[0] and its point + 1 into page[1] before the call,
 * 0 after, so that a crash inside a plugin names it. NULL: none. */
#define PLUGIN_PAGE_SIZE 4096
void plugin_set_crash_page(volatile uint32_t *page);
/* Plugins plugins_load_config() must not load (copied): each gets an
 * entry with disabled set, no handle and no points. */
void plugins_set_disabled(const char *const *names, size_t n);
/* The registry the last successful plugins_load_config() filled (the
 * daemon's), NULL before; for the reports to the master. */
const struct plugins *plugins_registry(void);

#endif
