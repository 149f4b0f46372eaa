/* RFC 3461 DSN parameter values (see smtp.h): xtext, NOTIFY, RET and
 * ORCPT, with RFC 6533's utf-8 address type. Pure code, no allocation:
 * the caller gives the output buffer. */
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "smtp.h"

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

/* Append the UTF-8 encoding of cp; -1 when it does not fit or is no
 * character. */
static int
put_utf8(uint32_t cp, char *out, size_t *n, size_t outlen)
{
	unsigned char b[4];
	size_t k;

	if (cp < 0x80)
		b[0] = (unsigned char)cp, k = 1;
	else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			return -1;
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 3;
	} else if (cp <= 0x10ffff) {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 4;
	} else
		return -1;
	if (*n + k >= outlen)
		return -1;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}

/* RFC 6533 utf-8-addr-xtext / utf-8-addr-unitext. */
static int
utf8_addr_decode(const char *in, bool utf8, char *out, size_t outlen)
{
	size_t n = 0, u, k;
	uint32_t cp;
	unsigned char c;
	int v;

	while ((c = (unsigned char)*in) != '\0') {
		if (c == '\\') {
			if (in[1] != 'x' || in[2] != '{')
				return -1;
			cp = 0;
			for (k = 3; in[k] != '}'; k++) {
				if ((v = hexval((unsigned char)in[k])) < 0 || k > 8)
					return -1;
				cp = cp * 16 + (uint32_t)v;
			}
			if (k == 3 || cp < 32 || cp == 127 ||
			    put_utf8(cp, out, &n, outlen) == -1)
				return -1;
			in += k + 1;
			continue;
		}
		if (c >= 0x80) {
			if (!utf8 || (u = smtp_utf8_len((const unsigned char *)in,
			    strnlen(in, 4))) == 0)
				return -1;
		} else if (c < 33 || c > 126 || c == '+' || c == '=')
			return -1;
		else
			u = 1;
		if (n + u >= outlen)
			return -1;
		memcpy(out + n, in, u);
		n += u;
		in += u;
	}
	out[n] = '\0';
	return (int)n;
}

int
smtp_dsn_orcpt(const char *value, bool utf8, char *out, size_t outlen)
{
	const char *semi;
	size_t tlen, i;
	int r;

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
	memcpy(out, value, tlen + 1);
	if (tlen == 5 && strncasecmp(value, "utf-8", 5) == 0)
		r = utf8_addr_decode(semi + 1, utf8, out + tlen + 1,
		    outlen - tlen - 1);
	else
		r = smtp_xtext_decode(semi + 1, out + tlen + 1, outlen - tlen - 1);
	if (r <= 0)
		return -1;
	return (int)tlen + 1 + r;
}
