/* SPDX-License-Identifier: ISC */
/* The master's answer to M_USER_LOOKUP (master/users.c): the login name
 * getpwuid_r(3) gives now, "" for a uid without entry and for a name
 * that is no plain login name, no answer for a failed lookup (a
 * temporary failure for the asker); and the request treated
 * as hostile: only smtpd and queued may ask, payloads decoded strictly,
 * at most USERS_QUEUE_MAX waiting and USERS_PER_TURN answered per turn
 * of the loop, nothing for an instance of the daemon that is gone. */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "fixture.h"
#include "localusers.h"
#include "log.h"
#include "../../master/master.h"
#include "util.h"
#include "wire.h"

struct master M;

/* ---- getpwuid_r, as the test wants it ---- */

static const char *fake_name;          /* NULL: no entry */
static int fake_err;
static size_t fake_need;               /* smaller buffers: ERANGE */

static int
fake_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
    struct passwd **res)
{
	*res = NULL;
	if (fake_err != 0)
		return fake_err;
	if (len < fake_need)
		return ERANGE;
	if (fake_name == NULL)
		return 0;
	memset(pw, 0, sizeof(*pw));
	strlcpy(buf, fake_name, len);
	pw->pw_name = buf;
	pw->pw_uid = uid;
	*res = pw;
	return 0;
}

static const char *
name_of(uint32_t uid)
{
	static char name[WIRE_LOGIN_MAX + 1];

	memset(name, 'x', sizeof(name));
	if (users_name(uid, name, sizeof(name)) == -1)
		return "(failed)";
	return name;
}

START_TEST(names_from_the_password_database)
{
	struct passwd *pw;
	uint32_t uid;

	log_init("test", 1, 0);
	ck_assert_str_eq(name_of(0), "root");
	pw = getpwuid(getuid());
	ck_assert_ptr_nonnull(pw);
	if (localusers_login_ok(pw->pw_name))
		ck_assert_str_eq(name_of(getuid()), pw->pw_name);
	/* A uid without entry. */
	for (uid = 3999999000u; getpwuid(uid) != NULL; uid++)
		;
	ck_assert_str_eq(name_of(uid), "");
}
END_TEST

START_TEST(names_that_are_no_login_names)
{
	static const char *const bad[] = { "bad name", "a@b", "-x", "x\n",
	    "r\xc3\xb6ot", "abcdefghijklmnopqrstuvwxyz0123456", "" };
	size_t i;

	log_init("test", 1, 0);
	users_getpwuid_r = fake_getpwuid_r;
	fake_name = "alice";
	ck_assert_str_eq(name_of(1000), "alice");
	for (i = 0; i < nitems(bad); i++) {
		fake_name = bad[i];
		ck_assert_msg(strcmp(name_of(1000), "") == 0, "%s", bad[i]);
	}
	/* No entry; a failed lookup. */
	fake_name = NULL;
	ck_assert_str_eq(name_of(1000), "");
	fake_name = "alice";
	fake_err = EIO;
	ck_assert_str_eq(name_of(1000), "(failed)");
	fake_err = 0;
	/* A big entry: the buffer grows, up to a bound. */
	fake_need = 100000;
	ck_assert_str_eq(name_of(1000), "alice");
	fake_need = 4 * 1024 * 1024;
	ck_assert_str_eq(name_of(1000), "");
}
END_TEST

/* ---- the requests ---- */

static struct channel *daemon_end;     /* the daemon's end */
/* Every channel a test made, freed at its end (LeakSanitizer). */
static struct channel *made[16];
static size_t nmade;

static struct channel *
remember_chan(struct channel *c)
{
	ck_assert_uint_lt(nmade, sizeof(made) / sizeof(made[0]));
	made[nmade++] = c;
	return c;
}

static void
channels_free(void)
{
	while (nmade > 0)
		chan_free(made[--nmade]);
}
static unsigned nanswers;
static struct wire_user_name answers[USERS_QUEUE_MAX + 8];

static void
daemon_msg(struct channel *c, struct chan_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	ck_assert_uint_eq(m->type, M_USER_NAME);
	ck_assert_uint_lt(nanswers, nitems(answers));
	ck_assert_int_eq(wire_user_name_decode(m, &answers[nanswers]), 0);
	nanswers++;
}

static void
stop_turn(void *arg)
{
	(void)arg;
	ev_break();
}

/* One turn of the loop. */
static void
turn(void)
{
	ev_defer(stop_turn, NULL);
	ev_run();
}

static void
run_for(unsigned ms)
{
	uint64_t dl = mono_ms() + ms;

	while (mono_ms() < dl)
		turn();
}

static void
settle(void)
{
	run_for(30);
}

/* proc, running as pid, with a channel to daemon_end. */
static struct proc *
proc_up(enum proc_id id, pid_t pid)
{
	struct proc *p = &M.procs[id];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p->id = id;
	p->pid = pid;
	p->chan = remember_chan(chan_new(sv[0], "master>daemon", NULL, NULL,
	    p));
	daemon_end = remember_chan(chan_new(sv[1], "daemon", daemon_msg, NULL,
	    NULL));
	settle();
	return p;
}

