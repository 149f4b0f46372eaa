/* Every socket a daemon serves on is bound here, by the master, so that
 * the daemons never need privileges and a restarted daemon gets the same
 * sockets back. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "util.h"

#define BIND_RETRY_MS 100
#define BIND_RETRIES  100           /* 10 s */

/* Bind and listen; fatal at start, but again is -1 (the master keeps
 * running and tries at the next restart of the daemon). */
static int
tcp_listen(const struct sockaddr_storage *ss, socklen_t len, const char *what,
    bool again)
{
	char addr[128];
	int fd, one = 1, tries;

	sa_ntop((const struct sockaddr *)ss, addr, sizeof(addr));
	if (again) {
		fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (fd == -1 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
		    IPV6_V6ONLY, &one, sizeof(one))) ||
		    bind(fd, (const struct sockaddr *)ss, len) == -1 ||
		    listen(fd, SOMAXCONN) == -1) {
			log_warn("cannot listen again for %s on %s", what, addr);
			if (fd != -1)
				close(fd);
			return -1;
		}
		log_info("listening again for %s on %s", what, addr);
		return fd;
	}
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		fatal("socket for %s", what);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		fatal("SO_REUSEADDR");
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1)
		fatal("IPV6_V6ONLY");
	/* The daemons of a master that was killed exit a moment after it:
	 * its smtpd may still hold the port. Wait for it, bounded. */
	for (tries = 0; bind(fd, (const struct sockaddr *)ss, len) == -1; tries++) {
		if (errno != EADDRINUSE || tries >= BIND_RETRIES)
			fatal("cannot listen for %s on %s", what, addr);
		if (tries == 0)
			log_warnx("%s port on %s is in use (an old smtpd still "
			    "exiting?): retrying for %d s", what, addr,
			    BIND_RETRIES * BIND_RETRY_MS / 1000);
		usleep(BIND_RETRY_MS * 1000);
	}
	/* A large backlog: bursts of connections must not be dropped. */
	if (listen(fd, SOMAXCONN) == -1)
		fatal("listen on %s", addr);
	log_info("listening for %s on %s", what, addr);
	return fd;
}

/* The control socket's directory must be root's (the running user's when
 * not root) and closed to others, and the socket is made and changed in it
 * by descriptor: nobody else can swap in a link. */
static int
control_listen(const char *path)
{
	char dir[PATH_MAX], err[PATH_MAX + 256];
	const char *name;
	struct sockaddr_un sun;
	struct group *gr;
	struct passwd *pw;
	struct stat st;
	mode_t old;
	gid_t gid;
	int fd, dirfd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		fatalx("control socket path too long: %s", path);
	if ((name = strrchr(path, '/')) == NULL) {
		strlcpy(dir, ".", sizeof(dir));
		name = path;
	} else {
		snprintf(dir, sizeof(dir), "%.*s", (int)(name - path), path);
		if (dir[0] == '\0')
			strlcpy(dir, "/", sizeof(dir));
		name++;
	}
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		fatalx("control socket %s: not a file name", path);
	if ((dirfd = safedir_open(dir, SD_CREATE | SD_CHECK_LAST, 0755, err,
	    sizeof(err))) == -1)
		fatalx("control socket: %s", err);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		fatal("socket");
	/* A stale socket of an earlier run is replaced; anything else is not. */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			fatalx("control socket %s is a symbolic link: refusing it "
			    "(remove it)", path);
		if (!S_ISSOCK(st.st_mode))
			fatalx("%s exists and is not a socket", path);
		if (unlinkat(dirfd, name, 0) == -1)
			fatal("unlink %s", path);
	}
	/* Born 0660: never a moment open to others. */
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind control socket %s", path);
	umask(old);
	if (geteuid() == 0) {
		if (M.cfg->control_group) {
			if ((gr = getgrnam(M.cfg->control_group)) == NULL)
				fatalx("unknown control group %s", M.cfg->control_group);
			gid = gr->gr_gid;
		} else if ((pw = getpwnam(M.cfg->user)) != NULL)
			gid = pw->pw_gid;
		else
			gid = 0;
		if (fchownat(dirfd, name, 0, gid, AT_SYMLINK_NOFOLLOW) == -1)
			fatal("chown %s", path);
	}
	close(dirfd);
	if (listen(fd, SOMAXCONN) == -1)
		fatal("listen %s", path);
	log_info("control socket %s", path);
	return fd;
}

int
sockets_open_smtp(void)
{
	struct cfg_listen *l;

	TAILQ_FOREACH(l, &M.cfg->listeners, entry) {
		if (l->index >= M.nsmtp_fds)
			fatalx("listener index %u out of range", l->index);
		if (M.smtp_fds[l->index] != -1)
			continue;
		if ((M.smtp_fds[l->index] = tcp_listen(&l->ss, l->sslen, "SMTP",
		    M.smtp_fds_closed)) == -1)
			return -1;
	}
	M.smtp_fds_closed = false;
	return 0;
}

/* Clients get "connection refused" instead of waiting for a greeting
 * that no smtpd will send. */
void
sockets_close_smtp(void)
{
	size_t i;

	for (i = 0; i < M.nsmtp_fds; i++)
		if (M.smtp_fds[i] != -1) {
			close(M.smtp_fds[i]);
			M.smtp_fds[i] = -1;
		}
	M.smtp_fds_closed = true;
}

int
sockets_open_ctl(void)
{
	if (M.control_fd == -1)
		M.control_fd = control_listen(M.cfg->control_socket);
	if (M.cfg->health_enabled && M.health_fd == -1 &&
	    (M.health_fd = tcp_listen(&M.cfg->health_ss, M.cfg->health_sslen,
	    "health", M.ctl_fds_closed)) == -1)
		return -1;
	M.ctl_fds_closed = false;
	return 0;
}

void
sockets_close_ctl(void)
{
	if (M.control_fd != -1) {
		close(M.control_fd);
		M.control_fd = -1;
	}
	if (M.health_fd != -1) {
		close(M.health_fd);
		M.health_fd = -1;
	}
	M.ctl_fds_closed = true;
}

void
sockets_open(void)
{
	struct cfg_listen *l;
	size_t i, n = 0;

	TAILQ_FOREACH(l, &M.cfg->listeners, entry)
		n++;
	M.smtp_fds = xcalloc(n ? n : 1, sizeof(int));
	M.nsmtp_fds = n;
	for (i = 0; i < n; i++)
		M.smtp_fds[i] = -1;
	(void)sockets_open_smtp();
	(void)sockets_open_ctl();
}
