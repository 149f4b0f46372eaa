/* SPDX-License-Identifier: ISC */
/* The example plugins of plugins/, as built for installation, loaded
 * with the loader (lib/plugin.c) and called like a daemon calls them:
 * reject-list refuses the listed recipients (domain in any case) and
 * refuses to start without its file; correlation-id gives each message
 * a random id, adds it as a header field and logs it with the delivery;
 * event-log writes one valid JSON line per event, escapes hostile
 * strings and never writes past its bound. And em_log() itself. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "fixture.h"
#include "log.h"
#include "plugin.h"
#include "plugin_ctx.h"
#include "plugin_log.h"

#ifndef EXAMPLE_PLUGIN_DIR
#error EXAMPLE_PLUGIN_DIR must name the directory of the built plugins
#endif

static const char *dir;
static char err[4096];

static void
setup(void)
{
	dir = fx_tmpdir("plugex");
	err[0] = '\0';
}

/* dir/name, in one of 8 buffers used in turn. */
static char *
path_in(const char *name)
{
	static char p[8][512];
	static unsigned i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The whole file, NUL-terminated, to free; "" if absent. */
static char *
slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[8192];
	FILE *f = fopen(path, "r");

	buf = calloc(1, 1);
	if (f == NULL)
		return buf;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf = realloc(buf, len + n + 1);
		ck_assert_ptr_nonnull(buf);
		memcpy(buf + len, chunk, n);
		len += n;
		buf[len] = '\0';
	}
	fclose(f);
	return buf;
}

static int
load(struct plugins *ps, const char *name, size_t nargs, char **args)
{
	plugins_init(ps, 0);
	return plugin_load(ps, EXAMPLE_PLUGIN_DIR, name, nargs, args, 0,
	    "t.conf:3", err, sizeof(err));
}

/* The daemon's log (stderr, foreground) into a file until log_end(). */
static int saved_stderr = -1;
static char log_path[512];

static void
log_begin(void)
{
	int fd;

	log_init("deliverd", 1, 0);
	snprintf(log_path, sizeof(log_path), "%s", path_in("log"));
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(2);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);
}

static char *
log_end(void)
{
	dup2(saved_stderr, 2);
	close(saved_stderr);
	return slurp(log_path);
}

/* ---- reject-list --------------------------------------------------- */

/* The hook's verdict for rcpt; the reply text in *text. */
static int
rcpt_verdict(struct plugins *ps, const char *rcpt, const char **text,
    int *code)
{
	struct em_context *c = plugin_ctx_new();
	static char saved[512];
	const char *t;
	int r;

	plugin_ctx_set_sender(c, "s@example.org");
	plugin_ctx_add_rcpt(c, "earlier@example.org");
	plugin_ctx_add_rcpt(c, rcpt);
	r = plugins_run_hook(ps, EM_VALIDATE_RCPT, c, NULL);
	t = em_context_get_response(c, code);
	snprintf(saved, sizeof(saved), "%s", t != NULL ? t : "");
	*text = saved;
	plugin_ctx_free(c);
	return r;
}

