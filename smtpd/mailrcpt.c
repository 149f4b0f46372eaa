/* SPDX-License-Identifier: ISC */
/* MAIL and RCPT: the envelope of a transaction. Paths come parsed from
 * lib/smtp.c; here are the ESMTP parameters (SIZE and BODY, RFC 1870 and
 * 6152; SMTPUTF8, RFC 6531; RET, ENVID, NOTIFY and ORCPT, RFC 3461), the
 * `tls required` rule, the recipient limits, the relay rule of empath.conf(5)
 * and the MAIL and RCPT hooks. On the local submission socket the
 * sender must be the user's own (lib/localusers.h) and relaying is
 * allowed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channel.h"
#include "hooks.h"
#include "localusers.h"
#include "log.h"
#include "plugin_ctx.h"
#include "session.h"
#include "util.h"

/* Heap estimate (SESSION_ENV_MAX): the allocator's cost of one block
 * beyond its bytes, and of a recipient's slot in the array, which
 * grows by doubling (so up to two slots per recipient). */
#define ENV_MEM_BLOCK 24
#define ENV_MEM_RCPT  (2 * sizeof(struct env_rcpt))

/* The encoded size of the transaction's envelope without recipients as
 * Q_COMMIT will carry it: data.c fills in the id, the HELO, the client's
 * address and name ("unknown") just before it commits. */
static size_t
commit_base_wire(const struct txn *tx, struct session *s)
{
	struct envelope est = tx->env;     /* shallow: only measured */
	char unknown[] = "unknown";

	memset(est.id, 'x', ULID_LEN);
	est.id[ULID_LEN] = '\0';
	est.helo = s->helo;
	est.client_addr = s->addr;
	est.client_name = unknown;
	/* Plugins may leave metadata and header fields with the message
	 * (hook_plugins.c): room for the most they can, kept from MAIL on
	 * so that no recipient is accepted that the commit cannot carry. */
	return env_base_wire_size(&est) + (hplug_active() ?
	    PLUGIN_META_ENCODED_MAX + PLUGIN_HEADERS_ENCODED_MAX : 0);
}

/* What a string copied to the heap costs. */
static size_t
str_mem(const char *s)
{
	return strlen(s) + 1 + ENV_MEM_BLOCK;
}

/* A local user may give only a sender of their own (trusted users any).
 * false after replying. */
static bool
local_sender_ok(struct session *s, const struct smtp_cmd *cmd, bool utf8)
{
	char tmp[SMTP_PATH_MAX + 1];
	const char *name;

	switch (localusers_login_sender(smtpd_config(),
	    s->login[0] != '\0' ? s->login : NULL, cmd->addr)) {
	case LSENDER_OK:
		return true;
	case LSENDER_UNKNOWN_USER:
		log_info("session %" PRIu64 ": MAIL from unknown local uid %u",
		    s->id, (unsigned)s->uid);
		session_reply(s, "451 4.7.1 unknown local user (uid %u)",
		    (unsigned)s->uid);
		return false;
	case LSENDER_FORGED:
	default:
		name = s->login[0] != '\0' ? s->login : NULL;
		log_sanitize(cmd->addr, tmp, sizeof(tmp));
		log_info("session %" PRIu64 ": sender <%s> refused: not owned by "
		    "local user %s (uid %u)", s->id, tmp, name ? name : "?",
		    (unsigned)s->uid);
		/* As in RCPT: UTF-8 only after SMTPUTF8 (RFC 6531 §3.7.4). */
		session_reply_error(s, "553 5.7.1 <%s>: sender address not owned "
		    "by user %s", utf8 ? cmd->addr : tmp, name ? name : "?");
		return false;
	}
}

/* The parameters of MAIL, checked and decoded. */
struct mail_params {
	const char *body;
	bool     smtputf8;
	int      ret;
	char     envid[SMTP_ENVID_MAX + 1];
	bool     has_envid;
};

static void
unsupported(struct session *s, const struct smtp_param *p)
{
	char tmp[64];

	session_reply_error(s, "555 5.5.4 Error: unsupported parameter %s",
	    log_sanitize(p->key, tmp, sizeof(tmp)));
}

/* Returns false after replying. */
static bool
mail_params(struct session *s, const struct smtp_cmd *cmd,
    struct mail_params *mp)
{
	size_t i, max = s->listen->max_message_size;

