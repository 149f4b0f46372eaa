/* SPDX-License-Identifier: ISC */
/* The readiness protocol (lib/sdnotify.c): a datagram socket bound here
 * plays the service manager; $NOTIFY_SOCKET names it as a path or as an
 * abstract ('@') name, and what arrives is exactly what was sent. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture.h"
#include "sdnotify.h"

/* A bound, non-blocking datagram socket; its name as $NOTIFY_SOCKET
 * spells it is written to env. */
static int
manager(bool abstract, char *env, size_t envlen)
{
	struct sockaddr_un sun;
	socklen_t alen;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (abstract) {
		snprintf(env, envlen, "@empath-sdnotify-%ld", (long)getpid());
		memcpy(sun.sun_path + 1, env + 1, strlen(env) - 1);
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    strlen(env));
	} else {
		snprintf(env, envlen, "%s/notify", fx_tmpdir("sdnotify"));
		ck_assert_uint_lt(strlen(env), sizeof(sun.sun_path));
		memcpy(sun.sun_path, env, strlen(env));
		alen = sizeof(sun);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, alen), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", env, 1), 0);
	return fd;
}

/* The next datagram, NUL-terminated, or "" when none is waiting. */
static void
received(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, 0);

	if (n < 0) {
		ck_assert_int_eq(errno, EAGAIN);
		n = 0;
	}
	buf[n] = '\0';
}

START_TEST(path_socket)
{
	char env[256], buf[256];
	int fd = manager(false, env, sizeof(env));

	ck_assert_int_eq(sdnotify("READY=1"), 1);
	received(fd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "READY=1");
	ck_assert_int_eq(sdnotify("STOPPING=1"), 1);
	received(fd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "STOPPING=1");
	close(fd);
}
END_TEST

START_TEST(abstract_socket)
{
	char env[256], buf[256];
	int fd = manager(true, env, sizeof(env));

	ck_assert_int_eq(sdnotify("READY=1\nSTATUS=up"), 1);
	received(fd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "READY=1\nSTATUS=up");
	close(fd);
}
END_TEST

START_TEST(unset_sends_nothing)
{
	char env[256], buf[256];
	int fd = manager(false, env, sizeof(env));

	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(sdnotify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	ck_assert_int_eq(sdnotify("READY=1"), 0);
	received(fd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	close(fd);
}
END_TEST

START_TEST(bad_names_refused)
{
	struct sockaddr_un sun;
	char big[sizeof(sun.sun_path) + 8];

	/* One byte too long for sun_path with its NUL. */
	big[0] = '/';
	memset(big + 1, 'a', sizeof(sun.sun_path) - 1);
	big[sizeof(sun.sun_path)] = '\0';
	setenv("NOTIFY_SOCKET", big, 1);
	errno = 0;
	ck_assert_int_eq(sdnotify("READY=1"), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	/* An abstract name may use all of sun_path after its NUL, no more. */
	big[0] = '@';
	memset(big + 1, 'a', sizeof(sun.sun_path));
	big[sizeof(sun.sun_path) + 1] = '\0';
	setenv("NOTIFY_SOCKET", big, 1);
	ck_assert_int_eq(sdnotify("READY=1"), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	ck_assert_int_eq(sdnotify("READY=1"), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	/* A well-formed name nobody listens on: the send fails. */
	setenv("NOTIFY_SOCKET", "/nonexistent/empath-notify", 1);
	ck_assert_int_eq(sdnotify("READY=1"), -1);
}
END_TEST

START_TEST(ready_once_when_all_parts_are)
{
	char env[256], buf[256];
	int fd = manager(false, env, sizeof(env));

	ck_assert_int_eq(sdnotify_part_ready(0, 4), 0);
	ck_assert_int_eq(sdnotify_part_ready(2, 4), 0);
	ck_assert_int_eq(sdnotify_part_ready(2, 4), 0);
	ck_assert_int_eq(sdnotify_part_ready(4, 4), 0);    /* out of range */
	ck_assert_int_eq(sdnotify_part_ready(3, 4), 0);
	received(fd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(sdnotify_part_ready(1, 4), 1);
	received(fd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "READY=1");
	/* A daemon restarted later is ready again: nothing more is sent. */
	ck_assert_int_eq(sdnotify_part_ready(1, 4), 0);
	received(fd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	close(fd);
}
END_TEST

static Suite *
sdnotify_suite(void)
{
	Suite *s = suite_create("sdnotify");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, path_socket);
	tcase_add_test(tc, abstract_socket);
	tcase_add_test(tc, unset_sends_nothing);
	tcase_add_test(tc, bad_names_refused);
	tcase_add_test(tc, ready_once_when_all_parts_are);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(sdnotify_suite);
