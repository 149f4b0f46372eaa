/* SPDX-License-Identifier: ISC */
/* Giving up root in a daemon, after it has read what it needs. */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

void
priv_drop(const char *user, const char *dir, bool chdir_unpriv)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	/* Whatever a daemon creates (queue files, the database) is its
	 * user's alone: 0700 directories, 0600 files. */
	umask(077);
	if (geteuid() != 0) {
		log_warnx("not running as root: privileges not dropped, no chroot");
		if (dir && chdir_unpriv && chdir(dir) == -1)
			fatal("chdir %s", dir);
		return;
	}
	if ((pw = getpwnam(user)) == NULL)
		fatalx("unknown user %s", user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0)
		fatalx("user %s is root: refusing to run a daemon as root", user);
	if (dir) {
		if (chroot(dir) == -1)
			fatal("chroot %s", dir);
	}
	if (chdir("/") == -1)
		fatal("chdir /");
	if (setgroups(1, &gid) == -1)
		fatal("setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid");
	if (setresuid(uid, uid, uid) == -1)
		fatal("setresuid");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
	/* Paranoia: the drop must be irreversible. */
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("could regain root after dropping privileges");
	log_debug("running as %s (%u:%u)%s%s", user, (unsigned)uid,
	    (unsigned)gid, dir ? " chrooted in " : "", dir ? dir : "");
}
