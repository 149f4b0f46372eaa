/* SPDX-License-Identifier: ISC */
/* STARTTLS in the delivery client, by policy (`tls none | opportunistic |
 * required`, the domain's own or the global one):
 *
 *  none           never STARTTLS.
 *  opportunistic  STARTTLS whenever the server offers it. The certificate
 *                 is checked and the result logged, but does not stop the
 *                 delivery (plain text would be allowed anyway). A failed
 *                 handshake is followed by one more connection to the
 *                 same address without STARTTLS; a refused STARTTLS
 *                 continues in plain text.
 *  required       the server must offer STARTTLS, the handshake must
 *                 succeed and the certificate must verify against the
 *                 system CA store and the MX host name (or relay name);
 *                 otherwise the next address is tried, and the delivery
 *                 is deferred when none is left. `accept-invalid-certs
 *                 yes` (the domain's, over the global one) turns the
 *                 verification off, with a warning for every session.
 *
 * The CA store is read when the contexts are made, before the chroot. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>

#include "client.h"
#include "daemon.h"
#include "deliverd.h"
#include "event.h"
#include "lineio.h"
#include "log.h"
#include "proto.h"

static SSL_CTX *ctx_verify, *ctx_noverify;

static const char *
policy_name(int p)
{
	return p == TLS_NONE ? "none" : p == TLS_REQUIRED ? "required" :
	    "opportunistic";
}

void
client_configure(const struct config *cfg)
{
	const struct cfg_domain *d;
	char err[256];

	if (ctx_verify == NULL &&
	    (ctx_verify = tls_client_ctx(true, err, sizeof(err))) == NULL)
		log_warnx("TLS with certificate verification unavailable: %s", err);
	if (ctx_noverify == NULL &&
	    (ctx_noverify = tls_client_ctx(false, err, sizeof(err))) == NULL)
		log_warnx("TLS unavailable: %s", err);
	if (cfg->delivery.accept_invalid_certs)
		log_warnx("delivery: accept-invalid-certs: TLS certificates are "
		    "not verified for domains without a setting of their own");
	TAILQ_FOREACH(d, &cfg->domains, entry)
		if (d->accept_invalid_certs == 1)
			log_warnx("domain %s: accept-invalid-certs: TLS "
			    "certificates are not verified", d->name);
}

void
tls_policy_of(struct client *c, const char *domain)
{
	const struct config *cfg = daemon_config();
	const struct cfg_domain *d;
	char l[ROUTE_HOST_MAX];
	size_t i;
	bool invalid_ok;

	c->tls_policy = TLS_OPPORTUNISTIC;
	c->tls_verify = false;
	if (cfg == NULL)
		return;
	for (i = 0; domain[i] != '\0' && i < sizeof(l) - 1; i++)
		l[i] = (char)(domain[i] >= 'A' && domain[i] <= 'Z' ?
		    domain[i] + 32 : domain[i]);
	l[i] = '\0';
	d = config_domain(cfg, l);
	c->tls_policy = d != NULL && d->tls >= 0 ? d->tls : (int)cfg->delivery.tls;
	invalid_ok = d != NULL && d->accept_invalid_certs >= 0 ?
	    d->accept_invalid_certs == 1 : cfg->delivery.accept_invalid_certs;
	c->tls_verify = c->tls_policy == TLS_REQUIRED && !invalid_ok;
}

int
tls_after_ehlo(struct client *c)
{
	char diag[REPLY_TEXT_MAX];

	if (c->tls_active || c->tls_policy == TLS_NONE || c->no_tls)
		return txn_begin(c);
	/* The TLS requirement not met on this address: the next one. */
	if (!c->caps.starttls) {
		if (c->tls_policy != TLS_REQUIRED)
			return txn_begin(c);
		snprintf(diag, sizeof(diag), "4.7.4 TLS is required, but %s "
		    "does not offer STARTTLS", c->peer);
		return client_next_dest(c, diag);
	}
	if ((c->tls_verify ? ctx_verify : ctx_noverify) == NULL) {
		if (c->tls_policy != TLS_REQUIRED)
			return txn_begin(c);
		snprintf(diag, sizeof(diag), "4.7.5 TLS is required for %s, but "
		    "TLS is unavailable here", c->peer);
		return client_next_dest(c, diag);
	}
	if (client_set_state(c, C_STARTTLS) == -1)
		return -1;
	client_send(c, "STARTTLS");
	client_arm(c);
	return client_pump(c);
}

int
tls_starttls_reply(struct client *c)
{
	const struct route_dest *d = &c->route->dest[c->dest];
	SSL_CTX *ctx = c->tls_verify ? ctx_verify : ctx_noverify;
	char diag[REPLY_TEXT_MAX];

	if (c->reply.code != 220) {
		if (c->tls_policy == TLS_REQUIRED) {
			snprintf(diag, sizeof(diag), "4.7.4 TLS is required, but "
			    "%s refused STARTTLS: %.120s", c->peer, c->reply.text);
			return client_next_dest(c, diag);
		}
		/* The session goes on in plain text (RFC 3207 4). */
		log_info("%s: %s refused STARTTLS (%s), going on without TLS",
		    c->job->env.id, c->peer, c->reply.text);
		return txn_begin(c);
	}
	/* Bytes after the 220 were sent before TLS: never trust them as if
	 * they came through it (the STARTTLS injection of CVE-2011-0411). */
	if (lio_buffered(&c->lio) > 0)
		return client_broken(c, "data after the reply to STARTTLS");
	if (lio_tls_start(&c->lio, ctx, false, d->host) == -1)
		return client_broken(c, "cannot start TLS");
	if (client_set_state(c, C_TLS) == -1)
		return -1;
	client_arm(c);
	tls_step(c);
	/* The handshake runs from the event loop now. */
	return -1;
}

int
tls_step(struct client *c)
{
	char err[256], diag[REPLY_TEXT_MAX];
	bool verified;
	int r;

	r = lio_tls_handshake(&c->lio, err, sizeof(err));
	if (r == 0) {
		ev_io_set(c->io, lio_tls_events(&c->lio));
		return 0;
	}
	if (r == -1) {
		snprintf(diag, sizeof(diag), "4.7.5 TLS handshake with %s "
		    "failed: %.120s", c->peer, err);
		if (c->tls_policy == TLS_REQUIRED)
			return client_next_dest(c, diag);
		return client_retry_plain(c, diag);
	}
	verified = lio_tls_verified(&c->lio);
	c->tls_active = true;
	if (c->tls_policy == TLS_REQUIRED && !c->tls_verify)
		log_warnx("%s: certificate verification is off for %s "
		    "(accept-invalid-certs): the certificate is %s",
		    c->job->env.id, c->peer, verified ? "valid" : "NOT valid");
	log_info("%s: %s TLS connection established to %s: %s with cipher %s "
	    "(%d bits), policy %s", c->job->env.id,
	    verified ? "Trusted" : "Untrusted", c->peer,
	    lio_tls_version(&c->lio), lio_tls_cipher(&c->lio),
	    lio_tls_bits(&c->lio), policy_name(c->tls_policy));
	/* RFC 3207 4.2: forget what was learnt before TLS, ask again. */
	if (client_send_ehlo(c) == -1)
		return -1;
	return client_pump(c);
}
