/* SPDX-License-Identifier: ISC */
/* One escaper for text that reaches a log line, a terminal or a JSON
 * string: well-formed UTF-8 (RFC 3629) is kept as it is, everything that
 * could move a cursor, end a line or not decode is escaped. */
#ifndef EMPATH_TEXTESC_H
#define EMPATH_TEXTESC_H

#include <stddef.h>

/* Copy srclen octets of src into dst as text: printable ASCII and
 * well-formed UTF-8 stay as they are; C0 controls, DEL, the C1 controls
 * U+0080-U+009F and octets that are not UTF-8 become the four
 * characters \xHH (lower-case hex of each octet). A backslash is left
 * alone, so escaping twice changes nothing. dst is always NUL-terminated
 * (when dstlen > 0) and is cut only between whole characters or
 * escapes. Returns the number of octets of src consumed: less than
 * srclen when the text was cut. */
size_t text_escape(char *dst, size_t dstlen, const char *src, size_t srclen);

/* The same for the inside of a JSON string (RFC 8259 section 7): '"'
 * and '\' are escaped with a backslash, C0 controls, DEL and C1
 * controls as \u00XX, octets that are not UTF-8 as \ufffd (the
 * replacement character); the result is always valid JSON text. */
size_t text_escape_json(char *dst, size_t dstlen, const char *src,
    size_t srclen);

#endif
