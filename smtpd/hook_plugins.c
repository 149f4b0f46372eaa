/* SPDX-License-Identifier: ISC */
/* The plugins of <empath/empath.h> behind smtpd's hook dispatcher: the
 * ones with an smtpd point are loaded in configure(), before the chroot
 * and the seccomp filter. Each session has one em_context, made at
 * accept and freed at close; it is kept in step with the session
 * (connection facts at every call, the message's sender, recipients and
 * id as the transaction goes) and emptied of the message at the end of
 * each transaction. What a plugin answers goes back through hooks.c,
 * which makes the reply safe to send. No plugin: no context, no cost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "log.h"
#include "plugin.h"
#include "plugin_ctx.h"
#include "session.h"
#include "util.h"

static struct plugins plugins;
static bool loaded;
static uint32_t points;                /* union of what they implement */

#define BIT(p) ((uint32_t)1 << (p))

/* hook_point and em_point name the same six points in the same order. */
_Static_assert(HOOK_CONNECT == (int)EM_VALIDATE_CONNECT &&
    HOOK_DATA == (int)EM_VALIDATE_DATA, "hook points");

int
hplug_load(const struct config *cfg, const char *file, char *err,
    size_t errlen)
{
	const struct plugin *p;

	hplug_unload();
	if (plugins_load_config(&plugins, cfg, file,
	    plugin_daemon_points(PLUGIN_SMTPD), err, errlen) == -1)
		return -1;
	loaded = true;
	points = 0;
	TAILQ_FOREACH(p, &plugins.list, entry) {
		points |= p->points & plugin_daemon_points(PLUGIN_SMTPD);
		if (!p->disabled)
			log_info("plugin %s %s loaded", p->name, p->version);
	}
	/* Plugins the master disabled stay listed (empathctl plugin list
	 * shows them) although nothing of them runs; no entry at all: no
	 * registry. */
	if (TAILQ_EMPTY(&plugins.list))
		hplug_unload();
	return 0;
}

void
hplug_unload(void)
{
	if (loaded)
		plugins_unload(&plugins);
	loaded = false;
	points = 0;
}

bool
hplug_wants(enum em_point pt)
{
	return (points & BIT(pt)) != 0;
}

bool
hplug_active(void)
{
	return points != 0;
}

/* The session id as the context's id while no message id is known. */
static void
set_session_id(struct session *s)
{
	char id[24];

	snprintf(id, sizeof(id), "%" PRIu64, s->id);
	plugin_ctx_set_id(s->pctx, id);
}

/* The connection facts, which change with HELO and STARTTLS. */
static void
sync_conn(struct session *s, const char *helo)
{
	plugin_ctx_set_peer(s->pctx, s->addr, helo);
	plugin_ctx_set_tls(s->pctx, lio_tls_version(&s->lio),
	    lio_tls_cipher(&s->lio));
}

static void
event(struct session *s, enum em_point pt)
{
	if (s->pctx == NULL || !hplug_wants(pt))
		return;
	sync_conn(s, s->helo);
	plugins_run_event(&plugins, pt, s->pctx);
}

void
hplug_open(struct session *s)
{
	if (!hplug_active())
		return;
	s->pctx = plugin_ctx_new();
	set_session_id(s);
	event(s, EM_EVENT_CONNECTION_OPENED);
}

void
hplug_close(struct session *s)
{
	if (s->pctx == NULL)
		return;
	event(s, EM_EVENT_CONNECTION_CLOSED);
	plugin_ctx_free(s->pctx);
	s->pctx = NULL;
}

void
hplug_tx_end(struct session *s)
{
	if (s->pctx == NULL)
		return;
	plugin_ctx_reset_message(s->pctx);
	set_session_id(s);
}

void
hplug_message_id(struct session *s, const char *msgid)
{
	if (s->pctx != NULL)
		plugin_ctx_set_id(s->pctx, msgid);
}

