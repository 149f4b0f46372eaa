/* SPDX-License-Identifier: ISC */
/* deliverd/guard.c: the destinations deliverd refuses: its own listeners
 * (exact, wildcard, RFC 5321 5.1 MX preference cut) with 5.4.6, and by
 * MX the special addresses not in mx-allow with 5.4.4. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "config.h"
#include "../../deliverd/guard.h"

static struct config *cfg;

static void
setup(void)
{
	static const char text[] =
	    "listen on 127.0.0.1 port 2525\n"
	    "listen on 0.0.0.0 port 25\n"
	    "listen on :: port 587\n"
	    "domain \"lab.test\" { mx-allow 10.0.0.0/8 }\n";

	cfg = config_parse("t.conf", text, sizeof(text) - 1, NULL);
	ck_assert_ptr_nonnull(cfg);
	guard_configure();
}

static void
teardown(void)
{
	config_free(cfg);
}

static void
fill(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
	}
}

static bool
special(const char *ip)
{
	struct sockaddr_storage ss;

	fill(&ss, ip, 25);
	return guard_is_special((struct sockaddr *)&ss);
}

static bool
self(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;

	fill(&ss, ip, port);
	return guard_is_self(cfg, (struct sockaddr *)&ss);
}

START_TEST(special_addresses)
{
	static const char *const bad[] = {
		"0.0.0.0", "0.1.2.3", "10.1.2.3", "100.64.0.1", "100.127.255.255",
		"127.0.0.1", "127.255.0.9", "169.254.1.1", "172.16.0.1",
		"172.31.255.255", "192.168.1.1", "192.0.0.8", "224.0.0.1",
		"255.255.255.255", "240.0.0.1",
		"::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::10.0.0.1",
		"fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "fec0::1",
		"ff02::1",
	};
	static const char *const good[] = {
		"1.1.1.1", "100.63.255.255", "100.128.0.0", "172.15.0.1",
		"172.32.0.1", "192.0.2.1", "198.51.100.7", "203.0.113.9",
		"223.255.255.255", "2001:db8::1", "2a00:1450::1",
		"::ffff:198.51.100.7", "fe00::1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(special(bad[i]), "%s is special", bad[i]);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(!special(good[i]), "%s is not special", good[i]);
}
END_TEST

START_TEST(embedded_ipv4_addresses)
{
	static const char *const bad[] = {
		/* NAT64 well-known prefix */
		"64:ff9b::127.0.0.1", "64:ff9b::10.1.2.3", "64:ff9b::192.168.0.1",
		"64:ff9b::169.254.169.254",
		/* NAT64 local-use prefix: all of it */
		"64:ff9b:1::1", "64:ff9b:1::8.8.8.8", "64:ff9b:1:ffff::1",
		/* 6to4 */
		"2002:7f00:1::1", "2002:0a00:0001::", "2002:c0a8:0101:1::1",
		"2002:a9fe:a9fe::1",
		/* SIIT (IPv4-translated) */
		"::ffff:0:127.0.0.1", "::ffff:0:10.0.0.1",
		/* IPv4-compatible */
		"::8.8.8.8",
	};
	static const char *const good[] = {
		"64:ff9b::8.8.8.8", "64:ff9b::198.51.100.7",
		"2002:0808:0808::1", "2002:c633:6407::1",
		"::ffff:0:198.51.100.7",
		/* near the prefixes, but outside them */
		"64:ff9b:2::1", "64:ff9a::127.0.0.1", "2003::7f00:1",
		"64:ff9b:0:1::7f00:1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(special(bad[i]), "%s is special", bad[i]);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(!special(good[i]), "%s is not special", good[i]);
}
END_TEST

START_TEST(own_listeners)
{
	/* Exact address and port. */
	ck_assert(self("127.0.0.1", 2525));
	ck_assert(self("::ffff:127.0.0.1", 2525));
	ck_assert(!self("127.0.0.2", 2525));
	ck_assert(!self("127.0.0.1", 2526));
	/* The unspecified address reaches any listener of its port. */
	ck_assert(self("0.0.0.0", 2525));
	/* 0.0.0.0 port 25 takes every local IPv4 address. */
	ck_assert(self("127.0.0.1", 25));
	ck_assert(self("127.1.2.3", 25));
	ck_assert(!self("198.51.100.7", 25));
	ck_assert(!self("::1", 25));
	/* :: port 587 (IPv6 only) takes every local IPv6 address. */
	ck_assert(self("::1", 587));
	ck_assert(self("::", 587));
	ck_assert(!self("127.0.0.1", 587));
	ck_assert(!self("2001:db8::1", 587));
}
END_TEST

