/* SPDX-License-Identifier: ISC */
/* Flow control of deliverd (flow.c): which waiting job may start now.
 *
 * Per domain: at most `concurrency per-domain` jobs at once (the others
 * wait in deliverd), and a token bucket (`rate-limit N/s burst B`, the
 * domain's own or the global one): a job that finds the bucket empty is
 * handed back to queued as postponed, without counting an attempt, with
 * a delay that spreads the postponed jobs over the refill time.
 *
 * Per next hop (route_nexthop()): a circuit breaker. After
 * `circuit-breaker N` consecutive failed deliveries (no session reached
 * the MAIL command: DNS failures, refused connections, timeouts, bad
 * greetings) it opens, and jobs for that hop are postponed for the
 * `cool-down`; then one job goes through as a probe (half-open): its
 * success closes the breaker, its failure opens it again. */
#ifndef EMPATH_DELIVERD_FLOW_H
#define EMPATH_DELIVERD_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* The longest a postponed job is kept away. */
#define FLOW_DELAY_MAX  3600

struct bucket {
	double   rate;                /* tokens per second, > 0 */
	double   burst;               /* capacity, >= 1 */
	double   tokens;
	double   backlog;             /* postponed jobs still due back */
	uint64_t last;                /* monotonic ms of the last update */
};

void bucket_init(struct bucket *, double rate, unsigned burst, uint64_t now);
/* Take a token if there is one. */
bool bucket_take(struct bucket *, uint64_t now);
/* A job found no token: the seconds after which it should come back
 * (at least 1), counting those postponed before it. */
unsigned bucket_postpone(struct bucket *, uint64_t now);
/* Full and nobody waiting: the bucket may be forgotten. */
bool bucket_idle(struct bucket *, uint64_t now);

enum breaker_state { BR_CLOSED = 0, BR_OPEN, BR_HALF_OPEN };

struct breaker {
	enum breaker_state state;
	unsigned failures;            /* consecutive */
	uint64_t until;               /* BR_OPEN: end of the cool-down */
	bool     probing;             /* BR_HALF_OPEN: the probe is out */
};

enum br_verdict { BR_PASS = 0, BR_PROBE, BR_BLOCK };
/* May a job go? BR_BLOCK sets *wait_s (at least 1). Does not change the
 * breaker but for the move from open to half-open. */
enum br_verdict breaker_check(struct breaker *, uint64_t now, unsigned cooldown_s,
    unsigned *wait_s);
/* The outcome of a job that went (probe: it was the probe). Returns the
 * new state when it changed, -1 otherwise. */
int  breaker_result(struct breaker *, bool ok, bool probe, unsigned threshold,
    unsigned cooldown_s, uint64_t now);

enum flow_verdict { FLOW_GO = 0, FLOW_WAIT, FLOW_POSTPONE };
enum flow_outcome { FLOW_NEUTRAL = 0, FLOW_OK, FLOW_FAIL };

struct flow_ticket {
	bool     admitted;
	bool     probe;
};

/* A job for domain via nexthop wants to start. FLOW_POSTPONE fills
 * *delay_s and why ("4.4.5 ..."). FLOW_GO counts the job as running
 * until flow_done(). */
enum flow_verdict flow_admit(const char *domain, const char *nexthop,
    struct flow_ticket *, unsigned *delay_s, char *why, size_t whylen);
void flow_done(const char *domain, const char *nexthop, struct flow_ticket *,
    enum flow_outcome);
/* Jobs running for a domain (for the per-domain idle connections). */
unsigned flow_running(const char *domain);
/* Drop state nobody needs (idle domains, closed breakers). */
void flow_gc(void);

#endif
