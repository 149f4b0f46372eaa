/* SPDX-License-Identifier: ISC */
/* Message files: create, publish into the queue durably, remove, and the
 * directory scans of recovery. See spool.h. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "queued.h"
#include "spool.h"
#include "ulid.h"
#include "util.h"

/* "incoming/" + id + NUL, with room to spare. */
#define SPOOL_PATH_MAX 64

static int queue_dirfd = -1;

static void
path(char *buf, const char *dir, const char *id)
{
	snprintf(buf, SPOOL_PATH_MAX, "%s/%s", dir, id);
}

static int
make_dir(const char *dir)
{
	struct stat sb;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	if (stat(dir, &sb) == -1)
		return -1;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int
spool_init(void)
{
	if (make_dir(SPOOL_INCOMING) == -1 || make_dir(SPOOL_QUEUE) == -1 ||
	    make_dir(SPOOL_CORRUPT) == -1)
		return -1;
	if (queue_dirfd == -1)
		queue_dirfd = open(SPOOL_QUEUE, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return queue_dirfd == -1 ? -1 : 0;
}

void
spool_close(void)
{
	if (queue_dirfd != -1)
		close(queue_dirfd);
	queue_dirfd = -1;
}

int
spool_create(char id[ULID_LEN + 1])
{
	char p[SPOOL_PATH_MAX];
	int fd, tries;

	/* A collision needs two ids in the same millisecond with the same 80
	 * random bits: retrying once is more than enough. */
	for (tries = 0; tries < 2; tries++) {
		ulid_new(id);
		path(p, SPOOL_INCOMING, id);
		fd = open(p, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

static void
remove_file(const char *dir, const char *id)
{
	char p[SPOOL_PATH_MAX];

	path(p, dir, id);
	if (unlink(p) == -1 && errno != ENOENT)
		log_warn("%s: cannot remove %s", id, p);
}

void
spool_discard_incoming(const char *id)
{
	remove_file(SPOOL_INCOMING, id);
}

void
spool_remove(const char *id)
{
	remove_file(SPOOL_QUEUE, id);
}

int
spool_open_message(const char *id)
{
	char p[SPOOL_PATH_MAX];

	path(p, SPOOL_QUEUE, id);
	return open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

bool
spool_exists(const char *id)
{
	char p[SPOOL_PATH_MAX];
	struct stat sb;

	path(p, SPOOL_QUEUE, id);
	/* Only a definite "no such file" counts as missing: any other error
	 * (EIO, EACCES) must not get a message failed. */
	return lstat(p, &sb) == 0 || errno != ENOENT;
}

bool
spool_incoming_exists(const char *id)
{
	char p[SPOOL_PATH_MAX];
	struct stat sb;

	path(p, SPOOL_INCOMING, id);
	return lstat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

unsigned
spool_clean_incoming(void)
{
	DIR *d = opendir(SPOOL_INCOMING);
	struct dirent *de;
	char name[64];
	unsigned n = 0;

	if (d == NULL) {
		log_warn("recovery: cannot read %s/", SPOOL_INCOMING);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		log_sanitize(de->d_name, name, sizeof(name));
		if (unlinkat(dirfd(d), de->d_name, 0) == -1) {
			log_warn("recovery: cannot remove %s/%s", SPOOL_INCOMING, name);
			continue;
		}
		/* Only a file named by an id was handed out: the rest is
		 * the pool of the last run (pool.c), or not ours. */
		if (ulid_valid(de->d_name)) {
			log_info("%s: removed unfinished incoming message (never "
			    "accepted)", name);
			n++;
		} else if (pool_is_name(de->d_name))
			log_debug("recovery: removed %s/%s, an unused file of the "
			    "pool", SPOOL_INCOMING, name);
		else
			log_info("recovery: removed %s/%s, not a message file",
			    SPOOL_INCOMING, name);
	}
	closedir(d);
	return n;
}

unsigned
spool_quarantine_orphans(bool (*known)(const char *id, void *arg), void *arg)
{
	DIR *d = opendir(SPOOL_QUEUE);
	struct dirent *de;
	char name[64], to[SPOOL_PATH_MAX + 256];
	unsigned n = 0;

	if (d == NULL) {
		log_warn("recovery: cannot read %s/", SPOOL_QUEUE);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (ulid_valid(de->d_name) && known(de->d_name, arg))
			continue;
		log_sanitize(de->d_name, name, sizeof(name));
		snprintf(to, sizeof(to), "%s/%s", SPOOL_CORRUPT, de->d_name);
		if (renameat(dirfd(d), de->d_name, AT_FDCWD, to) == -1) {
			log_warn("recovery: cannot move %s/%s to %s/", SPOOL_QUEUE,
			    name, SPOOL_CORRUPT);
			continue;
		}
		log_warnx("%s: file in %s/ without a queue entry, moved to %s/",
		    name, SPOOL_QUEUE, SPOOL_CORRUPT);
		n++;
	}
	closedir(d);
	return n;
}
