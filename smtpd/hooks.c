/* SPDX-License-Identifier: ISC */
/* The hook dispatcher (see hooks.h): a short list of registered
 * functions, run in order at each point; their replies are made safe to
 * send (one line of printable ASCII, a code of the right class, an RFC
 * 3463 enhanced code) whatever the hook wrote. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "session.h"
#include "util.h"

struct hook {
	hook_fn  fn;
	void    *arg;
	unsigned mask;
};

static struct hook *hooks;
static size_t nhooks;
static unsigned hooks_mask;            /* union: a quick "nothing to do" */

void
hooks_register(hook_fn fn, void *arg, unsigned mask)
{
	hooks = xreallocarray(hooks, nhooks + 1, sizeof(*hooks));
	hooks[nhooks].fn = fn;
	hooks[nhooks].arg = arg;
	hooks[nhooks].mask = mask & HOOK_ALL;
	nhooks++;
	hooks_mask |= mask & HOOK_ALL;
}

void
hooks_clear(void)
{
	free(hooks);
	hooks = NULL;
	nhooks = 0;
	hooks_mask = 0;
}

const char *
hook_point_name(enum hook_point p)
{
	static const char *names[HOOK_COUNT] = {
		"connect", "starttls", "helo", "mail", "rcpt", "data",
	};

	return (unsigned)p < HOOK_COUNT ? names[p] : "?";
}

static bool
is_enhanced(const char *t, char cls)
{
	/* class "." 1*3digit "." 1*3digit, then a space or the end */
	size_t i = 2, n;

	if (t[0] != cls || t[1] != '.')
		return false;
	for (n = 0; t[i] >= '0' && t[i] <= '9'; i++, n++)
		;
	if (n < 1 || n > 3 || t[i++] != '.')
		return false;
	for (n = 0; t[i] >= '0' && t[i] <= '9'; i++, n++)
		;
	return n >= 1 && n <= 3 && (t[i] == ' ' || t[i] == '\0');
}

/* Make the hook's reply sendable: code in range, printable text with an
 * enhanced code of the code's class. Reply text is printable ASCII on
 * the wire (RFC 5321 4.2; RFC 6531 does not widen it), so other octets
 * become '?' here; the log escapes what it shows of it anyway. */
static void
reply_fix(struct hook_reply *r, bool reject)
{
	char text[HOOK_TEXT_MAX + 16], cls;
	size_t i;

	if (reject && (r->code < 400 || r->code > 599))
		r->code = 554;
	if (!reject && (r->code < 200 || r->code > 299)) {
		r->code = 0;
		return;
	}
	r->text[sizeof(r->text) - 1] = '\0';
	for (i = 0; r->text[i] != '\0'; i++) {
		unsigned char c = (unsigned char)r->text[i];

		if (c < 32 || c > 126)
			r->text[i] = '?';
	}
	cls = (char)('0' + r->code / 100);
	if (r->text[0] >= '2' && r->text[0] <= '5' && r->text[1] == '.' &&
	    is_enhanced(r->text + 0, r->text[0]))
		r->text[0] = cls;          /* keep the detail, fix the class */
	if (!is_enhanced(r->text, cls)) {
		snprintf(text, sizeof(text), "%c.%s %s", cls,
		    reject ? "7.1" : "0.0",
		    r->text[0] ? r->text : (reject ? "rejected" : "Ok"));
		strlcpy(r->text, text, sizeof(r->text));   /* cut if long */
	}
}

enum hook_verdict
hooks_run(struct session *s, enum hook_point p, const char *arg,
    struct hook_reply *reply)
{
	struct hook_reply own;
	struct hook_ctx ctx;
	enum hook_verdict v;
	size_t i;

	reply->code = 0;
	reply->text[0] = '\0';
	if (!(hooks_mask & HOOK_MASK(p)))
		goto plugins;
	memset(&ctx, 0, sizeof(ctx));
	ctx.point = p;
	ctx.session_id = s->id;
	ctx.client_addr = s->addr;
	ctx.helo = s->helo;
	ctx.arg = arg;
	ctx.env = s->tx ? &s->tx->env : NULL;
	ctx.tls_version = lio_tls_version(&s->lio);
	ctx.tls_cipher = lio_tls_cipher(&s->lio);
	ctx.listen = s->listen;
	for (i = 0; i < nhooks; i++) {
		if (!(hooks[i].mask & HOOK_MASK(p)))
			continue;
		reply->code = 0;
		reply->text[0] = '\0';
		v = hooks[i].fn(&ctx, reply, hooks[i].arg);
		if (v != HOOK_ACCEPT) {
			reply_fix(reply, true);
			return HOOK_REJECT;
		}
	}
plugins:
	own.code = 0;
	own.text[0] = '\0';
	if (hplug_run(s, p, arg, &own) == HOOK_REJECT) {
		*reply = own;
		reply_fix(reply, true);
		return HOOK_REJECT;
	}
	if (own.code != 0)
		*reply = own;
	/* The last accepting hook's reply, if it chose one. */
	reply_fix(reply, false);
	return HOOK_ACCEPT;
}
