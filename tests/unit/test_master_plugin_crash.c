/* SPDX-License-Identifier: ISC */
/* The master's crash accounting of the plugins (master/crash.c): the
 * window of CRASH_LIMIT crashes in CRASH_WINDOW_MS, the threshold, the
 * attribution from a daemon's crash page, hostile page values, and the
 * page as the loader (lib/plugin.c) really writes it when a plugin
 * crashes a process. */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "../../master/crash.h"
#include "plugin.h"
#include "plugin_ctx.h"

START_TEST(five_within_a_minute_disable)
{
	struct crash_window w;
	uint64_t t = 1000000;
	int i;

	memset(&w, 0, sizeof(w));
	for (i = 0; i < CRASH_LIMIT - 1; i++)
		ck_assert(!crash_window_add(&w, t + (uint64_t)i * 1000));
	ck_assert_uint_eq(crash_window_count(&w, t + 4000), CRASH_LIMIT - 1);
	ck_assert(crash_window_add(&w, t + 59000));
}
END_TEST

START_TEST(old_crashes_leave_the_window)
{
	struct crash_window w;
	uint64_t t = 1000000;
	int i;

	memset(&w, 0, sizeof(w));
	/* One every 15 s: never five in 60 s, however many. */
	for (i = 0; i < 20; i++)
		ck_assert_msg(!crash_window_add(&w, t + (uint64_t)i * 15000),
		    "crash %d", i);
	/* Exactly CRASH_WINDOW_MS after the first is outside. */
	memset(&w, 0, sizeof(w));
	ck_assert(!crash_window_add(&w, t));
	for (i = 1; i < CRASH_LIMIT - 1; i++)
		ck_assert(!crash_window_add(&w, t + 1000));
	ck_assert(!crash_window_add(&w, t + CRASH_WINDOW_MS));
	/* And one more inside makes five recent ones. */
	ck_assert(crash_window_add(&w, t + CRASH_WINDOW_MS + 1));
}
END_TEST

START_TEST(page_names_the_plugin)
{
	struct crash_stats cs;
	uint32_t page[2] = { 2, EM_VALIDATE_RCPT + 1 };
	bool disable;
	int i, point;

	crash_stats_init(&cs, 3);
	for (i = 0; i < CRASH_LIMIT - 1; i++) {
		ck_assert_int_eq(crash_account(&cs, page, SIGSEGV, 1000 + i,
		    &point, &disable), 1);
		ck_assert_int_eq(point, EM_VALIDATE_RCPT);
		ck_assert(!disable);
	}
	/* Another plugin's crashes do not count for this one. */
	page[0] = 1;
	ck_assert_int_eq(crash_account(&cs, page, SIGBUS, 2000, &point,
	    &disable), 0);
	ck_assert(!disable);
	ck_assert(!cs.disabled[0] && !cs.disabled[1]);
	page[0] = 2;
	ck_assert_int_eq(crash_account(&cs, page, SIGABRT, 3000, &point,
	    &disable), 1);
	ck_assert(disable);
	ck_assert(cs.disabled[1]);
	ck_assert(!cs.disabled[0] && !cs.disabled[2]);
	/* Disabled, it is not loaded: the page cannot name it again. */
	ck_assert_int_eq(crash_account(&cs, page, SIGSEGV, 3100, &point,
	    &disable), -1);
	ck_assert(!disable);
	crash_stats_free(&cs);
}
END_TEST

START_TEST(hostile_page_values_blame_nobody)
{
	static const uint32_t bad[][2] = {
		{ 0, 0 }, { 0, EM_VALIDATE_RCPT + 1 }, { 4, 1 }, { UINT32_MAX, 1 },
		{ 1, 0 }, { 1, EM_POINT_COUNT + 1 }, { 1, UINT32_MAX },
		{ 0x80000001u, 1 },
	};
	struct crash_stats cs;
	bool disable;
	size_t k;
	int i, point;

	crash_stats_init(&cs, 3);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		for (i = 0; i < 2 * CRASH_LIMIT; i++) {
			ck_assert_int_eq(crash_account(&cs, bad[k], SIGSEGV, 10 + i,
			    &point, &disable), -1);
			ck_assert(!disable);
			ck_assert_int_eq(point, -1);
		}
	for (i = 0; i < 3; i++)
		ck_assert(!cs.disabled[i]);
	/* No plugins configured: nothing can be named. */
	crash_stats_free(&cs);
	crash_stats_init(&cs, 0);
	ck_assert_int_eq(crash_account(&cs, (uint32_t[]){ 1, 1 }, SIGSEGV, 1,
	    &point, &disable), -1);
	crash_stats_free(&cs);
}
END_TEST

START_TEST(only_crash_signals_count)
{
	struct crash_stats cs;
	uint32_t page[2] = { 1, 1 };
	bool disable;
	int i, point;

	crash_stats_init(&cs, 1);
	/* Stopped or killed (by the master, by an operator): no blame. */
	for (i = 0; i < 2 * CRASH_LIMIT; i++) {
		ck_assert_int_eq(crash_account(&cs, page, SIGKILL, 5 + i, &point,
		    &disable), -1);
		ck_assert_int_eq(crash_account(&cs, page, SIGTERM, 5 + i, &point,
		    &disable), -1);
	}
	ck_assert(!cs.disabled[0]);
	/* Exiting inside a plugin (exit(3) in a hook) counts too. */
	for (i = 0; i < CRASH_LIMIT - 1; i++)
		ck_assert_int_eq(crash_account(&cs, page, 0, 100 + i, &point,
		    &disable), 0);
	ck_assert(!disable);
	ck_assert_int_eq(crash_account(&cs, page, 0, 200, &point, &disable), 0);
	ck_assert(disable);
	ck_assert(crash_signal(SIGSEGV) && crash_signal(SIGSYS));
	ck_assert(!crash_signal(SIGINT) && !crash_signal(SIGPIPE));
	crash_stats_free(&cs);
}
END_TEST

