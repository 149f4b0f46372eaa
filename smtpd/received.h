/* SPDX-License-Identifier: ISC */
/* The Received: header smtpd writes at the top of each message
 * (received.c, used by data.c). */
#ifndef EMPATH_SMTPD_RECEIVED_H
#define EMPATH_SMTPD_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct received_info {
	const char *helo;              /* as given by the client */
	const char *client_name;       /* reverse name or "unknown" */
	const char *client_addr;       /* numeric */
	int         family;            /* AF_INET or AF_INET6 */
	const char *hostname;          /* ours */
	const char *proto;             /* "SMTP", "ESMTP", "ESMTPS", "UTF8SMTPS"... */
	const char *tls_version;       /* NULL without TLS */
	const char *tls_cipher;
	int         tls_bits;
	const char *msgid;
	const char *rcpt;              /* NULL unless exactly one recipient */
	bool        utf8;              /* SMTPUTF8: rcpt may be UTF-8 */
	int64_t     when;              /* wall seconds */
};
/* Format the header, CRLF-terminated lines. Returns its length, or 0
 * when it does not fit in outlen. */
size_t received_format(char *out, size_t outlen, const struct received_info *);

#endif
