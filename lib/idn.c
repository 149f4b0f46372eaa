/* SPDX-License-Identifier: ISC */
/* IDNA2008 conversions on top of libidn2 (see idn.h). Every result is
 * copied into the caller's bounded buffer; libidn2's allocations never
 * escape this file. */
#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include "idn.h"

bool
idn_non_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* Copy s (len octets) lower-cased, without one trailing dot. */
static int
put_lower(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len >= outlen)
		return -1;
	for (i = 0; i < len; i++) {
		char c = s[i];

		out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[len] = '\0';
	return 0;
}

/* LDH labels of 1..63 octets, no hyphen at either end. */
static bool
ldh_valid(const char *s)
{
	size_t label = 0;
	char prev = '.';

	for (; *s != '\0'; prev = *s++) {
		char c = *s;

		if (c == '.') {
			if (label == 0 || prev == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-') || (c == '-' && label == 0) || ++label > 63)
			return false;
	}
	return label > 0 && prev != '-';
}

int
idn_to_ascii(const char *domain, char *out, size_t outlen)
{
	char *res = NULL;
	int rc;

	if (outlen > 0)
		out[0] = '\0';
	if (domain == NULL || outlen == 0 || strlen(domain) >= IDN_DOMAIN_MAX)
		return -1;
	if (!idn_non_ascii(domain)) {
		/* An A-label must itself decode (xn--zz is not a name). */
		if (put_lower(domain, strlen(domain), out, outlen) == -1 ||
		    !ldh_valid(out))
			goto bad;
		if (strstr(out, "xn--") != NULL &&
		    idn2_to_unicode_8z8z(out, &res, 0) != IDN2_OK)
			goto bad;
		free(res);
		return 0;
	}
	/* Non-transitional UTS #46 mapping (upper case folds, NFC) and then
	 * the IDNA2008 rules; the same choice as current browsers. */
	rc = idn2_lookup_u8((const uint8_t *)domain, (uint8_t **)&res,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK || put_lower(res, strlen(res), out, outlen) == -1 ||
	    !ldh_valid(out)) {
		free(res);
		goto bad;
	}
	free(res);
	return 0;
bad:
	out[0] = '\0';
	return -1;
}

int
idn_to_utf8(const char *domain, char *out, size_t outlen)
{
	char ascii[IDN_DOMAIN_MAX], *res = NULL;

	if (idn_to_ascii(domain, ascii, sizeof(ascii)) == -1)
		goto bad;
	if (idn2_to_unicode_8z8z(ascii, &res, 0) != IDN2_OK ||
	    strlen(res) >= outlen) {
		free(res);
		goto bad;
	}
	memcpy(out, res, strlen(res) + 1);
	free(res);
	return 0;
bad:
	if (outlen > 0)
		out[0] = '\0';
	return -1;
}

bool
idn_equal(const char *a, const char *b)
{
	char x[IDN_DOMAIN_MAX], y[IDN_DOMAIN_MAX];

	return idn_to_ascii(a, x, sizeof(x)) == 0 &&
	    idn_to_ascii(b, y, sizeof(y)) == 0 && strcmp(x, y) == 0;
}
