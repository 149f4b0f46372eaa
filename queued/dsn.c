/* SPDX-License-Identifier: ISC */
/* Writing delivery status notifications (RFC 3464, RFC 3462 report
 * container, RFC 3461 RET and ORCPT, RFC 3834 Auto-Submitted, RFC 6533
 * internationalised notices).
 *
 * Everything that came from the network (addresses, the remote's replies,
 * the ENVID) is reduced to one printable line before it enters a header
 * field: a reply text can never add a header or a MIME boundary. In an
 * internationalised notice addresses keep their UTF-8 characters (only
 * well-formed ones; controls never). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dsn.h"
#include "maildate.h"
#include "proto.h"
#include "smtp.h"
#include "utf8.h"
#include "util.h"

/* A field body is kept well under the 998-octet line limit. */
#define FIELD_MAX 900

static const char *
action_name(enum dsn_action a)
{
	switch (a) {
	case DSN_DELAYED: return "delayed";
	case DSN_RELAYED: return "relayed";
	default:          return "failed";
	}
}

int
dsn_result_state(uint32_t raw, uint32_t *state, bool *passed)
{
	*passed = false;
	if (raw == (RCPT_DELIVERED | RCPT_DSN_PASSED)) {
		*state = RCPT_DELIVERED;
		*passed = true;
		return 0;
	}
	if (raw != RCPT_DELIVERED && raw != RCPT_DEFERRED && raw != RCPT_FAILED)
		return -1;
	*state = raw;
	return 0;
}

/* One printable ASCII line of at most FIELD_MAX octets. */
static void
oneline(const char *in, char *out, size_t outlen)
{
	size_t i, o = 0, max = outlen - 1 < FIELD_MAX ? outlen - 1 : FIELD_MAX;

	for (i = 0; in != NULL && in[i] != '\0' && o < max; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[o] = '\0';
}

/* Decode one UTF-8 sequence at s (NUL-terminated); returns its length
 * (1 for a byte that does not start a well-formed sequence, *cp then
 * 0xFFFD). */
static size_t
utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t n = utf8_decode(s, strnlen((const char *)s, 4), cp);

	if (n == 0) {
		*cp = 0xfffd;
		return 1;
	}
	return n;
}

void
dsn_address(const char *addr, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)(addr ? addr : "");
	bool ascii = true;
	size_t i, o;
	uint32_t cp;
	char esc[16];

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] >= 0x80)
			ascii = false;
	o = strlcpy(out, ascii ? "rfc822;" : "utf-8;", outlen);
	for (i = 0; s[i] != '\0' && o + 1 < outlen && o < FIELD_MAX; ) {
		if (s[i] >= 0x80) {
			i += utf8_next(s + i, &cp);
			snprintf(esc, sizeof(esc), "\\x{%" PRIX32 "}", cp);
			if (o + strlen(esc) >= outlen)
				break;
			o = strlcat(out, esc, outlen);
			continue;
		}
		out[o++] = s[i] > 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
		out[o] = '\0';
		i++;
	}
}

static bool
has_8bit(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* The length of a character worth keeping in an internationalised
 * field at s: a well-formed UTF-8 sequence of a printable character,
 * else 0. */
static size_t
utf8_keep(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] < 0x7f ? 1 : 0;
	n = utf8_decode(s, strnlen((const char *)s, 4), NULL);
	/* U+0080..U+009F: C1 controls. */
	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0;
	return n;
}

/* One line of at most FIELD_MAX octets: oneline(), but well-formed UTF-8
 * characters are kept (anything else becomes '?'). */
