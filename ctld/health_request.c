/* SPDX-License-Identifier: ISC */
/* See health_request.h. Every index is checked against len; nothing past
 * buf + len is read. */
#include <stdbool.h>
#include <string.h>

#include "health_request.h"

#define METHOD_MAX 16
#define TARGET_MAX 256               /* longer than any path we serve */

static bool
tchar(unsigned char c)
{
	/* RFC 9110 token characters. */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The end of the head: the index just past the empty line, or 0. */
static size_t
head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static bool
same(const char *p, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

/* The request line, without its line end: method, target, version. */
static enum health_head
request_line(const char *p, size_t n, struct health_request *req)
{
	size_t i = 0, m, t, tlen, plen;

	while (i < n && i < METHOD_MAX && tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return HEAD_BAD;
	m = i++;
	t = i;
	while (i < n && i - t <= TARGET_MAX && p[i] > ' ' && p[i] < 0x7f)
		i++;
	tlen = i - t;
	if (tlen == 0 || tlen > TARGET_MAX || i >= n || p[i] != ' ' ||
	    p[t] != '/')
		return HEAD_BAD;
	i++;
	if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 ||
	    p[i + 7] < '0' || p[i + 7] > '9')
		return HEAD_BAD;
	for (plen = 0; plen < tlen && p[t + plen] != '?'; plen++)
		;
	req->method = same(p, m, "GET") ? HM_GET : HM_OTHER;
	if (same(p + t, plen, "/health/live"))
		req->target = HT_LIVE;
	else if (same(p + t, plen, "/health/ready"))
		req->target = HT_READY;
	else
		req->target = HT_OTHER;
	return HEAD_DONE;
}

enum health_head
health_request_parse(const char *buf, size_t len, size_t max,
    struct health_request *req)
{
	struct health_request r = { 0 };
	const char *eol;
	size_t end, n;

	if (len > max)
		len = max;
	eol = memchr(buf, '\n', len);
	if (eol != NULL) {
		/* The request line is there: judge it at once. */
		n = (size_t)(eol - buf);
		if (n > 0 && buf[n - 1] == '\r')
			n--;
		if (request_line(buf, n, &r) != HEAD_DONE)
			return HEAD_BAD;
	}
	end = head_end(buf, len);
	if (end == 0)
		return len >= max ? HEAD_TOO_LARGE : HEAD_INCOMPLETE;
	/* Header lines: no NUL and no bare CR inside the head. */
	for (n = 0; n < end; n++) {
		if (buf[n] == '\0')
			return HEAD_BAD;
		if (buf[n] == '\r' && (n + 1 >= end || buf[n + 1] != '\n'))
			return HEAD_BAD;
	}
	*req = r;
	return HEAD_DONE;
}
