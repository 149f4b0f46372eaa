/* SPDX-License-Identifier: ISC */
/* The plugins of queued (empath-plugin(3)): loaded in the config step,
 * before the chroot and the sandbox, and their message events. Every
 * event is fired on the loop, after the transaction that decided it,
 * never inside it; with no plugin implementing a point, nothing is built
 * for it (qevent_wanted() is the first thing a caller asks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plugin.h"
#include "plugin_ctx.h"
#include "queued.h"

static struct plugins plugins;
static bool loaded;
static uint32_t points;        /* (1 << em_point) some plugin implements */

int
qevents_load(const struct config *cfg, const char *file, char *err,
    size_t errlen)
{
	const struct plugin *p;

	if (plugins_load_config(&plugins, cfg, file,
	    plugin_daemon_points(PLUGIN_QUEUED), err, errlen) == -1)
		return -1;
	loaded = true;
	points = 0;
	TAILQ_FOREACH(p, &plugins.list, entry)
		points |= p->points;
	return 0;
}

void
qevents_unload(void)
{
	if (loaded)
		plugins_unload(&plugins);
	loaded = false;
	points = 0;
}

bool
qevent_wanted(enum em_point point)
{
	return (points & (1u << point)) != 0;
}

struct em_context *
qevent_new(const struct envelope *env)
{
	struct em_context *ctx = plugin_ctx_new();

	plugin_ctx_set_id(ctx, env->id);
	plugin_ctx_set_sender(ctx, env->sender ? env->sender : "");
	/* The index only keeps what env_decode took, so this holds; a bad
	 * row is logged and left out, never a reason to lose an event. */
	if (env->meta != NULL && env->meta[0] != '\0' &&
	    plugin_meta_decode(ctx, env->meta, strlen(env->meta)) == -1)
		log_warnx("%s: invalid metadata, not given to plugins", env->id);
	return ctx;
}

void
qevent_delivery(struct em_context *ctx, const char *host, const char *error,
    unsigned attempts)
{
	int code = 0;

	plugin_ctx_set_delivery(ctx, NULL, host, NULL, attempts);
	if (error == NULL)
		return;
	/* A remote reply starts with its code (RFC 5321 4.2); a local
	 * diagnostic has none. */
	if (error[0] >= '2' && error[0] <= '5' && error[1] >= '0' &&
	    error[1] <= '9' && error[2] >= '0' && error[2] <= '9' &&
	    (error[3] == ' ' || error[3] == '-' || error[3] == '\0'))
		code = (error[0] - '0') * 100 + (error[1] - '0') * 10 +
		    (error[2] - '0');
	plugin_ctx_set_delivery_reply(ctx, code, error, NULL, NULL);
}

void
qevent_fire(enum em_point point, struct em_context *ctx)
{
	if (ctx == NULL)
		return;
	if (qevent_wanted(point))
		plugins_run_event(&plugins, point, ctx);
	plugin_ctx_free(ctx);
}

/* From the index: msgid's sender and metadata, and its recipients whose
 * row id is in ids (all when n is 0). NULL when it is gone. */
struct em_context *
qevent_from_store(const char *msgid, const uint64_t *ids, size_t n)
{
	struct envelope env;
	struct em_context *ctx = NULL;
	size_t i, k;

	env_init(&env);
	if (store_load(Q.store, msgid, &env, true) == 0) {
		ctx = qevent_new(&env);
		for (i = 0; i < env.nrcpt; i++) {
			for (k = 0; k < n && ids[k] != env.rcpt[i].id; k++)
				;
			if (n == 0 || k < n)
				plugin_ctx_add_rcpt(ctx, env.rcpt[i].addr);
		}
	}
	env_clear(&env);
	return ctx;
}
