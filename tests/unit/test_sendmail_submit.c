/* SPDX-License-Identifier: ISC */
/* The SMTP client of empath-sendmail (sendmail/submit.c) against a
 * scripted server on a socket pair: what it sends (extensions only when
 * offered, DATA in CRLF with dots doubled) and how each reply decides the
 * outcome: refused recipients, the sender refused (553 5.7.1), anything
 * temporary or a lost connection left to the drop directory. */
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "sendmail.h"

/* What the server answers; NULL closes the connection instead. */
struct script {
	const char *greet, *ehlo, *helo, *mail, *rcpt[4], *data, *end;
};

static const struct script all_ok = {
	"220 local ESMTP\r\n",
	"250-local\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n"
	"250-SMTPUTF8\r\n250 DSN\r\n",
	"250 local\r\n", "250 2.1.0 Ok\r\n",
	{ "250 2.1.5 Ok\r\n", "250 2.1.5 Ok\r\n", "250 2.1.5 Ok\r\n",
	  "250 2.1.5 Ok\r\n" },
	"354 go ahead\r\n", "250 2.0.0 Ok: queued as X\r\n",
};

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
		.notify = notify, .ret = ret, .timeout = 10,
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

START_TEST(all_accepted)
{
	char *rcpts[] = { "a@x.example", "b@y.example" };
	struct sm_result r;

	run(&all_ok, "s@h.example", rcpts, 2,
	    "Subject: \xc3\xa9\n\n.dot\n..two\nend", "SUCCESS,DELAY", "HDRS", &r);
	ck_assert_int_eq(r.outcome, SM_SENT);
	ck_assert_uint_eq(r.nrefused, 0);
	ck_assert_int_eq(sm_exit_code(&r, false), EX_OK);
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
	run(&sc, "s@h", rcpts, 1, "x\n", "", "", &r);
	ck_assert_int_eq(r.outcome, SM_SENT);
	fx_assert_matches(transcript, "^EHLO localhost\nHELO localhost\n"
	    "MAIL FROM:<s@h>\n");
	free(r.refused);
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
	char *rcpts[] = { "a@x", "b@x", "c@x" };
	struct sm_result r;

	sc.rcpt[1] = "550 5.1.1 <b@x>: no such user\r\n";
	run(&sc, "s@h", rcpts, 3, "x\n", "", "", &r);
	ck_assert_int_eq(r.outcome, SM_SENT);
	ck_assert_uint_eq(r.nrefused, 1);
	ck_assert(!r.refused[0] && r.refused[1] && !r.refused[2]);
	ck_assert_int_eq(sm_exit_code(&r, false), EX_NOUSER);
	fx_assert_matches(transcript, "\nDATA\n");
	free(r.refused);
}
END_TEST

START_TEST(every_recipient_refused)
{
	struct script sc = all_ok;
	char *rcpts[] = { "a@x", "b@x" };
	struct sm_result r;

	sc.rcpt[0] = sc.rcpt[1] = "550 5.1.1 no\r\n";
	run(&sc, "s@h", rcpts, 2, "x\n", "", "", &r);
	ck_assert_int_eq(r.outcome, SM_REFUSED_RCPTS);
	ck_assert_uint_eq(r.nrefused, 2);
	ck_assert_int_eq(sm_exit_code(&r, false), EX_NOUSER);
	ck_assert_ptr_null(strstr(transcript, "DATA"));
	free(r.refused);
}
END_TEST

START_TEST(sender_refused)
{
	struct script sc = all_ok;
	char *rcpts[] = { "a@x" };
	struct sm_result r;

	sc.mail = "553 5.7.1 <root@h>: sender address not owned by user joe\r\n";
	run(&sc, "root@h", rcpts, 1, "x\n", "", "", &r);
	ck_assert_int_eq(r.outcome, SM_REFUSED_SENDER);
	ck_assert_int_eq(sm_exit_code(&r, false), EX_NOPERM);
	ck_assert_ptr_nonnull(strstr(r.reply, "not owned"));
	ck_assert_ptr_null(strstr(transcript, "RCPT"));
	free(r.refused);
	/* Another 553 is not about ownership. */
	sc.mail = "553 5.1.7 bad address\r\n";
	run(&sc, "x@h", rcpts, 1, "x\n", "", "", &r);
	ck_assert_int_eq(r.outcome, SM_REFUSED_OTHER);
	ck_assert_int_eq(sm_exit_code(&r, false), EX_UNAVAILABLE);
	free(r.refused);
	sc.mail = "552 5.3.4 too big\r\n";
	run(&sc, "x@h", rcpts, 1, "x\n", "", "", &r);
	ck_assert_int_eq(r.outcome, SM_REFUSED_DATA);
	free(r.refused);
}
END_TEST

