/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for deliverd's 8bit to 7bit MIME conversion
 * (deliverd/mime7.c): a message from any SMTP client, converted for a
 * server without 8BITMIME. The first byte picks a chunk size, the rest is
 * the message. Asserted: the plan is the same whatever the chunks; when
 * it says convertible, the conversion succeeds, gives the same bytes in
 * chunks as whole, exactly the planned size, and not one 8-bit octet;
 * it makes no line starting with "--" (a possible boundary delimiter,
 * RFC 2046 5.1.1) that was not a line of the message, and parsed again
 * it has the same leaf parts. The driver (feeding in chunks, collecting
 * the output) is the unit test's, tests/unit/mime7_driver.c. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/mime7_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Lines (after a LF, or at the start) that begin with "--". */
static size_t
dash_lines(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i + 1 < len; i++)
		if ((i == 0 || s[i - 1] == '\n') && s[i] == '-' && s[i + 1] == '-')
			n++;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime7_plan p1, p2, p2b;
	struct mime7_buf o1 = { 0 }, o2 = { 0 };
	struct mime7 *m;
	const char *msg = (const char *)data + 1;
	size_t len, chunk, i;
	int r1, r2;

	if (size < 1)
		return 0;
	len = size - 1;
	chunk = (size_t)data[0] % 17 + 1;

	m = mime7_new(NULL, NULL, NULL);
	r1 = mime7_drive(m, msg, len, len + 1);
	mime7_plan_take(m, &p1);
	mime7_free(m);
	m = mime7_new(NULL, NULL, NULL);
	r2 = mime7_drive(m, msg, len, chunk);
	mime7_plan_take(m, &p2);
	mime7_free(m);
	assert(r1 == r2 && p1.any8 == p2.any8);
	if (r1 == 0) {
		assert(p1.size == p2.size && p1.nleaves == p2.nleaves);
		assert(p1.nleaves == 0 ||
		    memcmp(p1.has8, p2.has8, (p1.nleaves + 7) / 8) == 0);
		m = mime7_new(&p1, mime7_buf_emit, &o1);
		assert(mime7_drive(m, msg, len, len + 1) == 0);
		mime7_free(m);
		m = mime7_new(&p1, mime7_buf_emit, &o2);
		assert(mime7_drive(m, msg, len, chunk) == 0);
		mime7_free(m);
		assert(o1.len == p1.size && o2.len == o1.len);
		assert(o1.len == 0 || memcmp(o1.p, o2.p, o1.len) == 0);
		if (p1.any8)
			for (i = 0; i < o1.len; i++)
				assert((unsigned char)o1.p[i] < 0x80);
		/* Encoding only takes "--" lines away (QP writes "=2D"). */
		assert(dash_lines(o1.p, o1.len) <= dash_lines(msg, len));
		/* The converted message has the structure planned (unless
		 * the added fields took a header past its bound). */
		m = mime7_new(NULL, NULL, NULL);
		r2 = mime7_drive(m, o1.p, o1.len, o1.len + 1);
		mime7_plan_take(m, &p2b);
		mime7_free(m);
		assert(r2 == -1 || p2b.nleaves == p1.nleaves);
		mime7_plan_free(&p2b);
	}
	free(o1.p);
	free(o2.p);
	mime7_plan_free(&p1);
	mime7_plan_free(&p2);
	return 0;
}
