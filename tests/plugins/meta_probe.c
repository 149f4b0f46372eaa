/* SPDX-License-Identifier: ISC */
/* Metadata across the daemons, for tests/e2e/test_plugins_flow.py. In
 * smtpd, validate_mail sets "probe" to the sender's local part, a dot
 * and the count of MAIL commands this smtpd has seen: a value only smtpd
 * knows. queued's message_queued and message_deferred and deliverd's
 * delivery_success and delivery_failure each append one line
 *
 *	event id probe=value attempt=N
 *
 * ("-" for what is not set) to the file named by the first arg, opened
 * O_APPEND in init (one write per line, before any sandbox). After its
 * line, the failure event sets "probe" to "deliverd": metadata set in
 * deliverd is not kept, so a retry must still see smtpd's value. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <empath/empath.h>

#define KEY "probe"

static int fd = -1;
static unsigned long mails;

static int
mp_init(int argc, char **argv)
{
	if (argc < 2)
		return -1;
	fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	return fd == -1 ? -1 : 0;
}

static void
mp_fini(void)
{
	if (fd != -1)
		close(fd);
	fd = -1;
}

static int
mp_mail(em_context *ctx)
{
	char value[EM_META_VALUE_MAX + 1];
	const char *sender = em_context_get_sender(ctx), *at;
	size_t n;

	mails++;
	if (sender == NULL || (at = strchr(sender, '@')) == NULL)
		at = sender = "-";
	n = (size_t)(at - sender);
	if (n > 64)
		n = 64;
	snprintf(value, sizeof(value), "%.*s.%lu", (int)n, sender, mails);
	/* A value em_context_set() refuses stays unset: the test sees "-". */
	(void)em_context_set(ctx, KEY, value);
	return EM_ACCEPT;
}

static void
record(const char *event, em_context *ctx)
{
	char line[2048];
	const char *id = em_context_get_id(ctx), *v = em_context_get(ctx, KEY);
	int len;

	len = snprintf(line, sizeof(line), "%s %s %s=%s attempt=%u\n", event,
	    id != NULL ? id : "-", KEY, v != NULL ? v : "-",
	    em_context_get_delivery_attempt(ctx));
	if (fd == -1 || len < 0 || (size_t)len >= sizeof(line))
		return;
	if (write(fd, line, (size_t)len) != len)
		return;
}

static void
mp_queued(em_context *ctx)
{
	record("queued", ctx);
}

static void
mp_deferred(em_context *ctx)
{
	record("deferred", ctx);
}

static void
mp_success(em_context *ctx)
{
	record("success", ctx);
}

static void
mp_failure(em_context *ctx)
{
	record("failure", ctx);
	(void)em_context_set(ctx, KEY, "deliverd");
}

EMPATH_PLUGIN(.name = "meta_probe", .version = "1",
    .init = mp_init, .fini = mp_fini, .validate_mail = mp_mail,
    .on_message_queued = mp_queued, .on_message_deferred = mp_deferred,
    .on_delivery_success = mp_success, .on_delivery_failure = mp_failure);