/* A child process loads crashy, the loader writes the page; the child
 * crashes inside validate_rcpt; the parent reads who it was. */
static int
run_child(volatile uint32_t *page, const char *rcpt)
{
	struct rlimit none = { 0, 0 };
	struct plugins ps;
	struct plugin *p;
	em_context *ctx;
	char err[512];
	pid_t pid;
	int status;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		(void)setrlimit(RLIMIT_CORE, &none);
		plugins_init(&ps, 0);
		if (plugin_load(&ps, TEST_PLUGIN_DIR, "crashy", 0, NULL, 0,
		    "test", err, sizeof(err)) != 0)
			_exit(3);
		p = TAILQ_FIRST(&ps.list);
		p->cfg_pos = 3;            /* third in its configuration */
		plugin_set_crash_page(page);
		ctx = plugin_ctx_new();
		plugin_ctx_add_rcpt(ctx, rcpt);
		(void)plugin_call_hook(&ps, p, EM_VALIDATE_RCPT, ctx);
		/* Survived: the page must be clear again. */
		_exit(page[0] == 0 && page[1] == 0 ? 0 : 4);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

START_TEST(loader_page_attributes_a_real_crash)
{
	volatile uint32_t *page;
	struct crash_stats cs;
	bool disable;
	int status, point;

	page = mmap(NULL, PLUGIN_PAGE_SIZE, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(page != MAP_FAILED);
	status = run_child(page, "ok@example.org");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %d", status);
	status = run_child(page, "crash@example.org");
	/* A sanitizer build reports the NULL store first and then exits
	 * (UBSan) or aborts: the page must name the plugin all the same. */
	ck_assert_msg(WIFSIGNALED(status) || (WIFEXITED(status) &&
	    WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 4),
	    "status %d", status);
#ifndef EMPATH_SANITIZE
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGSEGV);
#endif
	crash_stats_init(&cs, 3);
	ck_assert_int_eq(crash_account(&cs, page, SIGSEGV, 1, &point,
	    &disable), 2);
	ck_assert_int_eq(point, EM_VALIDATE_RCPT);
	/* With only two plugins configured the same page names nobody. */
	crash_stats_free(&cs);
	crash_stats_init(&cs, 2);
	ck_assert_int_eq(crash_account(&cs, page, SIGSEGV, 1, &point,
	    &disable), -1);
	crash_stats_free(&cs);
	munmap((void *)page, PLUGIN_PAGE_SIZE);
}
END_TEST

/* A daemon's report cannot hide a plugin the master disabled, nor
 * list one twice to confuse the table. */
START_TEST(report_shows_what_the_master_disabled)
{
	const char *const names[] = { "alpha", "beta", "gamma" };
	struct crash_stats cs;
	static struct wire_plugins w;
	const char *why = NULL;

	crash_stats_init(&cs, 3);
	cs.disabled[1] = true;
	cs.disabled[2] = true;
	/* The daemon reports alpha alone, and gamma as enabled. */
	memset(&w, 0, sizeof(w));
	w.n = 2;
	w.row[0].name = "alpha";
	w.row[0].version = "1";
	w.row[0].hooks = 7;
	w.row[1].name = "gamma";
	w.row[1].version = "2";
	ck_assert_int_eq(crash_report_merge(&w, names, &cs, &why), 0);
	ck_assert_uint_eq(w.n, 3);
	ck_assert_str_eq(w.row[0].name, "alpha");
	ck_assert_uint_eq(w.row[0].disabled, 0);
	ck_assert_uint_eq(w.row[0].hooks, 7);
	ck_assert_str_eq(w.row[1].name, "gamma");
	ck_assert_uint_eq(w.row[1].disabled, 1);
	ck_assert_str_eq(w.row[2].name, "beta");
	ck_assert_str_eq(w.row[2].version, "");
	ck_assert_uint_eq(w.row[2].disabled, 1);
	ck_assert_uint_eq(w.row[2].hooks + w.row[2].events + w.row[2].slow, 0);

	/* The same name twice, or one not configured, is refused. */
	memset(&w, 0, sizeof(w));
	w.n = 2;
	w.row[0].name = w.row[1].name = "alpha";
	w.row[0].version = w.row[1].version = "1";
	ck_assert_int_eq(crash_report_merge(&w, names, &cs, &why), -1);
	ck_assert_str_eq(why, "names a plugin twice");
	w.row[1].name = "delta";
	ck_assert_int_eq(crash_report_merge(&w, names, &cs, &why), -1);
	ck_assert_str_eq(why, "names an unknown plugin");
	crash_stats_free(&cs);
}
END_TEST

static Suite *
master_crash_suite(void)
{
	Suite *s = suite_create("master_crash");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, five_within_a_minute_disable);
	tcase_add_test(tc, old_crashes_leave_the_window);
	tcase_add_test(tc, page_names_the_plugin);
	tcase_add_test(tc, hostile_page_values_blame_nobody);
	tcase_add_test(tc, only_crash_signals_count);
	tcase_add_test(tc, loader_page_attributes_a_real_crash);
	tcase_add_test(tc, report_shows_what_the_master_disabled);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(master_crash_suite);
