/* The SMTP command state machine (RFC 5321 §4.1.4 ordering) and the
 * per-command policy: ESMTP parameters, recipient limits, the relay rule
 * of DESIGN §7. Every reply carries an RFC 3463 enhanced status code,
 * except the greeting and the HELO/EHLO answers (RFC 2034 §3). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channel.h"
#include "log.h"
#include "smtpd.h"
#include "util.h"

/* Encoded size of an envelope apart from its recipients, and per
 * recipient apart from the address (see env_encode). */
#define ENV_WIRE_BASE 160
#define ENV_WIRE_RCPT 32

static void
reply_bad_sequence(struct session *s, const char *what)
{
	session_reply_error(s, "503 5.5.1 Error: %s", what);
}

static void
cmd_helo(struct session *s, const struct smtp_cmd *cmd, enum smtp_error e)
{
	const struct cfg_listen *l = s->listen;

	if (e != SMTP_OK) {
		session_reply_error(s, "501 5.5.4 Syntax: %s hostname",
		    cmd->verb == SMTP_CMD_EHLO ? "EHLO" : "HELO");
		return;
	}
	/* A new greeting resets the transaction (RFC 5321 §4.1.4). */
	tx_free(s);
	free(s->helo);
	s->helo = xstrdup(cmd->arg);
	s->esmtp = cmd->verb == SMTP_CMD_EHLO;
	s->state = SS_READY;
	if (!s->esmtp) {
		session_reply(s, "250 %s", smtpd.hostname);
		return;
	}
	session_reply(s, "250-%s", smtpd.hostname);
	session_reply(s, "250-PIPELINING");
	session_reply(s, "250-SIZE %zu", l->max_message_size);
	session_reply(s, "250-8BITMIME");
	session_reply(s, "250 ENHANCEDSTATUSCODES");
}

/* SIZE and BODY (RFC 1870, RFC 6152). Returns false after replying. */
static bool
mail_params(struct session *s, const struct smtp_cmd *cmd, const char **body)
{
	size_t i, max = s->listen->max_message_size;

	*body = NULL;
	if (cmd->nparams > 0 && !s->esmtp) {
		session_reply_error(s, "555 5.5.4 Error: parameters need EHLO");
		return false;
	}
	for (i = 0; i < cmd->nparams; i++) {
		const struct smtp_param *p = &cmd->params[i];

		if (strcasecmp(p->key, "SIZE") == 0) {
			const char *v = p->value;
			unsigned long long n = 0;

			if (v == NULL || *v == '\0' || strlen(v) > 20 ||
			    strspn(v, "0123456789") != strlen(v)) {
				session_reply_error(s, "501 5.5.4 Error: bad SIZE value");
				return false;
			}
			n = strtoull(v, NULL, 10);
			if (max && n > max) {
				session_reply_error(s, "552 5.3.4 Error: message size "
				    "exceeds fixed maximum message size");
				return false;
			}
		} else if (strcasecmp(p->key, "BODY") == 0) {
			if (p->value && strcasecmp(p->value, "7BIT") == 0)
				*body = "7BIT";
			else if (p->value && strcasecmp(p->value, "8BITMIME") == 0)
				*body = "8BITMIME";
			else {
				session_reply_error(s, "501 5.5.4 Error: unsupported "
				    "BODY value");
				return false;
			}
		} else {
			char tmp[64];

			session_reply_error(s, "555 5.5.4 Error: unsupported "
			    "parameter %s", log_sanitize(p->key, tmp, sizeof(tmp)));
			return false;
		}
	}
	return true;
}

static void
cmd_mail(struct session *s, const struct smtp_cmd *cmd, enum smtp_error e)
{
	const char *body;
	struct txn *tx;

	if (s->state == SS_CONNECTED) {
		reply_bad_sequence(s, "send HELO/EHLO first");
		return;
	}
	if (s->tx != NULL) {
		reply_bad_sequence(s, "nested MAIL command");
		return;
	}
	switch (e) {
	case SMTP_OK:
		break;
	case SMTP_ERR_ADDRESS:
	case SMTP_ERR_TOOLONG:
		session_reply_error(s, "501 5.1.7 Bad sender address syntax: %s",
		    cmd->error);
		return;
	default:
		session_reply_error(s, "501 5.5.4 Syntax: MAIL FROM:<address> (%s)",
		    cmd->error);
		return;
	}
	if (cmd->utf8) {
		session_reply_error(s, "553 5.6.7 Error: non-ASCII address "
		    "needs SMTPUTF8");
		return;
	}
	if (!mail_params(s, cmd, &body))
		return;
	tx = xcalloc(1, sizeof(*tx));
	env_init(&tx->env);
	tx->fd = -1;
	tx->env.sender = xstrdup(cmd->addr);
	if (body)
		tx->env.body = xstrdup(body);
	tx->env_wire = ENV_WIRE_BASE + strlen(cmd->addr) + strlen(s->helo) +
	    strlen(s->addr);
	s->tx = tx;
	s->state = SS_MAIL;
	session_reply(s, "250 2.1.0 Sender ok");
}