	memset(mp, 0, sizeof(*mp));
	if (cmd->nparams > 0 && !s->esmtp) {
		session_reply_error(s, "555 5.5.4 Error: parameters need EHLO");
		return false;
	}
	for (i = 0; i < cmd->nparams; i++) {
		const struct smtp_param *p = &cmd->params[i];
		const char *v = p->value;

		if (strcasecmp(p->key, "SIZE") == 0) {
			unsigned long long n;

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
			if (v && strcasecmp(v, "7BIT") == 0)
				mp->body = "7BIT";
			else if (v && strcasecmp(v, "8BITMIME") == 0)
				mp->body = "8BITMIME";
			else {
				session_reply_error(s, "501 5.5.4 Error: unsupported "
				    "BODY value");
				return false;
			}
		} else if (strcasecmp(p->key, "SMTPUTF8") == 0) {
			if (v != NULL) {
				session_reply_error(s, "501 5.5.4 Error: SMTPUTF8 "
				    "takes no value");
				return false;
			}
			mp->smtputf8 = true;
		} else if (strcasecmp(p->key, "RET") == 0) {
			if ((mp->ret = smtp_dsn_ret(v)) == -1) {
				session_reply_error(s, "501 5.5.4 Error: bad RET value");
				return false;
			}
		} else if (strcasecmp(p->key, "ENVID") == 0) {
			if (v == NULL || strlen(v) > SMTP_ENVID_MAX ||
			    smtp_xtext_decode(v, mp->envid, sizeof(mp->envid)) <= 0) {
				session_reply_error(s, "501 5.5.4 Error: bad ENVID value");
				return false;
			}
			mp->has_envid = true;
		} else {
			unsupported(s, p);
			return false;
		}
	}
	return true;
}

