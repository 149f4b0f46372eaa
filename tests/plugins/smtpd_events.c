/* SPDX-License-Identifier: ISC */
/* smtpd's events for the tests: each appends a line to the file named
 * by the first arg (opened in init, O_APPEND): the event, the context's
 * peer and what the event is about (at close: the TLS version). */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <empath/empath.h>

static int out = -1;

static int
ev_init(int argc, char **argv)
{
	if (argc < 2 || (out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND,
	    0644)) == -1)
		return -1;
	return 0;
}

static void
ev_fini(void)
{
	close(out);
}

static void
ev_note(em_context *ctx, const char *what, const char *more)
{
	char line[700];
	int n;

	n = snprintf(line, sizeof(line), "%s %s %s\n", what,
	    em_context_get_peer_address(ctx), more);
	if (n > 0 && write(out, line, (size_t)n) < 0)
		return;
}

static void
ev_opened(em_context *ctx)
{
	ev_note(ctx, "opened", "");
}

static void
ev_closed(em_context *ctx)
{
	const char *tls = em_context_get_tls_version(ctx);

	ev_note(ctx, "closed", tls ? tls : "-");
}

static void
ev_received(em_context *ctx)
{
	char more[600];
	size_t n;
	const char *const *r = em_context_get_recipients(ctx, &n);
	const char *size = em_context_get(ctx, "policy.size");

	snprintf(more, sizeof(more), "%s from=%s n=%zu first=%s size=%s",
	    em_context_get_id(ctx), em_context_get_sender(ctx), n,
	    n ? r[0] : "-", size ? size : "-");
	ev_note(ctx, "received", more);
}

static void
ev_error(em_context *ctx)
{
	char more[600];
	int code;
	const char *text = em_context_get_response(ctx, &code);

	snprintf(more, sizeof(more), "%d %s", code, text ? text : "");
	ev_note(ctx, "error", more);
}

EMPATH_PLUGIN(.name = "smtpd_events", .version = "1", .init = ev_init,
    .fini = ev_fini, .on_connection_opened = ev_opened,
    .on_connection_closed = ev_closed, .on_message_received = ev_received,
    .on_smtp_error = ev_error);
