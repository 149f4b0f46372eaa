/* SPDX-License-Identifier: ISC */
/* queued takes in the offline drop directory (queued/drop.c), as an
 * engine (queued_engine.h): a good file becomes a queued message with
 * its envelope, the Received: field that records the uid on top and CRLF
 * line ends (RFC 5322 2.1), and its drop file goes only once the insert
 * is durable; a forged sender, a malformed file, a message smtpd would
 * refuse in DATA, a file of a uid no user has go to corrupt/; a hard
 * link and a symbolic link are never read through; a writer's temporary
 * file is left alone until it is a day old; the owner's login name is
 * asked of the master (fx_master plays it) once per round of scans, a
 * file waiting for it is not taken, and a rename counts from the next
 * round; a file left in place is not taken again and again; a later
 * scan finds a file written after the start. */
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dropfile.h"
#include "fixture.h"
#include "../../queued/queued.h"
#include "queued_engine.h"

/* The spool's layout, as empath-queued(8) documents it. */
#define CORRUPT "corrupt"
#define NAME1 "0123456789abcdef0123456789abcdef"
#define NAME2 "fedcba9876543210fedcba9876543210"
#define NAME3 "00000000000000000000000000000003"
#define NAME4 "00000000000000000000000000000004"
#define NAME5 "00000000000000000000000000000005"

#define GOOD \
	"EMPATH-DROP 1\n" \
	"S alice@queue.test\n" \
	"R bob@dest.test\n" \
	"R carol@dest.test\n" \
	"\n" \
	"Subject: dropped\n" \
	"From: alice@queue.test\n" \
	"\n" \
	"line one\n" \
	"a bare CR\r" \
	"a CRLF\r\n" \
	"last, no end"
/* The envelope of alice's files to bob, before the message. */
#define TO_BOB "EMPATH-DROP 1\nS alice@queue.test\nR bob@dest.test\n\n"
/* Its message as queued must hold it, below the Received: field. */
#define GOOD_QUEUED \
	"Subject: dropped\r\n" \
	"From: alice@queue.test\r\n" \
	"\r\n" \
	"line one\r\n" \
	"a bare CR\r\n" \
	"a CRLF\r\n" \
	"last, no end\r\n"

static const char *spool;
static unsigned interval_ms = 60 * 1000;
static bool known_user = true;

static void
before_start(void)
{
	/* The owner of the test's files is the local user "alice", not
	 * trusted: she may send as alice@queue.test only. Unknown: the
	 * master knows another uid only. */
	qe_user_set(geteuid(), known_user ? "alice" : NULL);
	qe_user_set(geteuid() + 1, "someone");
	drop_set_interval(interval_ms);
}

static void
path_of(char *buf, size_t len, const char *dir, const char *name)
{
	ck_assert_uint_lt((size_t)snprintf(buf, len, "%s/%s/%s", spool, dir,
	    name), len);
}

static void
prepare(void)
{
	char p[PATH_MAX];

	spool = fx_tmpdir("drop");
	snprintf(p, sizeof(p), "%s/%s", spool, DROP_SUBDIR);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(chmod(p, 01730), 0);
	qe_before_start = before_start;
}

static void
start(void)
{
	qe_setup_in(spool, NULL);
}

static void
write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char p[PATH_MAX];
	int fd;

	path_of(p, sizeof(p), dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert_msg(fd != -1, "%s: %s", p, strerror(errno));
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void
drop_file(const char *name, const char *text)
{
	write_file(DROP_SUBDIR, name, text, strlen(text));
}

static bool
exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	path_of(p, sizeof(p), dir, name);
	return lstat(p, &st) == 0;
}