void
cmd_mail(struct session *s, const struct smtp_cmd *cmd, enum smtp_error e)
{
	struct mail_params mp;
	struct hook_reply hr;
	struct txn *tx;

	if (s->state == SS_CONNECTED) {
		session_reply_error(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->tx != NULL) {
		session_reply_error(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (s->listen->tls_mode == LTLS_REQUIRED && s->lio.ssl == NULL) {
		session_reply_error(s, "530 5.7.0 Must issue a STARTTLS command "
		    "first");
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
	if (!mail_params(s, cmd, &mp))
		return;
	if (literal_refused(s, cmd))
		return;
	if (cmd->utf8 && !mp.smtputf8) {
		session_reply_error(s, "553 5.6.7 Error: non-ASCII address "
		    "needs SMTPUTF8");
		return;
	}
	if (s->local && !local_sender_ok(s, cmd, mp.smtputf8))
		return;
	tx = xcalloc(1, sizeof(*tx));
	env_init(&tx->env);
	tx->fd = -1;
	tx->env.sender = xstrdup(cmd->addr);
	if (mp.body)
		tx->env.body = xstrdup(mp.body);
	tx->smtputf8 = mp.smtputf8;
	tx->env.smtputf8 = mp.smtputf8;
	tx->env.ret = mp.ret > 0 ? (uint32_t)mp.ret : DSN_RET_UNSET;
	if (mp.has_envid)
		tx->env.envid = xstrdup(mp.envid);
	tx->env_wire = commit_base_wire(tx, s);
	/* The session's HELO, and at the end the envelope's copies of it,
	 * of the client's address and name. */
	tx->env_mem = sizeof(*tx) + ENV_MEM_BLOCK + str_mem(cmd->addr) +
	    str_mem(mp.envid) + str_mem("8BITMIME") + 2 * str_mem(s->helo) +
	    str_mem(s->addr) + str_mem("unknown");
	s->tx = tx;
	if (!session_transition(s, SS_MAIL, "MAIL"))
		return;
	if (hooks_run(s, HOOK_MAIL, cmd->addr, &hr) == HOOK_REJECT) {
		session_transition(s, SS_READY, "MAIL refused by a hook");
		session_reply(s, "%u %s", hr.code, hr.text);
		if (hr.code == 421)
			session_close(s);
		return;
	}
	if (hr.code)
		session_reply(s, "%u %s", hr.code, hr.text);
	else
		session_reply(s, "250 2.1.0 Sender ok");
}

/* The relay rule: a domain with `accept` takes mail from anyone; anything else
 * only from `relay from` clients and local users. */
static bool
relay_allowed(const struct session *s, const char *domain)
{
	const struct cfg_domain *d = config_domain(smtpd_config(), domain);

	if (s->local)
		return true;
	if (d && d->accept)
		return true;
	return config_relay_allowed(smtpd_config(), (const struct sockaddr *)&s->ss);
}

/* NOTIFY and ORCPT. Returns false after replying; a malformed ORCPT
 * is left out (orcpt ""). */
static bool
rcpt_params(struct session *s, const struct smtp_cmd *cmd, uint32_t *notify,
    char *orcpt, size_t orcptlen)
{
	size_t i;

	*notify = 0;
	orcpt[0] = '\0';
	if (cmd->nparams > 0 && !s->esmtp) {
		session_reply_error(s, "555 5.5.4 Error: parameters need EHLO");
		return false;
	}
	for (i = 0; i < cmd->nparams; i++) {
		const struct smtp_param *p = &cmd->params[i];

		if (strcasecmp(p->key, "NOTIFY") == 0) {
			if (smtp_dsn_notify(p->value, notify) == -1) {
				session_reply_error(s, "501 5.5.4 Error: bad NOTIFY "
				    "value");
				return false;
			}
		} else if (strcasecmp(p->key, "ORCPT") == 0) {
			/* Informational (RFC 3461 §4.2): a value we cannot
			 * read is dropped, never a reason to refuse the
			 * recipient (a relay would bounce the message). */
			if (smtp_dsn_orcpt(p->value, s->tx->smtputf8, orcpt,
			    orcptlen) == -1) {
				char tmp[128];

				orcpt[0] = '\0';
				log_info("session %" PRIu64 ": ignoring malformed ORCPT "
				    "from [%s]: %s", s->id,
				    s->addr, log_sanitize(p->value ? p->value : "",
				    tmp, sizeof(tmp)));
			}
		} else {
			unsupported(s, p);
			return false;
		}
	}
	return true;
}

void
cmd_rcpt(struct session *s, const struct smtp_cmd *cmd, enum smtp_error e)
{
	struct txn *tx = s->tx;
	struct hook_reply hr;
	struct env_rcpt *r;
	char *addr = NULL, orcpt[SMTP_ORCPT_MAX + 1];
	uint32_t notify;
	size_t i, wire, mem;

	if (tx == NULL) {
		session_reply_error(s, "503 5.5.1 Error: %s",
		    s->state == SS_CONNECTED ? "send HELO/EHLO first" :
		    "need MAIL command");
		return;
	}
	if (tx->fd != -1) {
		session_reply_error(s, "503 5.5.1 Error: RCPT after BDAT");
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
	if (cmd->utf8 && !tx->smtputf8) {
		session_reply_error(s, "553 5.6.7 Error: non-ASCII address "
		    "needs SMTPUTF8");
		return;
	}
	if (!rcpt_params(s, cmd, &notify, orcpt, sizeof(orcpt)))
		return;
	if (s->listen->max_recipients && tx->env.nrcpt >= s->listen->max_recipients) {
		session_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (cmd->postmaster) {
		/* <postmaster> must always be accepted (RFC 5321 §4.5.1):
		 * it goes to the configured postmaster address. */
		const char *pm = smtpd_config()->dsn_postmaster;

		if (pm && *pm)
			addr = xstrdup(pm);
		else
			xasprintf(&addr, "postmaster@%s", smtpd_hostname());
	}
	if (!cmd->postmaster && !relay_allowed(s, cmd->domain)) {
		char tmp[SMTP_PATH_MAX + 1];

		log_info("session %" PRIu64 ": relaying denied from [%s] to <%s>",
		    s->id, s->addr,
		    log_sanitize(cmd->addr, tmp, sizeof(tmp)));
		/* After SMTPUTF8 a reply may carry UTF-8 (RFC 6531 §3.7.4):
		 * the address as received, which the parser checked for
		 * valid UTF-8 and no control characters. */
		session_reply_error(s, "554 5.7.1 <%s>: relaying denied",
		    tx->smtputf8 ? cmd->addr : tmp);
		free(addr);
		return;
	}
	if (addr == NULL)
		addr = xstrdup(cmd->addr);
	/* The envelope must fit in one Q_COMMIT frame and in the memory a
	 * session may hold. */
	wire = env_rcpt_wire_size(addr, orcpt[0] ? orcpt : NULL);
	mem = ENV_MEM_RCPT + str_mem(addr) + (orcpt[0] ? str_mem(orcpt) : 0);
	if (hplug_active())                /* the plugins' context's copy */
		mem += str_mem(addr) + 2 * sizeof(char *);
	if (tx->env_wire + wire > CHAN_MAX_PAYLOAD ||
	    tx->env_mem + mem > SESSION_ENV_MAX) {
		log_info("session %" PRIu64 ": envelope size limit reached by [%s] "
		    "at %zu recipients", s->id, s->addr,
		    tx->env.nrcpt);
		session_reply(s, "452 4.5.3 Error: too many recipients "
		    "(envelope size limit)");
		free(addr);
		return;
	}
	if (hooks_run(s, HOOK_RCPT, addr, &hr) == HOOK_REJECT) {
		session_reply(s, "%u %s", hr.code, hr.text);
		free(addr);
		if (hr.code == 421)
			session_close(s);
		return;
	}
	/* A repeated recipient is accepted once. */
	for (i = 0; i < tx->env.nrcpt; i++)
		if (strcmp(tx->env.rcpt[i].addr, addr) == 0)
			break;
	if (i == tx->env.nrcpt) {
		r = env_add_rcpt(&tx->env, addr);
		r->notify = notify;
		if (orcpt[0] != '\0')
			r->orcpt = xstrdup(orcpt);
		tx->env_wire += wire;
		tx->env_mem += mem;
	} else
		hplug_rcpt_dup(s);
	free(addr);
	if (!session_transition(s, SS_RCPT, "RCPT"))
		return;
	if (hr.code)
		session_reply(s, "%u %s", hr.code, hr.text);
	else
		session_reply(s, "250 2.1.5 Recipient ok");
}
