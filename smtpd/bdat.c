/* SPDX-License-Identifier: ISC */
/* BDAT (RFC 3030 CHUNKING): "BDAT size [LAST]" followed by exactly size
 * octets of content, no dot-stuffing, no terminator. Every chunk whose
 * size could be read is consumed in full, even when the command is
 * refused (out of sequence, too big, the queue unavailable): its bytes
 * are message content, never commands. The size of a refused chunk is
 * the client's word: its bytes are dropped as they come, never held,
 * and data-termination bounds the time the discard may take, as it
 * bounds a message's (a client announcing a huge chunk and trickling
 * it gets 421 then). A BDAT line whose size cannot be read (not a
 * number, or one too large) leaves no way to find the next command:
 * 501, and the session ends.
 *
 * The first chunk of a transaction asks queued for the file (the
 * session waits, as for DATA); each chunk is answered when it has been
 * read: 250 with its size, or at LAST the queue's answer. A chunk that
 * makes the message fail (too big, bare CR/LF, NUL, long line, a first
 * line beginning with SP or HT) fails the transaction at once; chunks
 * already pipelined behind it are discarded with 503 (RFC 3030 §2).
 * DATA is refused inside a BDAT transaction. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"
#include "session.h"
#include "util.h"

void
bdat_discard(struct session *s, uint64_t n, bool last, bool count_error,
    const char *fmt, ...)
{
	va_list ap;

	free(s->bdat_reply);
	va_start(ap, fmt);
	if (vasprintf(&s->bdat_reply, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	s->bdat_size = s->bdat_left = n;
	s->bdat_last = last;
	s->bdat_count_error = count_error;
	s->bdat_discard_started = ev_now();
	if (session_transition(s, SS_BDAT, "discarding a chunk"))
		bdat_input(s);
}

/* The chunk has been read (or discarded): answer it. */
static void
chunk_done(struct session *s)
{
	char *r;

	if ((r = s->bdat_reply) != NULL) {
		s->bdat_reply = NULL;
		session_transition(s, cmd_state(s), "chunk discarded");
		if (s->bdat_count_error)
			session_reply_error(s, "%s", r);
		else
			session_reply(s, "%s", r);
		free(r);
		return;
	}
	if (data_refuse_early(s))
		return;
	if (s->bdat_last) {
		data_end(s);
		return;
	}
	session_transition(s, SS_RCPT, "chunk received");
	session_reply(s, "250 2.0.0 %" PRIu64 " octets received",
	    s->bdat_size);
}

void
bdat_input(struct session *s)
{
	char *buf;
	size_t n;

	if (s->state != SS_BDAT)
		return;
	while (s->bdat_left > 0 && (n = lio_peek(&s->lio, &buf)) > 0) {
		if (n > s->bdat_left)
			n = (size_t)s->bdat_left;
		if (s->bdat_reply == NULL)
			data_feed(s, buf, n);
		else if (s->tx)
			s->tx->got_data = true;
		lio_consume(&s->lio, n);
		s->bdat_left -= n;
	}
	if (s->bdat_left > 0)
		return;              /* more to come */
	chunk_done(s);
}

void
bdat_created(struct session *s)
{
	if (session_transition(s, SS_BDAT, "first chunk"))
		bdat_input(s);
}

void
cmd_bdat(struct session *s, const struct smtp_cmd *cmd, enum smtp_error e)
{
	struct txn *tx = s->tx;
	uint64_t n = cmd->bdat_size, max = s->listen->max_message_size;
	bool last = cmd->bdat_last;

	if (e != SMTP_OK) {
		session_reply_error(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		session_reply(s, "421 4.5.0 %s Error: chunk size unknown, closing",
		    smtpd_hostname());
		session_close(s);
		return;
	}
	if (s->state == SS_CONNECTED || !s->esmtp) {
		bdat_discard(s, n, last, true, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (tx == NULL) {
		bdat_discard(s, n, last, true, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (tx->env.nrcpt == 0) {
		bdat_discard(s, n, last, true, "503 5.5.1 Error: need RCPT command");
		return;
	}
	/* Over the limit already by its announced size: fail now. */
	if (max && n > max - (tx->fd != -1 ? tx->dec.size : 0)) {
		log_info("session %" PRIu64 ": BDAT chunk of %" PRIu64 " octets from [%s] over "
		    "the size limit", s->id,
		    n, s->addr);
		session_transition(s, SS_READY, "chunk too big");
		bdat_discard(s, n, last, false,
		    "552 5.3.4 Error: message too big");
		return;
	}
	s->bdat_size = s->bdat_left = n;
	s->bdat_last = last;
	if (tx->fd != -1) {
		if (session_transition(s, SS_BDAT, "next chunk"))
			bdat_input(s);
		return;
	}
	/* The first chunk: queued makes the file, then data_start(). */
	tx->bdat = true;
	if (qc_create(s) == 0) {
		session_transition(s, SS_READY, "queue unavailable");
		bdat_discard(s, n, last, false, "451 4.3.0 Error: queue "
		    "unavailable, try again later");
		return;
	}
	session_wait(s, SW_CREATE);
}
