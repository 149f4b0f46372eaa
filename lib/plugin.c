/* SPDX-License-Identifier: ISC */
/* The plugin loader and registry (see plugin.h). A plugin runs with the
 * rights of the daemon that loads it, before privileges are dropped, so
 * its file must be a regular file nobody but its owner (root or the
 * running user) may write, in directories nobody else may write, and
 * what is loaded is the very file checked. */
#include <sys/stat.h>

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "plugin.h"
#include "plugin_ctx.h"
#include "plugin_log.h"
#include "util.h"

#define DESCRIPTOR "empath_plugin"
/* plugin-dir (a string of the configuration, 1024 bytes at most), "/",
 * the name and ".so". */
#define CFG_STRING_PATH_MAX (1024 + 1 + CFG_PLUGIN_NAME_MAX + 4)

/* The descriptor's function pointer of each point. */
static const struct {
	const char *name;
	size_t      off;
	bool        hook;
} points[EM_POINT_COUNT] = {
#define H(p, f, n) [p] = { n, offsetof(struct empath_plugin, f), true }
#define E(p, f, n) [p] = { n, offsetof(struct empath_plugin, f), false }
	H(EM_VALIDATE_CONNECT, validate_connect, "validate_connect"),
	H(EM_VALIDATE_STARTTLS, validate_starttls, "validate_starttls"),
	H(EM_VALIDATE_HELO, validate_helo, "validate_helo"),
	H(EM_VALIDATE_MAIL, validate_mail, "validate_mail"),
	H(EM_VALIDATE_RCPT, validate_rcpt, "validate_rcpt"),
	H(EM_VALIDATE_DATA, validate_data, "validate_data"),
	E(EM_EVENT_CONNECTION_OPENED, on_connection_opened, "on_connection_opened"),
	E(EM_EVENT_CONNECTION_CLOSED, on_connection_closed, "on_connection_closed"),
	E(EM_EVENT_MESSAGE_RECEIVED, on_message_received, "on_message_received"),
	E(EM_EVENT_SMTP_ERROR, on_smtp_error, "on_smtp_error"),
	E(EM_EVENT_MESSAGE_QUEUED, on_message_queued, "on_message_queued"),
	E(EM_EVENT_MESSAGE_DEFERRED, on_message_deferred, "on_message_deferred"),
	E(EM_EVENT_MESSAGE_BOUNCED, on_message_bounced, "on_message_bounced"),
	E(EM_EVENT_MESSAGE_EXPIRED, on_message_expired, "on_message_expired"),
	E(EM_EVENT_MESSAGE_DELETED, on_message_deleted, "on_message_deleted"),
	E(EM_EVENT_DNS_LOOKUP, on_dns_lookup, "on_dns_lookup"),
	E(EM_EVENT_DELIVERY_ATTEMPT, on_delivery_attempt, "on_delivery_attempt"),
	E(EM_EVENT_DELIVERY_SUCCESS, on_delivery_success, "on_delivery_success"),
	E(EM_EVENT_DELIVERY_FAILURE, on_delivery_failure, "on_delivery_failure"),
#undef H
#undef E
};

#define BIT(p) ((uint32_t)1 << (p))

static volatile uint32_t *crash_page;
static char **disabled_names;
static size_t ndisabled;
static const struct plugins *registry;
#define RANGE(a, b) ((BIT((b) + 1) - 1) & ~(BIT(a) - 1))

uint32_t
plugin_daemon_points(enum plugin_daemon d)
{
	switch (d) {
	case PLUGIN_SMTPD:
		return RANGE(EM_VALIDATE_CONNECT, EM_EVENT_SMTP_ERROR);
	case PLUGIN_QUEUED:
		return RANGE(EM_EVENT_MESSAGE_QUEUED, EM_EVENT_MESSAGE_DELETED);
	case PLUGIN_DELIVERD:
		return RANGE(EM_EVENT_DNS_LOOKUP, EM_EVENT_DELIVERY_FAILURE);
	}
	return 0;
}

