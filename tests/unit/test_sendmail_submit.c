/* SPDX-License-Identifier: ISC */
/* The SMTP client of empath-sendmail (sendmail/submit.c) against a
 * scripted server on a socket pair: what it sends (extensions only when
 * offered, DATA in CRLF with dots doubled) and how each reply decides the
 * outcome: refused recipients, the sender refused (553 5.7.1), anything
 * temporary, a timeout or a lost connection a temporary failure (never a
 * drop file); connecting without blocking, with a deadline. */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "sendmail.h"
#include "util.h"

/* What the server answers; NULL closes the connection instead. The
 * greeting may come one octet every trickle_ms; the replies to RCPT and
 * to the end of data after a pause. */
struct script {
	const char *greet, *ehlo, *helo, *mail, *rcpt[4], *data, *end;
	unsigned trickle_ms, rcpt_pause_ms, end_pause_ms;
};

static const struct script all_ok = {
	"220 local ESMTP\r\n",
	"250-local\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n"
	"250-SMTPUTF8\r\n250 DSN\r\n",
	"250 local\r\n", "250 2.1.0 Ok\r\n",
	{ "250 2.1.5 Ok\r\n", "250 2.1.5 Ok\r\n", "250 2.1.5 Ok\r\n",
	  "250 2.1.5 Ok\r\n" },
	"354 go ahead\r\n", "250 2.0.0 Ok: queued as X\r\n", 0, 0, 0,
};

/* The reply of a script, for all_ok_but(). */
enum step { GREET, EHLO, MAIL, RCPT0, RCPT1, DATA, END };

/* all_ok but for the reply at step (NULL: the connection closed). */
static struct script
all_ok_but(enum step at, const char *reply)
{
	struct script sc = all_ok;

	switch (at) {
	case GREET: sc.greet = reply; break;
	case EHLO: sc.ehlo = reply; break;
	case MAIL: sc.mail = reply; break;
	case RCPT0: sc.rcpt[0] = reply; break;
	case RCPT1: sc.rcpt[1] = reply; break;
	case DATA: sc.data = reply; break;
	case END: sc.end = reply; break;
	}
	return sc;
}

/* One line from fd (without CRLF) into buf; false at EOF. */
static bool
srv_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	char c;

	while (read(fd, &c, 1) == 1) {
		if (c == '\n') {
			if (n > 0 && buf[n - 1] == '\r')
				n--;
			buf[n] = '\0';
			return true;
		}
		if (n + 1 < len)
			buf[n++] = c;
	}
	return false;
}

/* The server: answers from sc, writes every byte it got to logfd. */
static void __attribute__((noreturn))
serve(int fd, const struct script *sc, int logfd)
{
	char line[4096];
	int rcpt = 0;

#define SAY(r) do { if ((r) == NULL) _exit(0); \
	if (write(fd, (r), strlen(r)) < 0) _exit(1); } while (0)
	if (sc->trickle_ms > 0 && sc->greet != NULL) {
		for (const char *p = sc->greet; *p != '\0'; p++) {
			usleep(sc->trickle_ms * 1000);
			if (write(fd, p, 1) < 0)
				_exit(1);
		}
	} else
		SAY(sc->greet);
	while (srv_line(fd, line, sizeof(line))) {
		dprintf(logfd, "%s\n", line);
		if (strncmp(line, "EHLO", 4) == 0)
			SAY(sc->ehlo);
		else if (strncmp(line, "HELO", 4) == 0)
			SAY(sc->helo);
		else if (strncmp(line, "MAIL", 4) == 0)
			SAY(sc->mail);
		else if (strncmp(line, "RCPT", 4) == 0) {
			const char *r = sc->rcpt[rcpt & 3];

			rcpt++;
			usleep(sc->rcpt_pause_ms * 1000);
			SAY(r);
		}
		else if (strcmp(line, "DATA") == 0) {
			SAY(sc->data);
			if (strncmp(sc->data, "354", 3) != 0)
				continue;
			while (srv_line(fd, line, sizeof(line))) {
				dprintf(logfd, "%s\n", line);
				if (strcmp(line, ".") == 0)
					break;
			}
			usleep(sc->end_pause_ms * 1000);
			SAY(sc->end);
		} else if (strcmp(line, "QUIT") == 0) {
			SAY("221 bye\r\n");
			_exit(0);
		} else
			SAY("500 what\r\n");
	}
	_exit(0);
