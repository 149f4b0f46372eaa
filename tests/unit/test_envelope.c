/* SPDX-License-Identifier: ISC */
/* Envelope wire form: round trip, optional fields, and hostile payloads
 * (every truncation, trailing bytes, bad ids, counts and enums) rejected
 * with nothing leaked (run under ASan/LSan with SANITIZE=1). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "envelope.h"
#include "proto.h"
#include "smtp.h"
#include "ulid.h"
#include "util.h"

static void
sample(struct envelope *e)
{
	struct env_rcpt *r;

	env_init(e);
	ulid_new(e->id);
	e->sender = xstrdup("alice@example.org");
	e->helo = xstrdup("client.example.net");
	e->client_addr = xstrdup("192.0.2.7");
	e->client_name = xstrdup("client.example.net");
	e->body = xstrdup("8BITMIME");
	e->envid = xstrdup("QQ314159");
	e->ret = DSN_RET_HDRS;
	e->smtputf8 = 1;
	e->size = 5u * 1024 * 1024 + 3;
	e->created = 1764072000;
	e->meta = xstrdup("corr.id=01J5X\nscore=3.5 (spam?)\n");
	e->headers = xstrdup("X-Corr: 01J5X\r\nX-Scanned: yes\r\n");

	r = env_add_rcpt(e, "bob@example.com");
	r->id = 11;
	r->orcpt = xstrdup("rfc822;bob@example.com");
	r->notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE;
	r = env_add_rcpt(e, "carol@example.com");
	r->id = (uint64_t)1 << 40;
	r->state = RCPT_DEFERRED;
	r->attempts = 3;
	r = env_add_rcpt(e, "dave@test.example.com");
	r->id = 13;
	r->notify = DSN_NOTIFY_NEVER;
	r->state = RCPT_FAILED;
}

static void
reader(struct msgreader *mr, struct chan_msg *m, const uint8_t *p, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->data = p;
	m->len = len;
	mr_init(mr, m);
}

static int
decode(struct envelope *out, const uint8_t *p, size_t len)
{
	struct chan_msg m;
	struct msgreader mr;

	reader(&mr, &m, p, len);
	return env_decode(out, &mr);
}

static void
assert_cleared(const struct envelope *e)
{
	ck_assert_str_eq(e->id, "");
	ck_assert_ptr_null(e->sender);
	ck_assert_ptr_null(e->helo);
	ck_assert_ptr_null(e->client_addr);
	ck_assert_ptr_null(e->client_name);
	ck_assert_ptr_null(e->body);
	ck_assert_ptr_null(e->envid);
	ck_assert_ptr_null(e->meta);
	ck_assert_ptr_null(e->headers);
	ck_assert_ptr_null(e->rcpt);
	ck_assert_uint_eq(e->nrcpt, 0);
}

START_TEST(round_trip)
{
	struct envelope a, b;
	struct msgbuf mb;
	size_t i;

	sample(&a);
	mb_init(&mb);
	env_encode(&a, &mb);
	ck_assert(!mb.err);
	ck_assert_int_eq(decode(&b, mb.data, mb.len), 0);

	ck_assert_str_eq(b.id, a.id);
	ck_assert_str_eq(b.sender, a.sender);
	ck_assert_str_eq(b.helo, a.helo);
	ck_assert_str_eq(b.client_addr, a.client_addr);
	ck_assert_str_eq(b.client_name, a.client_name);
	ck_assert_str_eq(b.body, a.body);
	ck_assert_str_eq(b.envid, a.envid);
	ck_assert_uint_eq(b.ret, a.ret);
	ck_assert_uint_eq(b.smtputf8, a.smtputf8);
	ck_assert_uint_eq(b.size, a.size);
	ck_assert_int_eq(b.created, a.created);
	ck_assert_str_eq(b.meta, a.meta);
	ck_assert_str_eq(b.headers, a.headers);
	ck_assert_uint_eq(b.nrcpt, 3);
	for (i = 0; i < a.nrcpt; i++) {
		ck_assert_uint_eq(b.rcpt[i].id, a.rcpt[i].id);
		ck_assert_str_eq(b.rcpt[i].addr, a.rcpt[i].addr);
		ck_assert_uint_eq(b.rcpt[i].notify, a.rcpt[i].notify);
		ck_assert_uint_eq(b.rcpt[i].state, a.rcpt[i].state);
		ck_assert_uint_eq(b.rcpt[i].attempts, a.rcpt[i].attempts);
		/* Copies, not pointers into the message buffer. */
		ck_assert((const uint8_t *)b.rcpt[i].addr < mb.data ||
		    (const uint8_t *)b.rcpt[i].addr >= mb.data + mb.len);
	}
	ck_assert_str_eq(b.rcpt[0].orcpt, "rfc822;bob@example.com");
	ck_assert_ptr_null(b.rcpt[1].orcpt);

	/* The decoded envelope outlives the buffer and can still grow. */
	mb_free(&mb);
	env_add_rcpt(&b, "erin@example.com");
	ck_assert_str_eq(b.rcpt[3].addr, "erin@example.com");
	ck_assert_str_eq(b.rcpt[0].addr, "bob@example.com");
	env_clear(&a);
	env_clear(&b);
	assert_cleared(&b);
}
END_TEST

