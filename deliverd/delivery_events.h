/* SPDX-License-Identifier: ISC */
/* Plugins in deliverd (empath-plugin(3)): the ones implementing a
 * delivery event are loaded in the configuration step, before the
 * sandbox, and get EM_EVENT_DNS_LOOKUP, DELIVERY_ATTEMPT,
 * DELIVERY_SUCCESS and DELIVERY_FAILURE with a context built for each
 * call: the job's message id, sender and metadata (env.meta), the
 * recipients concerned and the delivery's domain, host, address,
 * attempt, reply and TLS. With no plugin for a point, its call costs a
 * test of a bit. */
#ifndef EMPATH_DELIVERD_DELIVERY_EVENTS_H
#define EMPATH_DELIVERD_DELIVERY_EVENTS_H

#include "config.h"
#include "deliverd.h"
#include "route.h"

struct client;

/* Load the configured plugins that implement a deliverd event; an error
 * ("config:LINE: plugin ...") ends the daemon with status 1. */
void devents_configure(const struct config *);
/* fini and unload, at exit. */
void devents_unload(void);

/* The route lookup of the job's domain finished (a route from the
 * resolver: not for address literals and relays given by address). */
void devents_dns(const struct job *, const struct route *);
/* A transaction starts on c: MAIL FROM for c's recipients goes out. */
void devents_attempt(const struct client *);
/* The recipients that got a final result since the last call: one
 * EM_EVENT_DELIVERY_SUCCESS for the delivered ones, one
 * EM_EVENT_DELIVERY_FAILURE for each group of failed or deferred ones
 * with the same state and reply. c: the connection they came from, NULL
 * when there is none (its TLS is then unknown). Postponed recipients
 * (handed back without an attempt) have no event. */
void devents_results(struct job *, const struct client *c);

/* For the unit tests: the text of EM_EVENT_DNS_LOOKUP for a route,
 * and the reply code given with a result (see the .c). */
void devents_route_text(const struct route *, char *buf, size_t len);
int  devents_result_code(const char *diag, uint32_t state,
    const char **text);

#endif
