/* SPDX-License-Identifier: ISC */
/* The message content decoder (see decode.h): a byte-at-a-time state
 * machine over a line's start, a pending CR and the line's length, so
 * that it gives the same result however the input is cut into reads. */
#include <string.h>

#include "decode.h"
#include "smtp.h"

void
msgdec_init(struct msgdec *d, bool bdat, uint64_t max)
{
	memset(d, 0, sizeof(*d));
	d->bdat = bdat;
	d->max = max;
	d->bol = true;
	d->prev_crlf = true;
}

/* One byte of content for the current line (not CR or LF). */
static void
put(struct msgdec *d, char c, char *out, size_t *n)
{
	if (c == '\0')
		d->flags |= TX_NUL;
	/* SP/HT first would fold into our Received: (RFC 5322 §2.2.3):
	 * refused, not made body by a blank line before it (Postfix's way). */
	if (d->size == 0 && (c == ' ' || c == '\t'))
		d->flags |= TX_FOLDED;
	if (d->linelen <= SMTP_TEXT_LINE_MAX)
		d->linelen++;
	if (d->linelen > SMTP_TEXT_LINE_MAX)
		d->flags |= TX_LONG_LINE;
	d->size++;
	if (d->max && d->size > d->max)
		d->flags |= TX_TOOBIG;
	if (!(d->flags & TX_REJECT))
		out[(*n)++] = c;
}

static void
line_end(struct msgdec *d, bool crlf, char *out, size_t *n)
{
	d->size += crlf ? 2 : 1;
	if (d->max && d->size > d->max)
		d->flags |= TX_TOOBIG;
	if (!crlf)
		d->flags |= TX_BARE_LF;
	if (!(d->flags & TX_REJECT)) {
		out[(*n)++] = '\r';
		out[(*n)++] = '\n';
	}
	d->prev_crlf = crlf;
	d->bol = true;
	d->dot = false;
	d->linelen = 0;
}

size_t
msgdec_feed(struct msgdec *d, const char *in, size_t len, char *out,
    size_t *outlen)
{
	size_t i, n = 0;
	char c;

	for (i = 0; i < len && !d->done; i++) {
		c = in[i];
		if (d->cr) {
			d->cr = false;
			if (c == '\n') {
				/* "." CRLF after CRLF: the end of DATA. */
				if (!d->bdat && d->dot && d->linelen == 0 &&
				    d->prev_crlf) {
					d->done = true;
					continue;   /* i++ consumes the LF */
				}
				line_end(d, true, out, &n);
				continue;
			}
			d->flags |= TX_BARE_CR;
			put(d, '\r', out, &n);
		}
		if (d->bol) {
			d->bol = false;
			if (c == '.' && !d->bdat) {
				d->dot = true;  /* a stuffing dot: dropped */
				continue;
			}
		}
		if (c == '\r')
			d->cr = true;
		else if (c == '\n')
			line_end(d, false, out, &n);
		else
			put(d, c, out, &n);
	}
	*outlen = n;
	return i;
}

void
msgdec_finish(struct msgdec *d, char *out, size_t *outlen)
{
	size_t n = 0;

	if (d->cr) {
		d->cr = false;
		d->flags |= TX_BARE_CR;
	}
	if (!d->bol)
		line_end(d, true, out, &n);
	*outlen = n;
}
