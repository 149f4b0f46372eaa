/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for the drop-file envelope reader
 * (lib/dropfile_read.c), which reads what any local user may write into
 * the spool's drop directory. Besides the sanitizers' checks it asserts
 * what queued relies on:
 *   - a refusal leaves nothing allocated and gives a reason;
 *   - an accepted envelope has a sender (maybe ""), 1 to DROP_RCPT_MAX
 *     recipients, each at most DROP_ADDR_MAX octets without a control
 *     character, and the message starts inside the input, after an
 *     empty line;
 *   - written out again in the format, it parses to the same envelope.
 * Build and run with `make fuzz` (see the Makefile). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dropfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_addr(const char *a, bool may_be_empty)
{
	size_t i, n = strlen(a);

	assert(n <= DROP_ADDR_MAX);
	assert(n > 0 || may_be_empty);
	for (i = 0; i < n; i++)
		assert((unsigned char)a[i] >= 0x20 && a[i] != 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drop_env env, again;
	size_t body, body2, i, n, cap;
	char err[128] = "", *out;

	if (dropfile_parse((const char *)data, size, &env, &body, err,
	    sizeof(err)) == -1) {
		assert(err[0] != '\0');
		assert(env.sender == NULL && env.rcpts == NULL && env.nrcpts == 0);
		return 0;
	}
	assert(env.sender != NULL);
	check_addr(env.sender, true);
	assert(env.nrcpts >= 1 && env.nrcpts <= DROP_RCPT_MAX);
	for (i = 0; i < env.nrcpts; i++)
		check_addr(env.rcpts[i], false);
	assert(body >= sizeof(DROP_MAGIC) && body <= size);
	assert(data[body - 1] == '\n' && data[body - 2] == '\n');

	/* Round trip. */
	cap = sizeof(DROP_MAGIC) + (env.nrcpts + 1) * (DROP_ADDR_MAX + 3) + 1;
	out = malloc(cap);
	assert(out != NULL);
	memcpy(out, DROP_MAGIC, sizeof(DROP_MAGIC) - 1);
	n = sizeof(DROP_MAGIC) - 1;
	n += (size_t)stpcpy(stpcpy(out + n, "S "), env.sender) - (size_t)(out + n);
	out[n++] = '\n';
	for (i = 0; i < env.nrcpts; i++) {
		n += (size_t)stpcpy(stpcpy(out + n, "R "), env.rcpts[i]) -
		    (size_t)(out + n);
		out[n++] = '\n';
	}
	out[n++] = '\n';
	assert(n <= cap);
	assert(dropfile_parse(out, n, &again, &body2, err, sizeof(err)) == 0);
	assert(body2 == n);
	assert(strcmp(again.sender, env.sender) == 0);
	assert(again.nrcpts == env.nrcpts);
	for (i = 0; i < env.nrcpts; i++)
		assert(strcmp(again.rcpts[i], env.rcpts[i]) == 0);
	drop_env_free(&again);
	free(out);
	drop_env_free(&env);
	assert(env.sender == NULL && env.nrcpts == 0);
	return 0;
}
