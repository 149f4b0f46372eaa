/* SPDX-License-Identifier: ISC */
/* $NOTIFY_SOCKET by hand: the protocol is one sendmsg, and libsystemd
 * would be a dependency for it alone (and for hosts without systemd). */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdnotify.h"

int
sdnotify(const char *state)
{
	struct sockaddr_un sun;
	struct iovec iov;
	struct msghdr mh;
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t alen;
	size_t len;
	ssize_t n;
	int fd, saved;

	if (path == NULL || *path == '\0')
		return 0;
	/* Only these two forms: "vsock:" and others are not for us. */
	if (*path != '/' && *path != '@') {
		errno = EAFNOSUPPORT;
		return -1;
	}
	len = strlen(path);
	/* A path needs its NUL; an abstract name has none, and its leading
	 * '@' stands for the NUL sun_path starts with. */
	if (len >= sizeof(sun.sun_path) + (*path == '@')) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (*path == '@') {
		sun.sun_path[0] = '\0';
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	iov.iov_base = (void *)(uintptr_t)state;
	iov.iov_len = strlen(state);
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &sun;
	mh.msg_namelen = alen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	saved = errno;
	close(fd);
	if (n != (ssize_t)iov.iov_len) {
		errno = n == -1 ? saved : EMSGSIZE;
		return -1;
	}
	return 1;
}

int
sdnotify_part_ready(unsigned part, unsigned count)
{
	static uint32_t seen;
	static int sent;
	uint32_t all;

	if (count == 0 || count > 32 || part >= count || sent)
		return 0;
	seen |= (uint32_t)1 << part;
	all = count == 32 ? UINT32_MAX : ((uint32_t)1 << count) - 1;
	if ((seen & all) != all)
		return 0;
	sent = 1;
	return sdnotify("READY=1");
}
