/* SPDX-License-Identifier: ISC */
/* The SMTP commands in the order of RFC 5321 §4.1.4 (the state machine
 * itself is session_transition() in session.c): the dispatcher and the
 * commands that do not take part in a mail transaction's envelope (MAIL
 * and RCPT are mailrcpt.c, BDAT bdat.c, STARTTLS starttls.c). Every
 * reply carries an RFC 3463 enhanced status code, except the greeting
 * and the HELO/EHLO answers (RFC 2034 §3). */
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "log.h"
#include "session.h"
#include "util.h"

enum sess_state
cmd_state(const struct session *s)
{
	if (s->tx)
		return s->tx->env.nrcpt > 0 ? SS_RCPT : SS_MAIL;
	return s->helo ? SS_READY : SS_CONNECTED;
}

static void
reply_bad_sequence(struct session *s, const char *what)
{
	session_reply_error(s, "503 5.5.1 Error: %s", what);
}

static void
cmd_helo(struct session *s, const struct smtp_cmd *cmd, enum smtp_error e)
{
	const struct cfg_listen *l = s->listen;
	struct hook_reply hr;
	const char *ext[10];
	size_t n = 0, i;

	if (e != SMTP_OK) {
		session_reply_error(s, "501 5.5.4 Syntax: %s hostname",
		    cmd->verb == SMTP_CMD_EHLO ? "EHLO" : "HELO");
		return;
	}
	if (hooks_run(s, HOOK_HELO, cmd->arg, &hr) == HOOK_REJECT) {
		session_reply(s, "%u %s", hr.code, hr.text);
		if (hr.code == 421)
			session_close(s);
		return;
	}
	/* A new greeting resets the transaction (RFC 5321 §4.1.4). */
	free(s->helo);
	s->helo = xstrdup(cmd->arg);
	s->esmtp = cmd->verb == SMTP_CMD_EHLO;
	if (!session_transition(s, SS_READY, "HELO"))
		return;
	if (!s->esmtp) {
		session_reply(s, "250 %s", smtpd_hostname());
		return;
	}
	ext[n++] = "PIPELINING";
	ext[n++] = NULL;                   /* SIZE, printed below */
	ext[n++] = "8BITMIME";
	ext[n++] = "SMTPUTF8";
	ext[n++] = "ENHANCEDSTATUSCODES";
	ext[n++] = "CHUNKING";
	ext[n++] = "DSN";
	if (starttls_available(s))
		ext[n++] = "STARTTLS";
	session_reply(s, "250-%s", smtpd_hostname());
	for (i = 0; i < n; i++) {
		char sep = i + 1 == n ? ' ' : '-';

		if (ext[i] == NULL)
			session_reply(s, "250%cSIZE %zu", sep, l->max_message_size);
		else
			session_reply(s, "250%c%s", sep, ext[i]);
	}
}

static void
cmd_data(struct session *s, enum smtp_error e)
{
	if (s->tx == NULL) {
		reply_bad_sequence(s, s->state == SS_CONNECTED ?
		    "send HELO/EHLO first" : "need MAIL command");
		return;
	}
	if (s->tx->bdat) {
		reply_bad_sequence(s, "DATA inside a BDAT transaction");
		return;
	}
	if (s->state != SS_RCPT) {
		reply_bad_sequence(s, "need RCPT command");
		return;
	}
	if (e != SMTP_OK) {
		session_reply_error(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (qc_create(s) == 0) {
		session_reply(s, "451 4.3.0 Error: queue unavailable, try again later");
		return;
	}
	session_wait(s, SW_CREATE);
}

void
cmd_dispatch(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	enum smtp_error e;

	e = smtp_parse(line, len, &cmd);
	if (e == SMTP_ERR_UNKNOWN) {
		session_reply_error(s, "500 5.5.2 Error: command not recognized");
		return;
	}
	switch (cmd.verb) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		cmd_helo(s, &cmd, e);
		break;
	case SMTP_CMD_MAIL:
		cmd_mail(s, &cmd, e);
		break;
	case SMTP_CMD_RCPT:
		cmd_rcpt(s, &cmd, e);
		break;
	case SMTP_CMD_DATA:
		cmd_data(s, e);
		break;
	case SMTP_CMD_BDAT:
		cmd_bdat(s, &cmd, e);
		break;
	case SMTP_CMD_STARTTLS:
		cmd_starttls(s, e);
		break;
	case SMTP_CMD_RSET:
		if (e != SMTP_OK) {
			session_reply_error(s, "501 5.5.4 Syntax: RSET");
			break;
		}
		session_transition(s, s->helo ? SS_READY : SS_CONNECTED,
		    "RSET");
		session_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_CMD_NOOP:
		session_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_CMD_QUIT:
		if (e != SMTP_OK) {
			session_reply_error(s, "501 5.5.4 Syntax: QUIT");
			break;
		}
		session_reply(s, "221 2.0.0 Bye");
		session_close(s);
		break;
	case SMTP_CMD_VRFY:
		if (e != SMTP_OK) {
			session_reply_error(s, "501 5.5.4 Syntax: VRFY address");
			break;
		}
		/* Never a user list (RFC 5321 §7.3). */
		session_reply(s, "252 2.1.5 Cannot VRFY user, but will accept "
		    "message and attempt delivery");
		break;
	case SMTP_CMD_HELP:
		session_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA "
		    "BDAT RSET NOOP QUIT VRFY HELP%s",
		    starttls_available(s) ? " STARTTLS" : "");
		break;
	case SMTP_CMD_EXPN:
	case SMTP_CMD_AUTH:
	default:
		session_reply_error(s, "502 5.5.1 Error: command not implemented");
		break;
	}
}
