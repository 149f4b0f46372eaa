/* The SMTP transaction on a connection: MAIL FROM, RCPT TO for each
 * recipient, DATA, the dot-stuffed body and the reply to the final dot.
 *
 * With PIPELINING the whole group goes out at once (RFC 2920) and the
 * replies are matched to it in order; without, one command per reply.
 * A RCPT reply settles that recipient unless it is 2xx; 2xx ones wait for
 * the reply to the final dot, which then settles them all. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "proto.h"
#include "util.h"

/* One buffer pair serves every connection: filling is synchronous. */
static char body_in[BODY_CHUNK];
static char body_out[DOTSTUFF_OUT_MAX(BODY_CHUNK) + DOTSTUFF_END_MAX];

static uint32_t
fail_state(int code)
{
	return code >= 500 && code <= 599 ? RCPT_FAILED : RCPT_DEFERRED;
}

static void
send_pos(struct client *c, size_t pos)
{
	const struct job *j = c->job;

	if (pos == 0) {
		char size[32] = "";

		if (c->caps.size)
			snprintf(size, sizeof(size), " SIZE=%ju", (uintmax_t)j->size);
		client_send(c, "MAIL FROM:<%s>%s%s%s", j->env.sender, size,
		    c->caps.eightbitmime && j->env.body != NULL &&
		    strcasecmp(j->env.body, "8BITMIME") == 0 ? " BODY=8BITMIME" : "",
		    c->caps.smtputf8 && j->env.smtputf8 ? " SMTPUTF8" : "");
	} else if (pos <= c->nsend)
		client_send(c, "RCPT TO:<%s>", j->env.rcpt[c->rcpt_idx[pos - 1]].addr);
	else
		client_send(c, "DATA");
}

static bool
non_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* RFC 6531 3.2: an envelope with UTF-8 addresses cannot go to a server
 * without SMTPUTF8 (ASCII addresses can, the parameter aside). */
static bool
needs_smtputf8(const struct job *j)
{
	size_t i;

	if (!j->env.smtputf8)
		return false;
	if (non_ascii(j->env.sender))
		return true;
	for (i = 0; i < j->env.nrcpt; i++)
		if (job_rcpt_pending(j, i) && non_ascii(j->env.rcpt[i].addr))
			return true;
	return false;
}

static bool
eightbit_body(const struct job *j)
{
	return j->env.body != NULL && (strcasecmp(j->env.body, "8BITMIME") == 0 ||
	    strcasecmp(j->env.body, "BINARYMIME") == 0);
}

/* RFC 6152 3: 8-bit content goes to a server without 8BITMIME only
 * converted to 7bit, else the recipients fail with 5.6.3 (RFC 3463).
 * Returns -1 when the transaction is off (the client finished). */
static int
plan_7bit(struct client *c)
{
	struct job *j = c->job;
	char diag[REPLY_TEXT_MAX], why[128];

	switch (mime7_prescan(j->fd, j->size, &c->m7plan, why, sizeof(why))) {
	case MIME7_SCAN_7BIT:
		return 0;             /* no 8-bit octet after all */
	case MIME7_SCAN_CONVERT:
		log_info("%s: converting 8-bit MIME to 7bit for %s, which does "
		    "not support 8BITMIME", j->env.id, c->peer);
		c->convert = true;
		return 0;
	case MIME7_SCAN_FAIL:
		/* A long peer name may cut the reason short: fine. */
		if (snprintf(diag, sizeof(diag), "5.6.3 conversion required "
		    "but not supported: %s does not support 8BITMIME and the "
		    "message cannot be made 7-bit (%s)", c->peer, why) < 0)
			diag[0] = '\0';
		job_pending_result(j, RCPT_FAILED, diag);
		return client_finish(c);
	case MIME7_SCAN_READ:
	default:
		if (errno == ENODATA)
			log_warnx("%s: the message file is shorter than its "
			    "%ju bytes", j->env.id, (uintmax_t)j->size);
		else
			log_warn("%s: read of the message file", j->env.id);
		job_pending_result(j, RCPT_DEFERRED,
		    "4.3.0 cannot read the message file");
		return client_finish(c);
	}
}

int
txn_begin(struct client *c)
{
	struct job *j = c->job;
	char diag[REPLY_TEXT_MAX];
	uint64_t size;
	size_t i;

	/* The server took the session: the next hop works (flow.c). */
	j->session_ok = true;
	if (!c->caps.smtputf8 && needs_smtputf8(j)) {
		snprintf(diag, sizeof(diag), "5.6.7 %s does not support SMTPUTF8, "
		    "which the addresses of this message need", c->peer);
		job_pending_result(j, RCPT_FAILED, diag);
		return client_finish(c);
	}
	if (!c->caps.eightbitmime && eightbit_body(j) && plan_7bit(c) == -1)
		return -1;
	/* Converted, the message grows: SIZE= and the limit see that. */
	size = c->convert ? c->m7plan.size : j->size;
	if (c->caps.size && c->caps.size_max > 0 && size > c->caps.size_max) {
		snprintf(diag, sizeof(diag), "5.3.4 message size %ju exceeds the "
		    "limit of %s (%ju)", (uintmax_t)size, c->peer,
		    (uintmax_t)c->caps.size_max);
		job_pending_result(j, RCPT_FAILED, diag);
		return client_finish(c);
	}
	c->rcpt_idx = xcalloc(j->env.nrcpt, sizeof(*c->rcpt_idx));
	c->accepted = xcalloc(j->env.nrcpt, sizeof(*c->accepted));
	for (i = 0; i < j->env.nrcpt; i++)
		if (job_rcpt_pending(j, i))
			c->rcpt_idx[c->nsend++] = i;
	if (c->nsend == 0)
		return client_finish(c);
	c->state = C_TXN;
	c->pipelining = c->caps.pipelining;
	/* MAIL goes out here, whatever the pipelining: send_pos() declares
	 * j->size, so for that moment it is the size sent. */
	size = j->size;
	if (c->convert)
		j->size = c->m7plan.size;
	if (c->pipelining) {
		while (c->sent < c->nsend + 2)
			send_pos(c, c->sent++);
	} else
		send_pos(c, c->sent++);
	j->size = size;
	client_arm(c);
	return client_pump(c);
}

