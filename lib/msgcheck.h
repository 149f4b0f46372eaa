/* SPDX-License-Identifier: ISC */
/* A message as it will be stored: measured, and what smtpd refuses in
 * DATA found (RFC 5322 section 2.1: no NUL; 2.1.1: at most 998 octets
 * a line without its end). Used by empath-sendmail before it submits
 * and by queued before it queues a drop file, so that neither lets
 * through what the other or smtpd would refuse. */
#ifndef EMPATH_MSGCHECK_H
#define EMPATH_MSGCHECK_H

#include <stdbool.h>
#include <stddef.h>

#define MSGCHECK_LINE_MAX 998

/* Line ends are LF, or CRLF (counted as one). With MSGCHECK_BARE_CR a
 * CR not followed by LF ends a line too (as queued converts it);
 * without it, that CR is a character of its line (as sendmail passes
 * it on). */
#define MSGCHECK_BARE_CR 0x1

struct msgcheck {
	size_t   size;        /* every line end made CRLF; a last line
	                       * without its end counted with one */
	unsigned hops;        /* Received: fields of the header */
	bool     eightbit;    /* an octet above 127 */
	bool     lead_wsp;    /* the first line starts with SP or HT */
	size_t   nul_line;    /* the first line with a NUL (1-based), 0: none */
	size_t   long_line;   /* the first line over MSGCHECK_LINE_MAX, 0: none */
	size_t   long_len;    /* its length, its end excluded */
};

/* Is line (n octets, its end excluded) a Received: field's first line
 * (RFC 5322 3.6.7; white space before the colon, 4.5.3)? */
bool msgcheck_is_received(const char *line, size_t n);
/* Measure buf (len octets) as a whole; flags: MSGCHECK_*. */
void msgcheck_measure(const char *buf, size_t len, unsigned flags,
    struct msgcheck *mc);

#endif
