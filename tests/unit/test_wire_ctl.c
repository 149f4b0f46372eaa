/* SPDX-License-Identifier: ISC */
/* Every message type of proto_msgs.h against its codec (wire.h,
 * wire_ctl.h), reached through wire_recode(): the table is walked, so a
 * type added without a codec or a sample fails here. Each sample
 * round-trips to the same octets; every truncation, trailing bytes, and
 * out-of-range counts, lengths and enums are refused by the decoders, and
 * the encoders refuse what the decoders would. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "channel.h"
#include "envelope.h"
#include "proto.h"
#include "util.h"
#include "wire.h"
#include "wire_ctl.h"

#define ID1 "01HGZ8Y2K3M4N5P6Q7R8S9T0VW"
#define ID2 "01ARZ3NDEKTSV4RRFFQ69G5FAV"

struct entry {
	const char *ident;
	uint16_t    type;
};
static const struct entry table[] = {
#define MSG(id, v, s) { #id, v },
#include "proto_msgs.h"
#undef MSG
};

static struct chan_msg
msg_of(const void *data, size_t len)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	m.fd = -1;
	m.data = data;
	m.len = len;
	return m;
}

static struct wire_result_rcpt res_rcpts[] = {
	{ 11, RCPT_DELIVERED | RCPT_DSN_PASSED, "mx.example.com", "250 ok" },
	{ 12, RCPT_DEFERRED, NULL, "451 4.3.0 later" },
};
static struct wire_qlist_row qrows[] = {
	{ ID1, "a@example.org", 1200, 1764072000, 0, { 1, 0, 2, 0, 0 } },
	{ ID2, "", 5, 1, 1764072600, { 0, 0, 0, 3, 1 } },
};
static struct wire_qview_rcpt vrcpts[] = {
	{ 1, "b@example.net", "rfc822;b@example.net", 6, RCPT_DEFERRED, 2,
	  1764072600, 1764072000, "451 try later", "mx.example.net" },
	{ 2, "c@example.net", "", 0, RCPT_QUEUED, 0, 0, 0, "", "" },
};
static struct wire_dns_entry dentries[] = {
	{ "example.org", "MX", "ok", 300, 12, "10 mx.example.org" },
	{ "nx.example", "A", "nxdomain", 60, 0, "" },
};
static struct wire_override ovr[] = {
	{ "*", "smart.example.net", 587, "", "" },
	{ "example.com", "", 0, "required", "2/s burst 5" },
};

/* A valid payload of type into mb; false when the test knows none. */
static bool
sample(uint16_t type, struct msgbuf *mb)
{
	static struct wire_procs procs;
	static struct wire_ctl_status st;
	static struct wire_qstats qs;
	static struct wire_plugins pl;
	static struct wire_plugin_list pll;
	struct wire_plugins_off off = { 2, { "crashy", "spam+filter_2" } };
	struct wire_listen l = { LISTEN_CONTROL, 2 };
	struct wire_peer p = { PROC_DELIVERD };
	struct wire_msgid id = { ID1 };
	struct wire_fail f = { 451, "4.3.0 try later" };
	struct wire_result r = { ID1, 2, res_rcpts };
	struct wire_status ds = { 3, 4 };
	struct wire_user_lookup ul = { (uint64_t)1 << 40 | 7, 1000 };
	struct wire_user_name un = { 42, 1001, "www-data" };
	struct wire_qstatus q = { 7, 9, 2, { { RCPT_QUEUED, 5 },
	    { RCPT_DEFERRED, 4 } } };
	struct wire_opfail of = { Q_ERR_NOTFOUND, "no such message" };
	struct wire_text t = { "deliverd says no" };
	struct wire_auth a = { "s3cret-token" };
	struct wire_list_req lr = { RCPT_DEFERRED, ID2, 50 };
	struct wire_qlist ql = { 2, 1, qrows };
	struct wire_qview qv = { ID1, "a@example.org", "client.example",
	    "192.0.2.7", "client.example", "8BITMIME", "env-1", DSN_RET_HDRS, 1,
	    4096, 1764072000, 2, 0, vrcpts, "Subject: hi\r\nFrom: a\r\n", 0 };
	struct wire_ok ok = { 3, "3 recipients due now" };
	struct wire_dns_list dl = { 2, { "192.0.2.53", "2001:db8::53" }, 2, 7,
	    dentries };
	struct wire_domain dom = { "example.org" };
	struct wire_overrides ov = { 2, ovr };
	struct envelope e;
	struct env_rcpt *er;
	int rv = 0;

	switch (type) {
	case MSG_HELLO:
		mb_u32(mb, CHAN_VERSION);
		break;
	case M_CONFIG: case M_START: case M_READY: case Q_CREATE:
	case D_STATUS_REQ: case Q_STATUS_REQ: case CTL_PING: case CTL_STATUS:
	case CTL_QUEUE_FREEZE: case CTL_QUEUE_UNFREEZE: case CTL_QUEUE_PROCESS:
	case CTL_QUEUE_STATS: case CTL_DNS_LIST: case CTL_DNS_CLEAR:
	case CTL_DNS_OVERRIDES: case CTL_PLUGIN_LIST:
		break;
	case M_PLUGINS_DISABLED: rv = wire_plugins_off_encode(mb, &off); break;
	case M_PLUGINS:
		memset(&pl, 0, sizeof(pl));
		pl.proc = PROC_SMTPD;
		pl.n = 2;
		pl.row[0] = (struct wire_plugin_row){ NULL, "good", "1.2", 0, 7, 3,
		    1 };
		pl.row[1] = (struct wire_plugin_row){ NULL, "crashy", "", 1, 0, 0,
		    0 };
		rv = wire_plugins_encode(mb, &pl);
		break;
	case CTL_PLUGIN_LIST_REPLY:
		memset(&pll, 0, sizeof(pll));
		pll.n = 2;
		pll.row[0] = (struct wire_plugin_row){ "smtpd", "good", "1.2", 0,
		    7, 3, 1 };
		pll.row[1] = (struct wire_plugin_row){ "deliverd", "notify", "0.1",
		    1, 0, UINT64_MAX, 0 };
		rv = wire_plugin_list_encode(mb, &pll);
		break;
	case M_LISTEN: rv = wire_listen_encode(mb, &l); break;
	case M_PEER: rv = wire_peer_encode(mb, &p); break;
	case M_PROCS:
		procs.start = 1764072000;
		procs.n = 2;
		procs.p[0] = (struct wire_proc){ PROC_SMTPD, 100, 1764072001, 0 };
		procs.p[1] = (struct wire_proc){ PROC_CTLD, 101, 1764072002, 3 };
		rv = wire_procs_encode(mb, &procs);
		break;
	case Q_CREATE_OK: case Q_COMMIT_OK: case Q_ROLLBACK:
	case CTL_QUEUE_VIEW: case CTL_QUEUE_DELETE: case CTL_QUEUE_RETRY:
		rv = wire_msgid_encode(mb, &id);
		break;
	case Q_CREATE_FAIL: case Q_COMMIT_FAIL: rv = wire_fail_encode(mb, &f); break;
	case Q_COMMIT: case D_JOB:
		env_init(&e);
		strlcpy(e.id, ID1, sizeof(e.id));
		e.sender = xstrdup("a@example.org");
		er = env_add_rcpt(&e, "b@example.net");
		er->orcpt = xstrdup("rfc822;b@example.net");
		env_encode(&e, mb);
		env_clear(&e);
		break;
	case D_RESULT: rv = wire_result_encode(mb, &r, SIZE_MAX, SIZE_MAX); break;
	case D_STATUS: rv = wire_status_encode(mb, &ds); break;
	case M_USER_LOOKUP: rv = wire_user_lookup_encode(mb, &ul); break;
	case M_USER_NAME: rv = wire_user_name_encode(mb, &un); break;
	case Q_STATUS: rv = wire_qstatus_encode(mb, &q); break;
	case Q_OP_FAIL: rv = wire_opfail_encode(mb, &of); break;
	case D_DNS_FAIL: case CTL_PONG: case CTL_ERROR:
		rv = wire_text_encode(mb, &t);
		break;
	case CTL_AUTH: rv = wire_auth_encode(mb, &a); break;
	case CTL_STATUS_REPLY:
		memset(&st, 0, sizeof(st));
		st.version = "1.0";
		st.uptime = 60;
		st.messages = CTL_COUNT_UNKNOWN;
		st.recipients = 2;
		st.n = 2;
		st.row[0] = (struct wire_status_row){ "master", 1, 1, 0 };
		st.row[1] = (struct wire_status_row){ "smtpd", 0, 0, 4 };
		rv = wire_ctl_status_encode(mb, &st);
		break;
	case CTL_QUEUE_LIST: rv = wire_list_req_encode(mb, &lr); break;
	case CTL_QUEUE_LIST_REPLY: rv = wire_qlist_encode(mb, &ql); break;
	case CTL_QUEUE_VIEW_REPLY: rv = wire_qview_encode(mb, &qv); break;
	case CTL_QUEUE_OK: case CTL_DNS_OK: rv = wire_ok_encode(mb, &ok); break;
	case CTL_QUEUE_STATS_REPLY:
		memset(&qs, 0, sizeof(qs));
		qs.messages = 3;
		qs.frozen = 1;
		qs.by_state[RCPT_DEFERRED] = 2;
		qs.n = 2;
		qs.dom[0] = (struct wire_qstats_dom){ "example.org", { 1, 2, 3, 4, 5 } };
		qs.dom[1] = (struct wire_qstats_dom){ "", { 0 } };
		qs.ndomains = 9;
		qs.sync_us = 12345;
		rv = wire_qstats_encode(mb, &qs);
		break;
	case CTL_DNS_LIST_REPLY: rv = wire_dns_list_encode(mb, &dl); break;
	case CTL_DNS_REFRESH: rv = wire_domain_encode(mb, &dom); break;
	case CTL_DNS_OVERRIDES_REPLY: rv = wire_overrides_encode(mb, &ov); break;
	default:
		return false;
	}
	ck_assert_msg(rv == 0 && !mb->err, "sample of %s not encodable",
	    msg_name(type));
	return true;
}