static void
request(struct proc *p, uint64_t cookie, uint32_t uid)
{
	struct wire_user_lookup w = { cookie, uid };
	struct msgbuf mb;
	struct chan_msg m = { .type = M_USER_LOOKUP, .fd = -1 };

	mb_init(&mb);
	ck_assert_int_eq(wire_user_lookup_encode(&mb, &w), 0);
	m.data = mb.data;
	m.len = mb.len;
	users_request(p, &m);
	mb_free(&mb);
}

static void
setup(void)
{
	ev_init();
	log_init("test", 1, 0);
	users_getpwuid_r = fake_getpwuid_r;
	fake_name = "user";
}

START_TEST(answers_echo_cookie_and_uid)
{
	struct proc *p;

	setup();
	p = proc_up(PROC_SMTPD, 100);
	request(p, 7, 1000);
	fake_name = "alice";
	settle();
	ck_assert_uint_eq(nanswers, 1);
	ck_assert(answers[0].cookie == 7);
	ck_assert_uint_eq(answers[0].uid, 1000);
	ck_assert_str_eq(answers[0].name, "alice");
	/* queued may ask too. */
	p = proc_up(PROC_QUEUED, 101);
	fake_name = NULL;
	request(p, UINT64_MAX, 4242);
	settle();
	ck_assert_uint_eq(nanswers, 2);
	ck_assert(answers[1].cookie == UINT64_MAX);
	ck_assert_uint_eq(answers[1].uid, 4242);
	ck_assert_str_eq(answers[1].name, "");
	/* A failed lookup: no answer at all. */
	fake_err = EIO;
	request(p, 8, 1000);
	settle();
	ck_assert_uint_eq(nanswers, 2);
}
END_TEST

START_TEST(hostile_requests_get_nothing)
{
	static const uint8_t junk[16] = { 1, 2, 3 };
	struct chan_msg m = { .type = M_USER_LOOKUP, .fd = -1, .data = junk };
	struct proc *p;
	size_t len;

	setup();
	p = proc_up(PROC_SMTPD, 100);
	/* Every length but the right one (12). */
	for (len = 0; len <= sizeof(junk); len++) {
		if (len == 12)
			continue;
		m.len = len;
		users_request(p, &m);
	}
	settle();
	ck_assert_uint_eq(nanswers, 0);
	/* Daemons that have no business asking. */
	p = proc_up(PROC_CTLD, 102);
	request(p, 1, 0);
	p = proc_up(PROC_DELIVERD, 103);
	request(p, 1, 0);
	settle();
	ck_assert_uint_eq(nanswers, 0);
}
END_TEST

START_TEST(work_is_bounded)
{
	struct proc *p;
	unsigned i, before;
	uint64_t dl;

	setup();
	p = proc_up(PROC_SMTPD, 100);
	for (i = 0; i < USERS_QUEUE_MAX + 50; i++)
		request(p, i, 1000 + i);
	/* At most USERS_PER_TURN a turn of the master's: counted by the
	 * turns it ran, not by this loop's passes (a loaded machine may
	 * run two of its 1 ms turns before the answers are read here). */
	before = (unsigned)users_turns();
	turn();
	turn();
	ck_assert_uint_le(nanswers, USERS_PER_TURN * (users_turns() - before));
	dl = mono_ms() + 5000;
	while (nanswers < USERS_QUEUE_MAX && mono_ms() < dl) {
		turn();
		ck_assert_uint_le(nanswers,
		    USERS_PER_TURN * (users_turns() - before));
	}
	run_for(100);
	/* The queue's worth, in order; the rest dropped. */
	ck_assert_uint_eq(nanswers, USERS_QUEUE_MAX);
	for (i = 0; i < nanswers; i++) {
		ck_assert(answers[i].cookie == i);
		ck_assert_uint_eq(answers[i].uid, 1000 + i);
	}
	/* And room again afterwards. */
	request(p, 9999, 1);
	settle();
	ck_assert_uint_eq(nanswers, USERS_QUEUE_MAX + 1);
}
END_TEST

/* smtpd restarted: the new one's session ids start again at 1, and
 * must not get answers the old one asked for. */
START_TEST(nothing_for_a_gone_instance)
{
	struct proc *p;

	setup();
	p = proc_up(PROC_SMTPD, 100);
	request(p, 1, 1000);
	request(p, 2, 1001);
	p->pid = 200;
	settle();
	ck_assert_uint_eq(nanswers, 0);
	request(p, 3, 1002);
	users_forget(p);
	settle();
	ck_assert_uint_eq(nanswers, 0);
	request(p, 4, 1003);
	settle();
	ck_assert_uint_eq(nanswers, 1);
	ck_assert(answers[0].cookie == 4);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("master_users");
	TCase *tc = tcase_create("users");

	tcase_add_checked_fixture(tc, NULL, channels_free);
	tcase_add_test(tc, names_from_the_password_database);
	tcase_add_test(tc, names_that_are_no_login_names);
	tcase_add_test(tc, answers_echo_cookie_and_uid);
	tcase_add_test(tc, hostile_requests_get_nothing);
	tcase_add_test(tc, work_is_bounded);
	tcase_add_test(tc, nothing_for_a_gone_instance);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
