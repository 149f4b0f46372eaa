/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for the SMTP command parser (lib/smtp.c) and the DSN
 * parameter decoders (lib/smtp_dsn.c). Besides the sanitizers' checks it
 * asserts what smtpd relies on:
 *   - every string of a parsed command lies inside the command's buffer;
 *   - a path is at most SMTP_PATH_MAX octets and holds no control
 *     character; without the utf8 flag it is plain ASCII;
 *   - an accepted mailbox parses again, alone in "<...>", to itself;
 *   - decoded DSN values hold no control character and fit.
 * Build and run with `make fuzz` (see the Makefile). */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "smtp.h"

static void
inside(const struct smtp_cmd *c, const char *s)
{
	/* "" literals are allowed for absent values. */
	if (s[0] == '\0')
		return;
	assert(s >= c->buf && s < c->buf + sizeof(c->buf));
	assert(s + strlen(s) < c->buf + sizeof(c->buf));
}

static void
no_controls(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert((unsigned char)s[i] >= 32 && s[i] != 127);
}

static void
check_params(const struct smtp_cmd *c)
{
	char out[SMTP_ORCPT_MAX + 1];
	uint32_t bits;
	int n;

	for (size_t i = 0; i < c->nparams; i++) {
		const char *v = c->params[i].value;

		inside(c, c->params[i].key);
		if (v == NULL)
			continue;
		inside(c, v);
		if ((n = smtp_xtext_decode(v, out, sizeof(out))) >= 0) {
			assert((size_t)n == strlen(out) && (size_t)n < sizeof(out));
			no_controls(out, (size_t)n);
		}
		if ((n = smtp_dsn_orcpt(v, c->utf8, out, sizeof(out))) >= 0) {
			assert((size_t)n == strlen(out) && strchr(out, ';') != NULL);
			no_controls(out, (size_t)n);
		}
		if (smtp_dsn_notify(v, &bits) == 0)
			assert(bits != 0 && (bits == 1 || !(bits & 1)) && bits < 16);
		n = smtp_dsn_ret(v);
		assert(n == -1 || n == 1 || n == 2);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_cmd cmd, again;
	char line[SMTP_LINE_MAX + 8];
	enum smtp_error e;
	size_t alen;
	int n;

	e = smtp_parse((const char *)data, size, &cmd);
	if (size > SMTP_LINE_MAX - 2) {
		assert(e != SMTP_OK);
		return 0;
	}
	if (e != SMTP_OK) {
		assert(cmd.error != NULL);
		return 0;
	}
	inside(&cmd, cmd.arg);
	check_params(&cmd);
	if (cmd.verb == SMTP_CMD_BDAT)
		assert(cmd.bdat_size < UINT64_MAX / 2);
	if (cmd.verb != SMTP_CMD_MAIL && cmd.verb != SMTP_CMD_RCPT)
		return 0;
	inside(&cmd, cmd.addr);
	inside(&cmd, cmd.domain);
	alen = strlen(cmd.addr);
	assert(alen + 2 <= SMTP_PATH_MAX);
	no_controls(cmd.addr, alen);
	if (!cmd.utf8)
		for (size_t i = 0; i < alen; i++)
			assert((unsigned char)cmd.addr[i] < 0x80);
	if (cmd.null_path) {
		assert(alen == 0 && cmd.verb == SMTP_CMD_MAIL);
		return 0;
	}
	if (cmd.postmaster)
		return 0;
	assert(cmd.domain >= cmd.addr && cmd.domain <= cmd.addr + alen);
	/* The mailbox, alone, parses to itself. */
	n = snprintf(line, sizeof(line), "RCPT TO:<%s>", cmd.addr);
	assert(n > 0 && (size_t)n < sizeof(line));
	e = smtp_parse(line, (size_t)n, &again);
	assert(e == SMTP_OK);
	assert(strcmp(again.addr, cmd.addr) == 0);
	assert(again.utf8 == cmd.utf8);
	return 0;
}
