/* SPDX-License-Identifier: ISC */
/* The write pipeline's contract with its clients (queued/pipeline.h):
 * the order of the callbacks in a round, work collected during a stage
 * waits for the next one, and durable waiters run only after a sync,
 * against the real sync thread and index in a temporary spool. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "event.h"
#include "../../queued/pipeline.h"
#include "../../queued/queued.h"
#include "../../queued/spool.h"
#include "../../queued/store.h"
#include "../../queued/syncer.h"

/* main.c's, which the test stands for (the spool's modules read it). */
struct queued Q;

/* The calls, in order, as "A.apply B.done+ ..." */
static char calls[2048];
static int rounds_over, rounds_wanted_to_break;
static struct ev_timer *guard;
static struct store *st;

static void
note(const char *what)
{
	if (calls[0] != '\0')
		strlcat(calls, " ", sizeof(calls));
	strlcat(calls, what, sizeof(calls));
}

/* A test client: work for the index and for rounds, counted; what each
 * transaction and each round took. */
struct tclient {
	const char *name;
	int  index_work, round_work;
	int  took_index[8], ntxn;
	int  took_round[8], nround;
	void (*during_apply)(void);
	void (*during_fill)(void);
	void (*during_round_done)(void);
};
static struct tclient A = { .name = "A" }, B = { .name = "B" };

static void
notec(const struct tclient *c, const char *what)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s.%s", c->name, what);
	note(buf);
}

#define CLIENT_FNS(C)							\
static bool C##_iw(void) { return C.index_work > 0; }			\
static void C##_apply(void)						\
{									\
	notec(&C, "apply");						\
	if (C.ntxn < 8)							\
		C.took_index[C.ntxn++] = C.index_work;			\
	C.index_work = 0;						\
	if (C.during_apply != NULL)					\
		C.during_apply();					\
}									\
static void C##_done(bool committed)					\
{									\
	notec(&C, committed ? "done+" : "done-");			\
}									\
static bool C##_rw(void) { return C.round_work > 0; }			\
static void C##_fill(struct sync_round *r)				\
{									\
	(void)r;							\
	notec(&C, "fill");						\
	if (C.nround < 8)						\
		C.took_round[C.nround++] = C.round_work;		\
	C.round_work = 0;						\
	if (C.during_fill != NULL)					\
		C.during_fill();					\
}									\
static void C##_rdone(struct sync_round *r)				\
{									\
	notec(&C, r->sync_err == 0 ? "rdone" : "rfail");		\
	if (C.during_round_done != NULL)				\
		C.during_round_done();					\
}									\
static const struct pipeline_client C##_client = {			\
	.name = #C, .index_wanted = C##_iw, .index_apply = C##_apply,	\
	.index_done = C##_done, .round_wanted = C##_rw,			\
	.round_fill = C##_fill, .round_done = C##_rdone,		\
};
CLIENT_FNS(A)
CLIENT_FNS(B)

static void
after_round(void)
{
	note("after");
	if (++rounds_over >= rounds_wanted_to_break)
		ev_break();
}

static void
timeout(void *arg)
{
	(void)arg;
	ck_abort_msg("the pipeline did not finish its rounds: %s", calls);
}

/* A spool in a fresh directory, the two clients registered. */
static void
start(void)
{
	char err[256];

	ck_assert_int_eq(chdir(fx_tmpdir("pipeline")), 0);
	ck_assert_int_eq(spool_init(), 0);
	st = store_open(SPOOL_DB, err, sizeof(err));
	ck_assert_msg(st != NULL, "store_open: %s", err);
	ev_init();
	guard = ev_timer_new(timeout, NULL);
	ev_timer_start(guard, 10000);
	pipeline_register(&A_client);
	pipeline_register(&B_client);
	ck_assert_int_eq(pipeline_start(st, after_round), 0);
}

/* Run the loop until n more rounds are over. */
static void
run_rounds(int n)
{
	rounds_wanted_to_break = rounds_over + n;
	ck_assert_int_eq(ev_run(), 0);
	ck_assert_int_eq(rounds_over, rounds_wanted_to_break);
}

