/* SPDX-License-Identifier: ISC */
/* Flow control: token buckets and job counts per domain, circuit
 * breakers per next hop (see flow.h). State is created on demand and
 * dropped by flow_gc() once it holds nothing worth keeping, so a stream
 * of one-off domains costs no memory. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/tree.h>

#include "daemon.h"
#include "flow.h"
#include "log.h"
#include "route.h"
#include "util.h"

/* ---- token bucket ---- */

static void
bucket_refill(struct bucket *b, uint64_t now)
{
	double dt;

	if (now <= b->last)
		return;
	dt = (double)(now - b->last) / 1000.0;
	b->last = now;
	b->tokens += dt * b->rate;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	/* Postponed jobs come back at the rate: so many are back by now. */
	b->backlog -= dt * b->rate;
	if (b->backlog < 0)
		b->backlog = 0;
}

void
bucket_init(struct bucket *b, double rate, unsigned burst, uint64_t now)
{
	b->rate = rate > 0 ? rate : 1;
	b->burst = burst >= 1 ? burst : 1;
	b->tokens = b->burst;
	b->backlog = 0;
	b->last = now;
}

bool
bucket_take(struct bucket *b, uint64_t now)
{
	bucket_refill(b, now);
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

unsigned
bucket_postpone(struct bucket *b, uint64_t now)
{
	double wait;

	bucket_refill(b, now);
	/* Behind every job postponed before it: one token each. */
	wait = (b->backlog + 1 - b->tokens) / b->rate;
	b->backlog += 1;
	if (wait < 1)
		return 1;
	return wait >= FLOW_DELAY_MAX ? FLOW_DELAY_MAX : (unsigned)ceil(wait);
}

bool
bucket_idle(struct bucket *b, uint64_t now)
{
	bucket_refill(b, now);
	return b->tokens >= b->burst && b->backlog <= 0;
}

/* ---- circuit breaker ---- */

static const char *
breaker_state_name(enum breaker_state st)
{
	switch (st) {
	case BR_CLOSED:
		return "closed";
	case BR_OPEN:
		return "open";
	case BR_HALF_OPEN:
		return "half-open";
	}
	return "?";
}

/* While the probe is out, others come back after a fraction of the
 * cool-down. */
static unsigned
probe_wait(unsigned cooldown_s)
{
	unsigned w = cooldown_s / 4;

	return w < 1 ? 1 : w > 30 ? 30 : w;
}

enum br_verdict
breaker_check(struct breaker *br, uint64_t now, unsigned cooldown_s,
    unsigned *wait_s)
{
	switch (br->state) {
	case BR_CLOSED:
		return BR_PASS;
	case BR_OPEN:
		if (now < br->until) {
			*wait_s = (unsigned)((br->until - now + 999) / 1000);
			if (*wait_s < 1)
				*wait_s = 1;
			return BR_BLOCK;
		}
		br->state = BR_HALF_OPEN;
		br->probing = false;
		/* FALLTHROUGH */
	case BR_HALF_OPEN:
		if (!br->probing)
			return BR_PROBE;
		*wait_s = probe_wait(cooldown_s);
		return BR_BLOCK;
	}
	return BR_PASS;
}

int
breaker_result(struct breaker *br, bool ok, bool probe, unsigned threshold,
    unsigned cooldown_s, uint64_t now)
{
	enum breaker_state old = br->state;

	if (probe)
		br->probing = false;
	if (ok) {
		/* Any success shows the hop works. */
		br->failures = 0;
		br->state = BR_CLOSED;
	} else {
		if (br->failures < UINT32_MAX)
			br->failures++;
		if ((br->state == BR_HALF_OPEN && probe) ||
		    (br->state == BR_CLOSED && threshold > 0 &&
		    br->failures >= threshold)) {
			br->state = BR_OPEN;
			br->until = now + (uint64_t)cooldown_s * 1000;
		}
	}
	return br->state != old ? (int)br->state : -1;
}

/* ---- the registry ---- */

struct fnode {
	RB_ENTRY(fnode) node;
	char     name[ROUTE_NEXTHOP_MAX];
	unsigned running;                /* domains: jobs admitted */
	bool     has_bucket;
	struct bucket bucket;
	struct breaker br;               /* next hops */
};

static int
fnode_cmp(const struct fnode *a, const struct fnode *b)
{
	return strcmp(a->name, b->name);
}
RB_HEAD(ftree, fnode);
/* Static, and marked unused: not every generated function is called. */
RB_GENERATE_INTERNAL(ftree, fnode, node, fnode_cmp,
    static __attribute__((__unused__)))

static struct ftree domains = RB_INITIALIZER(&domains);
static struct ftree hops = RB_INITIALIZER(&hops);

static struct fnode *
fnode_get(struct ftree *t, const char *name, bool create)
{
	struct fnode key, *n;
	size_t i;

	for (i = 0; name[i] != '\0' && i < sizeof(key.name) - 1; i++)
		key.name[i] = (char)tolower((unsigned char)name[i]);
	key.name[i] = '\0';
	if ((n = RB_FIND(ftree, t, &key)) != NULL || !create)
		return n;
	n = xcalloc(1, sizeof(*n));
	strlcpy(n->name, key.name, sizeof(n->name));
	RB_INSERT(ftree, t, n);
	return n;
}

/* The domain's rate limit, else the global one; false when none. */
static bool
rate_of(const char *domain, double *rate, unsigned *burst)
{
	const struct config *cfg = daemon_config();
	const struct cfg_domain *d;
	char l[ROUTE_HOST_MAX];
	size_t i;

	if (cfg == NULL)
		return false;
	for (i = 0; domain[i] != '\0' && i < sizeof(l) - 1; i++)
		l[i] = (char)tolower((unsigned char)domain[i]);
	l[i] = '\0';
	d = config_domain(cfg, l);
	if (d != NULL && d->rate > 0) {
		*rate = d->rate;
		*burst = d->burst;
		return true;
	}
	if (cfg->delivery.rate > 0) {
		*rate = cfg->delivery.rate;
		*burst = cfg->delivery.burst;
		return true;
	}
	return false;
}

static unsigned
per_domain(void)
{
	const struct config *cfg = daemon_config();

	return cfg != NULL && cfg->delivery.per_domain > 0 ?
	    cfg->delivery.per_domain : 8;
}

static void
breaker_cfg(unsigned *threshold, unsigned *cooldown)
{
	const struct config *cfg = daemon_config();

	*threshold = cfg != NULL ? cfg->delivery.breaker_failures : 5;
	*cooldown = cfg != NULL && cfg->delivery.breaker_cooldown > 0 ?
	    cfg->delivery.breaker_cooldown : 60;
}

enum flow_verdict
flow_admit(const char *domain, const char *nexthop, struct flow_ticket *t,
    unsigned *delay_s, char *why, size_t whylen)
{
	uint64_t now = mono_ms();
	struct fnode *d = fnode_get(&domains, domain, true), *h;
	enum br_verdict bv = BR_PASS;
	unsigned threshold, cooldown, wait = 0, burst;
	double rate;

	memset(t, 0, sizeof(*t));
	if (d->running >= per_domain())
		return FLOW_WAIT;
	breaker_cfg(&threshold, &cooldown);
	h = fnode_get(&hops, nexthop, false);
	if (threshold > 0 && h != NULL &&
	    (bv = breaker_check(&h->br, now, cooldown, &wait)) == BR_BLOCK) {
		*delay_s = wait;
		snprintf(why, whylen, "4.4.1 %s: circuit breaker %s after %u "
		    "failed deliveries", h->name, breaker_state_name(h->br.state),
		    h->br.failures);
		return FLOW_POSTPONE;
	}
	if (rate_of(domain, &rate, &burst)) {
		if (!d->has_bucket || d->bucket.rate != rate ||
		    d->bucket.burst != (burst >= 1 ? burst : 1)) {
			bucket_init(&d->bucket, rate, burst, now);
			d->has_bucket = true;
		}
		if (!bucket_take(&d->bucket, now)) {
			*delay_s = bucket_postpone(&d->bucket, now);
			snprintf(why, whylen, "4.4.5 rate limit of %s reached "
			    "(%g/s, burst %u)", d->name, rate, burst);
			return FLOW_POSTPONE;
		}
	} else
		d->has_bucket = false;
	if (bv == BR_PROBE) {
		h->br.probing = true;
		t->probe = true;
		log_info("%s: circuit breaker half-open, sending a probe", h->name);
	}
	d->running++;
	t->admitted = true;
	return FLOW_GO;
}

void
flow_done(const char *domain, const char *nexthop, struct flow_ticket *t,
    enum flow_outcome out)
{
	struct fnode *d, *h;
	unsigned threshold, cooldown;
	int st;

	if (!t->admitted)
		return;
	t->admitted = false;
	if ((d = fnode_get(&domains, domain, false)) != NULL && d->running > 0)
		d->running--;
	breaker_cfg(&threshold, &cooldown);
	if (threshold == 0)
		return;
	h = fnode_get(&hops, nexthop, out == FLOW_FAIL);
	if (h == NULL)
		return;
	if (out == FLOW_NEUTRAL) {
		/* The probe did not tell: the next job probes again. */
		if (t->probe)
			h->br.probing = false;
		return;
	}
	st = breaker_result(&h->br, out == FLOW_OK, t->probe, threshold,
	    cooldown, mono_ms());
	if (st == BR_OPEN)
		log_warnx("%s: circuit breaker open after %u failed deliveries, "
		    "deliveries suspended for %us", h->name, h->br.failures,
		    cooldown);
	else if (st == BR_CLOSED)
		log_info("%s: circuit breaker closed", h->name);
}

unsigned
flow_running(const char *domain)
{
	struct fnode *d = fnode_get(&domains, domain, false);

	return d != NULL ? d->running : 0;
}

void
flow_gc(void)
{
	struct fnode *n, *tmp;
	uint64_t now = mono_ms();

	RB_FOREACH_SAFE(n, ftree, &domains, tmp)
		if (n->running == 0 &&
		    (!n->has_bucket || bucket_idle(&n->bucket, now))) {
			RB_REMOVE(ftree, &domains, n);
			free(n);
		}
	RB_FOREACH_SAFE(n, ftree, &hops, tmp)
		if (n->br.state == BR_CLOSED && n->br.failures == 0) {
			RB_REMOVE(ftree, &hops, n);
			free(n);
		}
}
