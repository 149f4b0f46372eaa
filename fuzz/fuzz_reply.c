/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for deliverd's SMTP reply parser (deliverd/reply.c):
 * the bytes a remote SMTP server sends. The input is cut into lines at
 * LF (a CR before it is dropped, as the line reader does) and fed in
 * order; each line is also read as an EHLO keyword line and a
 * diagnostic. Asserted: the summary stays NUL-terminated, bounded and
 * printable (no control, only well-formed UTF-8 past ASCII, no C1
 * control); codes are in range; the DSN status is well formed. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "textesc.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reply(const struct smtp_reply *r)
{
	const unsigned char *t = (const unsigned char *)r->text;
	size_t i, k;
	uint32_t cp;

	assert(r->text_len < sizeof(r->text));
	assert(strlen(r->text) == r->text_len);
	for (i = 0; t[i] != '\0'; i += k) {
		k = 1;
		if (t[i] < 0x80) {
			assert(t[i] >= 0x20 && t[i] != 0x7f);
			continue;
		}
		k = utf8_decode(t + i, r->text_len - i, &cp);
		assert(k > 0 && cp > 0x9f);
	}
	assert(memchr(r->esc, '\0', sizeof(r->esc)) != NULL);
	if (r->nlines > 0)
		assert(r->code >= 200 && r->code <= 559);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	struct smtp_caps caps;
	char *line, dsn[32];
	const char *s;
	size_t off = 0, len, n;
	int cls;

	reply_init(&r);
	memset(&caps, 0, sizeof(caps));
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);

		len = nl ? (size_t)(nl - (data + off)) : size - off;
		n = len > 0 && data[off + len - 1] == '\r' ? len - 1 : len;
		/* A private copy so ASan sees reads past the line. */
		line = malloc(n ? n : 1);
		memcpy(line, data + off, n);
		if (reply_feed(&r, line, n) != REPLY_BAD) {
			check_reply(&r);
			assert(r.line_len <= n);
			caps_parse_line(&caps, r.line, r.line_len);
		} else
			reply_init(&r);
		free(line);
		off += len + (nl != NULL);
	}
	/* The summary as a diagnostic, and the raw input too. */
	for (cls = 2; cls <= 5; cls += cls == 2 ? 2 : 1) {
		s = reply_dsn(r.text, cls, dsn, sizeof(dsn));
		assert(s == dsn && strlen(dsn) < sizeof(dsn) && dsn[0] == '0' + cls);
	}
	line = malloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';
	s = reply_dsn(line, 4, dsn, sizeof(dsn));
	assert(dsn[0] == '4' && dsn[1] == '.');
	free(line);
	return 0;
}