static bool
is_envelope(uint16_t type)
{
	return type == Q_COMMIT || type == D_JOB;
}

START_TEST(every_type_round_trips)
{
	size_t i;

	ck_assert_uint_gt(nitems(table), 40);
	for (i = 0; i < nitems(table); i++) {
		uint16_t type = table[i].type;
		struct msgbuf mb, out;
		struct chan_msg m;

		mb_init(&mb);
		ck_assert_msg(sample(type, &mb), "%s: no sample", table[i].ident);
		m = msg_of(mb.data, mb.len);
		mb_init(&out);
		ck_assert_msg(wire_recode(type, &m, &out) == 0,
		    "%s: codec missing or sample refused", table[i].ident);
		if (!is_envelope(type)) {
			ck_assert_msg(out.len == mb.len && (mb.len == 0 ||
			    memcmp(out.data, mb.data, mb.len) == 0),
			    "%s: not the same octets again", table[i].ident);
		}
		mb_free(&out);
		mb_free(&mb);
	}
	/* A type nobody defined has no codec. */
	ck_assert_int_eq(wire_recode(0xfffe, &(struct chan_msg){ .fd = -1 },
	    NULL), -2);
}
END_TEST

START_TEST(every_type_refuses_truncation_and_trailing)
{
	size_t i, k;

	for (i = 0; i < nitems(table); i++) {
		uint16_t type = table[i].type;
		struct msgbuf mb;
		struct chan_msg m;

		mb_init(&mb);
		ck_assert(sample(type, &mb));
		for (k = 0; k < mb.len; k++) {
			m = msg_of(mb.data, k);
			ck_assert_msg(wire_recode(type, &m, NULL) == -1,
			    "%s cut at %zu accepted", table[i].ident, k);
		}
		mb_u32(&mb, 0);
		m = msg_of(mb.data, mb.len - 3);
		ck_assert_msg(wire_recode(type, &m, NULL) == -1,
		    "%s with 1 trailing byte accepted", table[i].ident);
		m = msg_of(mb.data, mb.len);
		ck_assert_msg(wire_recode(type, &m, NULL) == -1,
		    "%s with 4 trailing bytes accepted", table[i].ident);
		mb_free(&mb);
	}
}
END_TEST