static void
oneline_utf8(const char *in, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t i = 0, o = 0, n, max = outlen - 1 < FIELD_MAX ? outlen - 1 :
	    FIELD_MAX;

	while (s[i] != '\0' && o < max) {
		if ((n = utf8_keep(s + i)) == 0) {
			out[o++] = s[i] == '\t' ? ' ' : '?';
			i++;
			continue;
		}
		if (o + n > max)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
}

/* Append an encoded address: xtext (RFC 3461 4), utf-8-addr-xtext or
 * utf-8-addr-unitext (RFC 6533 3). Octets xtext cannot carry as they
 * are become "+XX"; in the utf-8 forms, ASCII specials become \x{XX}
 * and other characters \x{HEX} (xtext form) or stay (unitext form). */
enum addr_enc { ENC_TEXT, ENC_XTEXT, ENC_UTF8_XTEXT, ENC_UTF8_UNITEXT };

static void
encode_addr(const char *addr, enum addr_enc enc, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)(addr ? addr : "");
	size_t o = strlen(out), i = 0, n;
	uint32_t cp;
	char esc[16];

	while (s[i] != '\0' && o < FIELD_MAX) {
		if (s[i] >= 0x21 && s[i] <= 0x7e && (enc == ENC_TEXT ||
		    (s[i] != '+' && s[i] != '=' &&
		    (enc == ENC_XTEXT || s[i] != '\\')))) {
			n = 1;
			memcpy(esc, s + i, 1);
			esc[1] = '\0';
		} else if (enc == ENC_XTEXT || enc == ENC_TEXT) {
			n = 1;
			snprintf(esc, sizeof(esc), "+%02X", s[i]);
		} else if (s[i] < 0x20) {
			n = 1;                  /* a control: no \x{} form */
			strlcpy(esc, "?", sizeof(esc));
		} else if (s[i] < 0x80) {
			n = 1;
			snprintf(esc, sizeof(esc), "\\x{%02X}", s[i]);
		} else if (enc == ENC_UTF8_UNITEXT &&
		    (n = utf8_keep(s + i)) > 0) {
			if (n >= sizeof(esc))
				break;
			memcpy(esc, s + i, n);
			esc[n] = '\0';
		} else {
			n = utf8_next(s + i, &cp);
			snprintf(esc, sizeof(esc), "\\x{%" PRIX32 "}", cp);
		}
		if (o + strlen(esc) >= outlen)
			break;
		o = strlcat(out, esc, outlen);
		i += n;
	}
}

/* Final-Recipient's value: dsn_address() in a plain notice; in an
 * internationalised one (RFC 6533 6.2) the utf-8 type with the address
 * in UTF-8 when it is not ASCII. */
static void
address_field(const char *addr, bool global, char *out, size_t outlen)
{
	if (!global || !has_8bit(addr)) {
		dsn_address(addr, out, outlen);
		return;
	}
	strlcpy(out, "utf-8;", outlen);
	encode_addr(addr, ENC_UTF8_UNITEXT, out, outlen);
}

/* ORCPT as smtpd keeps it, "type;address" with the address decoded.
 * rfc822 (and any other type) is written decoded, as Postfix does: the
 * field's generic-address is text (RFC 3464 2.3.1), so only octets
 * outside printable ASCII keep an xtext escape. utf-8 goes as
 * utf-8-addr-xtext in a plain notice, with its UTF-8 characters in an
 * internationalised one (RFC 6533 3). */
static void
orcpt_field(const char *orcpt, bool global, char *out, size_t outlen)
{
	char type[64];
	const char *semi = strchr(orcpt, ';');
	size_t tl;

	if (semi == NULL || semi == orcpt) {
		address_field(orcpt, global, out, outlen);
		return;
	}
	tl = (size_t)(semi - orcpt);
	if (tl >= sizeof(type))
		tl = sizeof(type) - 1;
	memcpy(type, orcpt, tl);
	type[tl] = '\0';
	oneline(type, out, outlen);
	strlcat(out, ";", outlen);
	if (strcasecmp(type, "utf-8") == 0)
		encode_addr(semi + 1, global ? ENC_UTF8_UNITEXT : ENC_UTF8_XTEXT,
		    out, outlen);
	else
		encode_addr(semi + 1, ENC_TEXT, out, outlen);
}

bool
dsn_global(const struct dsn_info *d)
{
	size_t i;

	if (d->smtputf8 || has_8bit(d->orig_sender))
		return true;
	for (i = 0; i < d->nrcpt; i++)
		if (has_8bit(d->rcpt[i].addr) || has_8bit(d->rcpt[i].orcpt))
			return true;
	return false;
}

void
dsn_status(const struct dsn_rcpt *r, char *out, size_t outlen)
{
	const char *d = r->diag != NULL ? r->diag : "";
	char want = r->action == DSN_RELAYED ? '2' :
	    r->action == DSN_DELAYED ? '4' : '5';
	size_t i, dots = 0, digits = 0;

	/* "550 5.1.1 text" or "5.1.1 text": skip a reply code first. */
	if (isdigit((unsigned char)d[0]) && isdigit((unsigned char)d[1]) &&
	    isdigit((unsigned char)d[2]) && (d[3] == ' ' || d[3] == '-'))
		d += 4;
	for (i = 0; d[i] != '\0' && d[i] != ' ' && i < 12; i++) {
		if (d[i] == '.')
			dots++;
		else if (isdigit((unsigned char)d[i]))
			digits++;
		else
			break;
	}
	/* A failure after many temporary errors keeps its 4.x.y code. */
	if (dots == 2 && digits >= 3 && (d[i] == ' ' || d[i] == '\0') &&
	    (d[0] == want || (want == '5' && d[0] == '4')) && d[1] == '.') {
		snprintf(out, outlen, "%.*s", (int)i, d);
		return;
	}
	snprintf(out, outlen, "%c.0.0", want);
}

