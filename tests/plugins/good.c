/* SPDX-License-Identifier: ISC */
/* A plugin with hooks in smtpd: it records its init args, rejects a
 * second recipient with its own reply, copies the sender into the
 * metadata, adds a header at DATA and is slow on HELO "slow". */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <time.h>

#include <empath/empath.h>

#include "trace.h"

static int
good_init(int argc, char **argv)
{
	trace_open(argc, argv);
	trace("init", argc, argv);
	return 0;
}

static void
good_fini(void)
{
	trace("fini good", 0, NULL);
}

static int
good_helo(em_context *ctx)
{
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	const char *helo = em_context_get_helo(ctx);

	if (helo != NULL && strcmp(helo, "slow") == 0)
		nanosleep(&ts, NULL);
	return EM_ACCEPT;
}

static int
good_rcpt(em_context *ctx)
{
	size_t n;

	em_context_get_recipients(ctx, &n);
	if (em_context_set(ctx, "seen-sender", em_context_get_sender(ctx)) != 0)
		return EM_REJECT;
	if (n > 1) {
		em_context_set_response(ctx, 550, "5.5.3 one recipient only");
		return EM_REJECT;
	}
	return EM_ACCEPT;
}

static int
good_data(em_context *ctx)
{
	size_t len;

	em_context_get_data(ctx, &len);
	return em_context_add_header(ctx, "X-Good", len > 0 ? "data" : "none")
	    == 0 ? EM_ACCEPT : EM_REJECT;
}

EMPATH_PLUGIN(.name = "good", .version = "1.2.3", .init = good_init,
    .fini = good_fini, .validate_helo = good_helo,
    .validate_rcpt = good_rcpt, .validate_data = good_data);
