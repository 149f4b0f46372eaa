/* SPDX-License-Identifier: ISC */
/* The message body on the wire: dot-stuffing (RFC 5321 4.5.2) of the
 * spooled file, streamed in chunks, with line ends made CRLF and the
 * terminating "<CRLF>.<CRLF>". */
#ifndef EMPATH_DELIVERD_BODY_H
#define EMPATH_DELIVERD_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Room dotstuff() may need for len input bytes: a '.' at the start of a
 * line and a bare LF each become two bytes. */
#define DOTSTUFF_OUT_MAX(len)  (2 * (len))
/* Room dotstuff_end() may need: CRLF, ".", CRLF. */
#define DOTSTUFF_END_MAX       5

struct dotstuff {
	bool bol;                 /* the next byte starts a line */
	bool cr;                  /* the last byte was a CR */
};

void   dotstuff_init(struct dotstuff *);
/* Encode len bytes of the file into out (DOTSTUFF_OUT_MAX(len) bytes of
 * room); returns the bytes written. Chunks may split a line or a CRLF
 * anywhere. A bare LF becomes CRLF; a bare CR is passed as it is. */
size_t dotstuff(struct dotstuff *, const char *in, size_t len, char *out);
/* The end of the data: a CRLF when the file did not end with one, then
 * ".\r\n". Returns the bytes written. */
size_t dotstuff_end(struct dotstuff *, char *out);

/* Read the next chunk of the message into buf: at most the first size
 * bytes of fd (the size queued stored, so that bytes appended to the file
 * after its checks never go out), from off. Returns the bytes read, 0 at
 * size, -1 on a read error, or -1 with errno ENODATA when the file ends
 * before size. */
ssize_t body_read(int fd, uint64_t off, uint64_t size, char *buf, size_t len);

#endif
