/* SPDX-License-Identifier: ISC */
/* An SMTP connection: buffered I/O on the event loop, pipelined command
 * processing, pausing while queued works, state-aware timeouts, replies
 * and the end of the connection. The commands themselves are command.c,
 * the message content data.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "hooks.h"
#include "log.h"
#include "session.h"
#include "smtpd.h"
#include "util.h"

/* Replies queued but not sent past which a session stops taking commands
 * (a client that pipelines without reading cannot make us buffer more). */
#define SESSION_OUT_MAX     (8 * 1024)
/* Time to get a final reply out to a client before dropping it. */
#define SESSION_LINGER_MS   10000

struct smtpd smtpd = { .sessions = TAILQ_HEAD_INITIALIZER(smtpd.sessions) };

static uint64_t next_session_id;

static void session_timeout(void *);
static void tx_free(struct session *);
static void session_update(struct session *);

void
session_init(const struct config *cfg)
{
	smtpd.cfg = cfg;
	smtpd.hostname = cfg->hostname && *cfg->hostname ? cfg->hostname :
	    "localhost";
}

const char *
smtpd_hostname(void)
{
	return smtpd.hostname;
}

const struct config *
smtpd_config(void)
{
	return smtpd.cfg;
}

static void session_io(int, int, void *);

static struct session *
session_alloc(int fd, const struct cfg_listen *l)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->id = ++next_session_id;
	s->fd = fd;
	lio_init(&s->lio, fd);
	s->listen = l;
	return s;
}

/* Registered, the plugins told, greeted (or the handshake begun). */
static struct session *
session_begin(struct session *s)
{
	const struct cfg_listen *l = s->listen;

	s->started = s->last_read = ev_now();
	s->io = ev_io_add(s->fd, EV_READ, session_io, s);
	s->timer = ev_timer_new(session_timeout, s);
	TAILQ_INSERT_TAIL(&smtpd.sessions, s, entry);
	smtpd.nsessions++;
	limits_ip_add(l, (struct sockaddr *)&s->ss);
	hplug_open(s);
	if (s->local && !s->uid_counted) {
		log_info("session %" PRIu64 ": uid %u has %u local sessions "
		    "already: refused", s->id, (unsigned)s->uid,
		    LOCAL_MAX_PER_UID);
		session_reply(s, "421 4.7.0 %s Error: too many connections "
		    "from uid %u", smtpd.hostname, (unsigned)s->uid);
		session_close(s);
	} else if (s->local) {
		/* Greeted once the master says who the uid is. */
		s->lookup = true;
		if (lu_ask(s->id, s->uid) == -1)
			log_warnx("session %" PRIu64 ": cannot ask the master "
			    "who uid %u is", s->id, (unsigned)s->uid);
	} else if (l->tls_mode == LTLS_IMPLICIT)
		starttls_begin(s);    /* greeted when the handshake is done */
	else
		session_greet(s);
	/* The greeting goes out with the first write event. */
	session_update(s);
	return s;
}

struct session *
session_new(int fd, const struct sockaddr *sa, socklen_t salen,
    const struct cfg_listen *l)
{
	struct session *s = session_alloc(fd, l);

	if (salen > sizeof(s->ss))
		salen = sizeof(s->ss);
	memcpy(&s->ss, sa, salen);
	/* A v4 client on a dual-stack socket: policy and headers want v4. */
	if (s->ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&s->ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			struct sockaddr_in s4 = { .sin_family = AF_INET,
			    .sin_port = s6->sin6_port };

			memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
			memset(&s->ss, 0, sizeof(s->ss));
			memcpy(&s->ss, &s4, sizeof(s4));
		}
	}
	sa_ntop((struct sockaddr *)&s->ss, s->addr, sizeof(s->addr));
	log_info("session %" PRIu64 ": connection from [%s] on listener %u",
	    s->id, s->addr, l->index);
	return session_begin(s);
}

/* Its address is "local" in logs, the envelope and for the plugins;
 * its family AF_UNIX keeps it out of every per-address table. */
struct session *
session_new_local(int fd, uid_t uid, const struct cfg_listen *l)
{
	struct session *s = session_alloc(fd, l);

	s->local = true;
	s->uid = uid;
	s->uid_counted = lu_admit(uid);
	s->ss.ss_family = AF_UNIX;
	strlcpy(s->addr, "local", sizeof(s->addr));
	log_info("session %" PRIu64 ": local connection from uid %u", s->id,
	    (unsigned)uid);
	return session_begin(s);
}

