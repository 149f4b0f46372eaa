/* SPDX-License-Identifier: ISC */
/* The Received: trace header (RFC 5321 §4.4, RFC 5322 §3.6.7):
 *
 *   Received: from HELO (NAME [ADDR])
 *   	(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256 bits))
 *   	by HOSTNAME (Empath) with ESMTPS id MSGID
 *   	for <RCPT>; DATE
 *
 * The TLS line only with TLS; "for" only with a single recipient whose
 * address is plain enough to be written as is (otherwise "; DATE" ends
 * the "by" line); in a SMTPUTF8 transaction, whose header may carry
 * UTF-8 (RFC 6532), that includes a UTF-8 address (RFC 6531 §3.7.3).
 * The protocol is RFC 3848's / RFC 6531 §4.3's (ESMTP, ESMTPS,
 * UTF8SMTP, UTF8SMTPS; SMTP after HELO).
 * The HELO name is the client's word: anything outside the characters
 * of a domain or address literal becomes '?', so it can neither fold the
 * header nor open a comment. IPv6 clients are written as RFC 5321 address
 * literals ([IPv6:...]). The date is UTC, which needs no time zone files
 * inside the chroot. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "idn.h"
#include "maildate.h"
#include "received.h"
#include "smtp.h"
#include "utf8.h"

/* Copy in to out, each byte outside the allowed set as '?'. */
static void
sanitize(const char *in, char *out, size_t outlen, const char *extra)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != '\0' && strchr(extra, c)))
			out[i] = (char)c;
		else
			out[i] = '?';
	}
	out[i] = '\0';
}

/* A recipient written in the header must not be able to end the angle
 * brackets, start a comment or a new field: plain dot-atoms and
 * literals only, and UTF-8 when utf8 (a quoted local part, or UTF-8
 * outside SMTPUTF8, is simply left out). */
static bool
rcpt_plain(const char *a, bool utf8)
{
	size_t u;

	while (*a) {
		unsigned char c = (unsigned char)*a;

		if (c >= 0x80 && utf8 && (u = utf8_decode(
		    (const unsigned char *)a, strnlen(a, 4), NULL)) > 0) {
			a += u;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(".-_+=@[]:!#$%&'*/?^`{|}~", c)))
			return false;
		a++;
	}
	return true;
}

/* An ASCII local part with a UTF-8 domain is written with the domain's
 * A-label: the header then stays ASCII whenever the envelope can go to a
 * next hop without SMTPUTF8 (deliverd refuses UTF-8 headers there). A
 * UTF-8 local part stays as it is: that mail needs SMTPUTF8 anyway. */
static const char *
ascii_domain(const char *a, char *buf, size_t len)
{
	const char *at = strrchr(a, '@'), *p;
	char dom[IDN_DOMAIN_MAX];
	int n;

	if (at == NULL || !idn_non_ascii(at + 1))
		return a;
	for (p = a; p < at; p++)
		if ((unsigned char)*p >= 0x80)
			return a;
	if (idn_to_ascii(at + 1, dom, sizeof(dom)) == -1)
		return a;
	n = snprintf(buf, len, "%.*s@%s", (int)(at - a), a, dom);
	return n < 0 || (size_t)n >= len ? a : buf;
}

size_t
received_format(char *out, size_t outlen, const struct received_info *ri)
{
	char helo[SMTP_DOMAIN_MAX + 1], date[64], forpart[SMTP_PATH_MAX + 16];
	char tlspart[192], ver[32], cipher[96], abuf[SMTP_PATH_MAX + 1];
	const char *rcpt;
	int n;

	sanitize(ri->helo ? ri->helo : "", helo, sizeof(helo), ".-_[]:");
	if (helo[0] == '\0')
		strlcpy(helo, "unknown", sizeof(helo));
	mail_date(ri->when, date, sizeof(date));
	forpart[0] = '\0';
	rcpt = ri->rcpt != NULL ? ascii_domain(ri->rcpt, abuf, sizeof(abuf)) :
	    NULL;
	if (rcpt && rcpt_plain(rcpt, ri->utf8) &&
	    snprintf(forpart, sizeof(forpart), "\r\n\tfor <%s>",
	    rcpt) >= (int)sizeof(forpart))
		return 0;
	tlspart[0] = '\0';
	if (ri->tls_version) {
		sanitize(ri->tls_version, ver, sizeof(ver), ".-_");
		sanitize(ri->tls_cipher ? ri->tls_cipher : "unknown", cipher,
		    sizeof(cipher), ".-_");
		snprintf(tlspart, sizeof(tlspart),
		    "\t(using %s with cipher %s (%d bits))\r\n", ver, cipher,
		    ri->tls_bits);
	}
	n = snprintf(out, outlen,
	    "Received: from %s (%s [%s%s])\r\n"
	    "%s"
	    "\tby %s (Empath) with %s id %s%s; %s\r\n",
	    helo, ri->client_name, ri->family == AF_INET6 ? "IPv6:" : "",
	    ri->client_addr, tlspart, ri->hostname, ri->proto, ri->msgid,
	    forpart, date);
	if (n < 0 || (size_t)n >= outlen)
		return 0;
	return (size_t)n;
}
