/* SPDX-License-Identifier: ISC */
/* SMTP command-line parser (see smtp.h). The line is copied into the
 * command and cut into NUL-terminated pieces in place; every check is a
 * bounded scan of that copy. The grammar is RFC 5321 §4.1.2, widened by
 * RFC 6531 (UTF-8 in local parts, U-labels, parameter values) and by two
 * common leniencies: spaces after "FROM:"/"TO:" and between parameters. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "idn.h"
#include "smtp.h"
#include "utf8.h"

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{ "HELO", SMTP_CMD_HELO }, { "EHLO", SMTP_CMD_EHLO },
	{ "MAIL", SMTP_CMD_MAIL }, { "RCPT", SMTP_CMD_RCPT },
	{ "DATA", SMTP_CMD_DATA }, { "RSET", SMTP_CMD_RSET },
	{ "NOOP", SMTP_CMD_NOOP }, { "QUIT", SMTP_CMD_QUIT },
	{ "VRFY", SMTP_CMD_VRFY }, { "EXPN", SMTP_CMD_EXPN },
	{ "HELP", SMTP_CMD_HELP }, { "STARTTLS", SMTP_CMD_STARTTLS },
	{ "BDAT", SMTP_CMD_BDAT }, { "AUTH", SMTP_CMD_AUTH },
};

const char *
smtp_verb_name(enum smtp_verb v)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return "?";
}

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_atext(unsigned char c)
{
	return is_alpha(c) || is_digit(c) ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A domain: labels of letters, digits and inner hyphens, 1..63 octets
 * each, 255 in all, no empty label. When utf8, a label may hold UTF-8:
 * such a domain must then be a valid IDNA2008 name (RFC 6531 §3.2,
 * RFC 5891), whose A-label form is what the 63-octet limit bounds. */
static enum smtp_error
check_domain(const char *s, size_t len, bool utf8, const char **why)
{
	size_t i = 0, label = 0, u;
	unsigned char c, prev = '.';
	bool nonascii = false;
	char tmp[SMTP_DOMAIN_MAX + 1], alabel[IDN_DOMAIN_MAX];

	if (len == 0) {
		*why = "empty domain";
		return SMTP_ERR_ADDRESS;
	}
	if (len > SMTP_DOMAIN_MAX) {
		*why = "domain too long";
		return SMTP_ERR_TOOLONG;
	}
	while (i < len) {
		c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || prev == '-') {
				*why = "bad domain syntax";
				return SMTP_ERR_ADDRESS;
			}
			label = 0;
			prev = c;
			i++;
			continue;
		}
		if (c == '-') {
			if (label == 0) {
				*why = "bad domain syntax";
				return SMTP_ERR_ADDRESS;
			}
			u = 1;
		} else if (is_alpha(c) || is_digit(c))
			u = 1;
		else if (c >= 0x80 && utf8 &&
		    (u = utf8_decode((const unsigned char *)s + i, len - i, NULL)) > 0)
			nonascii = true;
		else {
			*why = "bad character in domain";
			return SMTP_ERR_ADDRESS;
		}
		label += u;
		if (label > SMTP_LABEL_MAX && !nonascii) {
			*why = "domain label too long";
			return SMTP_ERR_TOOLONG;
		}
		prev = c;
		i += u;
	}
	if (label == 0 || prev == '-') {
		*why = "bad domain syntax";
		return SMTP_ERR_ADDRESS;
	}
	if (nonascii) {
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		if (idn_to_ascii(tmp, alabel, sizeof(alabel)) == -1) {
			*why = "bad internationalized domain";
			return SMTP_ERR_ADDRESS;
		}
	}
	return SMTP_OK;
}

bool
smtp_domain_valid(const char *s, size_t len, bool utf8)
{
	const char *why;

	return check_domain(s, len, utf8, &why) == SMTP_OK;
}

