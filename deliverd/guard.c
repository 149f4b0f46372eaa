/* SPDX-License-Identifier: ISC */
/* Mail loops and reflection: the destinations deliverd refuses (see
 * guard.h). */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "log.h"
#include "util.h"

/* Interface addresses remembered; a host with more is unusual, and the
 * wildcard rule then misses only the extra ones. */
#define GUARD_LOCAL_MAX 64

static struct {
	int     family;
	uint8_t addr[16];
} local[GUARD_LOCAL_MAX];
static size_t nlocal;

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The address of sa as (family, bytes), an IPv4-mapped IPv6 address
 * turned into the IPv4 one; the port in *port. false for other families. */
static bool
unpack(const struct sockaddr *sa, int *family, uint8_t a[16], uint16_t *port)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	memset(a, 0, 16);
	if (sa->sa_family == AF_INET) {
		*family = AF_INET;
		memcpy(a, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	*port = ntohs(s6->sin6_port);
	if (memcmp(s6->sin6_addr.s6_addr, v4mapped, 12) == 0) {
		*family = AF_INET;
		memcpy(a, s6->sin6_addr.s6_addr + 12, 4);
	} else {
		*family = AF_INET6;
		memcpy(a, s6->sin6_addr.s6_addr, 16);
	}
	return true;
}

void
guard_configure(void)
{
	struct ifaddrs *ifa, *i;
	uint16_t port;

	nlocal = 0;
	if (getifaddrs(&ifa) == -1) {
		log_warn("getifaddrs: only loopback counts as this host");
		return;
	}
	for (i = ifa; i != NULL && nlocal < GUARD_LOCAL_MAX; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		if (unpack(i->ifa_addr, &local[nlocal].family,
		    local[nlocal].addr, &port))
			nlocal++;
	}
	freeifaddrs(ifa);
}

static bool
v4_in(const uint8_t *a, uint32_t net, unsigned bits)
{
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	    (uint32_t)a[2] << 8 | a[3];

	return bits == 0 || (v >> (32 - bits)) == (net >> (32 - bits));
}

static bool
is_unspecified(int family, const uint8_t *a)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, family == AF_INET ? 4 : 16) == 0;
}

static bool
is_loopback(int family, const uint8_t *a)
{
	static const uint8_t one[16] = { [15] = 1 };

	if (family == AF_INET)
		return a[0] == 127;
	return memcmp(a, one, 16) == 0;
}