/* DESIGN §7: a domain with `accept` takes mail from anyone; anything else
 * only from `relay from` clients. */
static bool
relay_allowed(const struct session *s, const char *domain)
{
	const struct cfg_domain *d = config_domain(smtpd.cfg, domain);

	if (d && d->accept)
		return true;
	return config_relay_allowed(smtpd.cfg, (const struct sockaddr *)&s->ss);
}

static void
cmd_rcpt(struct session *s, const struct smtp_cmd *cmd, enum smtp_error e)
{
	struct txn *tx = s->tx;
	char *addr = NULL, tmp[SMTP_PATH_MAX + 1];
	const char *domain;
	size_t i;

	if (tx == NULL) {
		reply_bad_sequence(s, s->state == SS_CONNECTED ?
		    "send HELO/EHLO first" : "need MAIL command");
		return;
	}
	switch (e) {
	case SMTP_OK:
		break;
	case SMTP_ERR_ADDRESS:
	case SMTP_ERR_TOOLONG:
		session_reply_error(s, "553 5.1.3 Bad recipient address syntax: %s",
		    cmd->error);
		return;
	default:
		session_reply_error(s, "501 5.5.4 Syntax: RCPT TO:<address> (%s)",
		    cmd->error);
		return;
	}
	if (cmd->utf8) {
		session_reply_error(s, "553 5.6.7 Error: non-ASCII address "
		    "needs SMTPUTF8");
		return;
	}
	if (cmd->nparams > 0) {
		session_reply_error(s, "555 5.5.4 Error: unsupported parameter %s",
		    log_sanitize(cmd->params[0].key, tmp, sizeof(tmp)));
		return;
	}
	if (s->listen->max_recipients && tx->env.nrcpt >= s->listen->max_recipients) {
		session_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (cmd->postmaster) {
		/* <postmaster> is ours: route it as postmaster@hostname. */
		xasprintf(&addr, "%s@%s", cmd->addr, smtpd.hostname);
		domain = smtpd.hostname;
	} else
		domain = cmd->domain;
	if (!relay_allowed(s, domain)) {
		log_info("session %llu: relaying denied from [%s] to <%s>",
		    (unsigned long long)s->id, s->addr, cmd->addr);
		session_reply_error(s, "554 5.7.1 <%s>: relaying denied", cmd->addr);
		free(addr);
		return;
	}
	if (addr == NULL)
		addr = xstrdup(cmd->addr);
	/* The envelope must fit in one Q_COMMIT frame. */
	if (tx->env_wire + ENV_WIRE_RCPT + strlen(addr) > CHAN_MAX_PAYLOAD) {
		session_reply(s, "452 4.5.3 Error: too many recipients");
		free(addr);
		return;
	}
	/* A repeated recipient is accepted once. */
	for (i = 0; i < tx->env.nrcpt; i++)
		if (strcmp(tx->env.rcpt[i].addr, addr) == 0)
			break;
	if (i == tx->env.nrcpt) {
		env_add_rcpt(&tx->env, addr);
		tx->env_wire += ENV_WIRE_RCPT + strlen(addr);
	}
	free(addr);
	s->state = SS_RCPT;
	session_reply(s, "250 2.1.5 Recipient ok");
}

static void
cmd_data(struct session *s, enum smtp_error e)
{
	if (s->tx == NULL) {
		reply_bad_sequence(s, s->state == SS_CONNECTED ?
		    "send HELO/EHLO first" : "need MAIL command");
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
	case SMTP_CMD_RSET:
		if (e != SMTP_OK) {
			session_reply_error(s, "501 5.5.4 Syntax: RSET");
			break;
		}
		tx_free(s);
		if (s->state != SS_CONNECTED)
			s->state = SS_READY;
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
		    "RSET NOOP QUIT VRFY HELP");
		break;
	case SMTP_CMD_EXPN:
	case SMTP_CMD_STARTTLS:
	case SMTP_CMD_BDAT:
	case SMTP_CMD_AUTH:
	default:
		session_reply_error(s, "502 5.5.1 Error: command not implemented");
		break;
	}
}
