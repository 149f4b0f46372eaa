/* SPDX-License-Identifier: ISC */
/* The em_context of the plugin API (lib/plugin_ctx.c): what the daemons
 * set is what the accessors return; responses, metadata and added
 * header fields are refused unless valid and allowed at the point; the
 * metadata encoding round-trips and its decoder refuses every malformed
 * input without touching the context. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "plugin_ctx.h"

START_TEST(accessors_return_what_was_set)
{
	struct em_context *c = plugin_ctx_new();
	const char *const *r;
	const unsigned char *d;
	size_t n = 99, len = 99;
	int code = -1;

	r = em_context_get_recipients(c, &n);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(r[0]);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(em_context_get_sender(c));
	ck_assert_ptr_null(em_context_get_data(c, &len));
	ck_assert_uint_eq(len, 0);

	plugin_ctx_set_id(c, "01HZY");
	plugin_ctx_set_sender(c, "");
	plugin_ctx_add_rcpt(c, "a@x.test");
	plugin_ctx_add_rcpt(c, "b@x.test");
	plugin_ctx_set_data(c, (const unsigned char *)"abc", 3);
	plugin_ctx_set_peer(c, "2001:db8::1", "client.test");
	plugin_ctx_set_tls(c, "TLSv1.3", "TLS_AES_128_GCM_SHA256");
	plugin_ctx_set_delivery(c, "x.test", "mx.x.test", "192.0.2.7", 3);
	plugin_ctx_set_delivery_reply(c, 451, "4.3.0 later", "TLSv1.2", "ECDHE");

	ck_assert_str_eq(em_context_get_id(c), "01HZY");
	ck_assert_str_eq(em_context_get_sender(c), "");
	r = em_context_get_recipients(c, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(r[0], "a@x.test");
	ck_assert_str_eq(r[1], "b@x.test");
	ck_assert_ptr_null(r[2]);
	ck_assert_ptr_eq(em_context_get_recipients(c, NULL), r);
	d = em_context_get_data(c, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(d, "abc", 3) == 0);
	ck_assert_str_eq(em_context_get_peer_address(c), "2001:db8::1");
	ck_assert_str_eq(em_context_get_helo(c), "client.test");
	ck_assert_str_eq(em_context_get_tls_version(c), "TLSv1.3");
	ck_assert_str_eq(em_context_get_tls_cipher(c), "TLS_AES_128_GCM_SHA256");
	ck_assert_str_eq(em_context_get_delivery_domain(c), "x.test");
	ck_assert_str_eq(em_context_get_delivery_host(c), "mx.x.test");
	ck_assert_str_eq(em_context_get_delivery_address(c), "192.0.2.7");
	ck_assert_uint_eq(em_context_get_delivery_attempt(c), 3);
	ck_assert_str_eq(em_context_get_delivery_reply(c, &code), "4.3.0 later");
	ck_assert_int_eq(code, 451);
	ck_assert_str_eq(em_context_get_delivery_tls_version(c), "TLSv1.2");
	ck_assert_str_eq(em_context_get_delivery_tls_cipher(c), "ECDHE");

	/* A new transaction keeps the connection, forgets the message. */
	ck_assert_int_eq(em_context_set(c, "k", "v"), 0);
	plugin_ctx_reset_message(c);
	ck_assert_ptr_null(em_context_get_sender(c));
	em_context_get_recipients(c, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(em_context_get(c, "k"));
	ck_assert_str_eq(em_context_get_helo(c), "client.test");
	plugin_ctx_free(c);
}
END_TEST

static void
response_refused(struct em_context *c, int code, const char *text, int err)
{
	errno = 0;
	ck_assert_msg(em_context_set_response(c, code, text) == -1,
	    "accepted %d %s at %d", code, text ? text : "(null)", c->point);
	ck_assert_int_eq(errno, err);
}