static bool
local_addr(int family, const uint8_t *a)
{
	size_t i;

	if (is_unspecified(family, a) || is_loopback(family, a))
		return true;
	for (i = 0; i < nlocal; i++)
		if (local[i].family == family &&
		    memcmp(local[i].addr, a, family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

bool
guard_is_self(const struct config *cfg, const struct sockaddr *sa)
{
	const struct cfg_listen *l;
	uint8_t a[16], la[16];
	uint16_t port, lport;
	int family, lfamily;

	if (cfg == NULL || !unpack(sa, &family, a, &port))
		return false;
	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		if (l->sslen == 0 || l->port != port ||
		    !unpack((const struct sockaddr *)&l->ss, &lfamily, la, &lport) ||
		    lfamily != family)
			continue;
		/* A wildcard listener takes every local address; a
		 * connection to the unspecified address reaches any. */
		if (is_unspecified(lfamily, la) ? local_addr(family, a) :
		    is_unspecified(family, a) ||
		    memcmp(a, la, family == AF_INET ? 4 : 16) == 0)
			return true;
	}
	return false;
}

/* An IPv4 address (4 bytes) that no public server has. */
static bool
v4_special(const uint8_t *a)
{
	return v4_in(a, 0x00000000, 8) ||      /* "this network" */
	    v4_in(a, 0x0a000000, 8) ||         /* RFC 1918 */
	    v4_in(a, 0x64400000, 10) ||        /* shared (CGNAT) */
	    v4_in(a, 0x7f000000, 8) ||         /* loopback */
	    v4_in(a, 0xa9fe0000, 16) ||        /* link-local */
	    v4_in(a, 0xac100000, 12) ||        /* RFC 1918 */
	    v4_in(a, 0xc0000000, 24) ||        /* IETF protocol */
	    v4_in(a, 0xc0a80000, 16) ||        /* RFC 1918 */
	    v4_in(a, 0xe0000000, 4) ||         /* multicast */
	    v4_in(a, 0xf0000000, 4);           /* reserved, broadcast */
}

static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };
static const uint8_t siit[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };

bool
guard_is_special(const struct sockaddr *sa)
{
	uint8_t a[16];
	uint16_t port;
	int family;

	if (!unpack(sa, &family, a, &port))
		return true;
	if (family == AF_INET)
		return v4_special(a);
	/* ::/96 holds the unspecified, loopback and IPv4-compatible
	 * addresses (the mapped ones became IPv4 above). */
	if (memcmp(a, v4mapped, 10) == 0 && a[10] == 0 && a[11] == 0)
		return true;
	/* Forms that embed an IPv4 address, which a translator or relay
	 * would reach: judged by that address. The NAT64 local-use prefix
	 * (64:ff9b:1::/48) is all private. */
	if (memcmp(a, nat64, sizeof(nat64)) == 0 ||   /* NAT64, 64:ff9b::/96 */
	    memcmp(a, siit, sizeof(siit)) == 0)       /* SIIT, ::ffff:0:0:0/96 */
		return v4_special(a + 12);
	if (memcmp(a, nat64_local, sizeof(nat64_local)) == 0)
		return true;
	if (a[0] == 0x20 && a[1] == 0x02)             /* 6to4, 2002::/16 */
		return v4_special(a + 2);
	return (a[0] & 0xfe) == 0xfc ||               /* unique local */
	    (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* link-local */
	    (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) || /* site-local */
	    a[0] == 0xff;                              /* multicast */
}

static void
show(const struct route_dest *d, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	const struct sockaddr *sa = (const struct sockaddr *)&d->ss;
	const void *src = sa->sa_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (inet_ntop(sa->sa_family, src, ip, sizeof(ip)) == NULL)
		strlcpy(ip, "?", sizeof(ip));
	snprintf(buf, len, "%s[%s]:%u", d->host, ip, (unsigned)d->port);
}


void
guard_route(const struct config *cfg, const char *domain, struct route *r)
{
	char what[ROUTE_HOST_MAX + 64];
	unsigned self_pref = UINT32_MAX;
	bool mx = r->kind != ROUTE_RELAY, any_self = false;
	size_t i, n;

	if (r->status != ROUTE_OK)
		return;
	what[0] = '\0';
	for (i = 0; i < r->ndest; i++)
		if (guard_is_self(cfg, (const struct sockaddr *)&r->dest[i].ss)) {
			if (!any_self)
				show(&r->dest[i], what, sizeof(what));
			any_self = true;
			if (r->dest[i].pref < self_pref)
				self_pref = r->dest[i].pref;
		}
	for (i = n = 0; any_self && i < r->ndest; i++) {
		const struct route_dest *d = &r->dest[i];

		if (guard_is_self(cfg, (const struct sockaddr *)&d->ss) ||
		    (r->kind == ROUTE_MX && d->pref >= self_pref))
			continue;
		r->dest[n++] = *d;
	}
	if (any_self) {
		log_info("route: %s: %s is this host: %zu of %zu address(es) "
		    "left", domain, what, n, r->ndest);
		r->ndest = n;
		if (n == 0) {
			r->status = ROUTE_PERMFAIL;
			snprintf(r->diag, sizeof(r->diag), "5.4.6 mail for %s "
			    "loops back to myself (%s is a listening address)",
			    domain, what);
			return;
		}
	}
	if (!mx)
		return;
	what[0] = '\0';
	for (i = n = 0; i < r->ndest; i++) {
		const struct route_dest *d = &r->dest[i];
		const struct sockaddr *sa = (const struct sockaddr *)&d->ss;

		if (guard_is_special(sa) && !config_mx_allowed(cfg, domain, sa)) {
			if (what[0] == '\0')
				show(d, what, sizeof(what));
			log_debug("route: %s: skipping a disallowed address "
			    "(not in mx-allow)", domain);
			continue;
		}
		r->dest[n++] = *d;
	}
	r->ndest = n;
	if (n == 0) {
		r->status = ROUTE_PERMFAIL;
		snprintf(r->diag, sizeof(r->diag), "5.4.4 unable to route mail "
		    "for %s: the MX points to a disallowed address (%s; see "
		    "mx-allow)", domain, what);
	}
}
