/* SPDX-License-Identifier: ISC */
/* Message content, DATA or BDAT: decoded (decode.c) and written behind
 * our Received: header (a local submission's: lib/localusers.h) into
 * the file queued created, in chunks of at
 * least DATA_FLUSH bytes; at the end of the content the hooks decide,
 * then queued commits. A message the decoder refuses (bare CR or LF,
 * a NUL, a line over 998 octets, a first line that would fold into our
 * Received:, over the size limit) is read to its end and rolled back,
 * so that no byte of it can be taken for a command; so is one with
 * more Received: fields than `max-hops` (hops.c): a mail loop. */
#include <sys/mman.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hooks.h"
#include "channel.h"
#include "event.h"
#include "localusers.h"
#include "log.h"
#include "received.h"
#include "session.h"
#include "util.h"

/* The Received: protocol keyword (RFC 3848, RFC 6531 §4.3; no "A"
 * forms: smtpd offers no AUTH). */
static const char *
with_proto(const struct session *s)
{
	bool tls = s->lio.ssl != NULL;

	if (s->tx && s->tx->smtputf8)
		return tls ? "UTF8SMTPS" : "UTF8SMTP";
	if (!s->esmtp)
		return "SMTP";
	return tls ? "ESMTPS" : "ESMTP";
}

/* The Received: field of a network client (received.c). */
static size_t
net_received(const struct session *s, char *out, size_t outlen,
    const char *msgid)
{
	const struct txn *tx = s->tx;
	struct received_info ri;

	memset(&ri, 0, sizeof(ri));
	ri.helo = s->helo;
	ri.client_name = "unknown";
	ri.client_addr = s->addr;
	ri.family = s->ss.ss_family;
	ri.hostname = smtpd_hostname();
	ri.proto = with_proto(s);
	ri.tls_version = lio_tls_version(&s->lio);
	ri.tls_cipher = lio_tls_cipher(&s->lio);
	ri.tls_bits = lio_tls_bits(&s->lio);
	ri.msgid = msgid;
	ri.rcpt = tx->env.nrcpt == 1 ? tx->env.rcpt[0].addr : NULL;
	ri.utf8 = tx->smtputf8;
	ri.when = wall_s();
	return received_format(out, outlen, &ri);
}

