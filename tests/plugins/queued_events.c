/* SPDX-License-Identifier: ISC */
/* A plugin with the five events of queued: each appends one line
 *
 *	event id sender key=value rcpts=a,b attempt=n reply=code
 *
 * to the file named by its first arg (opened O_APPEND in init, one
 * write per line), key being its second arg, a metadata key; value is
 * "-" when the message has none. tests/unit/test_queued_engine.c reads
 * the lines. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <empath/empath.h>

static int fd = -1;
static char key[EM_META_KEY_MAX + 1];

static int
ev_init(int argc, char **argv)
{
	if (argc < 3 || strlen(argv[2]) >= sizeof(key))
		return -1;
	strcpy(key, argv[2]);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	return fd == -1 ? -1 : 0;
}

static void
ev_fini(void)
{
	if (fd != -1)
		close(fd);
	fd = -1;
}

static void
put(const char *event, em_context *ctx)
{
	char line[4096];
	const char *const *r;
	const char *v = em_context_get(ctx, key);
	const char *reply;
	size_t n, i;
	int len, code = 0;

	r = em_context_get_recipients(ctx, &n);
	reply = em_context_get_delivery_reply(ctx, &code);
	len = snprintf(line, sizeof(line), "%s %s %s %s=%s rcpts=", event,
	    em_context_get_id(ctx), em_context_get_sender(ctx), key,
	    v != NULL ? v : "-");
	for (i = 0; i < n && len > 0 && (size_t)len < sizeof(line); i++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%s",
		    i > 0 ? "," : "", r[i]);
	if (len > 0 && (size_t)len < sizeof(line))
		len += snprintf(line + len, sizeof(line) - (size_t)len,
		    " attempt=%u reply=%d\n",
		    em_context_get_delivery_attempt(ctx),
		    reply != NULL ? code : -1);
	if (len > 0 && (size_t)len < sizeof(line))
		if (write(fd, line, (size_t)len) != len)
			return;   /* nothing better to do in a test */
}

static void on_queued(em_context *c)   { put("queued", c); }
static void on_deferred(em_context *c) { put("deferred", c); }
static void on_bounced(em_context *c)  { put("bounced", c); }
static void on_expired(em_context *c)  { put("expired", c); }
static void on_deleted(em_context *c)  { put("deleted", c); }

EMPATH_PLUGIN(.name = "queued_events", .version = "1", .init = ev_init,
    .fini = ev_fini, .on_message_queued = on_queued,
    .on_message_deferred = on_deferred, .on_message_bounced = on_bounced,
    .on_message_expired = on_expired, .on_message_deleted = on_deleted);
