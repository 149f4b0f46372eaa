/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for empathctl's readers of ctld's answers: every
 * renderer (system ping/status, queue list/view/ok/stats, dns
 * list-cache/refresh/list-overrides), in text and JSON. Input: u8
 * choosing the renderer (bits 0-3) and JSON (bit 4), u8 choosing the
 * answer's type (0: the expected one, 1: CTL_ERROR, else the raw u16
 * that follows), then the payload. Asserted: the exit status is one of
 * the documented ones. Output goes to /dev/null (FUZZ_LOG=1 keeps it). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../empathctl/cmd_dns.c"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct ctl_reply reply;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *v = getenv("FUZZ_LOG");

	(void)argc;
	(void)argv;
	if (v == NULL || *v != '1') {
		/* libFuzzer and the sanitizers keep their own stderr. */
		if (freopen("/dev/null", "w", stdout) == NULL)
			abort();
		stderr = fopen("/dev/null", "w");
		if (stderr == NULL)
			abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t expected[] = {
		CTL_PONG, CTL_STATUS_REPLY, CTL_QUEUE_LIST_REPLY,
		CTL_QUEUE_LIST_REPLY, CTL_QUEUE_VIEW_REPLY, CTL_QUEUE_OK,
		CTL_QUEUE_STATS_REPLY, CTL_DNS_LIST_REPLY, CTL_DNS_OK,
		CTL_DNS_OVERRIDES_REPLY,
	};
	struct fuzz_in in = { data, size };
	uint8_t sel, t;
	size_t n;
	bool json;
	int rc;

	if (size < 2)
		return 0;
	sel = fuzz_u8(&in);
	json = sel & 0x10;
	sel = (sel & 0x0f) % 10;
	t = fuzz_u8(&in);
	reply.type = t == 0 ? expected[sel] : t == 1 ? CTL_ERROR :
	    fuzz_u16(&in);
	n = in.len;
	memcpy(reply.data, fuzz_take(&in, &n), n);
	reply.len = n;
	switch (sel) {
	case 0: rc = print_pong(&reply, json); break;
	case 1: rc = print_status(&reply, json); break;
	case 2: rc = print_queue_list(&reply, json, Q_STATE_ANY); break;
	case 3: rc = print_queue_list(&reply, json, RCPT_DEFERRED); break;
	case 4: rc = print_queue_view(&reply, json); break;
	case 5: rc = print_queue_ok(&reply, json); break;
	case 6: rc = print_queue_stats(&reply, json); break;
	case 7: rc = print_list(&reply, json); break;
	case 8: rc = print_ok(&reply, json, "example.org"); break;
	default: rc = print_overrides(&reply, json); break;
	}
	assert(rc == EXIT_OK || rc == EXIT_FAIL);
	fflush(stdout);
	fflush(stderr);
	return 0;
}