void
session_greet(struct session *s)
{
	struct hook_reply hr;

	if (hooks_run(s, HOOK_CONNECT, NULL, &hr) == HOOK_REJECT ||
	    (s->lio.ssl != NULL &&
	    hooks_run(s, HOOK_STARTTLS, NULL, &hr) == HOOK_REJECT)) {
		log_info("session %" PRIu64 ": connection from [%s] refused by a hook: "
		    "%u %s", s->id, s->addr, hr.code, hr.text);
		session_reply(s, "%u %s", hr.code, hr.text);
		session_close(s);
		return;
	}
	s->greeted = true;
	session_reply(s, "220 %s ESMTP Empath", smtpd.hostname);
}

void
session_tls_reset(struct session *s)
{
	session_transition(s, SS_CONNECTED, "TLS started");
}

static void
session_free(struct session *s)
{
	const struct cfg_listen *l = s->listen;

	TAILQ_REMOVE(&smtpd.sessions, s, entry);
	smtpd.nsessions--;
	limits_ip_del(l, (struct sockaddr *)&s->ss);
	if (s->uid_counted)
		lu_release(s->uid);
	qc_forget(s);
	tx_free(s);
	hplug_close(s);
	ev_io_del(s->io);
	ev_timer_free(s->timer);
	if (!s->dead)
		lio_tls_shutdown(&s->lio);
	close(s->fd);
	lio_free(&s->lio);
	free(s->helo);
	free(s->bdat_reply);
	log_debug("session %" PRIu64 ": closed", s->id);
	free(s);
	server_session_closed(l);
}

static void
vreply(struct session *s, const char *fmt, va_list ap)
{
	char buf[SMTP_LINE_MAX];
	int n;

	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 3)
		n = (int)sizeof(buf) - 3;
	if (log_level_enabled(LOGL_DEBUG))
		log_debug("session %" PRIu64 ": > %.*s", s->id, n, buf);
	buf[n] = '\r';
	buf[n + 1] = '\n';
	lio_write(&s->lio, buf, (size_t)n + 2);
	/* 4xx and 5xx: EM_EVENT_SMTP_ERROR, with the line as sent. */
	hplug_reply(s, buf, (size_t)n);
}

void
session_reply(struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->state == SS_CLOSING || s->dead)
		return;
	va_start(ap, fmt);
	vreply(s, fmt, ap);
	va_end(ap);
}

void
session_reply_error(struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->state == SS_CLOSING || s->dead)
		return;
	va_start(ap, fmt);
	vreply(s, fmt, ap);
	va_end(ap);
	s->errors++;
	if (s->listen->max_errors && s->errors >= s->listen->max_errors) {
		log_info("session %" PRIu64 ": too many errors from [%s]",
		    s->id, s->addr);
		session_reply(s, "421 4.7.0 %s Error: too many errors",
		    smtpd.hostname);
		session_close(s);
	}
}

void
session_close(struct session *s)
{
	session_transition(s, SS_CLOSING, "closing");
}

void
session_wait(struct session *s, enum sess_wait w)
{
	s->wait = w;
}

/* The transaction: drop it, rolling back an incoming file. Only
 * session_transition() and session_free() call it. */
static void
tx_free(struct session *s)
{
	struct txn *tx = s->tx;

	if (tx == NULL)
		return;
	if (tx->fd != -1)
		close(tx->fd);
	/* The incoming file exists and was not handed over by Q_COMMIT. */
	if (tx->msgid[0] != '\0') {
		log_info("session %" PRIu64 ": message %s rolled back",
		    s->id, tx->msgid);
		qc_rollback(tx->msgid);
	}
	free(tx->wbuf);
	env_clear(&tx->env);
	free(tx);
	s->tx = NULL;
	hplug_tx_end(s);
}

/* ---- the state machine ----
 *
 * Which state may follow which. Besides the order of RFC 5321 §4.1.4:
 * a BDAT chunk refused before its transaction (or without one) is still
 * read, in BDAT, and then the session is back where it was (RFC 3030
 * §2); STARTTLS (never inside a transaction) starts over in CONNECTED
 * (RFC 3207 §4.2); a transaction whose content is complete stays in DATA
 * or BDAT until queued has answered its commit. */
