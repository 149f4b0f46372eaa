/* SPDX-License-Identifier: ISC */
/* The driver of deliverd's 7bit conversion shared by its unit test
 * (test_deliverd_mime7.c) and its fuzzer (fuzz/fuzz_mime7.c): a message
 * fed through mime7 in chunks of a chosen size, the output collected. */
#ifndef EMPATH_TEST_MIME7_DRIVER_H
#define EMPATH_TEST_MIME7_DRIVER_H

#include <stddef.h>

#include "../../deliverd/mime7.h"

/* The converted bytes, NUL-terminated (p stays NULL until the first). */
struct mime7_buf {
	char  *p;
	size_t len, cap;
};

/* A mime7_emit that appends to the mime7_buf arg. Aborts on an empty
 * call or one over MIME7_EMIT_MAX (mime7.h promises neither happens). */
void mime7_buf_emit(void *arg, const char *p, size_t n);

/* Feed len bytes of msg to m in chunks of chunk bytes (the last one
 * shorter), then mime7_end(). -1 when any call returned -1. */
int  mime7_drive(struct mime7 *, const char *msg, size_t len, size_t chunk);

/* Plan msg, then convert it by the plan into *out (zeroed first; p is
 * never NULL after a success), both in chunks of chunk bytes. -1 when
 * the plan says it cannot be converted (why in err), -2 when the plan
 * said it can but the conversion failed, 0 otherwise. */
int  mime7_drive_convert(const char *msg, size_t len, size_t chunk,
    struct mime7_buf *out, struct mime7_plan *plan, char *err, size_t errlen);

#endif
