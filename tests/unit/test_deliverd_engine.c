/* SPDX-License-Identifier: ISC */
/* deliverd as an engine (deliverd_engine.h): a job from queued routed by
 * DNS to an SMTP server and answered with one result per recipient:
 * delivered, deferred on 451, failed on 550, a second transaction for
 * the recipients a 452 held back (RFC 5321 4.5.3.1.10), the next MX when
 * the first refuses the connection, and 8-bit content passed as is or
 * made 7-bit for a server without 8BITMIME (RFC 6152 3). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliverd_engine.h"
#include "fixture.h"

#define TEXT "From: alice@sender.test\r\nTo: bob@dest.test\r\n" \
	"Subject: engine\r\n\r\nHello.\r\n.dot at the start of a line\r\n"

static const char *const to_one[] = { "bob@dest.test", NULL };
static const char *const to_two[] = { "bob@dest.test", "carol@dest.test",
	NULL };
static const char *const to_three[] = { "bob@dest.test", "carol@dest.test",
	"dave@dest.test", NULL };

static void
zone_dest(void)
{
	de_dns_add("dest.test. 300 IN MX 10 mx.dest.test.");
	de_dns_add("mx.dest.test. 300 IN A 127.0.0.1");
}

static void
setup(void)
{
	de_setup();
	zone_dest();
}

static bool
has_rcpt(const struct de_sink_msg *m, const char *addr)
{
	size_t i;

	for (i = 0; i < m->nrcpt; i++)
		if (strcmp(m->rcpt[i], addr) == 0)
			return true;
	return false;
}

START_TEST(delivered_to_the_mx)
{
	const struct wire_result_rcpt *r;
	const struct de_sink_msg *m;
	struct de_result res;
	char host[128];
	uint32_t job;

	job = de_job("alice@sender.test", to_two, TEXT, NULL);
	de_result(job, &res, FX_WAIT_MS);
	ck_assert_uint_eq(res.r.n, 2);
	snprintf(host, sizeof(host), "mx.dest.test[127.0.0.1]:%u",
	    (unsigned)de_sink_port);
	r = de_rcpt(&res, DE_RCPT_ID(0));
	ck_assert_uint_eq(r->state & ~RCPT_DSN_PASSED, RCPT_DELIVERED);
	ck_assert_str_eq(r->host, host);
	ck_assert_msg(strncmp(r->diag, "250", 3) == 0, "diag '%s'", r->diag);
	r = de_rcpt(&res, DE_RCPT_ID(1));
	ck_assert_uint_eq(r->state & ~RCPT_DSN_PASSED, RCPT_DELIVERED);
	de_result_free(&res);
	ck_assert_uint_eq(de_sink_count(), 1);
	m = de_sink_msg(0);
	snprintf(host, sizeof(host), "MAIL FROM:<alice@sender.test> SIZE=%zu",
	    strlen(TEXT));
	ck_assert_str_eq(m->mail, host);
	ck_assert_uint_eq(m->nrcpt, 2);
	ck_assert(has_rcpt(m, "bob@dest.test"));
	ck_assert(has_rcpt(m, "carol@dest.test"));
	ck_assert_str_eq(m->data, TEXT);
	ck_assert_uint_ge(de_dns_queries(), 2);
}
END_TEST

START_TEST(rcpt_451_is_deferred)
{
	struct de_sink_script s = { .rcpt = {
		{ "carol@dest.test", "451 4.7.1 greylisted, try later" } } };
	const struct wire_result_rcpt *r;
	struct de_result res;
	uint32_t job;

	de_sink_script(&s);
	job = de_job("alice@sender.test", to_two, TEXT, NULL);
	de_result(job, &res, FX_WAIT_MS);
	r = de_rcpt(&res, DE_RCPT_ID(0));
	ck_assert_uint_eq(r->state & ~RCPT_DSN_PASSED, RCPT_DELIVERED);
	r = de_rcpt(&res, DE_RCPT_ID(1));
	ck_assert_uint_eq(r->state, RCPT_DEFERRED);
	ck_assert_msg(strstr(r->diag, "451") != NULL &&
	    strstr(r->diag, "greylisted") != NULL, "diag '%s'", r->diag);
	de_result_free(&res);
	ck_assert_uint_eq(de_sink_count(), 1);
	ck_assert_uint_eq(de_sink_msg(0)->nrcpt, 1);
	ck_assert(has_rcpt(de_sink_msg(0), "bob@dest.test"));
}
END_TEST

START_TEST(rcpt_550_fails)
{
	struct de_sink_script s = { .rcpt = {
		{ "bob@dest.test", "550 5.1.1 no such user" } } };
	const struct wire_result_rcpt *r;
	struct de_result res;
	uint32_t job;

	de_sink_script(&s);
	job = de_job("alice@sender.test", to_one, TEXT, NULL);
	de_result(job, &res, FX_WAIT_MS);
	ck_assert_uint_eq(res.r.n, 1);
	r = de_rcpt(&res, DE_RCPT_ID(0));
	ck_assert_uint_eq(r->state, RCPT_FAILED);
	ck_assert_msg(strstr(r->diag, "550") != NULL &&
	    strstr(r->diag, "5.1.1") != NULL, "diag '%s'", r->diag);
	de_result_free(&res);
	/* No recipient: no message. */
	ck_assert_uint_eq(de_sink_count(), 0);
}
END_TEST