static struct route *
route(enum route_kind kind, size_t n, const char *const *ips,
    const uint16_t *ports, const uint16_t *prefs)
{
	static struct route r;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.status = ROUTE_OK;
	for (i = 0; i < n; i++) {
		fill(&r.dest[i].ss, ips[i], ports[i]);
		strlcpy(r.dest[i].host, "mx.test", sizeof(r.dest[i].host));
		r.dest[i].port = ports[i];
		r.dest[i].pref = prefs ? prefs[i] : 0;
	}
	r.ndest = n;
	return &r;
}

START_TEST(relay_to_self_loops)
{
	static const char *const ips[] = { "127.0.0.1" };
	static const uint16_t ports[] = { 2525 }, other[] = { 2526 };
	struct route *r = route(ROUTE_RELAY, 1, ips, ports, NULL);

	guard_route(cfg, "x.test", r);
	ck_assert_int_eq(r->status, ROUTE_PERMFAIL);
	ck_assert_msg(strncmp(r->diag, "5.4.6 mail for x.test loops back to "
	    "myself", 40) == 0, "%s", r->diag);
	/* Another port of loopback is the operator's business. */
	r = route(ROUTE_RELAY, 1, ips, other, NULL);
	guard_route(cfg, "x.test", r);
	ck_assert_int_eq(r->status, ROUTE_OK);
	ck_assert_uint_eq(r->ndest, 1);
}
END_TEST

START_TEST(mx_preference_cut_at_self)
{
	static const char *const ips[] = { "198.51.100.1", "127.0.0.1",
	    "198.51.100.2", "198.51.100.3" };
	static const uint16_t ports[] = { 25, 25, 25, 25 };
	static const uint16_t prefs[] = { 5, 10, 10, 20 };
	static const uint16_t best[] = { 10, 10, 10, 20 };
	struct route *r = route(ROUTE_MX, 4, ips, ports, prefs);

	/* Only the better MX is left. */
	guard_route(cfg, "x.test", r);
	ck_assert_int_eq(r->status, ROUTE_OK);
	ck_assert_uint_eq(r->ndest, 1);
	ck_assert_uint_eq(r->dest[0].pref, 5);
	/* This host is the best MX: a loop. */
	r = route(ROUTE_MX, 4, ips, ports, best);
	guard_route(cfg, "x.test", r);
	ck_assert_int_eq(r->status, ROUTE_PERMFAIL);
	ck_assert_ptr_nonnull(strstr(r->diag, "loops back to myself"));
	ck_assert(strncmp(r->diag, "5.4.6 ", 6) == 0);
}
END_TEST

START_TEST(mx_special_addresses)
{
	static const char *const ips[] = { "10.0.0.1", "::1", "198.51.100.1" };
	static const uint16_t ports[] = { 2600, 2600, 2600 };
	struct route *r = route(ROUTE_MX, 3, ips, ports, NULL);

	/* The public one is left. */
	guard_route(cfg, "x.test", r);
	ck_assert_int_eq(r->status, ROUTE_OK);
	ck_assert_uint_eq(r->ndest, 1);
	ck_assert_str_eq(inet_ntoa(((struct sockaddr_in *)&r->dest[0].ss)->sin_addr),
	    "198.51.100.1");
	/* Nothing but special: 5.4.4. */
	r = route(ROUTE_IMPLICIT_MX, 2, ips, ports, NULL);
	guard_route(cfg, "x.test", r);
	ck_assert_int_eq(r->status, ROUTE_PERMFAIL);
	ck_assert_msg(strncmp(r->diag, "5.4.4 unable to route mail for x.test: "
	    "the MX points to a disallowed address (mx.test[10.0.0.1]:2600",
	    90) == 0, "%s", r->diag);
	/* An address literal too. */
	r = route(ROUTE_LITERAL, 1, ips + 1, ports, NULL);
	guard_route(cfg, "[IPv6:::1]", r);
	ck_assert_int_eq(r->status, ROUTE_PERMFAIL);
	/* The domain's mx-allow lets 10/8 through. */
	r = route(ROUTE_MX, 2, ips, ports, NULL);
	guard_route(cfg, "lab.test", r);
	ck_assert_int_eq(r->status, ROUTE_OK);
	ck_assert_uint_eq(r->ndest, 1);
	/* A relay is never filtered. */
	r = route(ROUTE_RELAY, 2, ips, ports, NULL);
	guard_route(cfg, "x.test", r);
	ck_assert_int_eq(r->status, ROUTE_OK);
	ck_assert_uint_eq(r->ndest, 2);
}
END_TEST

static Suite *
guard_suite(void)
{
	Suite *s = suite_create("deliverd_guard");
	TCase *tc = tcase_create("guard");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, special_addresses);
	tcase_add_test(tc, embedded_ipv4_addresses);
	tcase_add_test(tc, own_listeners);
	tcase_add_test(tc, relay_to_self_loops);
	tcase_add_test(tc, mx_preference_cut_at_self);
	tcase_add_test(tc, mx_special_addresses);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(guard_suite);
