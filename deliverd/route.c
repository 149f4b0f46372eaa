/* SPDX-License-Identifier: ISC */
/* Routing: which addresses to connect to for a domain (see route.h).
 *
 * A query looks up what it needs through the cache (dns_cache.c): the MX
 * set of the domain, then the AAAA and A sets of every MX host at once
 * (or of the domain itself, or of a relay host given by name), and builds
 * the route when the last of them is in. Relay hosts by name go through
 * the same resolver as MX lookups, so the configured `resolver` decides
 * every DNS answer deliverd uses. Every route then passes guard.c: never
 * to ourselves, by MX never to special addresses. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon.h"
#include "dns_cache.h"
#include "event.h"
#include "guard.h"
#include "log.h"
#include "route.h"
#include "util.h"

struct route_query;

/* One address lookup of a host; the callback's argument. */
struct rslot {
	struct route_query *q;
	struct dnsc_req *req;
	struct dns_rrset *rs;
};

struct rhost {
	char     name[ROUTE_HOST_MAX];
	uint16_t pref;                   /* MX preference */
	struct rslot s[2];               /* AAAA, A */
};

struct route_query {
	route_cb cb;
	void    *arg;
	bool     cancelled;              /* while an ev_defer() is pending */
	bool     deferred;
	struct route *route;
	char     domain[ROUTE_HOST_MAX]; /* lower case */
	char     alabel[ROUTE_HOST_MAX]; /* ... as DNS knows it (IDNA2008) */
	uint16_t port;
	struct dnsc_req *mxreq;
	size_t   nhosts, pending;
	struct rhost hosts[ROUTE_MX_MAX];
};

static void route_fail(struct route *, enum route_status, const char *, ...)
    __attribute__((format(printf, 3, 4)));

void
route_configure(const struct config *cfg)
{
	const struct cfg_domain *d;

	dnsc_configure(cfg);
	guard_configure();
	TAILQ_FOREACH(d, &cfg->domains, entry)
		if (d->relay_host != NULL)
			log_debug("route: %s via %s port %u", d->name,
			    d->relay_host, (unsigned)d->relay_port);
}

static void
route_fail(struct route *r, enum route_status st, const char *fmt, ...)
{
	va_list ap;

	r->status = st;
	r->ndest = 0;
	va_start(ap, fmt);
	vsnprintf(r->diag, sizeof(r->diag), fmt, ap);
	va_end(ap);
}

static void
lower(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i < len - 1; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

static const struct cfg_domain *
domain_cfg(const struct config *cfg, const char *domain)
{
	char l[ROUTE_HOST_MAX];

	if (cfg == NULL)
		return NULL;
	lower(domain, l, sizeof(l));
	return config_domain(cfg, l);
}

void
route_nexthop(const struct config *cfg, const char *domain, char *buf,
    size_t len)
{
	const struct cfg_domain *d = domain_cfg(cfg, domain);

	if (d != NULL && d->relay_host != NULL)
		snprintf(buf, len, "relay:%s:%u", d->relay_host,
		    (unsigned)d->relay_port);
	else if (cfg != NULL && cfg->delivery.relay_host != NULL)
		snprintf(buf, len, "relay:%s:%u", cfg->delivery.relay_host,
		    (unsigned)cfg->delivery.relay_port);
	else
		lower(domain, buf, len);
}

void
route_mx_order(struct dns_mx *mx, size_t n)
{
	struct dns_mx t;
	size_t i, j, start;

	/* Stable insertion sort: n is at most DNSC_MX_MAX. */
	for (i = 1; i < n; i++) {
		t = mx[i];
		for (j = i; j > 0 && mx[j - 1].pref > t.pref; j--)
			mx[j] = mx[j - 1];
		mx[j] = t;
	}
	/* RFC 5321 5.1: random order among equal preferences, so that
	 * senders spread their load over them. */
	for (start = 0; start < n; start = i) {
		for (i = start + 1; i < n && mx[i].pref == mx[start].pref; i++)
			;
		for (j = i - 1; j > start; j--) {
			size_t k = start + arc4random_uniform((uint32_t)(j - start + 1));

			t = mx[j];
			mx[j] = mx[k];
			mx[k] = t;
		}
	}
}

/* ---- answering ---- */

static void
query_free(struct route_query *q)
{
	size_t i, k;

	dnsc_cancel(q->mxreq);
	for (i = 0; i < q->nhosts; i++)
		for (k = 0; k < 2; k++) {
			dnsc_cancel(q->hosts[i].s[k].req);
			dnsc_unref(q->hosts[i].s[k].rs);
		}
	route_free(q->route);
	free(q);
}

static void
deliver(struct route_query *q)
{
	struct route *r = q->route;
	route_cb cb = q->cb;
	void *arg = q->arg;

	/* Never to ourselves; by MX, never to special addresses. */
	guard_route(daemon_config(), q->domain, r);
	q->route = NULL;
	query_free(q);
	cb(r, arg);
}

static void
fire_deferred(void *arg)
{
	struct route_query *q = arg;

	if (q->cancelled) {
		query_free(q);
		return;
	}
	deliver(q);
}

/* Answer from the loop: for routes known without a lookup. */
static struct route_query *
defer_answer(struct route_query *q)
{
	q->deferred = true;
	ev_defer(fire_deferred, q);
	return q;
}

static void
add_dest(struct route *r, const char *host, uint16_t pref, int family,
    const uint8_t *a, uint16_t port)
{
	struct route_dest *d;
	struct sockaddr_in *s4;
	struct sockaddr_in6 *s6;

	if (r->ndest >= ROUTE_DEST_MAX)
		return;
	d = &r->dest[r->ndest++];
	memset(d, 0, sizeof(*d));
	strlcpy(d->host, host, sizeof(d->host));
	d->port = port;
	d->pref = pref;
	if (family == AF_INET6) {
		s6 = (struct sockaddr_in6 *)&d->ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a, 16);
		d->sslen = sizeof(*s6);
	} else {
		s4 = (struct sockaddr_in *)&d->ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a, 4);
		d->sslen = sizeof(*s4);
	}
}