bool
smtp_addr_literal_valid(const char *s, size_t len)
{
	char tmp[64];
	unsigned char a[sizeof(struct in6_addr)];

	if (len < 3 || s[0] != '[' || s[len - 1] != ']' || len - 2 >= sizeof(tmp))
		return false;
	memcpy(tmp, s + 1, len - 2);
	tmp[len - 2] = '\0';
	if (strncasecmp(tmp, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, tmp + 5, a) == 1;
	/* A general literal ("tag:content") names no registered tag we
	 * could route to; refuse it as bad syntax. */
	return inet_pton(AF_INET, tmp, a) == 1;
}

/* A dot-string or quoted-string local part at p; returns its end, or
 * NULL (error set). */
static char *
parse_local(char *p, struct smtp_cmd *cmd)
{
	size_t u;

	if (*p == '"') {
		for (p++; *p != '"'; ) {
			unsigned char c = (unsigned char)*p;

			if (c == '\\') {
				c = (unsigned char)p[1];
				if (c < 32 || c > 126) {
					cmd->error = "bad quoted pair in local part";
					return NULL;
				}
				p += 2;
			} else if (c >= 32 && c <= 126)
				p++;
			else if (c >= 0x80 && (u = utf8_decode(
			    (const unsigned char *)p, strnlen(p, 4), NULL)) > 0) {
				cmd->utf8 = true;
				p += u;
			} else {
				cmd->error = c == '\0' ? "unterminated quoted local part" :
				    "bad character in local part";
				return NULL;
			}
		}
		return p + 1;
	}
	for (;;) {
		char *atom = p;

		for (;;) {
			unsigned char c = (unsigned char)*p;

			if (is_atext(c))
				p++;
			else if (c >= 0x80 && (u = utf8_decode(
			    (const unsigned char *)p, strnlen(p, 4), NULL)) > 0) {
				cmd->utf8 = true;
				p += u;
			} else
				break;
		}
		if (p == atom) {
			cmd->error = "bad local part syntax";
			return NULL;
		}
		if (*p != '.')
			return p;
		p++;
	}
}

/* "<" [source route ":"] mailbox ">" at *pp, or "<>" when null_ok.
 * On success *pp points after the ">", which is overwritten with NUL. */
static enum smtp_error
parse_path(char **pp, struct smtp_cmd *cmd, bool null_ok)
{
	char *p = *pp, *start = p, *mbox, *dom, *end;
	enum smtp_error e;
	size_t n;

	if (*p != '<') {
		cmd->error = "address must be enclosed in <>";
		return SMTP_ERR_ADDRESS;
	}
	p++;
	if (*p == '>') {
		if (!null_ok) {
			cmd->error = "empty address";
			return SMTP_ERR_ADDRESS;
		}
		cmd->null_path = true;
		cmd->addr = cmd->domain = "";
		*p = '\0';
		*pp = p + 1;
		return SMTP_OK;
	}
	/* A source route ("@a,@b:") is obsolete: check it, then drop it. */
	if (*p == '@') {
		for (;;) {
			p++;
			for (n = 0; is_alpha((unsigned char)p[n]) ||
			    is_digit((unsigned char)p[n]) || p[n] == '-' || p[n] == '.'; n++)
				;
			if ((e = check_domain(p, n, false, &cmd->error)) != SMTP_OK) {
				if (e == SMTP_ERR_ADDRESS)
					cmd->error = "bad source route";
				return e;
			}
			p += n;
			if (*p == ',' && p[1] == '@') {
				p++;
				continue;
			}
			if (*p == ':') {
				p++;
				break;
			}
			cmd->error = "bad source route";
			return SMTP_ERR_ADDRESS;
		}
	}
	mbox = p;
	if ((p = parse_local(p, cmd)) == NULL)
		return SMTP_ERR_ADDRESS;
	if (p - mbox > SMTP_LOCAL_MAX) {
		cmd->error = "local part too long";
		return SMTP_ERR_TOOLONG;
	}
	if (*p == '>' && p - mbox == 10 && strncasecmp(mbox, "postmaster", 10) == 0 &&
	    !null_ok) {
		/* RFC 5321 §4.1.1.3: <Postmaster> without a domain. */
		cmd->postmaster = true;
		dom = p;
		end = p;
	} else {
		if (*p != '@') {
			cmd->error = *p == '>' ? "missing domain" :
			    "bad character in local part";
			return SMTP_ERR_ADDRESS;
		}
		dom = ++p;
		if (*p == '[') {
			end = strchr(p, ']');
			if (end == NULL || !smtp_addr_literal_valid(p, (size_t)(end - p) + 1)) {
				cmd->error = "bad address literal";
				return SMTP_ERR_ADDRESS;
			}
			end++;
		} else {
			for (end = p; is_alpha((unsigned char)*end) ||
			    is_digit((unsigned char)*end) || *end == '-' ||
			    *end == '.' || (unsigned char)*end >= 0x80; end++)
				;
			if ((e = check_domain(p, (size_t)(end - p), true,
			    &cmd->error)) != SMTP_OK)
				return e;
			for (; p < end; p++)
				if ((unsigned char)*p >= 0x80)
					cmd->utf8 = true;
		}
	}
	if (*end != '>') {
		cmd->error = "bad character in address";
		return SMTP_ERR_ADDRESS;
	}
	if (end + 1 - start > SMTP_PATH_MAX) {
		cmd->error = "address too long";
		return SMTP_ERR_TOOLONG;
	}
	*end = '\0';
	cmd->addr = mbox;
	cmd->domain = dom;
	*pp = end + 1;
	return SMTP_OK;
}

/* ESMTP parameters: SP-separated "KEY" or "KEY=VALUE" up to the end. */
static enum smtp_error
parse_params(char *p, struct smtp_cmd *cmd)
{
	size_t i, u;

	if (*p != '\0' && *p != ' ') {
		cmd->error = "garbage after address";
		return SMTP_ERR_SYNTAX;
	}
	for (;;) {
		char *key, *val = NULL;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			return SMTP_OK;
		key = p;
		if (!is_alpha((unsigned char)*p) && !is_digit((unsigned char)*p)) {
			cmd->error = "bad parameter name";
			return SMTP_ERR_PARAM;
		}
		while (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p) ||
		    *p == '-')
			p++;
		if (*p == '=') {
			*p++ = '\0';
			val = p;
			while (*p != ' ' && *p != '\0') {
				unsigned char c = (unsigned char)*p;

				if (c > 32 && c < 127 && c != '=')
					p++;
				else if (c >= 0x80 && (u = utf8_decode(
				    (const unsigned char *)p, strnlen(p, 4), NULL)) > 0)
					p += u;
				else {
					cmd->error = "bad parameter value";
					return SMTP_ERR_PARAM;
				}
			}
			if (p == val) {
				cmd->error = "empty parameter value";
				return SMTP_ERR_PARAM;
			}
		} else if (*p != ' ' && *p != '\0') {
			cmd->error = "bad parameter name";
			return SMTP_ERR_PARAM;
		}
		if (*p == ' ')
			*p++ = '\0';
		for (i = 0; i < cmd->nparams; i++)
			if (strcasecmp(cmd->params[i].key, key) == 0) {
				cmd->error = "parameter given twice";
				return SMTP_ERR_PARAM;
			}
		if (cmd->nparams == SMTP_MAX_PARAMS) {
			cmd->error = "too many parameters";
			return SMTP_ERR_PARAM;
		}
		cmd->params[cmd->nparams].key = key;
		cmd->params[cmd->nparams].value = val;
		cmd->nparams++;
	}
}