/* A 452 to RCPT is "not now, in another transaction": the recipients it
 * held back go in a follow-up transaction and are delivered too. */
START_TEST(rcpt_452_gets_a_follow_up_transaction)
{
	struct de_sink_script s = { .rcpt_max = 2 };
	const struct de_sink_msg *m0, *m1;
	struct de_result res;
	uint32_t job, i;

	de_sink_script(&s);
	job = de_job("alice@sender.test", to_three, TEXT, NULL);
	de_result(job, &res, FX_WAIT_MS);
	ck_assert_uint_eq(res.r.n, 3);
	for (i = 0; i < 3; i++)
		ck_assert_msg((de_rcpt(&res, DE_RCPT_ID(i))->state &
		    ~RCPT_DSN_PASSED) == RCPT_DELIVERED, "recipient %u: %s", i,
		    de_rcpt(&res, DE_RCPT_ID(i))->diag);
	de_result_free(&res);
	ck_assert_uint_eq(de_sink_count(), 2);
	m0 = de_sink_msg(0);
	m1 = de_sink_msg(1);
	ck_assert_uint_eq(m0->nrcpt, 2);
	ck_assert_uint_eq(m1->nrcpt, 1);
	ck_assert(has_rcpt(m0, "bob@dest.test") || has_rcpt(m1, "bob@dest.test"));
	ck_assert(has_rcpt(m0, "carol@dest.test") ||
	    has_rcpt(m1, "carol@dest.test"));
	ck_assert(has_rcpt(m0, "dave@dest.test") || has_rcpt(m1, "dave@dest.test"));
	ck_assert_str_eq(m0->data, TEXT);
	ck_assert_str_eq(m1->data, TEXT);
}
END_TEST

/* The first MX refuses the connection (nothing listens on 127.0.0.2):
 * the second one gets the message. */
START_TEST(next_mx_when_the_first_refuses)
{
	const struct wire_result_rcpt *r;
	struct de_result res;
	char host[128];
	uint32_t job;

	de_dns_add("fallback.test. 300 IN MX 10 mx1.fallback.test.");
	de_dns_add("fallback.test. 300 IN MX 20 mx2.fallback.test.");
	de_dns_add("mx1.fallback.test. 300 IN A 127.0.0.2");
	de_dns_add("mx2.fallback.test. 300 IN A 127.0.0.1");
	job = de_job("alice@sender.test", (const char *const[]){
	    "erin@fallback.test", NULL }, TEXT, NULL);
	de_result(job, &res, FX_WAIT_MS);
	r = de_rcpt(&res, DE_RCPT_ID(0));
	ck_assert_msg((r->state & ~RCPT_DSN_PASSED) == RCPT_DELIVERED,
	    "state %u: %s", r->state, r->diag);
	snprintf(host, sizeof(host), "mx2.fallback.test[127.0.0.1]:%u",
	    (unsigned)de_sink_port);
	ck_assert_str_eq(r->host, host);
	de_result_free(&res);
	ck_assert_uint_eq(de_sink_count(), 1);
	ck_assert(has_rcpt(de_sink_msg(0), "erin@fallback.test"));
}
END_TEST

/* With only the refusing MX, the recipient is deferred: the first MX
 * above was tried, not skipped. */
