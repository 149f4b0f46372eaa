/* Routing: which hosts to connect to for a domain.
 *
 * Order: the domain's own `relay via`, then the global smarthost, then MX
 * lookup. MX lookup arrives with the ldns resolver (issue 5): it replaces
 * route_mx() below and makes route_lookup() complete from the resolver
 * instead of from a zero timer. Relay hosts given by name are resolved
 * with getaddrinfo(), which blocks; that is tolerable for a configured
 * relay until the resolver exists. In the chroot getaddrinfo() has no
 * /etc/hosts nor resolv.conf, so when it will chroot (root) deliverd
 * resolves those names once in route_configure(), before the drop, and
 * uses these answers until the next start. */
#include <ctype.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "daemon.h"
#include "event.h"
#include "log.h"
#include "route.h"
#include "util.h"

/* Answered from ev_defer(), which cannot be taken back: a cancelled query
 * stays allocated until then, marked dead. */
struct route_query {
	bool     cancelled;
	route_cb cb;
	void    *arg;
	struct route *route;
};

/* Addresses of relay names resolved before the chroot. */
struct relay_cache {
	char    *host;
	uint16_t port;
	struct route route;
};
static struct relay_cache *cache;
static size_t ncache;

static void
route_fail(struct route *r, enum route_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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

/* Resolve a relay host, numeric or by name, into r. Returns 0 or -1 with
 * r->diag set. */
static int
resolve_relay(const char *host, uint16_t port, struct route *r, bool use_cache)
{
	struct addrinfo hints, *res, *ai;
	char name[ROUTE_HOST_MAX], portstr[8], safe[ROUTE_HOST_MAX];
	size_t len, i;
	int rc;

	if (port == 0)
		port = 25;
	/* "[::1]" as well as "::1". */
	len = strlen(host);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(name)) {
		route_fail(r, ROUTE_TEMPFAIL, "4.4.3 bad relay host name");
		return -1;
	}
	memcpy(name, host, len);
	name[len] = '\0';
	log_sanitize(name, safe, sizeof(safe));

	memset(r, 0, sizeof(*r));
	if (sa_from_numeric(name, port, &r->dest[0].ss, &r->dest[0].sslen) == 0) {
		strlcpy(r->dest[0].host, name, sizeof(r->dest[0].host));
		r->dest[0].port = port;
		r->ndest = 1;
		r->status = ROUTE_OK;
		return 0;
	}

	/* In the chroot the answers from before the drop are all there is;
	 * asking getaddrinfo() there would only block on a DNS query. */
	if (use_cache) {
		for (i = 0; i < ncache; i++) {
			if (strcasecmp(cache[i].host, name) == 0 &&
			    cache[i].port == port) {
				*r = cache[i].route;
				return 0;
			}
		}
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	rc = getaddrinfo(name, portstr, &hints, &res);
	if (rc != 0) {
		route_fail(r, ROUTE_TEMPFAIL, "4.4.3 cannot find relay host %s: %s",
		    safe, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && r->ndest < ROUTE_DEST_MAX; ai = ai->ai_next) {
		struct route_dest *d = &r->dest[r->ndest];

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(d->ss))
			continue;
		memcpy(&d->ss, ai->ai_addr, ai->ai_addrlen);
		d->sslen = ai->ai_addrlen;
		d->port = port;
		strlcpy(d->host, name, sizeof(d->host));
		r->ndest++;
	}
	freeaddrinfo(res);
	if (r->ndest == 0) {
		route_fail(r, ROUTE_TEMPFAIL,
		    "4.4.3 relay host %s has no IPv4 or IPv6 address", safe);
		return -1;
	}
	r->status = ROUTE_OK;
	return 0;
}

/* MX lookup. Issue 5 replaces this function with the ldns resolver. */
static void
route_mx(const char *domain, struct route *r)
{
	char safe[ROUTE_HOST_MAX];

	route_fail(r, ROUTE_TEMPFAIL,
	    "4.4.3 no route to %s: MX lookup is not available yet",
	    log_sanitize(domain, safe, sizeof(safe)));
}

static void
route_find(const struct config *cfg, const char *domain, struct route *r)
{
	const struct cfg_domain *d;
	char lower[ROUTE_HOST_MAX];
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; domain[i] != '\0' && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)domain[i]);
	lower[i] = '\0';

	d = cfg != NULL ? config_domain(cfg, lower) : NULL;
	if (d != NULL && d->relay_host != NULL)
		resolve_relay(d->relay_host, d->relay_port, r, true);
	else if (cfg != NULL && cfg->delivery.relay_host != NULL)
		resolve_relay(cfg->delivery.relay_host, cfg->delivery.relay_port,
		    r, true);
	else
		route_mx(lower, r);
}

static void
cache_add(const char *host, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct route r;

	if (host == NULL || sa_from_numeric(host, port ? port : 25, &ss, &sslen) == 0)
		return;
	if (resolve_relay(host, port, &r, false) == -1) {
		log_warnx("relay host %s: %s", host, r.diag);
		return;
	}
	cache = xreallocarray(cache, ncache + 1, sizeof(*cache));
	cache[ncache].host = xstrdup(r.dest[0].host);
	cache[ncache].port = r.dest[0].port;
	cache[ncache].route = r;
	ncache++;
}

void
route_configure(const struct config *cfg)
{
	const struct cfg_domain *d;
	size_t i;

	for (i = 0; i < ncache; i++)
		free(cache[i].host);
	free(cache);
	cache = NULL;
	ncache = 0;
	/* Without root there is no chroot and getaddrinfo() works later. */
	if (geteuid() != 0)
		return;
	TAILQ_FOREACH(d, &cfg->domains, entry)
		cache_add(d->relay_host, d->relay_port);
	cache_add(cfg->delivery.relay_host, cfg->delivery.relay_port);
}

static void
query_fire(void *arg)
{
	struct route_query *q = arg;
	struct route *r = q->route;
	route_cb cb = q->cb;
	void *cbarg = q->arg;
	bool cancelled = q->cancelled;

	free(q);
	if (!cancelled)
		cb(r, cbarg);
}

struct route_query *
route_lookup(const char *domain, route_cb cb, void *arg)
{
	struct route_query *q = xcalloc(1, sizeof(*q));

	q->cb = cb;
	q->arg = arg;
	q->route = xcalloc(1, sizeof(*q->route));
	route_find(daemon_config(), domain, q->route);
	ev_defer(query_fire, q);
	return q;
}

void
route_cancel(struct route_query *q)
{
	if (q == NULL || q->cancelled)
		return;
	q->cancelled = true;
	route_free(q->route);
	q->route = NULL;
}

void
route_free(struct route *r)
{
	free(r);
}
