/* SPDX-License-Identifier: ISC */
/* TLS in smtpd: a server context per listener with a certificate (made
 * in configure(), before the privilege drop, so the key file need not be
 * readable afterwards), the STARTTLS command (RFC 3207), implicit TLS
 * (port 465, RFC 8314) and the non-blocking handshake.
 *
 * STARTTLS injection: whatever the client sent after STARTTLS in the
 * same plain-text stream is thrown away before TLS starts, never read as
 * if it came through TLS. After the handshake the session starts afresh
 * (RFC 3207 §4.2): no HELO, no transaction. */
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "event.h"
#include "hooks.h"
#include "log.h"
#include "session.h"
#include "starttls.h"
#include "util.h"

struct lctx {
	const struct cfg_listen *l;
	SSL_CTX *ctx;
};
static struct lctx *ctxs;
static size_t nctxs;

int
starttls_configure(const struct config *cfg)
{
	const struct cfg_listen *l;
	char err[256];
	SSL_CTX *ctx;

	starttls_free();
	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		if (l->tls_cert == NULL)
			continue;
		if ((ctx = tls_server_ctx(l->tls_cert, l->tls_key, err,
		    sizeof(err))) == NULL) {
			log_warnx("listener %u (%s port %u): %s (certificate %s, "
			    "key %s)", l->index, l->addr, (unsigned)l->port, err,
			    l->tls_cert, l->tls_key);
			return -1;
		}
		ctxs = xreallocarray(ctxs, nctxs + 1, sizeof(*ctxs));
		ctxs[nctxs].l = l;
		ctxs[nctxs].ctx = ctx;
		nctxs++;
		log_debug("listener %u: TLS certificate %s loaded", l->index,
		    l->tls_cert);
	}
	return 0;
}

void
starttls_free(void)
{
	for (size_t i = 0; i < nctxs; i++)
		SSL_CTX_free(ctxs[i].ctx);
	free(ctxs);
	ctxs = NULL;
	nctxs = 0;
}

static SSL_CTX *
starttls_ctx(const struct cfg_listen *l)
{
	for (size_t i = 0; i < nctxs; i++)
		if (ctxs[i].l == l)
			return ctxs[i].ctx;
	return NULL;
}

bool
starttls_available(const struct session *s)
{
	return s->lio.ssl == NULL && s->listen->tls_mode != LTLS_IMPLICIT &&
	    starttls_ctx(s->listen) != NULL;
}

void
cmd_starttls(struct session *s, enum smtp_error e)
{
	char *junk;
	size_t n;

	if (e != SMTP_OK) {
		session_reply_error(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->lio.ssl != NULL) {
		session_reply_error(s, "503 5.5.1 Error: TLS already active");
		return;
	}
	if (!starttls_available(s)) {
		session_reply_error(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (s->tx != NULL) {
		session_reply_error(s, "503 5.5.1 Error: MAIL transaction in "
		    "progress");
		return;
	}
	/* Pipelined after STARTTLS: discarded, never executed in TLS. */
	if ((n = lio_peek(&s->lio, &junk)) > 0) {
		log_info("session %" PRIu64 ": %zu bytes after STARTTLS from [%s] "
		    "discarded", s->id, n, s->addr);
		lio_consume(&s->lio, n);
	}
	session_reply(s, "220 2.0.0 Ready to start TLS");
	s->starttls = true;      /* session_after begins once it is sent */
}

void
starttls_begin(struct session *s)
{
	SSL_CTX *ctx = starttls_ctx(s->listen);

	s->starttls = false;
	if (ctx == NULL || lio_tls_start(&s->lio, ctx, true, NULL) == -1) {
		log_warnx("session %" PRIu64 ": cannot start TLS", s->id);
		s->dead = true;
		return;
	}
	s->handshake = true;
	s->last_read = ev_now();    /* the handshake gets a command timeout */
	starttls_step(s);
}

void
starttls_step(struct session *s)
{
	struct hook_reply hr;
	char err[256];
	int r;

	r = lio_tls_handshake(&s->lio, err, sizeof(err));
	if (r == 0)
		return;
	s->handshake = false;
	if (r == -1) {
		char tmp[256];

		log_info("session %" PRIu64 ": TLS handshake with [%s] failed: %s",
		    s->id, s->addr,
		    log_sanitize(err, tmp, sizeof(tmp)));
		s->dead = true;
		return;
	}
	s->last_read = ev_now();
	log_info("session %" PRIu64 ": TLS with [%s]: %s %s (%d bits)",
	    s->id, s->addr, lio_tls_version(&s->lio),
	    lio_tls_cipher(&s->lio), lio_tls_bits(&s->lio));
	session_tls_reset(s);
	if (!s->greeted) {
		/* Implicit TLS: the connection starts now. */
		session_greet(s);
		return;
	}
	if (hooks_run(s, HOOK_STARTTLS, NULL, &hr) == HOOK_REJECT) {
		session_reply(s, "%u %s", hr.code, hr.text);
		session_close(s);
	}
}