START_TEST(response_validation)
{
	struct em_context *c = plugin_ctx_new();
	char long_text[EM_RESPONSE_TEXT_MAX + 2];
	int code;

	plugin_ctx_begin(c, EM_VALIDATE_RCPT);
	ck_assert_int_eq(em_context_set_response(c, 550, "5.7.1 no"), 0);
	ck_assert_str_eq(em_context_get_response(c, &code), "5.7.1 no");
	ck_assert_int_eq(code, 550);
	ck_assert_int_eq(em_context_set_response(c, 250, "2.1.5 fine"), 0);
	ck_assert_int_eq(em_context_set_response(c, 421, NULL), 0);
	ck_assert_ptr_null(em_context_get_response(c, &code));
	ck_assert_int_eq(code, 421);

	response_refused(c, 354, "go on", EINVAL);
	response_refused(c, 199, "x", EINVAL);
	response_refused(c, 600, "x", EINVAL);
	response_refused(c, 560, "x", EINVAL);     /* second digit 0-5 */
	response_refused(c, 550, "two\r\nlines", EINVAL);
	response_refused(c, 550, "caf\xc3\xa9", EINVAL);
	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	response_refused(c, 550, long_text, EINVAL);
	long_text[EM_RESPONSE_TEXT_MAX] = '\0';
	ck_assert_int_eq(em_context_set_response(c, 550, long_text), 0);
	/* The refused ones left the last good one. */
	ck_assert_str_eq(em_context_get_response(c, &code), long_text);

	/* 2xx only where a hook may replace the positive reply. */
	plugin_ctx_begin(c, EM_VALIDATE_DATA);
	ck_assert_ptr_null(em_context_get_response(c, &code));
	ck_assert_int_eq(code, 0);
	response_refused(c, 250, "ok", EPERM);
	ck_assert_int_eq(em_context_set_response(c, 554, "5.7.1 spam"), 0);
	/* Events have no reply to give. */
	plugin_ctx_begin(c, EM_EVENT_MESSAGE_QUEUED);
	response_refused(c, 550, "x", EPERM);
	plugin_ctx_free(c);
}
END_TEST

/* A plugin may hand back what a getter returned: the setter must not
 * free it before copying it. */
START_TEST(setting_own_value_keeps_it)
{
	struct em_context *c = plugin_ctx_new();
	int code = 0;

	plugin_ctx_begin(c, EM_VALIDATE_RCPT);
	ck_assert_int_eq(em_context_set(c, "k", "a value of some length"), 0);
	ck_assert_int_eq(em_context_set(c, "k", em_context_get(c, "k")), 0);
	ck_assert_str_eq(em_context_get(c, "k"), "a value of some length");
	ck_assert_int_eq(em_context_set_response(c, 550, "5.7.1 not here"), 0);
	ck_assert_int_eq(em_context_set_response(c, 550,
	    em_context_get_response(c, NULL)), 0);
	ck_assert_str_eq(em_context_get_response(c, &code), "5.7.1 not here");
	ck_assert_int_eq(code, 550);
	plugin_ctx_free(c);
}
END_TEST

START_TEST(metadata_limits)
{
	struct em_context *c = plugin_ctx_new();
	char key[EM_META_KEY_MAX + 2], val[EM_META_VALUE_MAX + 2];
	int i;

	ck_assert_int_eq(em_context_set(c, "corr.id-1_A", "caf\xc3\xa9 \xe2\x82\xac"), 0);
	ck_assert_str_eq(em_context_get(c, "corr.id-1_A"), "caf\xc3\xa9 \xe2\x82\xac");
	ck_assert_int_eq(em_context_set(c, "corr.id-1_A", "second"), 0);
	ck_assert_str_eq(em_context_get(c, "corr.id-1_A"), "second");
	ck_assert_ptr_null(em_context_get(c, "CORR.id-1_A"));
	ck_assert_int_eq(em_context_set(c, "corr.id-1_A", NULL), 0);
	ck_assert_ptr_null(em_context_get(c, "corr.id-1_A"));
	ck_assert_int_eq(em_context_set(c, "never-set", NULL), 0);

	memset(key, 'k', sizeof(key) - 1);
	key[EM_META_KEY_MAX] = '\0';
	ck_assert_int_eq(em_context_set(c, key, ""), 0);
	key[EM_META_KEY_MAX] = 'k';
	key[EM_META_KEY_MAX + 1] = '\0';
	errno = 0;
	ck_assert_int_eq(em_context_set(c, key, "x"), -1);
	ck_assert_int_eq(errno, EINVAL);
	memset(val, 'v', sizeof(val) - 1);
	val[EM_META_VALUE_MAX] = '\0';
	ck_assert_int_eq(em_context_set(c, "big", val), 0);
	val[EM_META_VALUE_MAX] = 'v';
	val[EM_META_VALUE_MAX + 1] = '\0';
	ck_assert_int_eq(em_context_set(c, "big", val), -1);
	ck_assert_uint_eq(strlen(em_context_get(c, "big")), EM_META_VALUE_MAX);

	ck_assert_int_eq(em_context_set(c, "", "x"), -1);
	ck_assert_int_eq(em_context_set(c, "a b", "x"), -1);
	ck_assert_int_eq(em_context_set(c, "a=b", "x"), -1);
	ck_assert_int_eq(em_context_set(c, "a", "line\nbreak"), -1);
	ck_assert_int_eq(em_context_set(c, "a", "tab\there"), -1);
	ck_assert_int_eq(em_context_set(c, "a", "del\x7f"), -1);
	ck_assert_int_eq(em_context_set(c, "a", "c1 \xc2\x85"), -1);
	ck_assert_int_eq(em_context_set(c, "a", "bad \xc3"), -1);
	ck_assert_int_eq(em_context_set(c, "a", "overlong \xc0\xaf"), -1);
	ck_assert_ptr_null(em_context_get(c, "a"));

	for (i = (int)c->nmeta; i < EM_META_PAIRS_MAX; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(em_context_set(c, key, "v"), 0);
	}
	errno = 0;
	ck_assert_int_eq(em_context_set(c, "one-more", "v"), -1);
	ck_assert_int_eq(errno, ENOSPC);
	/* Replacing a value of a full store still works. */
	ck_assert_int_eq(em_context_set(c, "big", "small"), 0);
	plugin_ctx_free(c);
}
END_TEST