/* A payload of a count and nothing else. */
static int
count_only(uint16_t type, uint32_t n)
{
	struct msgbuf mb;
	struct chan_msg m;
	int rv;

	mb_init(&mb);
	mb_u32(&mb, n);
	m = msg_of(mb.data, mb.len);
	rv = wire_recode(type, &m, NULL);
	mb_free(&mb);
	return rv;
}

START_TEST(counts_bounded_before_allocation)
{
	/* Huge counts over a short payload: refused, nothing allocated for
	 * them (ASan/valgrind would see a 4 GiB calloc). */
	ck_assert_int_eq(count_only(CTL_QUEUE_LIST_REPLY, UINT32_MAX), -1);
	ck_assert_int_eq(count_only(CTL_QUEUE_LIST_REPLY, Q_LIST_MAX), -1);
	ck_assert_int_eq(count_only(CTL_DNS_OVERRIDES_REPLY, UINT32_MAX), -1);
	ck_assert_int_eq(count_only(CTL_DNS_OVERRIDES_REPLY, 3), -1);
	/* An empty list is a list. */
	ck_assert_int_eq(count_only(CTL_DNS_OVERRIDES_REPLY, 0), 0);
}
END_TEST

START_TEST(lists_over_their_maximum_refused)
{
	static struct wire_qlist_row rows[Q_LIST_MAX + 1];
	static struct wire_override o[WIRE_OVERRIDES_MAX + 1];
	struct wire_qlist ql = { Q_LIST_MAX + 1, 0, rows };
	struct wire_overrides ov = { WIRE_OVERRIDES_MAX + 1, o };
	struct wire_overrides ov2;
	struct wire_qlist ql2;
	struct msgbuf mb;
	struct chan_msg m;
	uint32_t i;

	for (i = 0; i <= Q_LIST_MAX; i++)
		rows[i] = (struct wire_qlist_row){ ID1, "", 0, 0, 0, { 0 } };
	for (i = 0; i <= WIRE_OVERRIDES_MAX; i++)
		o[i] = (struct wire_override){ "x", "", 0, "", "" };
	mb_init(&mb);
	ck_assert_int_eq(wire_qlist_encode(&mb, &ql), -1);
	ql.n = Q_LIST_MAX;
	ck_assert_int_eq(wire_qlist_encode(&mb, &ql), 0);
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_qlist_decode(&m, &ql2), 0);
	ck_assert_uint_eq(ql2.n, Q_LIST_MAX);
	ck_assert_str_eq(ql2.row[Q_LIST_MAX - 1].id, ID1);
	wire_qlist_free(&ql2);
	mb_free(&mb);
	/* The same rows, one more of them, written by hand. */
	mb_init(&mb);
	mb_u32(&mb, Q_LIST_MAX + 1);
	for (i = 0; i <= Q_LIST_MAX; i++) {
		mb_str(&mb, ID1);
		mb_str(&mb, "");
		mb_u64(&mb, 0); mb_u64(&mb, 0); mb_u64(&mb, 0);
		mb_u32(&mb, RCPT_STATE_COUNT);
		for (int k = 0; k < RCPT_STATE_COUNT; k++)
			mb_u64(&mb, 0);
	}
	mb_u32(&mb, 0);
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_qlist_decode(&m, &ql2), -1);
	ck_assert_ptr_null(ql2.row);
	mb_free(&mb);

	mb_init(&mb);
	ck_assert_int_eq(wire_overrides_encode(&mb, &ov), -1);
	mb_u32(&mb, WIRE_OVERRIDES_MAX + 1);
	for (i = 0; i <= WIRE_OVERRIDES_MAX; i++) {
		mb_str(&mb, "x"); mb_str(&mb, ""); mb_u32(&mb, 0);
		mb_str(&mb, ""); mb_str(&mb, "");
	}
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_overrides_decode(&m, &ov2), -1);
	ck_assert_ptr_null(ov2.o);
	mb_free(&mb);
}
END_TEST

