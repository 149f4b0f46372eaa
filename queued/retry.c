/* Exponential backoff with a cap, max-attempts and the queue lifetime.
 * Jitter (issue 4) belongs here too, so every caller gets it. */
#include <stddef.h>

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
	*next = now + (int64_t)retry_delay(d, attempts);
	/* One last attempt at the end of the lifetime rather than sitting in
	 * the queue past it. */
	if (d->expire > 0 && *next > deadline)
		*next = deadline;
	return RCPT_DEFERRED;
}
