/* SPDX-License-Identifier: ISC */
/* User names for ctld's audit lines. ctld is chrooted to an empty
 * directory, where the passwd database cannot be read: the names of the
 * users who may use the control socket are read before the privilege
 * drop; anyone else is named by the uid (or by the database when ctld
 * is not chrooted, in an unprivileged installation). */
#ifndef EMPATH_CTLD_NAMES_H
#define EMPATH_CTLD_NAMES_H

#include <stddef.h>
#include <sys/types.h>

struct config;

/* Root, our own user, the configured user, and the members of the control
 * group (listed in the group, or with it as their primary group). */
void names_preload(const struct config *cf, gid_t group);
/* The name of uid, sanitised for a log line, else the number. */
void names_lookup(uid_t uid, char *buf, size_t len);

#endif