/* Encoders refuse, and decoders refuse, the same out-of-range values. */
START_TEST(values_out_of_range_refused)
{
	char big[WIRE_TEXT_MAX + 2], tok[CTL_TOKEN_MAX + 2], dom[300];
	struct wire_list_req lr[] = {
		{ RCPT_STATE_COUNT, "", 10 }, { Q_STATE_ANY, "", 0 },
		{ Q_STATE_ANY, "", Q_LIST_MAX + 1 }, { 0, "not-a-ulid", 10 },
	};
	struct wire_qview_rcpt bad_rcpt = { 1, "", "", 0, RCPT_STATE_COUNT, 0,
	    0, 0, "", "" };
	struct wire_qview qv = { ID1, "", "", "", "", "", "", 0, 0, 0, 0, 1, 0,
	    &bad_rcpt, "", 0 };
	struct wire_override bad_port = { "x", "relay", 65536, "", "" };
	struct wire_overrides ov = { 1, &bad_port };
	struct wire_qstatus qs = { 0, 0, 1, { { RCPT_STATE_COUNT, 1 } } };
	struct wire_opfail of = { 0, "x" };
	struct wire_text t = { "" };
	struct wire_auth a = { tok };
	struct wire_domain d;
	struct msgbuf mb;
	struct chan_msg m;
	struct wire_list_req lr2;
	size_t i;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(tok, 't', sizeof(tok) - 1);
	tok[sizeof(tok) - 1] = '\0';
	for (i = 0; i < nitems(lr); i++) {
		mb_init(&mb);
		ck_assert_int_eq(wire_list_req_encode(&mb, &lr[i]), -1);
		mb_u32(&mb, lr[i].state);
		mb_str(&mb, lr[i].after);
		mb_u32(&mb, lr[i].limit);
		m = msg_of(mb.data, mb.len);
		ck_assert_msg(wire_list_req_decode(&m, &lr2) == -1, "list %zu", i);
		mb_free(&mb);
	}
	mb_init(&mb);
	ck_assert_int_eq(wire_qview_encode(&mb, &qv), -1);
	ck_assert_int_eq(wire_overrides_encode(&mb, &ov), -1);
	ck_assert_int_eq(wire_qstatus_encode(&mb, &qs), -1);
	ck_assert_int_eq(wire_opfail_encode(&mb, &of), -1);
	of.code = Q_ERR_INTERNAL + 1;
	ck_assert_int_eq(wire_opfail_encode(&mb, &of), -1);
	ck_assert_int_eq(wire_text_encode(&mb, &t), -1);
	t.text = big;
	ck_assert_int_eq(wire_text_encode(&mb, &t), -1);
	t.text = big + 1;      /* WIRE_TEXT_MAX octets: the longest */
	ck_assert_int_eq(wire_text_encode(&mb, &t), 0);
	ck_assert_int_eq(wire_auth_encode(&mb, &a), -1);
	a.token = tok + 1;     /* CTL_TOKEN_MAX octets */
	ck_assert_int_eq(wire_auth_encode(&mb, &a), 0);
	mb_free(&mb);
	/* The decoders, on the same values written by hand. */
	mb_init(&mb);
	mb_str(&mb, big);
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_recode(CTL_ERROR, &m, NULL), -1);
	mb_free(&mb);
	mb_init(&mb);
	mb_str(&mb, tok);
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_recode(CTL_AUTH, &m, NULL), -1);
	mb_free(&mb);
	mb_init(&mb);
	mb_u64(&mb, 0); mb_u64(&mb, 0); mb_u32(&mb, 1);
	mb_u32(&mb, RCPT_STATE_COUNT); mb_u64(&mb, 1);
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_recode(Q_STATUS, &m, NULL), -1);
	mb_free(&mb);
	mb_init(&mb);
	mb_u32(&mb, 1); mb_str(&mb, "x"); mb_str(&mb, "relay");
	mb_u32(&mb, 65536); mb_str(&mb, ""); mb_str(&mb, "");
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_recode(CTL_DNS_OVERRIDES_REPLY, &m, NULL), -1);
	mb_free(&mb);
	for (i = 0; i < 5; i++) {
		mb_init(&mb);
		mb_u32(&mb, (uint32_t)i);
		mb_str(&mb, "x");
		m = msg_of(mb.data, mb.len);
		ck_assert_int_eq(wire_recode(Q_OP_FAIL, &m, NULL),
		    i >= Q_ERR_NOTFOUND && i <= Q_ERR_INTERNAL ? 0 : -1);
		mb_free(&mb);
	}
	/* Domains: what ctld forwards and deliverd then normalises. */
	memset(dom, 'a', sizeof(dom) - 1);
	dom[sizeof(dom) - 1] = '\0';
	dom[WIRE_DOMAIN_MAX] = '\0';
	ck_assert(wire_domain_valid(dom));
	dom[WIRE_DOMAIN_MAX] = 'a';
	dom[WIRE_DOMAIN_MAX + 1] = '\0';
	ck_assert(!wire_domain_valid(dom));
	ck_assert(!wire_domain_valid(""));
	ck_assert(!wire_domain_valid(".example.org"));
	ck_assert(!wire_domain_valid("a b"));
	ck_assert(!wire_domain_valid("ex/ample"));
	ck_assert(wire_domain_valid("xn--bcher-kva.example"));
	mb_init(&mb);
	mb_str(&mb, "a b");
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_domain_decode(&m, &d), -1);
	mb_free(&mb);
}
END_TEST

