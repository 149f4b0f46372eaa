/* SPDX-License-Identifier: ISC */
/* Exponential backoff with a cap and jitter, max-attempts and the queue
 * lifetime. */
#include <stddef.h>
#include <stdlib.h>

#include "proto.h"
#include "retry.h"

uint64_t
retry_delay(const struct cfg_delivery *d, uint32_t attempts)
{
	uint64_t delay = d->retry_initial, max = d->retry_max;
	uint32_t i;

	if (max < delay)
		max = delay;
	/* Double step by step: no shift can overflow, and the loop ends as
	 * soon as the cap is reached (at most 64 rounds). */
	for (i = 1; i < attempts && delay < max; i++)
		delay *= 2;
	return delay < max ? delay : max;
}

uint64_t
retry_jitter(uint64_t delay, uint32_t rnd)
{
	uint64_t span = delay / 5;      /* +-10% */

	if (span == 0)
		return delay;
	return delay - delay / 10 + (uint64_t)rnd % (span + 1);
}

uint32_t
retry_after_defer(const struct cfg_delivery *d, uint32_t attempts,
    int64_t created, int64_t now, int64_t *next, const char **why)
{
	int64_t deadline = created + (int64_t)d->expire;

	*next = now;
	*why = NULL;
	if (d->max_attempts > 0 && attempts >= d->max_attempts) {
		*why = "too many delivery attempts";
		return RCPT_FAILED;
	}
	if (d->expire > 0 && now >= deadline) {
		*why = "message expired in the queue";
		return RCPT_FAILED;
	}
	/* Jitter: recipients that failed together (a remote outage) do not
	 * all come back in the same second. */
	*next = now + (int64_t)retry_jitter(retry_delay(d, attempts),
	    arc4random());
	/* One last attempt at the end of the lifetime rather than sitting in
	 * the queue past it. */
	if (d->expire > 0 && *next > deadline)
		*next = deadline;
	return RCPT_DEFERRED;
}

int64_t
retry_until(const struct cfg_delivery *d, uint32_t attempts, int64_t created,
    int64_t next)
{
	/* Far enough to mean "never", small enough that sums cannot wrap. */
	const int64_t far = INT64_MAX / 4;
	int64_t deadline = d->expire > 0 ? created + (int64_t)d->expire : far;
	int64_t t = next < far ? next : far;
	uint64_t delay, left;
	uint32_t n;

	if (d->max_attempts == 0)
		return d->expire > 0 ? deadline : 0;
	/* Attempt n + 1 comes retry_delay(n) after attempt n; attempt
	 * attempts + 1 is at `next`. */
	for (n = attempts + 1; n < d->max_attempts && t < deadline; n++) {
		delay = retry_delay(d, n);
		if (delay >= d->retry_max || delay >= (uint64_t)far) {
			/* Capped from here on: the rest in one step. */
			left = (uint64_t)(d->max_attempts - n);
			if (delay > 0 && left > (uint64_t)(far - t) / delay)
				t = far;
			else
				t += (int64_t)(left * delay);
			break;
		}
		t += (int64_t)delay;
	}
	return t < deadline ? t : deadline;
}