START_TEST(header_validation)
{
	struct em_context *c = plugin_ctx_new();
	char val[EM_HEADER_VALUE_MAX + 2];
	int i;

	plugin_ctx_begin(c, EM_VALIDATE_RCPT);
	errno = 0;
	ck_assert_int_eq(em_context_add_header(c, "X-A", "b"), -1);
	ck_assert_int_eq(errno, EPERM);
	plugin_ctx_begin(c, EM_VALIDATE_DATA);
	ck_assert_int_eq(em_context_add_header(c, "X-Spam-Score", "3.5\t(ok)"), 0);
	ck_assert_str_eq(c->headers[0].name, "X-Spam-Score");
	ck_assert_str_eq(c->headers[0].value, "3.5\t(ok)");
	ck_assert_int_eq(em_context_add_header(c, "X:A", "b"), -1);
	ck_assert_int_eq(em_context_add_header(c, "X A", "b"), -1);
	ck_assert_int_eq(em_context_add_header(c, "", "b"), -1);
	ck_assert_int_eq(em_context_add_header(c, "X-\xc3\xa9", "b"), -1);
	ck_assert_int_eq(em_context_add_header(c, "X-A", "b\r\nBcc: x@y"), -1);
	ck_assert_int_eq(em_context_add_header(c, "X-A", "b\nc"), -1);
	ck_assert_int_eq(em_context_add_header(c, "X-A", "\xc3\xa9"), -1);
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	ck_assert_int_eq(em_context_add_header(c, "X-A", val), -1);
	ck_assert_uint_eq(c->nheaders, 1);
	for (i = 1; i < EM_HEADERS_MAX; i++)
		ck_assert_int_eq(em_context_add_header(c, "X-N", "n"), 0);
	errno = 0;
	ck_assert_int_eq(em_context_add_header(c, "X-N", "n"), -1);
	ck_assert_int_eq(errno, ENOSPC);
	plugin_ctx_free(c);
}
END_TEST

/* The block that travels in the envelope: what the accessor accepted,
 * in order, one CRLF-ended line per field, and accepted back. */
START_TEST(header_block_round_trip)
{
	struct em_context *c = plugin_ctx_new();
	char *block;
	size_t len;

	ck_assert_ptr_null(plugin_headers_encode(c, &len));
	ck_assert_uint_eq(len, 0);
	plugin_ctx_begin(c, EM_VALIDATE_DATA);
	ck_assert_int_eq(em_context_add_header(c, "X-Corr", "01J5X"), 0);
	ck_assert_int_eq(em_context_add_header(c, "X-Score", "3.5\t(ok)"), 0);
	block = plugin_headers_encode(c, &len);
	ck_assert_str_eq(block, "X-Corr: 01J5X\r\nX-Score: 3.5\t(ok)\r\n");
	ck_assert_uint_eq(len, strlen(block));
	ck_assert(plugin_headers_valid(block, len));
	/* Cut anywhere inside the last line: refused. */
	ck_assert(!plugin_headers_valid(block, len - 1));
	ck_assert(!plugin_headers_valid(block, len - 2));
	free(block);
	plugin_ctx_free(c);
}
END_TEST