static unsigned
files_in_queue(void)
{
	char p[PATH_MAX];
	unsigned n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(p, sizeof(p), "%s/queue", spool);
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Nothing reaches deliverd for a while. */
static void
no_job(unsigned ms)
{
	struct qe_job j;

	if (qe_job_within(&j, ms)) {
		char *text = qe_job_text(&j);

		ck_abort_msg("a job for a message that must not be queued: %s",
		    text);
	}
}

/* Nothing reaches deliverd, and nothing is in the queue. */
static void
nothing_queued(void)
{
	no_job(300);
	ck_assert_uint_eq(files_in_queue(), 0);
}

/* A job reaches deliverd (in time); its sender is sender unless that is
 * NULL. */
static void
job_from(const char *sender)
{
	struct qe_job j;

	qe_job_next(&j, FX_WAIT_MS);
	if (sender != NULL)
		ck_assert_str_eq(j.env.sender, sender);
	qe_job_free(&j);
}

/* TO_BOB, then n Received: fields and the body into buf. */
static void
hops_file(char *buf, size_t len, int n, const char *body)
{
	size_t at = (size_t)snprintf(buf, len, TO_BOB);
	int i;

	for (i = 0; i < n; i++)
		at += (size_t)snprintf(buf + at, len - at, "Received: by h%d\n",
		    i);
	ck_assert_uint_lt(at + strlen(body), len);
	strcpy(buf + at, body);
}

START_TEST(good_file_is_queued_and_removed_once_durable)
{
	char prefix[128], *text, *eol;
	struct qe_job j;

	prepare();
	drop_file(NAME1, GOOD);
	qe_sync_hold(true);
	start();
	/* Published and inserted, the insert's sync held: the drop file must
	 * still be there. */
	fx_until(files_in_queue() == 1 && qe_syncs_held() > 0, FX_WAIT_MS);
	fx_run_for(200);
	ck_assert_msg(exists(DROP_SUBDIR, NAME1),
	    "the drop file went before the commit was durable");
	qe_sync_hold(false);
	fx_until(!exists(DROP_SUBDIR, NAME1), FX_WAIT_MS);
	ck_assert(!exists(CORRUPT, "drop-" NAME1));

	qe_job_next(&j, FX_WAIT_MS);
	ck_assert_str_eq(j.env.sender, "alice@queue.test");
	ck_assert_uint_eq(j.env.nrcpt, 2);
	ck_assert_str_eq(j.env.rcpt[0].addr, "bob@dest.test");
	ck_assert_str_eq(j.env.rcpt[1].addr, "carol@dest.test");
	ck_assert_str_eq(j.env.body, "7BIT");
	ck_assert_uint_eq(j.env.smtputf8, 0);
	text = qe_job_text(&j);
	ck_assert_uint_eq(j.env.size, strlen(text));
	fx_check_mail_lines(text, true);
	snprintf(prefix, sizeof(prefix), "Received: by queue.test (Empath, "
	    "from userid %u)\r\n\tid %s; ", (unsigned)geteuid(), j.env.id);
	ck_assert_msg(strncmp(text, prefix, strlen(prefix)) == 0,
	    "the message starts with %.120s", text);
	eol = strstr(text + strlen(prefix), "\r\n");
	ck_assert_ptr_nonnull(eol);
	ck_assert_str_eq(eol + 2, GOOD_QUEUED);
	free(text);
	qe_job_free(&j);
}
END_TEST

/* The insert's sync failed: the message stays queued (commit.c keeps
 * it), and so does the drop file: a possible duplicate, never a loss. */
START_TEST(failed_sync_keeps_the_drop_file)
{
	prepare();
	drop_file(NAME1, GOOD);
	qe_sync_fail(EIO);
	start();
	fx_until(files_in_queue() == 1 && qe_syncs() > 0, FX_WAIT_MS);
	fx_run_for(300);
	ck_assert(exists(DROP_SUBDIR, NAME1));
	ck_assert(!exists(CORRUPT, "drop-" NAME1));
}
END_TEST

/* 8-bit content is recorded as smtpd records BODY=8BITMIME; a UTF-8
 * address makes the message SMTPUTF8 (RFC 6531). */
START_TEST(eightbit_and_utf8_are_recorded)
{
	struct qe_job j;

	prepare();
	drop_file(NAME1, "EMPATH-DROP 1\nS alice@queue.test\n"
	    "R j\xc3\xb6rg@dest.test\n\nSubject: x\n\nCaf\xc3\xa9\n");
	start();
	qe_job_next(&j, FX_WAIT_MS);
	ck_assert_str_eq(j.env.rcpt[0].addr, "j\xc3\xb6rg@dest.test");
	ck_assert_str_eq(j.env.body, "8BITMIME");
	ck_assert_uint_eq(j.env.smtputf8, 1);
	qe_job_free(&j);
	fx_until(!exists(DROP_SUBDIR, NAME1), FX_WAIT_MS);
}
END_TEST

static void
assert_quarantined(const char *name)
{
	char corrupt[64];

	snprintf(corrupt, sizeof(corrupt), "drop-%s", name);
	ck_assert_msg(exists(CORRUPT, corrupt), "%s not in corrupt/", name);
	ck_assert_msg(!exists(DROP_SUBDIR, name), "%s still in drop/", name);
}

START_TEST(forged_or_refused_files_go_to_corrupt)
{
	static const char nul[] = TO_BOB "Subject: nul\n\nx\0y\n";
	char many[200 * 16 + 200], *p;

	prepare();
	/* Another user's address. */
	drop_file(NAME1, "EMPATH-DROP 1\nS root@queue.test\nR bob@dest.test\n\n"
	    "Subject: forged\n\nx\n");
	/* Not the format. */
	drop_file(NAME2, "EMPATH-DROP 1\nS alice@queue.test\nR <bob@dest.test>\n"
	    "\nSubject: bad\n\nx\n");
	/* What smtpd refuses in DATA: a NUL, a line over 998 octets, more
	 * Received: fields than max-hops (100). */
	write_file(DROP_SUBDIR, NAME3, nul, sizeof(nul) - 1);
	p = many + sprintf(many, TO_BOB "Subject: long\n\n");
	memset(p, 'x', 999);
	strcpy(p + 999, "\n");
	drop_file(NAME4, many);
	hops_file(many, sizeof(many), 101, "\nloop\n");
	drop_file(NAME5, many);
	start();
	/* Once the master said who the owner is. */
	fx_until(exists(CORRUPT, "drop-" NAME1) && exists(CORRUPT, "drop-"
	    NAME5), FX_WAIT_MS);
	assert_quarantined(NAME1);
	assert_quarantined(NAME2);
	assert_quarantined(NAME3);
	assert_quarantined(NAME4);
	assert_quarantined(NAME5);
	nothing_queued();
}
END_TEST

/* 100 Received: fields are allowed, like smtpd's max-hops. */
START_TEST(hops_up_to_max_hops_are_taken)
{
	char many[100 * 20 + 200];

	prepare();
	hops_file(many, sizeof(many), 100, "\nfine\n");
	drop_file(NAME1, many);
	start();
	job_from(NULL);
}
END_TEST

/* A second name for a file: its owner need not be who linked it here.
 * It is never read; the file itself is untouched. */
START_TEST(hard_link_is_not_taken)
{
	char outside[PATH_MAX], in[PATH_MAX];
	struct stat st;

	prepare();
	snprintf(outside, sizeof(outside), "%s/outside", spool);
	write_file(".", "outside", GOOD, strlen(GOOD));
	path_of(in, sizeof(in), DROP_SUBDIR, NAME1);
	ck_assert_int_eq(link(outside, in), 0);
	start();
	assert_quarantined(NAME1);
	nothing_queued();
	ck_assert_int_eq(stat(outside, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)strlen(GOOD));
}
END_TEST

START_TEST(symbolic_link_is_not_followed)
{
	char target[PATH_MAX], in[PATH_MAX], back[PATH_MAX];
	struct stat st;

	prepare();
	write_file(".", "target", GOOD, strlen(GOOD));
	snprintf(target, sizeof(target), "%s/target", spool);
	path_of(in, sizeof(in), DROP_SUBDIR, NAME1);
	ck_assert_int_eq(symlink(target, in), 0);
	start();
	nothing_queued();
	/* Moved as a link, its target untouched. */
	path_of(back, sizeof(back), CORRUPT, "drop-" NAME1);
	ck_assert_int_eq(lstat(back, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)strlen(GOOD));
}
END_TEST

/* ".NAME" is a file being written: never taken; removed once a day old. */
START_TEST(temporary_files_are_left_until_stale)
{
	struct timespec old[2];
	char p[PATH_MAX];

	prepare();
	drop_file("." NAME1, GOOD);
	drop_file("." NAME2, GOOD);
	path_of(p, sizeof(p), DROP_SUBDIR, "." NAME2);
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 25 * 3600;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(AT_FDCWD, p, old, 0), 0);
	drop_file(NAME3, GOOD);
	start();
	job_from(NULL);
	no_job(300);
	ck_assert(exists(DROP_SUBDIR, "." NAME1));
	ck_assert(!exists(DROP_SUBDIR, "." NAME2));
	ck_assert(!exists(CORRUPT, "drop-." NAME2));
	fx_until(!exists(DROP_SUBDIR, NAME3), FX_WAIT_MS);
}
END_TEST