#undef SAY
}

static char *transcript;
/* The timeouts of the next run(). */
static unsigned reply_ms = 10000, data_ms = 10000;

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Submit msg from sender to rcpts against sc; the server's transcript
 * is left in `transcript`. */
static void
run(const struct script *sc, const char *sender, char **rcpts, size_t n,
    const char *msg, const char *notify, const char *ret,
    struct sm_result *r)
{
	struct sm_submit s = {
		.sender = sender, .rcpts = rcpts, .nrcpts = n,
		.msg = msg, .len = strlen(msg),
		.notify = notify, .ret = ret, .timeout_ms = reply_ms,
		.data_timeout_ms = data_ms,
	};
	int sv[2], logfd = fx_memfile("", 0), status;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		serve(sv[1], sc, logfd);
	}
	close(sv[1]);
	fx_stderr_capture();
	sm_submit_fd(sv[0], &s, r);
	fx_stderr_captured();
	close(sv[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	free(transcript);
	if (lseek(logfd, 0, SEEK_END) == 0)
		transcript = strdup("");
	else
		transcript = fx_fd_text(logfd, NULL);
	close(logfd);
}

/* The result of the last submit_x(); its refused array is freed by the
 * next one. */
static struct sm_result res;
static char *xrcpts[] = { "a@x", "b@x", "c@x" };

/* Submit "x\n" from sender to the first n of xrcpts against sc, with no
 * NOTIFY or RET; the outcome must be want (what: the case, for the
 * message), and sm_exit_code() exit unless exit < 0. */
static void
submit_x(const struct script *sc, const char *sender, size_t n,
    enum sm_outcome want, int exit, const char *what)
{
	free(res.refused);
	res.refused = NULL;
	run(sc, sender, xrcpts, n, "x\n", "", "", &res);
	ck_assert_msg(res.outcome == want, "%s: outcome %d, not %d", what,
	    res.outcome, want);
	if (exit >= 0)
		ck_assert_msg(sm_exit_code(&res) == exit, "%s: exit %d, not %d",
		    what, sm_exit_code(&res), exit);
}

/* r.reply holds s (what: the case, for the message). */
static void
reply_has(const char *s, const char *what)
{
	ck_assert_msg(strstr(res.reply, s) != NULL, "%s: reply %s", what,
	    res.reply);
}

START_TEST(all_accepted)
{
	char *rcpts[] = { "a@x.example", "b@y.example" };
	struct sm_result r;

	run(&all_ok, "s@h.example", rcpts, 2,
	    "Subject: \xc3\xa9\n\n.dot\n..two\nend", "SUCCESS,DELAY", "HDRS", &r);
	ck_assert_int_eq(r.outcome, SM_SENT);
	ck_assert_uint_eq(r.nrefused, 0);
	ck_assert_int_eq(sm_exit_code(&r), EX_OK);
	fx_assert_matches(transcript, "^EHLO localhost\n"
	    "MAIL FROM:<s@h\\.example> BODY=8BITMIME RET=HDRS SIZE=[0-9]+\n"
	    "RCPT TO:<a@x\\.example> NOTIFY=SUCCESS,DELAY\n"
	    "RCPT TO:<b@y\\.example> NOTIFY=SUCCESS,DELAY\n"
	    "DATA\n"
	    "Subject: \xc3\xa9\n\n\\.\\.dot\n\\.\\.\\.two\nend\n\\.\n"
	    "QUIT\n$");
	free(r.refused);
}
END_TEST

START_TEST(no_extensions_no_parameters)
{
	struct script sc = all_ok;
	char *rcpts[] = { "a@x.example" };
	struct sm_result r;

	sc.ehlo = "250 local\r\n";
	run(&sc, "", rcpts, 1, "\xff\n", "NEVER", "FULL", &r);
	ck_assert_int_eq(r.outcome, SM_SENT);
	fx_assert_matches(transcript, "\nMAIL FROM:<>\nRCPT TO:<a@x\\.example>\n");
	free(r.refused);
	/* EHLO refused: HELO, and no extension either. */
	sc.ehlo = "502 no\r\n";
	submit_x(&sc, "s@h", 1, SM_SENT, -1, "EHLO refused");
	fx_assert_matches(transcript, "^EHLO localhost\nHELO localhost\n"
	    "MAIL FROM:<s@h>\n");
}
END_TEST

START_TEST(utf8_address)
{
	char *rcpts[] = { "j\xc3\xb6rg@x.example" };
	struct sm_result r;

	run(&all_ok, "s@h", rcpts, 1, "x\n", "", "", &r);
	ck_assert_int_eq(r.outcome, SM_SENT);
	fx_assert_matches(transcript, "\nMAIL FROM:<s@h> SMTPUTF8 SIZE=");
	free(r.refused);
}
END_TEST

START_TEST(some_recipients_refused)
{
	struct script sc = all_ok;

	sc.rcpt[1] = "550 5.1.1 <b@x>: no such user\r\n";
	submit_x(&sc, "s@h", 3, SM_SENT, EX_NOUSER, "one of three");
	ck_assert_uint_eq(res.nrefused, 1);
	ck_assert(!res.refused[0] && res.refused[1] && !res.refused[2]);
	fx_assert_matches(transcript, "\nDATA\n");
}
END_TEST

START_TEST(every_recipient_refused)
{
	struct script sc = all_ok;

	sc.rcpt[0] = sc.rcpt[1] = "550 5.1.1 no\r\n";
	submit_x(&sc, "s@h", 2, SM_REFUSED_RCPTS, EX_NOUSER, "both");
	ck_assert_uint_eq(res.nrefused, 2);
	ck_assert_ptr_null(strstr(transcript, "DATA"));
}
END_TEST

START_TEST(sender_refused)
{
	struct script sc = all_ok;

	sc.mail = "553 5.7.1 <root@h>: sender address not owned by user joe\r\n";
	submit_x(&sc, "root@h", 1, SM_REFUSED_SENDER, EX_NOPERM, "not owned");
	reply_has("not owned", "not owned");
	ck_assert_ptr_null(strstr(transcript, "RCPT"));
	/* Another 553 is not about ownership. */
	sc.mail = "553 5.1.7 bad address\r\n";
	submit_x(&sc, "x@h", 1, SM_REFUSED_OTHER, EX_UNAVAILABLE, "553 5.1.7");
	sc.mail = "552 5.3.4 too big\r\n";
	submit_x(&sc, "x@h", 1, SM_REFUSED_DATA, -1, "552");
}
END_TEST

START_TEST(message_refused)
{
	struct script sc = all_ok;

	sc.end = "554 5.7.1 content refused\r\n";
	submit_x(&sc, "s@h", 1, SM_REFUSED_DATA, EX_DATAERR, "554");
}
END_TEST

/* A script all_ok but for the reply at one step, to which the client
 * must give up for now (SM_DEFERRED, EX_TEMPFAIL): the reply it gives
 * then starts with first unless that is 0, and holds says and also
 * unless they are NULL. */
struct deferred_case {
	enum step at;
	const char *reply;
	char first;
	const char *says, *also;
};

static void
deferred(const struct deferred_case *t, size_t n, size_t nrcpts)
{
	struct script sc;
	char what[32];              /* "case " and any size_t */
	size_t i;

	for (i = 0; i < n; i++) {
		sc = all_ok_but(t[i].at, t[i].reply);
		snprintf(what, sizeof(what), "case %zu", i);
		submit_x(&sc, "s@h", nrcpts, SM_DEFERRED, EX_TEMPFAIL, what);
		if (t[i].first != 0)
			ck_assert_msg(res.reply[0] == t[i].first,
			    "%s: reply %s", what, res.reply);
		if (t[i].says != NULL)
			reply_has(t[i].says, what);
		if (t[i].also != NULL)
			reply_has(t[i].also, what);
	}
}

/* The caller tries again (mail(1) keeps dead.letter, cron reports it):
 * a temporary refusal is no way around smtpd into the drop directory. */
START_TEST(temporary_means_deferred)
{
	static const struct deferred_case t[] = {
		{ GREET, "421 4.3.2 shutting down\r\n", '4', NULL, NULL },
		{ MAIL, "451 4.7.1 unknown local user uid 1000\r\n", '4', NULL,
		  NULL },
		{ RCPT1, "450 4.2.1 try later\r\n", '4', NULL, NULL },
		{ DATA, "451 4.3.0 later\r\n", '4', NULL, NULL },
		{ END, "452 4.3.1 full\r\n", '4', NULL, NULL },
		{ EHLO, "421 4.3.2 bye\r\n", '4', NULL, NULL },
	};
	struct script sc = all_ok;

	deferred(t, nitems(t), 2);
	/* A 4xx after a 5xx recipient: deferred, that one still refused,
	 * and no data sent to the other. */
	sc.rcpt[0] = "550 5.1.1 no\r\n";
	sc.rcpt[1] = "451 4.3.0 later\r\n";
	submit_x(&sc, "s@h", 2, SM_DEFERRED, EX_TEMPFAIL, "5xx then 4xx");
	ck_assert(res.refused[0] && !res.refused[1]);
	ck_assert_ptr_null(strstr(transcript, "DATA"));
}
END_TEST

START_TEST(lost_connection_means_deferred)
{
	static const struct deferred_case t[] = {
		{ GREET, NULL, 0, "connection lost", NULL },
		{ EHLO, NULL, 0, "connection lost", NULL },
		{ MAIL, NULL, 0, "connection lost", NULL },
		{ RCPT0, NULL, 0, "connection lost", NULL },
		/* After the data: a duplicate at worst, never a loss; it
		 * may have been queued. */
		{ END, NULL, 0, "connection lost", "may have been" },
		{ MAIL, "25O garbage\r\n", 0, "malformed", NULL },
	};

	deferred(t, nitems(t), 1);
}
END_TEST

/* The time for a reply runs from the command, however slowly the
 * server trickles it: one octet every 300 ms never resets it. */
START_TEST(reply_deadline)
{
	struct script sc = all_ok;
	struct timespec t0;
	long ms;

	sc.trickle_ms = 300;       /* "220 local ESMTP\r\n": 5 s */
	reply_ms = 1000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	submit_x(&sc, "s@h", 1, SM_DEFERRED, EX_TEMPFAIL, "trickle");
	ms = elapsed_ms(&t0);
	reply_ms = 10000;
	reply_has("timed out", "trickle");
	ck_assert_ptr_null(strstr(transcript, "EHLO"));
	/* The server's child exits when the client closes: the run
	 * ends a little after the deadline, well before the greeting. */
	ck_assert_msg(ms >= 900 && ms < 3500, "took %ld ms", ms);
}
END_TEST

/* The end of data has its own, longer time (RFC 5321 4.5.3.2 gives it
 * 10 minutes); every other reply the shorter one. */
START_TEST(data_timeout_longer)
{
	struct script sc = all_ok;

	reply_ms = 700;
	data_ms = 4000;
	sc.end_pause_ms = 1500;
	submit_x(&sc, "s@h", 1, SM_SENT, -1, "slow end of data");
	sc = all_ok;
	sc.rcpt_pause_ms = 1500;
	submit_x(&sc, "s@h", 1, SM_DEFERRED, -1, "slow RCPT");
	reply_has("timed out", "slow RCPT");
	ck_assert_ptr_null(strstr(transcript, "DATA"));
	/* The end of data past its time: it may have been queued. */
	data_ms = 700;
	sc = all_ok;
	sc.end_pause_ms = 1500;
	submit_x(&sc, "s@h", 1, SM_DEFERRED, -1, "end of data too late");
	reply_has("timed out", "end of data too late");
	reply_has("may have been accepted", "end of data too late");
	reply_ms = data_ms = 10000;
}
END_TEST

START_TEST(multiline_replies)
{
	struct script sc = all_ok;

	sc.mail = "553-5.7.1 first line\r\n553 5.7.1 second\r\n";
	submit_x(&sc, "s@h", 1, SM_REFUSED_SENDER, -1, "two lines");
	reply_has("second", "two lines");
	ck_assert_ptr_null(strchr(res.reply, '\n'));
	/* Codes that differ between lines: malformed. */
	sc.mail = "250-ok\r\n550 no\r\n";
	submit_x(&sc, "s@h", 1, SM_DEFERRED, -1, "codes differ");
}
END_TEST

/* A Unix socket at path: bound, and listening with backlog unless
 * backlog < 0. */
static int
unix_server(const char *path, int backlog)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (backlog >= 0)
		ck_assert_int_eq(listen(fd, backlog), 0);
	return fd;
}