const char *
plugin_point_name(enum em_point p)
{
	return (unsigned)p < EM_POINT_COUNT ? points[p].name : "unknown";
}

static void *
point_fn(const struct empath_plugin *d, enum em_point p)
{
	void *fn;

	/* Every point is a function pointer of the same size. */
	memcpy(&fn, (const char *)d + points[p].off, sizeof(fn));
	return fn;
}

void
plugins_init(struct plugins *ps, unsigned warn_ms)
{
	TAILQ_INIT(&ps->list);
	ps->warn_ms = warn_ms;
}

static void
plugin_free(struct plugin *p)
{
	if (p->initialised && p->desc->fini != NULL) {
		plugin_log_enter(p->name);
		p->desc->fini();
		plugin_log_enter(NULL);
	}
	if (p->handle != NULL)
		dlclose(p->handle);
	free(p->name);
	free(p->version);
	free(p);
}

static bool
owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/* Like sshd's StrictModes: the plugin directory and each directory
 * above it must belong to root or the running user and be writable by
 * no one else, or another user could swap the file between the checks
 * and the load. A parent such as /tmp (root's, sticky) is fine: others
 * may not rename or remove what is not theirs there. */
static int
check_dirs(const char *dir, char *why, size_t len)
{
	char real[PATH_MAX], *slash;
	struct stat st;
	bool top = true;

	if (realpath(dir, real) == NULL) {
		snprintf(why, len, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (;;) {
		if (lstat(real, &st) == -1) {
			snprintf(why, len, "%.1200s: %s", real, strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(why, len, "%.1200s: not a directory", real);
			return -1;
		}
		if (!owner_ok(&st)) {
			snprintf(why, len, "directory %.1200s: owned by uid %u, "
			    "neither root nor the running user", real,
			    (unsigned)st.st_uid);
			return -1;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
		    (top || st.st_uid != 0 || !(st.st_mode & S_ISVTX))) {
			snprintf(why, len, "directory %.1200s: writable by its group "
			    "or others (mode %03o)", real,
			    (unsigned)(st.st_mode & 0777));
			return -1;
		}
		if (strcmp(real, "/") == 0)
			return 0;
		top = false;
		if ((slash = strrchr(real, '/')) == real)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

/* Opened once, never through a link: what is checked is what
 * dlopen() then maps, through /proc/self/fd. The file must be a regular
 * file that only its owner, root or the running user, may write.
 * Returns the descriptor or -1. */
static int
open_checked(const char *dir, const char *path, char *why, size_t len)
{
	struct stat st;
	int fd;

	if (check_dirs(dir, why, len) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		snprintf(why, len, "%s: %s", path, errno == ELOOP ?
		    "a symbolic link (name the file itself)" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s: not a regular file", path);
		goto fail;
	}
	if (!owner_ok(&st)) {
		snprintf(why, len, "%s: owned by uid %u, neither root nor the "
		    "running user", path, (unsigned)st.st_uid);
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, len, "%s: writable by its group or others "
		    "(mode %03o)", path, (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* dlopen() of the descriptor itself, which needs /proc. The dynamic
 * linker knows an object by its name: a number an earlier plugin had
 * (still mapped, or closed but resident) would return that plugin, so
 * the descriptor is duplicated until its name is new. */
#define DUP_TRIES 64
static void *
dlopen_fd(int fd, const char *path, char *why, size_t len)
{
	int fds[DUP_TRIES], nfds = 0, i;
	char proc[64];
	struct stat a, b;
	const char *e;
	void *h = NULL;

	for (;;) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if ((h = dlopen(proc, RTLD_LAZY | RTLD_NOLOAD)) == NULL)
			break;
		dlclose(h);
		h = NULL;
		if (nfds == DUP_TRIES || (fd = dup(fd)) == -1) {
			snprintf(why, len, "cannot load %s: no free descriptor "
			    "name", path);
			goto out;
		}
		fds[nfds++] = fd;
	}
	if (stat(proc, &a) == -1 || fstat(fd, &b) == -1 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		snprintf(why, len, "cannot load %s: /proc is not mounted (the "
		    "loader opens plugins through /proc/self/fd)", path);
		goto out;
	}
	dlerror();
	if ((h = dlopen(proc, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(why, len, "cannot load: %s", e ? e : path);
	}
out:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return h;
}

static bool
descriptor_sized(const void *d)
{
	const ElfW(Sym) *sym = NULL;
	Dl_info info;

	if (dladdr1(d, &info, (void **)&sym, RTLD_DL_SYMENT) == 0 ||
	    sym == NULL)
		return false;
	/* ELF32_ST_TYPE is the same low four bits. */
	return ELF64_ST_TYPE(sym->st_info) == STT_OBJECT &&
	    sym->st_size >= sizeof(struct empath_plugin);
}

int
plugin_load(struct plugins *ps, const char *dir, const char *name,
    size_t nargs, char *const *args, uint32_t mask, const char *where,
    char *err, size_t errlen)
{
	char path[CFG_STRING_PATH_MAX], why[CFG_STRING_PATH_MAX + 512], shown[160];
	const struct empath_plugin *d;
	struct plugin *p, *o;
	char **argv = NULL;
	size_t i;
	int fd, n;

	why[0] = '\0';
	if (!config_plugin_name_ok(name)) {
		snprintf(err, errlen, "%s: plugin %s: invalid name (letters, "
		    "digits, \".\", \"_\", \"+\", \"-\", not starting with \".\")",
		    where, log_sanitize(name, shown, sizeof(shown)));
		return -1;
	}
	TAILQ_FOREACH(o, &ps->list, entry)
		if (strcmp(o->name, name) == 0) {
			snprintf(err, errlen, "%s: plugin \"%s\": loaded twice",
			    where, name);
			return -1;
		}
	n = snprintf(path, sizeof(path), "%s/%s.so", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "%s: plugin \"%s\": path too long", where,
		    name);
		return -1;
	}
	if ((fd = open_checked(dir, path, why, sizeof(why))) == -1) {
		snprintf(err, errlen, "%s: plugin \"%s\": %s", where, name, why);
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(name);
	p->handle = dlopen_fd(fd, path, why, sizeof(why));
	close(fd);
	if (p->handle == NULL)
		goto fail;
	dlerror();
	/* dlsym on the handle looks in the plugin and its own
	 * dependencies, never in the daemon. */
	if ((d = dlsym(p->handle, DESCRIPTOR)) == NULL) {
		snprintf(why, sizeof(why), "%s has no %s descriptor (declare one "
		    "with EMPATH_PLUGIN(), see empath-plugin(3))", path,
		    DESCRIPTOR);
		goto fail;
	}
	/* Another object of that name (an int, a function) would be read
	 * past its end: its symbol says what it is. */
	if (!descriptor_sized(d)) {
		snprintf(why, sizeof(why), "%s: %s is not a descriptor made by "
		    "EMPATH_PLUGIN() (see empath-plugin(3))", path, DESCRIPTOR);
		goto fail;
	}
	p->desc = d;
	if (d->api_version != EMPATH_API_VERSION) {
		snprintf(why, sizeof(why), "%s is built for plugin API version "
		    "%u, this Empath has version %u (rebuild it)", path,
		    d->api_version, EMPATH_API_VERSION);
		goto fail;
	}
	if (d->name == NULL || strcmp(d->name, name) != 0) {
		snprintf(why, sizeof(why), "%s declares the name %s (the file "
		    "and the descriptor must agree)", path, d->name == NULL ?
		    "NULL" : log_sanitize(d->name, shown, sizeof(shown)));
		goto fail;
	}
	p->version = xstrdup(log_sanitize(d->version ? d->version : "", shown,
	    sizeof(shown)));
	for (i = 0; i < EM_POINT_COUNT; i++)
		if (point_fn(d, (enum em_point)i) != NULL)
			p->points |= BIT(i);
	if (mask != 0 && (p->points & mask) == 0) {
		plugin_free(p);
		return 1;
	}
	if (d->init != NULL) {
		argv = xcalloc(nargs + 2, sizeof(*argv));
		argv[0] = xstrdup(name);
		for (i = 0; i < nargs; i++)
			argv[i + 1] = xstrdup(args[i]);
		plugin_log_enter(name);
		n = d->init((int)(nargs + 1), argv);
		plugin_log_enter(NULL);
		for (i = 0; i < nargs + 1; i++)
			free(argv[i]);
		free(argv);
		if (n != 0) {
			snprintf(why, sizeof(why), "init failed (returned %d)", n);
			goto fail;
		}
	}
	p->initialised = true;
	TAILQ_INSERT_TAIL(&ps->list, p, entry);
	return 0;
fail:
	snprintf(err, errlen, "%s: plugin \"%s\": %s", where, name, why);
	plugin_free(p);
	return -1;
}

void
plugin_set_crash_page(volatile uint32_t *page)
{
	crash_page = page;
}

void
plugins_set_disabled(const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < ndisabled; i++)
		free(disabled_names[i]);
	free(disabled_names);
	disabled_names = n > 0 ? xcalloc(n, sizeof(*disabled_names)) : NULL;
	for (i = 0; i < n; i++)
		disabled_names[i] = xstrdup(names[i]);
	ndisabled = n;
}

const struct plugins *
plugins_registry(void)
{
	return registry;
}

static bool
is_disabled(const char *name)
{
	size_t i;

	for (i = 0; i < ndisabled; i++)
		if (strcmp(disabled_names[i], name) == 0)
			return true;
	return false;
}

int
plugins_load_config(struct plugins *ps, const struct config *cfg,
    const char *file, uint32_t mask, char *err, size_t errlen)
{
	struct cfg_plugin *cp;
	struct plugin *p;
	char where[1200];
	unsigned pos = 0;
	int rv;

	plugins_init(ps, cfg->plugin_warn_ms);
	TAILQ_FOREACH(cp, &cfg->plugins, entry) {
		pos++;
		if (is_disabled(cp->name)) {
			/* Disabled by the master: listed, never loaded. */
			p = xcalloc(1, sizeof(*p));
			p->name = xstrdup(cp->name);
			p->version = xstrdup("");
			p->disabled = true;
			p->cfg_pos = pos;
			TAILQ_INSERT_TAIL(&ps->list, p, entry);
			log_warnx("plugin %s: disabled by empath-master after "
			    "repeated crashes: not loaded", cp->name);
			continue;
		}
		snprintf(where, sizeof(where), "%s:%u", file, cp->line);
		rv = plugin_load(ps, cfg->plugin_dir, cp->name, cp->nargs,
		    cp->args, mask, where, err, errlen);
		if (rv == -1) {
			plugins_unload(ps);
			return -1;
		}
		if (rv == 0)
			TAILQ_LAST(&ps->list, plugin_list)->cfg_pos = pos;
	}
	registry = ps;
	return 0;
}

void
plugins_unload(struct plugins *ps)
{
	struct plugin *p;

	if (registry == ps)
		registry = NULL;
	while ((p = TAILQ_LAST(&ps->list, plugin_list)) != NULL) {
		TAILQ_REMOVE(&ps->list, p, entry);
		plugin_free(p);
	}
}

size_t
plugins_for_daemon(const struct plugins *ps, enum plugin_daemon d,
    const struct plugin **out, size_t max)
{
	const struct plugin *p;
	uint32_t mask = plugin_daemon_points(d);
	size_t n = 0;

	TAILQ_FOREACH(p, &ps->list, entry)
		if (p->points & mask) {
			if (n < max)
				out[n] = p;
			n++;
		}
	return n;
}

int
plugins_check(const struct config *cfg, const char *file,
    void (*errfn)(const char *))
{
	struct cfg_plugin *cp;
	struct plugins ps;
	char where[1200], err[2048];
	int errors = 0;

	plugins_init(&ps, cfg->plugin_warn_ms);
	TAILQ_FOREACH(cp, &cfg->plugins, entry) {
		snprintf(where, sizeof(where), "%s:%u", file, cp->line);
		if (plugin_load(&ps, cfg->plugin_dir, cp->name, cp->nargs,
		    cp->args, 0, where, err, sizeof(err)) == -1) {
			errfn(err);
			errors++;
		}
		plugins_unload(&ps);
	}
	return errors;
}

/* ---------------------------------------------------------------- */
/* Calls */

/* The crash page names the plugin running now (plugin.h); a crash inside
 * it leaves its name there for the master. */
static void
running(const struct plugin *p, enum em_point pt)
{
	if (crash_page == NULL)
		return;
	if (p == NULL) {
		crash_page[0] = 0;
		crash_page[1] = 0;
	} else {
		crash_page[1] = (uint32_t)pt + 1;
		crash_page[0] = p->cfg_pos;
	}
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
timed(struct plugins *ps, struct plugin *p, enum em_point pt, uint64_t t0)
{
	uint64_t ms = now_ms() - t0;

	p->calls[pt]++;
	if (ps->warn_ms != 0 && ms > ps->warn_ms) {
		p->slow[pt]++;
		log_warnx("plugin %s: %s took %llu ms (plugin-hook-warn-ms %u): "
		    "it stalls every session of this daemon", p->name,
		    points[pt].name, (unsigned long long)ms, ps->warn_ms);
	}
}

int
plugin_call_hook(struct plugins *ps, struct plugin *p, enum em_point pt,
    em_context *ctx)
{
	em_hook_fn fn;
	uint64_t t0;
	int r;

	if ((unsigned)pt >= EM_POINT_COUNT || !points[pt].hook ||
	    p->disabled || p->desc == NULL ||
	    (fn = (em_hook_fn)point_fn(p->desc, pt)) == NULL)
		return EM_ACCEPT;
	plugin_ctx_begin(ctx, pt);
	t0 = now_ms();
	running(p, pt);
	plugin_log_enter(p->name);
	r = fn(ctx);
	plugin_log_enter(NULL);
	running(NULL, pt);
	timed(ps, p, pt, t0);
	return r != 0 ? EM_REJECT : EM_ACCEPT;
}

void
plugin_call_event(struct plugins *ps, struct plugin *p, enum em_point pt,
    em_context *ctx)
{
	em_event_fn fn;
	uint64_t t0;

	if ((unsigned)pt >= EM_POINT_COUNT || points[pt].hook ||
	    p->disabled || p->desc == NULL ||
	    (fn = (em_event_fn)point_fn(p->desc, pt)) == NULL)
		return;
	/* A hook's response is not an event's: only EM_EVENT_SMTP_ERROR
	 * has one, the reply the daemon set for it. */
	if (pt == EM_EVENT_SMTP_ERROR)
		ctx->point = pt;
	else
		plugin_ctx_begin(ctx, pt);
	t0 = now_ms();
	running(p, pt);
	plugin_log_enter(p->name);
	fn(ctx);
	plugin_log_enter(NULL);
	running(NULL, pt);
	timed(ps, p, pt, t0);
}

int
plugins_run_hook(struct plugins *ps, enum em_point pt, em_context *ctx,
    const struct plugin **who)
{
	struct plugin *p;

	TAILQ_FOREACH(p, &ps->list, entry) {
		if (p->disabled || !(p->points & BIT(pt)))
			continue;
		if (plugin_call_hook(ps, p, pt, ctx) == EM_REJECT) {
			if (who != NULL)
				*who = p;
			return EM_REJECT;
		}
	}
	return EM_ACCEPT;
}

void
plugins_run_event(struct plugins *ps, enum em_point pt, em_context *ctx)
{
	struct plugin *p;

	TAILQ_FOREACH(p, &ps->list, entry)
		if (!p->disabled && (p->points & BIT(pt)))
			plugin_call_event(ps, p, pt, ctx);
}
