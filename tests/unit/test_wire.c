/* SPDX-License-Identifier: ISC */
/* Wire forms of the daemons' messages (lib/wire.c): every typed codec
 * round-trips, and its decoder refuses every truncation, trailing bytes
 * and out-of-range values; the envelope's size computed beside its
 * encoder equals what env_encode() writes. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "channel.h"
#include "envelope.h"
#include "proto.h"
#include "ulid.h"
#include "util.h"
#include "wire.h"

/* A random string of 0..max-1 printable octets, or NULL (when nullable)
 * one time in four. */
static char *
rand_str(unsigned max, bool nullable)
{
	char *s;
	unsigned i, n;

	if (nullable && rand() % 4 == 0)
		return NULL;
	n = (unsigned)rand() % max;
	s = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		s[i] = (char)(33 + rand() % 94);
	s[n] = '\0';
	return s;
}

START_TEST(env_size_matches_encoding)
{
	int round;

	srand(20261206);
	for (round = 0; round < 500; round++) {
		struct envelope e;
		struct msgbuf mb;
		size_t i, nr, base;

		env_init(&e);
		if (rand() % 2)
			ulid_new(e.id);
		e.sender = rand_str(300, false);
		e.helo = rand_str(300, true);
		e.client_addr = rand_str(50, true);
		e.client_name = rand_str(300, true);
		e.body = rand_str(12, true);
		e.envid = rand_str(100, true);
		e.size = (uint64_t)rand();
		nr = (size_t)rand() % 40;
		for (i = 0; i < nr; i++) {
			char *a = rand_str(300, false);
			struct env_rcpt *r = env_add_rcpt(&e, a);

			free(a);
			r->orcpt = rand_str(300, true);
		}
		base = env_base_wire_size(&e);
		mb_init(&mb);
		env_encode(&e, &mb);
		ck_assert(!mb.err);
		ck_assert_uint_eq(env_wire_size(&e), mb.len);
		for (i = 0; i < e.nrcpt; i++)
			base += env_rcpt_wire_size(e.rcpt[i].addr,
			    e.rcpt[i].orcpt);
		ck_assert_uint_eq(base, mb.len);
		mb_free(&mb);
		env_clear(&e);
	}
}
END_TEST

#define ID1 "01HGZ8Y2K3M4N5P6Q7R8S9T0VW"

static struct chan_msg
msg_of(const struct msgbuf *mb, size_t len)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	m.fd = -1;
	m.data = mb->data;
	m.len = len;
	return m;
}

/* One valid payload of each converted type, and its decoder (which must
 * accept the payload and nothing shorter or longer). */
typedef int (*decode_fn)(const struct chan_msg *);

static int
dec_listen(const struct chan_msg *m)
{
	struct wire_listen w;

	return wire_listen_decode(m, &w);
}

static int
dec_peer(const struct chan_msg *m)
{
	struct wire_peer w;

	return wire_peer_decode(m, &w);
}

static int
dec_procs(const struct chan_msg *m)
{
	static struct wire_procs w;

	return wire_procs_decode(m, &w);
}

static int
dec_msgid(const struct chan_msg *m)
{
	struct wire_msgid w;

	return wire_msgid_decode(m, &w);
}

static int
dec_fail(const struct chan_msg *m)
{
	struct wire_fail w;

	return wire_fail_decode(m, &w);
}

static int
dec_result(const struct chan_msg *m)
{
	struct wire_result w;
	int rv = wire_result_decode(m, &w);

	wire_result_free(&w);
	return rv;
}

static int
dec_status(const struct chan_msg *m)
{
	struct wire_status w;

	return wire_status_decode(m, &w);
}

static struct wire_result_rcpt sample_rcpts[] = {
	{ 11, RCPT_DELIVERED | RCPT_DSN_PASSED, "mx.example.com[192.0.2.1]",
	  "250 2.0.0 ok" },
	{ (uint64_t)1 << 40, RCPT_DEFERRED, NULL, "451 4.3.0 later" },
	{ 13, RCPT_FAILED, "mx.example.com", NULL },
	{ 14, RCPT_POSTPONED | 300u << RCPT_POSTPONE_SHIFT, "", "rate" },
};

