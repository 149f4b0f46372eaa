/* SPDX-License-Identifier: ISC */
/*
 * event-log: every event of smtpd, queued and deliverd as one line of
 * JSON (RFC 8259) in a file, for a log shipper or `jq`.
 *
 *	plugin "event-log" { args "/var/log/empath/events.json"
 *	    "correlation-id" }
 *
 * The first arg is the file, opened (created 0640) when each daemon
 * starts, before it enters its chroot; the others name metadata keys to
 * copy into each line (the API looks keys up, it does not list them). A
 * line is written with one write(2) on a descriptor opened with O_APPEND,
 * so the lines of the three daemons never mix. A line holds at most
 * LINE_CAP bytes: longer strings are cut, at a character boundary, and the
 * line then ends with "truncated":true. Example (one line):
 *
 *	{"time":"2026-12-06T04:30:00.123Z","event":"delivery_success",
 *	 "id":"01JE...","sender":"a@example.org","recipients":["b@example.net"],
 *	 "delivery":{"domain":"example.net","host":"mx.example.net",
 *	 "address":"192.0.2.25","attempt":1,"reply_code":250,
 *	 "reply_text":"2.0.0 ok"},"metadata":{"correlation-id":"5f0c..."}}
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <empath/empath.h>

#define LINE_CAP 16384
/* Kept free for what closes a line: two brackets of nested objects,
 * ',"truncated":true', '}' and the newline. */
#define TAIL     32

static int fd = -1;
static char keys[EM_META_PAIRS_MAX][EM_META_KEY_MAX + 1];
static size_t nkeys;
static int write_failed;             /* log a failing file once, not per line */

/* The event names, the same whichever daemon sends them. */
static const char *const names[EM_POINT_COUNT] = {
	[EM_EVENT_CONNECTION_OPENED] = "connection_opened",
	[EM_EVENT_CONNECTION_CLOSED] = "connection_closed",
	[EM_EVENT_MESSAGE_RECEIVED] = "message_received",
	[EM_EVENT_SMTP_ERROR] = "smtp_error",
	[EM_EVENT_MESSAGE_QUEUED] = "message_queued",
	[EM_EVENT_MESSAGE_DEFERRED] = "message_deferred",
	[EM_EVENT_MESSAGE_BOUNCED] = "message_bounced",
	[EM_EVENT_MESSAGE_EXPIRED] = "message_expired",
	[EM_EVENT_MESSAGE_DELETED] = "message_deleted",
	[EM_EVENT_DNS_LOOKUP] = "dns_lookup",
	[EM_EVENT_DELIVERY_ATTEMPT] = "delivery_attempt",
	[EM_EVENT_DELIVERY_SUCCESS] = "delivery_success",
	[EM_EVENT_DELIVERY_FAILURE] = "delivery_failure",
};

/* ---- A bounded JSON writer ------------------------------------------ */

struct line {
	char   buf[LINE_CAP];
	size_t len;
	int    first;                    /* no ',' before the next member */
	int    cut;                      /* something did not fit */
};

/* Bytes left below lim (closing brackets may have passed it). */
static size_t
room(const struct line *l, size_t lim)
{
	return l->len < lim ? lim - l->len : 0;
}

/* Append n bytes if the line stays within lim; 0 or -1. */
static int
put(struct line *l, const char *s, size_t n, size_t lim)
{
	if (n > room(l, lim)) {
		l->cut = 1;
		return -1;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	return 0;
}

/* The length of the well-formed UTF-8 character at s (RFC 3629 section
 * 4: no overlong forms, no surrogates, nothing past U+10FFFF), 0 if the
 * octet at s does not start one. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* s as a JSON string (RFC 8259 section 7): '"' and '\' escaped, control
 * characters (C0, DEL, C1) as \u00XX, an octet that is not UTF-8 as
 * \ufffd, the replacement character. Cut between characters if the rest
 * does not fit below lim. */
static void
put_string(struct line *l, const char *str, size_t lim)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];
	const char *unit;
	size_t n;

	if (put(l, "\"", 1, lim - 1) == -1)
		return;
	while (*s != '\0') {
		unit = esc;
		if ((n = utf8_len(s)) == 0) {
			strcpy(esc, "\\ufffd");
			n = 1;
		} else if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*s;
			esc[2] = '\0';
		} else if (*s < 0x20 || *s == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *s);
		} else if (*s == 0xc2 && s[1] < 0xa0) {   /* U+0080-U+009F */
			snprintf(esc, sizeof(esc), "\\u%04x", s[1]);
		} else {
			unit = (const char *)s;
		}
		if (put(l, unit, unit == esc ? strlen(esc) : n, lim - 1) == -1)
			break;
		s += n;
	}
	put(l, "\"", 1, lim);            /* room was kept for it */
}