/* A uid that no user has now (deleted): never delivered. */
START_TEST(file_of_a_deleted_user_goes_to_corrupt)
{
	prepare();
	known_user = false;
	drop_file(NAME1, GOOD);
	start();
	fx_until(exists(CORRUPT, "drop-" NAME1), FX_WAIT_MS);
	assert_quarantined(NAME1);
	nothing_queued();
}
END_TEST

/* Until the master answers, nothing is taken; one lookup serves every
 * file of the uid in the round. */
START_TEST(files_wait_for_the_login_name)
{
	prepare();
	qe_hold_lookups = true;
	drop_file(NAME1, GOOD);
	drop_file(NAME2, GOOD);
	start();
	fx_until(fx_master->nmsgs == 1, FX_WAIT_MS);
	fx_run_for(300);
	ck_assert_uint_eq(qe_lookups(), 1);
	ck_assert_uint_eq(files_in_queue(), 0);
	ck_assert(exists(DROP_SUBDIR, NAME1));
	ck_assert(exists(DROP_SUBDIR, NAME2));
	qe_answer_held();
	job_from(NULL);
	job_from(NULL);
	fx_until(!exists(DROP_SUBDIR, NAME1) && !exists(DROP_SUBDIR, NAME2),
	    FX_WAIT_MS);
	ck_assert_uint_eq(qe_lookups(), 1);
}
END_TEST