/* Encode sample i into mb; its decoder, or NULL past the last. */
static decode_fn
sample_payload(int i, struct msgbuf *mb)
{
	struct wire_listen l = { LISTEN_HEALTH, 7 };
	struct wire_peer p = { PROC_CTLD };
	static struct wire_procs ps;
	struct wire_msgid id = { ID1 };
	struct wire_fail f = { 452, "4.3.1 Insufficient system storage" };
	struct wire_result r = { ID1, 4, sample_rcpts };
	struct wire_status st = { 3, 9 };

	switch (i) {
	case 0:
		ck_assert_int_eq(wire_listen_encode(mb, &l), 0);
		return dec_listen;
	case 1:
		ck_assert_int_eq(wire_peer_encode(mb, &p), 0);
		return dec_peer;
	case 2:
		ps.start = 1764072000;
		ps.n = 2;
		ps.p[0] = (struct wire_proc){ PROC_SMTPD, 100, 1764072001, 0 };
		ps.p[1] = (struct wire_proc){ 9, 0, 0, 7 };
		ck_assert_int_eq(wire_procs_encode(mb, &ps), 0);
		return dec_procs;
	case 3:
		ck_assert_int_eq(wire_msgid_encode(mb, &id), 0);
		return dec_msgid;
	case 4:
		ck_assert_int_eq(wire_fail_encode(mb, &f), 0);
		return dec_fail;
	case 5:
		ck_assert_int_eq(wire_result_encode(mb, &r, SIZE_MAX,
		    SIZE_MAX), 0);
		return dec_result;
	case 6:
		ck_assert_int_eq(wire_status_encode(mb, &st), 0);
		return dec_status;
	}
	return NULL;
}

START_TEST(truncated_and_trailing_refused)
{
	int i;

	for (i = 0; ; i++) {
		struct msgbuf mb;
		struct chan_msg m;
		decode_fn dec;
		size_t k;

		mb_init(&mb);
		if ((dec = sample_payload(i, &mb)) == NULL) {
			mb_free(&mb);
			break;
		}
		m = msg_of(&mb, mb.len);
		ck_assert_msg(dec(&m) == 0, "sample %d", i);
		for (k = 0; k < mb.len; k++) {
			m = msg_of(&mb, k);
			ck_assert_msg(dec(&m) == -1, "sample %d cut at %zu", i, k);
		}
		mb_u32(&mb, 0);
		m = msg_of(&mb, mb.len - 1);
		ck_assert_msg(dec(&m) == -1, "sample %d, 1 trailing byte", i);
		m = msg_of(&mb, mb.len);
		ck_assert_msg(dec(&m) == -1, "sample %d, 4 trailing bytes", i);
		mb_free(&mb);
	}
	ck_assert_int_eq(i, 7);
}
END_TEST

