/* SPDX-License-Identifier: ISC */
/* The privilege of a setgid installation (the drop group, never a
 * user) and its one use: creating a file in SPOOL/drop. The group is
 * given up at once and taken back only around that, so that nothing
 * else the program does (reading the configuration, talking to the
 * socket, running empathctl) happens with it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dropfile.h"
#include "sendmail.h"

static gid_t real_gid, priv_gid;
static bool privileged;

static void __attribute__((noreturn))
priv_fail(const char *what)
{
	fprintf(stderr, "empath-sendmail: %s: %s\n", what, strerror(errno));
	_exit(EX_OSERR);
}

void
priv_init(void)
{
	real_gid = getgid();
	priv_gid = getegid();
	privileged = real_gid != priv_gid;
	/* The saved set-group-ID keeps priv_gid for priv_raise(). */
	if (privileged && setegid(real_gid) == -1)
		priv_fail("setegid");
}

bool
priv_held(void)
{
	return privileged;
}

void
priv_raise(void)
{
	if (privileged && setegid(priv_gid) == -1)
		priv_fail("setegid");
}

void
priv_lower(void)
{
	if (privileged && setegid(real_gid) == -1)
		priv_fail("setegid");
}

void
priv_giveup(void)
{
	gid_t r, e, s;

	if (setresgid(real_gid, real_gid, real_gid) == -1)
		priv_fail("setresgid");
	if (getresgid(&r, &e, &s) == -1 || r != real_gid || e != real_gid ||
	    s != real_gid) {
		errno = EPERM;
		priv_fail("giving up the group");
	}
	privileged = false;
}

int
sm_drop(const char *spool, const struct drop_env *env, const char *msg,
    size_t len, char *name, size_t namelen, char *err, size_t errlen)
{
	char path[4096], why[256];
	int dfd, rc, saved;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", spool, DROP_SUBDIR) >=
	    sizeof(path)) {
		snprintf(err, errlen, "spool path too long");
		return -1;
	}
	priv_raise();
	/* Readable when we own it; else (mode 1730: the group may create
	 * but not list) a path descriptor, enough for openat/renameat. */
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1 && errno == EACCES)
		dfd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1) {
		saved = errno;
		priv_lower();
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		return -1;
	}
	rc = dropfile_write(dfd, env, msg, len, name, namelen, why,
	    sizeof(why));
	saved = errno;
	priv_lower();
	close(dfd);
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		errno = saved;
	}
	return rc;
}
