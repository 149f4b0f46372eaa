/* SPDX-License-Identifier: ISC */
/* Dot-stuffing of the message file as it is streamed to the server.
 *
 * The spool file holds the message with CRLF line ends and without
 * stuffing. Line ends are still normalised here, so that no byte sequence
 * in a file can end the DATA phase early on any receiver: every LF goes
 * out as CRLF, and only "<CRLF>.<CRLF>" written by dotstuff_end() ends
 * the data. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "body.h"

void
dotstuff_init(struct dotstuff *s)
{
	s->bol = true;
	s->cr = false;
}

size_t
dotstuff(struct dotstuff *s, const char *in, size_t len, char *out)
{
	size_t i = 0, o = 0, n, end;
	const char *nl;

	/* Line by line: the bytes of a line are copied as they are, only
	 * its first byte and its end need a look. */
	while (i < len) {
		if (s->bol && in[i] == '.')
			out[o++] = '.';
		nl = memchr(in + i, '\n', len - i);
		end = nl != NULL ? (size_t)(nl - in) : len;
		n = end - i;
		if (n > 0) {
			memcpy(out + o, in + i, n);
			o += n;
			s->bol = false;
			s->cr = in[end - 1] == '\r';
		}
		i = end;
		if (nl != NULL) {
			/* A CR may have ended the chunk before. */
			if (!s->cr)
				out[o++] = '\r';
			out[o++] = '\n';
			s->bol = true;
			s->cr = false;
			i++;
		}
	}
	return o;
}

size_t
dotstuff_end(struct dotstuff *s, char *out)
{
	size_t o = 0;

	if (!s->bol) {
		/* A file ending in a bare CR gets only its LF. */
		if (!s->cr)
			out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	s->bol = true;
	s->cr = false;
	return o;
}

ssize_t
body_read(int fd, uint64_t off, uint64_t size, char *buf, size_t len)
{
	ssize_t n;

	if (off >= size)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	do
		n = pread(fd, buf, len, (off_t)off);
	while (n == -1 && errno == EINTR);
	if (n == 0) {
		errno = ENODATA;
		return -1;
	}
	return n;
}
