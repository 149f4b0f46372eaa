/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for every typed codec (lib/wire.c, lib/wire_ctl.c),
 * reached through wire_recode() from the table of proto_msgs.h: the
 * first byte picks a message type of the table, the rest is its payload.
 * Asserted: every type of the table has a codec, and what a decoder
 * accepts encodes again to exactly the payload (one wire form per value;
 * the envelope types are only decoded). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wire.h"
#include "wire_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t types[] = {
#define MSG(name, value, str) name,
#include "proto_msgs.h"
#undef MSG
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chan_msg m = { .fd = -1 };
	struct msgbuf mb;
	uint16_t type;
	int rv;

	if (size < 1)
		return 0;
	type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	m.type = type;
	m.data = data + 1;
	m.len = size - 1;
	mb_init(&mb);
	rv = wire_recode(type, &m, &mb);
	assert(rv == 0 || rv == -1);
	if (rv == 0 && type != Q_COMMIT && type != D_JOB) {
		assert(!mb.err && mb.len == m.len);
		assert(m.len == 0 || memcmp(mb.data, m.data, m.len) == 0);
	}
	mb_free(&mb);
	return 0;
}