/* The uid's name is asked again in the next round: after a rename
 * (usermod -l), the old name's address is another user's. */
START_TEST(renamed_user_counts_from_the_next_round)
{
	prepare();
	interval_ms = 200;
	drop_file(NAME1, GOOD);
	start();
	job_from(NULL);
	fx_until(!exists(DROP_SUBDIR, NAME1), FX_WAIT_MS);
	qe_user_set(geteuid(), "alicia");
	drop_file(NAME2, GOOD);
	fx_until(exists(CORRUPT, "drop-" NAME2), FX_WAIT_MS);
	assert_quarantined(NAME2);
	ck_assert_uint_ge(qe_lookups(), 2);
	drop_file(NAME3, "EMPATH-DROP 1\nS alicia@queue.test\nR b@dest.test\n"
	    "\nSubject: x\n\nx\n");
	job_from("alicia@queue.test");
}
END_TEST

/* A file whose sync failed stays, and is not taken again in the round,
 * however often a pass goes on: here more files than are taken at once
 * (64), so that a pass goes on once the first ones have failed. */
#define NLEFT 70
static const char *
left_name(int i)
{
	static char name[DROP_NAME_LEN + 1];

	snprintf(name, sizeof(name), "%032d", i + 100);
	return name;
}

START_TEST(file_left_in_place_is_not_taken_again)
{
	int i;

	prepare();
	for (i = 0; i < NLEFT; i++)
		drop_file(left_name(i), GOOD);
	qe_sync_fail(EIO);
	start();
	fx_until(files_in_queue() >= NLEFT, FX_WAIT_MS);
	fx_run_for(500);
	ck_assert_uint_eq(files_in_queue(), NLEFT);
	for (i = 0; i < NLEFT; i++)
		ck_assert_msg(exists(DROP_SUBDIR, left_name(i)), "%s gone",
		    left_name(i));
}
END_TEST

/* A first line that starts with white space would continue the
 * Received: field queued puts on top (RFC 5322 2.2). */
START_TEST(leading_white_space_goes_to_corrupt)
{
	prepare();
	drop_file(NAME1, "EMPATH-DROP 1\nS alice@queue.test\nR b@dest.test\n\n"
	    " folded: into Received\nSubject: x\n\nx\n");
	drop_file(NAME2, "EMPATH-DROP 1\nS alice@queue.test\nR b@dest.test\n\n"
	    "\tx\n\nx\n");
	start();
	fx_until(exists(CORRUPT, "drop-" NAME1) && exists(CORRUPT,
	    "drop-" NAME2), FX_WAIT_MS);
	assert_quarantined(NAME1);
	assert_quarantined(NAME2);
	no_job(300);
}
END_TEST

START_TEST(later_scan_takes_a_new_file)
{
	prepare();
	interval_ms = 200;
	start();
	fx_run_for(100);
	drop_file(NAME2, GOOD);
	job_from("alice@queue.test");
	fx_until(!exists(DROP_SUBDIR, NAME2), FX_WAIT_MS);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("queued_drop");
	TCase *tc = tcase_create("drop");

	tcase_add_checked_fixture(tc, NULL, qe_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, good_file_is_queued_and_removed_once_durable);
	tcase_add_test(tc, failed_sync_keeps_the_drop_file);
	tcase_add_test(tc, eightbit_and_utf8_are_recorded);
	tcase_add_test(tc, forged_or_refused_files_go_to_corrupt);
	tcase_add_test(tc, hops_up_to_max_hops_are_taken);
	tcase_add_test(tc, hard_link_is_not_taken);
	tcase_add_test(tc, symbolic_link_is_not_followed);
	tcase_add_test(tc, temporary_files_are_left_until_stale);
	tcase_add_test(tc, file_of_a_deleted_user_goes_to_corrupt);
	tcase_add_test(tc, files_wait_for_the_login_name);
	tcase_add_test(tc, renamed_user_counts_from_the_next_round);
	tcase_add_test(tc, file_left_in_place_is_not_taken_again);
	tcase_add_test(tc, leading_white_space_goes_to_corrupt);
	tcase_add_test(tc, later_scan_takes_a_new_file);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
