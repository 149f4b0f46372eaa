/* SPDX-License-Identifier: ISC */
/* deliverd's flow control: the token bucket (burst, refill, the delays
 * of postponed jobs spread at the rate) and the circuit breaker (opens
 * after N failures, half-open probe after the cool-down, closes on
 * success, opens again on a failed probe), and the per-domain limit of
 * flow_admit() with the defaults. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "config.h"
#include "../../deliverd/flow.h"

static struct config *
parse(const char *text)
{
	return config_parse("t", text, strlen(text), NULL);
}

static void
quiet(const char *line)
{
	(void)line;
}

static struct config *
bad(const char *text)
{
	return config_parse("t", text, strlen(text), quiet);
}

START_TEST(config_keywords)
{
	struct config *c;

	c = parse("delivery { mx-port 2525 circuit-breaker 3 cool-down 10s }\n"
	    "resolver \"::1\" port 5353 { timeout 2s attempts 3 cache-min-ttl 0 "
	    "cache-max-ttl 1h }");
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->delivery.mx_port, 2525);
	ck_assert_uint_eq(c->delivery.breaker_failures, 3);
	ck_assert_uint_eq(c->delivery.breaker_cooldown, 10);
	ck_assert_str_eq(c->resolver_addr, "::1");
	ck_assert_uint_eq(c->resolver_port, 5353);
	ck_assert_uint_eq(c->resolver_timeout, 2);
	ck_assert_uint_eq(c->resolver_attempts, 3);
	ck_assert_uint_eq(c->resolver_min_ttl, 0);
	ck_assert_uint_eq(c->resolver_max_ttl, 3600);
	config_free(c);
	/* Defaults, and the resolver block alone. */
	c = parse("resolver { attempts 1 }");
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(c->resolver_addr);
	ck_assert_uint_eq(c->delivery.mx_port, 25);
	ck_assert_uint_eq(c->delivery.breaker_failures, 5);
	ck_assert_uint_eq(c->delivery.breaker_cooldown, 60);
	ck_assert_uint_eq(c->resolver_min_ttl, 5);
	ck_assert_uint_eq(c->resolver_max_ttl, 86400);
	config_free(c);
	c = parse("delivery { circuit-breaker no }");
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->delivery.breaker_failures, 0);
	config_free(c);
	ck_assert_ptr_null(bad("resolver { attempts 11 }"));
	ck_assert_ptr_null(bad("delivery { mx-port 0 }"));
	ck_assert_ptr_null(bad("resolver { cache-max-ttl 0 }"));
	ck_assert_ptr_null(bad("delivery { circuit-breaker 2 cool-down 0 }"));
	/* ...while the same without the bad value is fine. */
	c = parse("delivery { circuit-breaker 2 cool-down 1s }");
	ck_assert_ptr_nonnull(c);
	config_free(c);
}
END_TEST

START_TEST(bucket_burst_and_refill)
{
	struct bucket b;
	uint64_t t = 1000000;
	int i;

	bucket_init(&b, 2.0, 5, t);           /* 2/s, burst 5 */
	for (i = 0; i < 5; i++)
		ck_assert(bucket_take(&b, t));
	ck_assert(!bucket_take(&b, t));
	/* 400 ms: 0.8 token, still none. */
	ck_assert(!bucket_take(&b, t + 400));
	/* 500 ms: one. */
	ck_assert(bucket_take(&b, t + 500));
	ck_assert(!bucket_take(&b, t + 500));
	/* A long pause fills up to the burst, not past it. */
	for (i = 0; i < 5; i++)
		ck_assert(bucket_take(&b, t + 100000));
	ck_assert(!bucket_take(&b, t + 100000));
	ck_assert(!bucket_idle(&b, t + 100000));
	ck_assert(bucket_idle(&b, t + 103000));
}
END_TEST

START_TEST(bucket_postpone_spreads)
{
	struct bucket b;
	uint64_t t = 5000;
	unsigned d[4];
	int i;

	bucket_init(&b, 1.0, 1, t);           /* 1/s, burst 1 */
	ck_assert(bucket_take(&b, t));
	for (i = 0; i < 4; i++)
		d[i] = bucket_postpone(&b, t);
	/* Each comes back one token after the one before it. */
	ck_assert_uint_eq(d[0], 1);
	ck_assert_uint_eq(d[1], 2);
	ck_assert_uint_eq(d[2], 3);
	ck_assert_uint_eq(d[3], 4);
	/* As time passes the backlog drains at the rate. */
	ck_assert_uint_eq(bucket_postpone(&b, t + 4000), 1);
	/* Slow rates are capped. */
	bucket_init(&b, 1.0 / 86400, 1, t);
	bucket_take(&b, t);
	ck_assert_uint_eq(bucket_postpone(&b, t), FLOW_DELAY_MAX);
}
END_TEST

