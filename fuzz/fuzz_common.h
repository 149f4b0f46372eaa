/* SPDX-License-Identifier: ISC */
/* Shared by the harnesses: quiet logs (stderr, errors only, so hostile
 * bytes still go through the formatting but the run is not slowed by
 * output), and a byte-stream reader for harness choices. */
#ifndef EMPATH_FUZZ_COMMON_H
#define EMPATH_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "log.h"

/* FUZZ_LOG=1 in the environment keeps every log line (debug level),
 * to see what a given input does. */
static inline void
fuzz_quiet_logs(void)
{
	const char *v = getenv("FUZZ_LOG");

	log_init("fuzz", 1, v != NULL && *v == '1');
	log_configure(LOGT_STDERR, LOGF_TEXT, LOGL_ERR);
}

struct fuzz_in {
	const uint8_t *p;
	size_t len;
};

static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->len > 0) {
		v = in->p[0];
		in->p++;
		in->len--;
	}
	return v;
}

static inline uint16_t
fuzz_u16(struct fuzz_in *in)
{
	return (uint16_t)(fuzz_u8(in) | fuzz_u8(in) << 8);
}

static inline uint32_t
fuzz_u32(struct fuzz_in *in)
{
	return (uint32_t)fuzz_u16(in) | (uint32_t)fuzz_u16(in) << 16;
}

/* The next n bytes (fewer at the end). */
static inline const uint8_t *
fuzz_take(struct fuzz_in *in, size_t *n)
{
	const uint8_t *p = in->p;

	if (*n > in->len)
		*n = in->len;
	in->p += *n;
	in->len -= *n;
	return p;
}

#endif