START_TEST(reject_list_rejects_listed_recipients)
{
	struct plugins ps;
	char *args[] = { path_in("list") };
	const char *text;
	int code;

	write_file(args[0], "# refused\n\n   Blocked@Example.ORG\n"
	    "spam@example.net   # trailing comment\r\n"
	    "\tjos\xc3\xa9@example.org\n");
	ck_assert_msg(load(&ps, "reject-list", 1, args) == 0, "%s", err);

	/* The domain in any case: rejected with the address in the reply. */
	ck_assert_int_eq(rcpt_verdict(&ps, "Blocked@example.org", &text,
	    &code), EM_REJECT);
	ck_assert_int_eq(code, 550);
	ck_assert_str_eq(text, "5.1.1 <Blocked@example.org>: recipient rejected");
	ck_assert_int_eq(rcpt_verdict(&ps, "Blocked@EXAMPLE.org", &text,
	    &code), EM_REJECT);
	ck_assert_str_eq(text, "5.1.1 <Blocked@EXAMPLE.org>: recipient rejected");
	ck_assert_int_eq(rcpt_verdict(&ps, "spam@Example.Net", &text, &code),
	    EM_REJECT);
	/* The local part is compared exactly (RFC 5321 section 2.4). */
	ck_assert_int_eq(rcpt_verdict(&ps, "blocked@example.org", &text,
	    &code), EM_ACCEPT);
	ck_assert_int_eq(code, 0);
	/* Others pass, whatever came before them. */
	ck_assert_int_eq(rcpt_verdict(&ps, "friend@example.org", &text,
	    &code), EM_ACCEPT);
	ck_assert_int_eq(rcpt_verdict(&ps, "spam@example.net.evil", &text,
	    &code), EM_ACCEPT);
	/* A UTF-8 address cannot go in the reply: still 550 5.1.1. */
	ck_assert_int_eq(rcpt_verdict(&ps, "jos\xc3\xa9@EXAMPLE.org", &text,
	    &code), EM_REJECT);
	ck_assert_int_eq(code, 550);
	ck_assert_str_eq(text, "5.1.1 recipient rejected");
	plugins_unload(&ps);
}
END_TEST

static void
reject_list_refuses(const char *content, const char *logged)
{
	struct plugins ps;
	char *args[] = { path_in("list") }, *log;
	int r;

	if (content != NULL)
		write_file(args[0], content);
	log_begin();
	r = load(&ps, "reject-list", 1, args);
	log = log_end();
	ck_assert_int_eq(r, -1);
	ck_assert_msg(strstr(err, "t.conf:3: plugin \"reject-list\": init "
	    "failed") != NULL, "%s", err);
	ck_assert(TAILQ_EMPTY(&ps.list));
	ck_assert_msg(strstr(log, "error: plugin reject-list: ") != NULL &&
	    strstr(log, logged) != NULL, "log \"%s\" lacks \"%s\"", log, logged);
	free(log);
}

