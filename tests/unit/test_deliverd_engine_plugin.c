/* SPDX-License-Identifier: ISC */
/* deliverd's plugin events, with the engine fixture (deliverd_engine.h)
 * and the test plugin tests/plugins/deliverd_events.c, which appends a
 * line per event to a file: the DNS lookup of the job's domain, the
 * attempt, the success and the failures, each with the metadata smtpd's
 * plugins set (env.meta) and the remote server's reply. A plugin that
 * cannot be loaded stops deliverd at start-up. */
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliverd_engine.h"
#include "fixture.h"
#include "ulid.h"

#define TEXT "From: alice@sender.test\r\nTo: bob@dest.test\r\n" \
	"Subject: events\r\n\r\nHello.\r\n"
#define META "score=7\nsource=smtpd\n"

static const char *const to_one[] = { "bob@dest.test", NULL };
static const char *const to_three[] = { "bob@dest.test", "carol@dest.test",
	"dave@dest.test", NULL };

static char events_path[512];

static void
setup(void)
{
	char extra[2048];

	snprintf(events_path, sizeof(events_path), "%s/events",
	    fx_tmpdir("plugin"));
	snprintf(extra, sizeof(extra), "plugin-dir \"%s\"\n"
	    "plugin \"deliverd_events\" { args \"%s\" \"score\" }\n",
	    TEST_PLUGIN_DIR, events_path);
	de_setup_with(extra);
	de_dns_add("dest.test. 300 IN MX 10 mx.dest.test.");
	de_dns_add("mx.dest.test. 300 IN A 127.0.0.1");
}

/* The event file so far (static buffer). */
static const char *
events(void)
{
	static char buf[65536];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = open(events_path, O_RDONLY | O_CLOEXEC)) == -1)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* The nth (from 0) line of event ev that holds needle (NULL: any), as a
 * string of its own (valid for the next 7 calls); NULL when there is
 * none. */
static const char *
event_line(const char *ev, const char *needle, unsigned nth)
{
	static char lines[8][4096];
	static unsigned next;
	char *line = lines[next++ % 8];
	const char *p = events(), *nl;
	size_t len, evlen = strlen(ev);

	for (; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		len = (size_t)(nl - p);
		if (len >= sizeof(lines[0]) || len <= evlen ||
		    strncmp(p, ev, evlen) != 0 || p[evlen] != ' ')
			continue;
		memcpy(line, p, len);
		line[len] = '\0';
		if (needle != NULL && strstr(line, needle) == NULL)
			continue;
		if (nth-- == 0)
			return line;
	}
	return NULL;
}

static unsigned
event_count(const char *ev)
{
	unsigned n = 0;

	while (event_line(ev, NULL, n) != NULL)
		n++;
	return n;
}

/* Where line sits in the file: events come in the order they happened. */
static size_t
event_pos(const char *line)
{
	const char *all = events(), *at;

	ck_assert_ptr_nonnull(line);
	at = strstr(all, line);
	ck_assert_ptr_nonnull(at);
	return (size_t)(at - all);
}

static void
expect(const char *line, const char *what)
{
	ck_assert_msg(line != NULL && strstr(line, what) != NULL,
	    "'%s' not in '%s'\nevents:\n%s", what, line ? line : "(none)",
	    events());
}

static uint32_t
job(const char *id, const char *const *rcpts, uint32_t attempts,
    uint32_t want_state)
{
	const struct de_job_extra x = { .id = id, .meta = META,
		.attempts = attempts };
	struct de_result res;
	uint32_t j, i;

	j = de_job_with("alice@sender.test", rcpts, TEXT, NULL, &x);
	de_result(j, &res, FX_WAIT_MS);
	for (i = 0; want_state != 0 && i < res.r.n; i++)
		ck_assert_msg((res.r.r[i].state & ~RCPT_DSN_PASSED) == want_state,
		    "recipient %u: state %u (%s)", i, res.r.r[i].state,
		    res.r.r[i].diag);
	de_result_free(&res);
	return j;
}

/* Greylisted, then delivered on the next job of the same message: the
 * events of both see the metadata from env.meta, the failure the
 * server's reply, the success the next attempt number. */