/* Every address set is in: the route, IPv6 then IPv4 for each host. */
static void
assemble(struct route_query *q)
{
	struct route *r = q->route;
	const struct dns_rrset *rs;
	bool tempfail = false;
	const char *why = "";
	size_t i, k, a;

	for (i = 0; i < q->nhosts; i++)
		for (k = 0; k < 2; k++) {
			if ((rs = q->hosts[i].s[k].rs) == NULL)
				continue;
			if (rs->status == DNSC_OK) {
				for (a = 0; a < rs->n; a++)
					add_dest(r, q->hosts[i].name,
					    q->hosts[i].pref,
					    k == 0 ? AF_INET6 : AF_INET, rs->addr[a],
					    q->port);
			} else if (rs->status == DNSC_TEMPFAIL) {
				tempfail = true;
				why = rs->err;
			} else if (why[0] == '\0')
				why = rs->err;
		}
	if (r->ndest > 0) {
		r->status = ROUTE_OK;
	} else if (r->kind == ROUTE_RELAY || tempfail) {
		/* A relay without an address is a configuration or DNS
		 * problem, never a reason to bounce. */
		route_fail(r, ROUTE_TEMPFAIL, "4.4.3 no address for %s %s: %s",
		    r->kind == ROUTE_RELAY ? "relay host" : "the MX hosts of",
		    r->kind == ROUTE_RELAY ? q->hosts[0].name : q->domain, why);
	} else if (r->kind == ROUTE_IMPLICIT_MX) {
		route_fail(r, ROUTE_PERMFAIL, "5.4.4 %s has no MX, A or AAAA "
		    "record", q->domain);
	} else {
		route_fail(r, ROUTE_PERMFAIL, "5.4.4 no MX host of %s has an "
		    "address: %s", q->domain, why);
	}
	deliver(q);
}

static void
addr_done(const struct dns_rrset *rs, void *arg)
{
	struct rslot *sl = arg;
	struct route_query *q = sl->q;

	sl->req = NULL;
	sl->rs = dnsc_ref(rs);
	if (--q->pending == 0)
		assemble(q);
}

/* The AAAA and A lookups of host i, at once. */
static void
lookup_host(struct route_query *q, size_t i)
{
	static const uint16_t types[2] = { LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_A };
	struct rslot *sl;
	size_t k;

	for (k = 0; k < 2; k++) {
		sl = &q->hosts[i].s[k];
		sl->q = q;
		q->pending++;
		sl->req = dnsc_lookup(q->hosts[i].name, types[k], addr_done, sl);
	}
}

