/* DATA: the message content after 354. Lines are un-dot-stuffed and
 * written, CRLF-terminated, behind our Received: header into the file
 * queued created, in chunks of at least DATA_FLUSH bytes.
 *
 * Only <CRLF>.<CRLF> ends the data: a line "." that itself ended in CRLF
 * and followed a line that ended in CRLF (the DATA command counts as
 * one). Anything that could make another MTA see a different end (a bare
 * LF or CR, RFC 5322's 998-octet line limit) makes us refuse the whole
 * message, after reading it to its real end, so no byte of it can be
 * taken for a command ("SMTP smuggling"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "smtpd.h"
#include "util.h"

void
data_start(struct session *s, int fd, const char *msgid)
{
	struct txn *tx = s->tx;
	struct received_info ri;
	size_t n;

	tx->fd = fd;
	strlcpy(tx->msgid, msgid, sizeof(tx->msgid));
	tx->wbuf = xmalloc(DATA_BUF_SIZE);
	tx->wlen = 0;
	tx->body_size = tx->file_size = 0;
	tx->flags = 0;
	tx->prev_crlf = true;
	tx->got_data = false;
	tx->data_started = ev_now();

	memset(&ri, 0, sizeof(ri));
	ri.helo = s->helo;
	ri.client_name = "unknown";
	ri.client_addr = s->addr;
	ri.family = s->ss.ss_family;
	ri.hostname = smtpd.hostname;
	ri.proto = s->esmtp ? "ESMTP" : "SMTP";
	ri.msgid = msgid;
	ri.rcpt = tx->env.nrcpt == 1 ? tx->env.rcpt[0].addr : NULL;
	ri.when = wall_s();
	n = received_format(tx->wbuf, DATA_BUF_SIZE, &ri);
	if (n == 0) {
		log_warnx("session %llu: Received: header does not fit",
		    (unsigned long long)s->id);
		tx->flags |= TX_WRITE_ERR;
	}
	tx->wlen = n;
	s->state = SS_DATA;
	session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
data_flush(struct session *s)
{
	struct txn *tx = s->tx;

	if (tx->wlen > 0 && !(tx->flags & TX_REJECT)) {
		if (write_all(tx->fd, tx->wbuf, tx->wlen) == -1) {
			log_warn("session %llu: writing message %s",
			    (unsigned long long)s->id, tx->msgid);
			tx->flags |= TX_WRITE_ERR;
		} else
			tx->file_size += tx->wlen;
	}
	tx->wlen = 0;
}

/* Count n more bytes of content against the size limit. */
static void
data_count(struct session *s, uint64_t n)
{
	struct txn *tx = s->tx;
	size_t max = s->listen->max_message_size;

	tx->body_size += n;
	if (max && tx->body_size > max)
		tx->flags |= TX_TOOBIG;
}

static void
data_end(struct session *s)
{
	struct txn *tx = s->tx;
	unsigned flags;

	data_flush(s);
	if (close(tx->fd) == -1 && !(tx->flags & TX_REJECT)) {
		log_warn("session %llu: closing message %s",
		    (unsigned long long)s->id, tx->msgid);
		tx->flags |= TX_WRITE_ERR;
	}
	tx->fd = -1;
	free(tx->wbuf);
	tx->wbuf = NULL;
	s->state = SS_READY;

	flags = tx->flags;
	if (flags & TX_REJECT) {
		log_info("session %llu: message %s from [%s] refused (%s)",
		    (unsigned long long)s->id, tx->msgid, s->addr,
		    (flags & TX_TOOBIG) ? "too big" :
		    (flags & (TX_BARE_LF | TX_BARE_CR)) ? "bare CR or LF" :
		    (flags & TX_LONG_LINE) ? "line too long" :
		    (flags & TX_QUEUE_LOST) ? "queue restarted" : "write error");
		tx_free(s);                   /* rolls the file back */
		if (flags & TX_TOOBIG)
			session_reply(s, "552 5.3.4 Error: message too big");
		else if (flags & TX_BARE_LF)
			session_reply(s, "550 5.6.0 Error: bare <LF> received; "
			    "lines must end with <CR><LF>");
		else if (flags & TX_BARE_CR)
			session_reply(s, "550 5.6.0 Error: bare <CR> received; "
			    "lines must end with <CR><LF>");
		else if (flags & TX_LONG_LINE)
			session_reply(s, "550 5.6.0 Error: line longer than %d "
			    "characters", SMTP_TEXT_LINE_MAX);
		else if (flags & TX_QUEUE_LOST)
			session_reply(s, "451 4.3.0 Error: queue unavailable, "
			    "try again later");
		else
			session_reply(s, "452 4.3.1 Error: insufficient system "
			    "storage");
		return;
	}

	strlcpy(tx->env.id, tx->msgid, sizeof(tx->env.id));
	tx->env.helo = xstrdup(s->helo);
	tx->env.client_addr = xstrdup(s->addr);
	tx->env.client_name = xstrdup("unknown");
	tx->env.size = tx->file_size;
	tx->env.created = wall_s();
	if (qc_commit(s, &tx->env) == 0) {
		tx_free(s);
		session_reply(s, "451 4.3.0 Error: queue unavailable, try again later");
		return;
	}
	/* The file is queued's now: it rolls back itself if the commit
	 * fails, and queue_client.c does on a timeout. */
	tx->msgid[0] = '\0';
	session_wait(s, SW_COMMIT);
}

void
data_line(struct session *s, const char *line, size_t len, bool crlf)
{
	struct txn *tx = s->tx;

	tx->got_data = true;
	if (len == 1 && line[0] == '.' && crlf && tx->prev_crlf) {
		data_end(s);
		return;
	}
	tx->prev_crlf = crlf;
	if (!crlf)
		tx->flags |= TX_BARE_LF;
	if (memchr(line, '\r', len) != NULL)
		tx->flags |= TX_BARE_CR;
	if (len > 0 && line[0] == '.') {
		line++;
		len--;
	}
	if (len > SMTP_TEXT_LINE_MAX)
		tx->flags |= TX_LONG_LINE;
	data_count(s, (uint64_t)len + 2);
	if (tx->flags & TX_REJECT)
		return;               /* read on to the end, keep nothing */
	/* len <= 998 here, the buffer has room after a flush. */
	if (tx->wlen + len + 2 > DATA_BUF_SIZE)
		data_flush(s);
	memcpy(tx->wbuf + tx->wlen, line, len);
	tx->wlen += len;
	tx->wbuf[tx->wlen++] = '\r';
	tx->wbuf[tx->wlen++] = '\n';
	if (tx->wlen >= DATA_FLUSH)
		data_flush(s);
}

/* A line too long even for the input buffer: refused; and since we do
 * not know how it ended, the next line cannot end the data. */
void
data_line_toolong(struct session *s)
{
	struct txn *tx = s->tx;

	tx->got_data = true;
	tx->flags |= TX_LONG_LINE;
	tx->prev_crlf = false;
	data_count(s, LIO_MAX_IN);
}
