/* SPDX-License-Identifier: ISC */
/* deliverd's plugin events (delivery_events.h).
 *
 * Each event gets a context of its own, built when a plugin implements
 * the point and freed after the call: nothing a plugin is given outlives
 * the call. The metadata comes from env.meta, what smtpd's plugins set
 * (queued validated it, env_decode() checked it again); what a plugin
 * sets here is not kept. The attempt number is one more than the most
 * attempts queued counted for the recipients concerned.
 *
 * The reply of a result event: a server's reply gives its code and the
 * text after it ("451" and "4.7.1 greylisted"); when deliverd decided
 * itself (no route, no connection, a timeout, a local check) the text is
 * its own diagnostic, which starts with an enhanced status code (RFC
 * 3463), and the code is 451 for deferred recipients, 554 for failed
 * ones. Either way the code's first digit tells deferred (4) from failed
 * (5). */
#include <openssl/ssl.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "delivery_events.h"
#include "log.h"
#include "plugin.h"
#include "plugin_ctx.h"
#include "proto.h"
#include "util.h"

#define ROUTE_TEXT_MAX 1024

static struct plugins plugins;
static bool loaded;
static uint32_t implemented;          /* bit (1 << em_point) */

static bool
wanted(enum em_point pt)
{
	return (implemented & (1u << pt)) != 0;
}

void
devents_configure(const struct config *cfg)
{
	const struct plugin *p;
	char err[1024];

	/* The snapshot is the configuration file's exact text: its line
	 * numbers are the file's. */
	if (plugins_load_config(&plugins, cfg, "config",
	    plugin_daemon_points(PLUGIN_DELIVERD), err, sizeof(err)) == -1)
		fatalx("%s", err);
	loaded = true;
	TAILQ_FOREACH(p, &plugins.list, entry) {
		implemented |= p->points;
		if (!p->disabled)
			log_info("plugin %s%s%s loaded", p->name,
			    p->version[0] != '\0' ? " " : "", p->version);
	}
}

void
devents_unload(void)
{
	if (!loaded)
		return;
	implemented = 0;
	plugins_unload(&plugins);
	loaded = false;
}

/* The message's part of a context: id, sender, metadata. */
static struct em_context *
job_ctx(const struct job *j)
{
	struct em_context *x = plugin_ctx_new();

	plugin_ctx_set_id(x, j->env.id);
	plugin_ctx_set_sender(x, j->env.sender);
	if (j->env.meta != NULL && j->env.meta[0] != '\0' &&
	    plugin_meta_decode(x, j->env.meta, strlen(j->env.meta)) == -1)
		log_warnx("%s: metadata not readable, events go without it",
		    j->env.id);
	return x;
}

static unsigned
attempt_of(const struct job *j, size_t i, unsigned cur)
{
	uint32_t a = j->env.rcpt[i].attempts;

	return a < 0xfffffffeu && a + 1 > cur ? a + 1 : cur;
}

static void
set_tls(struct em_context *x, const struct client *c, int code,
    const char *text)
{
	const char *v = NULL, *ci = NULL;

	if (c != NULL && c->tls_active && c->lio.ssl != NULL) {
		v = SSL_get_version(c->lio.ssl);
		ci = SSL_get_cipher_name(c->lio.ssl);
	}
	plugin_ctx_set_delivery_reply(x, code, text, v, ci);
}

static void
fire(enum em_point pt, struct em_context *x)
{
	plugins_run_event(&plugins, pt, x);
	plugin_ctx_free(x);
}

/* ---- DNS ---- */

static void
text_add(char *buf, size_t len, size_t *off, const char *s)
{
	size_t n = strlen(s);

	if (*off + 1 >= len)
		return;
	if (*off + n >= len) {
		/* Cut: say so where there is room. */
		n = len - 1 - *off;
		memcpy(buf + *off, s, n);
		*off += n;
		buf[*off] = '\0';
		if (len > 4)
			memcpy(buf + len - 4, "...", 4);
		*off = len - 1;
		return;
	}
	memcpy(buf + *off, s, n + 1);
	*off += n;
}

/* "MX mx1.example.test(10) [192.0.2.1] [2001:db8::1], mx2.example.test(20)
 * [192.0.2.2]"; "no MX, A/AAAA example.test [192.0.2.1]"; "relay
 * relay.example.test [192.0.2.3]"; the route's diagnostic when it
 * failed. The hosts in the order they will be tried. */
void
devents_route_text(const struct route *r, char *buf, size_t len)
{
	char ip[64], item[ROUTE_HOST_MAX + 16];
	const char *prev = NULL;
	size_t off = 0, i;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (r->status != ROUTE_OK) {
		strlcpy(buf, r->diag, len);
		return;
	}
	switch (r->kind) {
	case ROUTE_MX:
		text_add(buf, len, &off, "MX");
		break;
	case ROUTE_IMPLICIT_MX:
		text_add(buf, len, &off, "no MX, A/AAAA");
		break;
	case ROUTE_RELAY:
		text_add(buf, len, &off, "relay");
		break;
	case ROUTE_LITERAL:
		text_add(buf, len, &off, "literal");
		break;
	}
	for (i = 0; i < r->ndest; i++) {
		const struct route_dest *d = &r->dest[i];

		if (prev == NULL || strcmp(prev, d->host) != 0) {
			if (r->kind == ROUTE_MX)
				snprintf(item, sizeof(item), "%s %s(%u)",
				    prev != NULL ? "," : "", d->host,
				    (unsigned)d->pref);
			else
				snprintf(item, sizeof(item), "%s %s",
				    prev != NULL ? "," : "", d->host);
			text_add(buf, len, &off, item);
			prev = d->host;
		}
		sa_ntop((const struct sockaddr *)&d->ss, ip, sizeof(ip));
		snprintf(item, sizeof(item), " [%s]", ip);
		text_add(buf, len, &off, item);
	}
}

