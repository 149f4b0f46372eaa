/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for smtpd's message content decoder (smtpd/decode.c),
 * DATA and BDAT modes. The first input byte chooses the mode, a size
 * limit and the cut of the rest into reads. Asserted:
 *   - every cut of the input gives the same output, flags, end and
 *     consumed count as one read (no state is lost between reads);
 *   - output is bounded (at most 2 bytes more than each read's input);
 *   - DATA: nothing past the terminator is consumed; a message that is
 *     not refused, dot-stuffed again, decodes back to itself;
 *   - BDAT: a message that is not refused is exactly the input (plus a
 *     final CRLF when it lacked one);
 *   - a refused message has a reason; the size counts past the limit;
 *   - a message that is not refused has no NUL and does not begin with
 *     SP or HT.
 * Build and run with `make fuzz`. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

#define OUT_MAX (1 << 17)

struct run {
	char     out[OUT_MAX];
	size_t   outlen;
	size_t   consumed;
	unsigned flags;
	bool     done;
	uint64_t size;
};

static void
decode(const uint8_t *in, size_t len, bool bdat, uint64_t max, size_t step,
    struct run *r)
{
	static char buf[OUT_MAX + 2];
	struct msgdec d;
	size_t off = 0, used, n;

	r->outlen = r->consumed = 0;
	msgdec_init(&d, bdat, max);
	while (off < len && !d.done) {
		size_t chunk = len - off < step ? len - off : step;

		used = msgdec_feed(&d, (const char *)in + off, chunk, buf, &n);
		assert(used <= chunk && n <= chunk + 2);
		assert(used == chunk || d.done);
		assert(r->outlen + n <= OUT_MAX);
		memcpy(r->out + r->outlen, buf, n);
		r->outlen += n;
		off += used;
	}
	if (bdat) {
		msgdec_finish(&d, buf, &n);
		assert(n <= 2);
		memcpy(r->out + r->outlen, buf, n);
		r->outlen += n;
	}
	r->consumed = off;
	r->flags = d.flags;
	r->done = d.done;
	r->size = d.size;
}

/* Dot-stuff out (CRLF lines) and end it with <CRLF>.<CRLF>. */
static size_t
stuff(const char *out, size_t len, char *dst)
{
	size_t i, n = 0;
	bool bol = true;

	for (i = 0; i < len; i++) {
		if (bol && out[i] == '.')
			dst[n++] = '.';
		dst[n++] = out[i];
		bol = out[i] == '\n';
	}
	memcpy(dst + n, ".\r\n", 3);
	return n + 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, cut, back;
	static char stuffed[2 * OUT_MAX + 8];
	bool bdat;
	uint64_t max;
	size_t step, n;

	if (size < 1 || size > 32768)
		return 0;
	bdat = data[0] & 1;
	max = (data[0] & 2) ? (uint64_t)(data[0] >> 2) * 64 : 0;
	step = 1 + (data[0] >> 3);
	data++;
	size--;

	decode(data, size, bdat, max, size ? size : 1, &whole);
	decode(data, size, bdat, max, step, &cut);
	assert(cut.flags == whole.flags && cut.done == whole.done &&
	    cut.consumed == whole.consumed && cut.outlen == whole.outlen &&
	    cut.size == whole.size);
	assert(memcmp(cut.out, whole.out, whole.outlen) == 0);
	if (max && whole.size > max)
		assert(whole.flags & TX_TOOBIG);
	if (whole.flags & TX_REJECT)
		return 0;
	assert(whole.size == whole.outlen);
	assert(memchr(whole.out, '\0', whole.outlen) == NULL);
	/* Nothing can fold into the Received: field written above it. */
	assert(whole.outlen == 0 ||
	    (whole.out[0] != ' ' && whole.out[0] != '\t'));
	if (bdat) {
		assert(whole.consumed == size && !whole.done);
		assert(whole.outlen == size || whole.outlen == size + 2);
		assert(memcmp(whole.out, data, size) == 0);
		return 0;
	}
	if (!whole.done)
		return 0;
	/* Stuffed again, the message decodes to itself, wholly consumed. */
	n = stuff(whole.out, whole.outlen, stuffed);
	decode((const uint8_t *)stuffed, n, false, 0, 7, &back);
	assert(back.done && back.flags == 0 && back.consumed == n);
	assert(back.outlen == whole.outlen &&
	    memcmp(back.out, whole.out, whole.outlen) == 0);
	return 0;
}
