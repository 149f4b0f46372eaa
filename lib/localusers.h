/* SPDX-License-Identifier: ISC */
/* Local users, for local submission (doc/architecture.md, "Local
 * submission"): the kernel tells a daemon the uid of whoever submitted
 * (SO_PEERCRED on the submission socket, the owner of a drop file); this
 * maps it to a login name, decides which envelope senders that user may
 * give, and writes the Received: field that records the uid.
 *
 * The map is read from the password database once, before the daemon
 * chroots (getpwent(3) does not work inside the chroot): a user created
 * later is unknown until the daemon restarts. */
#ifndef EMPATH_LOCALUSERS_H
#define EMPATH_LOCALUSERS_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

#define LOCALUSERS_MAX 100000           /* entries read from the database */

/* Read every uid and login name (a bounded walk of getpwent(3)); the
 * table replaces any earlier one. Names that are not plain login names
 * (see CFG_LOGIN_MAX) are skipped. Returns the number kept. */
size_t localusers_load(void);
/* For tests: the table is exactly these n pairs. */
void localusers_set(const uid_t *uids, const char *const *names, size_t n);
/* The login name of uid, or NULL when the table does not know it. */
const char *localusers_name(uid_t uid);

enum local_sender {
	LSENDER_OK = 0,        /* may be used */
	LSENDER_FORGED,        /* another user's address: refuse */
	LSENDER_UNKNOWN_USER   /* uid not in the table: retry later */
};
/* May uid use sender ("" is the null sender) as its envelope sender?
 * Trusted users (trusted-users, default root) may use any; every user
 * may use the null sender and LOGIN@HOSTNAME (the domain compared
 * without case, the login name exactly). */
enum local_sender localusers_sender(const struct config *, uid_t uid,
    const char *sender);
/* The sender a user gets when they give none: LOGIN@HOSTNAME. false when
 * the uid is unknown or out does not hold it. */
bool localusers_default_sender(const struct config *, uid_t uid, char *out,
    size_t outlen);

/* The trace field of a local submission, CRLF-terminated and folded:
 *   Received: by HOSTNAME (Empath, from userid UID)
 *   	with PROTO id MSGID; DATE
 * proto NULL leaves "with" out. Returns the length written, or 0 when
 * out is too small (nothing usable is written then). */
#define LOCAL_RECEIVED_MAX 512
size_t localusers_received(char *out, size_t outlen, const char *hostname,
    uid_t uid, const char *proto, const char *msgid, int64_t when);

#endif