START_TEST(optional_fields_null)
{
	struct envelope a, b;
	struct msgbuf mb;

	env_init(&a);
	a.sender = xstrdup("");           /* null reverse path */
	a.helo = xstrdup("h");
	a.client_addr = xstrdup("2001:db8::1");
	env_add_rcpt(&a, "x@y");
	mb_init(&mb);
	env_encode(&a, &mb);
	ck_assert_int_eq(decode(&b, mb.data, mb.len), 0);
	ck_assert_str_eq(b.id, "");
	ck_assert_str_eq(b.sender, "");
	ck_assert_ptr_null(b.client_name);
	ck_assert_ptr_null(b.body);
	ck_assert_ptr_null(b.envid);
	ck_assert_ptr_null(b.rcpt[0].orcpt);
	ck_assert_uint_eq(b.ret, DSN_RET_UNSET);
	mb_free(&mb);
	env_clear(&a);
	env_clear(&b);
}
END_TEST

START_TEST(truncated_rejected)
{
	struct envelope a, b;
	struct msgbuf mb;
	uint8_t *copy;
	size_t len;

	sample(&a);
	mb_init(&mb);
	env_encode(&a, &mb);
	/* A heap copy of exactly len bytes: ASan sees any read past it. */
	for (len = 0; len < mb.len; len++) {
		copy = xmalloc(len ? len : 1);
		memcpy(copy, mb.data, len);
		ck_assert_msg(decode(&b, copy, len) == -1, "accepted %zu of %zu",
		    len, mb.len);
		assert_cleared(&b);
		free(copy);
	}
	mb_free(&mb);
	env_clear(&a);
}
END_TEST

START_TEST(trailing_bytes_rejected)
{
	struct envelope a, b;
	struct msgbuf mb;

	sample(&a);
	mb_init(&mb);
	env_encode(&a, &mb);
	mb_u32(&mb, 0);
	ck_assert_int_eq(decode(&b, mb.data, mb.len), -1);
	assert_cleared(&b);
	mb_free(&mb);
	env_clear(&a);
}
END_TEST

/* Encode a with one field changed through fn, expect rejection. */
static void
expect_rejected(void (*fn)(struct envelope *))
{
	struct envelope a, b;
	struct msgbuf mb;

	sample(&a);
	fn(&a);
	mb_init(&mb);
	env_encode(&a, &mb);
	ck_assert(!mb.err);
	ck_assert_int_eq(decode(&b, mb.data, mb.len), -1);
	assert_cleared(&b);
	mb_free(&mb);
	env_clear(&a);
}

