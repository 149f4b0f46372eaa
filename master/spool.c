/* The spool's directories, created with the right owners and modes before
 * any daemon starts (queued, chrooted and unprivileged, cannot). */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "privdrop.h"
#include "util.h"

/* mkdir -p for the leading components, then the last one with mode. */
static void
make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid, bool chown_it)
{
	char buf[PATH_MAX];
	struct stat st;
	char *p;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf))
		fatalx("path too long: %s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			fatal("mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		fatal("mkdir %s", buf);
	if (stat(buf, &st) == -1)
		fatal("stat %s", buf);
	if (!S_ISDIR(st.st_mode))
		fatalx("%s is not a directory", buf);
	if (chown_it) {
		if ((st.st_uid != uid || st.st_gid != gid) &&
		    chown(buf, uid, gid) == -1)
			fatal("chown %s", buf);
		if ((st.st_mode & 07777) != mode && chmod(buf, mode) == -1)
			fatal("chmod %s", buf);
	}
}

void
spool_prepare(void)
{
	static const char *subdirs[] = { "incoming", "queue", "corrupt" };
	const struct config *cfg = M.cfg;
	bool root = geteuid() == 0;
	struct passwd *pw = NULL;
	char path[PATH_MAX];
	size_t i;

	if (root && (pw = getpwnam(cfg->user)) == NULL)
		fatalx("user \"%s\" does not exist: create it (see empath-master(8))",
		    cfg->user);
	make_dir(cfg->spool, 0700, pw ? pw->pw_uid : 0, pw ? pw->pw_gid : 0, root);
	for (i = 0; i < nitems(subdirs); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", cfg->spool,
		    subdirs[i]) >= sizeof(path))
			fatalx("spool path too long");
		make_dir(path, 0700, pw ? pw->pw_uid : 0, pw ? pw->pw_gid : 0, root);
	}
	/* The empty, root-owned directory smtpd and deliverd chroot into. */
	if (root)
		make_dir(EMPTYDIR, 0755, 0, 0, true);
}
