/* SPDX-License-Identifier: ISC */
/* The SMTP transaction on a connection: MAIL FROM, RCPT TO for each
 * recipient, DATA, the dot-stuffed body and the reply to the final dot.
 *
 * With PIPELINING the whole group goes out at once (RFC 2920) and the
 * replies are matched to it in order; without, one command per reply.
 * A RCPT reply settles that recipient unless it is 2xx; 2xx ones wait for
 * the reply to the final dot, which then settles them all. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client.h"
#include "delivery_events.h"
#include "dsn_params.h"
#include "idn.h"
#include "log.h"
#include "plugin_ctx.h"
#include "proto.h"
#include "util.h"

/* One buffer pair serves every connection: filling is synchronous. */
static char body_in[BODY_CHUNK];
static char body_out[DOTSTUFF_OUT_MAX(BODY_CHUNK) + DOTSTUFF_END_MAX];
/* The added header fields are stuffed into it at once. */
_Static_assert(DOTSTUFF_OUT_MAX(PLUGIN_HEADERS_ENCODED_MAX) <= sizeof(body_out),
    "body_out holds the added header fields");

/* An address with its domain as A-label: a local part of up to 256 octets
 * (job_check) and a domain name. */
#define ADDR_PEER_MAX (256 + IDN_DOMAIN_MAX + 2)

static uint32_t
fail_state(int code)
{
	return code >= 500 && code <= 599 ? RCPT_FAILED : RCPT_DEFERRED;
}

/* The address as this next hop can take it. Without SMTPUTF8 a UTF-8
 * domain goes as its A-label: only a non-ASCII local part needs the
 * extension (RFC 6531 3.2, RFC 5890). NULL when it cannot go at all. */
static const char *
peer_addr(bool utf8, const char *addr, char *buf, size_t len)
{
	char dom[IDN_DOMAIN_MAX];
	const char *at;
	int n;

	if (utf8 || !idn_non_ascii(addr))
		return addr;
	if ((at = strrchr(addr, '@')) == NULL)
		return NULL;
	for (n = 0; addr + n < at; n++)
		if ((unsigned char)addr[n] >= 0x80)
			return NULL;
	if (idn_to_ascii(at + 1, dom, sizeof(dom)) == -1)
		return NULL;
	n = snprintf(buf, len, "%.*s@%s", (int)(at - addr), addr, dom);
	return n < 0 || (size_t)n >= len ? NULL : buf;
}

/* The header fields plugins added at DATA (env.headers, "Name: value"
 * CRLF lines checked by env_decode()): they go out on top of the
 * message, before the file's bytes or its 7bit conversion. */
static size_t
added_len(const struct job *j)
{
	return j->env.headers != NULL ? strlen(j->env.headers) : 0;
}

/* The message as it goes out, before dot-stuffing (RFC 1870 SIZE=):
 * the added fields and the file, or its conversion. */
static uint64_t
msg_size(const struct client *c)
{
	return added_len(c->job) + (c->convert ? c->m7plan.size : c->job->size);
}

static void
send_pos(struct client *c, size_t pos)
{
	const struct job *j = c->job;
	char line[DSN_LINE_MAX], abuf[ADDR_PEER_MAX];
	const char *addr;
	int n;

	if (pos == 0) {
		char size[32] = "";

		if (c->caps.size)
			snprintf(size, sizeof(size), " SIZE=%" PRIu64,
			    msg_size(c));
		addr = peer_addr(c->caps.smtputf8, j->env.sender, abuf,
		    sizeof(abuf));
		if (addr == NULL)
			addr = j->env.sender;
		n = snprintf(line, sizeof(line), "MAIL FROM:<%s>%s%s%s", addr, size,
		    c->caps.eightbitmime && j->env.body != NULL &&
		    strcasecmp(j->env.body, "8BITMIME") == 0 ? " BODY=8BITMIME" : "",
		    c->caps.smtputf8 && j->env.smtputf8 ? " SMTPUTF8" : "");
		/* RFC 3461 5.2: a DSN-capable next hop gets RET and ENVID. */
		if (c->caps.dsn && n > 0 && (size_t)n < sizeof(line))
			dsn_mail_params(&j->env, (size_t)n, line + n,
			    sizeof(line) - (size_t)n);
		client_send(c, "%s", line);
	} else if (pos <= c->nsend) {
		const struct env_rcpt *r = &j->env.rcpt[c->rcpt_idx[pos - 1]];

		addr = peer_addr(c->caps.smtputf8, r->addr, abuf, sizeof(abuf));
		if (addr == NULL)
			addr = r->addr;
		n = snprintf(line, sizeof(line), "RCPT TO:<%s>", addr);
		/* ... and NOTIFY and ORCPT of each recipient. */
		if (c->caps.dsn && n > 0 && (size_t)n < sizeof(line))
			dsn_rcpt_params(r, (size_t)n, line + n,
			    sizeof(line) - (size_t)n);
		client_send(c, "%s", line);
	} else
		client_send(c, "DATA");
}

