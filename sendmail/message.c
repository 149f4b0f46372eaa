/* SPDX-License-Identifier: ISC */
/* The message: read from standard input as sendmail reads it, its
 * header completed as a submission agent may (RFC 6409 section 8), and
 * written as SMTP DATA. The header is split into fields by their names
 * alone (RFC 5322 2.2: a name, optional white space of the obsolete
 * syntax, ':'); a line that is neither a field nor a continuation ends
 * the header (the body then gets the empty line it lacked). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "maildate.h"
#include "msgcheck.h"
#include "sendmail.h"
#include "ulid.h"
#include "utf8.h"
#include "util.h"

void
sm_msg_append(struct sm_msg *m, const void *p, size_t n)
{
	size_t cap;

	if (n == 0)
		return;
	if (m->cap - m->len < n) {
		cap = m->cap ? m->cap : 4096;
		while (cap - m->len < n)
			cap *= 2;
		m->buf = xreallocarray(m->buf, cap, 1);
		m->cap = cap;
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

void
sm_msg_free(struct sm_msg *m)
{
	free(m->buf);
	m->buf = NULL;
	m->len = m->cap = 0;
}

/* A line of only "." (LF or CRLF): the end without -i. */
static bool
lone_dot(const char *s, size_t n)
{
	return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' &&
	    s[1] == '\r');
}

int
sm_read_message(int fd, bool ignore_dots, size_t max, struct sm_msg *m,
    char *err, size_t errlen)
{
	size_t scan = 0, want;
	char *nl;
	ssize_t n;

	m->len = 0;
	for (;;) {
		if (m->cap - m->len < 65536) {
			m->cap = m->cap ? m->cap * 2 : 65536;
			m->buf = xreallocarray(m->buf, m->cap, 1);
		}
		want = m->cap - m->len;
		n = read(fd, m->buf + m->len, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "reading the message: %s",
			    strerror(errno));
			return EX_IOERR;
		}
		if (n == 0)
			break;
		m->len += (size_t)n;
		while (!ignore_dots && (nl = memchr(m->buf + scan, '\n',
		    m->len - scan)) != NULL) {
			if (lone_dot(m->buf + scan, (size_t)(nl - m->buf) - scan)) {
				m->len = scan;
				goto done;
			}
			scan = (size_t)(nl - m->buf) + 1;
		}
		if (m->len > max)
			goto too_large;
	}
	/* An unterminated "." at the end ends the message too. */
	if (!ignore_dots && lone_dot(m->buf + scan, m->len - scan))
		m->len = scan;
done:
	if (m->len > max)
		goto too_large;
	return 0;
too_large:
	snprintf(err, errlen, "message too large (the limit is %zu octets)",
	    max);
	return EX_DATAERR;
}

_Static_assert(SM_LINE_MAX == MSGCHECK_LINE_MAX, "one line limit");

/* Line ends LF or CRLF: a bare CR is sent on as it is (sm_dot_stuff()),
 * so here it is no line end either. */
int
sm_check_message(const char *buf, size_t len, size_t max_size,
    unsigned max_hops, size_t *crlf_size, char *err, size_t errlen)
{
	struct msgcheck mc;

	msgcheck_measure(buf, len, 0, &mc);
	if (mc.nul_line != 0) {
		snprintf(err, errlen, "line %zu holds a NUL octet, which mail "
		    "may not carry (RFC 5322 section 2.1)", mc.nul_line);
		return EX_DATAERR;
	}
	if (mc.long_line != 0) {
		snprintf(err, errlen, "line %zu is %zu octets long; "
		    "lines may have at most %d (RFC 5322 section "
		    "2.1.1)", mc.long_line, mc.long_len, SM_LINE_MAX);
		return EX_DATAERR;
	}
	if (crlf_size != NULL)
		*crlf_size = mc.size;
	if (mc.hops > max_hops) {
		snprintf(err, errlen, "the header has %u Received: fields, more "
		    "than max-hops (%u): a mail loop?", mc.hops, max_hops);
		return EX_DATAERR;
	}
	if (mc.size > max_size) {
		snprintf(err, errlen, "message too large: %zu octets with CRLF "
		    "line ends and the added header fields (the limit is %zu "
		    "octets)", mc.size, max_size);
		return EX_DATAERR;
	}
	return 0;
}

bool
sm_has_8bit(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] & 0x80)
			return true;
	return false;
}

