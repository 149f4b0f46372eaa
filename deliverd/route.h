/* SPDX-License-Identifier: ISC */
/* Where mail for a domain goes (route.c): the domain's `relay via`, else
 * the `delivery { relay via }` smarthost, else its MX hosts from DNS
 * (dns_cache.h), each given by name or as an address literal. The lookup
 * is asynchronous: the callback always runs later from the event loop,
 * never inside route_lookup().
 *
 * MX routing (RFC 5321 5.1): the hosts in preference order, in random
 * order among equal preferences; without MX records the domain itself
 * (implicit MX); a null MX (RFC 7505) fails for good with 5.1.10, a
 * domain that does not exist with 5.1.2; DNS failures are temporary.
 * Each host contributes its IPv6 addresses, then its IPv4 ones. */
#ifndef EMPATH_DELIVERD_ROUTE_H
#define EMPATH_DELIVERD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "reply.h"

#define ROUTE_HOST_MAX  256          /* a DNS name and NUL */
#define ROUTE_DEST_MAX  16           /* addresses tried for one route */
#define ROUTE_MX_MAX    10           /* MX hosts looked up for one domain */
/* The breaker key: "relay:" + host + ":" + port, or the domain. */
#define ROUTE_NEXTHOP_MAX (ROUTE_HOST_MAX + 16)

struct route_dest {
	char     host[ROUTE_HOST_MAX];   /* name as configured (or MX name) */
	struct sockaddr_storage ss;      /* numeric address and port */
	socklen_t sslen;
	uint16_t port;
	uint16_t pref;                   /* MX preference; 0 for other routes */
};

enum route_status { ROUTE_OK = 0, ROUTE_TEMPFAIL, ROUTE_PERMFAIL };
enum route_kind { ROUTE_MX = 0, ROUTE_IMPLICIT_MX, ROUTE_RELAY, ROUTE_LITERAL };

struct route {
	enum route_status status;
	enum route_kind kind;
	bool     dns;                    /* the resolver was asked */
	char     diag[REPLY_TEXT_MAX];   /* why, when not ROUTE_OK: "4.4.3 ..." */
	size_t   ndest;                  /* in the order to try them */
	struct route_dest dest[ROUTE_DEST_MAX];
};

struct route_query;
/* The callback owns the route (free it with route_free). */
typedef void (*route_cb)(struct route *, void *arg);

/* Before the privilege drop: the resolver (servers, cache bounds). */
void route_configure(const struct config *);
struct route_query *route_lookup(const char *domain, route_cb, void *arg);
/* Forget a query whose callback has not run yet. */
void route_cancel(struct route_query *);
void route_free(struct route *);
/* The next hop of a domain for the circuit breaker: its relay (or the
 * smarthost) when it has one, otherwise the domain, in lower case. */
void route_nexthop(const struct config *, const char *domain, char *buf,
    size_t len);

/* For the unit tests: order MX records by preference, shuffling equal
 * preferences. */
struct dns_mx;
void route_mx_order(struct dns_mx *, size_t n);

#endif
