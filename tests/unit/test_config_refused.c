/* SPDX-License-Identifier: ISC */
/* Keywords of empath.conf(5) that no daemon of this version implements
 * are refused with "file:line: keyword: not implemented yet (...)", not
 * accepted and ignored: a listener's `context` (nothing reads it) and
 * health's `max-queue-size` (the
 * readiness check does not count the queue). The error names the line of
 * the keyword, the rest of the file is still checked, and the keywords
 * that are implemented around them keep working. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "config.h"

/* The text must be refused with exactly these errors, in this order. */
static void
refused(const char *text, const char *const *expect, int n)
{
	struct config *c;
	int i;

	c = fx_parse(text);
	ck_assert_msg(c == NULL, "accepted: %s", text);
	config_free(c);
	ck_assert_msg(fx_nerrs == n, "%d errors for: %s (first: %s)", fx_nerrs,
	    text, fx_nerrs ? fx_errs[0] : "none");
	for (i = 0; i < n; i++)
		ck_assert_str_eq(fx_errs[i], expect[i]);
	fx_reset_errs();
}

#define CONTEXT_ERR(line) "t.conf:" #line ": context: not implemented yet" \
    " (no daemon of this version reads a listener's context)"
#define MAXQ_ERR(line) "t.conf:" #line ": max-queue-size: not implemented" \
    " yet (the readiness check of this version does not count the queue)"

START_TEST(context_is_refused)
{
	static const char *const one[] = { CONTEXT_ERR(3) };

	refused("listen on 127.0.0.1 port 2525 {\n  max-recipients 10\n"
	    "  context \"service\" \"smtp\"\n}", one, 1);
}
END_TEST

START_TEST(max_queue_size_is_refused)
{
	static const char *const one[] = { MAXQ_ERR(2) };

	refused("health listen on 127.0.0.1 port 8080 {\n max-queue-size 10 }",
	    one, 1);
}
END_TEST

/* A refusal does not stop the checks of the rest of the file. */
START_TEST(other_errors_still_reported)
{
	static const char *const errs3[] = {
		CONTEXT_ERR(1),
		"t.conf:2: invalid hostname \"a b\"",
		MAXQ_ERR(3),
	};

	refused("listen on ::1 port 1 { context \"k\" \"v\" }\n"
	    "hostname \"a b\"\n"
	    "health listen on ::1 port 2 { max-queue-size 5 }", errs3, 3);
}
END_TEST

/* What remains of each statement parses as before. */
START_TEST(neighbours_still_accepted)
{
	const char *text =
	    "listen on 127.0.0.1 port 2525 { max-recipients 10 }\n"
	    "health listen on 127.0.0.1 port 8080 { }\n";
	struct config *c;

	c = fx_parse(text);
	ck_assert_msg(c != NULL, "%s", fx_nerrs ? fx_errs[0] : "");
	ck_assert_uint_eq(TAILQ_FIRST(&c->listeners)->max_recipients, 10);
	ck_assert(c->health_enabled);
	ck_assert_uint_eq(c->health_port, 8080);
	config_free(c);
	fx_reset_errs();
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("config_refused");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, context_is_refused);
	tcase_add_test(tc, max_queue_size_is_refused);
	tcase_add_test(tc, other_errors_still_reported);
	tcase_add_test(tc, neighbours_still_accepted);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