START_TEST(reject_list_init_fails_on_bad_file)
{
	char want[600], longline[2100];

	snprintf(want, sizeof(want), "%s: No such file or directory",
	    path_in("list"));
	reject_list_refuses(NULL, want);
	snprintf(want, sizeof(want), "%s:3: more than one address",
	    path_in("list"));
	reject_list_refuses("a@example.org\n# c\nb@example.org c@example.org\n",
	    want);
	snprintf(want, sizeof(want), "%s:1: not an address", path_in("list"));
	reject_list_refuses("postmaster\n", want);
	memset(longline, 'a', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	snprintf(want, sizeof(want), "%s:2: line too long", path_in("list"));
	{
		char content[2200];

		snprintf(content, sizeof(content), "x@example.org\n%s", longline);
		reject_list_refuses(content, want);
	}
	/* No args at all. */
	{
		struct plugins ps;
		char *log;

		log_begin();
		ck_assert_int_eq(load(&ps, "reject-list", 0, NULL), -1);
		log = log_end();
		ck_assert_ptr_nonnull(strstr(log, "plugin reject-list: usage: "));
		free(log);
	}
}
END_TEST

/* ---- correlation-id ------------------------------------------------ */

START_TEST(correlation_id_follows_the_message)
{
	struct plugins ps;
	struct em_context *c = plugin_ctx_new();
	char id[64], first[64], want[512], *log;

	ck_assert_msg(load(&ps, "correlation-id", 0, NULL) == 0, "%s", err);
	plugin_ctx_set_sender(c, "a@example.org");
	ck_assert_int_eq(plugins_run_hook(&ps, EM_VALIDATE_MAIL, c, NULL),
	    EM_ACCEPT);
	ck_assert_ptr_nonnull(em_context_get(c, "correlation-id"));
	snprintf(first, sizeof(first), "%s", em_context_get(c, "correlation-id"));
	fx_assert_matches(first, "^[0-9a-f]{32}$");
	/* The next transaction gets another id. */
	plugin_ctx_reset_message(c);
	plugin_ctx_set_sender(c, "a@example.org");
	plugins_run_hook(&ps, EM_VALIDATE_MAIL, c, NULL);
	snprintf(id, sizeof(id), "%s", em_context_get(c, "correlation-id"));
	fx_assert_matches(id, "^[0-9a-f]{32}$");
	ck_assert_str_ne(id, first);

	/* DATA: exactly one header field, with that id. */
	plugin_ctx_add_rcpt(c, "b@example.net");
	plugin_ctx_set_data(c, (const unsigned char *)"Subject: x\r\n\r\nhi\r\n",
	    18);
	ck_assert_int_eq(plugins_run_hook(&ps, EM_VALIDATE_DATA, c, NULL),
	    EM_ACCEPT);
	ck_assert_uint_eq(c->nheaders, 1);
	ck_assert_str_eq(c->headers[0].name, "X-Correlation-ID");
	ck_assert_str_eq(c->headers[0].value, id);

	/* deliverd: the id with the result, in the daemon's log. */
	plugin_ctx_set_id(c, "01JEXAMPLE");
	plugin_ctx_set_delivery(c, "example.net", "mx.example.net",
	    "192.0.2.25", 2);
	plugin_ctx_set_delivery_reply(c, 250, "2.0.0 queued as 42", NULL, NULL);
	log_begin();
	plugins_run_event(&ps, EM_EVENT_DELIVERY_SUCCESS, c);
	plugin_ctx_set_delivery_reply(c, 550, "5.1.1 no\x1b[31m", NULL, NULL);
	plugins_run_event(&ps, EM_EVENT_DELIVERY_FAILURE, c);
	log = log_end();
	snprintf(want, sizeof(want), "info: plugin correlation-id: "
	    "correlation-id=%s message 01JEXAMPLE to example.net host "
	    "mx.example.net [192.0.2.25] attempt 2: delivered, reply 250 "
	    "2.0.0 queued as 42\n", id);
	ck_assert_msg(strstr(log, want) != NULL, "log \"%s\" lacks \"%s\"",
	    log, want);
	/* The remote server's text is made printable by the logger. */
	snprintf(want, sizeof(want), "attempt 2: failed, reply 550 5.1.1 "
	    "no\\x1b[31m\n");
	ck_assert_msg(strstr(log, want) != NULL, "log \"%s\" lacks \"%s\"",
	    log, want);
	free(log);

	/* Metadata that is not an id of ours: no header, no log line. */
	ck_assert_int_eq(em_context_set(c, "correlation-id", "forged"), 0);
	plugins_run_hook(&ps, EM_VALIDATE_DATA, c, NULL);
	ck_assert_uint_eq(c->nheaders, 1);
	log_begin();
	plugins_run_event(&ps, EM_EVENT_DELIVERY_SUCCESS, c);
	log = log_end();
	ck_assert_str_eq(log, "");
	free(log);
	plugin_ctx_free(c);
	plugins_unload(&ps);
}
END_TEST

/* ---- event-log ----------------------------------------------------- */

#define TIME_RE "^\\{\"time\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:" \
	"[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z\""
#define TIME_LEN 34   /* {"time":"YYYY-MM-DDTHH:MM:SS.mmmZ" */

/* Line i (from 0) of text with its time checked and cut off. */
static const char *
line_after_time(const char *text, int i)
{
	static char line[32768];
	const char *end;

	while (i-- > 0) {
		ck_assert_ptr_nonnull(text = strchr(text, '\n'));
		text++;
	}
	ck_assert_ptr_nonnull(end = strchr(text, '\n'));
	ck_assert_uint_lt((size_t)(end - text), sizeof(line));
	memcpy(line, text, (size_t)(end - text) + 1);
	line[end - text + 1] = '\0';
	fx_assert_matches(line, TIME_RE);
	return line + TIME_LEN;
}

/* Every line of the file is a JSON object, as Python reads it; n lines. */
static void
assert_json_lines(const char *path, int n)
{
	char cmd[1024];

	if (access("/usr/bin/python3", X_OK) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys\n"
	    "n = 0\nfor l in open(sys.argv[1], \"rb\"):\n"
	    "    assert l.endswith(b\"\\n\") and isinstance(json.loads(l), dict)\n"
	    "    n += 1\nsys.exit(0 if n == %d else 1)' '%s'", n, path);
	ck_assert_msg(system(cmd) == 0, "%s: not %d JSON lines", path, n);
}

static void
event_log_load(struct plugins *ps)
{
	char *args[] = { path_in("events"), "correlation-id", "absent" };

	ck_assert_msg(load(ps, "event-log", 3, args) == 0, "%s", err);
}

START_TEST(event_log_writes_one_line_per_event)
{
	struct plugins ps;
	struct em_context *c = plugin_ctx_new();
	char *text;

	event_log_load(&ps);
	plugin_ctx_set_peer(c, "192.0.2.1", "client.example");
	plugin_ctx_set_tls(c, "TLSv1.3", "TLS_AES_128_GCM_SHA256");
	plugins_run_event(&ps, EM_EVENT_CONNECTION_OPENED, c);
	plugin_ctx_set_id(c, "01JEXAMPLE");
	plugin_ctx_set_sender(c, "");
	plugin_ctx_add_rcpt(c, "b@example.net");
	plugin_ctx_add_rcpt(c, "c@example.net");
	ck_assert_int_eq(em_context_set(c, "correlation-id", "abc"), 0);
	ck_assert_int_eq(em_context_set(c, "other", "not listed"), 0);
	plugins_run_event(&ps, EM_EVENT_MESSAGE_RECEIVED, c);
	plugin_ctx_set_reply(c, 554, "5.7.1 no");
	plugins_run_event(&ps, EM_EVENT_SMTP_ERROR, c);

	/* deliverd knows no peer of smtpd. */
	plugin_ctx_set_peer(c, NULL, NULL);
	plugin_ctx_set_tls(c, NULL, NULL);
	plugin_ctx_set_delivery(c, "example.net", "mx.example.net",
	    "192.0.2.25", 1);
	plugin_ctx_set_delivery_reply(c, 250, "2.0.0 ok", "TLSv1.3", "X");
	plugins_run_event(&ps, EM_EVENT_DELIVERY_SUCCESS, c);
	plugins_unload(&ps);
	plugin_ctx_free(c);

	text = slurp(path_in("events"));
	ck_assert_str_eq(line_after_time(text, 0), ",\"event\":"
	    "\"connection_opened\",\"peer\":\"192.0.2.1\",\"helo\":"
	    "\"client.example\",\"tls\":{\"version\":\"TLSv1.3\",\"cipher\":"
	    "\"TLS_AES_128_GCM_SHA256\"},\"metadata\":{}}\n");
	ck_assert_str_eq(line_after_time(text, 1), ",\"event\":"
	    "\"message_received\",\"id\":\"01JEXAMPLE\",\"sender\":\"\","
	    "\"peer\":\"192.0.2.1\",\"helo\":\"client.example\",\"tls\":"
	    "{\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_128_GCM_SHA256\"},"
	    "\"metadata\":{\"correlation-id\":\"abc\"},\"recipients\":"
	    "[\"b@example.net\",\"c@example.net\"]}\n");
	ck_assert_str_eq(line_after_time(text, 2), ",\"event\":\"smtp_error\","
	    "\"id\":\"01JEXAMPLE\",\"sender\":\"\",\"peer\":\"192.0.2.1\","
	    "\"helo\":\"client.example\",\"tls\":{\"version\":\"TLSv1.3\","
	    "\"cipher\":\"TLS_AES_128_GCM_SHA256\"},\"reply_code\":554,"
	    "\"reply_text\":\"5.7.1 no\",\"metadata\":{\"correlation-id\":"
	    "\"abc\"},\"recipients\":[\"b@example.net\",\"c@example.net\"]}\n");
	ck_assert_str_eq(line_after_time(text, 3), ",\"event\":"
	    "\"delivery_success\",\"id\":\"01JEXAMPLE\",\"sender\":\"\","
	    "\"delivery\":{\"domain\":\"example.net\",\"host\":"
	    "\"mx.example.net\",\"address\":\"192.0.2.25\",\"attempt\":1,"
	    "\"reply_code\":250,\"reply_text\":\"2.0.0 ok\",\"tls\":"
	    "{\"version\":\"TLSv1.3\",\"cipher\":\"X\"}},\"metadata\":"
	    "{\"correlation-id\":\"abc\"},\"recipients\":[\"b@example.net\","
	    "\"c@example.net\"]}\n");
	ck_assert_ptr_null(strstr(text, "other"));
	assert_json_lines(path_in("events"), 4);
	free(text);
}
END_TEST

/* Each event by its own name, whichever daemon sends it. */
START_TEST(event_log_names_every_event)
{
	static const char *const want[] = { "connection_opened",
	    "connection_closed", "message_received", "smtp_error",
	    "message_queued", "message_deferred", "message_bounced",
	    "message_expired", "message_deleted", "dns_lookup",
	    "delivery_attempt", "delivery_success", "delivery_failure" };
	struct plugins ps;
	struct em_context *c = plugin_ctx_new();
	char expect[128], *text;
	int p, i = 0;

	event_log_load(&ps);
	/* Hooks are not events: nothing written for them. */
	for (p = 0; p < EM_POINT_COUNT; p++)
		if (p < EM_EVENT_CONNECTION_OPENED)
			ck_assert_int_eq(plugins_run_hook(&ps, (enum em_point)p, c,
			    NULL), EM_ACCEPT);
		else
			plugins_run_event(&ps, (enum em_point)p, c);
	plugins_unload(&ps);
	plugin_ctx_free(c);
	text = slurp(path_in("events"));
	for (p = 0; text[p] != '\0'; p++)
		i += text[p] == '\n';
	ck_assert_int_eq(i, 13);
	for (i = 0; i < (int)(sizeof(want) / sizeof(want[0])); i++) {
		snprintf(expect, sizeof(expect), ",\"event\":\"%s\","
		    "\"metadata\":{}}\n", want[i]);
		ck_assert_str_eq(line_after_time(text, i), expect);
	}
	assert_json_lines(path_in("events"), 13);
	free(text);
}
END_TEST

START_TEST(event_log_escapes_hostile_strings)
{
	struct plugins ps;
	struct em_context *c = plugin_ctx_new();
	char *text;

	event_log_load(&ps);
	/* Quote, backslash, C0, DEL, C1 (U+0085), valid 2-, 3- and 4-octet
	 * characters, then what is not UTF-8: a lone octet, an overlong
	 * '/', a surrogate, a code point past U+10FFFF and a cut
	 * sequence at the end. */
	plugin_ctx_set_sender(c, "q\"b\\n\x01\t\n\x1f\x7f|\xc2\x85|"
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xff|\xc0\xaf|\xed\xa0\x80|"
	    "\xf4\x90\x80\x80|\xe2\x82");
	plugin_ctx_set_peer(c, "192.0.2.1", "</script>\r\n{\"event\":\"x\"}");
	plugin_ctx_add_rcpt(c, "\"\\\"@example.org");
	plugins_run_event(&ps, EM_EVENT_CONNECTION_CLOSED, c);
	plugins_unload(&ps);
	plugin_ctx_free(c);
	text = slurp(path_in("events"));
	ck_assert_str_eq(line_after_time(text, 0), ",\"event\":"
	    "\"connection_closed\",\"sender\":\"q\\\"b\\\\n\\u0001\\u0009"
	    "\\u000a\\u001f\\u007f|\\u0085|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|"
	    "\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
	    "\\ufffd\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\",\"peer\":"
	    "\"192.0.2.1\",\"helo\":\"</script>\\u000d\\u000a{\\\"event\\\":"
	    "\\\"x\\\"}\",\"metadata\":{},\"recipients\":[\"\\\"\\\\\\\"@"
	    "example.org\"]}\n");
	assert_json_lines(path_in("events"), 1);
	free(text);
}
END_TEST

/* Long strings and many recipients: cut, still JSON, marked. */
START_TEST(event_log_bounds_the_line)
{
	struct plugins ps;
	struct em_context *c = plugin_ctx_new();
	char big[EM_META_VALUE_MAX + 1], rcpt[80], *text, *nl;
	size_t len;
	int i;

	event_log_load(&ps);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(em_context_set(c, "correlation-id", big), 0);
	/* 6 octets each once escaped: 60000 of them. */
	{
		char *ctl = malloc(10001);

		memset(ctl, '\x01', 10000);
		ctl[10000] = '\0';
		plugin_ctx_set_sender(c, ctl);
		free(ctl);
	}
	plugins_run_event(&ps, EM_EVENT_MESSAGE_QUEUED, c);
	plugin_ctx_set_sender(c, "a@example.org");
	for (i = 0; i < 2000; i++) {
		snprintf(rcpt, sizeof(rcpt), "recipient-%04d@example.net", i);
		plugin_ctx_add_rcpt(c, rcpt);
	}
	plugins_run_event(&ps, EM_EVENT_MESSAGE_QUEUED, c);
	plugins_unload(&ps);
	plugin_ctx_free(c);

	text = slurp(path_in("events"));
	/* First line: the sender cut between escapes, the rest left out. */
	nl = strchr(text, '\n');
	ck_assert_ptr_nonnull(nl);
	len = (size_t)(nl - text) + 1;
	ck_assert_uint_le(len, 16384);
	ck_assert_uint_gt(len, 16000);
	ck_assert(strncmp(nl - 18, ",\"truncated\":true}", 18) == 0);
	fx_assert_matches(line_after_time(text, 0),
	    "^,\"event\":\"message_queued\",\"sender\":\"(\\\\u0001)+\","
	    "\"truncated\":true}\n$");
	/* Second: every field, as many whole recipients as fit. */
	len = strlen(nl + 1);
	ck_assert_uint_le(len, 16384);
	fx_assert_matches(line_after_time(text, 1),
	    "^,\"event\":\"message_queued\",\"sender\":\"a@example.org\","
	    "\"metadata\":\\{\"correlation-id\":\"v{1024}\"\\},\"recipients\":"
	    "\\[\"recipient-0000@example.net\"(,\"recipient-[0-9]{4}@"
	    "example.net\")+\\],\"truncated\":true}\n$");
	ck_assert_ptr_null(strstr(text, "recipient-1999"));
	assert_json_lines(path_in("events"), 2);
	free(text);
}
END_TEST

/* Several daemons append to the file at once: no line is split. */
START_TEST(event_log_lines_never_interleave)
{
	struct plugins ps;
	struct em_context *c = plugin_ctx_new();
	char rcpt[80];
	pid_t pids[4];
	int i, j, st;

	event_log_load(&ps);
	for (i = 0; i < 300; i++) {
		snprintf(rcpt, sizeof(rcpt), "recipient-%04d@example.net", i);
		plugin_ctx_add_rcpt(c, rcpt);
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] == 0) {
			for (j = 0; j < 100; j++)
				plugins_run_event(&ps, EM_EVENT_DELIVERY_ATTEMPT, c);
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	plugins_unload(&ps);
	plugin_ctx_free(c);
	assert_json_lines(path_in("events"), 400);
}
END_TEST

START_TEST(event_log_init_fails_without_its_file)
{
	struct plugins ps;
	char *args[] = { path_in("no/such/dir/events") }, *log;
	char *bad[] = { path_in("events"), "bad key" };
	struct stat st;

	log_begin();
	ck_assert_int_eq(load(&ps, "event-log", 1, args), -1);
	ck_assert_int_eq(load(&ps, "event-log", 2, bad), -1);
	log = log_end();
	ck_assert_msg(strstr(log, "plugin event-log: ") != NULL &&
	    strstr(log, "events: No such file or directory") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "bad metadata key \"bad key\"") != NULL,
	    "%s", log);
	free(log);
	/* The file is made 0640 (less under the umask): no other reads it. */
	args[0] = path_in("events");
	ck_assert_int_eq(load(&ps, "event-log", 1, args), 0);
	plugins_unload(&ps);
	ck_assert_int_eq(stat(args[0], &st), 0);
	ck_assert_uint_eq(st.st_mode & 0137, 0);
}
END_TEST