void
data_start(struct session *s, int fd, const char *msgid)
{
	struct txn *tx = s->tx;
	size_t n;

	tx->fd = fd;
	strlcpy(tx->msgid, msgid, sizeof(tx->msgid));
	hplug_message_id(s, msgid);
	tx->wbuf = xmalloc(DATA_BUF_SIZE);
	tx->wlen = 0;
	tx->file_size = 0;
	tx->flags = 0;
	tx->got_data = false;
	tx->data_started = ev_now();
	msgdec_init(&tx->dec, tx->bdat, s->listen->max_message_size);
	hops_init(&tx->hops);

	/* A local submission records the user, not a client host. */
	if (s->local)
		n = localusers_received(tx->wbuf, DATA_BUF_SIZE,
		    smtpd_hostname(), s->uid, with_proto(s), msgid, wall_s());
	else
		n = net_received(s, tx->wbuf, DATA_BUF_SIZE, msgid);
	if (n == 0) {
		log_warnx("session %" PRIu64 ": Received: header does not fit",
		    s->id);
		tx->flags |= TX_WRITE_ERR;
	}
	tx->wlen = n;
	if (tx->bdat) {
		bdat_created(s);
		return;
	}
	if (session_transition(s, SS_DATA, "DATA"))
		session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static unsigned
tx_flags(const struct txn *tx)
{
	return tx->flags | tx->dec.flags;
}

static void
data_flush(struct session *s)
{
	struct txn *tx = s->tx;

	if (tx->wlen > 0 && !(tx_flags(tx) & TX_REJECT)) {
		if (write_all(tx->fd, tx->wbuf, tx->wlen) == -1) {
			log_warn("session %" PRIu64 ": writing message %s",
			    s->id, tx->msgid);
			tx->flags |= TX_WRITE_ERR;
		} else
			tx->file_size += tx->wlen;
	}
	tx->wlen = 0;
}

/* Decode at most len bytes (never more than the buffer can take);
 * returns how many were consumed. */
static size_t
decode_some(struct session *s, const char *buf, size_t len)
{
	struct txn *tx = s->tx;
	size_t room, used, out;

	if (DATA_BUF_SIZE - tx->wlen < DATA_FLUSH)
		data_flush(s);
	room = DATA_BUF_SIZE - tx->wlen - 2;   /* the decoder may add 2 */
	if (len > room)
		len = room;
	used = msgdec_feed(&tx->dec, buf, len, tx->wbuf + tx->wlen, &out);
	if (!tx->hops.done) {
		hops_feed(&tx->hops, tx->wbuf + tx->wlen, out);
		if (tx->hops.n > smtpd_config()->max_hops)
			tx->flags |= TX_HOPS;
	}
	tx->wlen += out;
	if (tx_flags(tx) & TX_REJECT)
		tx->wlen = 0;                  /* read on, keep nothing */
	else if (tx->wlen >= DATA_FLUSH)
		data_flush(s);
	return used;
}

void
data_feed(struct session *s, const char *buf, size_t len)
{
	size_t used;

	s->tx->got_data = s->tx->got_data || len > 0;
	while (len > 0) {
		used = decode_some(s, buf, len);
		buf += used;
		len -= used;
	}
}

void
data_input(struct session *s)
{
	struct txn *tx = s->tx;
	char *buf;
	size_t n, used;

	/* Until the end of the content: then the session waits for the
	 * commit, or is back to READY. */
	while (s->state == SS_DATA && s->wait == SW_NONE &&
	    (n = lio_peek(&s->lio, &buf)) > 0) {
		tx->got_data = true;
		used = decode_some(s, buf, n);
		lio_consume(&s->lio, used);
		if (tx->dec.done)
			data_end(s);
	}
}

static const char *
refusal(unsigned flags)
{
	return (flags & TX_HOPS) ? "too many hops" :
	    (flags & TX_TOOBIG) ? "too big" :
	    (flags & (TX_BARE_LF | TX_BARE_CR)) ? "bare CR or LF" :
	    (flags & TX_NUL) ? "NUL octet" :
	    (flags & TX_LONG_LINE) ? "line too long" :
	    (flags & TX_FOLDED) ? "begins with a folded line" :
	    (flags & TX_QUEUE_LOST) ? "queue restarted" : "write error";
}

/* The reply to a refused message (the transaction is gone). */
static void
reply_refused(struct session *s, unsigned flags)
{
	if (flags & TX_HOPS)
		session_reply(s, "554 5.4.6 Error: too many hops (more than "
		    "%u Received: header fields): mail loop?",
		    smtpd_config()->max_hops);
	else if (flags & TX_TOOBIG)
		session_reply(s, "552 5.3.4 Error: message too big");
	else if (flags & TX_BARE_LF)
		session_reply(s, "550 5.6.0 Error: bare <LF> received; "
		    "lines must end with <CR><LF>");
	else if (flags & TX_BARE_CR)
		session_reply(s, "550 5.6.0 Error: bare <CR> received; "
		    "lines must end with <CR><LF>");
	else if (flags & TX_NUL)
		session_reply(s, "550 5.6.0 Error: <NUL> received; "
		    "message content must not contain NUL octets");
	else if (flags & TX_LONG_LINE)
		session_reply(s, "550 5.6.0 Error: line longer than %d "
		    "characters", SMTP_TEXT_LINE_MAX);
	else if (flags & TX_FOLDED)
		session_reply(s, "550 5.6.0 Error: message begins with a "
		    "folded line");
	else if (flags & TX_QUEUE_LOST)
		session_reply(s, "451 4.3.0 Error: queue unavailable, "
		    "try again later");
	else
		session_reply(s, "452 4.3.1 Error: insufficient system storage");
}

/* A BDAT chunk that makes the message fail before its end: refuse now
 * (RFC 3030 §2: the transaction fails; later chunks get 503). true when
 * the transaction was refused and is gone. */
bool
data_refuse_early(struct session *s)
{
	unsigned flags = tx_flags(s->tx);

	if (!(flags & TX_REJECT))
		return false;
	log_info("session %" PRIu64 ": message %s from [%s] refused (%s)",
	    s->id, s->tx->msgid, s->addr, refusal(flags));
	session_transition(s, SS_READY, "message refused");
	reply_refused(s, flags);
	return true;
}

void
data_end(struct session *s)
{
	struct txn *tx = s->tx;
	struct hook_reply hr;
	enum hook_verdict v;
	unsigned flags;
	void *map = NULL;
	bool mapfail = false;
	size_t out;

	if (tx->bdat) {
		if (DATA_BUF_SIZE - tx->wlen < 2)
			data_flush(s);
		msgdec_finish(&tx->dec, tx->wbuf + tx->wlen, &out);
		tx->wlen += out;
	}
	data_flush(s);
	/* The plugins' DATA hook reads the message where it is, the file
	 * as written (one mapping for all of them): mapped before the
	 * descriptor goes, unmapped when the hooks are done. */
	if (!(tx_flags(tx) & TX_REJECT) && hplug_wants(EM_VALIDATE_DATA)) {
		map = mmap(NULL, (size_t)tx->file_size, PROT_READ, MAP_SHARED,
		    tx->fd, 0);
		if (map == MAP_FAILED) {
			log_warn("session %" PRIu64 ": mapping message %s",
			    s->id, tx->msgid);
			map = NULL;
			mapfail = true;
		}
	}
	if (close(tx->fd) == -1 && !(tx_flags(tx) & TX_REJECT)) {
		log_warn("session %" PRIu64 ": closing message %s",
		    s->id, tx->msgid);
		tx->flags |= TX_WRITE_ERR;
	}
	tx->fd = -1;
	free(tx->wbuf);
	tx->wbuf = NULL;

	flags = tx_flags(tx);
	if (mapfail && !(flags & TX_REJECT)) {
		/* Never past the content hooks unchecked. */
		session_transition(s, SS_READY, "message not mapped");
		session_reply(s, "451 4.3.0 Error: cannot check the message, "
		    "try again later");
		return;
	}
	if (flags & TX_REJECT) {
		if (map != NULL)
			munmap(map, (size_t)tx->file_size);
		log_info("session %" PRIu64 ": message %s from [%s] refused (%s)",
		    s->id, tx->msgid, s->addr,
		    refusal(flags));
		/* Rolls the file back. */
		session_transition(s, SS_READY, "message refused");
		reply_refused(s, flags);
		return;
	}
	hplug_data(s, map, (size_t)tx->file_size);
	v = hooks_run(s, HOOK_DATA, tx->msgid, &hr);
	hplug_data(s, NULL, 0);
	if (map != NULL)
		munmap(map, (size_t)tx->file_size);
	if (v == HOOK_REJECT) {
		log_info("session %" PRIu64 ": message %s refused by a hook: %u %s",
		    s->id, tx->msgid, hr.code, hr.text);
		session_transition(s, SS_READY, "message refused by a hook");
		session_reply(s, "%u %s", hr.code, hr.text);
		if (hr.code == 421)
			session_close(s);
		return;
	}

	strlcpy(tx->env.id, tx->msgid, sizeof(tx->env.id));
	tx->env.helo = xstrdup(s->helo);
	tx->env.client_addr = xstrdup(s->addr);
	tx->env.client_name = xstrdup("unknown");
	tx->env.size = tx->file_size;
	tx->env.created = wall_s();
	/* What the plugins left with the message: within the room
	 * mailrcpt.c kept for it in the one Q_COMMIT frame. */
	hplug_commit(s, &tx->env);
	if (env_wire_size(&tx->env) > CHAN_MAX_PAYLOAD ||
	    qc_commit(s, &tx->env) == 0) {
		session_transition(s, SS_READY, "queue unavailable");
		session_reply(s, "451 4.3.0 Error: queue unavailable, try again later");
		return;
	}
	/* The file is queued's now: it rolls back itself if the commit
	 * fails, and queue_client.c does on a timeout. The session stays
	 * in DATA or BDAT, taking no input, until queued answers
	 * (session_committed(), session_commit_failed()). */
	tx->msgid[0] = '\0';
	session_wait(s, SW_COMMIT);
}