START_TEST(refused_everywhere_is_deferred)
{
	const struct wire_result_rcpt *r;
	struct de_result res;
	uint32_t job;

	de_dns_add("refuse.test. 300 IN MX 10 mx1.refuse.test.");
	de_dns_add("mx1.refuse.test. 300 IN A 127.0.0.2");
	job = de_job("alice@sender.test", (const char *const[]){
	    "erin@refuse.test", NULL }, TEXT, NULL);
	de_result(job, &res, FX_WAIT_MS);
	r = de_rcpt(&res, DE_RCPT_ID(0));
	ck_assert_uint_eq(r->state, RCPT_DEFERRED);
	ck_assert_msg(strstr(r->diag, "127.0.0.2") != NULL, "diag '%s'",
	    r->diag);
	de_result_free(&res);
	ck_assert_uint_eq(de_sink_connections(), 0);
}
END_TEST

#define TEXT_8BIT "From: alice@sender.test\r\nTo: bob@dest.test\r\n" \
	"Subject: 8bit\r\nMIME-Version: 1.0\r\n" \
	"Content-Type: text/plain; charset=utf-8\r\n" \
	"Content-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n"

START_TEST(eightbit_passed_with_8bitmime)
{
	const struct de_sink_msg *m;
	struct de_result res;
	uint32_t job;

	job = de_job("alice@sender.test", to_one, TEXT_8BIT, "8BITMIME");
	de_result(job, &res, FX_WAIT_MS);
	ck_assert_uint_eq(de_rcpt(&res, DE_RCPT_ID(0))->state &
	    ~RCPT_DSN_PASSED, RCPT_DELIVERED);
	de_result_free(&res);
	ck_assert_uint_eq(de_sink_count(), 1);
	m = de_sink_msg(0);
	ck_assert_msg(strstr(m->mail, " BODY=8BITMIME") != NULL, "%s", m->mail);
	ck_assert_str_eq(m->data, TEXT_8BIT);
}
END_TEST

START_TEST(eightbit_made_7bit_without_8bitmime)
{
	struct de_sink_script s = { .no_8bitmime = true };
	const struct de_sink_msg *m;
	struct de_result res;
	uint32_t job;
	size_t i;

	de_sink_script(&s);
	job = de_job("alice@sender.test", to_one, TEXT_8BIT, "8BITMIME");
	de_result(job, &res, FX_WAIT_MS);
	ck_assert_uint_eq(de_rcpt(&res, DE_RCPT_ID(0))->state &
	    ~RCPT_DSN_PASSED, RCPT_DELIVERED);
	de_result_free(&res);
	ck_assert_uint_eq(de_sink_count(), 1);
	m = de_sink_msg(0);
	ck_assert_msg(strstr(m->mail, "BODY=") == NULL, "%s", m->mail);
	for (i = 0; i < m->len; i++)
		ck_assert_msg((unsigned char)m->data[i] < 0x80,
		    "8-bit octet at %zu: %s", i, m->data);
	ck_assert_msg(strstr(m->data, "Subject: 8bit\r\n") != NULL, "%s",
	    m->data);
	ck_assert_msg(strstr(m->data, "Content-Transfer-Encoding: 8bit") ==
	    NULL, "%s", m->data);
}
END_TEST

START_TEST(data_554_fails_every_recipient)
{
	struct de_sink_script s = { .data_reply = "554 5.7.1 content refused" };
	struct de_result res;
	uint32_t job, i;

	de_sink_script(&s);
	job = de_job("alice@sender.test", to_two, TEXT, NULL);
	de_result(job, &res, FX_WAIT_MS);
	for (i = 0; i < 2; i++) {
		const struct wire_result_rcpt *r = de_rcpt(&res, DE_RCPT_ID(i));

		ck_assert_uint_eq(r->state, RCPT_FAILED);
		ck_assert_msg(strstr(r->diag, "5.7.1") != NULL, "diag '%s'",
		    r->diag);
	}
	de_result_free(&res);
	ck_assert_uint_eq(de_sink_count(), 0);
}
END_TEST

/* ---- header fields added by plugins at DATA (env.headers) ---- */

#define ADDED "X-Added: one\r\nX-Second: two words\r\n"

/* The number after " SIZE=" in the MAIL line. */
static unsigned long long
size_param(const struct de_sink_msg *m)
{
	const char *p = strstr(m->mail, " SIZE=");

	ck_assert_msg(p != NULL, "no SIZE= in %s", m->mail);
	return strtoull(p + 6, NULL, 10);
}

/* Deliver text with these added fields to one recipient; the message
 * the sink got. */
