/* SPDX-License-Identifier: ISC */
/* The keywords of the loop and reflection defences: max-hops,
 * address-literals (global and per listener), mx-allow (delivery and
 * domain blocks, which add up), dsn return-limit; their defaults,
 * errors and lookups. Also queue-user, and the line of a listener's
 * tls statement that empath-master -n cites. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "config.h"

/* A socket address of ip (a few at once: a rotating buffer). */
static const struct sockaddr *
SA(const char *ip)
{
	static struct sockaddr_storage buf[4];
	static unsigned next;
	struct sockaddr_storage *ss = &buf[next++ % 4];
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)ss;
}

START_TEST(defaults)
{
	struct config *c = fx_parse("listen on 127.0.0.1 port 2525\n");

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->max_hops, 100);
	ck_assert_int_eq(c->address_literals, ADDRLIT_REFUSE);
	ck_assert_uint_eq(c->dsn_return_limit, 50 * 1024);
	ck_assert(TAILQ_EMPTY(&c->delivery.mx_allow));
	ck_assert_int_eq(TAILQ_FIRST(&c->listeners)->address_literals, -1);
	ck_assert(!config_mx_allowed(c, "x.test", SA("127.0.0.1")));
	/* relay from defaults to loopback: literals allowed from there. */
	ck_assert(config_address_literals_ok(c, TAILQ_FIRST(&c->listeners),
	    SA("127.0.0.1")));
	ck_assert(!config_address_literals_ok(c, TAILQ_FIRST(&c->listeners),
	    SA("192.0.2.1")));
	config_free(c);
}
END_TEST

START_TEST(values)
{
	struct config *c = fx_parse(
	    "max-hops 30\n"
	    "address-literals accept\n"
	    "listen on 127.0.0.1 port 2525 { address-literals refuse }\n"
	    "listen on 127.0.0.1 port 2526\n"
	    "relay from 10.0.0.0/8\n"
	    "delivery { mx-allow { 127.0.0.0/8, ::1 } }\n"
	    "delivery { mx-allow 192.168.0.0/16 }\n"
	    "domain \"lab.test\" { mx-allow { 10.1.0.0/16 fc00::/7, } }\n"
	    "domain \"other.test\" { accept }\n"
	    "dsn { return-limit 10K }\n");
	struct cfg_listen *l1, *l2;

	ck_assert_msg(c != NULL, "%s", fx_nerrs ? fx_errs[0] : "?");
	ck_assert_uint_eq(c->max_hops, 30);
	ck_assert_int_eq(c->address_literals, ADDRLIT_ACCEPT);
	ck_assert_uint_eq(c->dsn_return_limit, 10 * 1024);
	l1 = TAILQ_FIRST(&c->listeners);
	l2 = TAILQ_NEXT(l1, entry);
	ck_assert_int_eq(l1->address_literals, ADDRLIT_REFUSE);
	ck_assert_int_eq(l2->address_literals, -1);
	/* The listener's word wins; without one, the global one. */
	ck_assert(!config_address_literals_ok(c, l1, SA("192.0.2.1")));
	ck_assert(config_address_literals_ok(c, l2, SA("192.0.2.1")));
	ck_assert(config_address_literals_ok(c, l1, SA("10.2.3.4")));

	ck_assert(config_mx_allowed(c, "any.test", SA("127.0.0.5")));
	ck_assert(config_mx_allowed(c, "any.test", SA("::1")));
	ck_assert(config_mx_allowed(c, "any.test", SA("192.168.4.4")));
	ck_assert(!config_mx_allowed(c, "any.test", SA("10.1.2.3")));
	ck_assert(!config_mx_allowed(c, "other.test", SA("10.1.2.3")));
	/* A domain's list adds to the global one. */
	ck_assert(config_mx_allowed(c, "lab.test", SA("10.1.2.3")));
	ck_assert(config_mx_allowed(c, "LAB.test", SA("fd00::5")));
	ck_assert(config_mx_allowed(c, "lab.test", SA("127.0.0.1")));
	ck_assert(!config_mx_allowed(c, "lab.test", SA("10.2.0.1")));
	config_free(c);
}
END_TEST

static void
fails_with(const char *text, const char *expect)
{
	struct config *c = fx_parse(text);

	ck_assert_ptr_null(c);
	ck_assert_int_ge(fx_nerrs, 1);
	ck_assert_msg(strstr(fx_errs[0], expect) != NULL, "got '%s' want '%s'",
	    fx_errs[0], expect);
}

START_TEST(errors)
{
	fails_with("max-hops 0\n", "t.conf:1: number 0 out of range");
	fails_with("max-hops many\n", "t.conf:1: syntax error");
	fails_with("address-literals maybe\n", "t.conf:1: unknown keyword \"maybe\", expecting \"accept\" or \"refuse\"");
	fails_with("delivery {\n mx-allow { 127.0.0.0/33 }\n}\n",
	    "t.conf:2: invalid mx-allow netmask \"127.0.0.0/33\"");
	fails_with("domain \"a.test\" {\n mx-allow nonsense\n}\n",
	    "t.conf:2: invalid mx-allow netmask \"nonsense\"");
	fails_with("dsn { return-limit 0 }\n", "t.conf:1: invalid size 0");
	fails_with("listen on 127.0.0.1 { address-literals }\n",
	    "t.conf:1: syntax error");
}
END_TEST

START_TEST(queue_user_and_tls_line)
{
	struct config *c = fx_parse("user \"_a\"\nqueue-user \"_q\"\n"
	    "listen on 127.0.0.1 port 2525 {\n"
	    "\ttls certificate \"c\" key \"k\"\n}\n");

	ck_assert_msg(c != NULL, "%s", fx_nerrs ? fx_errs[0] : "");
	ck_assert_str_eq(c->user, "_a");
	ck_assert_str_eq(c->queue_user, "_q");
	ck_assert_uint_eq(TAILQ_FIRST(&c->listeners)->tls_line, 4);
	config_free(c);
	ck_assert_ptr_null(fx_parse("queue-user \"a b\"\n"));
	ck_assert_ptr_null(fx_parse("queue-user \"_q\"\nqueue-user \"_r\"\n"));
}
END_TEST

static Suite *
config_loops_suite(void)
{
	Suite *s = suite_create("config_loops");
	TCase *tc = tcase_create("keywords");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, values);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, queue_user_and_tls_line);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(config_loops_suite);