struct out {
	FILE *f;
	bool  eightbit;
	bool  global;                  /* RFC 6533 notice */
};

/* A line of the notice that may hold UTF-8 (global notices only). */
static void
put_text(struct out *o, const char *s)
{
	if (has_8bit(s))
		o->eightbit = true;
	fputs(s, o->f);
}

/* An address or a reply text on one line for the human-readable part:
 * in UTF-8 in a global notice (its text/plain is charset=utf-8), in
 * ASCII ('?' for what is not) in a plain one. */
static void
show_line(const struct out *o, const char *addr, char *out, size_t outlen)
{
	if (o->global)
		oneline_utf8(addr, out, outlen);
	else
		oneline(addr, out, outlen);
}

static void
put_original(struct out *o, const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] >= 0x80)
			o->eightbit = true;
	fwrite(buf, 1, len, o->f);
}

/* Copy the original, a line at a time: all of it (full) or its header
 * section (up to the first empty line), never more than limit octets and
 * only whole lines (a line longer than the buffer counts as cut into
 * pieces). *cut tells whether it stopped at the limit. Always ends with
 * a line end. Streams through a fixed buffer: the limit may be large. */
static int
copy_original(struct out *o, int fd, bool full, size_t limit, bool *cut)
{
	char buf[16384], last = '\n';
	size_t have = 0, pos = 0, len, budget = limit;
	off_t off = 0;
	ssize_t n;
	bool eof = false;
	char *nl;

	*cut = false;
	for (;;) {
		nl = memchr(buf + pos, '\n', have - pos);
		if (nl == NULL && !eof && !(pos == 0 && have == sizeof(buf))) {
			/* Need more: keep the partial line at the front. */
			memmove(buf, buf + pos, have - pos);
			have -= pos;
			pos = 0;
			n = pread(fd, buf + have, sizeof(buf) - have, off);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				return -1;
			if (n == 0)
				eof = true;
			have += (size_t)n;
			off += n;
			continue;
		}
		len = nl != NULL ? (size_t)(nl - (buf + pos)) + 1 : have - pos;
		if (len == 0)
			break;                     /* the end of the file */
		if (!full && (buf[pos] == '\n' ||
		    (len == 2 && buf[pos] == '\r')))
			break;                     /* the end of the header section */
		if (len > budget) {
			*cut = true;
			break;
		}
		put_original(o, buf + pos, len);
		last = buf[pos + len - 1];
		budget -= len;
		pos += len;
	}
	if (last != '\n')
		fputs("\r\n", o->f);
	return 0;
}

static void
human_part(struct out *o, const struct dsn_info *d, bool file_gone,
    size_t cut_at)
{
	char line[FIELD_MAX + 1], date[64];
	size_t i;
	int pass;
	bool any;

	fprintf(o->f, "This is the mail system at %s.\r\n\r\n", d->reporting_mta);
	/* Failed first, then delayed, then relayed. */
	for (pass = DSN_FAILED; pass <= DSN_RELAYED; pass++) {
		any = false;
		for (i = 0; i < d->nrcpt; i++) {
			const struct dsn_rcpt *r = &d->rcpt[i];

			if ((int)r->action != pass)
				continue;
			if (!any) {
				switch (pass) {
				case DSN_FAILED:
					fputs("Your message could not be delivered to the "
					    "recipients below.\r\nThe mail system gave up; "
					    "the reason is given for each one.\r\n\r\n", o->f);
					break;
				case DSN_DELAYED:
					fputs("Your message has not been delivered yet to the "
					    "recipients below.\r\nNothing needs to be done: "
					    "delivery is being retried.\r\n\r\n", o->f);
					break;
				default:
					fputs("Your message was handed on to the next mail "
					    "system for the recipients below,\r\nwhich will "
					    "not report its final delivery.\r\n\r\n", o->f);
					break;
				}
				any = true;
			}
			show_line(o, r->addr, line, sizeof(line));
			fputs("<", o->f);
			put_text(o, line);
			fputs(">:\r\n", o->f);
			if (r->diag != NULL && r->diag[0] != '\0') {
				show_line(o, r->diag, line, sizeof(line));
				fputs("    ", o->f);
				put_text(o, line);
				fputs("\r\n", o->f);
			}
			if (pass == DSN_FAILED && r->attempts > 1)
				fprintf(o->f, "    (after %u delivery attempts)\r\n",
				    r->attempts);
			if (pass == DSN_DELAYED && r->retry_until > 0) {
				mail_date(r->retry_until, date, sizeof(date));
				fprintf(o->f, "    (retried until %s)\r\n", date);
			}
			fputs("\r\n", o->f);
		}
	}
	if (file_gone)
		fputs("The message itself was lost from the queue and cannot be "
		    "returned.\r\n", o->f);
	if (cut_at > 0)
		fprintf(o->f, "The returned message is cut short: only its first "
		    "%zu octets\r\n(at most) are included.\r\n", cut_at);
}

