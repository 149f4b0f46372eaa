/* SPDX-License-Identifier: ISC */
/* Measuring a message as it will be stored (msgcheck.h). */
#include <string.h>
#include <strings.h>

#include "msgcheck.h"

bool
msgcheck_is_received(const char *line, size_t n)
{
	size_t i = 8;

	if (n < 9 || strncasecmp(line, "received", 8) != 0)
		return false;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < n && line[i] == ':';
}

void
msgcheck_measure(const char *buf, size_t len, unsigned flags,
    struct msgcheck *mc)
{
	bool bare_cr = (flags & MSGCHECK_BARE_CR) != 0, header = true;
	size_t i = 0, start, n, lineno = 0;
	unsigned char c;

	memset(mc, 0, sizeof(*mc));
	/* It would continue a Received: field put above it: a header
	 * field starts with its name (RFC 5322 2.2). */
	mc->lead_wsp = len > 0 && (buf[0] == ' ' || buf[0] == '\t');
	while (i < len) {
		lineno++;
		for (start = i; i < len; i++) {
			c = (unsigned char)buf[i];
			if (c == '\n')
				break;
			if (c == '\r' && (bare_cr ||
			    (i + 1 < len && buf[i + 1] == '\n')))
				break;
			if (c == '\0' && mc->nul_line == 0)
				mc->nul_line = lineno;
			if (c >= 0x80)
				mc->eightbit = true;
		}
		n = i - start;
		if (i < len)
			i += buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n' ?
			    2 : 1;
		if (n > MSGCHECK_LINE_MAX && mc->long_line == 0) {
			mc->long_line = lineno;
			mc->long_len = n;
		}
		if (header) {
			if (n == 0)
				header = false;
			else if (msgcheck_is_received(buf + start, n))
				mc->hops++;
		}
		mc->size += n + 2;     /* a last line without its end gets one */
	}
}