const struct smtp_param *
smtp_param_find(const struct smtp_cmd *cmd, const char *key)
{
	for (size_t i = 0; i < cmd->nparams; i++)
		if (strcasecmp(cmd->params[i].key, key) == 0)
			return &cmd->params[i];
	return NULL;
}

/* "FROM:" or "TO:" (any case), optional spaces, path, parameters. */
static enum smtp_error
parse_mail_rcpt(char *p, struct smtp_cmd *cmd, const char *kw)
{
	size_t n = strlen(kw);
	enum smtp_error e;

	if (strncasecmp(p, kw, n) != 0) {
		cmd->error = cmd->verb == SMTP_CMD_MAIL ? "expected MAIL FROM:<address>" :
		    "expected RCPT TO:<address>";
		return SMTP_ERR_SYNTAX;
	}
	p += n;
	while (*p == ' ')
		p++;
	if (*p == '\0') {
		cmd->error = "missing address";
		return SMTP_ERR_SYNTAX;
	}
	/* Non-ASCII is legal only inside the path and parameter values. */
	if ((e = parse_path(&p, cmd, cmd->verb == SMTP_CMD_MAIL)) != SMTP_OK)
		return e;
	return parse_params(p, cmd);
}

static enum smtp_error
parse_bdat(char *p, struct smtp_cmd *cmd)
{
	uint64_t v = 0;

	if (!is_digit((unsigned char)*p)) {
		cmd->error = "expected BDAT size [LAST]";
		return SMTP_ERR_SYNTAX;
	}
	for (; is_digit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX / 2 - 9) / 10) {
			cmd->error = "chunk size too large";
			return SMTP_ERR_SYNTAX;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	cmd->bdat_size = v;
	if (*p == '\0')
		return SMTP_OK;
	if (*p == ' ' && strcasecmp(p + 1, "LAST") == 0) {
		cmd->bdat_last = true;
		return SMTP_OK;
	}
	cmd->error = "expected BDAT size [LAST]";
	return SMTP_ERR_SYNTAX;
}