/* ',"key":' if there is room for it and a number or the start of a
 * string after it (VALUE_MIN). */
#define VALUE_MIN 24
static int
put_key(struct line *l, const char *key)
{
	if (strlen(key) + 4 + VALUE_MIN > room(l, LINE_CAP - TAIL)) {
		l->cut = 1;
		return -1;
	}
	if (!l->first)
		put(l, ",", 1, LINE_CAP);
	put(l, "\"", 1, LINE_CAP);
	put(l, key, strlen(key), LINE_CAP);
	put(l, "\":", 2, LINE_CAP);
	l->first = 0;
	return 0;
}

/* A member whose value is a string; nothing when value is NULL. */
static void
member_str(struct line *l, const char *key, const char *value)
{
	if (value != NULL && put_key(l, key) == 0)
		put_string(l, value, LINE_CAP - TAIL);
}

static void
member_num(struct line *l, const char *key, long value)
{
	char num[24];

	if (put_key(l, key) == 0) {
		snprintf(num, sizeof(num), "%ld", value);
		put(l, num, strlen(num), LINE_CAP);   /* put_key kept room */
	}
}

/* An array element, whole or not at all: a cut address would be
 * another address. */
static int
put_element(struct line *l, const char *value)
{
	size_t save = l->len;
	int cut = l->cut;

	l->cut = 0;
	if (!l->first)
		put(l, ",", 1, LINE_CAP - TAIL);
	put_string(l, value, LINE_CAP - TAIL);
	if (l->cut) {
		l->len = save;               /* l->first is unchanged */
		return -1;
	}
	l->cut = cut;
	l->first = 0;
	return 0;
}

/* Open an object or array member ('{' or '['); 0, or -1 when it does
 * not fit (then it must not be closed). */
static int
open_member(struct line *l, const char *key, char bracket)
{
	if (put_key(l, key) == -1)
		return -1;
	put(l, &bracket, 1, LINE_CAP);
	l->first = 1;
	return 0;
}

/* The closing bracket always fits: TAIL is kept for it. */
static void
close_member(struct line *l, char bracket)
{
	put(l, &bracket, 1, LINE_CAP);
	l->first = 0;
}

/* ---- The events ------------------------------------------------------ */

static void
put_time(struct line *l)
{
	struct timespec ts;
	struct tm tm;
	char t[40];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + n, sizeof(t) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	member_str(l, "time", t);
}

static void
put_tls(struct line *l, const char *version, const char *cipher)
{
	if (version != NULL && open_member(l, "tls", '{') == 0) {
		member_str(l, "version", version);
		member_str(l, "cipher", cipher);
		close_member(l, '}');
	}
}

static void
put_delivery(struct line *l, const em_context *ctx)
{
	const char *domain = em_context_get_delivery_domain(ctx);
	const char *host = em_context_get_delivery_host(ctx);
	const char *addr = em_context_get_delivery_address(ctx);
	unsigned attempt = em_context_get_delivery_attempt(ctx);
	const char *reply;
	int code;

	reply = em_context_get_delivery_reply(ctx, &code);
	if ((domain == NULL && host == NULL && addr == NULL && attempt == 0 &&
	    reply == NULL && code == 0) || open_member(l, "delivery", '{') == -1)
		return;
	member_str(l, "domain", domain);
	member_str(l, "host", host);
	member_str(l, "address", addr);
	if (attempt != 0)
		member_num(l, "attempt", (long)attempt);
	if (code != 0)
		member_num(l, "reply_code", code);
	member_str(l, "reply_text", reply);
	put_tls(l, em_context_get_delivery_tls_version(ctx),
	    em_context_get_delivery_tls_cipher(ctx));
	close_member(l, '}');
}

