/* Dot-stuffing of the message file as it is streamed to the server.
 *
 * The spool file holds the message with CRLF line ends and without
 * stuffing. Line ends are still normalised here, so that no byte sequence
 * in a file can end the DATA phase early on any receiver: every LF goes
 * out as CRLF, and only "<CRLF>.<CRLF>" written by dotstuff_end() ends
 * the data. */
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
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '\n') {
			if (!s->cr)
				out[o++] = '\r';
			out[o++] = '\n';
			s->bol = true;
			s->cr = false;
			continue;
		}
		if (s->bol && c == '.')
			out[o++] = '.';
		out[o++] = c;
		s->bol = false;
		s->cr = (c == '\r');
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
