/* SPDX-License-Identifier: ISC */
/* The shared text escaper (see textesc.h): one pass, bounded, no
 * allocation, so that the log can use it from fatalx(). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "textesc.h"
#include "utf8.h"

static const char hex[] = "0123456789abcdef";

static size_t
escape(char *dst, size_t dstlen, const char *src, size_t srclen, bool json)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, k, j, addlen;
	char esc[4 * 4];
	const char *add;
	uint32_t cp;
	bool bad;

	if (dstlen == 0)
		return 0;
	while (i < srclen) {
		cp = s[i];
		k = 1;
		bad = false;
		if (cp >= 0x80 && (k = utf8_decode(&s[i], srclen - i, &cp)) == 0) {
			k = 1;
			bad = true;
		}
		add = esc;
		if (json && (cp == '"' || cp == '\\')) {
			esc[0] = '\\';
			esc[1] = (char)cp;
			addlen = 2;
		} else if (!bad && cp >= 0x20 && cp != 0x7f &&
		    !(cp >= 0x80 && cp < 0xa0)) {
			add = (const char *)&s[i];     /* kept as it is */
			addlen = k;
		} else if (json && bad) {
			add = "\\ufffd";
			addlen = 6;
		} else if (json) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[cp >> 4];
			esc[5] = hex[cp & 0xf];
			addlen = 6;
		} else {
			/* Each octet (two for a C1 control) as \xHH. */
			for (j = 0; j < k; j++) {
				esc[4 * j] = '\\';
				esc[4 * j + 1] = 'x';
				esc[4 * j + 2] = hex[s[i + j] >> 4];
				esc[4 * j + 3] = hex[s[i + j] & 0xf];
			}
			addlen = 4 * k;
		}
		if (o + addlen >= dstlen)
			break;
		memcpy(dst + o, add, addlen);
		o += addlen;
		i += k;
	}
	dst[o] = '\0';
	return i;
}

size_t
text_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	return escape(dst, dstlen, src, srclen, false);
}

size_t
text_escape_json(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	return escape(dst, dstlen, src, srclen, true);
}
