/* SPDX-License-Identifier: ISC */
/* The one writer of RFC 5322 section 3.3 dates (Received:, Date:,
 * DSN fields): always in UTC, names in English whatever the locale. */
#ifndef EMPATH_MAILDATE_H
#define EMPATH_MAILDATE_H

#include <stddef.h>
#include <stdint.h>

/* "Thu, 01 Jan 1970 00:00:00 +0000" for t seconds since the epoch; the
 * epoch itself when gmtime_r() cannot convert t. out is always
 * NUL-terminated (cut when outlen < MAILDATE_LEN). */
#define MAILDATE_LEN 32
void mail_date(int64_t t, char *out, size_t outlen);

#endif