START_TEST(message_refused)
{
	struct script sc = all_ok;
	char *rcpts[] = { "a@x" };
	struct sm_result r;

	sc.end = "554 5.7.1 content refused\r\n";
	run(&sc, "s@h", rcpts, 1, "x\n", "", "", &r);
	ck_assert_int_eq(r.outcome, SM_REFUSED_DATA);
	ck_assert_int_eq(sm_exit_code(&r, false), EX_DATAERR);
	free(r.refused);
}
END_TEST

START_TEST(temporary_means_deferred)
{
	struct script sc;
	char *rcpts[] = { "a@x", "b@x" };
	struct sm_result r;
	int i;

	for (i = 0; i < 6; i++) {
		sc = all_ok;
		switch (i) {
		case 0: sc.greet = "421 4.3.2 shutting down\r\n"; break;
		case 1: sc.mail = "451 4.7.1 unknown local user uid 1000\r\n"; break;
		case 2: sc.rcpt[1] = "450 4.2.1 try later\r\n"; break;
		case 3: sc.data = "451 4.3.0 later\r\n"; break;
		case 4: sc.end = "452 4.3.1 full\r\n"; break;
		case 5: sc.ehlo = "421 4.3.2 bye\r\n"; break;
		}
		run(&sc, "s@h", rcpts, 2, "x\n", "", "", &r);
		ck_assert_msg(r.outcome == SM_DEFERRED, "case %d: outcome %d",
		    i, r.outcome);
		ck_assert_int_eq(sm_exit_code(&r, true), EX_OK);
		ck_assert_int_eq(sm_exit_code(&r, false), EX_TEMPFAIL);
		free(r.refused);
	}
	/* A 4xx after a 5xx recipient: deferred, that one still refused. */
	sc = all_ok;
	sc.rcpt[0] = "550 5.1.1 no\r\n";
	sc.rcpt[1] = "451 4.3.0 later\r\n";
	run(&sc, "s@h", rcpts, 2, "x\n", "", "", &r);
	ck_assert_int_eq(r.outcome, SM_DEFERRED);
	ck_assert(r.refused[0] && !r.refused[1]);
	ck_assert_int_eq(sm_exit_code(&r, true), EX_NOUSER);
	free(r.refused);
}
END_TEST

START_TEST(lost_connection_means_deferred)
{
	struct script sc;
	char *rcpts[] = { "a@x" };
	struct sm_result r;
	int i;

	for (i = 0; i < 6; i++) {
		sc = all_ok;
		switch (i) {
		case 0: sc.greet = NULL; break;
		case 1: sc.ehlo = NULL; break;
		case 2: sc.mail = NULL; break;
		case 3: sc.rcpt[0] = NULL; break;
		case 4: sc.end = NULL; break;   /* after the data: a duplicate
						 * at worst, never a loss */
		case 5: sc.mail = "25O garbage\r\n"; break;
		}
		run(&sc, "s@h", rcpts, 1, "x\n", "", "", &r);
		ck_assert_msg(r.outcome == SM_DEFERRED, "case %d: outcome %d",
		    i, r.outcome);
		free(r.refused);
	}
}
END_TEST

START_TEST(multiline_replies)
{
	struct script sc = all_ok;
	char *rcpts[] = { "a@x" };
	struct sm_result r;

	sc.mail = "553-5.7.1 first line\r\n553 5.7.1 second\r\n";
	run(&sc, "s@h", rcpts, 1, "x\n", "", "", &r);
	ck_assert_int_eq(r.outcome, SM_REFUSED_SENDER);
	ck_assert_ptr_nonnull(strstr(r.reply, "second"));
	ck_assert_ptr_null(strchr(r.reply, '\n'));
	free(r.refused);
	/* Codes that differ between lines: malformed. */
	sc.mail = "250-ok\r\n550 no\r\n";
	run(&sc, "s@h", rcpts, 1, "x\n", "", "", &r);
	ck_assert_int_eq(r.outcome, SM_DEFERRED);
	free(r.refused);
}
END_TEST

START_TEST(connect_errors)
{
	const char *dir = fx_tmpdir("sock");
	char path[512], longer[200];

	snprintf(path, sizeof(path), "%s/none.sock", dir);
	ck_assert_int_eq(sm_connect(path), -1);
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	ck_assert_int_eq(sm_connect(longer), -1);
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
	tcase_add_test(tc, connect_errors);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(submit_suite);
