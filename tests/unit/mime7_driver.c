/* SPDX-License-Identifier: ISC */
/* See mime7_driver.h. Plain abort() rather than check's assertions: the
 * fuzzer links this too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime7_driver.h"

void
mime7_buf_emit(void *arg, const char *p, size_t n)
{
	struct mime7_buf *b = arg;

	if (n == 0 || n > MIME7_EMIT_MAX)
		abort();
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

int
mime7_drive(struct mime7 *m, const char *msg, size_t len, size_t chunk)
{
	size_t off, n;
	int r = 0;

	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		if (mime7_feed(m, msg + off, n) == -1)
			r = -1;
	}
	return mime7_end(m) == -1 ? -1 : r;
}

int
mime7_drive_convert(const char *msg, size_t len, size_t chunk,
    struct mime7_buf *out, struct mime7_plan *plan, char *err, size_t errlen)
{
	struct mime7 *m = mime7_new(NULL, NULL, NULL);
	int r;

	memset(out, 0, sizeof(*out));
	if (mime7_drive(m, msg, len, chunk) == -1) {
		snprintf(err, errlen, "%s", mime7_error(m));
		mime7_free(m);
		return -1;
	}
	mime7_plan_take(m, plan);
	mime7_free(m);
	m = mime7_new(plan, mime7_buf_emit, out);
	r = mime7_drive(m, msg, len, chunk);
	mime7_free(m);
	if (r == -1)
		return -2;
	if (out->p == NULL && (out->p = calloc(1, 1)) != NULL)
		out->cap = 1;
	return out->p != NULL ? 0 : -2;
}