void
sm_dot_stuff(const char *buf, size_t len, struct sm_msg *dst)
{
	size_t pos = 0, end, n;
	const char *nl;

	while (pos < len) {
		nl = memchr(buf + pos, '\n', len - pos);
		end = nl != NULL ? (size_t)(nl - buf) : len;
		n = end - pos;
		if (n > 0 && nl != NULL && buf[end - 1] == '\r')
			n--;
		if (n > 0 && buf[pos] == '.')
			sm_msg_append(dst, ".", 1);
		sm_msg_append(dst, buf + pos, n);
		sm_msg_append(dst, "\r\n", 2);
		pos = nl != NULL ? end + 1 : len;
	}
	sm_msg_append(dst, ".\r\n", 3);
}

/* The length of a field name at s (RFC 5322 ftext) when the line is a
 * field: name, optional WSP (obs-optional), ':'. 0 when it is not. */
static size_t
field_name(const char *s, size_t n)
{
	size_t i = 0, name;

	while (i < n && (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f &&
	    s[i] != ':')
		i++;
	name = i;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return name > 0 && i < n && s[i] == ':' ? name : 0;
}

static bool
name_is(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(s, want, n) == 0;
}

/* The phrase of an added From: for name: as it is when made of atoms
 * and spaces, quoted when it has specials, RFC 2047 encoded words when
 * it has UTF-8. false when it cannot be used (control characters,
 * malformed UTF-8). */
static bool
add_phrase(struct sm_msg *out, const char *name)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)name;
	size_t n = strlen(name), i, k, start, chunk;
	bool ascii = true, plain = true;

	for (i = 0; i < n; i += k) {
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (k = utf8_decode(p + i, n - i, NULL)) == 0)
			return false;
		if (p[i] >= 0x80)
			ascii = false;
		else if (p[i] != ' ' && strchr("()<>[]:;@\\,.\"", p[i]) != NULL)
			plain = false;
	}
	if (n == 0)
		return false;
	if (ascii && plain) {
		sm_msg_append(out, name, n);
		return true;
	}
	if (ascii) {
		sm_msg_append(out, "\"", 1);
		for (i = 0; i < n; i++) {
			if (name[i] == '"' || name[i] == '\\')
				sm_msg_append(out, "\\", 1);
			sm_msg_append(out, name + i, 1);
		}
		sm_msg_append(out, "\"", 1);
		return true;
	}
	/* Encoded words of at most 75 characters (RFC 2047 section 2):
	 * 45 octets of whole characters give 60 of base64. */
	for (start = 0; start < n; start += chunk) {
		for (chunk = 0; start + chunk < n; chunk += k) {
			k = utf8_decode(p + start + chunk, n - start - chunk,
			    NULL);
			if (chunk + k > 45)
				break;
		}
		if (start > 0)
			sm_msg_append(out, " ", 1);
		sm_msg_append(out, "=?UTF-8?B?", 10);
		for (i = 0; i < chunk; i += 3) {
			uint32_t v = (uint32_t)p[start + i] << 16;
			char q[4];

			if (i + 1 < chunk)
				v |= (uint32_t)p[start + i + 1] << 8;
			if (i + 2 < chunk)
				v |= p[start + i + 2];
			q[0] = b64[v >> 18];
			q[1] = b64[(v >> 12) & 63];
			q[2] = i + 1 < chunk ? b64[(v >> 6) & 63] : '=';
			q[3] = i + 2 < chunk ? b64[v & 63] : '=';
			sm_msg_append(out, q, 4);
		}
		sm_msg_append(out, "?=", 2);
	}
	return true;
}

static int
extract(const char *field, const char *body, size_t len,
    struct sm_addrs *rcpts, char *err, size_t errlen)
{
	char why[160];

