/* SPDX-License-Identifier: ISC */
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
	struct ssl_st *ssl;               /* NULL: plain TCP */
	int     tls_want;                 /* EV_READ/EV_WRITE the TLS layer waits for */
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
/* Raw access to the buffered input (BDAT chunks, the DATA decoder):
 * lio_peek() points *data at the unconsumed bytes and returns how many
 * (valid until the next lio call); lio_consume() takes n <= that many. */
size_t lio_peek(struct lineio *, char **data);
void lio_consume(struct lineio *, size_t n);
void lio_write(struct lineio *, const void *, size_t);
void lio_printf(struct lineio *, const char *, ...) __attribute__((format(printf, 2, 3)));
/* 1 all written, 0 more remains (wait for EV_WRITE), -1 error. */
int  lio_flush(struct lineio *);
size_t lio_out_pending(const struct lineio *);
/* Give back memory of an idle connection. */
void lio_compact(struct lineio *);

/* ---- TLS (lib/tls.c): the same lineio, encrypted once started ----
 * lio_fill and lio_flush go through OpenSSL when lio->ssl is set; when
 * they return -1 (would block), lio_tls_events() says which readiness
 * the TLS layer needs next (a read may need the socket writable). */
struct ssl_ctx_st;
/* TLS 1.2 and up. NULL on error, with a reason in err. */
struct ssl_ctx_st *tls_server_ctx(const char *cert_file, const char *key_file,
                                  char *err, size_t errlen);
/* Verifies against the system CA store when verify is set. */
struct ssl_ctx_st *tls_client_ctx(bool verify, char *err, size_t errlen);
/* Begin TLS on a connection whose input buffer is empty (STARTTLS: the
 * caller discards anything pipelined after the command first).
 * peer_name is the SNI and the name verified (client side), or NULL. */
int  lio_tls_start(struct lineio *, struct ssl_ctx_st *, bool server,
                   const char *peer_name);
/* Drive the handshake: 1 done, 0 in progress (wait for lio_tls_events()),
 * -1 failed (reason in err, safe to log). */
int  lio_tls_handshake(struct lineio *, char *err, size_t errlen);
int  lio_tls_events(const struct lineio *);
const char *lio_tls_version(const struct lineio *);   /* "TLSv1.3" or NULL */
const char *lio_tls_cipher(const struct lineio *);
bool lio_tls_verified(const struct lineio *);          /* peer certificate verified */
/* Decrypted bytes OpenSSL holds that lio_fill() can take without the
 * socket becoming readable: a reader that stops before -1 (its buffer is
 * full, it paused) must fill again when this is non-zero, not wait. */
size_t lio_tls_pending(const struct lineio *);
int  lio_tls_bits(const struct lineio *);              /* cipher strength */
/* Best effort close_notify (one non-blocking attempt) before closing. */
void lio_tls_shutdown(struct lineio *);

#endif