#define TO(st) (1u << (st))
static const unsigned transitions[SS_COUNT] = {
	[SS_CONNECTED] = TO(SS_CONNECTED) | TO(SS_READY) | TO(SS_BDAT) |
	                 TO(SS_CLOSING),
	[SS_READY]     = TO(SS_CONNECTED) | TO(SS_READY) | TO(SS_MAIL) |
	                 TO(SS_BDAT) | TO(SS_CLOSING),
	[SS_MAIL]      = TO(SS_READY) | TO(SS_RCPT) | TO(SS_BDAT) | TO(SS_CLOSING),
	[SS_RCPT]      = TO(SS_READY) | TO(SS_RCPT) | TO(SS_DATA) | TO(SS_BDAT) |
	                 TO(SS_CLOSING),
	[SS_DATA]      = TO(SS_READY) | TO(SS_CLOSING),
	[SS_BDAT]      = TO(SS_CONNECTED) | TO(SS_READY) | TO(SS_MAIL) |
	                 TO(SS_RCPT) | TO(SS_CLOSING),
	[SS_CLOSING]   = TO(SS_CLOSING),
};
#undef TO

static const char *const state_names[SS_COUNT] = {
	[SS_CONNECTED] = "CONNECTED", [SS_READY] = "READY", [SS_MAIL] = "MAIL",
	[SS_RCPT] = "RCPT", [SS_DATA] = "DATA", [SS_BDAT] = "BDAT",
	[SS_CLOSING] = "CLOSING",
};

const char *
session_state_name(enum sess_state st)
{
	return (unsigned)st < SS_COUNT ? state_names[st] : "?";
}

/* What a state needs of the session beyond the table, so that no state
 * is entered without what its code takes for granted. */
static bool
state_fits(const struct session *s, enum sess_state to)
{
	const struct txn *tx = s->tx;

	switch (to) {
	case SS_READY:
		return s->helo != NULL;
	case SS_MAIL:
		return s->helo != NULL && tx != NULL && tx->env.nrcpt == 0 &&
		    tx->fd == -1;
	case SS_RCPT:
		return s->helo != NULL && tx != NULL && tx->env.nrcpt > 0;
	case SS_DATA:
		return s->helo != NULL && tx != NULL && tx->env.nrcpt > 0 &&
		    !tx->bdat && tx->fd != -1;
	case SS_BDAT:
		/* A chunk of the transaction, or one being discarded. */
		return s->bdat_reply != NULL || (s->helo != NULL && tx != NULL &&
		    tx->env.nrcpt > 0 && tx->bdat && tx->fd != -1);
	default:
		return true;
	}
}

bool
session_transition(struct session *s, enum sess_state to, const char *why)
{
	enum sess_state from = s->state;

	if ((unsigned)to >= SS_COUNT || !(transitions[from] & (1u << to)) ||
	    !state_fits(s, to)) {
		/* A bug in smtpd: never go on in a state the code does not
		 * expect, whatever the client sent to get there. */
		log_warnx("session %" PRIu64 ": refused state change %s -> %s "
		    "(%s): closing", s->id, session_state_name(from),
		    session_state_name(to), why);
		if (from != SS_CLOSING)
			session_reply(s, "421 4.3.0 %s Error: internal error, "
			    "closing", smtpd.hostname);
		tx_free(s);
		s->state = SS_CLOSING;
		return false;
	}
	/* The one place a transaction ends: back to READY (RSET, HELO, the
	 * end of the content), before HELO (STARTTLS: the HELO goes too),
	 * or closing. */
	if (to == SS_READY || to == SS_CONNECTED || to == SS_CLOSING)
		tx_free(s);
	if (to == SS_CONNECTED) {
		free(s->helo);
		s->helo = NULL;
		s->esmtp = false;
	}
	if (from != to && log_level_enabled(LOGL_DEBUG))
		log_debug("session %" PRIu64 ": %s -> %s (%s)", s->id,
		    session_state_name(from), session_state_name(to), why);
	s->state = to;
	return true;
}

/* Take every complete line that is buffered, as long as no command waits
 * for queued and the replies do not pile up. */
