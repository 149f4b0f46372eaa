/* SPDX-License-Identifier: ISC */
/* Offline drop files (doc/architecture.md, "Local submission"): when no
 * daemon answers on the submission socket, empath-sendmail writes the
 * message into SPOOL/drop, and queued takes it in when it starts. The
 * owner of the file (st_uid, set by the kernel) is the submitting user;
 * nothing in the file is trusted beyond what queued checks.
 *
 * A file, every line ending in LF:
 *   "EMPATH-DROP 1"
 *   "S " sender            exactly once; "S " alone is the null sender
 *   "R " recipient         1 to DROP_RCPT_MAX times
 *   ""                     an empty line ends the envelope
 *   the message            header and body as the user gave them (LF or
 *                          CRLF line ends), not dot-stuffed
 * Addresses are bare addr-specs (no angle brackets), printable ASCII or
 * UTF-8, at most DROP_ADDR_MAX octets.
 *
 * Names: the writer creates ".NAME" (O_EXCL, mode 0644), writes, fsyncs
 * and renames it to "NAME" (DROP_NAME_LEN hex digits); a reader takes
 * only names of that form, never a dot file. */
#ifndef EMPATH_DROPFILE_H
#define EMPATH_DROPFILE_H

#include <stdbool.h>
#include <stddef.h>

#define DROP_MAGIC     "EMPATH-DROP 1\n"
#define DROP_RCPT_MAX  1000
#define DROP_ADDR_MAX  254
#define DROP_NAME_LEN  32              /* hex digits of 128 random bits */
#define DROP_SUBDIR    "drop"          /* under the spool */

struct drop_env {
	char   *sender;                /* "" for the null sender */
	char  **rcpts;
	size_t  nrcpts;
};

/* lib/dropfile_write.c (empath-sendmail): write env and the message
 * (msg, len) into the directory dirfd as above; name receives the final
 * name (at least DROP_NAME_LEN + 1 bytes). 0, or -1 with err set and
 * nothing left behind. */
int dropfile_write(int dirfd, const struct drop_env *env, const char *msg,
    size_t len, char *name, size_t namelen, char *err, size_t errlen);

/* lib/dropfile_read.c (queued): parse the envelope at the start of buf;
 * *body is the offset of the message. Every address is checked (syntax,
 * length, no control characters); 0, or -1 with err set. env is owned
 * by the caller afterwards (drop_env_free). */
int dropfile_parse(const char *buf, size_t len, struct drop_env *env,
    size_t *body, char *err, size_t errlen);
void drop_env_free(struct drop_env *env);
/* Is name a final drop file name (DROP_NAME_LEN lower-case hex)? */
bool dropfile_name_ok(const char *name);

#endif
