/* SPDX-License-Identifier: ISC */
/* queued and its plugins (queued_engine.h): the plugin metadata and the
 * header fields added at DATA travel with the message in every D_JOB,
 * after a deferral and after a restart of queued on the same spool; a
 * plugin's message events come in order with the metadata smtpd set
 * (tests/plugins/queued_events.c writes them to a file); a plugin that
 * cannot start stops queued with the line of its statement. */
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "queued_engine.h"

#define MSG_TEXT \
	"From: alice@sender.test\r\nTo: bob@dest.test\r\n" \
	"Subject: plugins\r\n\r\nHello.\r\n"
#define META     "score=7\nseen-sender=alice@sender.test\n"
#define HEADERS  "X-Score: 7\r\nX-Checked: yes\r\n"
#define RETRY    "delivery { retry initial 2s max 4s max-attempts 2 }\n"

static const char *const to_bob[] = { "bob@dest.test", NULL };

static void
assert_carried(const struct qe_job *j)
{
	ck_assert_ptr_nonnull(j->env.meta);
	ck_assert_str_eq(j->env.meta, META);
	ck_assert_ptr_nonnull(j->env.headers);
	ck_assert_str_eq(j->env.headers, HEADERS);
}

/* A commit with metadata and header fields: the job carries both; queued
 * stops with the job in flight and starts again on the same spool: the
 * job that comes again carries them, and so does the one after a
 * deferral. */
START_TEST(metadata_survives_restart_and_deferral)
{
	static const uint32_t defer[] = { RCPT_DEFERRED };
	static const char *const diag[] = { "451 4.7.1 later" };
	const char *spool = fx_tmpdir("queued-restart");
	char id[ULID_LEN + 1];
	struct qe_job j;
	int fd[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(fd), 0);
	/* The first life of queued in a process of its own: its statics
	 * end with it. */
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		qe_setup_in(spool, RETRY);
		qe_commit_meta = META;
		qe_commit_headers = HEADERS;
		qe_receive(id, "alice@sender.test", to_bob, MSG_TEXT);
		qe_job_next(&j, FX_WAIT_MS);
		ck_assert_str_eq(j.env.id, id);
		assert_carried(&j);
		qe_job_free(&j);
		qe_teardown();
		if (write(fd[1], id, ULID_LEN) != ULID_LEN)
			_exit(2);
		_exit(0);
	}
	close(fd[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the first queued failed: status %d", status);
	ck_assert_int_eq(read(fd[0], id, ULID_LEN), ULID_LEN);
	id[ULID_LEN] = '\0';
	close(fd[0]);

	/* The second life: nothing is committed again. */
	qe_setup_in(spool, RETRY);
	qe_job_next(&j, FX_WAIT_MS);
	ck_assert_str_eq(j.env.id, id);
	assert_carried(&j);
	qe_result(&j, defer, diag);
	qe_job_free(&j);
	qe_job_next(&j, FX_WAIT_MS);
	ck_assert_str_eq(j.env.id, id);
	ck_assert_uint_eq(j.env.rcpt[0].attempts, 1);
	assert_carried(&j);
	qe_job_free(&j);
	qe_teardown();
}
END_TEST

/* ---- events ---- */

static char events_path[PATH_MAX];

static void
setup_events(void)
{
	char extra[2 * PATH_MAX + 256];
	const char *dir = fx_tmpdir("qevents");

	ck_assert_uint_lt((size_t)snprintf(events_path, sizeof(events_path),
	    "%s/events", dir), sizeof(events_path));
	ck_assert_uint_lt((size_t)snprintf(extra, sizeof(extra),
	    RETRY "plugin-dir \"%s\"\n"
	    "plugin \"queued_events\" { args \"%s\" \"score\" }\n",
	    TEST_PLUGIN_DIR, events_path), sizeof(extra));
	qe_setup_with(extra);
}

/* The lines of the events about id, in order (n of them). */
static char **
events_of(const char *id, size_t *n)
{
	char **lines = NULL, *text, *line, *save = NULL;
	FILE *f = fopen(events_path, "r");
	size_t len = 0;

	*n = 0;
	if (f == NULL)
		return NULL;
	text = calloc(1, 65536);
	ck_assert_ptr_nonnull(text);
	len = fread(text, 1, 65535, f);
	fclose(f);
	text[len] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *sp = strchr(line, ' ');

		if (sp == NULL || strncmp(sp + 1, id, ULID_LEN) != 0)
			continue;
		lines = realloc(lines, (*n + 1) * sizeof(*lines));
		ck_assert_ptr_nonnull(lines);
		lines[(*n)++] = strdup(line);
	}
	free(text);
	return lines;
}

static size_t
count_events(const char *id)
{
	size_t n, i;
	char **l = events_of(id, &n);

	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
	return n;
}