static void
session_process(struct session *s)
{
	enum lio_line r;
	char *line;
	size_t len;
	bool crlf;

	while (s->state != SS_CLOSING && !s->dead && s->wait == SW_NONE &&
	    !s->starttls && !s->handshake) {
		if (smtpd.stopping && s->tx == NULL) {
			session_reply(s, "421 4.3.2 %s Error: shutting down",
			    smtpd.hostname);
			session_close(s);
			return;
		}
		if (lio_out_pending(&s->lio) > SESSION_OUT_MAX &&
		    lio_flush(&s->lio) != 1)
			return;           /* resumed by the write event */
		if (s->state == SS_DATA || s->state == SS_BDAT) {
			if (lio_buffered(&s->lio) == 0)
				break;
			if (s->state == SS_DATA)
				data_input(s);
			else
				bdat_input(s);
			continue;
		}
		r = lio_getline(&s->lio, SMTP_LINE_MAX - 2, &line, &len, &crlf);
		if (r == LIO_NONE)
			break;
		if (r == LIO_TOOLONG) {
			session_reply_error(s, "500 5.5.2 Error: line too long");
			continue;
		}
		if (log_level_enabled(LOGL_DEBUG)) {
			char tmp[128];

			log_debug("session %" PRIu64 ": < %s", s->id,
			    log_sanitize(line, tmp, sizeof(tmp)));
		}
		cmd_dispatch(s, line, len);
	}
	/* All that the client sent before closing its side is handled. */
	if (s->eof && s->wait == SW_NONE && s->state != SS_CLOSING && !s->dead &&
	    !s->starttls) {
		if (s->state == SS_DATA || s->state == SS_BDAT)
			log_info("session %" PRIu64 ": client [%s] disconnected during DATA",
			    s->id, s->addr);
		else
			log_debug("session %" PRIu64 ": client closed the connection",
			    s->id);
		session_close(s);
	}
}

static void
session_arm_timer(struct session *s)
{
	const struct cfg_listen *l = s->listen;
	uint64_t now = ev_now(), deadline = UINT64_MAX, to, d;

	if (s->wait != SW_NONE) {
		/* queued's own deadline bounds this wait. */
		ev_timer_stop(s->timer);
		return;
	}
	if (s->state == SS_CLOSING)
		deadline = now + SESSION_LINGER_MS;
	else if (s->lookup)
		deadline = s->started + lu_timeout_ms;
	else {
		if (s->state == SS_BDAT && s->bdat_reply != NULL) {
			/* Discarding a refused chunk (with or without a
			 * transaction): data-block between reads, and
			 * data-termination bounds the whole chunk however
			 * large it was announced and slowly it comes. */
			to = l->to_data_block;
			if (l->to_data_term) {
				d = s->bdat_discard_started +
				    (uint64_t)l->to_data_term * 1000;
				deadline = d < deadline ? d : deadline;
			}
		} else if ((s->state == SS_DATA || s->state == SS_BDAT) && s->tx) {
			/* data-init until the first content after 354 (or
			 * the first BDAT), then data-block between reads;
			 * data-termination bounds the whole content. */
			to = s->tx->got_data ? l->to_data_block : l->to_data_init;
			if (l->to_data_term) {
				d = s->tx->data_started + (uint64_t)l->to_data_term * 1000;
				deadline = d < deadline ? d : deadline;
			}
		} else if (s->state == SS_BDAT)
			to = l->to_data_block;  /* cannot happen: no chunk */
		else
			to = l->to_command;
		if (to) {
			d = s->last_read + (uint64_t)to * 1000;
			deadline = d < deadline ? d : deadline;
		}
		if (l->to_connection) {
			d = s->started + (uint64_t)l->to_connection * 1000;
			deadline = d < deadline ? d : deadline;
		}
	}
	if (deadline == UINT64_MAX)
		ev_timer_stop(s->timer);
	else
		ev_timer_start(s->timer, deadline > now ? deadline - now : 0);
}

/* Whether the session takes input now. */
static bool
session_wants_input(const struct session *s)
{
	return s->state != SS_CLOSING && !s->dead && s->wait == SW_NONE &&
	    !s->eof && !smtpd.congested && !s->starttls && !s->handshake &&
	    !s->lookup &&
	    lio_out_pending(&s->lio) <= SESSION_OUT_MAX;
}

/* Watch what the session needs: input unless paused, output if pending.
 * Through TLS a read may wait for writability and a write for
 * readability (rd_want, wr_want). */
static void
session_update(struct session *s)
{
	int ev = 0;

	if (s->handshake)
		ev = lio_tls_events(&s->lio);
	else {
		if (session_wants_input(s))
			ev |= s->rd_want ? s->rd_want : EV_READ;
		if (lio_out_pending(&s->lio) > 0)
			ev |= s->wr_want ? s->wr_want : EV_WRITE;
	}
	ev_io_set(s->io, ev);
	session_arm_timer(s);
	/* An idle session keeps no buffers. */
	if (s->tx == NULL && lio_buffered(&s->lio) == 0 &&
	    lio_out_pending(&s->lio) == 0)
		lio_compact(&s->lio);
}

