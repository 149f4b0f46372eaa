/* SPDX-License-Identifier: ISC */
/* SMTP command-line syntax (RFC 5321 §4.1, RFC 6531 for UTF-8 paths):
 * verb recognition, MAIL/RCPT paths and ESMTP parameters. Pure code, no
 * I/O: the server decides what each result means for the session. */
#ifndef EMPATH_SMTP_H
#define EMPATH_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_LINE_MAX      512     /* a command line, CRLF included */
#define SMTP_LOCAL_MAX     64      /* octets of a local part */
#define SMTP_DOMAIN_MAX    255     /* octets of a domain */
#define SMTP_LABEL_MAX     63      /* octets of one domain label */
#define SMTP_PATH_MAX      256     /* octets of a path, "<" and ">" included */
#define SMTP_TEXT_LINE_MAX 998     /* RFC 5322 line, CRLF excluded */
#define SMTP_MAX_PARAMS    16      /* ESMTP parameters on one MAIL/RCPT */

enum smtp_verb {
	SMTP_CMD_NONE = 0,             /* not recognised */
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_HELP,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_BDAT,
	SMTP_CMD_AUTH,
	SMTP_CMD_COUNT
};

/* What went wrong, precise enough to choose the reply:
 *   SMTP_ERR_UNKNOWN   500 5.5.2 (empty line, unknown verb)
 *   SMTP_ERR_SYNTAX    501 5.5.4 (missing or extra arguments, no FROM:,
 *                      control characters, malformed BDAT size)
 *   SMTP_ERR_ADDRESS   bad path syntax: 501 5.1.7 for MAIL, 553 5.1.3 for
 *                      RCPT
 *   SMTP_ERR_TOOLONG   local part, domain, label or path over its limit:
 *                      the same codes as SMTP_ERR_ADDRESS
 *   SMTP_ERR_PARAM     malformed or repeated ESMTP parameter, too many:
 *                      501 5.5.4
 * cmd->error then holds a short description for the reply text. */
enum smtp_error {
	SMTP_OK = 0,
	SMTP_ERR_UNKNOWN,
	SMTP_ERR_SYNTAX,
	SMTP_ERR_ADDRESS,
	SMTP_ERR_TOOLONG,
	SMTP_ERR_PARAM
};

struct smtp_param {
	const char *key;               /* as written; compare case-insensitively */
	const char *value;             /* NULL when the parameter has no "=" */
};

/* A parsed command. Every string points into buf, so a smtp_cmd is
 * self-contained (and about 1 KiB: keep it on the stack, briefly). */
struct smtp_cmd {
	enum smtp_verb verb;
	const char *error;             /* detail when smtp_parse() fails */
	/* HELO/EHLO name, VRFY/EXPN/HELP/NOOP/AUTH argument: trimmed, "" when
	 * absent. */
	const char *arg;
	/* MAIL and RCPT: the mailbox without "<>" and without a source
	 * route; "" for the null path. domain points after the '@' (into
	 * addr), "" for <> and for the bare <postmaster> of RCPT. */
	const char *addr;
	const char *domain;
	bool null_path;                /* MAIL FROM:<> */
	bool postmaster;               /* RCPT TO:<postmaster>, no domain */
	bool utf8;                     /* non-ASCII in the path (SMTPUTF8) */
	size_t nparams;
	struct smtp_param params[SMTP_MAX_PARAMS];
	/* BDAT */
	uint64_t bdat_size;
	bool bdat_last;
	char buf[SMTP_LINE_MAX + 1];
};

/* Parse one command line given without its CRLF. Returns SMTP_OK or the
 * error kind; cmd->verb is set whenever the verb was recognised, even on
 * a later error, so the server can answer in context. */
enum smtp_error smtp_parse(const char *line, size_t len, struct smtp_cmd *cmd);

/* "MAIL", "RCPT", ... ("?" for SMTP_CMD_NONE). */
const char *smtp_verb_name(enum smtp_verb);

/* The parameter named key (case-insensitive), or NULL. */
const struct smtp_param *smtp_param_find(const struct smtp_cmd *, const char *key);

/* Syntax checks on their own, for HELO names, parameters and tests:
 * a domain (dot-separated LDH labels, or when utf8 also U-labels, the
 * whole then a valid IDNA2008 name as idn_to_ascii() judges), and an
 * address literal "[192.0.2.1]" / "[IPv6:2001:db8::1]". */
bool smtp_domain_valid(const char *s, size_t len, bool utf8);
bool smtp_addr_literal_valid(const char *s, size_t len);


/* ---- RFC 3461 DSN parameters (lib/smtp_dsn.c) ----
 * Every decoder refuses what could not be written safely into a delivery
 * status notification later: control characters (CR, LF, NUL, ...) after
 * decoding. Values are decoded into out (NUL-terminated); each returns
 * the decoded length, or -1 when the value is malformed or does not fit. */
#define SMTP_ENVID_MAX  100        /* octets of the ENVID xtext */
#define SMTP_ORCPT_MAX  500        /* octets of the ORCPT value */
/* xtext: printable ASCII but "+" and "=", and "+" HEX HEX. */
int  smtp_xtext_decode(const char *in, char *out, size_t outlen);
/* NOTIFY=NEVER or a comma list of SUCCESS, FAILURE, DELAY (any case, each
 * once): the DSN_NOTIFY_* bits of envelope.h, or -1. */
int  smtp_dsn_notify(const char *value, uint32_t *bits);
/* RET=FULL or HDRS: DSN_RET_FULL, DSN_RET_HDRS, or -1. */
int  smtp_dsn_ret(const char *value);
/* ORCPT=addr-type;address, liberally (RFC 3461 §4.2: informational).
 * Every type takes xtext, "+" HEX HEX for any octet, and raw UTF-8;
 * "utf-8" (RFC 6533 §3) takes \x{HEX} escapes too. The decoded address
 * must be valid UTF-8 without control characters. out receives
 * "type;decoded address" with the type as given, except that an rfc822
 * address with non-ASCII becomes "utf-8;address". utf8 (SMTPUTF8 given)
 * no longer changes what is accepted. */
int  smtp_dsn_orcpt(const char *value, bool utf8, char *out, size_t outlen);

#endif