START_TEST(decoded_values_are_the_encoded_ones)
{
	struct msgbuf mb;
	struct chan_msg m;
	struct wire_qview v;
	struct wire_dns_list dl;
	struct wire_list_req lr;

	mb_init(&mb);
	ck_assert(sample(CTL_QUEUE_VIEW_REPLY, &mb));
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_qview_decode(&m, &v), 0);
	ck_assert_str_eq(v.id, ID1);
	ck_assert_str_eq(v.headers, "Subject: hi\r\nFrom: a\r\n");
	ck_assert_uint_eq(v.n, 2);
	ck_assert_str_eq(v.rcpt[0].orcpt, "rfc822;b@example.net");
	ck_assert_uint_eq(v.rcpt[0].state, RCPT_DEFERRED);
	ck_assert_uint_eq(v.rcpt[1].id, 2);
	wire_qview_free(&v);
	ck_assert_ptr_null(v.rcpt);
	mb_free(&mb);

	mb_init(&mb);
	ck_assert(sample(CTL_DNS_LIST_REPLY, &mb));
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_dns_list_decode(&m, &dl), 0);
	ck_assert_uint_eq(dl.ns, 2);
	ck_assert_str_eq(dl.server[1], "2001:db8::53");
	ck_assert_str_eq(dl.e[1].status, "nxdomain");
	ck_assert_uint_eq(dl.more, 7);
	wire_dns_list_free(&dl);
	mb_free(&mb);

	mb_init(&mb);
	ck_assert(sample(CTL_QUEUE_LIST, &mb));
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_list_req_decode(&m, &lr), 0);
	ck_assert_uint_eq(lr.state, RCPT_DEFERRED);
	ck_assert_str_eq(lr.after, ID2);
	ck_assert_uint_eq(lr.limit, 50);
	mb_free(&mb);
}
END_TEST

