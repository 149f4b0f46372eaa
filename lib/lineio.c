/* SPDX-License-Identifier: ISC */
/* Buffered, non-blocking line I/O (see lineio.h), plain or through TLS
 * (contexts and handshake in tls.c). The input buffer is
 * allocated on first read, doubles from LIO_CHUNK up to LIO_MAX_IN and is
 * given back by lio_compact() when idle; a line that cannot fit is
 * reported once as too long and skipped, never buffered. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "event.h"
#include "lineio.h"
#include "log.h"
#include "util.h"

#define LIO_CHUNK 1024

void
lio_init(struct lineio *lio, int fd)
{
	memset(lio, 0, sizeof(*lio));
	lio->fd = fd;
}

void
lio_free(struct lineio *lio)
{
	int fd = lio->fd;

	if (lio->ssl != NULL)
		SSL_free(lio->ssl);   /* never closes the fd */
	free(lio->in);
	free(lio->out);
	lio_init(lio, fd);
}

/* Move unconsumed input to the front of the buffer. */
static void
in_shift(struct lineio *lio)
{
	size_t pending = lio->in_len - lio->in_off;

	if (lio->in_off == 0)
		return;
	if (pending > 0)
		memmove(lio->in, lio->in + lio->in_off, pending);
	lio->in_len = pending;
	lio->in_off = 0;
}

/* An SSL_read/SSL_write that did not succeed: -1 when it waits for
 * the socket (tls_want says which way), -2 on error, 0 on a clean close. */
