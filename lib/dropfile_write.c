/* SPDX-License-Identifier: ISC */
/* The writer of drop files (dropfile.h), for empath-sendmail: a temporary
 * dot file, written and synced, then renamed to its final name, so that
 * queued never sees half a file under a name it takes. */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dropfile.h"
#include "util.h"

/* DROP_NAME_LEN lower-case hex digits of fresh random bits. */
static int
random_name(char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[DROP_NAME_LEN / 2];
	size_t got = 0, i;
	ssize_t n;

	if (outlen < DROP_NAME_LEN + 1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	while (got < sizeof(rnd)) {
		n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	for (i = 0; i < sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 15];
	}
	out[DROP_NAME_LEN] = '\0';
	return 0;
}

/* An address the file can hold: 1 to DROP_ADDR_MAX octets (0 for the
 * sender: the null sender), no control character (a quoted local part
 * may hold a space, not at the start), so that one line stays one
 * address. */
static bool
addr_ok(const char *a, bool may_be_empty)
{
	size_t i, n = strnlen(a, DROP_ADDR_MAX + 1);

	if (n > DROP_ADDR_MAX || (n == 0 && !may_be_empty))
		return false;
	if (a[0] == ' ')
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f)
			return false;
	return true;
}

/* The envelope lines, in one allocation. */
static char *
envelope_text(const struct drop_env *env, size_t *lenp)
{
	size_t len = strlen(DROP_MAGIC) + 3 + strlen(env->sender) + 2, i, off;
	char *buf;

	for (i = 0; i < env->nrcpts; i++)
		len += 3 + strlen(env->rcpts[i]);
	buf = xmalloc(len + 1);
	off = (size_t)snprintf(buf, len + 1, "%sS %s\n", DROP_MAGIC,
	    env->sender);
	for (i = 0; i < env->nrcpts; i++)
		off += (size_t)snprintf(buf + off, len + 1 - off, "R %s\n",
		    env->rcpts[i]);
	buf[off++] = '\n';
	*lenp = off;
	return buf;
}

int
dropfile_write(int dirfd, const struct drop_env *env, const char *msg,
    size_t len, char *name, size_t namelen, char *err, size_t errlen)
{
	char tmp[DROP_NAME_LEN + 2], *head = NULL;
	const char *what;
	size_t hlen, i;
	int fd = -1, saved, tries;

	if (env->sender == NULL || !addr_ok(env->sender, true)) {
		snprintf(err, errlen, "invalid sender address");
		return -1;
	}
	if (env->nrcpts == 0 || env->nrcpts > DROP_RCPT_MAX) {
		snprintf(err, errlen, "%zu recipients (1 to %d allowed)",
		    env->nrcpts, DROP_RCPT_MAX);
		return -1;
	}
	for (i = 0; i < env->nrcpts; i++)
		if (!addr_ok(env->rcpts[i], false)) {
			snprintf(err, errlen, "invalid recipient address");
			return -1;
		}

	/* O_EXCL on a fresh random name: a clash (or a planted file or
	 * link) is never followed or overwritten, only tried again. */
	for (tries = 0;; tries++) {
		what = "random name";
		if (random_name(name, namelen) == -1)
			goto fail;
		tmp[0] = '.';
		memcpy(tmp + 1, name, DROP_NAME_LEN + 1);
		what = "create";
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
		if (fd != -1)
			break;
		if (errno != EEXIST || tries >= 10)
			goto fail;
	}
	/* Exactly 0644 whatever the umask: queued reads it as another user. */
	what = "chmod";
	if (fchmod(fd, 0644) == -1)
		goto fail_unlink;
	head = envelope_text(env, &hlen);
	what = "write";
	if (write_all(fd, head, hlen) == -1 || write_all(fd, msg, len) == -1)
		goto fail_unlink;
	what = "fsync";
	if (fsync(fd) == -1)
		goto fail_unlink;
	what = "close";
	if (close(fd) == -1) {
		fd = -1;
		goto fail_unlink;
	}
	fd = -1;
	what = "rename";
	if (renameat(dirfd, tmp, dirfd, name) == -1)
		goto fail_unlink;
	/* The rename made durable. A directory opened with O_PATH (its
	 * group may write and search it but not read it: mode 1730) cannot
	 * be synced: the file itself is, and the rename is journaled with
	 * the next commit. */
	if (fsync(dirfd) == -1 && errno != EBADF && errno != EINVAL) {
		what = "fsync of the directory";
		saved = errno;
		unlinkat(dirfd, name, 0);
		errno = saved;
		goto fail;
	}
	free(head);
	return 0;

fail_unlink:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
fail:
	saved = errno;
	snprintf(err, errlen, "%s: %s", what, strerror(saved));
	free(head);
	if (namelen > 0)
		name[0] = '\0';
	errno = saved;
	return -1;
}
