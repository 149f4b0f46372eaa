/* SPDX-License-Identifier: ISC */
/* Parsing of SMTP replies read by the delivery client.
 *
 * The summary text is what ends up in logs, the queue and bounces, so it
 * is built from the server's bytes through text_escape() (textesc.h:
 * UTF-8 kept, controls and undecodable octets as \xHH) and bounded; it
 * can never carry a line break into a log line, a queue row or a DSN. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "reply.h"
#include "textesc.h"

void
reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of an enhanced status code "c.sss.ddd" at the start of s (class
 * 2, 4 or 5; subject and detail 1 to 3 digits), followed by a space or the
 * end; 0 when there is none. */
static size_t
esc_len(const char *s, size_t len)
{
	size_t i = 0, part, n;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && is_digit(s[i]) && n < 4; i++)
			n++;
		if (n == 0 || n > 3)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

/* Append bytes to the summary through text_escape(): UTF-8 is kept,
 * controls (CR and LF among them) and octets that are not UTF-8 become
 * \xHH, so the text never holds a line end. The last three octets are
 * kept free for the "..." that marks a cut (made between whole
 * characters); a cut ends the summary: later lines add nothing. */
static void
text_append(struct smtp_reply *r, const char *s, size_t len)
{
	size_t room = sizeof(r->text) - 3 - r->text_len;

	if (r->cut || len == 0)
		return;
	if (text_escape(r->text + r->text_len, room, s, len) < len) {
		strlcat(r->text, "...", sizeof(r->text));
		r->cut = true;
	}
	r->text_len = strlen(r->text);
}

enum reply_status
reply_feed(struct smtp_reply *r, const char *line, size_t len)
{
	const char *text;
	size_t tlen, n;
	bool last;
	int code;

	if (r->done)
		reply_init(r);
	if (len > REPLY_LINE_MAX || r->nlines >= REPLY_LINES_MAX)
		return REPLY_BAD;
	if (len < 3 || !is_digit(line[0]) || !is_digit(line[1]) ||
	    !is_digit(line[2]))
		return REPLY_BAD;
	/* RFC 5321 4.2: first digit 2..5, second 0..5. */
	if (line[0] < '2' || line[0] > '5' || line[1] > '5')
		return REPLY_BAD;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (len == 3)
		last = true;
	else if (line[3] == ' ')
		last = true;
	else if (line[3] == '-')
		last = false;
	else
		return REPLY_BAD;
	if (r->nlines > 0 && code != r->code)
		return REPLY_BAD;

	text = len > 4 ? line + 4 : "";
	tlen = len > 4 ? len - 4 : 0;
	r->line = text;
	r->line_len = tlen;

	if (r->nlines == 0) {
		char num[8];

		r->code = code;
		snprintf(num, sizeof(num), "%03d", code);
		text_append(r, num, 3);
		if ((n = esc_len(text, tlen)) > 0 && n < sizeof(r->esc)) {
			memcpy(r->esc, text, n);
			r->esc[n] = '\0';
		}
	} else if (r->esc[0] != '\0' && (n = esc_len(text, tlen)) > 0 &&
	    n == strlen(r->esc) && memcmp(text, r->esc, n) == 0) {
		/* The same enhanced code on every line says nothing new. */
		text += n;
		tlen -= n;
		while (tlen > 0 && *text == ' ') {
			text++;
			tlen--;
		}
	}
	if (tlen > 0) {
		text_append(r, " ", 1);
		text_append(r, text, tlen);
	}
	r->nlines++;
	if (last)
		r->done = true;
	return last ? REPLY_DONE : REPLY_MORE;
}

/* A keyword is matched case-insensitively and must end at a space or at
 * the end of the line; *param points after the space. */
static bool
keyword(const char *text, size_t len, const char *kw, const char **param,
    size_t *plen)
{
	size_t k = strlen(kw);

	if (len < k || strncasecmp(text, kw, k) != 0)
		return false;
	if (len > k && text[k] != ' ')
		return false;
	*param = len > k ? text + k + 1 : text + len;
	*plen = len > k ? len - k - 1 : 0;
	return true;
}

void
caps_parse_line(struct smtp_caps *c, const char *text, size_t len)
{
	const char *p;
	size_t plen, i;
	uint64_t v;

	if (keyword(text, len, "PIPELINING", &p, &plen))
		c->pipelining = true;
	else if (keyword(text, len, "8BITMIME", &p, &plen))
		c->eightbitmime = true;
	else if (keyword(text, len, "STARTTLS", &p, &plen))
		c->starttls = true;
	else if (keyword(text, len, "SMTPUTF8", &p, &plen))
		c->smtputf8 = true;
	else if (keyword(text, len, "ENHANCEDSTATUSCODES", &p, &plen))
		c->enhancedstatuscodes = true;
	else if (keyword(text, len, "DSN", &p, &plen))
		c->dsn = true;
	else if (keyword(text, len, "CHUNKING", &p, &plen))
		c->chunking = true;
	else if (keyword(text, len, "SIZE", &p, &plen)) {
		c->size = true;
		c->size_max = 0;
		/* A limit that is not a plain number, or absurdly large,
		 * is read as no limit: the server will still say 552. */
		for (i = 0, v = 0; i < plen && is_digit(p[i]) && i < 19; i++)
			v = v * 10 + (uint64_t)(p[i] - '0');
		if (i > 0 && i == plen)
			c->size_max = v;
	}
}

const char *
reply_dsn(const char *diag, int cls, char *buf, size_t len)
{
	const char *s = diag != NULL ? diag : "";
	size_t slen = strlen(s), n;

	if (slen >= 4 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) &&
	    (s[3] == ' ' || s[3] == '-')) {
		s += 4;
		slen -= 4;
	}
	n = esc_len(s, slen);
	if (n > 0 && s[0] - '0' == cls && n < len) {
		memcpy(buf, s, n);
		buf[n] = '\0';
	} else
		snprintf(buf, len, "%d.0.0", cls);
	return buf;
}