/* Whether addr needs SMTPUTF8 on its way to this next hop. */
static bool
addr_needs_smtputf8(const char *addr)
{
	char buf[ADDR_PEER_MAX];

	return peer_addr(false, addr, buf, sizeof(buf)) == NULL;
}

/* Whether the message's own header (up to the first empty line, at most
 * HEADER_SCAN_MAX octets) holds a UTF-8 octet: RFC 6532 headers, which a
 * server without SMTPUTF8 must not get. -1 when the file cannot be read. */
#define HEADER_SCAN_MAX (256 * 1024)

struct txn_scans txn_scans;

static int
header_is_8bit(const struct job *j)
{
	char buf[4096];
	uint64_t off = 0;
	unsigned char prev[3] = { 0, 0, 0 };
	ssize_t n, k;

	while (off < j->size && off < HEADER_SCAN_MAX) {
		n = body_read(j->fd, off, j->size, buf, sizeof(buf));
		if (n <= 0)
			return n == 0 ? 0 : -1;
		for (k = 0; k < n; k++) {
			unsigned char ch = (unsigned char)buf[k];

			if (ch >= 0x80)
				return 1;
			/* "\n\r\n" or "\n\n": the header ends. */
			if (ch == '\n' && (prev[2] == '\n' ||
			    (prev[2] == '\r' && prev[1] == '\n')))
				return 0;
			prev[0] = prev[1];
			prev[1] = prev[2];
			prev[2] = ch;
		}
		off += (uint64_t)n;
	}
	return 0;
}

/* header_is_8bit() once per job: follow-ups reuse the answer. */
static int
header_8bit(struct client *c)
{
	int h;

	if (c->hdr_scanned)
		return c->hdr8;
	txn_scans.header++;
	if ((h = header_is_8bit(c->job)) == -1)
		return -1;            /* not kept: a read error may pass */
	c->hdr8 = h == 1;
	c->hdr_scanned = true;
	return h;
}

/* RFC 6531 3.2: to a server without SMTPUTF8, a UTF-8 domain goes as its
 * A-label and ASCII addresses as they are; a UTF-8 local part, or UTF-8
 * in the message header, cannot go at all. The recipients that cannot go
 * fail with 5.6.7 one by one, the others go on; a sender or a header that
 * cannot go fails them all. Returns false when no recipient is left to
 * send: the caller then finishes the client. */
static bool
check_smtputf8(struct client *c)
{
	struct job *j = c->job;
	char diag[REPLY_TEXT_MAX];
	const char *what = NULL;
	size_t i;
	int h;

	if (c->caps.smtputf8 || !j->env.smtputf8)
		return true;
	if (addr_needs_smtputf8(j->env.sender))
		what = "the sender address of this message needs";
	else if ((h = header_8bit(c)) == 1)
		what = "the header of this message needs";
	else if (h == -1) {
		log_warn("%s: read of the message file", j->env.id);
		job_pending_result(j, RCPT_DEFERRED,
		    "4.3.0 cannot read the message file");
		return false;
	}
	if (what != NULL) {
		snprintf(diag, sizeof(diag), "5.6.7 %s does not support "
		    "SMTPUTF8, which %s", c->peer, what);
		job_pending_result(j, RCPT_FAILED, diag);
		return false;
	}
	snprintf(diag, sizeof(diag), "5.6.7 %s does not support SMTPUTF8, "
	    "which this recipient address needs", c->peer);
	for (i = 0; i < j->env.nrcpt; i++)
		if (job_rcpt_pending(j, i) &&
		    addr_needs_smtputf8(j->env.rcpt[i].addr))
			job_rcpt_result(j, i, RCPT_FAILED, diag);
	return j->npending > 0;
}

