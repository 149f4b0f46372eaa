/* SPDX-License-Identifier: ISC */
/* ctld's plugin table: the master's relayed registries (M_PLUGINS) are
 * checked again, the last valid one of each daemon kept, and `plugin
 * list` is every daemon's rows, named by daemon. */
#include <check.h>
#include <string.h>

#include "fixture.h"
#include "../../ctld/ctld.h"
#include "wire_ctl.h"

static void
report(uint32_t proc, uint32_t n, const char *name, uint32_t disabled,
    uint64_t hooks)
{
	static struct wire_plugins w;
	struct msgbuf mb;
	struct chan_msg m = { .fd = -1, .type = M_PLUGINS };
	uint32_t i;

	memset(&w, 0, sizeof(w));
	w.proc = proc;
	w.n = n;
	for (i = 0; i < n; i++)
		w.row[i] = (struct wire_plugin_row){ NULL, name, "1.0", disabled,
		    hooks, 2, 0 };
	mb_init(&mb);
	ck_assert_int_eq(wire_plugins_encode(&mb, &w), 0);
	m.data = mb.data;
	m.len = mb.len;
	plugin_table_update(&m);
	mb_free(&mb);
}

START_TEST(last_report_of_each_daemon)
{
	static struct wire_plugin_list l;
	struct chan_msg bad = { .fd = -1, .type = M_PLUGINS };
	uint8_t junk[8] = { 1, 0, 0, 0, 9, 9, 9, 9 };

	ck_assert(!plugin_table_fill(&l));
	ck_assert_uint_eq(l.n, 0);
	report(PROC_DELIVERD, 1, "notify", 0, 0);
	report(PROC_SMTPD, 1, "crashy", 0, 4);
	report(PROC_SMTPD, 1, "crashy", 1, 5);    /* replaces the first */
	ck_assert(plugin_table_fill(&l));
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.row[0].daemon, "smtpd");
	ck_assert_str_eq(l.row[0].name, "crashy");
	ck_assert_uint_eq(l.row[0].disabled, 1);
	ck_assert_uint_eq(l.row[0].hooks, 5);
	ck_assert_str_eq(l.row[1].daemon, "deliverd");
	/* A malformed report, or one for ctld or the master, changes nothing. */
	bad.data = junk;
	bad.len = sizeof(junk);
	plugin_table_update(&bad);
	report(PROC_CTLD, 1, "evil", 0, 0);
	report(PROC_MASTER, 1, "evil", 0, 0);
	ck_assert(plugin_table_fill(&l));
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.row[0].name, "crashy");
	/* A daemon with no plugins reports none. */
	report(PROC_DELIVERD, 0, "x", 0, 0);
	ck_assert(plugin_table_fill(&l));
	ck_assert_uint_eq(l.n, 1);
}
END_TEST

static Suite *
ctld_plugin_table_suite(void)
{
	Suite *s = suite_create("ctld_plugin_table");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, last_report_of_each_daemon);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(ctld_plugin_table_suite);
