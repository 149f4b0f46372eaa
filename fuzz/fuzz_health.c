/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for the health endpoint's request-head parser
 * (ctld/health_request.c). Besides the sanitizers' checks it asserts:
 *   - the result is one of the four, and a finished head names a known
 *     method and target;
 *   - nothing is read past the length given (the input is copied into a
 *     buffer of exactly that size, so ASan sees any overread);
 *   - feeding more bytes never changes a final answer: what a prefix
 *     decided (done or bad) the whole input decides the same way, and
 *     an incomplete head stays incomplete until the maximum;
 *   - the buffer is not modified.
 * Build and run with `make fuzz` (see the Makefile). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health_request.h"

#define MAX (8 * 1024)

static enum health_head
parse(const uint8_t *data, size_t len, size_t max, struct health_request *r)
{
	char *copy = malloc(len ? len : 1);
	enum health_head h;

	memcpy(copy, data, len);
	h = health_request_parse(copy, len, max, r);
	assert(memcmp(copy, data, len) == 0);
	free(copy);
	assert(h == HEAD_INCOMPLETE || h == HEAD_DONE || h == HEAD_BAD ||
	    h == HEAD_TOO_LARGE);
	if (h == HEAD_DONE) {
		assert(r->method == HM_GET || r->method == HM_OTHER);
		assert(r->target == HT_LIVE || r->target == HT_READY ||
		    r->target == HT_OTHER);
	}
	if (h == HEAD_TOO_LARGE)
		assert(len >= max);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct health_request whole, part;
	enum health_head hw, hp;
	size_t cut, max = MAX;

	if (len > 2 * MAX)
		return 0;
	/* A small maximum now and then, to reach the size limit. */
	if (len > 0 && data[0] == 'm')
		max = 64;
	hw = parse(data, len, max, &whole);
	cut = len ? (size_t)data[len - 1] * len / 256 : 0;
	hp = parse(data, cut, max, &part);
	if (hp == HEAD_DONE) {
		assert(hw == HEAD_DONE);
		assert(whole.method == part.method && whole.target == part.target);
	} else if (hp == HEAD_BAD)
		assert(hw == HEAD_BAD);
	if (cut >= max)             /* both saw the same max bytes */
		assert(hp == hw);
	return 0;
}
