/* SPDX-License-Identifier: ISC */
/* lib/util.c: address parsing and rendering, small fd helpers. */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture.h"
#include "util.h"

START_TEST(hostport)
{
	char host[64];
	uint16_t port = 0;

	ck_assert_int_eq(hostport_split("10.0.0.5:25", host, sizeof(host), &port, 0), 0);
	ck_assert_str_eq(host, "10.0.0.5");
	ck_assert_uint_eq(port, 25);
	ck_assert_int_eq(hostport_split("[2001:db8::1]:2525", host, sizeof(host), &port, 0), 0);
	ck_assert_str_eq(host, "2001:db8::1");
	ck_assert_uint_eq(port, 2525);
	ck_assert_int_eq(hostport_split("mx.example.org", host, sizeof(host), &port, 25), 0);
	ck_assert_str_eq(host, "mx.example.org");
	ck_assert_uint_eq(port, 25);
	ck_assert_int_eq(hostport_split("[::1]", host, sizeof(host), &port, 587), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 587);
	ck_assert_int_eq(hostport_split("2001:db8::2", host, sizeof(host), &port, 25), 0);
	ck_assert_str_eq(host, "2001:db8::2");
	ck_assert_int_eq(hostport_split("h:65535", host, sizeof(host), &port, 0), 0);
	ck_assert_uint_eq(port, 65535);

	/* Errors: missing port without default, bad ports, bad syntax. */
	port = 7;
	ck_assert_int_eq(hostport_split("mx.example.org", host, sizeof(host), &port, 0), -1);
	ck_assert_int_eq(hostport_split("h:0", host, sizeof(host), &port, 0), -1);
	ck_assert_int_eq(hostport_split("h:65536", host, sizeof(host), &port, 0), -1);
	ck_assert_int_eq(hostport_split("h:99999999999999999999", host, sizeof(host), &port, 0), -1);
	ck_assert_int_eq(hostport_split("h:25x", host, sizeof(host), &port, 0), -1);
	ck_assert_int_eq(hostport_split("h:-25", host, sizeof(host), &port, 0), -1);
	ck_assert_int_eq(hostport_split("h: 25", host, sizeof(host), &port, 0), -1);
	ck_assert_int_eq(hostport_split("h:", host, sizeof(host), &port, 25), -1);
	ck_assert_int_eq(hostport_split(":25", host, sizeof(host), &port, 0), -1);
	ck_assert_int_eq(hostport_split("", host, sizeof(host), &port, 25), -1);
	ck_assert_int_eq(hostport_split("[::1", host, sizeof(host), &port, 25), -1);
	ck_assert_int_eq(hostport_split("[::1]25", host, sizeof(host), &port, 25), -1);
	ck_assert_int_eq(hostport_split("[]:25", host, sizeof(host), &port, 0), -1);
	ck_assert_uint_eq(port, 7);
	/* Host too long for the buffer. */
	ck_assert_int_eq(hostport_split("abcdefgh:25", host, 8, &port, 0), -1);
	ck_assert_int_eq(hostport_split("abcdefg:25", host, 8, &port, 0), 0);
	ck_assert_str_eq(host, "abcdefg");
}
END_TEST

