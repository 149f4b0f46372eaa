/* SPDX-License-Identifier: ISC */
/* Local users, for local submission (doc/architecture.md, "Local
 * submission"): the kernel tells a daemon the uid of whoever submitted
 * (SO_PEERCRED on the submission socket, the owner of a drop file); the
 * master maps it to a login name for each use (M_USER_LOOKUP, answered
 * with getpwuid_r(3) outside any chroot, so that a renamed, deleted or
 * reused uid counts at once). This decides which envelope senders that
 * login may give, and writes the Received: field that records the uid. */
#ifndef EMPATH_LOCALUSERS_H
#define EMPATH_LOCALUSERS_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

/* A plain login name: 1..CFG_LOGIN_MAX octets of [A-Za-z0-9._-], not
 * starting with '-'. Any other name (one with '@', white space, a
 * control character) is no local user's for Empath. */
bool localusers_login_ok(const char *);

enum local_sender {
	LSENDER_OK = 0,        /* may be used */
	LSENDER_FORGED,        /* another user's address: refuse */
	LSENDER_UNKNOWN_USER   /* no login name for the uid: retry later */
};
/* May the user of login name login (NULL or not a plain login: no such
 * user) use sender ("" is the null sender) as its envelope sender?
 * Trusted users (trusted-users, default root) may use any; every user
 * may use the null sender and LOGIN@HOSTNAME (the domain compared
 * without case, the login name exactly). */
enum local_sender localusers_login_sender(const struct config *,
    const char *login, const char *sender);
/* The sender a user gets when they give none: LOGIN@HOSTNAME. false when
 * login is NULL or not plain, or out does not hold it. */
bool localusers_default_sender(const struct config *, const char *login,
    char *out, size_t outlen);

/* The trace field of a local submission, CRLF-terminated and folded:
 *   Received: by HOSTNAME (Empath, from userid UID)
 *   	with PROTO id MSGID; DATE
 * proto NULL leaves "with" out. Returns the length written, or 0 when
 * out is too small (nothing usable is written then). */
#define LOCAL_RECEIVED_MAX 512
size_t localusers_received(char *out, size_t outlen, const char *hostname,
    uid_t uid, const char *proto, const char *msgid, int64_t when);

#endif