START_TEST(master_round_trip_and_ranges)
{
	struct wire_listen l = { LISTEN_CONTROL, 3 }, l2;
	struct wire_peer p = { PROC_QUEUED }, p2;
	static struct wire_procs ps, ps2;
	struct msgbuf mb;
	struct chan_msg m;
	uint32_t k;

	mb_init(&mb);
	ck_assert_int_eq(wire_listen_encode(&mb, &l), 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_listen_decode(&m, &l2), 0);
	ck_assert_uint_eq(l2.kind, LISTEN_CONTROL);
	ck_assert_uint_eq(l2.index, 3);
	mb_free(&mb);
	/* kind outside LISTEN_*: neither end takes it. */
	for (k = 0; k < 7; k++) {
		bool ok = k >= LISTEN_SMTP && k <= LISTEN_SUBMIT;

		l.kind = k;
		mb_init(&mb);
		ck_assert_int_eq(wire_listen_encode(&mb, &l), ok ? 0 : -1);
		mb_free(&mb);
		mb_init(&mb);
		mb_u32(&mb, k);
		mb_u32(&mb, 0);
		m = msg_of(&mb, mb.len);
		ck_assert_int_eq(wire_listen_decode(&m, &l2), ok ? 0 : -1);
		mb_free(&mb);
	}

	mb_init(&mb);
	ck_assert_int_eq(wire_peer_encode(&mb, &p), 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_peer_decode(&m, &p2), 0);
	ck_assert_uint_eq(p2.proc, PROC_QUEUED);
	mb_free(&mb);
	p.proc = PROC_COUNT;
	mb_init(&mb);
	ck_assert_int_eq(wire_peer_encode(&mb, &p), -1);
	mb_u32(&mb, PROC_COUNT);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_peer_decode(&m, &p2), -1);
	mb_free(&mb);

	ps.start = 42;
	ps.n = WIRE_PROCS_MAX;
	for (k = 0; k < ps.n; k++)
		ps.p[k] = (struct wire_proc){ k, 1000 + k, (uint64_t)k << 33,
		    k * 3 };
	mb_init(&mb);
	ck_assert_int_eq(wire_procs_encode(&mb, &ps), 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_procs_decode(&m, &ps2), 0);
	ck_assert_uint_eq(ps2.start, 42);
	ck_assert_uint_eq(ps2.n, WIRE_PROCS_MAX);
	ck_assert_mem_eq(ps2.p, ps.p, sizeof(ps.p));
	mb_free(&mb);
	ps.n = WIRE_PROCS_MAX + 1;
	mb_init(&mb);
	ck_assert_int_eq(wire_procs_encode(&mb, &ps), -1);
	mb_u64(&mb, 1);
	mb_u32(&mb, WIRE_PROCS_MAX + 1);
	for (k = 0; k < WIRE_PROCS_MAX + 1; k++) {
		mb_u32(&mb, 1);
		mb_u32(&mb, 1);
		mb_u64(&mb, 1);
		mb_u32(&mb, 1);
	}
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_procs_decode(&m, &ps2), -1);
	ck_assert_uint_eq(ps2.n, 0);
	mb_free(&mb);
}
END_TEST

START_TEST(queue_round_trip_and_ranges)
{
	struct wire_msgid id = { ID1 }, id2;
	struct wire_fail f = { 554, "5.3.4 Message too big" }, f2;
	struct msgbuf mb;
	struct chan_msg m;
	char big[WIRE_FAIL_TEXT_MAX + 1];
	static const uint32_t codes[] = { 0, 250, 399, 400, 599, 600 };
	size_t k;

	mb_init(&mb);
	ck_assert_int_eq(wire_msgid_encode(&mb, &id), 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_msgid_decode(&m, &id2), 0);
	ck_assert_str_eq(id2.msgid, ID1);
	/* A valid id with bytes after it: refused, but the id is kept for
	 * a rollback. */
	mb_u32(&mb, 1);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_msgid_decode(&m, &id2), -1);
	ck_assert_str_eq(id2.msgid, ID1);
	mb_free(&mb);
	/* Not a ULID: refused by both ends, nothing kept. */
	mb_init(&mb);
	strlcpy(id.msgid, "01HGZ8Y2K3M4N5P6Q7R8S9T0V!", sizeof(id.msgid));
	ck_assert_int_eq(wire_msgid_encode(&mb, &id), -1);
	mb_str(&mb, id.msgid);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_msgid_decode(&m, &id2), -1);
	ck_assert_str_eq(id2.msgid, "");
	mb_free(&mb);
	mb_init(&mb);
	mb_str(&mb, ID1 "0");
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_msgid_decode(&m, &id2), -1);
	mb_free(&mb);

	mb_init(&mb);
	ck_assert_int_eq(wire_fail_encode(&mb, &f), 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_fail_decode(&m, &f2), 0);
	ck_assert_uint_eq(f2.code, 554);
	ck_assert_str_eq(f2.text, "5.3.4 Message too big");
	mb_free(&mb);
	for (k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
		int want = codes[k] >= 400 && codes[k] <= 599 ? 0 : -1;

		f.code = codes[k];
		mb_init(&mb);
		ck_assert_int_eq(wire_fail_encode(&mb, &f), want);
		mb_free(&mb);
		mb_init(&mb);
		mb_u32(&mb, codes[k]);
		mb_str(&mb, "4.0.0 x");
		m = msg_of(&mb, mb.len);
		ck_assert_int_eq(wire_fail_decode(&m, &f2), want);
		mb_free(&mb);
	}
	/* Text: 1..WIRE_FAIL_TEXT_MAX - 1 octets. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (k = 0; k <= WIRE_FAIL_TEXT_MAX; k += WIRE_FAIL_TEXT_MAX / 4 - 1) {
		int want = k > 0 && k < WIRE_FAIL_TEXT_MAX ? 0 : -1;

		mb_init(&mb);
		mb_u32(&mb, 451);
		mb_str(&mb, big + sizeof(big) - 1 - k);
		m = msg_of(&mb, mb.len);
		ck_assert_msg(wire_fail_decode(&m, &f2) == want, "text of %zu", k);
		mb_free(&mb);
	}
	mb_init(&mb);
	mb_u32(&mb, 451);
	mb_str(&mb, big + 1);       /* WIRE_FAIL_TEXT_MAX - 1 octets */
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_fail_decode(&m, &f2), 0);
	ck_assert_uint_eq(strlen(f2.text), WIRE_FAIL_TEXT_MAX - 1);
	mb_free(&mb);
	mb_init(&mb);
	mb_u32(&mb, 451);
	mb_str(&mb, big);           /* WIRE_FAIL_TEXT_MAX octets */
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_fail_decode(&m, &f2), -1);
	mb_free(&mb);
	strlcpy(f.text, "", sizeof(f.text));
	f.code = 451;
	mb_init(&mb);
	ck_assert_int_eq(wire_fail_encode(&mb, &f), -1);
	mb_free(&mb);
}
END_TEST

