/* SPDX-License-Identifier: ISC */
/* Who may use the control socket (doc/architecture.md §6, empathctl(8)):
 *  - by peer credentials (SO_PEERCRED, SO_PEERGROUPS): root, the user
 *    ctld was started as when that is not root (an unprivileged
 *    installation: its owner), and the members of the control group
 *    (primary or supplementary group of the connecting process);
 *  - when token hashes are configured, every command but `system ping`
 *    must also come with a token whose SHA-256 is one of them. A token
 *    adds a requirement; it never admits a caller the credentials refuse.
 * Everything is resolved before the privilege drop (auth_configure). */
#ifndef EMPATH_CTLD_AUTH_H
#define EMPATH_CTLD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define AUTH_FINGERPRINT_LEN 24      /* "#N:xxxxxxxx" and a NUL, at most */

struct config;

/* Decode the token hashes (64 hex digits each) and resolve the control
 * group: cf->control_group, else the primary group of cf->user when
 * running as root, else our own group. Returns the number of hashes. */
size_t auth_configure(const struct config *cf);
/* The same without a configuration, for tests: hex hashes, the group,
 * the owner. */
size_t auth_setup(char *const *hex, size_t n, gid_t group, uid_t owner);
size_t auth_ntokens(void);
gid_t  auth_group(void);                 /* the control group */

/* May this peer use the control socket? groups are its supplementary
 * groups (SO_PEERGROUPS). */
bool auth_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups);

/* The index (0-based) of the configured hash the token matches, or -1.
 * The token is hashed once and compared in constant time with every
 * configured hash, whether or not an earlier one matched. */
int auth_token_check(const void *token, size_t len);
/* The token of a CTL_AUTH frame (one string, 1..CTL_TOKEN_MAX octets)
 * checked as auth_token_check() does: its index, or -1 when it matches
 * none or the frame is malformed. Either way the payload is wiped: it is
 * the token's only copy in ctld, in the channel's receive buffer, which
 * the channel does not read again once the handler returns. */
struct chan_msg;
int auth_token_frame(const struct chan_msg *m);
/* How audit lines name token i: "#<i+1>:<first 8 hex of its hash>". */
void auth_fingerprint(int i, char *buf, size_t len);

#endif
