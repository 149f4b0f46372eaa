/* SPDX-License-Identifier: ISC */
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
#include <stdarg.h>
#include <stdio.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "util.h"

#define BIND_RETRY_MS 100
#define BIND_RETRIES  100           /* 10 s */

/* Bind and listen, at start only: the TCP sockets are never closed
 * afterwards (see sockets_down_smtp), so nobody can take their port. */
static int
tcp_listen(const struct sockaddr_storage *ss, socklen_t len, const char *what)
{
	char addr[128];
	int fd, one = 1, tries;

	sa_ntop((const struct sockaddr *)ss, addr, sizeof(addr));
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

/* Stop accepting on a TCP listener but keep its port bound: shutdown()
 * makes the kernel refuse new connections, and the socket stays ours, so
 * no local user can bind the port while the daemon is down. */
static void
tcp_pause(int fd, const char *what)
{
	int zero = 0;

	if (fd == -1)
		return;
	/* A socket that does not listen shares its port with any other that
	 * asks with SO_REUSEADDR, if it has the option itself: drop it while
	 * paused, so that the port stays ours alone. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &zero, sizeof(zero)) == -1)
		log_warn("SO_REUSEADDR off on a %s listening socket", what);
	if (shutdown(fd, SHUT_RD) == -1 && errno != ENOTCONN)
		log_warn("shutdown of a %s listening socket", what);
}

/* Make sure a TCP listener accepts before a daemon gets it: after
 * tcp_pause, or if a compromised daemon shut it down. Returns -1 (logged)
 * if listen() fails; the next start of the daemon tries again. */
static int
tcp_resume(int fd, const char *what)
{
	int on = 0, one = 1;
	socklen_t len = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on)
		return 0;
	/* Back on for listen(): the connections of before, in TIME_WAIT on
	 * the same port, would otherwise make it fail. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		log_warn("SO_REUSEADDR on a %s listening socket", what);
	if (listen(fd, SOMAXCONN) == -1) {
		log_err("cannot listen again for %s: %s", what, strerror(errno));
		return -1;
	}
	log_info("listening again for %s", what);
	return 0;
}

/* How an AF_UNIX listener is made (unix_listen). */
struct unix_sock {
	const char *what;          /* "control socket", in messages */
	const char *daemon;        /* that serves it: retried at its start */
	mode_t      umask;         /* the socket is born with 0777 & ~umask */
	int         dirflags;      /* safedir_open() flags of its directory */
	bool        control_group; /* owner root, group the control group */
};

static const struct unix_sock control_sock = {
	"control socket", "ctld", 0117, SD_CREATE | SD_CHECK_LAST, true,
};
/* Every local user may submit (the uid comes from SO_PEERCRED, never
 * from the mode): 0666. Its directory is not created: the default one is
 * the control socket's, made just before. */
static const struct unix_sock submit_sock = {
	"submission socket", "smtpd", 0111, SD_CHECK_LAST, false,
};

/* The socket's directory must be root's (the running user's when not
 * root) and closed to others, and the socket is made and changed in it
 * by descriptor: nobody else can swap in a link. At start an error is
 * fatal; when its daemon is started again it is logged and -1 returned
 * (the next start tries again): the master never dies of it. */
static int
unix_listen(const char *path, const struct unix_sock *how, bool at_start)
{
	char dir[PATH_MAX], err[PATH_MAX + 512], sderr[PATH_MAX + 256];
	const char *name;
	struct sockaddr_un sun;
	struct group *gr;
	struct passwd *pw;
	struct stat st;
	mode_t old;
	gid_t gid;
	int fd = -1, dirfd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(err, sizeof(err), "%s path too long: %s", how->what,
		    path);
		goto fail;
	}
	if ((name = strrchr(path, '/')) == NULL) {
		strlcpy(dir, ".", sizeof(dir));
		name = path;
	} else {
		snprintf(dir, sizeof(dir), "%.*s", (int)(name - path), path);
		if (dir[0] == '\0')
			strlcpy(dir, "/", sizeof(dir));
		name++;
	}
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		snprintf(err, sizeof(err), "%s %s: not a file name", how->what,
		    path);
		goto fail;
	}
	if ((dirfd = safedir_open(dir, how->dirflags, 0755, sderr,
	    sizeof(sderr))) == -1) {
		snprintf(err, sizeof(err), "%s: %s", how->what, sderr);
		goto fail;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, sizeof(err), "socket: %s", strerror(errno));
		goto fail;
	}
	/* A stale socket of an earlier run is replaced; anything else is not. */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode)) {
			snprintf(err, sizeof(err), "%s %s is a symbolic link: "
			    "refusing it (remove it)", how->what, path);
			goto fail;
		}
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, sizeof(err), "%s exists and is not a socket",
			    path);
			goto fail;
		}
		if (unlinkat(dirfd, name, 0) == -1) {
			snprintf(err, sizeof(err), "unlink %s: %s", path,
			    strerror(errno));
			goto fail;
		}
	}
	/* Born with its final mode: never a moment more open than that. */
	old = umask(how->umask);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, sizeof(err), "bind %s %s: %s", how->what, path,
		    strerror(errno));
		umask(old);
		goto fail;
	}
	umask(old);
	if (how->control_group && geteuid() == 0) {
		if (M.cfg->control_group) {
			if ((gr = getgrnam(M.cfg->control_group)) == NULL) {
				snprintf(err, sizeof(err), "unknown control group %s",
				    M.cfg->control_group);
				goto fail_bound;
			}
			gid = gr->gr_gid;
		} else if ((pw = getpwnam(M.cfg->user)) != NULL)
			gid = pw->pw_gid;
		else
			gid = 0;
		if (fchownat(dirfd, name, 0, gid, AT_SYMLINK_NOFOLLOW) == -1) {
			snprintf(err, sizeof(err), "chown %s: %s", path,
			    strerror(errno));
			goto fail_bound;
		}
	}
	if (listen(fd, SOMAXCONN) == -1) {
		snprintf(err, sizeof(err), "listen %s: %s", path, strerror(errno));
		goto fail_bound;
	}
	close(dirfd);
	log_info("%s %s", how->what, path);
	return fd;

