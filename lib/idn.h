/* SPDX-License-Identifier: ISC */
/* Internationalised domain names (IDNA2008, RFC 5890-5893, through
 * libidn2): one domain, two spellings. The A-label form ("xn--...") is
 * what DNS, the queue's domain index and configuration matching use; the
 * U-label form (UTF-8) is what SMTPUTF8 peers and people read. */
#ifndef EMPATH_IDN_H
#define EMPATH_IDN_H

#include <stdbool.h>
#include <stddef.h>

/* Longest domain in either form, with its NUL. */
#define IDN_DOMAIN_MAX 256

/* The lower-case A-label form of domain (UTF-8 or ASCII) into out.
 * ASCII input is only lower-cased and checked for LDH syntax; a trailing
 * dot is dropped. Returns 0, or -1 when domain is not a valid IDNA2008
 * name, is empty, or does not fit outlen (out is then ""). */
int  idn_to_ascii(const char *domain, char *out, size_t outlen);

/* The U-label (UTF-8) form: A-labels decoded, everything lower-cased.
 * Returns 0, or -1 as idn_to_ascii. */
int  idn_to_utf8(const char *domain, char *out, size_t outlen);

/* Whether the two spellings name the same domain (compared by A-label;
 * false when either is invalid). */
bool idn_equal(const char *a, const char *b);

/* Whether s holds a byte >= 0x80. */
bool idn_non_ascii(const char *s);

#endif