START_TEST(greylisted_then_delivered_same_metadata)
{
	struct de_sink_script grey = { .rcpt = {
		{ "bob@dest.test", "451 4.7.1 greylisted, try later" } } };
	struct de_sink_script open = { .rcpt_max = 0 };
	char id[ULID_LEN + 1], want[256];
	const char *dns, *att, *fail, *ok;

	ulid_new(id);
	de_sink_script(&grey);
	job(id, to_one, 0, RCPT_DEFERRED);
	dns = event_line("dns", NULL, 0);
	snprintf(want, sizeof(want), "dns %s dest.test - 0 meta:score=7 "
	    "attempt=1 rcpts=bob@dest.test address=- tls=- "
	    "reply=MX mx.dest.test(10) [127.0.0.1]", id);
	ck_assert_msg(dns != NULL && strcmp(dns, want) == 0, "%s", events());
	att = event_line("attempt", NULL, 0);
	snprintf(want, sizeof(want), "attempt %s dest.test mx.dest.test 250 "
	    "meta:score=7 attempt=1 rcpts=bob@dest.test address=127.0.0.1", id);
	expect(att, want);
	fail = event_line("failure", NULL, 0);
	snprintf(want, sizeof(want), "failure %s dest.test mx.dest.test 451 "
	    "meta:score=7 attempt=1 rcpts=bob@dest.test address=127.0.0.1 "
	    "tls=- reply=4.7.1 greylisted, try later", id);
	ck_assert_msg(fail != NULL && strcmp(fail, want) == 0, "%s", events());
	ck_assert_uint_lt(event_pos(dns), event_pos(att));
	ck_assert_uint_lt(event_pos(att), event_pos(fail));
	ck_assert_uint_eq(event_count("success"), 0);

	/* queued counted one attempt; the same message comes again. */
	de_sink_script(&open);
	job(id, to_one, 1, RCPT_DELIVERED);
	ok = event_line("success", NULL, 0);
	snprintf(want, sizeof(want), "success %s dest.test mx.dest.test 250 "
	    "meta:score=7 attempt=2 rcpts=bob@dest.test address=127.0.0.1 "
	    "tls=- reply=2.0.0 message accepted", id);
	ck_assert_msg(ok != NULL && strcmp(ok, want) == 0, "%s", events());
	ck_assert_uint_eq(event_count("failure"), 1);
	ck_assert_uint_eq(event_count("attempt"), 2);
}
END_TEST

/* Each failure with its own reply, its own recipients; the accepted one
 * in the one success event of the transaction. */
START_TEST(failures_carry_the_remote_reply)
{
	struct de_sink_script s = { .rcpt = {
		{ "bob@dest.test", "550 5.1.1 no such user" },
		{ "carol@dest.test", "452 4.2.2 mailbox full" } } };

	de_sink_script(&s);
	job(NULL, to_three, 0, 0);
	expect(event_line("failure", "rcpts=bob@dest.test ", 0),
	    " 550 meta:score=7 ");
	expect(event_line("failure", "rcpts=bob@dest.test ", 0),
	    "reply=5.1.1 no such user");
	expect(event_line("failure", "rcpts=carol@dest.test ", 0),
	    " 452 meta:score=7 ");
	expect(event_line("failure", "rcpts=carol@dest.test ", 0),
	    "reply=4.2.2 mailbox full");
	ck_assert_uint_eq(event_count("failure"), 2);
	expect(event_line("success", NULL, 0), "rcpts=dave@dest.test ");
	ck_assert_uint_eq(event_count("success"), 1);
	/* The attempt named all three. */
	expect(event_line("attempt", NULL, 0),
	    "rcpts=bob@dest.test,carol@dest.test,dave@dest.test ");
}
END_TEST

/* Recipients the server had no room for go in a second transaction:
 * one success event per transaction. */
START_TEST(one_success_per_transaction)
{
	struct de_sink_script s = { .rcpt_max = 2 };

	de_sink_script(&s);
	job(NULL, to_three, 0, RCPT_DELIVERED);
	ck_assert_uint_eq(event_count("attempt"), 2);
	ck_assert_uint_eq(event_count("success"), 2);
	expect(event_line("success", NULL, 0), "rcpts=bob@dest.test,"
	    "carol@dest.test ");
	expect(event_line("success", NULL, 1), "rcpts=dave@dest.test ");
	ck_assert_uint_eq(event_count("failure"), 0);
}
END_TEST

/* A domain that does not exist: the lookup's error in the DNS event,
 * a permanent failure (deliverd's own verdict: 554) and no attempt. */
