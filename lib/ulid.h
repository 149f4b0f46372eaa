/* SPDX-License-Identifier: ISC */
#ifndef EMPATH_ULID_H
#define EMPATH_ULID_H
/* A new ULID: 26 Crockford base32 characters, time-ordered. */
void ulid_new(char out[27]);
/* True when s is exactly 26 valid ULID characters (ids from peers and
 * from empathctl are checked before they become file names). */
int  ulid_valid(const char *s);
#endif
