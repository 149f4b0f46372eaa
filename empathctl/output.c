/* SPDX-License-Identifier: ISC */
/* Rendering ctld's answers, as text for people or JSON for scripts. The
 * payload is decoded by its codec (wire_ctl.h) and its strings are escaped
 * (textesc.h: UTF-8 kept, controls as \xHH) before they reach a
 * terminal or a JSON document. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "empathctl.h"
#include "proto.h"
#include "textesc.h"
#include "wire_ctl.h"

struct status_row {
	char     name[32];
	uint32_t pid, running, restarts;
};

struct status {
	char     version[64];
	uint64_t uptime, messages, recipients;
	uint32_t n;
	struct status_row rows[WIRE_STATUS_ROWS];
};

/* Copy a string from ctld: UTF-8 kept, control characters and octets
 * that are not UTF-8 written as \xHH (textesc.h). */
void
out_clean(char *dst, size_t dstlen, const char *src)
{
	text_escape(dst, dstlen, src, strlen(src));
}

/* Text made of lines (message headers): every line cleaned as by
 * out_clean(), CR LF turned into LF, and a last line without its end
 * given one. Never past dstlen (always NUL-terminated), never cut inside
 * a character or an escape; false when the text was cut to fit. */
bool
out_clean_lines(char *dst, size_t dstlen, const char *src)
{
	size_t o = 0, n, len;
	const char *nl;

	if (dstlen == 0)
		return *src == '\0';
	dst[0] = '\0';
	while (*src != '\0') {
		nl = strchr(src, '\n');
		len = nl != NULL ? (size_t)(nl - src) : strlen(src);
		n = len;
		if (n > 0 && src[n - 1] == '\r' && nl != NULL)
			n--;                    /* CR LF */
		if (text_escape(dst + o, dstlen - o, src, n) < n)
			return false;
		o += strlen(dst + o);
		if (o + 1 >= dstlen)
			return false;
		dst[o++] = '\n';
		dst[o] = '\0';
		src += len + (nl != NULL);
	}
	return true;
}

/* A string as a JSON string, escaped by the one JSON escaper
 * (textesc.h: controls as \u00XX, invalid UTF-8 as \ufffd), in pieces
 * so that text of any length fits. */
void
out_json_str(const char *s)
{
	char buf[1024];
	size_t len = strlen(s), n;

	putchar('"');
	while (len > 0) {
		/* The buffer holds any one escape: each call consumes. */
		n = text_escape_json(buf, sizeof(buf), s, len);
		if (n == 0)
			break;
		fputs(buf, stdout);
		s += n;
		len -= n;
	}
	putchar('"');
}

struct chan_msg
out_msg(const struct ctl_reply *reply)
{
	struct chan_msg m = {
		.type = reply->type, .fd = -1, .data = reply->data,
		.len = reply->len
	};

	return m;
}

/* CTL_ERROR or something unexpected: report it and fail. */
int
out_not_expected(const struct ctl_reply *reply)
{
	struct chan_msg m = out_msg(reply);
	struct wire_text w;
	char text[256];

	if (reply->type == CTL_ERROR) {
		if (wire_text_decode(&m, &w) == 0)
			out_clean(text, sizeof(text), w.text);
		else
			(void)strlcpy(text, "(malformed error message)", sizeof(text));
		fprintf(stderr, "empathctl: ctld: %s\n", text);
	} else
		fprintf(stderr, "empathctl: unexpected answer from ctld (type %u)\n",
		    reply->type);
	return EXIT_FAIL;
}

int
out_malformed(void)
{
	fprintf(stderr, "empathctl: malformed answer from ctld\n");
	return EXIT_FAIL;
}

int
print_pong(const struct ctl_reply *reply, bool json)
{
	struct chan_msg m = out_msg(reply);
	struct wire_text w;
	char version[64];

	if (reply->type != CTL_PONG)
		return out_not_expected(reply);
	if (wire_text_decode(&m, &w) == -1)
		return out_malformed();
	out_clean(version, sizeof(version), w.text);
	if (json) {
		printf("{\"pong\":true,\"version\":");
		out_json_str(version);
		printf("}\n");
	} else
		printf("pong (empath %s)\n", version);
	return EXIT_OK;
}

static bool
parse_status(const struct ctl_reply *reply, struct status *st)
{
	static struct wire_ctl_status w;
	struct chan_msg m = out_msg(reply);
	uint32_t i;

	if (wire_ctl_status_decode(&m, &w) == -1)
		return false;
	out_clean(st->version, sizeof(st->version), w.version);
	st->uptime = w.uptime;
	st->messages = w.messages;
	st->recipients = w.recipients;
	st->n = w.n;
	for (i = 0; i < w.n; i++) {
		out_clean(st->rows[i].name, sizeof(st->rows[i].name),
		    w.row[i].name);
		st->rows[i].pid = w.row[i].pid;
		st->rows[i].running = w.row[i].running;
		st->rows[i].restarts = w.row[i].restarts;
	}
	return true;
}