static void bad_id(struct envelope *e) { strcpy(e->id, "../../etc/passwd"); }
static void lower_id(struct envelope *e) { e->id[5] = 'a'; }
static void bad_ret(struct envelope *e) { e->ret = 7; }
static void bad_state(struct envelope *e) { e->rcpt[2].state = RCPT_STATE_COUNT; }
static void bad_notify(struct envelope *e) { e->rcpt[1].notify = 0x10; }
static void empty_rcpt(struct envelope *e) { e->rcpt[1].addr[0] = '\0'; }
static void
long_helo(struct envelope *e)
{
	free(e->helo);
	e->helo = xmalloc(ENV_MAX_STR + 2);
	memset(e->helo, 'h', ENV_MAX_STR + 1);
	e->helo[ENV_MAX_STR + 1] = '\0';
}

/* Plugin metadata and header fields reach other daemons' plugins and
 * the message deliverd sends: only what plugin_ctx.c itself writes. */
static const char *meta_now, *headers_now;
static void
set_meta(struct envelope *e)
{
	free(e->meta);
	e->meta = xstrdup(meta_now);
}
static void
set_headers(struct envelope *e)
{
	free(e->headers);
	e->headers = xstrdup(headers_now);
}

START_TEST(plugin_fields_checked)
{
	static const char *bad_meta[] = {
		"k=v",                   /* line not ended */
		"=v\n",                  /* empty key */
		"k v=1\n",               /* key with a space */
		"k=a\x01b\n",            /* control character */
		"k=1\nk=2\n",            /* duplicate */
		"k=\xff\n",              /* not UTF-8 */
	};
	static const char *bad_headers[] = {
		"X-A: 1\n",                         /* bare LF */
		"X-A: 1",                           /* not ended */
		"X-A: 1\r\n\r\nbody\r\n",          /* a blank line: the body */
		"X A: 1\r\n",                      /* space in the name */
		"X-A:1\r\n",                       /* not as written */
		"X-A: a\rb\r\n",                   /* bare CR in the value */
		"X-A: \x80\r\n",                   /* 8-bit */
		"Received: x\r\n X-Folded: y\r\n",   /* a continuation line */
	};
	size_t i;
	char *big;

	for (i = 0; i < nitems(bad_meta); i++) {
		meta_now = bad_meta[i];
		expect_rejected(set_meta);
	}
	for (i = 0; i < nitems(bad_headers); i++) {
		headers_now = bad_headers[i];
		expect_rejected(set_headers);
	}
	/* Seventeen fields: one more than a plugin can add. */
	big = xmalloc(17 * 8 + 1);
	big[0] = '\0';
	for (i = 0; i < 17; i++)
		strlcat(big, "X-N: 1\r\n", 17 * 8 + 1);
	headers_now = big;
	expect_rejected(set_headers);
	free(big);
}
END_TEST

START_TEST(bad_fields_rejected)
{
	expect_rejected(bad_id);
	expect_rejected(lower_id);
	expect_rejected(bad_ret);
	expect_rejected(bad_state);
	expect_rejected(bad_notify);
	expect_rejected(empty_rcpt);
	expect_rejected(long_helo);
}
END_TEST


/* An ORCPT crosses from smtpd to queued and on to deliverd, which puts
 * it on a command line: it must be "type;address" with an atom for a
 * type (RFC 3461 4.2) and no control characters. */
static const char *orcpt_now;
static void
set_orcpt(struct envelope *e)
{
	free(e->rcpt[0].orcpt);
	e->rcpt[0].orcpt = xstrdup(orcpt_now);
}

