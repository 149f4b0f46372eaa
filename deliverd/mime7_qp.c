/* SPDX-License-Identifier: ISC */
/* The quoted-printable encoder of the 7bit conversion (RFC 2045 6.7),
 * streaming one octet at a time: CRLF line breaks stay hard breaks (a
 * bare LF becomes one too), lines are kept at 76 octets with soft
 * breaks, white space before a break and every octet that is not
 * printable ASCII (and "=") are encoded, and no line starts with "-",
 * so none can look like a boundary delimiter (RFC 2046 5.1.1).
 * Private to mime7.c. */
#include "mime7_qp.h"

#define QP_LINE       76          /* RFC 2045 6.7 (5) */

void
qp_init(struct qp_enc *q, qp_out_fn out, void *arg)
{
	q->out = out;
	q->arg = arg;
	qp_reset(q);
}

void
qp_reset(struct qp_enc *q)
{
	q->col = 0;
	q->pend_ws = 0;
	q->pend_cr = false;
}

static void
qp_token(struct qp_enc *q, const char *t, size_t w)
{
	/* Room for the "=" of a soft line break keeps lines at 76. */
	if (q->col + w > QP_LINE - 1) {
		q->out(q->arg, "=\r\n", 3);
		q->col = 0;
	}
	/* No encoded line starts with "-", so none can be a boundary
	 * delimiter (RFC 2046 5.1.1), whatever the soft breaks do. */
	if (q->col == 0 && w == 1 && t[0] == '-') {
		t = "=2D";
		w = 3;
	}
	q->out(q->arg, t, w);
	q->col += w;
}

static void
qp_hex(struct qp_enc *q, unsigned char b)
{
	static const char hex[] = "0123456789ABCDEF";
	char t[3] = { '=', hex[b >> 4], hex[b & 15] };

	qp_token(q, t, 3);
}

/* Whitespace is held one byte: at the end of a line it must be encoded
 * (rule 3); anywhere else it stays literal. */
static void
qp_flush_ws(struct qp_enc *q, bool eol)
{
	if (q->pend_ws == 0)
		return;
	if (eol)
		qp_hex(q, (unsigned char)q->pend_ws);
	else
		qp_token(q, &q->pend_ws, 1);
	q->pend_ws = 0;
}

static void
qp_eol(struct qp_enc *q)
{
	qp_flush_ws(q, true);
	q->out(q->arg, "\r\n", 2);
	q->col = 0;
}

void
qp_byte(struct qp_enc *q, unsigned char b)
{
	if (q->pend_cr) {
		q->pend_cr = false;
		if (b == '\n') {
			qp_eol(q);
			return;
		}
		qp_flush_ws(q, false);
		qp_hex(q, '\r');
	}
	if (b == '\r') {
		q->pend_cr = true;
		return;
	}
	if (b == '\n') {          /* a bare LF: deliverd sends it as CRLF */
		qp_eol(q);
		return;
	}
	qp_flush_ws(q, false);
	if (b == ' ' || b == '\t')
		q->pend_ws = (char)b;
	else if (b >= 33 && b <= 126 && b != '=')
		qp_token(q, (const char *)&b, 1);
	else
		qp_hex(q, b);
}

/* The end of the part without a line break. */
void
qp_end(struct qp_enc *q)
{
	if (q->pend_cr) {
		q->pend_cr = false;
		qp_flush_ws(q, false);
		qp_hex(q, '\r');
	}
	qp_flush_ws(q, true);
	q->col = 0;
}