/* Wait for the k-th event about id and check it is "event id rest". */
static void
expect_event(const char *id, size_t k, const char *event, const char *rest)
{
	char **l, expect[1024];
	size_t n, i;

	fx_until(count_events(id) >= k, FX_WAIT_MS);
	l = events_of(id, &n);
	ck_assert_uint_eq(n, k);
	snprintf(expect, sizeof(expect), "%s %s %s", event, id, rest);
	ck_assert_str_eq(l[k - 1], expect);
	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* The jobs of id for each address of addrs (others are left in flight). */
static void
jobs_for(const char *id, const char *const *addrs, struct qe_job *jobs,
    size_t n)
{
	struct qe_job j;
	size_t got = 0, i;

	for (i = 0; i < n; i++)
		jobs[i].env.nrcpt = 0;
	while (got < n) {
		qe_job_next(&j, FX_WAIT_MS);
		for (i = 0; i < n; i++)
			if (strcmp(j.env.id, id) == 0 && j.env.nrcpt == 1 &&
			    jobs[i].env.nrcpt == 0 &&
			    strcmp(j.env.rcpt[0].addr, addrs[i]) == 0)
				break;
		if (i == n) {
			qe_job_free(&j);
			continue;
		}
		assert_carried(&j);
		jobs[i] = j;
		got++;
	}
}

/* queued, deferred (one event per result batch), bounced (when the
 * failure notice is queued), expired (max-attempts reached), deleted
 * (by the operator, for the recipients still to deliver): each with the
 * metadata smtpd set and what is known of the delivery. */
START_TEST(events_follow_the_message)
{
	static const char *const to[] = { "bob@dest.test", "dave@other.test",
		"erin@third.test", NULL };
	static const uint32_t defer[] = { RCPT_DEFERRED };
	static const uint32_t fail[] = { RCPT_FAILED };
	static const char *const later[] = { "451 4.7.1 later" };
	static const char *const nouser[] = { "550 5.1.1 no such user" };
	char id[ULID_LEN + 1];
	struct qe_job first[3], again[2];
	size_t i;

	qe_commit_meta = META;
	qe_commit_headers = HEADERS;
	qe_receive(id, "alice@sender.test", to, MSG_TEXT);
	expect_event(id, 1, "queued", "alice@sender.test score=7 rcpts="
	    "bob@dest.test,dave@other.test,erin@third.test attempt=0 reply=-1");
	jobs_for(id, to, first, 3);

	qe_result(&first[1], defer, later);
	expect_event(id, 2, "deferred", "alice@sender.test score=7 rcpts="
	    "dave@other.test attempt=1 reply=451");
	qe_result(&first[2], defer, later);
	expect_event(id, 3, "deferred", "alice@sender.test score=7 rcpts="
	    "erin@third.test attempt=1 reply=451");
	/* No attempt under way any more: the notice for bob goes. */
	qe_result(&first[0], fail, nouser);
	expect_event(id, 4, "bounced", "alice@sender.test score=7 rcpts="
	    "bob@dest.test attempt=1 reply=550");

	jobs_for(id, to + 1, again, 2);
	qe_result(&again[0], defer, later);
	expect_event(id, 5, "expired", "alice@sender.test score=7 rcpts="
	    "dave@other.test attempt=2 reply=451");
	/* erin's second attempt is in flight: she is still to deliver. */
	ck_assert(qe_op(QE_DELETE, id, NULL, NULL, 0));
	expect_event(id, 6, "deleted", "alice@sender.test score=7 rcpts="
	    "erin@third.test attempt=0 reply=-1");
	fx_run_for(200);
	ck_assert_uint_eq(count_events(id), 6);
	for (i = 0; i < 3; i++)
		qe_job_free(&first[i]);
	for (i = 0; i < 2; i++)
		qe_job_free(&again[i]);
}
END_TEST

/* A plugin whose init fails: queued exits non-zero, the error names
 * the configuration line of the plugin statement. */
START_TEST(plugin_failure_stops_queued)
{
	const char *dir = fx_tmpdir("qplugfail");
	char extra[2 * PATH_MAX + 256], errpath[PATH_MAX], buf[4096];
	int status, fd;
	ssize_t n;
	pid_t pid;

	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	snprintf(extra, sizeof(extra), "plugin-dir \"%s\"\n"
	    "plugin \"queued_events\" { args \"%s/no/such/dir/f\" \"k\" }\n",
	    TEST_PLUGIN_DIR, dir);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd == -1 || dup2(fd, 2) == -1)
			_exit(3);
		qe_setup_in(dir, extra);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
	    WEXITSTATUS(status) != 3, "queued started: status %d", status);
	fd = open(errpath, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	/* The extra lines follow the fixture's four: the statement is
	 * on line 6. */
	ck_assert_msg(strstr(buf, "config:6:") != NULL &&
	    strstr(buf, "queued_events") != NULL, "%s", buf);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("queued_engine_plugins");
	TCase *tc = tcase_create("metadata");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, metadata_survives_restart_and_deferral);
	tcase_add_test(tc, plugin_failure_stops_queued);
	suite_add_tcase(s, tc);

	tc = tcase_create("events");
	tcase_add_checked_fixture(tc, setup_events, qe_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, events_follow_the_message);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
