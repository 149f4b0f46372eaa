/* SPDX-License-Identifier: ISC */
/* Reading a drop file's envelope (see dropfile.h). The file was written
 * by a local user, who may have written anything: every line is bounded
 * before it is looked at, and an address is taken only when smtpd would
 * have taken it in the same place (smtp_parse() of the MAIL or RCPT
 * command it would make), as a bare addr-spec: no source route, no
 * parameter, no <postmaster> without a domain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropfile.h"
#include "smtp.h"
#include "util.h"

/* The longest envelope line: "S " or "R ", an address, LF. */
#define LINE_MAX_OCTETS (2 + DROP_ADDR_MAX + 1)

static int
fail(char *err, size_t errlen, const char *why)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s", why);
	return -1;
}

/* Is a (n octets, no NUL) an address smtpd accepts as the path of MAIL
 * FROM (sender) or RCPT TO, written bare? why names the fault. */
static bool
addr_ok(const char *a, size_t n, bool sender, const char **why)
{
	struct smtp_cmd cmd;
	char line[SMTP_LINE_MAX];
	const char *verb = sender ? "MAIL FROM:<" : "RCPT TO:<";
	size_t i, vlen = strlen(verb);

	if (n > DROP_ADDR_MAX) {
		*why = "address too long";
		return false;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f) {
			*why = "control character in an address";
			return false;
		}
	if (n == 0) {
		*why = "empty recipient";
		return sender;
	}
	/* Fits: vlen + DROP_ADDR_MAX + 1 < SMTP_LINE_MAX - 2. */
	memcpy(line, verb, vlen);
	memcpy(line + vlen, a, n);
	line[vlen + n] = '>';
	if (smtp_parse(line, vlen + n + 1, &cmd) != SMTP_OK) {
		*why = cmd.error != NULL ? cmd.error : "bad address";
		return false;
	}
	/* What smtpd would have kept must be all that was written: a '>'
	 * inside would have ended the path early (then parameters follow),
	 * a source route would have been dropped. */
	if (cmd.nparams != 0 || cmd.null_path || strlen(cmd.addr) != n ||
	    memcmp(cmd.addr, a, n) != 0) {
		*why = "not a bare address";
		return false;
	}
	if (cmd.postmaster) {
		*why = "address without a domain";
		return false;
	}
	return true;
}

int
dropfile_parse(const char *buf, size_t len, struct drop_env *env,
    size_t *body, char *err, size_t errlen)
{
	const size_t mlen = sizeof(DROP_MAGIC) - 1;
	const char *why = NULL, *what = NULL;
	bool have_sender = false;
	size_t off, cap = 0;

	memset(env, 0, sizeof(*env));
	*body = 0;
	if (len < mlen || memcmp(buf, DROP_MAGIC, mlen) != 0)
		return fail(err, errlen, "not a drop file (no EMPATH-DROP 1 line)");
	for (off = mlen;;) {
		const char *line = buf + off, *nl;
		size_t n, window = len - off;

		if (window == 0) {
			why = "the envelope does not end (no empty line)";
			break;
		}
		if (window > LINE_MAX_OCTETS)
			window = LINE_MAX_OCTETS;
		if ((nl = memchr(line, '\n', window)) == NULL) {
			why = window == LINE_MAX_OCTETS ? "envelope line too long" :
			    "the envelope does not end (no empty line)";
			break;
		}
		n = (size_t)(nl - line);
		off += n + 1;
		if (memchr(line, '\0', n) != NULL) {
			why = "NUL in the envelope";
			break;
		}
		if (n == 0) {
			if (!have_sender)
				why = "no sender";
			else if (env->nrcpts == 0)
				why = "no recipient";
			else {
				*body = off;
				return 0;
			}
			break;
		}
		if (n < 2 || line[1] != ' ' || (line[0] != 'S' && line[0] != 'R')) {
			why = "unknown envelope line";
			break;
		}
		if (line[0] == 'S') {
			if (have_sender) {
				why = "more than one sender";
				break;
			}
			if (env->nrcpts > 0) {
				why = "the sender after a recipient";
				break;
			}
			if (!addr_ok(line + 2, n - 2, true, &why)) {
				what = "sender";
				break;
			}
			env->sender = xcalloc(1, n - 1);
			memcpy(env->sender, line + 2, n - 2);
			have_sender = true;
			continue;
		}
		if (!have_sender) {
			why = "a recipient before the sender";
			break;
		}
		if (env->nrcpts == DROP_RCPT_MAX) {
			why = "too many recipients";
			break;
		}
		if (!addr_ok(line + 2, n - 2, false, &why)) {
			what = "recipient";
			break;
		}
		if (env->nrcpts == cap) {
			cap = cap ? cap * 2 : 8;
			env->rcpts = xreallocarray(env->rcpts, cap,
			    sizeof(*env->rcpts));
		}
		env->rcpts[env->nrcpts] = xcalloc(1, n - 1);
		memcpy(env->rcpts[env->nrcpts], line + 2, n - 2);
		env->nrcpts++;
	}
	drop_env_free(env);
	if (what != NULL && errlen > 0) {
		snprintf(err, errlen, "%s: %s", what, why);
		return -1;
	}
	return fail(err, errlen, why);
}

void
drop_env_free(struct drop_env *env)
{
	size_t i;

	free(env->sender);
	for (i = 0; i < env->nrcpts; i++)
		free(env->rcpts[i]);
	free(env->rcpts);
	memset(env, 0, sizeof(*env));
}

bool
dropfile_name_ok(const char *name)
{
	size_t i;

	for (i = 0; i < DROP_NAME_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return name[DROP_NAME_LEN] == '\0';
}