/* The end of every top-level entry point: write, then free or rearm. */
static void
session_after(struct session *s)
{
	int r;

	if (s->dead) {
		session_free(s);
		return;
	}
	if (s->handshake) {
		session_update(s);
		return;
	}
	r = lio_flush(&s->lio);
	if (r == -1) {
		log_debug("session %" PRIu64 ": write error: %s",
		    s->id, strerror(errno));
		session_free(s);
		return;
	}
	s->wr_want = r == 0 && s->lio.ssl ? (uint8_t)s->lio.tls_want : 0;
	if (s->state == SS_CLOSING && r == 1) {
		session_free(s);
		return;
	}
	if (s->starttls && r == 1) {
		/* The 220 is out: the next bytes are the client's hello. */
		starttls_begin(s);
		if (s->dead) {
			session_free(s);
			return;
		}
	}
	session_update(s);
}

/* Read what the socket (or the TLS layer) has and process it. Through
 * TLS, OpenSSL may hold decrypted bytes the socket will not announce:
 * go on while it does and the session takes input. */
static void
session_read(struct session *s)
{
	ssize_t n;

	do {
		n = lio_fill(&s->lio);
		if (n == -2) {
			log_info("session %" PRIu64 ": read error from [%s]: %s",
			    s->id, s->addr, strerror(errno));
			s->dead = true;
			return;
		}
		if (n == 0)
			s->eof = true;
		else if (n > 0) {
			s->last_read = ev_now();
			s->rd_want = 0;
		} else if (s->lio.ssl)
			s->rd_want = (uint8_t)s->lio.tls_want;
		session_process(s);
	} while (n > 0 && lio_tls_pending(&s->lio) > 0 &&
	    session_wants_input(s));
}

static void
session_resume(struct session *s)
{
	s->last_read = ev_now();
	session_process(s);
	if (lio_tls_pending(&s->lio) > 0 && session_wants_input(s))
		session_read(s);
	session_after(s);
}

static void
session_io(int fd, int events, void *arg)
{
	struct session *s = arg;
	int want;

	(void)fd;
	if (events & EV_READ && !(ev_io_events(s->io) & EV_READ)) {
		/* Only a hang-up or an error wakes a paused session. */
		log_info("session %" PRIu64 ": connection to [%s] lost",
		    s->id, s->addr);
		s->dead = true;
		session_after(s);
		return;
	}
	if (s->handshake) {
		starttls_step(s);
		/* Application data may follow the handshake at once. */
		if (!s->handshake && !s->dead && session_wants_input(s))
			session_read(s);
		session_after(s);
		return;
	}
	want = s->lio.ssl && s->rd_want ? s->rd_want : EV_READ;
	if ((events & want) && session_wants_input(s))
		session_read(s);
	else
		session_process(s);
	session_after(s);
}

static void
session_timeout(void *arg)
{
	struct session *s = arg;

	if (s->state == SS_CLOSING) {
		s->dead = true;
		session_after(s);
		return;
	}
	if (s->wait != SW_NONE)
		return;
	if (s->lookup) {
		log_warnx("session %" PRIu64 ": no answer from the master about "
		    "uid %u in %" PRIu64 " ms", s->id, (unsigned)s->uid,
		    lu_timeout_ms);
		s->lookup = false;
		session_reply(s, "421 4.3.0 %s Error: local user lookup timed out",
		    smtpd.hostname);
		session_close(s);
		session_after(s);
		return;
	}
	if (s->handshake) {
		log_info("session %" PRIu64 ": TLS handshake timeout from [%s]",
		    s->id, s->addr);
		s->dead = true;
		session_after(s);
		return;
	}
	log_info("session %" PRIu64 ": timeout from [%s] in %s", s->id,
	    s->addr, s->state == SS_DATA ? "DATA" : s->state == SS_BDAT ? "BDAT" :
	    "command state");
	session_reply(s, "421 4.4.2 %s Error: timeout exceeded", smtpd.hostname);
	session_close(s);
	session_after(s);
}

