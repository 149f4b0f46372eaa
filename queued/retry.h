/* SPDX-License-Identifier: ISC */
/* The retry policy: when a temporarily failed recipient is tried again,
 * and when it has been tried enough. Pure functions of the configuration
 * and the clock, shared by the scheduler and the unit tests. */
#ifndef EMPATH_QUEUED_RETRY_H
#define EMPATH_QUEUED_RETRY_H

#include <stdint.h>

#include "config.h"

/* Delay before the next attempt once `attempts` attempts (>= 1) have
 * failed: retry_initial * 2^(attempts - 1), capped at retry_max. */
uint64_t retry_delay(const struct cfg_delivery *, uint32_t attempts);

/* delay spread by +-10% from a random number rnd (rounded down; delays
 * under 5 s are kept as they are). */
uint64_t retry_jitter(uint64_t delay, uint32_t rnd);

/* A recipient of a message created at `created` just failed temporarily
 * for the attempts-th time (attempts counts this one). Returns
 * RCPT_DEFERRED with *next set to the time of the next attempt (the
 * delay with jitter, never past the end of the lifetime), or
 * RCPT_FAILED with *why set when max-attempts or expire is reached.
 * max_attempts 0 and expire 0 mean no limit. */
uint32_t retry_after_defer(const struct cfg_delivery *, uint32_t attempts,
                           int64_t created, int64_t now, int64_t *next,
                           const char **why);

/* The end of a deferred recipient's lifetime, for Will-Retry-Until (RFC
 * 3464 2.3.9): the earlier of created + expire and the time of its
 * max-attempts-th attempt, when `attempts` attempts have failed and the
 * next one is due at `next`, each later one retry_delay() after the one
 * before (jitter aside). 0 when there is no limit at all. */
int64_t  retry_until(const struct cfg_delivery *, uint32_t attempts,
                     int64_t created, int64_t next);

#endif