static void
log_event(em_context *ctx)
{
	struct line l;
	enum em_point pt = em_context_get_point(ctx);
	const char *const *rcpts;
	const char *v;
	size_t i, n;
	int code;

	if (fd == -1 || (unsigned)pt >= EM_POINT_COUNT || names[pt] == NULL)
		return;
	l.len = 0;
	l.cut = 0;
	put(&l, "{", 1, LINE_CAP);
	l.first = 1;
	put_time(&l);
	member_str(&l, "event", names[pt]);
	member_str(&l, "id", em_context_get_id(ctx));
	member_str(&l, "sender", em_context_get_sender(ctx));
	member_str(&l, "peer", em_context_get_peer_address(ctx));
	member_str(&l, "helo", em_context_get_helo(ctx));
	put_tls(&l, em_context_get_tls_version(ctx),
	    em_context_get_tls_cipher(ctx));
	/* The reply smtpd sent, for an SMTP error. */
	v = em_context_get_response(ctx, &code);
	if (code != 0)
		member_num(&l, "reply_code", code);
	member_str(&l, "reply_text", v);
	put_delivery(&l, ctx);
	if (nkeys > 0 && open_member(&l, "metadata", '{') == 0) {
		for (i = 0; i < nkeys; i++)
			member_str(&l, keys[i], em_context_get(ctx, keys[i]));
		close_member(&l, '}');
	}
	/* Last: the one list that may be long. */
	rcpts = em_context_get_recipients(ctx, &n);
	if (n > 0 && open_member(&l, "recipients", '[') == 0) {
		for (i = 0; i < n && put_element(&l, rcpts[i]) == 0; i++)
			;
		close_member(&l, ']');
	}
	if (l.cut)
		put(&l, ",\"truncated\":true", 17, LINE_CAP);
	put(&l, "}\n", 2, LINE_CAP);
	/* One write per line: O_APPEND keeps lines of several processes
	 * whole. Retrying a short write would split the line: don't. */
	if (write(fd, l.buf, l.len) != (ssize_t)l.len) {
		if (!write_failed)
			em_log(LOG_ERR, "write: %s", strerror(errno));
		write_failed = 1;
	} else
		write_failed = 0;
}

/* ---- Setup ---------------------------------------------------------- */

static int
el_init(int argc, char **argv)
{
	struct stat st;
	int i;

	if (argc < 2) {
		em_log(LOG_ERR, "usage: args \"/path/of/the/file\" [key ...]");
		return -1;
	}
	for (i = 2; i < argc; i++) {
		if ((size_t)(i - 2) >= EM_META_PAIRS_MAX ||
		    argv[i][0] == '\0' || strlen(argv[i]) > EM_META_KEY_MAX ||
		    strspn(argv[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(argv[i])) {
			em_log(LOG_ERR, "bad metadata key \"%s\" (at most %d of "
			    "[A-Za-z0-9._-]{1,%d})", argv[i], EM_META_PAIRS_MAX,
			    EM_META_KEY_MAX);
			return -1;
		}
		strcpy(keys[nkeys++], argv[i]);
	}
	/* Opened now: the daemon is about to chroot and drop privileges. */
	/* Opened as root: never through a symbolic link, and only a
	 * regular file (not a FIFO or a device someone put there). */
	fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY |
	    O_NOFOLLOW | O_NONBLOCK, 0640);
	if (fd == -1) {
		em_log(LOG_ERR, "%s: %s", argv[1], errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
		nkeys = 0;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		em_log(LOG_ERR, "%s: not a regular file", argv[1]);
		close(fd);
		fd = -1;
		nkeys = 0;
		return -1;
	}
	return 0;
}

static void
el_fini(void)
{
	if (fd != -1)
		close(fd);
	fd = -1;
	nkeys = 0;
}

EMPATH_PLUGIN(.name = "event-log", .version = "1.0",
    .init = el_init, .fini = el_fini,
    .on_connection_opened = log_event, .on_connection_closed = log_event,
    .on_message_received = log_event, .on_smtp_error = log_event,
    .on_message_queued = log_event, .on_message_deferred = log_event,
    .on_message_bounced = log_event, .on_message_expired = log_event,
    .on_message_deleted = log_event, .on_dns_lookup = log_event,
    .on_delivery_attempt = log_event, .on_delivery_success = log_event,
    .on_delivery_failure = log_event);
