/* SPDX-License-Identifier: ISC */
/* RFC 3461 DSN parameters as deliverd passes them on to a next hop that
 * offers DSN: RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT, encoded
 * from the decoded values the envelope keeps. Pure code, no allocation. */
#ifndef EMPATH_DELIVERD_DSN_PARAMS_H
#define EMPATH_DELIVERD_DSN_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

/* A command line with its parameters, CRLF included, stays under this:
 * RFC 5321 4.5.3.1.4 allows 512 octets, and each extension's parameters
 * may add to that (RFC 1869); 1000 is what servers take in practice. */
#define DSN_LINE_MAX 1000

/* xtext (RFC 3461 4): "+", "=" and bytes outside 33..126 as "+HH".
 * Returns the length written, or -1 when it does not fit outlen. */
int dsn_xtext_encode(const char *in, char *out, size_t outlen);

/* utf-8-addr-xtext (RFC 6533 3): ASCII printable but "+", "=", "\" as
 * is, everything else (non-ASCII code points too) as "\x{HEX}". -1 when
 * in is not valid UTF-8 or the result does not fit. */
int dsn_utf8_xtext_encode(const char *in, char *out, size_t outlen);

/* The ORCPT value ("type;encoded") of a recipient: orcpt is stored as
 * "type;decoded address"; without one, or when its type is not 1 to
 * DSN_ORCPT_TYPE_MAX letters, digits and "-" or its address holds a
 * control, the recipient address itself (rfc822, or utf-8 when it is not
 * ASCII; RFC 3461 4.2). */
#define DSN_ORCPT_TYPE_MAX 32
int dsn_orcpt_value(const char *orcpt, const char *addr, char *out,
    size_t outlen);

/* " RET=... ENVID=..." for MAIL (only what the envelope has) into out.
 * used: octets of the line without these and without CRLF; ENVID is left
 * out when the line would reach DSN_LINE_MAX. Returns the length. */
int dsn_mail_params(const struct envelope *, size_t used, char *out,
    size_t outlen);

/* " NOTIFY=... ORCPT=..." for RCPT, the same way: ORCPT is left out
 * rather than the line reach DSN_LINE_MAX. */
int dsn_rcpt_params(const struct env_rcpt *, size_t used, char *out,
    size_t outlen);

#endif