static const struct de_sink_msg *
deliver_added(const char *text, const char *body, const char *added)
{
	const struct de_job_extra x = { .headers = added };
	struct de_result res;
	uint32_t job;

	job = de_job_with("alice@sender.test", to_one, text, body, &x);
	de_result(job, &res, FX_WAIT_MS);
	ck_assert_msg((de_rcpt(&res, DE_RCPT_ID(0))->state & ~RCPT_DSN_PASSED) ==
	    RCPT_DELIVERED, "%s", de_rcpt(&res, DE_RCPT_ID(0))->diag);
	de_result_free(&res);
	ck_assert_uint_eq(de_sink_count(), 1);
	return de_sink_msg(0);
}

START_TEST(added_headers_on_top)
{
	const struct de_sink_msg *m = deliver_added(TEXT, NULL, ADDED);

	/* The fields, then the message, byte for byte. */
	ck_assert_str_eq(m->data, ADDED TEXT);
	/* RFC 1870: SIZE= is what went out (before stuffing). */
	ck_assert_uint_eq(size_param(m), strlen(ADDED TEXT));
	ck_assert_uint_eq(size_param(m), m->len);
}
END_TEST

/* RFC 5321 4.5.2: a line of an added field starting with '.' is stuffed
 * like any line of the message. */
START_TEST(added_header_with_a_leading_dot_is_stuffed)
{
	const struct de_sink_msg *m = deliver_added(TEXT, NULL,
	    ".X-Dot: first\r\nX-Plain: second\r\n");

	ck_assert_str_eq(m->data, ".X-Dot: first\r\nX-Plain: second\r\n" TEXT);
#define WIRE_TOP "..X-Dot: first\r\nX-Plain: second\r\nFrom: "
	ck_assert_msg(strncmp(m->wire, WIRE_TOP, strlen(WIRE_TOP)) == 0, "%s",
	    m->wire);
#undef WIRE_TOP
	/* The message's own dot line still stuffed once. */
	ck_assert_msg(strstr(m->wire, "\r\n..dot at the start") != NULL, "%s",
	    m->wire);
	ck_assert_uint_eq(size_param(m), m->len);
}
END_TEST

/* No added fields: nothing but the message (an empty block is none). */
START_TEST(no_added_headers_nothing_on_top)
{
	const struct de_sink_msg *m = deliver_added(TEXT, NULL, "");

	ck_assert_str_eq(m->data, TEXT);
	ck_assert_uint_eq(size_param(m), strlen(TEXT));
}
END_TEST

/* Made 7-bit for a server without 8BITMIME: the fields go before the
 * converted message, which is converted as without them, and SIZE=
 * counts both. */
START_TEST(added_headers_before_the_7bit_conversion)
{
	struct de_sink_script s = { .no_8bitmime = true };
	const struct de_sink_msg *m;
	size_t i;

	de_sink_script(&s);
	m = deliver_added(TEXT_8BIT, "8BITMIME", ADDED);
	ck_assert_msg(strncmp(m->data, ADDED "From: alice@sender.test\r\n",
	    strlen(ADDED) + 25) == 0, "%s", m->data);
	for (i = 0; i < m->len; i++)
		ck_assert_msg((unsigned char)m->data[i] < 0x80,
		    "8-bit octet at %zu: %s", i, m->data);
	/* The converter saw the message's header, not the added fields:
	 * its Content-Transfer-Encoding was rewritten, once. */
	ck_assert_msg(strstr(m->data, "Content-Transfer-Encoding: 8bit") ==
	    NULL, "%s", m->data);
	ck_assert_msg(strstr(m->data + strlen(ADDED), "X-Added") == NULL, "%s",
	    m->data);
	ck_assert_uint_eq(size_param(m), m->len);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("deliverd_engine");
	TCase *tc = tcase_create("deliver");

	tcase_add_checked_fixture(tc, setup, de_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, delivered_to_the_mx);
	tcase_add_test(tc, rcpt_451_is_deferred);
	tcase_add_test(tc, rcpt_550_fails);
	tcase_add_test(tc, rcpt_452_gets_a_follow_up_transaction);
	tcase_add_test(tc, next_mx_when_the_first_refuses);
	tcase_add_test(tc, refused_everywhere_is_deferred);
	tcase_add_test(tc, eightbit_passed_with_8bitmime);
	tcase_add_test(tc, eightbit_made_7bit_without_8bitmime);
	tcase_add_test(tc, data_554_fails_every_recipient);
	tcase_add_test(tc, added_headers_on_top);
	tcase_add_test(tc, added_header_with_a_leading_dot_is_stuffed);
	tcase_add_test(tc, no_added_headers_nothing_on_top);
	tcase_add_test(tc, added_headers_before_the_7bit_conversion);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
