/* SPDX-License-Identifier: ISC */
/* RFC 3461 DSN parameter values (see smtp.h): xtext, NOTIFY, RET and
 * ORCPT, with RFC 6533's utf-8 address type. Pure code, no allocation:
 * the caller gives the output buffer. */
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "smtp.h"
#include "utf8.h"

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
smtp_xtext_decode(const char *in, char *out, size_t outlen)
{
	size_t n = 0;
	int hi, lo;
	unsigned char c;

	if (outlen == 0)
		return -1;
	while ((c = (unsigned char)*in) != '\0') {
		if (c == '+') {
			if ((hi = hexval((unsigned char)in[1])) < 0 ||
			    (lo = hexval((unsigned char)in[2])) < 0)
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			/* Decoded text goes into DSN headers: no controls. */
			if (c < 32 || c > 126)
				return -1;
			in += 3;
		} else if (c < 33 || c > 126 || c == '=')
			return -1;
		else
			in++;
		if (n + 1 >= outlen)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (int)n;
}

int
smtp_dsn_notify(const char *value, uint32_t *bits)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} kw[] = {
		{ "NEVER", DSN_NOTIFY_NEVER }, { "SUCCESS", DSN_NOTIFY_SUCCESS },
		{ "FAILURE", DSN_NOTIFY_FAILURE }, { "DELAY", DSN_NOTIFY_DELAY },
	};
	const char *p = value, *e;
	uint32_t b = 0;
	size_t i, n;

	if (value == NULL || *value == '\0')
		return -1;
	for (;;) {
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		for (i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
			if (strlen(kw[i].name) == n && strncasecmp(p, kw[i].name, n) == 0)
				break;
		if (i == sizeof(kw) / sizeof(kw[0]) || (b & kw[i].bit))
			return -1;
		b |= kw[i].bit;
		if (e == NULL)
			break;
		p = e + 1;
	}
	/* NEVER stands alone (RFC 3461 §4.1). */
	if ((b & DSN_NOTIFY_NEVER) && b != DSN_NOTIFY_NEVER)
		return -1;
	*bits = b;
	return 0;
}

int
smtp_dsn_ret(const char *value)
{
	if (value == NULL)
		return -1;
	if (strcasecmp(value, "FULL") == 0)
		return DSN_RET_FULL;
	if (strcasecmp(value, "HDRS") == 0)
		return DSN_RET_HDRS;
	return -1;
}

static bool
orcpt_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Append the UTF-8 encoding of cp; -1 when it does not fit or is no
 * character. */
static int
put_utf8(uint32_t cp, char *out, size_t *n, size_t outlen)
{
	unsigned char b[4];
	size_t k;

	if ((k = utf8_encode(cp, b)) == 0 || *n + k >= outlen)
		return -1;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}

/* Whether the decoded address may go into a DSN field: valid UTF-8
 * without C0 or C1 controls or DEL (RFC 6533 §3 excludes them; a CR or
 * LF would end the field). */
static bool
orcpt_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, u;

	while (i < len) {
		if (p[i] < 32 || p[i] == 127)
			return false;
		if ((u = utf8_decode(p + i, len - i, NULL)) == 0)
			return false;
		/* U+0080..U+009F: C2 80..C2 9F */
		if (u == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			return false;
		i += u;
	}
	return true;
}

/* An ORCPT address: xtext ("+" HEX HEX, any octet), and for the utf-8
 * type RFC 6533's \x{HEX} escapes. Raw UTF-8 is taken for any type:
 * utf-8-addr-unitext, and what some clients send under SMTPUTF8 as
 * rfc822. The octets are checked as a whole afterwards (orcpt_text_ok),
 * so an xtext-encoded UTF-8 sequence decodes like a raw one. */
static int
orcpt_addr_decode(const char *in, bool utf8type, char *out, size_t outlen)
{
	size_t n = 0, k;
	uint32_t cp;
	unsigned char c;
	int hi, lo, v;

	while ((c = (unsigned char)*in) != '\0') {
		if (c == '+') {
			if ((hi = hexval((unsigned char)in[1])) < 0 ||
			    (lo = hexval((unsigned char)in[2])) < 0)
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			in += 3;
		} else if (c == '\\' && utf8type) {
			if (in[1] != 'x' || in[2] != '{')
				return -1;
			cp = 0;
			for (k = 3; in[k] != '}'; k++) {
				if ((v = hexval((unsigned char)in[k])) < 0 || k > 8)
					return -1;
				cp = cp * 16 + (uint32_t)v;
			}
			if (k == 3 || put_utf8(cp, out, &n, outlen) == -1)
				return -1;
			in += k + 1;
			continue;
		} else if (c < 33 || c == '=' || c == 127)
			return -1;
		else
			in++;
		if (n + 1 >= outlen)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	if (!orcpt_text_ok(out, n))
		return -1;
	return (int)n;
}

int
smtp_dsn_orcpt(const char *value, bool utf8, char *out, size_t outlen)
{
	const char *semi;
	size_t tlen, i;
	bool utf8type;
	int r;

	/* Raw UTF-8 is liberally taken with or without SMTPUTF8 (an
	 * informational parameter, RFC 3461 §4.2). */
	(void)utf8;
	if (value == NULL || strlen(value) > SMTP_ORCPT_MAX ||
	    (semi = strchr(value, ';')) == NULL)
		return -1;
	tlen = (size_t)(semi - value);
	if (tlen == 0 || tlen + 2 > outlen)
		return -1;
	for (i = 0; i < tlen; i++) {
		unsigned char c = (unsigned char)value[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return -1;
	}
	utf8type = tlen == 5 && strncasecmp(value, "utf-8", 5) == 0;
	memcpy(out, value, tlen + 1);
	r = orcpt_addr_decode(semi + 1, utf8type, out + tlen + 1,
	    outlen - tlen - 1);
	if (r <= 0)
		return -1;
	/* A non-ASCII rfc822 address is a utf-8 one (RFC 6533 §3): the
	 * form queued's notices and deliverd expect. "utf-8;" is shorter
	 * than "rfc822;", so it fits where the original did. */
	if (tlen == 6 && strncasecmp(value, "rfc822", 6) == 0 &&
	    !orcpt_ascii(out + tlen + 1)) {
		memmove(out + 6, out + tlen + 1, (size_t)r + 1);
		memcpy(out, "utf-8;", 6);
		return 6 + r;
	}
	return (int)tlen + 1 + r;
}