START_TEST(metadata_round_trip)
{
	struct em_context *a = plugin_ctx_new(), *b = plugin_ctx_new();
	char *enc, *enc2;
	size_t len, len2;

	ck_assert_int_eq(em_context_set(a, "z", "last=but first"), 0);
	ck_assert_int_eq(em_context_set(a, "a.b", "\xe6\x97\xa5\xe6\x9c\xac"), 0);
	ck_assert_int_eq(em_context_set(a, "empty", ""), 0);
	enc = plugin_meta_encode(a, &len);
	ck_assert_uint_eq(len, strlen(enc));
	ck_assert_str_eq(enc, "z=last=but first\na.b=\xe6\x97\xa5\xe6\x9c\xac\n"
	    "empty=\n");
	ck_assert_int_eq(em_context_set(b, "old", "gone"), 0);
	ck_assert_int_eq(plugin_meta_decode(b, enc, len), 0);
	ck_assert_ptr_null(em_context_get(b, "old"));
	ck_assert_str_eq(em_context_get(b, "z"), "last=but first");
	ck_assert_str_eq(em_context_get(b, "empty"), "");
	enc2 = plugin_meta_encode(b, &len2);
	ck_assert_uint_eq(len2, len);
	ck_assert(memcmp(enc, enc2, len) == 0);
	free(enc);
	free(enc2);
	/* Nothing set, nothing encoded, and back. */
	plugin_ctx_reset_message(a);
	enc = plugin_meta_encode(a, &len);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(plugin_meta_decode(b, enc, 0), 0);
	ck_assert_uint_eq(b->nmeta, 0);
	free(enc);
	plugin_ctx_free(a);
	plugin_ctx_free(b);
}
END_TEST

START_TEST(metadata_decode_refuses_malformed)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
#define B(s) { s, sizeof(s) - 1 }
		B("k=v"),                  /* last line not ended */
		B("novalue\n"),
		B("=v\n"),
		B("a b=v\n"),
		B("k=v\nk=w\n"),           /* duplicate key */
		B("k=v\r\n"),
		B("k=\x01\n"),
		B("k=\xff\n"),
		B("k\0x=v\n"),
		B("k=v\0w\n"),
		B("\n"),
#undef B
	};
	struct em_context *c = plugin_ctx_new();
	char buf[PLUGIN_META_ENCODED_MAX + 64], key[EM_META_KEY_MAX + 2];
	size_t i, off = 0;

	ck_assert_int_eq(em_context_set(c, "keep", "me"), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(plugin_meta_decode(c, bad[i].s, bad[i].len) == -1,
		    "accepted #%zu", i);
	/* One pair too many. */
	for (i = 0; i <= EM_META_PAIRS_MAX; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "k%zu=v\n", i);
	ck_assert_int_eq(plugin_meta_decode(c, buf, off), -1);
	/* A key one byte too long. */
	memset(key, 'k', EM_META_KEY_MAX + 1);
	key[EM_META_KEY_MAX + 1] = '\0';
	off = (size_t)snprintf(buf, sizeof(buf), "%s=v\n", key);
	ck_assert_int_eq(plugin_meta_decode(c, buf, off), -1);
	/* The context is as it was. */
	ck_assert_uint_eq(c->nmeta, 1);
	ck_assert_str_eq(em_context_get(c, "keep"), "me");
	plugin_ctx_free(c);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("plugin_ctx");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, accessors_return_what_was_set);
	tcase_add_test(tc, response_validation);
	tcase_add_test(tc, setting_own_value_keeps_it);
	tcase_add_test(tc, metadata_limits);
	tcase_add_test(tc, header_validation);
	tcase_add_test(tc, header_block_round_trip);
	tcase_add_test(tc, metadata_round_trip);
	tcase_add_test(tc, metadata_decode_refuses_malformed);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