START_TEST(orcpt_checked)
{
	static const char *bad[] = {
		"rfc822\r\nRCPT TO:<victim@evil.example> NOTIFY=NEVER\r\n"
		    "X;bob@example.org",
		"rfc822;bob@example.org\r\nRSET",
		"rfc822",
		";bob@example.org",
		"rfc 822;bob@example.org",
		"rfc822:x;bob@example.org",
		"rfc822;b\tob@example.org",
		"rfc822;b\x01ob@example.org",
		"rfc822;bob@example.org\x7f",
	};
	/* What clients send; smtpd keeps the decoded form. */
	static const char *sent[] = {
		"rfc822;bob@example.org",
		"rfc822;a+2Bb+3D@example.org",
		"RFC822;x+20y@example.org",
		"utf-8;j\\x{F6}rg@b\\x{FC}cher.example",
		"rfc822;j\xc3\xb6rg@example.org",
		"x-local-Type-9;what+20ever",
	};
	struct envelope a, b;
	struct msgbuf mb;
	char stored[SMTP_ORCPT_MAX + 1];
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		orcpt_now = bad[i];
		expect_rejected(set_orcpt);
	}
	for (i = 0; i < nitems(sent); i++) {
		ck_assert_int_gt(smtp_dsn_orcpt(sent[i], true, stored,
		    sizeof(stored)), 0);
		sample(&a);
		orcpt_now = stored;
		set_orcpt(&a);
		mb_init(&mb);
		env_encode(&a, &mb);
		ck_assert_int_eq(decode(&b, mb.data, mb.len), 0);
		ck_assert_str_eq(b.rcpt[0].orcpt, stored);
		mb_free(&mb);
		env_clear(&a);
		env_clear(&b);
	}
}
END_TEST

/* Recipient counts over the limit or beyond what the payload holds. */
START_TEST(huge_count_rejected)
{
	struct envelope b;
	struct msgbuf mb;
	const uint32_t counts[] = { ENV_MAX_RCPT + 1, UINT32_MAX, 2 };
	size_t i;

	for (i = 0; i < nitems(counts); i++) {
		mb_init(&mb);
		mb_str(&mb, "");
		mb_str(&mb, "a@b");
		mb_str(&mb, "h");
		mb_str(&mb, "127.0.0.1");
		mb_str(&mb, NULL);
		mb_str(&mb, NULL);
		mb_str(&mb, NULL);
		mb_u32(&mb, 0);
		mb_u32(&mb, 0);
		mb_u64(&mb, 0);
		mb_u64(&mb, 0);
		mb_u32(&mb, counts[i]);
		/* one recipient only */
		mb_u64(&mb, 1);
		mb_str(&mb, "c@d");
		mb_str(&mb, NULL);
		mb_u32(&mb, 0);
		mb_u32(&mb, 0);
		mb_u32(&mb, 0);
		ck_assert_int_eq(decode(&b, mb.data, mb.len), -1);
		assert_cleared(&b);
		mb_free(&mb);
	}
}
END_TEST

START_TEST(many_recipients)
{
	struct envelope a, b;
	struct msgbuf mb;
	char addr[64];
	size_t i, n = 1000;

	env_init(&a);
	ulid_new(a.id);
	a.sender = xstrdup("s@example.org");
	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "u%zu@ex.org", i);
		env_add_rcpt(&a, addr)->id = i + 1;
	}
	ck_assert_uint_eq(a.nrcpt, n);
	ck_assert_uint_ge(a.rcpt_cap, n);
	mb_init(&mb);
	env_encode(&a, &mb);
	ck_assert(!mb.err);
	ck_assert_int_eq(decode(&b, mb.data, mb.len), 0);
	ck_assert_uint_eq(b.nrcpt, n);
	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "u%zu@ex.org", i);
		ck_assert_str_eq(b.rcpt[i].addr, addr);
		ck_assert_uint_eq(b.rcpt[i].id, i + 1);
	}
	mb_free(&mb);
	env_clear(&a);
	env_clear(&b);
}
END_TEST

static Suite *
envelope_suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, optional_fields_null);
	tcase_add_test(tc, truncated_rejected);
	tcase_add_test(tc, trailing_bytes_rejected);
	tcase_add_test(tc, bad_fields_rejected);
	tcase_add_test(tc, orcpt_checked);
	tcase_add_test(tc, plugin_fields_checked);
	tcase_add_test(tc, huge_count_rejected);
	tcase_add_test(tc, many_recipients);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(envelope_suite);