/* The plugin registries cross from an untrusted daemon to the master
 * and on to ctld: every field is checked. */
START_TEST(plugin_rows_checked)
{
	static struct wire_plugins pl, pl2;
	static struct wire_plugin_list pll;
	struct wire_plugins_off off = { 1, { "ok" } }, off2;
	struct msgbuf mb;
	struct chan_msg m;
	char longv[WIRE_PLUGIN_VERSION_MAX + 2];

	memset(&pl, 0, sizeof(pl));
	pl.proc = PROC_QUEUED;
	pl.n = 1;
	pl.row[0] = (struct wire_plugin_row){ NULL, "good", "1", 0, 1, 2, 3 };
	mb_init(&mb);
	ck_assert_int_eq(wire_plugins_encode(&mb, &pl), 0);
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_plugins_decode(&m, &pl2), 0);
	ck_assert_uint_eq(pl2.proc, PROC_QUEUED);
	ck_assert_str_eq(pl2.row[0].name, "good");
	ck_assert_uint_eq(pl2.row[0].slow, 3);
	mb_free(&mb);
	/* Names a loader would refuse, a version too long, a flag not 0/1,
	 * a daemon out of range, too many rows. */
	pl.row[0].name = "../etc/x";
	mb_init(&mb);
	ck_assert_int_eq(wire_plugins_encode(&mb, &pl), -1);
	pl.row[0].name = ".hidden";
	ck_assert_int_eq(wire_plugins_encode(&mb, &pl), -1);
	pl.row[0].name = "";
	ck_assert_int_eq(wire_plugins_encode(&mb, &pl), -1);
	pl.row[0].name = "good";
	memset(longv, 'v', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	pl.row[0].version = longv;
	ck_assert_int_eq(wire_plugins_encode(&mb, &pl), -1);
	pl.row[0].version = "1";
	pl.row[0].disabled = 2;
	ck_assert_int_eq(wire_plugins_encode(&mb, &pl), -1);
	pl.row[0].disabled = 1;
	pl.proc = PROC_COUNT;
	ck_assert_int_eq(wire_plugins_encode(&mb, &pl), -1);
	pl.proc = PROC_SMTPD;
	pl.n = WIRE_PLUGINS_MAX + 1;
	ck_assert_int_eq(wire_plugins_encode(&mb, &pl), -1);
	mb_free(&mb);
	/* The same refusals by the decoder, written by hand. */
	mb_init(&mb);
	mb_u32(&mb, PROC_SMTPD);
	mb_u32(&mb, 1);
	mb_str(&mb, "a/b");
	mb_str(&mb, "1");
	mb_u32(&mb, 0);
	mb_u64(&mb, 0);
	mb_u64(&mb, 0);
	mb_u64(&mb, 0);
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_plugins_decode(&m, &pl2), -1);
	mb_free(&mb);
	mb_init(&mb);
	mb_u32(&mb, 7);                   /* no such daemon */
	mb_u32(&mb, 0);
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_plugins_decode(&m, &pl2), -1);
	mb_free(&mb);
	ck_assert_int_eq(count_only(CTL_PLUGIN_LIST_REPLY, UINT32_MAX), -1);
	ck_assert_int_eq(count_only(CTL_PLUGIN_LIST_REPLY, 0), 0);
	ck_assert_int_eq(count_only(M_PLUGINS_DISABLED, WIRE_PLUGINS_MAX + 1),
	    -1);
	/* A daemon name is lowercase letters. */
	memset(&pll, 0, sizeof(pll));
	pll.n = 1;
	pll.row[0] = (struct wire_plugin_row){ "smtpd\n", "good", "", 0, 0, 0,
	    0 };
	mb_init(&mb);
	ck_assert_int_eq(wire_plugin_list_encode(&mb, &pll), -1);
	pll.row[0].daemon = "smtpd";
	ck_assert_int_eq(wire_plugin_list_encode(&mb, &pll), 0);
	mb_free(&mb);
	/* Disabled names. */
	mb_init(&mb);
	ck_assert_int_eq(wire_plugins_off_encode(&mb, &off), 0);
	m = msg_of(mb.data, mb.len);
	ck_assert_int_eq(wire_plugins_off_decode(&m, &off2), 0);
	ck_assert_uint_eq(off2.n, 1);
	ck_assert_str_eq(off2.name[0], "ok");
	mb_free(&mb);
	off.name[0] = "bad name";
	mb_init(&mb);
	ck_assert_int_eq(wire_plugins_off_encode(&mb, &off), -1);
	mb_free(&mb);
}
END_TEST

static Suite *
wire_ctl_suite(void)
{
	Suite *s = suite_create("wire_ctl");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, every_type_round_trips);
	tcase_add_test(tc, every_type_refuses_truncation_and_trailing);
	tcase_add_test(tc, counts_bounded_before_allocation);
	tcase_add_test(tc, lists_over_their_maximum_refused);
	tcase_add_test(tc, values_out_of_range_refused);
	tcase_add_test(tc, decoded_values_are_the_encoded_ones);
	tcase_add_test(tc, plugin_rows_checked);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(wire_ctl_suite);