	if (sm_addrlist_parse(body, len, rcpts, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%s: header: %s", field, why);
	return EX_DATAERR;
}

int
sm_prepare(const struct sm_msg *in, const struct sm_prep *p,
    struct sm_msg *out, struct sm_addrs *rcpts, char *err, size_t errlen)
{
	const char *buf = in->buf, *nl, *eol = "\n";
	size_t len = in->len, pos = 0, fs = 0, fe, name = 0, le;
	bool has_from = false, has_date = false, has_msgid = false;
	bool in_field = false, need_sep = false, keep;
	char date[MAILDATE_LEN], id[27];
	int rc;

	out->len = 0;
	if (len > 0 && (nl = memchr(buf, '\n', len)) != NULL && nl > buf &&
	    nl[-1] == '\r')
		eol = "\r\n";
	/* An mbox "From " line is no header field (as Postfix drops it). */
	if (len >= 5 && memcmp(buf, "From ", 5) == 0 &&
	    field_name(buf, len) == 0) {
		nl = memchr(buf, '\n', len);
		pos = nl != NULL ? (size_t)(nl - buf) + 1 : len;
	}
	for (;;) {
		const char *line = buf + pos;
		size_t n;

		nl = pos < len ? memchr(line, '\n', len - pos) : NULL;
		le = nl != NULL ? (size_t)(nl - buf) + 1 : len;
		n = (nl != NULL ? (size_t)(nl - buf) : len) - pos;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		/* A field ends where the next line does not continue it. */
		if (in_field && (pos >= len || n == 0 ||
		    (line[0] != ' ' && line[0] != '\t'))) {
			const char *f = buf + fs;

			fe = pos;
			keep = true;
			if (name_is(f, name, "From"))
				has_from = true;
			else if (name_is(f, name, "Date"))
				has_date = true;
			else if (name_is(f, name, "Message-ID"))
				has_msgid = true;
			else if (name_is(f, name, "Bcc") ||
			    name_is(f, name, "Resent-Bcc"))
				keep = false;
			if (p->extract && (name_is(f, name, "To") ||
			    name_is(f, name, "Cc") || name_is(f, name, "Bcc"))) {
				const char *colon = memchr(f, ':', fe - fs);

				rc = extract(name_is(f, name, "To") ? "To" :
				    name_is(f, name, "Cc") ? "Cc" : "Bcc",
				    colon + 1, fe - fs - (size_t)(colon + 1 - f),
				    rcpts, err, errlen);
				if (rc != 0)
					return rc;
			}
			if (keep) {
				sm_msg_append(out, f, fe - fs);
				if (fe == len && (fe == fs || buf[fe - 1] != '\n'))
					sm_msg_append(out, eol, strlen(eol));
			}
			in_field = false;
		}
		if (pos >= len)
			break;
		if (n == 0)
			break;             /* the empty line: kept with the body */
		if (line[0] == ' ' || line[0] == '\t') {
			if (in_field) {
				pos = le;
				continue;
			}
			need_sep = true;   /* a continuation of nothing: body */
			break;
		}
		if ((name = field_name(line, n)) == 0) {
			need_sep = true;
			break;
		}
		in_field = true;
		fs = pos;
		pos = le;
	}

	if (!has_from) {
		sm_msg_append(out, "From: ", 6);
		if (p->fullname != NULL && p->fullname[0] != '\0' &&
		    add_phrase(out, p->fullname)) {
			sm_msg_append(out, " <", 2);
			sm_msg_append(out, p->from_addr, strlen(p->from_addr));
			sm_msg_append(out, ">", 1);
		} else
			sm_msg_append(out, p->from_addr, strlen(p->from_addr));
		sm_msg_append(out, eol, strlen(eol));
	}
	if (!has_date) {
		mail_date(p->now, date, sizeof(date));
		sm_msg_append(out, "Date: ", 6);
		sm_msg_append(out, date, strlen(date));
		sm_msg_append(out, eol, strlen(eol));
	}
	if (!has_msgid) {
		ulid_new(id);
		sm_msg_append(out, "Message-ID: <", 13);
		sm_msg_append(out, id, strlen(id));
		sm_msg_append(out, "@", 1);
		sm_msg_append(out, p->hostname, strlen(p->hostname));
		sm_msg_append(out, ">", 1);
		sm_msg_append(out, eol, strlen(eol));
	}
	if (pos < len) {
		if (need_sep)
			sm_msg_append(out, eol, strlen(eol));
		sm_msg_append(out, buf + pos, len - pos);
		if (buf[len - 1] != '\n')
			sm_msg_append(out, eol, strlen(eol));
	}
	return 0;
}

bool
sm_gecos_name(const char *gecos, const char *login, char *out, size_t outlen)
{
	size_t n = 0, i;

	if (gecos == NULL || outlen == 0)
		return false;
	for (; *gecos != '\0' && *gecos != ','; gecos++) {
		if (*gecos == '&') {
			for (i = 0; login[i] != '\0'; i++) {
				if (n + 1 >= outlen)
					return false;
				out[n++] = i == 0 ? (char)toupper(
				    (unsigned char)login[0]) : login[i];
			}
			continue;
		}
		if ((unsigned char)*gecos < 0x20 ||
		    (unsigned char)*gecos > 0x7e || n + 1 >= outlen)
			return false;
		out[n++] = *gecos;
	}
	out[n] = '\0';
	return n > 0;
}
