/* SPDX-License-Identifier: ISC */
/* The hop count of a message (RFC 5321 6.3): its Received: header
 * fields, counted as its content streams in (nothing is buffered). Only
 * the header section counts, up to the first empty line; the field name
 * is matched without regard to case, with the obsolete white space before
 * the colon (RFC 5322 4.5) allowed. Pure code: fed the decoded content
 * (CRLF line ends, no stuffing), cut anywhere. */
#ifndef EMPATH_SMTPD_HOPS_H
#define EMPATH_SMTPD_HOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hopcount {
	unsigned n;                /* Received: fields so far */
	bool     done;             /* the header section is over */
	bool     mid;              /* inside a line (not at its start) */
	uint8_t  pos;              /* octets of the name matched; HOP_NOMATCH */
};

void hops_init(struct hopcount *);
void hops_feed(struct hopcount *, const char *buf, size_t len);

#endif
