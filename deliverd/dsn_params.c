/* SPDX-License-Identifier: ISC */
/* RFC 3461 DSN parameters for the next hop (see dsn_params.h). Values
 * come from the queue, decoded; every byte is encoded again here, so a
 * stored value can never break the command line. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dsn_params.h"
#include "smtp.h"
#include "utf8.h"

static const char hex[] = "0123456789ABCDEF";

int
dsn_xtext_encode(const char *in, char *out, size_t outlen)
{
	size_t n = 0;
	unsigned char c;

	if (outlen == 0)
		return -1;
	for (; (c = (unsigned char)*in) != '\0'; in++) {
		if (c >= 33 && c <= 126 && c != '+' && c != '=') {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = (char)c;
			continue;
		}
		if (n + 3 >= outlen)
			return -1;
		out[n++] = '+';
		out[n++] = hex[c >> 4];
		out[n++] = hex[c & 0xf];
	}
	out[n] = '\0';
	return (int)n;
}

int
dsn_utf8_xtext_encode(const char *in, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = 0, avail = strlen(in), u;
	uint32_t cp;
	char esc[16];
	int k;

	if (outlen == 0)
		return -1;
	while (avail > 0) {
		if ((u = utf8_decode(s, avail, &cp)) == 0)
			return -1;
		if (u == 1 && *s >= 33 && *s <= 126 && *s != '+' && *s != '=' &&
		    *s != '\\') {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = (char)*s;
		} else {
			k = snprintf(esc, sizeof(esc), "\\x{%" PRIX32 "}", cp);
			if (k < 0 || n + (size_t)k >= outlen)
				return -1;
			memcpy(out + n, esc, (size_t)k);
			n += (size_t)k;
		}
		s += u;
		avail -= u;
	}
	out[n] = '\0';
	return (int)n;
}

static bool
ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* A stored "type;address" fit to pass on: the type an atom of letters,
 * digits and "-" (RFC 3461 4.2 addr-type; the registered ones are such),
 * the address without controls. It came from another daemon: hostile. */
static bool
orcpt_ok(const char *orcpt, const char *semi)
{
	const char *p;

	if (semi == NULL || semi == orcpt || semi - orcpt > DSN_ORCPT_TYPE_MAX)
		return false;
	for (p = orcpt; p < semi; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	for (p = semi + 1; *p != '\0'; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			return false;
	return true;
}

int
dsn_orcpt_value(const char *orcpt, const char *addr, char *out, size_t outlen)
{
	const char *semi = orcpt != NULL ? strchr(orcpt, ';') : NULL;
	size_t tlen;
	int r;

	if (!orcpt_ok(orcpt, semi)) {
		/* None stored (or unusable): the recipient as given. */
		if (addr == NULL || *addr == '\0')
			return -1;
		if (ascii(addr)) {
			if (outlen < 8)
				return -1;
			memcpy(out, "rfc822;", 7);
			r = dsn_xtext_encode(addr, out + 7, outlen - 7);
			return r <= 0 ? -1 : r + 7;
		}
		if (outlen < 7)
			return -1;
		memcpy(out, "utf-8;", 6);
		r = dsn_utf8_xtext_encode(addr, out + 6, outlen - 6);
		return r <= 0 ? -1 : r + 6;
	}
	tlen = (size_t)(semi - orcpt);
	if (tlen + 2 > outlen)
		return -1;
	/* The type is an atom (orcpt_ok); the address is encoded. */
	memcpy(out, orcpt, tlen + 1);
	if (tlen == 5 && strncasecmp(orcpt, "utf-8", 5) == 0)
		r = dsn_utf8_xtext_encode(semi + 1, out + tlen + 1,
		    outlen - tlen - 1);
	else
		r = dsn_xtext_encode(semi + 1, out + tlen + 1, outlen - tlen - 1);
	return r <= 0 ? -1 : (int)tlen + 1 + r;
}

/* Append s to out if the line stays short enough. */
static void
append(char *out, size_t outlen, size_t *n, size_t used, const char *s)
{
	size_t len = strlen(s);

	/* used + what is there + s + CRLF < DSN_LINE_MAX */
	if (used + *n + len + 2 >= DSN_LINE_MAX || *n + len >= outlen)
		return;
	memcpy(out + *n, s, len + 1);
	*n += len;
}

int
dsn_mail_params(const struct envelope *env, size_t used, char *out,
    size_t outlen)
{
	char buf[DSN_LINE_MAX];
	size_t n = 0;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (env->ret == DSN_RET_FULL)
		append(out, outlen, &n, used, " RET=FULL");
	else if (env->ret == DSN_RET_HDRS)
		append(out, outlen, &n, used, " RET=HDRS");
	if (env->envid != NULL && env->envid[0] != '\0') {
		memcpy(buf, " ENVID=", 7);
		if (dsn_xtext_encode(env->envid, buf + 7, sizeof(buf) - 7) > 0)
			append(out, outlen, &n, used, buf);
	}
	return (int)n;
}

int
dsn_rcpt_params(const struct env_rcpt *r, size_t used, char *out,
    size_t outlen)
{
	char buf[DSN_LINE_MAX];
	size_t n = 0;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (r->notify & DSN_NOTIFY_NEVER)
		append(out, outlen, &n, used, " NOTIFY=NEVER");
	else if (r->notify != 0) {
		static const struct {
			uint32_t bit;
			const char *name;
		} kw[] = {
			{ DSN_NOTIFY_SUCCESS, "SUCCESS" },
			{ DSN_NOTIFY_FAILURE, "FAILURE" },
			{ DSN_NOTIFY_DELAY, "DELAY" },
		};
		size_t i, k = 0;

		strlcpy(buf, " NOTIFY=", sizeof(buf));
		for (i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
			if (r->notify & kw[i].bit) {
				if (k++ > 0)
					strlcat(buf, ",", sizeof(buf));
				strlcat(buf, kw[i].name, sizeof(buf));
			}
		if (k > 0)
			append(out, outlen, &n, used, buf);
	}
	memcpy(buf, " ORCPT=", 7);
	if (dsn_orcpt_value(r->orcpt, r->addr, buf + 7, sizeof(buf) - 7) > 0)
		append(out, outlen, &n, used, buf);
	return (int)n;
}
