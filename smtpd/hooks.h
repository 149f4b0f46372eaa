/* SPDX-License-Identifier: ISC */
/* The hook dispatcher of smtpd: one entry point called at each of the
 * validation points of a session, in this order:
 *
 *   HOOK_CONNECT   a client connected (for implicit TLS: after the
 *                  handshake), before the greeting
 *   HOOK_STARTTLS  a TLS handshake finished (STARTTLS or implicit TLS)
 *   HOOK_HELO      HELO/EHLO with a well-formed name
 *   HOOK_MAIL      MAIL with a valid sender and parameters
 *   HOOK_RCPT      RCPT with a valid recipient that policy allows
 *   HOOK_DATA      the end of a complete, well-formed message, before it
 *                  is committed to the queue
 *
 * Hooks run in registration order until one rejects. A rejection carries
 * a 4xx or 5xx code and a text that smtpd sends in place of its own reply
 * (421 also closes the session; at HOOK_CONNECT and HOOK_STARTTLS every
 * rejection closes it). At HOOK_MAIL and HOOK_RCPT a hook that accepts
 * may set a 2xx code and text to replace the usual 250 reply.
 *
 * Hooks come from code linked into smtpd (hooks_register(): the session
 * unit tests register a test hook table) and from the plugins of
 * <empath/empath.h> (hook_plugins.c), which run after them. No hook: no
 * cost. */
#ifndef EMPATH_SMTPD_HOOKS_H
#define EMPATH_SMTPD_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "empath/empath.h"
#include "envelope.h"

struct session;
struct cfg_listen;

enum hook_point {
	HOOK_CONNECT = 0,
	HOOK_STARTTLS,
	HOOK_HELO,
	HOOK_MAIL,
	HOOK_RCPT,
	HOOK_DATA,
	HOOK_COUNT
};
#define HOOK_MASK(p) (1u << (p))
#define HOOK_ALL     ((1u << HOOK_COUNT) - 1)

enum hook_verdict { HOOK_ACCEPT = 0, HOOK_REJECT = 1 };

/* What a hook sees: a read-only view of the session, valid during the
 * call only. */
struct hook_ctx {
	enum hook_point point;
	uint64_t session_id;
	const char *client_addr;          /* numeric */
	const char *helo;                 /* NULL before HELO/EHLO */
	/* HOOK_HELO: the name; HOOK_MAIL: the sender ("" for <>);
	 * HOOK_RCPT: the recipient; HOOK_DATA: the message id; else NULL */
	const char *arg;
	const struct envelope *env;       /* MAIL, RCPT, DATA; else NULL */
	const char *tls_version;          /* NULL without TLS */
	const char *tls_cipher;
	const struct cfg_listen *listen;  /* its `context` keys and values */
};

#define HOOK_TEXT_MAX 400
struct hook_reply {
	unsigned code;                    /* 0: smtpd's own reply */
	char     text[HOOK_TEXT_MAX];     /* "5.7.1 go away"; may lack the
	                                     enhanced code */
};

typedef enum hook_verdict (*hook_fn)(const struct hook_ctx *,
                                     struct hook_reply *, void *arg);

/* Register fn for the points in mask (HOOK_MASK bits). */
void hooks_register(hook_fn fn, void *arg, unsigned mask);
void hooks_clear(void);
/* Run the hooks of point. On HOOK_REJECT, reply holds a 4xx/5xx code
 * and a safe one-line text that starts with an enhanced status code of
 * the same class; on HOOK_ACCEPT, reply->code is 0 or a 2xx the caller
 * may use (text made safe likewise). */
enum hook_verdict hooks_run(struct session *, enum hook_point, const char *arg,
                            struct hook_reply *reply);
const char *hook_point_name(enum hook_point);

/* hook_plugins.c: the plugins with an smtpd point (empath-plugin(3)),
 * their em_context per session (session.h: s->pctx, NULL without
 * plugins) and the events. */
struct config;
/* Load them (file names the configuration in errors); -1 with err. */
int  hplug_load(const struct config *, const char *file, char *err,
         size_t errlen);
void hplug_unload(void);                     /* fini, then dlclose */
bool hplug_active(void);                     /* any smtpd point loaded */
bool hplug_wants(enum em_point);             /* a plugin implements it */
/* The session's context, EM_EVENT_CONNECTION_OPENED; at the end
 * EM_EVENT_CONNECTION_CLOSED and the context freed. */
void hplug_open(struct session *);
void hplug_close(struct session *);
/* The plugins' hooks of a point (called by hooks_run() once the linked
 * hooks accepted); reply not yet made safe. At HOOK_RCPT the recipient
 * is added to the context, and removed again if rejected. */
enum hook_verdict hplug_run(struct session *, enum hook_point,
         const char *arg, struct hook_reply *);
void hplug_rcpt_dup(struct session *);       /* accepted, but a repeat */
void hplug_message_id(struct session *, const char *msgid);
void hplug_data(struct session *, const void *, size_t);   /* borrowed */
void hplug_tx_end(struct session *);         /* forget the message */
/* env->meta and env->headers from the context. */
void hplug_commit(struct session *, struct envelope *);
void hplug_received(struct session *);       /* after Q_COMMIT_OK */
/* A reply line smtpd sends: 4xx and 5xx make EM_EVENT_SMTP_ERROR. */
void hplug_reply(struct session *, const char *line, size_t len);

#endif