void
hplug_data(struct session *s, const void *data, size_t len)
{
	if (s->pctx != NULL)
		plugin_ctx_set_data(s->pctx, data, len);
}

/* The recipient being checked goes out again (a rejection, or one the
 * envelope already has). */
static void
pop_rcpt(struct em_context *c)
{
	if (c->nrcpts == 0)
		return;
	free(c->rcpts[--c->nrcpts]);
	c->rcpts[c->nrcpts] = NULL;
}

void
hplug_rcpt_dup(struct session *s)
{
	if (s->pctx != NULL)
		pop_rcpt(s->pctx);
}

enum hook_verdict
hplug_run(struct session *s, enum hook_point p, const char *arg,
    struct hook_reply *reply)
{
	enum em_point pt = (enum em_point)p;
	const struct plugin *who = NULL;
	struct em_context *c = s->pctx;
	const char *text;
	int code, v;

	if (c == NULL)
		return HOOK_ACCEPT;
	/* The context follows the transaction whether or not a plugin
	 * has this hook: later hooks and events read it. */
	sync_conn(s, p == HOOK_HELO ? arg : s->helo);
	if (p == HOOK_MAIL) {
		/* The metadata belongs to the message: a transaction
		 * starts with none. */
		plugin_ctx_reset_message(c);
		set_session_id(s);
		plugin_ctx_set_sender(c, arg);
	} else if (p == HOOK_RCPT)
		plugin_ctx_add_rcpt(c, arg);
	if (!hplug_wants(pt))
		return HOOK_ACCEPT;
	v = plugins_run_hook(&plugins, pt, c, &who);
	text = em_context_get_response(c, &code);
	reply->code = 0;
	reply->text[0] = '\0';
	if (v == EM_REJECT) {
		if (p == HOOK_RCPT)
			pop_rcpt(c);
		/* A code of the other class than the verdict is ignored. */
		reply->code = code >= 400 && code <= 599 ? (unsigned)code : 0;
		if (text != NULL)
			strlcpy(reply->text, text, sizeof(reply->text));
		log_info("session %" PRIu64 ": plugin %s rejects at %s (%d)",
		    s->id, who ? who->name : "?", plugin_point_name(pt), code);
		return HOOK_REJECT;
	}
	if ((p == HOOK_MAIL || p == HOOK_RCPT) && code >= 200 && code <= 299) {
		reply->code = (unsigned)code;
		if (text != NULL)
			strlcpy(reply->text, text, sizeof(reply->text));
	}
	return HOOK_ACCEPT;
}

void
hplug_commit(struct session *s, struct envelope *env)
{
	size_t len;

	if (s->pctx == NULL)
		return;
	free(env->meta);
	free(env->headers);
	env->meta = plugin_meta_encode(s->pctx, &len);
	if (len == 0) {
		free(env->meta);
		env->meta = NULL;
	}
	env->headers = plugin_headers_encode(s->pctx, &len);
}

void
hplug_received(struct session *s)
{
	if (s->pctx == NULL)
		return;
	plugin_ctx_set_data(s->pctx, NULL, 0);
	event(s, EM_EVENT_MESSAGE_RECEIVED);
}

void
hplug_reply(struct session *s, const char *line, size_t len)
{
	char text[SMTP_LINE_MAX];
	unsigned code;

	if (s->pctx == NULL || !hplug_wants(EM_EVENT_SMTP_ERROR) || len < 3 ||
	    (line[0] != '4' && line[0] != '5') ||
	    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9')
		return;
	code = (unsigned)(line[0] - '0') * 100 + (unsigned)(line[1] - '0') * 10 +
	    (unsigned)(line[2] - '0');
	if (len > 4 && len - 4 < sizeof(text)) {
		memcpy(text, line + 4, len - 4);
		text[len - 4] = '\0';
	} else
		text[0] = '\0';
	plugin_ctx_set_reply(s->pctx, (int)code, text);
	event(s, EM_EVENT_SMTP_ERROR);
}