static int
tls_status(struct lineio *lio, int r)
{
	switch (SSL_get_error(lio->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		lio->tls_want = EV_READ;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		lio->tls_want = EV_WRITE;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (errno == EINTR)
			return -1;
		if (errno == 0)
			errno = ECONNRESET;
		return -2;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -2;
	}
}

/* lio_fill through TLS: the buffer has room. Takes also what OpenSSL
 * already decrypted, as long as it fits, so that little is left behind
 * that the socket's readiness would not announce (see lio_tls_pending). */
static ssize_t
tls_fill(struct lineio *lio)
{
	size_t total = 0;
	int n, st;

	do {
		ERR_clear_error();
		errno = 0;
		n = SSL_read(lio->ssl, lio->in + lio->in_len,
		    (int)(lio->in_cap - lio->in_len));
		if (n <= 0) {
			st = tls_status(lio, n);
			if (total > 0)
				break;   /* report the bytes; the status recurs */
			if (st == 0)
				lio->eof = true;
			return st;
		}
		lio->tls_want = 0;
		lio->in_len += (size_t)n;
		total += (size_t)n;
	} while (lio->in_len < lio->in_cap && SSL_pending(lio->ssl) > 0);
	return (ssize_t)total;
}

static int
tls_flush(struct lineio *lio)
{
	size_t left;
	int n, st;

	while ((left = lio->out_len - lio->out_off) > 0) {
		ERR_clear_error();
		errno = 0;
		n = SSL_write(lio->ssl, lio->out + lio->out_off,
		    left > INT_MAX ? INT_MAX : (int)left);
		if (n <= 0) {
			st = tls_status(lio, n);
			return st == -1 ? 0 : -1;
		}
		lio->tls_want = 0;
		lio->out_off += (size_t)n;
	}
	lio->out_off = lio->out_len = 0;
	return 1;
}

ssize_t
lio_fill(struct lineio *lio)
{
	size_t ncap;
	ssize_t n;

	if (lio->eof)
		return 0;
	in_shift(lio);
	if (lio->in_len == lio->in_cap) {
		if (lio->in_cap >= LIO_MAX_IN)
			return -1;   /* full: the caller must take lines first */
		ncap = lio->in_cap ? lio->in_cap * 2 : LIO_CHUNK;
		if (ncap > LIO_MAX_IN)
			ncap = LIO_MAX_IN;
		lio->in = xreallocarray(lio->in, ncap, 1);
		lio->in_cap = ncap;
	}
	if (lio->ssl != NULL)
		return tls_fill(lio);
	for (;;) {
		n = read(lio->fd, lio->in + lio->in_len, lio->in_cap - lio->in_len);
		if (n > 0) {
			lio->in_len += (size_t)n;
			return n;
		}
		if (n == 0) {
			lio->eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -1;
		return -2;
	}
}

enum lio_line
lio_getline(struct lineio *lio, size_t max, char **line, size_t *len,
    bool *crlf)
{
	char *data, *lf;
	size_t avail, n;

	/* A larger max could never be exceeded by a full buffer, and the
	 * reader would stall: keep room for the CR and LF. */
	if (max > LIO_MAX_IN - 2)
		max = LIO_MAX_IN - 2;
	for (;;) {
		avail = lio->in_len - lio->in_off;
		if (avail == 0)
			return LIO_NONE;   /* also when lio->in is not allocated */
		data = lio->in + lio->in_off;
		lf = memchr(data, '\n', avail);
		if (lio->skipping) {
			if (lf == NULL) {
				lio->in_off = lio->in_len;
				return LIO_NONE;
			}
			lio->in_off += (size_t)(lf - data) + 1;
			lio->skipping = false;
			continue;
		}
		if (lf == NULL) {
			/* A trailing CR may still turn out to be the terminator. */
			n = avail - (data[avail - 1] == '\r');
			if (n <= max)
				return LIO_NONE;
			lio->in_off = lio->in_len;
			lio->skipping = true;
			return LIO_TOOLONG;
		}
		n = (size_t)(lf - data);
		lio->in_off += n + 1;
		*crlf = n > 0 && data[n - 1] == '\r';
		if (*crlf)
			n--;
		if (n > max)
			return LIO_TOOLONG;
		data[n] = '\0';   /* the CR or LF, already consumed */
		*line = data;
		*len = n;
		return LIO_LINE;
	}
}

size_t
lio_buffered(const struct lineio *lio)
{
	return lio->in_len - lio->in_off;
}

size_t
lio_peek(struct lineio *lio, char **data)
{
	*data = lio->in ? lio->in + lio->in_off : NULL;
	return lio->in_len - lio->in_off;
}

void
lio_consume(struct lineio *lio, size_t n)
{
	if (n > lio->in_len - lio->in_off)
		fatalx("lineio: consuming more than is buffered");
	lio->in_off += n;
}

/* Make room for need more bytes of output. */
static void
out_reserve(struct lineio *lio, size_t need)
{
	size_t pending = lio->out_len - lio->out_off, ncap;

	if (lio->out_cap - lio->out_len >= need)
		return;
	if (lio->out_off > 0) {
		memmove(lio->out, lio->out + lio->out_off, pending);
		lio->out_len = pending;
		lio->out_off = 0;
		if (lio->out_cap - lio->out_len >= need)
			return;
	}
	if (need > SIZE_MAX / 2 - pending)
		fatalx("lineio: output buffer overflow");
	ncap = lio->out_cap ? lio->out_cap : LIO_CHUNK;
	while (ncap - pending < need)
		ncap *= 2;
	lio->out = xreallocarray(lio->out, ncap, 1);
	lio->out_cap = ncap;
}

void
lio_write(struct lineio *lio, const void *buf, size_t len)
{
	if (len == 0)
		return;
	out_reserve(lio, len);
	memcpy(lio->out + lio->out_len, buf, len);
	lio->out_len += len;
}

void
lio_printf(struct lineio *lio, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("lineio: bad format");
	out_reserve(lio, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(lio->out + lio->out_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	lio->out_len += (size_t)n;
}

int
lio_flush(struct lineio *lio)
{
	ssize_t n;
	size_t left;

	if (lio->ssl != NULL)
		return tls_flush(lio);
	while ((left = lio->out_len - lio->out_off) > 0) {
		/* MSG_NOSIGNAL: a peer that went away is an error, not SIGPIPE. */
		n = send(lio->fd, lio->out + lio->out_off, left, MSG_NOSIGNAL);
		if (n == -1 && errno == ENOTSOCK)
			n = write(lio->fd, lio->out + lio->out_off, left);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		if (n == 0)
			return 0;
		lio->out_off += (size_t)n;
	}
	lio->out_off = lio->out_len = 0;
	return 1;
}

size_t
lio_out_pending(const struct lineio *lio)
{
	return lio->out_len - lio->out_off;
}

/* Shrink a buffer holding pending bytes to the smallest power-of-two
 * multiple of LIO_CHUNK that holds them, or free it when empty. */
static void
shrink(char **buf, size_t *len, size_t *off, size_t *cap)
{
	size_t pending = *len - *off, ncap = LIO_CHUNK;

	if (pending == 0) {
		free(*buf);
		*buf = NULL;
		*len = *off = *cap = 0;
		return;
	}
	if (*off > 0) {
		memmove(*buf, *buf + *off, pending);
		*len = pending;
		*off = 0;
	}
	while (ncap < pending)
		ncap *= 2;
	if (ncap < *cap) {
		*buf = xreallocarray(*buf, ncap, 1);
		*cap = ncap;
	}
}

void
lio_compact(struct lineio *lio)
{
	shrink(&lio->in, &lio->in_len, &lio->in_off, &lio->in_cap);
	shrink(&lio->out, &lio->out_len, &lio->out_off, &lio->out_cap);
}
