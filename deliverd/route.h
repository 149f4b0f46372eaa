/* Where mail for a domain goes: a domain's `relay via host:port`, else the
 * `delivery { relay via }` smarthost, else MX lookup (issue 5; until then
 * a temporary failure). The lookup is asynchronous by interface: the
 * callback always runs later from the event loop, never inside
 * route_lookup(), so the DNS resolver can slot in behind it. */
#ifndef DELIVERD_ROUTE_H
#define DELIVERD_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "reply.h"

#define ROUTE_HOST_MAX  256          /* a DNS name and NUL */
#define ROUTE_DEST_MAX  16           /* addresses tried for one route */

struct route_dest {
	char     host[ROUTE_HOST_MAX];   /* name as configured (or MX name) */
	struct sockaddr_storage ss;      /* numeric address and port */
	socklen_t sslen;
	uint16_t port;
};

enum route_status { ROUTE_OK = 0, ROUTE_TEMPFAIL, ROUTE_PERMFAIL };

struct route {
	enum route_status status;
	char     diag[REPLY_TEXT_MAX];   /* why, when not ROUTE_OK: "4.4.3 ..." */
	size_t   ndest;                  /* in the order to try them */
	struct route_dest dest[ROUTE_DEST_MAX];
};

struct route_query;
/* The callback owns the route (free it with route_free). */
typedef void (*route_cb)(struct route *, void *arg);

/* Before the privilege drop: remember what cannot be looked up from the
 * chroot (today: the addresses of relay hosts given by name). */
void route_configure(const struct config *);
struct route_query *route_lookup(const char *domain, route_cb, void *arg);
/* Forget a query whose callback has not run yet. */
void route_cancel(struct route_query *);
void route_free(struct route *);

#endif
