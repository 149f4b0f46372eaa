/* SPDX-License-Identifier: ISC */
/* 8bit to 7bit MIME conversion for servers without 8BITMIME (RFC 6152
 * section 3): the message is parsed as it streams (RFC 2045, RFC 2046),
 * every leaf part holding 8-bit octets under an identity encoding is
 * re-encoded as quoted-printable (RFC 2045 6.7), and composite parts
 * labelled 8bit are relabelled 7bit (RFC 2045 6.4).
 *
 * Two passes over the message: a plan (mime7_new(NULL, ...)) finds which
 * leaves hold 8-bit octets, whether the message can be converted at all,
 * and the size of the result; the conversion (mime7_new(plan, ...)) then
 * writes the converted message. Memory is bounded: one part header at a
 * time (MIME7_HEADER_MAX), one boundary line, one bit per leaf part. */
#ifndef EMPATH_DELIVERD_MIME7_H
#define EMPATH_DELIVERD_MIME7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIME7_DEPTH_MAX   20            /* nested multipart and message parts */
#define MIME7_HEADER_MAX  (64 * 1024)   /* one part's header */
#define MIME7_LEAVES_MAX  100000        /* leaf parts of one message */
#define MIME7_EMIT_MAX    4096          /* bytes per call of the emitter */

/* What the plan found; mime7_plan_free() releases it. */
struct mime7_plan {
	uint8_t *has8;            /* one bit per leaf part, in message order */
	size_t   nleaves;
	uint64_t size;            /* bytes of the converted message */
	bool     any8;            /* some octet of the message is >= 0x80 */
};

/* Receives the converted bytes, at most MIME7_EMIT_MAX at a time. */
typedef void (*mime7_emit)(void *arg, const char *buf, size_t len);

struct mime7;

/* plan NULL: make a plan (nothing is emitted). Otherwise convert after
 * plan, which must outlive the converter. */
struct mime7 *mime7_new(const struct mime7_plan *plan, mime7_emit, void *arg);
/* The next len bytes of the message (header and body, CRLF lines), in
 * chunks of any size. Returns 0, or -1 once the message turned out not
 * convertible (later calls keep looking for 8-bit octets only). */
int  mime7_feed(struct mime7 *, const char *in, size_t len);
/* The end of the message: flushes the rest. Returns 0 or -1. */
int  mime7_end(struct mime7 *);
/* Why the message cannot be converted ("" while it can). */
const char *mime7_error(const struct mime7 *);
/* After mime7_end() of a plan: move the result into *plan. */
void mime7_plan_take(struct mime7 *, struct mime7_plan *);
void mime7_plan_free(struct mime7_plan *);
void mime7_free(struct mime7 *);

/* Before MAIL FROM: plan the conversion of the first size bytes of the
 * message file fd (read with pread, MIME7_SCAN_CHUNK at a time). */
#define MIME7_SCAN_CHUNK  (16 * 1024)
enum mime7_scan {
	MIME7_SCAN_7BIT,          /* no 8-bit octet: send as it is */
	MIME7_SCAN_CONVERT,       /* convert with *plan */
	MIME7_SCAN_FAIL,          /* cannot be converted: why in err */
	MIME7_SCAN_READ,          /* the file could not be read (errno) */
};
enum mime7_scan mime7_prescan(int fd, uint64_t size, struct mime7_plan *plan,
    char *err, size_t errlen);

#endif
