/* SPDX-License-Identifier: ISC */
/* The host name when the configuration gives none: the first line of
 * /etc/mailname (Debian's name of this host for mail) when it holds a
 * valid host name, else gethostname(3). Decided once, by the process
 * that reads the configuration file outside any chroot (config_load()):
 * the daemons parse the snapshot the master sends them, which then
 * carries that name as a `hostname` statement. */
#ifndef EMPATH_MAILNAME_H
#define EMPATH_MAILNAME_H

#include <stdbool.h>
#include <stddef.h>

struct config;

#ifndef MAILNAME_PATH
#define MAILNAME_PATH "/etc/mailname"
#endif
/* Longest host name (RFC 1035 2.3.4, without the root's dot). */
#define MAILNAME_MAX 253

enum mailname_status { MAILNAME_OK, MAILNAME_ABSENT, MAILNAME_INVALID };

/* A host name: LDH labels of 1 to 63 octets, not starting or ending in
 * '-', separated by single dots; at most MAILNAME_MAX octets. */
bool mailname_valid(const char *s, size_t len);
/* The first line of the file path (LF or CRLF ended, or unterminated),
 * into out (MAILNAME_MAX + 1 octets or more) when it is a valid host
 * name. ABSENT: no such file (or not readable); INVALID: anything else
 * (empty, spaces, too long, not a regular file). */
enum mailname_status mailname_read(const char *path, char *out, size_t outlen);
/* The name of this host for mail: mailname_read(mailname_path), else
 * gethostname(3), else "localhost". *source (unless NULL) says which. */
void mailname_default(const char *mailname_path, char *out, size_t outlen,
    const char **source);
/* For config_load(): when the text *textp (*lenp octets, parsed as cfg)
 * names no host, append `hostname "NAME"` with mailname_default()'s
 * name to it and parse it again, so that the snapshot the daemons parse
 * names the host the reader of the file chose. Returns the new
 * configuration (cfg is freed) or cfg unchanged; NULL only if the new
 * text does not parse (then cfg is freed too and errfn told why). */
struct config *mailname_apply(const char *name, struct config *cfg,
    char **textp, size_t *lenp, const char *mailname_path,
    void (*errfn)(const char *));

#endif