static void
status_part(struct out *o, const struct dsn_info *d)
{
	char buf[FIELD_MAX + 64], date[64];
	size_t i;

	fprintf(o->f, "Reporting-MTA: dns; %s\r\n", d->reporting_mta);
	if (d->envid != NULL && d->envid[0] != '\0') {
		oneline(d->envid, buf, sizeof(buf));
		fprintf(o->f, "Original-Envelope-Id: %s\r\n", buf);
	}
	fprintf(o->f, "X-Empath-Queue-ID: %s\r\n", d->orig_id);
	mail_date(d->arrival, date, sizeof(date));
	fprintf(o->f, "Arrival-Date: %s\r\n", date);
	for (i = 0; i < d->nrcpt; i++) {
		const struct dsn_rcpt *r = &d->rcpt[i];

		fputs("\r\n", o->f);
		address_field(r->addr, o->global, buf, sizeof(buf));
		fputs("Final-Recipient: ", o->f);
		put_text(o, buf);
		fputs("\r\n", o->f);
		if (r->orcpt != NULL && r->orcpt[0] != '\0') {
			orcpt_field(r->orcpt, o->global, buf, sizeof(buf));
			fputs("Original-Recipient: ", o->f);
			put_text(o, buf);
			fputs("\r\n", o->f);
		}
		fprintf(o->f, "Action: %s\r\n", action_name(r->action));
		dsn_status(r, buf, sizeof(buf));
		fprintf(o->f, "Status: %s\r\n", buf);
		if (r->remote != NULL && r->remote[0] != '\0') {
			char host[FIELD_MAX + 1], *br;

			/* "host[ip]:port" -> the host name. */
			oneline(r->remote, host, sizeof(host));
			if ((br = strchr(host, '[')) != NULL && br != host)
				*br = '\0';
			fprintf(o->f, "Remote-MTA: dns; %s\r\n", host);
		}
		if (r->diag != NULL && r->diag[0] != '\0') {
			oneline(r->diag, buf, sizeof(buf));
			/* An SMTP reply, or queued's own words. */
			if (isdigit((unsigned char)buf[0]) &&
			    isdigit((unsigned char)buf[1]) &&
			    isdigit((unsigned char)buf[2]))
				fprintf(o->f, "Diagnostic-Code: smtp; %s\r\n", buf);
			else
				fprintf(o->f, "Diagnostic-Code: X-Empath; %s\r\n", buf);
		}
		if (r->last_attempt > 0) {
			mail_date(r->last_attempt, date, sizeof(date));
			fprintf(o->f, "Last-Attempt-Date: %s\r\n", date);
		}
		if (r->action == DSN_DELAYED && r->retry_until > 0) {
			mail_date(r->retry_until, date, sizeof(date));
			fprintf(o->f, "Will-Retry-Until: %s\r\n", date);
		}
	}
}