START_TEST(breaker_cycle)
{
	struct breaker br = { 0 };
	uint64_t t = 10000;
	unsigned wait = 0;

	/* Closed: two failures of three do nothing. */
	ck_assert_int_eq(breaker_check(&br, t, 60, &wait), BR_PASS);
	ck_assert_int_eq(breaker_result(&br, false, false, 3, 60, t), -1);
	ck_assert_int_eq(breaker_result(&br, false, false, 3, 60, t), -1);
	/* A success resets the count. */
	ck_assert_int_eq(breaker_result(&br, true, false, 3, 60, t), -1);
	ck_assert_uint_eq(br.failures, 0);
	breaker_result(&br, false, false, 3, 60, t);
	breaker_result(&br, false, false, 3, 60, t);
	ck_assert_int_eq(breaker_result(&br, false, false, 3, 60, t), BR_OPEN);
	/* Open: blocked for the cool-down. */
	ck_assert_int_eq(breaker_check(&br, t + 1000, 60, &wait), BR_BLOCK);
	ck_assert_uint_eq(wait, 59);
	/* After it: one probe, the others blocked while it runs. */
	ck_assert_int_eq(breaker_check(&br, t + 60000, 60, &wait), BR_PROBE);
	ck_assert_int_eq(br.state, BR_HALF_OPEN);
	br.probing = true;
	ck_assert_int_eq(breaker_check(&br, t + 60001, 60, &wait), BR_BLOCK);
	ck_assert_uint_eq(wait, 15);
	/* A failed probe opens it again for a whole cool-down. */
	ck_assert_int_eq(breaker_result(&br, false, true, 3, 60, t + 61000), BR_OPEN);
	ck_assert_int_eq(breaker_check(&br, t + 62000, 60, &wait), BR_BLOCK);
	ck_assert_uint_eq(wait, 59);
	/* A successful probe closes it. */
	ck_assert_int_eq(breaker_check(&br, t + 121000, 60, &wait), BR_PROBE);
	br.probing = true;
	ck_assert_int_eq(breaker_result(&br, true, true, 3, 60, t + 122000), BR_CLOSED);
	ck_assert_int_eq(breaker_check(&br, t + 122000, 60, &wait), BR_PASS);
	ck_assert(!br.probing);
}
END_TEST

START_TEST(breaker_off)
{
	struct breaker br = { 0 };
	int i;

	/* Threshold 0: failures are counted but never open it. */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(breaker_result(&br, false, false, 0, 60, 1), -1);
	ck_assert_int_eq(br.state, BR_CLOSED);
}
END_TEST

START_TEST(admit_per_domain)
{
	struct flow_ticket t[10];
	char why[256];
	unsigned delay, i;

	/* Without a configuration: 8 per domain, no rate limit. */
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(flow_admit("Example.org", "example.org", &t[i],
		    &delay, why, sizeof(why)), FLOW_GO);
	ck_assert_uint_eq(flow_running("example.org"), 8);
	ck_assert_int_eq(flow_admit("example.org", "example.org", &t[8], &delay,
	    why, sizeof(why)), FLOW_WAIT);
	ck_assert_int_eq(flow_admit("other.org", "other.org", &t[9], &delay, why,
	    sizeof(why)), FLOW_GO);
	flow_done("example.org", "example.org", &t[0], FLOW_OK);
	ck_assert_int_eq(flow_admit("example.org", "example.org", &t[8], &delay,
	    why, sizeof(why)), FLOW_GO);
	/* Five failures (the default) open the breaker of the hop. */
	for (i = 1; i < 6; i++)
		flow_done("example.org", "example.org", &t[i], FLOW_FAIL);
	ck_assert_int_eq(flow_admit("example.org", "example.org", &t[0], &delay,
	    why, sizeof(why)), FLOW_POSTPONE);
	ck_assert_uint_eq(delay, 60);
	ck_assert_msg(strstr(why, "circuit breaker open") != NULL, "%s", why);
	for (i = 6; i < 10; i++)
		flow_done(i == 9 ? "other.org" : "example.org",
		    i == 9 ? "other.org" : "example.org", &t[i], FLOW_NEUTRAL);
	flow_gc();
	ck_assert_uint_eq(flow_running("example.org"), 0);
}
END_TEST

static Suite *
flow_suite(void)
{
	Suite *s = suite_create("deliverd_flow");
	TCase *tc = tcase_create("flow");

	tcase_add_test(tc, bucket_burst_and_refill);
	tcase_add_test(tc, bucket_postpone_spreads);
	tcase_add_test(tc, breaker_cycle);
	tcase_add_test(tc, breaker_off);
	tcase_add_test(tc, admit_per_domain);
	tcase_add_test(tc, config_keywords);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(flow_suite);