/* Opened as root: a symbolic link planted at the path, or a FIFO, is
 * refused and nothing is written through it. */
START_TEST(event_log_refuses_a_link_or_a_fifo)
{
	struct plugins ps;
	char target[512], *args[] = { path_in("link") }, *log;
	struct stat st;

	snprintf(target, sizeof(target), "%s", path_in("target"));
	write_file(target, "");
	ck_assert_int_eq(symlink(target, args[0]), 0);
	log_begin();
	ck_assert_int_eq(load(&ps, "event-log", 1, args), -1);
	args[0] = path_in("fifo");
	ck_assert_int_eq(mkfifo(args[0], 0600), 0);
	ck_assert_int_eq(load(&ps, "event-log", 1, args), -1);
	log = log_end();
	ck_assert_msg(strstr(log, "link: is a symbolic link") != NULL, "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "fifo: "));
	free(log);
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
}
END_TEST

/* ---- em_log -------------------------------------------------------- */

START_TEST(em_log_prefixes_and_escapes)
{
	char *log;

	log_begin();
	plugin_log_enter("some-plugin");
	errno = EPIPE;
	em_log(LOG_WARNING, "bad %s", "\x1b[2J\xff\xc3\xa9");
	ck_assert_int_eq(errno, EPIPE);
	em_log(LOG_DEBUG, "hidden at the default level");
	em_log(LOG_NOTICE, "%d", 42);
	plugin_log_enter(NULL);
	em_log(LOG_ERR, "outside");
	log = log_end();
	fx_assert_matches(log, "deliverd\\[[0-9]+\\]: warn: plugin some-plugin: "
	    "bad \\\\x1b\\[2J\\\\xff\xc3\xa9\n");
	fx_assert_matches(log, "info: plugin some-plugin: 42\n");
	fx_assert_matches(log, "error: plugin \\?: outside\n");
	ck_assert_ptr_null(strstr(log, "hidden"));
	free(log);

	/* A long line is cut; the JSON format escapes for JSON. */
	log_begin();
	log_configure(LOGT_STDERR, LOGF_JSON, LOGL_INFO);
	plugin_log_enter("p");
	em_log(LOG_INFO, "%04000d", 7);
	em_log(LOG_ERR, "q\"\x01");
	plugin_log_enter(NULL);
	log = log_end();
	fx_assert_matches(log, "\"level\":\"info\",\"msg\":\"plugin p: 0{2030,2050}"
	    "\\.\\.\\.\"}\n");
	fx_assert_matches(log, "\"level\":\"error\",\"msg\":\"plugin p: "
	    "q\\\\\"\\\\u0001\"}\n");
	free(log);
}
END_TEST

static Suite *
examples_suite(void)
{
	Suite *s = suite_create("plugin_examples");
	TCase *tc = tcase_create("examples");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, reject_list_rejects_listed_recipients);
	tcase_add_test(tc, reject_list_init_fails_on_bad_file);
	tcase_add_test(tc, correlation_id_follows_the_message);
	tcase_add_test(tc, event_log_writes_one_line_per_event);
	tcase_add_test(tc, event_log_names_every_event);
	tcase_add_test(tc, event_log_escapes_hostile_strings);
	tcase_add_test(tc, event_log_bounds_the_line);
	tcase_add_test(tc, event_log_lines_never_interleave);
	tcase_add_test(tc, event_log_init_fails_without_its_file);
	tcase_add_test(tc, event_log_refuses_a_link_or_a_fifo);
	tcase_add_test(tc, em_log_prefixes_and_escapes);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(examples_suite);