void
devents_dns(const struct job *j, const struct route *r)
{
	struct em_context *x;
	char text[ROUTE_TEXT_MAX];
	unsigned attempt = 0;
	size_t i;

	if (!wanted(EM_EVENT_DNS_LOOKUP) || !r->dns)
		return;
	x = job_ctx(j);
	for (i = 0; i < j->env.nrcpt; i++)
		if (j->rcpt[i].state == RCPT_INFLIGHT) {
			plugin_ctx_add_rcpt(x, j->env.rcpt[i].addr);
			attempt = attempt_of(j, i, attempt);
		}
	devents_route_text(r, text, sizeof(text));
	plugin_ctx_set_delivery(x, j->domain, NULL, NULL, attempt);
	plugin_ctx_set_delivery_reply(x, 0, text, NULL, NULL);
	fire(EM_EVENT_DNS_LOOKUP, x);
}

/* ---- the transaction ---- */

void
devents_attempt(const struct client *c)
{
	const struct job *j = c->job;
	struct em_context *x;
	unsigned attempt = 0;
	size_t k;

	if (!wanted(EM_EVENT_DELIVERY_ATTEMPT) || j == NULL)
		return;
	x = job_ctx(j);
	for (k = 0; k < c->nsend; k++) {
		plugin_ctx_add_rcpt(x, j->env.rcpt[c->rcpt_idx[k]].addr);
		attempt = attempt_of(j, c->rcpt_idx[k], attempt);
	}
	plugin_ctx_set_delivery(x, j->domain, j->dl_host[0] ? j->dl_host : NULL,
	    j->dl_addr[0] ? j->dl_addr : NULL, attempt);
	/* The last reply: to EHLO (or HELO, RSET, the TLS EHLO). */
	set_tls(x, c, c->reply.code, c->reply.code != 0 ? c->reply.text : NULL);
	fire(EM_EVENT_DELIVERY_ATTEMPT, x);
}

/* ---- results ---- */

static bool
reportable(uint32_t st)
{
	return st == RCPT_DELIVERED || st == RCPT_FAILED || st == RCPT_DEFERRED;
}

int
devents_result_code(const char *diag, uint32_t state, const char **text)
{
	int code = 0, want;

	if (diag == NULL)
		diag = "";
	*text = diag;
	want = state == RCPT_DELIVERED ? 2 : state == RCPT_FAILED ? 5 : 4;
	/* A server's reply: three digits, then a space or the end. */
	if (isdigit((unsigned char)diag[0]) && isdigit((unsigned char)diag[1]) &&
	    isdigit((unsigned char)diag[2]) && (diag[3] == ' ' ||
	    diag[3] == '\0')) {
		code = (diag[0] - '0') * 100 + (diag[1] - '0') * 10 +
		    (diag[2] - '0');
		*text = diag[3] == ' ' ? diag + 4 : diag + 3;
	}
	if (code / 100 == want)
		return code;
	/* deliverd's own verdict, or a reply that did not decide it (an
	 * early reply while the body went out): the outcome's class. */
	*text = diag;
	return want == 2 ? 250 : want == 5 ? 554 : 451;
}

void
devents_results(struct job *j, const struct client *c)
{
	bool ok = wanted(EM_EVENT_DELIVERY_SUCCESS),
	    fail = wanted(EM_EVENT_DELIVERY_FAILURE);
	struct em_context *x;
	enum em_point pt;
	const char *diag, *text;
	unsigned attempt;
	uint32_t st;
	size_t i, k;
	int code;

	if (!ok && !fail)
		return;
	for (i = 0; i < j->env.nrcpt; i++) {
		st = j->rcpt[i].state;
		if (j->rcpt[i].evsent || !reportable(st))
			continue;
		pt = st == RCPT_DELIVERED ? EM_EVENT_DELIVERY_SUCCESS :
		    EM_EVENT_DELIVERY_FAILURE;
		diag = j->rcpt[i].diag != NULL ? j->rcpt[i].diag : "";
		if (!(pt == EM_EVENT_DELIVERY_SUCCESS ? ok : fail)) {
			j->rcpt[i].evsent = true;
			continue;
		}
		/* The group: the same state and reply, from here on. */
		x = job_ctx(j);
		attempt = 0;
		for (k = i; k < j->env.nrcpt; k++) {
			if (j->rcpt[k].evsent || j->rcpt[k].state != st ||
			    strcmp(j->rcpt[k].diag != NULL ? j->rcpt[k].diag :
			    "", diag) != 0)
				continue;
			j->rcpt[k].evsent = true;
			plugin_ctx_add_rcpt(x, j->env.rcpt[k].addr);
			attempt = attempt_of(j, k, attempt);
		}
		plugin_ctx_set_delivery(x, j->domain,
		    j->dl_host[0] ? j->dl_host : NULL,
		    j->dl_addr[0] ? j->dl_addr : NULL, attempt);
		code = devents_result_code(diag, st, &text);
		set_tls(x, c, code, text);
		fire(pt, x);
	}
}
