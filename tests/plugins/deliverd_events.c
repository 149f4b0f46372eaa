/* SPDX-License-Identifier: ISC */
/* A plugin of deliverd's events: each appends one line to the file named
 * by its first arg (opened O_APPEND in init, so that a line is one
 * write), the value of the metadata key named by its second arg:
 *
 *   event id domain host code meta:key=value attempt=N rcpts=a,b
 *       address=A tls=V reply=TEXT
 *
 * (one line; "-" for what is not known). The unit and e2e tests read it. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <empath/empath.h>

static int fd = -1;
static char key[EM_META_KEY_MAX + 1] = "-";

static int
ev_init(int argc, char **argv)
{
	if (argc < 2)
		return -1;
	if (argc >= 3)
		snprintf(key, sizeof(key), "%s", argv[2]);
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

static const char *
or_dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

static void
record(em_context *ctx, const char *event)
{
	char line[4096], rcpts[1024] = "";
	const char *const *r;
	const char *reply, *v;
	size_t i, n, off = 0;
	int code = 0, len;

	r = em_context_get_recipients(ctx, &n);
	for (i = 0; i < n && off < sizeof(rcpts); i++) {
		len = snprintf(rcpts + off, sizeof(rcpts) - off, "%s%s",
		    i > 0 ? "," : "", r[i]);
		if (len < 0)
			break;
		off += (size_t)len;
	}
	reply = em_context_get_delivery_reply(ctx, &code);
	v = em_context_get(ctx, key);
	len = snprintf(line, sizeof(line), "%s %s %s %s %d meta:%s=%s "
	    "attempt=%u rcpts=%s address=%s tls=%s reply=%s\n", event,
	    or_dash(em_context_get_id(ctx)),
	    or_dash(em_context_get_delivery_domain(ctx)),
	    or_dash(em_context_get_delivery_host(ctx)), code, key, or_dash(v),
	    em_context_get_delivery_attempt(ctx), or_dash(rcpts),
	    or_dash(em_context_get_delivery_address(ctx)),
	    or_dash(em_context_get_delivery_tls_version(ctx)), or_dash(reply));
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line)) {
		len = (int)sizeof(line) - 1;
		line[len - 1] = '\n';
	}
	if (write(fd, line, (size_t)len) != len)
		return;
}

static void
on_dns(em_context *ctx)
{
	record(ctx, "dns");
}

static void
on_attempt(em_context *ctx)
{
	record(ctx, "attempt");
}

static void
on_success(em_context *ctx)
{
	record(ctx, "success");
}

static void
on_failure(em_context *ctx)
{
	record(ctx, "failure");
}

EMPATH_PLUGIN(.name = "deliverd_events", .version = "1",
    .init = ev_init, .fini = ev_fini,
    .on_dns_lookup = on_dns, .on_delivery_attempt = on_attempt,
    .on_delivery_success = on_success, .on_delivery_failure = on_failure);