START_TEST(deliver_round_trip_and_ranges)
{
	struct wire_result r = { ID1, 4, sample_rcpts }, r2;
	struct wire_status st = { 5, UINT32_MAX }, st2;
	struct msgbuf mb;
	struct chan_msg m;
	static const uint32_t bad[] = { RCPT_QUEUED, RCPT_INFLIGHT,
	    RCPT_STATE_COUNT, RCPT_DEFERRED | RCPT_DSN_PASSED, RCPT_DSN_PASSED,
	    RCPT_POSTPONED | 1, UINT32_MAX };
	uint32_t i, k;

	mb_init(&mb);
	ck_assert_int_eq(wire_result_encode(&mb, &r, SIZE_MAX, SIZE_MAX), 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_result_decode(&m, &r2), 0);
	ck_assert_str_eq(r2.msgid, ID1);
	ck_assert_uint_eq(r2.n, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(r2.r[i].id, sample_rcpts[i].id);
		ck_assert_uint_eq(r2.r[i].state, sample_rcpts[i].state);
		ck_assert_str_eq(r2.r[i].host, sample_rcpts[i].host ?
		    sample_rcpts[i].host : "");
		ck_assert_str_eq(r2.r[i].diag, sample_rcpts[i].diag ?
		    sample_rcpts[i].diag : "");
	}
	wire_result_free(&r2);
	mb_free(&mb);

	/* Texts cut to fit one frame. */
	mb_init(&mb);
	ck_assert_int_eq(wire_result_encode(&mb, &r, 2, 5), 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_result_decode(&m, &r2), 0);
	ck_assert_str_eq(r2.r[0].host, "mx");
	ck_assert_str_eq(r2.r[0].diag, "250 2");
	ck_assert_str_eq(r2.r[3].diag, "rate");
	wire_result_free(&r2);
	mb_free(&mb);

	/* A state queued could not apply: refused by both ends. */
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct wire_result_rcpt one = { 1, bad[k], "h", "d" };
		struct wire_result rb = { ID1, 1, &one };

		ck_assert(!wire_result_state_valid(bad[k]));
		mb_init(&mb);
		ck_assert_int_eq(wire_result_encode(&mb, &rb, SIZE_MAX,
		    SIZE_MAX), -1);
		mb_free(&mb);
		mb_init(&mb);
		mb_str(&mb, ID1);
		mb_u32(&mb, 1);
		mb_u64(&mb, 1);
		mb_u32(&mb, bad[k]);
		mb_str(&mb, "h");
		mb_str(&mb, "d");
		m = msg_of(&mb, mb.len);
		ck_assert_int_eq(wire_result_decode(&m, &r2), -1);
		ck_assert_ptr_null(r2.r);
		mb_free(&mb);
	}
	/* A count the payload cannot hold is refused before allocating. */
	mb_init(&mb);
	mb_str(&mb, ID1);
	mb_u32(&mb, UINT32_MAX);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_result_decode(&m, &r2), -1);
	mb_free(&mb);
	/* Not a ULID. */
	mb_init(&mb);
	mb_str(&mb, "");
	mb_u32(&mb, 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_result_decode(&m, &r2), -1);
	mb_free(&mb);

	mb_init(&mb);
	ck_assert_int_eq(wire_status_encode(&mb, &st), 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_status_decode(&m, &st2), 0);
	ck_assert_uint_eq(st2.jobs, 5);
	ck_assert_uint_eq(st2.conns, UINT32_MAX);
	mb_free(&mb);
}
END_TEST

