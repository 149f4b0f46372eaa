/* SPDX-License-Identifier: ISC */
/* Opening directories as root without following anybody's links.
 *
 * The master runs as root and prepares directories that the daemons' users
 * may own (the spool) or that sit beside such directories. Acting on a path
 * there lets an unprivileged user redirect root with a symbolic link planted
 * between two steps. So every path is walked one component at a time from
 * "/" (or the working directory) with O_NOFOLLOW | O_DIRECTORY, each
 * directory is checked on its descriptor, and callers act on descriptors
 * (fstat, fchown, fchmod, mkdirat, openat) only.
 *
 * A directory is trusted when it is owned by root or by the user the master
 * runs as, and nobody else may write it: not writable by group or others,
 * or, if it is, sticky (like /tmp) and the next component is again owned by
 * root or that user, so nobody else can rename or replace it. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "master.h"
#include "util.h"

static bool
trusted_owner(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/* Others can create, rename or remove entries in it. */
static bool
open_to_others(const struct stat *st)
{
	return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

static int fail(char *, size_t, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* Close fd (if any), describe the failure in err, keep errno: -1. */
static int
fail(char *err, size_t errlen, int fd, const char *fmt, ...)
{
	va_list ap;
	int save = errno;

	if (fd != -1)
		close(fd);
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = save;
	return -1;
}

/* Open name in dirfd as a directory, creating it with mode if asked. */
int
safedir_openat(int dirfd, const char *name, bool create, mode_t mode,
    const char *shown, char *err, size_t errlen)
{
	struct stat st;
	int fd, oerr;

	for (;;) {
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd != -1)
			return fd;
		if (errno == ENOENT && create) {
			if (mkdirat(dirfd, name, mode) == -1 && errno != EEXIST)
				return fail(err, errlen, -1, "cannot create %s: %s",
				    shown, strerror(errno));
			create = false;     /* once: a racing creator is looked at */
			continue;
		}
		break;
	}
	oerr = errno;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return fail(err, errlen, -1, "%s is a symbolic link: "
			    "refusing to follow it (name the real path)", shown);
		if (!S_ISDIR(st.st_mode))
			return fail(err, errlen, -1, "%s is not a directory",
			    shown);
	}
	errno = oerr;
	if (errno == ENOENT)
		return fail(err, errlen, -1, "%s does not exist", shown);
	return fail(err, errlen, -1, "cannot open %s: %s", shown,
	    strerror(errno));
}

int
safedir_open(const char *path, int flags, mode_t mode, char *err,
    size_t errlen)
{
	char buf[PATH_MAX], shown[PATH_MAX];
	struct stat st, prev;
	char *name, *next;
	size_t len;
	int fd, nfd;
	bool last, have_prev = false;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		snprintf(err, errlen, "path too long: %s", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	/* A relative path starts from the working directory, as the
	 * daemons (which chdir nowhere before their drop) will see it. */
	fd = open(buf[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (fd == -1)
		return fail(err, errlen, -1, "cannot open %s: %s",
		    buf[0] == '/' ? "/" : ".", strerror(errno));
	name = buf;
	for (;;) {
		if (fstat(fd, &st) == -1)
			return fail(err, errlen, fd, "cannot stat %s: %s", path,
			    strerror(errno));
		while (*name == '/')
			name++;
		if (*name == '\0')
			break;
		/* The directory just opened, seen from its parent: owned by
		 * someone trusted if the parent is open to others. */
		/* The directory's own name: the path up to here, no slash. */
		len = (size_t)(name - buf);
		while (len > 1 && path[len - 1] == '/')
			len--;
		if (have_prev && open_to_others(&prev) && !trusted_owner(&st)) {
			close(fd);
			snprintf(err, errlen, "%.*s is in a directory others can "
			    "write and is owned by uid %u: refusing it",
			    (int)len, path, (unsigned)st.st_uid);
			errno = EPERM;
			return -1;
		}
		/* Every directory on the way must be safe from others. */
		if (!trusted_owner(&st) || (open_to_others(&st) &&
		    !(st.st_mode & S_ISVTX))) {
			close(fd);
			snprintf(err, errlen, "%.*s is %s: refusing a path others "
			    "can change", (int)len, path,
			    !trusted_owner(&st) ? "owned by another user" :
			    "writable by group or others");
			errno = EPERM;
			return -1;
		}
		next = strchr(name, '/');
		last = next == NULL || next[strspn(next, "/")] == '\0';
		if (next != NULL)
			*next = '\0';
		/* Cannot be cut: buf and path have the same length. */
		if ((size_t)snprintf(shown, sizeof(shown), "%.*s%s",
		    (int)(name - buf), path, name) >= sizeof(shown))
			return fail(err, errlen, fd, "path too long: %s", path);
		if (strcmp(name, "..") == 0) {
			close(fd);
			snprintf(err, errlen, "%s: \"..\" is not allowed in this "
			    "path", path);
			errno = EINVAL;
			return -1;
		}
		if (strcmp(name, ".") == 0) {       /* "./run": nothing to open */
			if (next == NULL)
				break;
			name = next + 1;
			continue;
		}
		nfd = safedir_openat(fd, name,
		    last ? (flags & SD_CREATE) != 0 : (flags & SD_PARENTS) != 0,
		    last ? mode : 0755, shown, err, errlen);
		close(fd);
		if (nfd == -1)
			return -1;
		fd = nfd;
		prev = st;
		have_prev = true;
		if (next == NULL)
			break;
		name = next + 1;
	}
	if (fstat(fd, &st) == -1)
		return fail(err, errlen, fd, "cannot stat %s: %s", path,
		    strerror(errno));
	if (have_prev && open_to_others(&prev) && !trusted_owner(&st)) {
		close(fd);
		snprintf(err, errlen, "%s is in a directory others can write and "
		    "is owned by uid %u: refusing it", path, (unsigned)st.st_uid);
		errno = EPERM;
		return -1;
	}
	if (flags & SD_CHECK_LAST) {
		if (!trusted_owner(&st) || open_to_others(&st)) {
			close(fd);
			snprintf(err, errlen, "%s must be owned by %s and not "
			    "writable by group or others (it is uid %u, mode %04o)",
			    path, geteuid() == 0 ? "root" : "the user running "
			    "empath-master", (unsigned)st.st_uid,
			    (unsigned)(st.st_mode & 07777));
			errno = EPERM;
			return -1;
		}
	}
	return fd;
}