static void
mx_done(const struct dns_rrset *rs, void *arg)
{
	struct route_query *q = arg;
	struct route *r = q->route;
	struct dns_mx mx[DNSC_MX_MAX];
	size_t i, n = 0;

	q->mxreq = NULL;
	switch (rs->status) {
	case DNSC_NXDOMAIN:
		route_fail(r, ROUTE_PERMFAIL, "5.1.2 domain %s does not exist "
		    "(NXDOMAIN)", q->domain);
		deliver(q);
		return;
	case DNSC_TEMPFAIL:
		route_fail(r, ROUTE_TEMPFAIL, "4.4.3 MX lookup of %s failed: %s",
		    q->domain, rs->err);
		deliver(q);
		return;
	case DNSC_OK:
		/* RFC 7505: a single MX of "." says there is no mail. */
		if (rs->n == 1 && rs->mx[0].host[0] == '\0') {
			route_fail(r, ROUTE_PERMFAIL, "5.1.10 %s accepts no mail "
			    "(null MX)", q->domain);
			deliver(q);
			return;
		}
		for (i = 0; i < rs->n && n < nitems(mx); i++)
			if (rs->mx[i].host[0] != '\0')
				mx[n++] = rs->mx[i];
		break;
	case DNSC_NODATA:
		break;
	}
	if (n == 0) {
		/* RFC 5321 5.1: no MX, the domain is its own mail host. */
		r->kind = ROUTE_IMPLICIT_MX;
		strlcpy(q->hosts[0].name, q->alabel, sizeof(q->hosts[0].name));
		q->nhosts = 1;
	} else {
		route_mx_order(mx, n);
		for (i = 0; i < n && q->nhosts < ROUTE_MX_MAX; i++) {
			size_t k;

			/* A host listed twice is tried once, at its best. */
			for (k = 0; k < q->nhosts; k++)
				if (strcmp(q->hosts[k].name, mx[i].host) == 0)
					break;
			if (k == q->nhosts) {
				q->hosts[q->nhosts].pref = mx[i].pref;
				strlcpy(q->hosts[q->nhosts++].name, mx[i].host,
				    sizeof(q->hosts[0].name));
			}
		}
	}
	for (i = 0; i < q->nhosts; i++)
		lookup_host(q, i);
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3). */
static int
address_literal(const char *domain, struct route *r, uint16_t port)
{
	char buf[ROUTE_HOST_MAX];
	uint8_t a[16];
	size_t len = strlen(domain);

	if (len < 3 || domain[0] != '[' || domain[len - 1] != ']' ||
	    len - 2 >= sizeof(buf))
		return -1;
	memcpy(buf, domain + 1, len - 2);
	buf[len - 2] = '\0';
	r->kind = ROUTE_LITERAL;
	if (strncasecmp(buf, "ipv6:", 5) == 0 &&
	    inet_pton(AF_INET6, buf + 5, a) == 1)
		add_dest(r, buf + 5, 0, AF_INET6, a, port);
	else if (inet_pton(AF_INET, buf, a) == 1)
		add_dest(r, buf, 0, AF_INET, a, port);
	else
		route_fail(r, ROUTE_PERMFAIL, "5.1.2 invalid address literal");
	return 0;
}

/* A relay host: an address literal, or a name to look up. */
static void
relay(struct route_query *q, const char *host, uint16_t port)
{
	struct route *r = q->route;
	char name[ROUTE_HOST_MAX];
	uint8_t a[16];
	size_t len = strlen(host);

	r->kind = ROUTE_RELAY;
	q->port = port != 0 ? port : 25;
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(name)) {
		route_fail(r, ROUTE_TEMPFAIL, "4.4.3 bad relay host name");
		defer_answer(q);
		return;
	}
	memcpy(name, host, len);
	name[len] = '\0';
	if (inet_pton(AF_INET6, name, a) == 1 || inet_pton(AF_INET, name, a) == 1) {
		add_dest(r, name, 0, strchr(name, ':') ? AF_INET6 : AF_INET, a,
		    q->port);
		defer_answer(q);
		return;
	}
	strlcpy(q->hosts[0].name, name, sizeof(q->hosts[0].name));
	q->nhosts = 1;
	r->dns = true;
	lookup_host(q, 0);
}

struct route_query *
route_lookup(const char *domain, route_cb cb, void *arg)
{
	const struct config *cfg = daemon_config();
	const struct cfg_domain *d;
	struct route_query *q = xcalloc(1, sizeof(*q));

	q->cb = cb;
	q->arg = arg;
	q->route = xcalloc(1, sizeof(*q->route));
	lower(domain, q->domain, sizeof(q->domain));
	q->port = cfg != NULL && cfg->delivery.mx_port ? cfg->delivery.mx_port : 25;

	d = cfg != NULL ? config_domain(cfg, q->domain) : NULL;
	if (d != NULL && d->relay_host != NULL)
		relay(q, d->relay_host, d->relay_port);
	else if (cfg != NULL && cfg->delivery.relay_host != NULL)
		relay(q, cfg->delivery.relay_host, cfg->delivery.relay_port);
	else if (address_literal(q->domain, q->route, q->port) == 0)
		defer_answer(q);
	else if (dnsc_normalize(q->domain, q->alabel, sizeof(q->alabel)) == -1) {
		/* Also a UTF-8 domain that is no valid IDNA2008 name. */
		route_fail(q->route, ROUTE_PERMFAIL, "5.1.2 invalid domain name");
		defer_answer(q);
	} else {
		q->route->dns = true;
		q->mxreq = dnsc_lookup(q->alabel, LDNS_RR_TYPE_MX, mx_done, q);
	}
	return q;
}

void
route_cancel(struct route_query *q)
{
	if (q == NULL)
		return;
	if (q->deferred) {
		q->cancelled = true;         /* freed by fire_deferred */
		return;
	}
	query_free(q);
}

void
route_free(struct route *r)
{
	free(r);
}