/* M_USER_LOOKUP and M_USER_NAME: the name is "" or a plain login name
 * (lib/localusers.c's rule), whichever end is hostile. */
START_TEST(user_lookup_round_trip_and_names)
{
	struct wire_user_lookup l = { UINT64_MAX - 1, UINT32_MAX }, l2;
	struct wire_user_name n = { 77, 1000, "alice" }, n2;
	static const char *const bad[] = { "a b", "-x", "a@b", "r\xc3\xb6ot",
	    "x\n", "abcdefghijklmnopqrstuvwxyz0123456" };
	struct msgbuf mb;
	struct chan_msg m;
	size_t i;

	mb_init(&mb);
	ck_assert_int_eq(wire_user_lookup_encode(&mb, &l), 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_user_lookup_decode(&m, &l2), 0);
	ck_assert(l2.cookie == UINT64_MAX - 1);
	ck_assert_uint_eq(l2.uid, UINT32_MAX);
	mb_free(&mb);

	mb_init(&mb);
	ck_assert_int_eq(wire_user_name_encode(&mb, &n), 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_user_name_decode(&m, &n2), 0);
	ck_assert(n2.cookie == 77);
	ck_assert_uint_eq(n2.uid, 1000);
	ck_assert_str_eq(n2.name, "alice");
	mb_free(&mb);
	/* No such user. */
	n.name[0] = '\0';
	mb_init(&mb);
	ck_assert_int_eq(wire_user_name_encode(&mb, &n), 0);
	m = msg_of(&mb, mb.len);
	ck_assert_int_eq(wire_user_name_decode(&m, &n2), 0);
	ck_assert_str_eq(n2.name, "");
	mb_free(&mb);
	for (i = 0; i < nitems(bad); i++) {
		mb_init(&mb);
		mb_u64(&mb, 1);
		mb_u32(&mb, 2);
		mb_str(&mb, bad[i]);
		m = msg_of(&mb, mb.len);
		ck_assert_msg(wire_user_name_decode(&m, &n2) == -1, "%s", bad[i]);
		ck_assert_str_eq(n2.name, "");
		mb_free(&mb);
		if (strlen(bad[i]) <= WIRE_LOGIN_MAX) {
			strlcpy(n.name, bad[i], sizeof(n.name));
			mb_init(&mb);
			ck_assert_msg(wire_user_name_encode(&mb, &n) == -1, "%s",
			    bad[i]);
			mb_free(&mb);
		}
	}
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, env_size_matches_encoding);
	tcase_add_test(tc, truncated_and_trailing_refused);
	tcase_add_test(tc, master_round_trip_and_ranges);
	tcase_add_test(tc, queue_round_trip_and_ranges);
	tcase_add_test(tc, deliver_round_trip_and_ranges);
	tcase_add_test(tc, user_lookup_round_trip_and_names);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(wire_suite);