/* Checks the HELO/EHLO argument: one word of visible ASCII. Whether it
 * is a real domain is policy, not syntax (many clients send bare host
 * names); the Received: header escapes it anyway. */
static enum smtp_error
check_helo(const char *arg, struct smtp_cmd *cmd)
{
	size_t i, n = strlen(arg);

	if (n == 0) {
		cmd->error = "missing domain name";
		return SMTP_ERR_SYNTAX;
	}
	if (n > SMTP_DOMAIN_MAX) {
		cmd->error = "domain name too long";
		return SMTP_ERR_SYNTAX;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)arg[i] <= 32 || (unsigned char)arg[i] >= 127) {
			cmd->error = "invalid domain name";
			return SMTP_ERR_SYNTAX;
		}
	return SMTP_OK;
}

enum smtp_error
smtp_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	char *p, *rest, *e;
	size_t i, vlen;

	cmd->verb = SMTP_CMD_NONE;
	cmd->error = NULL;
	cmd->arg = cmd->addr = cmd->domain = "";
	cmd->null_path = cmd->postmaster = cmd->utf8 = false;
	cmd->nparams = 0;
	cmd->bdat_size = 0;
	cmd->bdat_last = false;
	if (len > SMTP_LINE_MAX - 2) {
		cmd->error = "line too long";
		return SMTP_ERR_SYNTAX;
	}
	memcpy(cmd->buf, line, len);
	cmd->buf[len] = '\0';

	/* The verb: everything up to the first space. */
	for (vlen = 0; vlen < len && line[vlen] != ' '; vlen++)
		;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == vlen &&
		    strncasecmp(line, verbs[i].name, vlen) == 0) {
			cmd->verb = verbs[i].verb;
			break;
		}
	if (cmd->verb == SMTP_CMD_NONE) {
		cmd->error = "command not recognized";
		return SMTP_ERR_UNKNOWN;
	}

	/* No command has a use for control characters or NULs. */
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 32 || line[i] == 127) {
			cmd->error = "control character in command";
			return SMTP_ERR_SYNTAX;
		}

	/* The rest, trimmed of spaces at both ends. */
	rest = cmd->buf + vlen;
	while (*rest == ' ')
		rest++;
	for (e = cmd->buf + len; e > rest && e[-1] == ' '; e--)
		;
	*e = '\0';
	p = rest;

	switch (cmd->verb) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		cmd->arg = p;
		return check_helo(p, cmd);
	case SMTP_CMD_MAIL:
		return parse_mail_rcpt(p, cmd, "FROM:");
	case SMTP_CMD_RCPT:
		return parse_mail_rcpt(p, cmd, "TO:");
	case SMTP_CMD_DATA:
	case SMTP_CMD_RSET:
	case SMTP_CMD_QUIT:
	case SMTP_CMD_STARTTLS:
		if (*p != '\0') {
			cmd->error = "no arguments allowed";
			return SMTP_ERR_SYNTAX;
		}
		return SMTP_OK;
	case SMTP_CMD_NOOP:
	case SMTP_CMD_HELP:
		cmd->arg = p;
		return SMTP_OK;
	case SMTP_CMD_VRFY:
	case SMTP_CMD_EXPN:
	case SMTP_CMD_AUTH:
		cmd->arg = p;
		if (*p == '\0') {
			cmd->error = "argument required";
			return SMTP_ERR_SYNTAX;
		}
		return SMTP_OK;
	case SMTP_CMD_BDAT:
		return parse_bdat(p, cmd);
	default:
		break;
	}
	cmd->error = "command not recognized";
	return SMTP_ERR_UNKNOWN;
}
