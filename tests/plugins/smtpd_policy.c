/* SPDX-License-Identifier: ISC */
/* A policy plugin for smtpd's tests. args: a file it appends what it
 * saw to (opened in init: the hooks run chrooted and filtered), then the
 * text of its 550 to <blocked@...>. At MAIL it sets metadata (a sender
 * "temp..." gets 451, "nice..." a 250 of its own); at RCPT "blocked"
 * gets 550, "bye" 421, "hostile" a rejection whose texts (CR LF, 8-bit,
 * too long) the API refuses; at DATA it adds a header field and writes
 * down the length and the first line of the message it was shown. A
 * sender "fill..." gets the most metadata and header fields allowed. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <empath/empath.h>

static int out = -1;
static char blocked_text[256] = "5.7.1 blocked";

static void
note(const char *line)
{
	if (out != -1 && write(out, line, strlen(line)) < 0)
		return;
}

static int
policy_init(int argc, char **argv)
{
	if (argc >= 2 && (out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND,
	    0644)) == -1)
		return -1;
	if (argc >= 3)
		snprintf(blocked_text, sizeof(blocked_text), "%s", argv[2]);
	return 0;
}

static void
policy_fini(void)
{
	if (out != -1)
		close(out);
}

/* As many as allowed, as long as allowed. */
static void
fill(em_context *ctx, int headers)
{
	char key[32], value[EM_META_VALUE_MAX + 1];
	int i;

	memset(value, 'v', sizeof(value) - 1);
	value[(headers ? EM_HEADER_VALUE_MAX : EM_META_VALUE_MAX)] = '\0';
	for (i = 0; i < (headers ? EM_HEADERS_MAX : EM_META_PAIRS_MAX); i++) {
		snprintf(key, sizeof(key), "fill-%d", i);
		if ((headers ? em_context_add_header(ctx, key, value) :
		    em_context_set(ctx, key, value)) != 0)
			note("fill failed\n");
	}
}

static int
policy_mail(em_context *ctx)
{
	const char *from = em_context_get_sender(ctx);
	char line[600];

	snprintf(line, sizeof(line), "mail %s id=%s meta=%s\n", from,
	    em_context_get_id(ctx), em_context_get(ctx, "policy.from") ?
	    em_context_get(ctx, "policy.from") : "-");
	note(line);
	if (strncmp(from, "fill", 4) == 0) {
		fill(ctx, 0);
		return EM_ACCEPT;
	}
	em_context_set(ctx, "policy.from", from);
	if (strncmp(from, "temp", 4) == 0) {
		em_context_set_response(ctx, 451, "4.7.1 greylisted, come back");
		return EM_REJECT;
	}
	if (strncmp(from, "nice", 4) == 0)
		em_context_set_response(ctx, 250, "2.1.0 nice sender");
	return EM_ACCEPT;
}

static int
policy_rcpt(em_context *ctx)
{
	char line[600], big[600];
	size_t n;
	const char *const *r = em_context_get_recipients(ctx, &n);
	const char *to = r[n - 1];

	snprintf(line, sizeof(line), "rcpt %zu %s\n", n, to);
	note(line);
	if (strncmp(to, "blocked@", 8) == 0) {
		em_context_set_response(ctx, 550, blocked_text);
		return EM_REJECT;
	}
	if (strncmp(to, "bye@", 4) == 0) {
		em_context_set_response(ctx, 421, "4.7.0 enough for today");
		return EM_REJECT;
	}
	if (strncmp(to, "hostile@", 8) == 0) {
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		snprintf(line, sizeof(line), "hostile %d %d %d\n",
		    em_context_set_response(ctx, 550, "5.7.1 no\r\nRSET"),
		    em_context_set_response(ctx, 550, "5.7.1 \xe9t\xe9"),
		    em_context_set_response(ctx, 550, big));
		note(line);
		return EM_REJECT;
	}
	return EM_ACCEPT;
}

static int
policy_data(em_context *ctx)
{
	char line[300], hdr[64];
	size_t len, i;
	const unsigned char *d = em_context_get_data(ctx, &len);

	for (i = 0; d != NULL && i < len && i < 100 && d[i] != '\r'; i++)
		;
	snprintf(line, sizeof(line), "data %zu %.*s\n", len, (int)i,
	    d != NULL ? (const char *)d : "");
	note(line);
	if (em_context_get(ctx, "fill-0") != NULL) {
		fill(ctx, 1);
		return EM_ACCEPT;
	}
	snprintf(hdr, sizeof(hdr), "seen %zu octets", len);
	em_context_add_header(ctx, "X-Policy", hdr);
	em_context_set(ctx, "policy.size", hdr + 5);
	return EM_ACCEPT;
}

EMPATH_PLUGIN(.name = "smtpd_policy", .version = "1", .init = policy_init,
    .fini = policy_fini, .validate_mail = policy_mail,
    .validate_rcpt = policy_rcpt, .validate_data = policy_data);
