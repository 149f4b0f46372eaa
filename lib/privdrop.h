/* SPDX-License-Identifier: ISC */
#ifndef EMPATH_PRIVDROP_H
#define EMPATH_PRIVDROP_H
#include <stdbool.h>
#include "config.h"

#ifndef EMPTYDIR
#define EMPTYDIR "/var/lib/empath/empty"
#endif

/* Drop root: chroot to dir (if not NULL), chdir("/"), setgroups,
 * setresgid/setresuid to user (never root), PR_SET_NO_NEW_PRIVS, and verify
 * that root cannot be regained (fatal otherwise). When not root, warn once
 * and only chdir(dir) when chdir_unpriv is set. Either way the umask
 * becomes 077. */
void priv_drop(const char *user, const char *dir, bool chdir_unpriv);
#endif