static bool
eightbit_body(const struct job *j)
{
	return j->env.body != NULL && (strcasecmp(j->env.body, "8BITMIME") == 0 ||
	    strcasecmp(j->env.body, "BINARYMIME") == 0);
}

/* mime7_prescan() once per job: the plan and the verdict stay for the
 * follow-up transactions (c->m7plan lives until the job is handed back). */
static enum mime7_scan
prescan(struct client *c)
{
	enum mime7_scan r;

	if (c->m7_scanned)
		return c->m7scan;
	txn_scans.mime7++;
	mime7_plan_free(&c->m7plan);
	r = mime7_prescan(c->job->fd, c->job->size, &c->m7plan, c->m7why,
	    sizeof(c->m7why));
	if (r == MIME7_SCAN_READ)
		return r;             /* errno for the caller; not kept */
	c->m7scan = r;
	c->m7_scanned = true;
	return r;
}

/* RFC 6152 3: 8-bit content goes to a server without 8BITMIME only
 * converted to 7bit, else the recipients fail with 5.6.3 (RFC 3463).
 * Returns false when the recipients got their result: the caller then
 * finishes the client. */
static bool
plan_7bit(struct client *c)
{
	struct job *j = c->job;
	char diag[REPLY_TEXT_MAX];
	const char *why = c->m7why;

	switch (prescan(c)) {
	case MIME7_SCAN_7BIT:
		return true;          /* no 8-bit octet after all */
	case MIME7_SCAN_CONVERT:
		log_info("%s: converting 8-bit MIME to 7bit for %s, which does "
		    "not support 8BITMIME", j->env.id, c->peer);
		c->convert = true;
		return true;
	case MIME7_SCAN_FAIL:
		/* A long peer name may cut the reason short: fine. */
		if (snprintf(diag, sizeof(diag), "5.6.3 conversion required "
		    "but not supported: %s does not support 8BITMIME and the "
		    "message cannot be made 7-bit (%s)", c->peer, why) < 0)
			diag[0] = '\0';
		job_pending_result(j, RCPT_FAILED, diag);
		return false;
	case MIME7_SCAN_READ:
	default:
		if (errno == ENODATA)
			log_warnx("%s: the message file is shorter than its "
			    "%" PRIu64 " bytes", j->env.id, j->size);
		else
			log_warn("%s: read of the message file", j->env.id);
		job_pending_result(j, RCPT_DEFERRED,
		    "4.3.0 cannot read the message file");
		return false;
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
	if (!check_smtputf8(c))
		return client_finish(c);
	if (!c->caps.eightbitmime && eightbit_body(j) && !plan_7bit(c))
		return client_finish(c);
	/* Converted, the message grows: SIZE= and the limit see that. */
	size = msg_size(c);
	if (c->caps.size && c->caps.size_max > 0 && size > c->caps.size_max) {
		snprintf(diag, sizeof(diag), "5.3.4 message size %" PRIu64 " exceeds the "
		    "limit of %s (%" PRIu64 ")", size, c->peer,
		    c->caps.size_max);
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
	if (client_set_state(c, C_TXN) == -1)
		return -1;
	devents_attempt(c);
	c->pipelining = c->caps.pipelining;
	if (c->pipelining) {
		while (c->sent < c->nsend + 2)
			send_pos(c, c->sent++);
	} else
		send_pos(c, c->sent++);
	client_arm(c);
	return client_pump(c);
}

static int
start_body(struct client *c)
{
	size_t n;

	if (client_set_state(c, C_BODY) == -1)
		return -1;
	c->off = 0;
	c->body_sent = false;
	dotstuff_init(&c->ds);
	/* Stuffed like the rest: a field name may start with '.'. At most
	 * PLUGIN_HEADERS_ENCODED_MAX bytes: body_out holds them. */
	if ((n = added_len(c->job)) > PLUGIN_HEADERS_ENCODED_MAX)
		return client_fail(c, RCPT_DEFERRED,
		    "4.3.0 added header fields too long");
	if (n > 0)
		lio_write(&c->lio, body_out, dotstuff(&c->ds, c->job->env.headers,
		    n, body_out));
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
			log_warnx("%s: the message file ends after %" PRIu64 " of its "
			    "%" PRIu64 " bytes", c->job->env.id, c->off,
			    c->job->size);
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
			if (client_set_state(c, C_DATAEND) == -1)
				return -1;
			out = dotstuff_end(&c->ds, body_out);
			c->body_sent = true;
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

/* RFC 5321 4.5.3.1.10: "452 too many recipients" (4.5.3, RFC 3463) says
 * that this transaction is full, not that the recipient is wrong. */
static bool
over_limit(const struct smtp_reply *r)
{
	if (r->code != 452)
		return false;
	if (strcmp(r->esc, "4.5.3") == 0)
		return true;
	return r->esc[0] == '\0' && strcasestr(r->text, "too many recipients");
}

/* The transaction is over. Recipients the server had no room for go at
 * once in a new transaction on this connection when this one delivered
 * something; when it delivered nothing they are deferred like any
 * temporary failure (an attempt), so a server that never takes them
 * cannot keep them coming back. */
static int
txn_end(struct client *c, bool progress)
{
	struct job *j = c->job;

	if (j != NULL && c->nlimited > 0 && j->npending > 0) {
		if (!progress)
			job_pending_result(j, RCPT_DEFERRED, c->limit_diag);
		else if (c->wdead)
			/* No follow-up possible: due again at once, free. */
			job_pending_result(j, RCPT_POSTPONED, c->limit_diag);
		else {
			log_info("%s: %zu recipient(s) over the limit of %s, "
			    "sending them in a new transaction", j->env.id,
			    j->npending, c->peer);
			c->ntxn++;
			/* This transaction's results, before the next. */
			devents_results(j, c);
			txn_reset(c, true);
			c->followup = true;
			return txn_begin(c);
		}
	}
	return client_finish(c);
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
			uint32_t st = fail_state(code);

			/* A follow-up refused for now costs no attempt. */
			if (c->followup && st == RCPT_DEFERRED)
				st = RCPT_POSTPONED;
			c->mail_failed = true;
			job_pending_result(j, st, diag);
		}
	} else if (pos <= c->nsend) {
		if (!c->mail_failed) {
			if (code / 100 == 2) {
				c->accepted[pos - 1] = true;
				c->naccepted++;
			} else if (over_limit(&c->reply)) {
				/* Pending still: for the next transaction. */
				c->nlimited++;
				c->limit_hit = true;
				strlcpy(c->limit_diag, diag, sizeof(c->limit_diag));
			} else
				job_rcpt_result(j, c->rcpt_idx[pos - 1],
				    fail_state(code), diag);
		}
	} else {
		/* The reply to DATA. */
		if (c->mail_failed || c->naccepted == 0) {
			if (code != 354)
				return txn_end(c, false);
			/* RFC 2920 3.1: a 354 with no valid recipient
			 * gets an empty message that is then ignored. */
			if (client_set_state(c, C_DATAEND) == -1)
				return -1;
			c->discard = true;
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
		return txn_end(c, false);
	}
	if (!c->pipelining) {
		if (c->mail_failed)
			return client_finish(c);
		/* The server is full: the rest wait for the next transaction. */
		if (c->limit_hit && c->sent <= c->nsend)
			c->sent = c->replied = c->nsend + 1;
		/* Every recipient refused: no DATA, just QUIT. */
		if (c->sent == c->nsend + 1 && c->naccepted == 0)
			return txn_end(c, false);
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
		for (k = 0; k < c->nsend; k++) {
			if (!c->accepted[k])
				continue;
			/* RFC 3461 5.2: its NOTIFY and ORCPT went along. */
			if (st == RCPT_DELIVERED && c->caps.dsn)
				c->job->rcpt[c->rcpt_idx[k]].dsn_passed = true;
			job_rcpt_result(c->job, c->rcpt_idx[k], st, diag);
		}
	}
	if (early) {
		if (c->nlimited > 0)
			job_pending_result(c->job, RCPT_DEFERRED, c->limit_diag);
		/* Mid-body, no QUIT can follow. */
		client_release(c);
		client_free(c);
		return -1;
	}
	return txn_end(c, !c->discard && code / 100 == 2);
}