void
out_duration(uint64_t s)
{
	uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;

	s %= 60;
	if (d > 0)
		printf("%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s",
		    d, h, m, s);
	else if (h > 0)
		printf("%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", h, m, s);
	else if (m > 0)
		printf("%" PRIu64 "m %02" PRIu64 "s", m, s);
	else
		printf("%" PRIu64 "s", s);
}

static void
status_text(const struct status *st, const struct plugin_disabled *pd)
{
	const struct status_row *row;
	char pid[16];
	uint32_t i;

	printf("version: empath %s\n", st->version);
	printf("uptime: ");
	out_duration(st->uptime);
	printf("\n");
	if (st->messages == CTL_COUNT_UNKNOWN || st->recipients == CTL_COUNT_UNKNOWN)
		printf("queue: unknown (queued did not answer)\n");
	else
		printf("queue: %" PRIu64 " message%s, %" PRIu64 " recipient%s\n",
		    st->messages, st->messages == 1 ? "" : "s",
		    st->recipients, st->recipients == 1 ? "" : "s");
	if (st->n == 0)
		printf("no process information yet\n");
	for (i = 0; i < st->n; i++) {
		row = &st->rows[i];
		if (row->pid != 0)
			(void)snprintf(pid, sizeof(pid), "%u", row->pid);
		else
			(void)strlcpy(pid, "-", sizeof(pid));
		printf("%-8s  pid %-7s  %-7s  restarts %u\n", row->name, pid,
		    row->running ? "running" : "stopped", row->restarts);
	}
	for (i = 0; pd != NULL && i < pd->n; i++)
		printf("plugin %s disabled in %s after repeated crashes (until "
		    "empath-master restarts)\n", pd->row[i].name,
		    pd->row[i].daemon);
}

static void
status_json(const struct status *st, const struct plugin_disabled *pd)
{
	const struct status_row *row;
	uint32_t i;

	printf("{\"version\":");
	out_json_str(st->version);
	printf(",\"uptime\":%" PRIu64 ",\"queue\":", st->uptime);
	if (st->messages == CTL_COUNT_UNKNOWN || st->recipients == CTL_COUNT_UNKNOWN)
		printf("null");
	else
		printf("{\"messages\":%" PRIu64 ",\"recipients\":%" PRIu64 "}",
		    st->messages, st->recipients);
	printf(",\"daemons\":[");
	for (i = 0; i < st->n; i++) {
		row = &st->rows[i];
		printf("%s{\"name\":", i ? "," : "");
		out_json_str(row->name);
		printf(",\"pid\":%u,\"running\":%s,\"restarts\":%u}", row->pid,
		    row->running ? "true" : "false", row->restarts);
	}
	printf("]");
	if (pd != NULL) {
		printf(",\"disabled_plugins\":[");
		for (i = 0; i < pd->n; i++) {
			printf("%s{\"daemon\":", i ? "," : "");
			out_json_str(pd->row[i].daemon);
			printf(",\"name\":");
			out_json_str(pd->row[i].name);
			printf("}");
		}
		printf("]");
	}
	printf("}\n");
}

/* The status is good when the master has reported its processes and
 * every one of them runs; scripts and monitors read the exit status. */
static bool
status_all_running(const struct status *st)
{
	bool ok = true;
	uint32_t i;

	if (st->n == 0) {
		fprintf(stderr, "empathctl: no process information yet\n");
		return false;
	}
	for (i = 0; i < st->n; i++) {
		if (!st->rows[i].running) {
			fprintf(stderr, "empathctl: %s is not running\n",
			    st->rows[i].name);
			ok = false;
		}
	}
	return ok;
}

int
print_status(const struct ctl_reply *reply, bool json)
{
	return print_status_plugins(reply, NULL, json);
}

int
print_status_plugins(const struct ctl_reply *reply,
    const struct plugin_disabled *pd, bool json)
{
	static struct status st;    /* 2.5 KiB: off the stack */

	if (reply->type != CTL_STATUS_REPLY)
		return out_not_expected(reply);
	memset(&st, 0, sizeof(st));
	if (!parse_status(reply, &st))
		return out_malformed();
	if (json)
		status_json(&st, pd);
	else
		status_text(&st, pd);
	return status_all_running(&st) ? EXIT_OK : EXIT_FAIL;
}
