/* SPDX-License-Identifier: ISC */
/* Quoted-printable encoding for the 7bit conversion (mime7_qp.c); only
 * mime7.c uses it. */
#ifndef EMPATH_DELIVERD_MIME7_QP_H
#define EMPATH_DELIVERD_MIME7_QP_H

#include <stdbool.h>
#include <stddef.h>

/* Receives the encoded bytes, a token or a line break at a time. */
typedef void (*qp_out_fn)(void *arg, const char *buf, size_t len);

struct qp_enc {
	qp_out_fn out;
	void    *arg;
	size_t   col;             /* octets on the current line */
	char     pend_ws;         /* white space held: literal unless a break */
	bool     pend_cr;         /* a CR held: a line break if LF follows */
};

void qp_init(struct qp_enc *, qp_out_fn, void *arg);
void qp_reset(struct qp_enc *);              /* a new part starts */
void qp_byte(struct qp_enc *, unsigned char);
void qp_end(struct qp_enc *);                /* the part ends, no break */

#endif