static void
finish(void)
{
	ck_assert(pipeline_idle());
	pipeline_stop();
	ev_timer_free(guard);
	store_close(st);
}

START_TEST(order_of_a_round)
{
	A.index_work = B.index_work = 1;
	A.round_work = B.round_work = 1;
	start();
	run_rounds(1);
	/* Index: every apply inside the one transaction, then every done in
	 * registration order; the round: fills in that order, round_done in
	 * the reverse one, then the hook. */
	ck_assert_str_eq(calls, "A.apply B.apply A.done+ B.done+ "
	    "A.fill B.fill B.rdone A.rdone after");
	ck_assert_uint_eq(QC.txns, 1);
	ck_assert_uint_eq(QC.rounds, 1);
	finish();
}
END_TEST

/* B settles something that makes work for A, as the scheduler's
 * results make notices: A's part waits for the next transaction. */
static void
more_for_a_index(void)
{
	if (A.ntxn == 1)
		A.index_work = 5;
}

static void
more_for_a_round(void)
{
	if (A.nround == 1)
		A.round_work = 7;
}

START_TEST(work_collected_lands_in_next_round)
{
	A.index_work = 2;
	A.round_work = 3;
	B.during_apply = more_for_a_index;   /* after A applied */
	B.during_fill = more_for_a_round;    /* after A filled */
	start();
	run_rounds(2);
	ck_assert_int_eq(A.ntxn, 2);
	ck_assert_int_eq(A.took_index[0], 2);
	ck_assert_int_eq(A.took_index[1], 5);
	ck_assert_int_eq(A.nround, 2);
	ck_assert_int_eq(A.took_round[0], 3);
	ck_assert_int_eq(A.took_round[1], 7);
	ck_assert_uint_eq(QC.txns, 2);
	/* Nothing left: no third round starts. */
	ck_assert_int_eq(A.index_work + A.round_work, 0);
	finish();
}
END_TEST

static int durable_calls, lazy_calls;
static uint64_t syncs_at_durable, syncs_at_lazy;
static bool durable_ok;

static void
durable(void *arg, bool ok)
{
	(void)arg;
	durable_calls++;
	durable_ok = ok;
	syncs_at_durable = QC.syncs;
	note("durable");
}

static void
lazy(void *arg, bool ok)
{
	(void)arg;
	(void)ok;
	lazy_calls++;
	syncs_at_lazy = QC.syncs;
	note("lazy");
}

/* Registered at the end of a round: it waits for the next one. */
static void
wait_in_round_done(void)
{
	if (A.nround == 1 && durable_calls == 0)
		pipeline_after_durable(durable, NULL);
}

START_TEST(durable_waiters_run_after_a_sync)
{
	A.round_work = 1;
	A.during_round_done = wait_in_round_done;
	start();
	pipeline_after_sync(lazy, NULL);
	run_rounds(1);
	/* A round for a client alone does not sync; neither waiter ran. */
	ck_assert_uint_eq(QC.rounds, 1);
	ck_assert_uint_eq(QC.syncs, 0);
	ck_assert_int_eq(durable_calls, 0);
	ck_assert_int_eq(lazy_calls, 0);
	run_rounds(1);
	/* The waiter's own round synced before it ran, and the lazy one
	 * rode on that sync. */
	ck_assert_uint_eq(QC.rounds, 2);
	ck_assert_int_eq(durable_calls, 1);
	ck_assert(durable_ok);
	ck_assert_uint_ge(syncs_at_durable, 1);
	ck_assert_int_eq(lazy_calls, 1);
	ck_assert_uint_ge(syncs_at_lazy, 1);
	ck_assert_str_eq(calls, "A.fill B.fill B.rdone A.rdone after "
	    "A.fill B.fill B.rdone A.rdone lazy durable after");
	finish();
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("queued_pipeline");
	TCase *tc = tcase_create("contract");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, order_of_a_round);
	tcase_add_test(tc, work_collected_lands_in_next_round);
	tcase_add_test(tc, durable_waiters_run_after_a_sync);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