static int
start_body(struct client *c)
{
	c->state = C_BODY;
	c->off = 0;
	c->body_sent = false;
	dotstuff_init(&c->ds);
	client_arm(c);
	return client_pump(c);
}

/* Converted bytes (mime7.c) on their way to the server. */
static void
convert_emit(void *arg, const char *p, size_t len)
{
	static char out[DOTSTUFF_OUT_MAX(MIME7_EMIT_MAX)];
	struct client *c = arg;

	lio_write(&c->lio, out, dotstuff(&c->ds, p, len, out));
}

/* Produce body bytes while the output buffer is low. Converting, less
 * is read at a time: quoted-printable may triple it. */
int
txn_body_fill(struct client *c)
{
	ssize_t n;
	size_t out;

	if (c->convert && c->m7 == NULL && !c->body_sent)
		c->m7 = mime7_new(&c->m7plan, convert_emit, c);
	while (!c->body_sent && lio_out_pending(&c->lio) < BODY_LOW_WATER) {
		n = body_read(c->job->fd, c->off, c->job->size, body_in,
		    c->convert ? MIME7_SCAN_CHUNK : sizeof(body_in));
		if (n == -1 && errno == ENODATA) {
			log_warnx("%s: the message file ends after %ju of its "
			    "%ju bytes", c->job->env.id, (uintmax_t)c->off,
			    (uintmax_t)c->job->size);
			return client_fail(c, RCPT_DEFERRED,
			    "4.3.0 the message file is shorter than queued");
		}
		if (n == -1) {
			log_warn("%s: read of the message file", c->job->env.id);
			/* Never send the final dot after a short body. */
			return client_fail(c, RCPT_DEFERRED,
			    "4.3.0 cannot read the message file");
		}
		if (c->convert && (n == 0 ? mime7_end(c->m7) :
		    mime7_feed(c->m7, body_in, (size_t)n)) == -1) {
			/* The plan held: only a changed file gets here. */
			log_warnx("%s: 7bit conversion failed: %s",
			    c->job->env.id, mime7_error(c->m7));
			return client_fail(c, RCPT_DEFERRED,
			    "4.3.0 the message changed while being converted");
		}
		if (n == 0) {
			out = dotstuff_end(&c->ds, body_out);
			c->body_sent = true;
			c->state = C_DATAEND;
			client_arm(c);
		} else if (c->convert) {
			out = 0;      /* convert_emit() wrote it */
			c->off += (uint64_t)n;
		} else {
			out = dotstuff(&c->ds, body_in, (size_t)n, body_out);
			c->off += (uint64_t)n;
		}
		lio_write(&c->lio, body_out, out);
	}
	return 0;
}

int
txn_reply(struct client *c)
{
	struct job *j = c->job;
	const char *diag = c->reply.text;
	int code = c->reply.code;
	size_t pos, k;

	if (c->replied >= c->sent)
		return client_broken(c, "unexpected reply");
	pos = c->replied++;
	if (pos == 0) {
		if (code / 100 != 2) {
			c->mail_failed = true;
			job_pending_result(j, fail_state(code), diag);
		}
	} else if (pos <= c->nsend) {
		if (!c->mail_failed) {
			if (code / 100 == 2) {
				c->accepted[pos - 1] = true;
				c->naccepted++;
			} else
				job_rcpt_result(j, c->rcpt_idx[pos - 1],
				    fail_state(code), diag);
		}
	} else {
		/* The reply to DATA. */
		if (c->mail_failed || c->naccepted == 0) {
			if (code != 354)
				return client_finish(c);
			/* RFC 2920 3.1: a 354 with no valid recipient
			 * gets an empty message that is then ignored. */
			c->discard = true;
			c->state = C_DATAEND;
			lio_write(&c->lio, ".\r\n", 3);
			client_arm(c);
			return client_pump(c);
		}
		if (code == 354)
			return start_body(c);
		for (k = 0; k < c->nsend; k++)
			if (c->accepted[k])
				job_rcpt_result(j, c->rcpt_idx[k],
				    fail_state(code), diag);
		return client_finish(c);
	}
	if (!c->pipelining) {
		if (c->mail_failed)
			return client_finish(c);
		/* Every recipient refused: no DATA, just QUIT. */
		if (c->sent == c->nsend + 1 && c->naccepted == 0)
			return client_finish(c);
		send_pos(c, c->sent++);
	}
	client_arm(c);
	return client_pump(c);
}

/* The reply to the final dot, or one that came while the body was still
 * going out (early: the server gave up on the message). */
int
txn_data_reply(struct client *c, bool early)
{
	const char *diag = c->reply.text;
	int code = c->reply.code;
	uint32_t st;
	size_t k;

	if (!c->discard) {
		if (code / 100 == 2 && !early)
			st = RCPT_DELIVERED;
		else
			st = fail_state(code);
		for (k = 0; k < c->nsend; k++)
			if (c->accepted[k])
				job_rcpt_result(c->job, c->rcpt_idx[k], st, diag);
	}
	if (early) {
		/* Mid-body, no QUIT can follow. */
		client_release(c);
		client_free(c);
		return -1;
	}
	return client_finish(c);
}
