/* Buffered, non-blocking line I/O on a stream socket (SMTP both ways).
 * Buffers grow on demand and shrink when idle (lio_compact), so an idle
 * session costs little memory. The input buffer never exceeds LIO_MAX_IN.
 * The output buffer has no fixed bound: callers bound what they queue
 * (replies are short; a producer checks lio_out_pending() and stops
 * reading its source until lio_flush() has drained it). */
#ifndef EMPATH_LINEIO_H
#define EMPATH_LINEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LIO_MAX_IN   (64 * 1024)     /* bound of the input buffer */

struct lineio {
	int     fd;
	char   *in;
	size_t  in_len, in_off, in_cap;
	char   *out;
	size_t  out_len, out_off, out_cap;
	bool    eof;
	bool    skipping;                 /* discarding the rest of a too-long line */
};

enum lio_line { LIO_NONE = 0, LIO_LINE = 1, LIO_TOOLONG = -1 };

void lio_init(struct lineio *, int fd);
void lio_free(struct lineio *);       /* frees buffers, does not close fd */
/* One read of what the socket has: >0 bytes read, 0 EOF, -1 would block,
 * -2 error (errno set). Also -1 without reading when the input buffer is
 * full, which lio_getline() prevents by dropping too-long lines: take all
 * lines before filling again. */
ssize_t lio_fill(struct lineio *);
/* Next line without its terminator. *crlf tells whether it ended in CRLF
 * (false: bare LF). A line longer than max is reported once as
 * LIO_TOOLONG and the rest of it up to the next LF is dropped. The
 * returned line is NUL-terminated (it may also contain NULs: use *len)
 * and stays valid until the next lio call on this lineio. max is capped
 * at LIO_MAX_IN - 2. An unterminated last line before EOF is not
 * returned (lio_buffered() tells it is there). */
enum lio_line lio_getline(struct lineio *, size_t max, char **line, size_t *len,
                          bool *crlf);
/* Bytes buffered but not yet consumed by lio_getline. */
size_t lio_buffered(const struct lineio *);
void lio_write(struct lineio *, const void *, size_t);
void lio_printf(struct lineio *, const char *, ...) __attribute__((format(printf, 2, 3)));
/* 1 all written, 0 more remains (wait for EV_WRITE), -1 error. */
int  lio_flush(struct lineio *);
size_t lio_out_pending(const struct lineio *);
/* Give back memory of an idle connection. */
void lio_compact(struct lineio *);

#endif
