/* SPDX-License-Identifier: ISC */
/* The spool's directories, created with the right owners and modes before
 * any daemon starts (queued, chrooted and unprivileged, cannot).
 *
 * The spool belongs to queue-user, who may have planted anything in it:
 * every entry is opened with O_NOFOLLOW | O_DIRECTORY and changed through
 * its descriptor only, so a link never makes root chown or chmod something
 * outside the spool. The master touches no file in the spool.
 *
 * One directory is shared: drop/ (doc/architecture.md, "Offline drop
 * directory"), where empath-sendmail, setgid drop-group, leaves messages
 * while no daemon answers. Mode 1730: the group may create files and
 * nothing more (not list, not read, not remove another's file); the
 * spool itself is then 0710 with that group, to be crossed. */
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dropfile.h"
#include "log.h"
#include "master.h"
#include "privdrop.h"
#include "util.h"

#define DROP_MODE 01730

/* Owners a spool directory may have before the master makes it
 * queue-user's: root, queue-user, `user` (an earlier set-up); anyone else's
 * directory is not ours to take. */
static uid_t user_uid = (uid_t)-1;

/* Give the directory open on fd its owner and mode (as root). */
static void
fix_dir(int fd, const char *shown, mode_t mode, uid_t uid, gid_t gid,
    bool chown_it)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		fatal("stat %s", shown);
	if (!S_ISDIR(st.st_mode))
		fatalx("%s is not a directory", shown);
	if (chown_it && st.st_uid != 0 && st.st_uid != uid &&
	    st.st_uid != user_uid)
		fatalx("%s belongs to uid %u, neither root nor the user or "
		    "queue-user: refusing to take it (check what it is, then "
		    "chown it to the queue-user or remove it)", shown,
		    (unsigned)st.st_uid);
	if (chown_it && (st.st_uid != uid || st.st_gid != gid)) {
		if (fchown(fd, uid, gid) == -1)
			fatal("chown %s", shown);
		log_info("%s now belongs to uid %u gid %u", shown, (unsigned)uid,
		    (unsigned)gid);
	}
	if ((st.st_mode & 07777) != mode && (chown_it || st.st_uid == geteuid()) &&
	    fchmod(fd, mode) == -1)
		fatal("chmod %s", shown);
}

void
spool_prepare(void)
{
	static const char *subdirs[] = { "incoming", "queue", "corrupt" };
	const struct config *cfg = M.cfg;
	bool root = geteuid() == 0;
	struct passwd *pw = NULL;
	struct group *gr;
	char err[PATH_MAX + 256], shown[PATH_MAX];
	uid_t uid = 0;
	gid_t gid = 0, drop_gid = 0, spool_gid = 0;
	mode_t spool_mode = 0700;
	int spool, fd;
	size_t i;

	if (root) {
		if ((pw = getpwnam(cfg->queue_user)) == NULL)
			fatalx("queue-user \"%s\" does not exist: create it (see "
			    "empath-master(8))", cfg->queue_user);
		if (pw->pw_uid == 0)
			fatalx("queue-user \"%s\" is root: name an unprivileged "
			    "user", cfg->queue_user);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		/* Checked here too, not only by -n: the network-facing daemons
		 * must not be able to read or change the queue. */
		if ((pw = getpwnam(cfg->user)) == NULL)
			fatalx("user \"%s\" does not exist: create it (see "
			    "empath-master(8))", cfg->user);
		if (pw->pw_uid == 0)
			fatalx("user \"%s\" is root: name an unprivileged user",
			    cfg->user);
		if (pw->pw_uid == uid)
			fatalx("user \"%s\" and queue-user \"%s\" have the same "
			    "uid %u: they must differ (see empath-master(8))",
			    cfg->user, cfg->queue_user, (unsigned)uid);
		user_uid = pw->pw_uid;
		/* Without the group nobody else may drop: the queue's own. */
		spool_gid = drop_gid = gid;
		if ((gr = getgrnam(cfg->drop_group)) == NULL)
			log_warnx("drop-group \"%s\" does not exist: only root and "
			    "the queue-user can leave messages in %s/%s while "
			    "empath is down", cfg->drop_group, cfg->spool,
			    DROP_SUBDIR);
		else {
			spool_gid = drop_gid = gr->gr_gid;
			spool_mode = 0710;
		}
	}
	/* The spool's parents must exist: a typo does not make a tree. */
	if ((spool = safedir_open(cfg->spool, SD_CREATE, 0700, err,
	    sizeof(err))) == -1)
		fatalx("spool: %s", err);
	fix_dir(spool, cfg->spool, spool_mode, uid, spool_gid, root);
	for (i = 0; i < nitems(subdirs); i++) {
		snprintf(shown, sizeof(shown), "%s/%s", cfg->spool, subdirs[i]);
		if ((fd = safedir_openat(spool, subdirs[i], true, 0700, shown, err,
		    sizeof(err))) == -1)
			fatalx("spool: %s", err);
		fix_dir(fd, shown, 0700, uid, gid, root);
		close(fd);
	}
	/* drop/: queue-user's, group drop-group, 1730 (unprivileged: the
	 * running user's, 1730 all the same). */
	snprintf(shown, sizeof(shown), "%s/%s", cfg->spool, DROP_SUBDIR);
	if ((fd = safedir_openat(spool, DROP_SUBDIR, true, 0700, shown, err,
	    sizeof(err))) == -1)
		fatalx("spool: %s", err);
	fix_dir(fd, shown, DROP_MODE, uid, drop_gid, root);
	close(fd);
	close(spool);
	/* The empty, root-owned directory smtpd, deliverd and ctld chroot
	 * into: nobody but root may write it. */
	if (root) {
		if ((fd = safedir_open(EMPTYDIR, SD_CREATE | SD_PARENTS |
		    SD_CHECK_LAST, 0755, err, sizeof(err))) == -1)
			fatalx("empty directory: %s", err);
		close(fd);
	}
}