START_TEST(numeric_addresses)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct sockaddr_un sun;
	char buf[INET6_ADDRSTRLEN];

	ck_assert_int_eq(sa_from_numeric("192.0.2.1", 25, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 25);
	ck_assert_str_eq(sa_ntop((struct sockaddr *)&ss, buf, sizeof(buf)), "192.0.2.1");

	ck_assert_int_eq(sa_from_numeric("2001:DB8:0::1", 587, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 587);
	ck_assert_str_eq(sa_ntop((struct sockaddr *)&ss, buf, sizeof(buf)), "2001:db8::1");

	ck_assert_int_eq(sa_from_numeric("::ffff:198.51.100.9", 25, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_str_eq(sa_ntop((struct sockaddr *)&ss, buf, sizeof(buf)), "198.51.100.9");
	ck_assert_uint_lt(strlen(sa_ntop((struct sockaddr *)&ss, buf, 5)), 5);

	ck_assert_int_eq(sa_from_numeric("mx.example.org", 25, &ss, &len), -1);
	ck_assert_int_eq(sa_from_numeric("192.0.2.256", 25, &ss, &len), -1);
	ck_assert_int_eq(sa_from_numeric("", 25, &ss, &len), -1);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_str_eq(sa_ntop((struct sockaddr *)&sun, buf, sizeof(buf)), "unix");
}
END_TEST

START_TEST(domain_of_address)
{
	const char *a = "user@Example.ORG";

	ck_assert_ptr_eq(addr_domain(a), a + 5);
	ck_assert_str_eq(addr_domain("\"a@b\"@c.example"), "c.example");
	ck_assert_str_eq(addr_domain("postmaster"), "");
	ck_assert_str_eq(addr_domain(""), "");
	ck_assert_str_eq(addr_domain("x@"), "");
}
END_TEST

START_TEST(fd_helpers)
{
	int p[2];
	char buf[8];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fd_nonblock(p[0]), 0);
	ck_assert(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	ck_assert_int_eq(fd_cloexec(p[0], true), 0);
	ck_assert(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(fd_cloexec(p[0], false), 0);
	ck_assert(!(fcntl(p[0], F_GETFD) & FD_CLOEXEC));
	ck_assert_int_eq(write_all(p[1], "hello", 5), 0);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 5);
	ck_assert_mem_eq(buf, "hello", 5);
	close(p[0]);
	ck_assert_int_eq(write_all(-1, "x", 1), -1);
	ck_assert_int_eq(fd_nonblock(-1), -1);
	close(p[1]);
}
END_TEST

START_TEST(alloc_and_clocks)
{
	char *s;
	int *v;
	uint64_t a, b;

	ck_assert_int_eq(xasprintf(&s, "%s-%d", "id", 42), 5);
	ck_assert_str_eq(s, "id-42");
	free(s);
	v = xcalloc(4, sizeof(*v));
	ck_assert_int_eq(v[3], 0);
	v = xreallocarray(v, 1000, sizeof(*v));
	v[999] = 1;
	free(v);
	a = mono_ms();
	b = mono_ms();
	ck_assert_uint_ge(b, a);
	ck_assert_int_gt(wall_s(), 1700000000);
}
END_TEST

#ifndef __SANITIZE_ADDRESS__
START_TEST(alloc_overflow_aborts)
{
	int fd = open("/dev/null", O_WRONLY);

	/* An overflowing size is an exhaustion: log and exit(1). The exit
	 * status is what matters; keep the log line off the terminal. */
	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	(void)xreallocarray(NULL, SIZE_MAX / 2, 4);
}
END_TEST
#endif

static struct sockaddr_in6
key_sin6(const char *ip)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };

	ck_assert_int_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
	return a;
}

START_TEST(client_key_ipv6_by_64)
{
	struct sockaddr_in6 a = key_sin6("2001:db8:1:2::1"),
	    same64 = key_sin6("2001:db8:1:2:ffff:ffff:ffff:fffe"),
	    other64 = key_sin6("2001:db8:1:3::1"),
	    zero64 = key_sin6("::1"), lo2 = key_sin6("::2"),
	    mapped = key_sin6("::ffff:192.0.2.10");
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	uint8_t k1[16], k2[16];

	/* A /64 for IPv6, the whole address for v4 and v4-mapped. */
	ck_assert(sa_client_key((struct sockaddr *)&a, k1));
	ck_assert(sa_client_key((struct sockaddr *)&same64, k2));
	ck_assert_mem_eq(k1, k2, 16);
	ck_assert(sa_client_key((struct sockaddr *)&other64, k2));
	ck_assert(memcmp(k1, k2, 16) != 0);
	inet_pton(AF_INET, "192.0.2.10", &v4.sin_addr);
	ck_assert(sa_client_key((struct sockaddr *)&v4, k1));
	ck_assert(sa_client_key((struct sockaddr *)&mapped, k2));
	ck_assert_mem_eq(k1, k2, 16);
	inet_pton(AF_INET, "192.0.2.11", &v4.sin_addr);
	ck_assert(sa_client_key((struct sockaddr *)&v4, k2));
	ck_assert(memcmp(k1, k2, 16) != 0);
	/* ::1 and ::2 share the /64 of zeros, which is not 0.0.0.0. */
	ck_assert(sa_client_key((struct sockaddr *)&zero64, k1));
	ck_assert(sa_client_key((struct sockaddr *)&lo2, k2));
	ck_assert_mem_eq(k1, k2, 16);
	v4.sin_addr.s_addr = 0;
	ck_assert(sa_client_key((struct sockaddr *)&v4, k2));
	ck_assert(memcmp(k1, k2, 16) != 0);
	/* Other families are not counted. */
	ck_assert(!sa_client_key((struct sockaddr *)&un, k1));
}
END_TEST

static Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, hostport);
	tcase_add_test(tc, numeric_addresses);
	tcase_add_test(tc, domain_of_address);
	tcase_add_test(tc, fd_helpers);
	tcase_add_test(tc, alloc_and_clocks);
	tcase_add_test(tc, client_key_ipv6_by_64);
#ifndef __SANITIZE_ADDRESS__
	/* ASan reports an impossible allocation itself and aborts before
	 * xreallocarray can see the failure: only without it. */
	tcase_add_exit_test(tc, alloc_overflow_aborts, 1);
#endif
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(util_suite);
