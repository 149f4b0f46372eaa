/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for the typed codecs of lib/wire.c: the first byte
 * picks a decoder (M_LISTEN, M_PEER, M_PROCS, the msgid messages, the
 * failures, D_RESULT, D_STATUS), the rest is its payload. Asserted: what
 * a decoder accepts is within its documented bounds, and encoding it
 * again gives back exactly the payload (one wire form per value). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ulid.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The payload again, from the decoded value. */
static void
same(struct msgbuf *mb, int rv, const uint8_t *p, size_t len)
{
	assert(rv == 0 && !mb->err);
	assert(mb->len == len && (len == 0 || memcmp(mb->data, p, len) == 0));
	mb_free(mb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chan_msg m = { .fd = -1 };
	struct msgbuf mb;
	const uint8_t *p;
	size_t len;

	if (size < 1)
		return 0;
	p = data + 1;
	len = size - 1;
	m.data = p;
	m.len = len;
	mb_init(&mb);
	switch (data[0] % 7) {
	case 0: {
		struct wire_listen w;

		if (wire_listen_decode(&m, &w) == 0) {
			assert(w.kind >= LISTEN_SMTP && w.kind <= LISTEN_HEALTH);
			same(&mb, wire_listen_encode(&mb, &w), p, len);
		}
		break;
	}
	case 1: {
		struct wire_peer w;

		if (wire_peer_decode(&m, &w) == 0) {
			assert(w.proc < PROC_COUNT);
			same(&mb, wire_peer_encode(&mb, &w), p, len);
		}
		break;
	}
	case 2: {
		static struct wire_procs w;

		if (wire_procs_decode(&m, &w) == 0) {
			assert(w.n <= WIRE_PROCS_MAX);
			same(&mb, wire_procs_encode(&mb, &w), p, len);
		}
		break;
	}
	case 3: {
		struct wire_msgid w;

		if (wire_msgid_decode(&m, &w) == 0) {
			assert(ulid_valid(w.msgid));
			same(&mb, wire_msgid_encode(&mb, &w), p, len);
		} else
			assert(w.msgid[0] == '\0' || ulid_valid(w.msgid));
		break;
	}
	case 4: {
		struct wire_fail w;

		if (wire_fail_decode(&m, &w) == 0) {
			assert(w.code >= 400 && w.code <= 599);
			assert(w.text[0] != '\0' &&
			    strlen(w.text) < WIRE_FAIL_TEXT_MAX);
			same(&mb, wire_fail_encode(&mb, &w), p, len);
		}
		break;
	}
	case 5: {
		struct wire_result w;
		uint32_t i;

		if (wire_result_decode(&m, &w) == 0) {
			assert(ulid_valid(w.msgid) && w.n <= ENV_MAX_RCPT);
			for (i = 0; i < w.n; i++)
				assert(wire_result_state_valid(w.r[i].state));
			same(&mb, wire_result_encode(&mb, &w, SIZE_MAX,
			    SIZE_MAX), p, len);
		} else
			assert(w.r == NULL && w.n == 0);
		wire_result_free(&w);
		break;
	}
	case 6: {
		struct wire_status w;

		if (wire_status_decode(&m, &w) == 0)
			same(&mb, wire_status_encode(&mb, &w), p, len);
		break;
	}
	}
	mb_free(&mb);
	return 0;
}
