/* SPDX-License-Identifier: ISC */
/* The message content decoder: bytes of DATA (dot-stuffed, ended by
 * <CRLF>.<CRLF>) or of BDAT chunks (counted, no stuffing) in, the bytes to
 * store out, and the reasons to refuse the message. Pure code without
 * I/O or allocation, so that it can be unit tested and fuzzed on its own
 * (fuzz/fuzz_decode.c).
 *
 * Only <CRLF>.<CRLF> ends DATA: a "." line ends the data only when it is
 * terminated by CRLF and the line before it was too (the DATA command
 * counts as one). A bare LF or bare CR anywhere, in DATA or BDAT, marks
 * the message refused, as does a NUL octet (never valid in 7BIT or
 * 8BITMIME content, RFC 5321 §2.3.8 and RFC 6152; we offer no
 * BINARYMIME), a line over 998 octets (RFC 5322), content whose first
 * line begins with SP or HT (it would fold into the Received: field we
 * write above it, RFC 5322 §2.2.3) or content over the size limit; the
 * decoder reads on to the real end so
 * that no byte of a refused message can be taken for a command ("SMTP
 * smuggling"). The output of a message that is not refused is exactly
 * the content: CRLF line ends, no stuffing dots. */
#ifndef EMPATH_SMTPD_DECODE_H
#define EMPATH_SMTPD_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reasons to refuse a message (kept reading to its end, then rolled
 * back). The decoder sets TX_TOOBIG to TX_LONG_LINE, TX_NUL and
 * TX_FOLDED; the session adds the others. */
#define TX_TOOBIG     0x01
#define TX_BARE_LF    0x02
#define TX_BARE_CR    0x04
#define TX_LONG_LINE  0x08
#define TX_WRITE_ERR  0x10
#define TX_QUEUE_LOST 0x20         /* queued restarted: its file is gone */
#define TX_HOPS       0x40         /* more Received: fields than max-hops */
#define TX_NUL        0x80         /* a NUL octet in the content */
#define TX_FOLDED     0x100        /* the first line begins with SP or HT */
#define TX_REJECT     (TX_TOOBIG | TX_BARE_LF | TX_BARE_CR | TX_LONG_LINE | \
                       TX_WRITE_ERR | TX_QUEUE_LOST | TX_HOPS | TX_NUL | \
                       TX_FOLDED)

struct msgdec {
	uint64_t max;              /* size limit of the output, 0: none */
	uint64_t size;             /* output bytes so far (also past max) */
	unsigned flags;            /* TX_* found so far */
	unsigned linelen;          /* octets of the current line, capped */
	bool     bdat;             /* no stuffing, no terminator */
	bool     bol;              /* at the start of a line */
	bool     prev_crlf;        /* the last line ended in CRLF */
	bool     cr;               /* the last byte was a CR, not yet placed */
	bool     dot;              /* the current line began with a dot */
	bool     done;             /* DATA: the terminator was consumed */
};

void msgdec_init(struct msgdec *, bool bdat, uint64_t max);
/* Decode from in (len bytes). Decoded bytes are appended at out, which
 * must have room for len + 2 bytes; *outlen receives how many. Returns
 * the number of input bytes consumed: all of them, except in DATA mode
 * when the terminator is found (d->done): what follows it is not
 * message content. Nothing is output once the message is refused. */
size_t msgdec_feed(struct msgdec *, const char *in, size_t len, char *out,
                   size_t *outlen);
/* BDAT LAST: close the content. A CR left at the very end is a bare CR;
 * a last line without CRLF gets one (the stored message always ends with
 * CRLF, as DATA delivery needs). out needs room for 2 bytes. */
void msgdec_finish(struct msgdec *, char *out, size_t *outlen);

#endif
