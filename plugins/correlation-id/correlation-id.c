/* SPDX-License-Identifier: ISC */
/*
 * correlation-id: follow a message from smtpd to its delivery.
 *
 *	plugin "correlation-id" { }
 *
 * At MAIL, smtpd gives the message a fresh random id (128 bits as 32
 * lower-case hex digits) in the metadata "correlation-id"; at DATA the
 * message gets the header field "X-Correlation-ID: <id>"; the metadata
 * travels with the message, and deliverd logs the id with the result of
 * each delivery. The same plugin serves both daemons: each calls only the
 * functions of its own points.
 */
#define _GNU_SOURCE                  /* getrandom(2) */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>

#include <empath/empath.h>

#define KEY     "correlation-id"
#define HEADER  "X-Correlation-ID"
#define ID_LEN  32                   /* hex digits of 16 random octets */

/* id (ID_LEN + 1 bytes) gets a fresh id; 0 or -1. getrandom(2) needs no
 * file, so it works in smtpd's chroot, and its system call filter
 * allows it. */
static int
fresh_id(char *id)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[ID_LEN / 2];
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	for (i = 0; i < sizeof(rnd); i++) {
		id[2 * i] = hex[rnd[i] >> 4];
		id[2 * i + 1] = hex[rnd[i] & 0x0f];
	}
	id[ID_LEN] = '\0';
	return 0;
}

/* Metadata may come from another plugin: use only what looks like ours. */
static const char *
get_id(const em_context *ctx)
{
	const char *id = em_context_get(ctx, KEY);

	if (id == NULL || strlen(id) != ID_LEN ||
	    strspn(id, "0123456789abcdef") != ID_LEN)
		return NULL;
	return id;
}

static int
ci_mail(em_context *ctx)
{
	char id[ID_LEN + 1];

	/* A missing id is no reason to refuse mail: log and go on. */
	if (fresh_id(id) == -1)
		em_log(LOG_WARNING, "getrandom: %s", strerror(errno));
	else if (em_context_set(ctx, KEY, id) == -1)
		em_log(LOG_WARNING, "cannot set %s: %s", KEY, strerror(errno));
	return EM_ACCEPT;
}

static int
ci_data(em_context *ctx)
{
	const char *id = get_id(ctx);

	if (id != NULL && em_context_add_header(ctx, HEADER, id) == -1)
		em_log(LOG_WARNING, "cannot add %s: %s", HEADER, strerror(errno));
	return EM_ACCEPT;
}

static const char *
or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

static void
log_delivery(em_context *ctx, const char *result)
{
	const char *id = get_id(ctx), *reply;
	int code;

	if (id == NULL)
		return;
	reply = em_context_get_delivery_reply(ctx, &code);
	/* The daemon escapes what it logs: text from the remote server
	 * may go in as it is, but never as the format. */
	em_log(LOG_INFO, "%s=%s message %s to %s host %s [%s] attempt %u: %s, "
	    "reply %d %s", KEY, id, or_dash(em_context_get_id(ctx)),
	    or_dash(em_context_get_delivery_domain(ctx)),
	    or_dash(em_context_get_delivery_host(ctx)),
	    or_dash(em_context_get_delivery_address(ctx)),
	    em_context_get_delivery_attempt(ctx), result, code, or_dash(reply));
}

static void
ci_success(em_context *ctx)
{
	log_delivery(ctx, "delivered");
}

static void
ci_failure(em_context *ctx)
{
	log_delivery(ctx, "failed");
}

EMPATH_PLUGIN(.name = "correlation-id", .version = "1.0",
    .validate_mail = ci_mail, .validate_data = ci_data,
    .on_delivery_success = ci_success, .on_delivery_failure = ci_failure);
