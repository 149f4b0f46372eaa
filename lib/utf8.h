/* SPDX-License-Identifier: ISC */
/* The one UTF-8 decoder and encoder (RFC 3629): every parser, escaper
 * and encoder of the tree goes through these two functions, so that
 * "well-formed" means the same thing everywhere. */
#ifndef EMPATH_UTF8_H
#define EMPATH_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1 to 4) of the well-formed sequence at s, of which avail
 * octets are readable, with its code point in *cp (when cp is not
 * NULL); an ASCII octet is a sequence of 1. 0 when s does not start a
 * well-formed sequence (RFC 3629 section 3: a stray continuation octet,
 * an overlong form, a surrogate, past U+10FFFF, or cut short) or when
 * avail is 0. */
size_t utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp);

/* The encoding of cp in out; returns its length (1 to 4), or 0 for a
 * surrogate or a value past U+10FFFF, which are no characters. */
size_t utf8_encode(uint32_t cp, unsigned char out[4]);

#endif
