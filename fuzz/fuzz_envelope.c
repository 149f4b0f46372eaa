/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for the envelope decoder (lib/envelope.c), which reads
 * what smtpd sends queued (Q_COMMIT) and queued sends deliverd (D_JOB).
 * Asserted: a decoded envelope respects the documented limits, and
 * encoding it again gives bytes that decode to the same encoding. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "ulid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, bool may_be_null)
{
	if (s == NULL) {
		assert(may_be_null);
		return;
	}
	assert(strlen(s) <= ENV_MAX_STR);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chan_msg m = { .fd = -1, .data = data, .len = size };
	struct msgreader r;
	struct msgbuf a, b;
	struct envelope env, again;
	size_t i;

	env_init(&env);
	mr_init(&r, &m);
	if (env_decode(&env, &r) == -1)
		return 0;
	assert(env.id[0] == '\0' || ulid_valid(env.id));
	assert(env.nrcpt <= ENV_MAX_RCPT);
	check_str(env.sender, false);
	check_str(env.helo, false);
	check_str(env.client_addr, false);
	check_str(env.client_name, true);
	check_str(env.body, true);
	check_str(env.envid, true);
	for (i = 0; i < env.nrcpt; i++) {
		assert(env.rcpt[i].addr != NULL && env.rcpt[i].addr[0] != '\0');
		check_str(env.rcpt[i].addr, false);
		check_str(env.rcpt[i].orcpt, true);
	}

	/* Round trip: encode, decode, encode gives the same bytes. */
	mb_init(&a);
	env_encode(&env, &a);
	assert(!a.err);
	m.data = a.data;
	m.len = a.len;
	mr_init(&r, &m);
	env_init(&again);
	assert(env_decode(&again, &r) == 0);
	mb_init(&b);
	env_encode(&again, &b);
	assert(b.len == a.len && memcmp(a.data, b.data, a.len) == 0);
	mb_free(&a);
	mb_free(&b);
	env_clear(&again);
	env_clear(&env);
	return 0;
}