START_TEST(dns_error_then_failure)
{
	const char *const to[] = { "erin@nowhere.test", NULL };

	job(NULL, to, 0, RCPT_FAILED);
	expect(event_line("dns", NULL, 0), " nowhere.test - 0 meta:score=7 ");
	expect(event_line("dns", NULL, 0), "reply=5.1.2 domain nowhere.test "
	    "does not exist (NXDOMAIN)");
	expect(event_line("failure", NULL, 0), " nowhere.test - 554 ");
	expect(event_line("failure", NULL, 0), "reply=5.1.2 domain");
	ck_assert_uint_eq(event_count("attempt"), 0);
}
END_TEST

/* No server answered: deferred by deliverd itself, 451, with the host
 * it tried. */
START_TEST(connection_refused_is_a_deferral)
{
	const char *const to[] = { "erin@refuse.test", NULL };

	de_dns_add("refuse.test. 300 IN MX 10 mx1.refuse.test.");
	de_dns_add("mx1.refuse.test. 300 IN A 127.0.0.2");
	job(NULL, to, 3, RCPT_DEFERRED);
	expect(event_line("dns", NULL, 0),
	    "reply=MX mx1.refuse.test(10) [127.0.0.2]");
	expect(event_line("failure", NULL, 0), " refuse.test mx1.refuse.test "
	    "451 meta:score=7 attempt=4 rcpts=erin@refuse.test "
	    "address=127.0.0.2 tls=- reply=4.4.1 connection refused");
	ck_assert_uint_eq(event_count("attempt"), 0);
}
END_TEST

/* ---- loading ---- */

/* A plugin whose init fails: deliverd does not start, and says which
 * statement of the configuration it was. */
START_TEST(init_failure_stops_deliverd)
{
	char extra[1024], errpath[512], buf[4096];
	const char *dir = fx_tmpdir("plugin");
	ssize_t n;
	pid_t pid;
	int st, fd;

	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	/* Its file cannot be opened: init returns -1. */
	snprintf(extra, sizeof(extra), "plugin-dir \"%s\"\n"
	    "plugin \"deliverd_events\" { args \"%s/no/such/dir/events\" }\n",
	    TEST_PLUGIN_DIR, dir);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd == -1 || dup2(fd, 2) == -1)
			_exit(99);
		de_setup_with(extra);
		_exit(0);             /* started: wrong */
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
	fd = open(errpath, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ne(fd, -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	/* The fixture's configuration has four lines before these. */
	ck_assert_msg(strstr(buf, "config:6: plugin \"deliverd_events\"") !=
	    NULL, "%s", buf);
}
END_TEST

/* A plugin of smtpd's points only is not deliverd's: never initialised
 * there (its init would write to the trace file). */
START_TEST(other_daemons_plugins_are_not_loaded)
{
	char extra[1024], trace[512];
	struct de_result res;
	uint32_t j;

	snprintf(trace, sizeof(trace), "%s/trace", fx_tmpdir("plugin"));
	snprintf(extra, sizeof(extra), "plugin-dir \"%s\"\n"
	    "plugin \"good\" { args \"%s\" }\n", TEST_PLUGIN_DIR, trace);
	de_setup_with(extra);
	de_dns_add("dest.test. 300 IN MX 10 mx.dest.test.");
	de_dns_add("mx.dest.test. 300 IN A 127.0.0.1");
	j = de_job("alice@sender.test", to_one, TEXT, NULL);
	de_result(j, &res, FX_WAIT_MS);
	ck_assert_uint_eq(res.r.r[0].state & ~RCPT_DSN_PASSED, RCPT_DELIVERED);
	de_result_free(&res);
	ck_assert_int_eq(access(trace, F_OK), -1);
	de_teardown();
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("deliverd_engine_plugin");
	TCase *tc = tcase_create("events");
	TCase *tl = tcase_create("loading");

	tcase_add_checked_fixture(tc, setup, de_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, greylisted_then_delivered_same_metadata);
	tcase_add_test(tc, failures_carry_the_remote_reply);
	tcase_add_test(tc, one_success_per_transaction);
	tcase_add_test(tc, dns_error_then_failure);
	tcase_add_test(tc, connection_refused_is_a_deferral);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tl, 30);
	tcase_add_test(tl, init_failure_stops_deliverd);
	tcase_add_test(tl, other_daemons_plugins_are_not_loaded);
	suite_add_tcase(s, tl);
	return s;
}

TEST_SUITES(suite);
