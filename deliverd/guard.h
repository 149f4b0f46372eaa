/* SPDX-License-Identifier: ISC */
/* Where deliverd must not deliver (guard.c): to itself, and, by MX (or an
 * address literal), to special addresses.
 *
 *  - A destination equal to one of the `listen on` address:port pairs is
 *    this host: delivering there is a mail loop. A wildcard listener
 *    (0.0.0.0, ::) stands for every local address of its family: the
 *    loopback and unspecified addresses and those of the local network
 *    interfaces (read once, before the privilege drop). For MX routing,
 *    RFC 5321 5.1: when this host is an MX of the domain, it and every
 *    MX host of the same or a worse preference are dropped. Nothing left:
 *    the recipients fail with 5.4.6 "... loops back to myself".
 *  - MX-routed, implicit-MX and address-literal destinations never go to
 *    loopback, private (RFC 1918, fc00::/7), link-local, unspecified,
 *    shared (100.64.0.0/10), "this network" (0.0.0.0/8), multicast or
 *    reserved addresses (IPv4-mapped forms included), unless `mx-allow`
 *    lists them. Nothing left: 5.4.4 "unable to route".
 * `relay via` routes are the operator's choice: only the first rule
 * applies to them. */
#ifndef EMPATH_DELIVERD_GUARD_H
#define EMPATH_DELIVERD_GUARD_H

#include <stdbool.h>
#include <sys/socket.h>

#include "config.h"
#include "route.h"

/* Before the privilege drop: the addresses of the local interfaces. */
void guard_configure(void);
/* Does a connection to sa (address and port) reach one of our
 * listeners? */
bool guard_is_self(const struct config *, const struct sockaddr *);
/* A special-purpose address an MX must not point to. */
bool guard_is_special(const struct sockaddr *);
/* Apply both rules to a route that is ROUTE_OK: drop what may not be
 * used; fail the route when nothing is left. */
void guard_route(const struct config *, const char *domain, struct route *);

#endif
