/* SPDX-License-Identifier: ISC */
/* What deliverd's plugin events say (deliverd/delivery_events.c): the
 * text of EM_EVENT_DNS_LOOKUP for a route, and the reply code and text
 * of a result, whose first digit tells delivered, deferred and failed
 * apart whether a server or deliverd decided. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <string.h>

#include "../../deliverd/delivery_events.h"
#include "fixture.h"
#include "proto.h"
#include "../../deliverd/route.h"

static void
dest(struct route *r, const char *host, uint16_t pref, const char *ip)
{
	struct route_dest *d = &r->dest[r->ndest++];

	memset(d, 0, sizeof(*d));
	strlcpy(d->host, host, sizeof(d->host));
	d->pref = pref;
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&d->ss;

		s6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&d->ss;

		s4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
}

START_TEST(route_text_mx_hosts_in_order)
{
	struct route r = { .status = ROUTE_OK, .kind = ROUTE_MX };
	char buf[1024];

	dest(&r, "mx1.example.test", 10, "2001:db8::1");
	dest(&r, "mx1.example.test", 10, "192.0.2.1");
	dest(&r, "mx2.example.test", 20, "192.0.2.2");
	devents_route_text(&r, buf, sizeof(buf));
	ck_assert_str_eq(buf, "MX mx1.example.test(10) [2001:db8::1] "
	    "[192.0.2.1], mx2.example.test(20) [192.0.2.2]");
	r.kind = ROUTE_IMPLICIT_MX;
	r.ndest = 0;
	dest(&r, "example.test", 0, "192.0.2.3");
	devents_route_text(&r, buf, sizeof(buf));
	ck_assert_str_eq(buf, "no MX, A/AAAA example.test [192.0.2.3]");
}
END_TEST

START_TEST(route_text_error_and_cut)
{
	struct route r = { .status = ROUTE_TEMPFAIL, .kind = ROUTE_MX };
	char buf[40];
	size_t i;

	strlcpy(r.diag, "4.4.3 MX lookup of example.test failed: x",
	    sizeof(r.diag));
	devents_route_text(&r, buf, sizeof(buf));
	ck_assert_str_eq(buf, "4.4.3 MX lookup of example.test failed:");
	/* Too many addresses for the buffer: cut, and said so. */
	r.status = ROUTE_OK;
	for (i = 0; i < 8; i++)
		dest(&r, "a-rather-long-host-name.example.test", 10, "192.0.2.9");
	devents_route_text(&r, buf, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), sizeof(buf) - 1);
	ck_assert_str_eq(buf + sizeof(buf) - 4, "...");
	ck_assert_int_eq(strncmp(buf, "MX a-rather-long", 16), 0);
}
END_TEST

START_TEST(result_code_from_the_server)
{
	const char *text;

	ck_assert_int_eq(devents_result_code("451 4.7.1 greylisted",
	    RCPT_DEFERRED, &text), 451);
	ck_assert_str_eq(text, "4.7.1 greylisted");
	ck_assert_int_eq(devents_result_code("550 5.1.1 no such user",
	    RCPT_FAILED, &text), 550);
	ck_assert_str_eq(text, "5.1.1 no such user");
	ck_assert_int_eq(devents_result_code("250 2.0.0 ok", RCPT_DELIVERED,
	    &text), 250);
	ck_assert_str_eq(text, "2.0.0 ok");
	ck_assert_int_eq(devents_result_code("552", RCPT_FAILED, &text), 552);
	ck_assert_str_eq(text, "");
}
END_TEST

/* deliverd's own verdicts (no three-digit code in front), or a server's
 * code of another class than the outcome: the outcome's class. */
START_TEST(result_code_of_deliverds_verdicts)
{
	const char *text;

	ck_assert_int_eq(devents_result_code("4.4.1 connection refused by "
	    "192.0.2.1:25", RCPT_DEFERRED, &text), 451);
	ck_assert_str_eq(text, "4.4.1 connection refused by 192.0.2.1:25");
	ck_assert_int_eq(devents_result_code("5.1.2 domain x.test does not "
	    "exist (NXDOMAIN)", RCPT_FAILED, &text), 554);
	ck_assert_int_eq(devents_result_code("250 2.0.0 early", RCPT_DEFERRED,
	    &text), 451);
	ck_assert_str_eq(text, "250 2.0.0 early");
	ck_assert_int_eq(devents_result_code("4510 no", RCPT_DEFERRED, &text),
	    451);
	ck_assert_str_eq(text, "4510 no");
	ck_assert_int_eq(devents_result_code(NULL, RCPT_FAILED, &text), 554);
	ck_assert_str_eq(text, "");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("deliverd_events");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, route_text_mx_hosts_in_order);
	tcase_add_test(tc, route_text_error_and_cut);
	tcase_add_test(tc, result_code_from_the_server);
	tcase_add_test(tc, result_code_of_deliverds_verdicts);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