int
dsn_write(int fd, const struct dsn_info *d, int orig_fd, bool *eightbit)
{
	struct out o = { NULL, false, dsn_global(d) };
	/* RFC 6533: the global types, and 8bit declared where UTF-8 may be. */
	const char *report = o.global ? "global-delivery-status" :
	    "delivery-status";
	const char *cte = o.global ? "Content-Transfer-Encoding: 8bit\r\n" : "";
	char date[64], to[FIELD_MAX + 1], boundary[64];
	bool failed = false, delayed = false, full, cut;
	int dfd, err;
	size_t i, limit = d->return_limit ? d->return_limit : DSN_RETURN_LIMIT;
	size_t hlen = d->headers != NULL ? strlen(d->headers) : 0;
	off_t size = 0;

	for (i = 0; i < d->nrcpt; i++) {
		failed |= d->rcpt[i].action == DSN_FAILED;
		delayed |= d->rcpt[i].action == DSN_DELAYED;
	}
	/* RET=FULL returns the message, cut to the limit if need be; without
	 * RET or with RET=HDRS, its header section (RFC 3461 4.3 leaves
	 * the default to us: the less reflected, the better). */
	full = orig_fd != -1 && d->ret_full;
	if (full && (size = lseek(orig_fd, 0, SEEK_END)) == -1)
		return -1;
	size += (off_t)hlen;
	if ((dfd = dup(fd)) == -1)
		return -1;
	if ((o.f = fdopen(dfd, "w")) == NULL) {
		err = errno;
		close(dfd);
		errno = err;
		return -1;
	}
	/* The notice's own id makes a boundary that cannot occur in it. */
	snprintf(boundary, sizeof(boundary), "%s/%s", d->notice_id,
	    d->reporting_mta);
	boundary[sizeof(boundary) - 1] = '\0';
	for (i = 0; boundary[i] != '\0'; i++)
		if (!isalnum((unsigned char)boundary[i]) && boundary[i] != '.' &&
		    boundary[i] != '-')
			boundary[i] = '/';
	show_line(&o, d->orig_sender, to, sizeof(to));
	mail_date(d->now, date, sizeof(date));

	fprintf(o.f, "From: Mail Delivery System <%s>\r\n", d->from);
	fputs("To: <", o.f);
	put_text(&o, to);
	fputs(">\r\n", o.f);
	fprintf(o.f, "Subject: Delivery Status Notification (%s)\r\n",
	    failed ? "Failure" : delayed ? "Delay" : "Success");
	fprintf(o.f, "Date: %s\r\n", date);
	fprintf(o.f, "Message-ID: <%s@%s>\r\n", d->notice_id, d->reporting_mta);
	fputs("Auto-Submitted: auto-replied\r\n", o.f);
	fputs("MIME-Version: 1.0\r\n", o.f);
	fprintf(o.f, "Content-Type: multipart/report; "
	    "report-type=%s;\r\n\tboundary=\"%s\"\r\n", report, boundary);
	fputs("\r\nThis is a MIME-formatted delivery status notification.\r\n",
	    o.f);

	fprintf(o.f, "\r\n--%s\r\n", boundary);
	fprintf(o.f, "Content-Type: text/plain; charset=%s\r\n%s"
	    "Content-Description: Notification\r\n\r\n",
	    o.global ? "utf-8" : "us-ascii", cte);
	human_part(&o, d, orig_fd == -1,
	    full && (uint64_t)size > limit ? limit : 0);

	fprintf(o.f, "\r\n--%s\r\n", boundary);
	fprintf(o.f, "Content-Type: message/%s\r\n%s"
	    "Content-Description: Delivery report\r\n\r\n", report, cte);
	status_part(&o, d);

	if (orig_fd != -1) {
		fprintf(o.f, "\r\n--%s\r\n", boundary);
		if (full)
			fprintf(o.f, "Content-Type: %s\r\n%s"
			    "Content-Description: Undelivered Message\r\n\r\n",
			    o.global ? "message/global" : "message/rfc822", cte);
		else
			fprintf(o.f, "Content-Type: %s\r\n%s"
			    "Content-Description: Undelivered Message Headers\r\n\r\n",
			    o.global ? "message/global-headers" :
			    "text/rfc822-headers", cte);
		/* Bounded (PLUGIN_HEADERS_ENCODED_MAX), whole lines: never
		 * cut, the limit left is the original's. */
		put_original(&o, d->headers != NULL ? d->headers : "", hlen);
		if (copy_original(&o, orig_fd, full,
		    limit > hlen ? limit - hlen : 0, &cut) == -1) {
			err = errno;
			fclose(o.f);
			errno = err;
			return -1;
		}
	}
	fprintf(o.f, "\r\n--%s--\r\n", boundary);
	if (fflush(o.f) != 0 || ferror(o.f)) {
		err = errno ? errno : EIO;
		fclose(o.f);
		errno = err;
		return -1;
	}
	if (fclose(o.f) != 0)
		return -1;
	*eightbit = o.eightbit;
	return 0;
}
