/* The Received: trace header (RFC 5321 §4.4, RFC 5322 §3.6.7):
 *
 *   Received: from HELO (NAME [ADDR])
 *   	by HOSTNAME (Empath) with ESMTP id MSGID
 *   	for <RCPT>; DATE
 *
 * ("for" only with a single recipient; otherwise "; DATE" ends the
 * "by" line.)
 * The HELO name is the client's word: anything outside the characters
 * of a domain or address literal becomes '?', so it can neither fold the
 * header nor open a comment. IPv6 clients are written as RFC 5321 address
 * literals ([IPv6:...]). The date is UTC, which needs no time zone files
 * inside the chroot. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "smtpd.h"

static void
sanitize_helo(const char *in, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == '_' || c == '[' || c == ']' || c == ':')
			out[i] = (char)c;
		else
			out[i] = '?';
	}
	out[i] = '\0';
}

size_t
received_format(char *out, size_t outlen, const struct received_info *ri)
{
	char helo[SMTP_DOMAIN_MAX + 1], date[64], forpart[SMTP_PATH_MAX + 16];
	struct tm tm;
	time_t t = (time_t)ri->when;
	int n;

	sanitize_helo(ri->helo ? ri->helo : "", helo, sizeof(helo));
	if (helo[0] == '\0')
		strlcpy(helo, "unknown", sizeof(helo));
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		strlcpy(date, "Thu, 01 Jan 1970 00:00:00 +0000", sizeof(date));
	forpart[0] = '\0';
	if (ri->rcpt && snprintf(forpart, sizeof(forpart), "\r\n\tfor <%s>",
	    ri->rcpt) >= (int)sizeof(forpart))
		return 0;
	n = snprintf(out, outlen,
	    "Received: from %s (%s [%s%s])\r\n"
	    "\tby %s (Empath) with %s id %s%s; %s\r\n",
	    helo, ri->client_name, ri->family == AF_INET6 ? "IPv6:" : "",
	    ri->client_addr, ri->hostname, ri->proto, ri->msgid, forpart, date);
	if (n < 0 || (size_t)n >= outlen)
		return 0;
	return (size_t)n;
}
