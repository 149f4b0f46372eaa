/* Every socket a daemon serves on is bound here, by the master, so that
 * the daemons never need privileges and a restarted daemon gets the same
 * sockets back. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "util.h"

#define BIND_RETRY_MS 100
#define BIND_RETRIES  100           /* 10 s */

static int
tcp_listen(const struct sockaddr_storage *ss, socklen_t len, const char *what)
{
	char addr[128];
	int fd, one = 1, tries;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		fatal("socket for %s", what);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		fatal("SO_REUSEADDR");
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1)
		fatal("IPV6_V6ONLY");
	sa_ntop((const struct sockaddr *)ss, addr, sizeof(addr));
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

static int
control_listen(const char *path)
{
	struct sockaddr_un sun;
	struct group *gr;
	struct passwd *pw;
	struct stat st;
	mode_t old;
	gid_t gid;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		fatalx("control socket path too long: %s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		fatal("socket");
	/* A stale socket of an earlier run is replaced; anything else is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatalx("%s exists and is not a socket", path);
		if (unlink(path) == -1)
			fatal("unlink %s", path);
	}
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
		if (chown(path, 0, gid) == -1)
			fatal("chown %s", path);
	}
	if (chmod(path, 0660) == -1)
		fatal("chmod %s", path);
	if (listen(fd, SOMAXCONN) == -1)
		fatal("listen %s", path);
	log_info("control socket %s", path);
	return fd;
}

void
sockets_open(void)
{
	struct cfg_listen *l;
	size_t n = 0;

	TAILQ_FOREACH(l, &M.cfg->listeners, entry)
		n++;
	M.smtp_fds = xcalloc(n ? n : 1, sizeof(int));
	M.nsmtp_fds = n;
	TAILQ_FOREACH(l, &M.cfg->listeners, entry) {
		if (l->index >= n)
			fatalx("listener index %u out of range", l->index);
		M.smtp_fds[l->index] = tcp_listen(&l->ss, l->sslen, "SMTP");
	}
	M.control_fd = control_listen(M.cfg->control_socket);
	if (M.cfg->health_enabled)
		M.health_fd = tcp_listen(&M.cfg->health_ss, M.cfg->health_sslen,
		    "health");
}