/* Connect without blocking until the backlog of path is full; the
 * number of connections made (closed with close_fill). */
static int fill_fds[64];
static int
fill_backlog(const char *path)
{
	struct sockaddr_un sun;
	int n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	for (n = 0; n < 64; n++) {
		fill_fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fill_fds[n], (struct sockaddr *)&sun,
		    sizeof(sun)) == -1) {
			ck_assert_int_eq(errno, EAGAIN);
			close(fill_fds[n]);
			return n;
		}
	}
	ck_abort_msg("the backlog never filled");
	return n;
}

START_TEST(connect_errors)
{
	const char *dir = fx_tmpdir("sock");
	char path[512], longer[200];
	int srv;

	/* Not running: no socket, or nobody listening on it. Only these
	 * lead to a drop file. */
	snprintf(path, sizeof(path), "%s/none.sock", dir);
	ck_assert_int_eq(sm_connect(path, 1000), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(sm_not_running(errno));
	snprintf(path, sizeof(path), "%s/closed.sock", dir);
	srv = unix_server(path, -1);
	ck_assert_int_eq(sm_connect(path, 1000), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	ck_assert(sm_not_running(errno));
	close(srv);
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	ck_assert_int_eq(sm_connect(longer, 1000), -1);
	ck_assert(!sm_not_running(errno));
	ck_assert(!sm_not_running(EACCES));
	ck_assert(!sm_not_running(ETIMEDOUT));
	ck_assert(!sm_not_running(EAGAIN));
}
END_TEST

/* A full backlog (smtpd restarting, or every session held): connect()
 * never blocks; it is tried again until the time is up. */
START_TEST(connect_full_backlog_times_out)
{
	const char *dir = fx_tmpdir("sock");
	struct timespec t0;
	char path[512];
	int srv, n, fd;
	long ms;

	snprintf(path, sizeof(path), "%s/full.sock", dir);
	srv = unix_server(path, 0);
	n = fill_backlog(path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = sm_connect(path, 800);
	ms = elapsed_ms(&t0);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert(!sm_not_running(errno));
	ck_assert_msg(ms >= 750 && ms < 2500, "took %ld ms", ms);
	while (n-- > 0)
		close(fill_fds[n]);
	close(srv);
}
END_TEST

START_TEST(connect_waits_for_room)
{
	const char *dir = fx_tmpdir("sock");
	char path[512], b;
	int srv, n, fd, c;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/busy.sock", dir);
	srv = unix_server(path, 0);
	n = fill_backlog(path);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Room after 300 ms: everything waiting is taken. */
		usleep(300 * 1000);
		for (;;) {
			if ((c = accept(srv, NULL, NULL)) == -1)
				_exit(1);
			if (write(c, "x", 1) != 1)
				_exit(1);
		}
	}
	fd = sm_connect(path, 5000);
	ck_assert_int_ge(fd, 0);
	/* Connected, and blocking again. */
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(read(fd, &b, 1), 1);
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	while (n-- > 0)
		close(fill_fds[n]);
	close(srv);
}
END_TEST

static Suite *
submit_suite(void)
{
	Suite *s = suite_create("sendmail_submit");
	TCase *tc = tcase_create("submit");

	tcase_add_test(tc, all_accepted);
	tcase_add_test(tc, no_extensions_no_parameters);
	tcase_add_test(tc, utf8_address);
	tcase_add_test(tc, some_recipients_refused);
	tcase_add_test(tc, every_recipient_refused);
	tcase_add_test(tc, sender_refused);
	tcase_add_test(tc, message_refused);
	tcase_add_test(tc, temporary_means_deferred);
	tcase_add_test(tc, lost_connection_means_deferred);
	tcase_add_test(tc, multiline_replies);
	tcase_add_test(tc, reply_deadline);
	tcase_add_test(tc, data_timeout_longer);
	tcase_add_test(tc, connect_errors);
	tcase_add_test(tc, connect_full_backlog_times_out);
	tcase_add_test(tc, connect_waits_for_room);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(submit_suite);