fail_bound:
	(void)unlinkat(dirfd, name, 0);
fail:
	if (at_start)
		fatalx("%s", err);
	log_err("%s not re-created (retried at %s's next start): %s",
	    how->what, how->daemon, err);
	if (fd != -1)
		close(fd);
	if (dirfd != -1)
		close(dirfd);
	return -1;
}

/* An AF_UNIX listener cannot stop accepting and start again (shutdown()
 * cannot be undone on it): it is closed and removed. Its directory is
 * root's, so nobody else can take the path meanwhile. */
static void
unix_down(int *fdp, const char *path)
{
	if (*fdp == -1)
		return;
	close(*fdp);
	*fdp = -1;
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("unlink %s", path);
}

/* Before (re)starting smtpd: every listener accepts. Each is tried, a
 * failure does not stop the others; one that fails is tried again at the
 * next start. */
void
sockets_resume_smtp(void)
{
	char what[64];
	size_t i;

	for (i = 0; i < M.nsmtp_fds; i++) {
		snprintf(what, sizeof(what), "SMTP (listener %zu)", i);
		if (M.smtp_fds[i] != -1)
			(void)tcp_resume(M.smtp_fds[i], what);
	}
	if (M.submit_fd == -1)
		M.submit_fd = unix_listen(M.cfg->submit_socket, &submit_sock,
		    false);
}

/* Clients get "connection refused" instead of waiting for a greeting
 * that no smtpd will send; the ports stay bound. The submission socket
 * goes: sendmail then writes to the drop directory at once. */
void
sockets_down_smtp(void)
{
	size_t i;

	for (i = 0; i < M.nsmtp_fds; i++)
		tcp_pause(M.smtp_fds[i], "SMTP");
	unix_down(&M.submit_fd, M.cfg->submit_socket);
}

/* Before (re)starting ctld: the health endpoint accepts and the control
 * socket exists (made again if it was removed while ctld was down). */
void
sockets_resume_ctl(void)
{
	if (M.control_fd == -1)
		M.control_fd = unix_listen(M.cfg->control_socket,
		    &control_sock, false);
	if (M.health_fd != -1)
		(void)tcp_resume(M.health_fd, "health");
}

/* The control socket is closed and removed (unix_down); the health
 * port stays bound, refusing connections. */
void
sockets_down_ctl(void)
{
	unix_down(&M.control_fd, M.cfg->control_socket);
	tcp_pause(M.health_fd, "health");
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
	TAILQ_FOREACH(l, &M.cfg->listeners, entry) {
		if (l->index >= M.nsmtp_fds)
			fatalx("listener index %u out of range", l->index);
		if (M.smtp_fds[l->index] == -1)
			M.smtp_fds[l->index] = tcp_listen(&l->ss, l->sslen, "SMTP");
	}
	/* Binding one would remove the other. */
	if (strcmp(M.cfg->submit_socket, M.cfg->control_socket) == 0)
		fatalx("local-submission socket and control socket are the same "
		    "path %s", M.cfg->submit_socket);
	M.control_fd = unix_listen(M.cfg->control_socket, &control_sock, true);
	/* After the control socket: by default in the directory it made. */
	M.submit_fd = unix_listen(M.cfg->submit_socket, &submit_sock, true);
	if (M.cfg->health_enabled)
		M.health_fd = tcp_listen(&M.cfg->health_ss, M.cfg->health_sslen,
		    "health");
}
