/* SPDX-License-Identifier: ISC */
/* The route form of empath.conf(5) (`relay via`, the delivery
 * smarthost): "host", "host:port", "[IPv6]:port", "[IPv6]". An IPv6
 * address with a port must be in brackets; a bare one that could also be
 * read as address and port is refused with its line, not guessed. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "config.h"

#define ROUTE_IS(s, h, p) do { char *host_; uint16_t port_ = 0; \
	ck_assert_msg(config_parse_hostport(s, &host_, &port_) == 0, \
	    "refused: %s", s); \
	ck_assert_str_eq(host_, h); ck_assert_uint_eq(port_, p); \
	free(host_); } while (0)
#define BAD_ROUTE(s) do { char *host_ = NULL; uint16_t port_; \
	ck_assert_msg(config_parse_hostport(s, &host_, &port_) == -1, \
	    "accepted: %s", s); ck_assert_ptr_null(host_); } while (0)

START_TEST(bracketed_ipv6)
{
	ROUTE_IS("[::1]:2525", "::1", 2525);
	ROUTE_IS("[::1]", "::1", 25);
	ROUTE_IS("[2001:db8::1]:2525", "2001:db8::1", 2525);
	ROUTE_IS("[2001:db8::1]", "2001:db8::1", 25);
	/* Brackets hold one address: ::1:2525 is one, on port 25. */
	ROUTE_IS("[::1:2525]", "::1:2525", 25);
	/* Brackets hold an IPv6 address and nothing else. */
	BAD_ROUTE("[mx.example]:25");
	BAD_ROUTE("[192.0.2.1]:25");
	BAD_ROUTE("[::1]2525");
	BAD_ROUTE("[::1]:");
	BAD_ROUTE("[::1]:0");
	BAD_ROUTE("[::1]:65536");
	BAD_ROUTE("[]:25");
	BAD_ROUTE("[::1");
	BAD_ROUTE("[::g]");
}
END_TEST

START_TEST(bare_ipv6)
{
	/* No reading as address and port: accepted as an address. */
	ROUTE_IS("2001:db8::5", "2001:db8::5", 25);
	ROUTE_IS("::1", "::1", 25);
	ROUTE_IS("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", 25);
	ROUTE_IS("2001:db8::1:abcd", "2001:db8::1:abcd", 25);
	/* Both readings valid: refused. */
	ck_assert(config_hostport_ambiguous("::1:2525"));
	ck_assert(config_hostport_ambiguous("2001:db8::1:25"));
	BAD_ROUTE("::1:2525");
	BAD_ROUTE("2001:db8::1:25");
	ck_assert(!config_hostport_ambiguous("[::1]:2525"));
	ck_assert(!config_hostport_ambiguous("2001:db8::5"));
	ck_assert(!config_hostport_ambiguous("2001:db8::1:0"));     /* port 0 */
	ck_assert(!config_hostport_ambiguous("mx.example:2525"));
}
END_TEST

START_TEST(names_and_ipv4)
{
	ROUTE_IS("mx.example.org", "mx.example.org", 25);
	ROUTE_IS("mx.example.org:587", "mx.example.org", 587);
	ROUTE_IS("192.0.2.1:2525", "192.0.2.1", 2525);
	BAD_ROUTE("mx.example.org:");
	BAD_ROUTE("mx:25:26");
}
END_TEST

/* The parser names the line and says what to write instead. */
START_TEST(errors_cite_the_line)
{
	static const char text[] = "domain \"a.test\" {\n"
	    "  relay via \"::1:2525\"\n}\n"
	    "delivery {\n  relay via \"[mx.example]:25\"\n}\n";
	static const char good[] = "domain \"a.test\" { relay via "
	    "\"[::1]:2525\" }\ndelivery { relay via \"[2001:db8::1]\" }\n";
	struct config *c;

	c = fx_parse(text);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(fx_nerrs, 2);
	ck_assert_str_eq(fx_errs[0], "t.conf:2: ambiguous relay \"::1:2525\": an "
	    "IPv6 address with a port goes in brackets, \"[address]:port\", "
	    "an address alone as \"[address]\"");
	ck_assert_str_eq(fx_errs[1], "t.conf:5: invalid relay \"[mx.example]:25\" "
	    "(\"host\", \"host:port\" or \"[IPv6]:port\")");
	fx_reset_errs();

	c = config_parse("t.conf", good, strlen(good), fx_collect);
	ck_assert_msg(c != NULL, "%s", fx_nerrs ? fx_errs[0] : "?");
	ck_assert_str_eq(TAILQ_FIRST(&c->domains)->relay_host, "::1");
	ck_assert_uint_eq(TAILQ_FIRST(&c->domains)->relay_port, 2525);
	ck_assert_str_eq(c->delivery.relay_host, "2001:db8::1");
	ck_assert_uint_eq(c->delivery.relay_port, 25);
	config_free(c);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("config_route");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, bracketed_ipv6);
	tcase_add_test(tc, bare_ipv6);
	tcase_add_test(tc, names_and_ipv4);
	tcase_add_test(tc, errors_cite_the_line);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