void
session_user_known(uint64_t id, uint32_t uid, const char *name)
{
	struct session *s;

	TAILQ_FOREACH(s, &smtpd.sessions, entry)
		if (s->id == id)
			break;
	if (s == NULL || !s->local || !s->lookup) {
		/* Closed meanwhile (or timed out): nobody waits for it. */
		log_debug("answer about uid %u for session %" PRIu64 " ignored",
		    (unsigned)uid, id);
		return;
	}
	s->lookup = false;
	if (uid != (uint32_t)s->uid) {
		log_warnx("session %" PRIu64 ": the master answered about uid %u, "
		    "the client is uid %u: closing", s->id, (unsigned)uid,
		    (unsigned)s->uid);
		session_reply(s, "421 4.3.0 %s Error: internal error, closing",
		    smtpd.hostname);
		session_close(s);
		session_after(s);
		return;
	}
	strlcpy(s->login, name, sizeof(s->login));
	log_info("session %" PRIu64 ": uid %u is %s", s->id, (unsigned)uid,
	    name[0] != '\0' ? name : "no local user now");
	session_greet(s);
	session_after(s);
}

void
session_created(struct session *s, int fd, const char *msgid)
{
	s->wait = SW_NONE;
	if (s->tx == NULL || s->state != SS_RCPT) {
		/* Cannot happen: a create is only sent from SS_RCPT. */
		log_warnx("session %" PRIu64 ": unexpected file from queued",
		    s->id);
		close(fd);
		qc_rollback(msgid);
	} else
		data_start(s, fd, msgid);
	session_resume(s);
}

void
session_create_failed(struct session *s, unsigned code, const char *text)
{
	s->wait = SW_NONE;
	if (s->tx && s->tx->bdat) {
		/* The chunk is on its way: read it, then answer. */
		session_transition(s, SS_READY, "queue refused the file");
		bdat_discard(s, s->bdat_left, s->bdat_last, false, "%u %s",
		    code, text);
		session_resume(s);
		return;
	}
	session_reply(s, "%u %s", code, text);
	/* When stopping, this transaction cannot succeed any more: the
	 * session hears 421 now rather than at the end of the grace time. */
	if (smtpd.stopping)
		session_transition(s, SS_READY, "queue refused the file");
	session_resume(s);
}

void
session_committed(struct session *s, const char *msgid)
{
	struct txn *tx = s->tx;

	s->wait = SW_NONE;
	if (tx) {
		log_info("session %" PRIu64 ": message %s queued from=<%s> nrcpt=%zu "
		    "size=%" PRIu64, s->id, msgid,
		    tx->env.sender, tx->env.nrcpt, tx->env.size);
		hplug_received(s);
	}
	session_transition(s, SS_READY, "message queued");
	session_reply(s, "250 2.0.0 Ok: queued as %s", msgid);
	session_resume(s);
}

void
session_commit_failed(struct session *s, unsigned code, const char *text)
{
	s->wait = SW_NONE;
	log_info("session %" PRIu64 ": commit failed: %u %s", s->id,
	    code, text);
	session_transition(s, SS_READY, "commit failed");
	session_reply(s, "%u %s", code, text);
	session_resume(s);
}

void
session_stop_all(void)
{
	struct session *s, *tmp;

	/* Idle sessions hear 421 now; the others at the end of their
	 * transaction (session_process checks smtpd.stopping). */
	TAILQ_FOREACH_SAFE(s, &smtpd.sessions, entry, tmp)
		if (s->wait == SW_NONE && s->state != SS_CLOSING) {
			session_process(s);
			session_after(s);
		}
}

void
session_abort_all(void)
{
	struct session *s, *tmp;

	TAILQ_FOREACH_SAFE(s, &smtpd.sessions, entry, tmp) {
		if (s->state != SS_CLOSING && !s->dead && !s->handshake) {
			session_reply(s, "421 4.3.2 %s Error: shutting down",
			    smtpd.hostname);
			(void)lio_flush(&s->lio);
		}
		s->dead = true;
		session_after(s);
	}
}

void
session_queue_lost(void)
{
	struct session *s;

	/* A new queued removes unfinished files when it starts: these
	 * messages can only be tempfailed at their end. */
	TAILQ_FOREACH(s, &smtpd.sessions, entry)
		if (s->tx && s->tx->msgid[0] != '\0') {
			s->tx->flags |= TX_QUEUE_LOST;
			s->tx->msgid[0] = '\0';
		}
}

void
session_update_all(void)
{
	struct session *s;

	TAILQ_FOREACH(s, &smtpd.sessions, entry)
		session_update(s);
}
