/* SPDX-License-Identifier: ISC */
/* empath-master -n: beyond the grammar, what would stop the system from
 * starting, found now rather than by a daemon that fails in a loop: the
 * TLS certificates and keys (loaded, and each key matching its
 * certificate), the users and group (when root: only root drops to them),
 * the directories of the spool and of the control and submission
 * sockets, and each plugin
 * (loaded, its descriptor checked, init with its args, then fini). */
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "lineio.h"
#include "master.h"
#include "plugin.h"

static int
check_tls(const char *path)
{
	struct cfg_listen *l;
	char err[512];
	SSL_CTX *ctx;
	int errors = 0;

	TAILQ_FOREACH(l, &M.cfg->listeners, entry) {
		if (l->tls_cert == NULL)
			continue;
		if ((ctx = tls_server_ctx(l->tls_cert, l->tls_key, err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "%s:%u: listener %s port %u: %s "
			    "(certificate %s, key %s)\n", path, l->tls_line,
			    l->addr, l->port, err, l->tls_cert, l->tls_key);
			errors++;
			continue;
		}
		SSL_CTX_free(ctx);
	}
	return errors;
}

/* A user a daemon drops to: it exists and is not root. */
static int
check_user(const char *path, const char *keyword, const char *name,
    uid_t *uid)
{
	struct passwd *pw;

	if ((pw = getpwnam(name)) == NULL) {
		fprintf(stderr, "%s: %s \"%s\" does not exist (create it, see "
		    "empath-master(8))\n", path, keyword, name);
		return 1;
	}
	if (pw->pw_uid == 0) {
		fprintf(stderr, "%s: %s \"%s\" is root: name an unprivileged "
		    "user\n", path, keyword, name);
		return 1;
	}
	*uid = pw->pw_uid;
	return 0;
}

static int
check_users(const char *path)
{
	uid_t u = 0, q = 0;
	int errors = 0;

	errors += check_user(path, "user", M.cfg->user, &u);
	errors += check_user(path, "queue-user", M.cfg->queue_user, &q);
	if (errors == 0 && u == q) {
		fprintf(stderr, "%s: user \"%s\" and queue-user \"%s\" are the "
		    "same uid %u: the network-facing daemons could read the "
		    "queue\n", path, M.cfg->user, M.cfg->queue_user, (unsigned)u);
		errors++;
	}
	if (M.cfg->control_group && getgrnam(M.cfg->control_group) == NULL) {
		fprintf(stderr, "%s: control group \"%s\" does not exist\n", path,
		    M.cfg->control_group);
		errors++;
	}
	return errors;
}

/* dir must be reachable without links through trusted directories; only
 * its last component may be missing (the master creates it). */
static int
check_dir(const char *path, const char *what, const char *dir, int flags)
{
	char parent[PATH_MAX], err[PATH_MAX + 256];
	const char *slash;
	int fd;

	if ((fd = safedir_open(dir, flags, 0, err, sizeof(err))) != -1) {
		close(fd);
		return 0;
	}
	if (errno == ENOENT) {
		/* Missing: fine if its parent is there. */
		if ((slash = strrchr(dir, '/')) == NULL)
			snprintf(parent, sizeof(parent), ".");
		else if (slash == dir)
			snprintf(parent, sizeof(parent), "/");
		else
			snprintf(parent, sizeof(parent), "%.*s", (int)(slash - dir),
			    dir);
		if ((fd = safedir_open(parent, 0, 0, err, sizeof(err))) != -1) {
			close(fd);
			return 0;
		}
	}
	fprintf(stderr, "%s: %s: %s\n", path, what, err);
	return 1;
}

static void
print_line(const char *line)
{
	fprintf(stderr, "%s\n", line);
}

/* The directory of a socket path. */
static void
sock_dir(const char *sock, char *dir, size_t len)
{
	const char *slash;

	if ((slash = strrchr(sock, '/')) == NULL)
		snprintf(dir, len, ".");
	else if (slash == sock)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - sock), sock);
}

int
check_system(const char *path)
{
	char dir[PATH_MAX], sdir[PATH_MAX], err[PATH_MAX + 256];
	const char *sock = M.cfg->control_socket;
	int errors = 0, fd;

	errors += check_tls(path);
	errors += plugins_check_isolated(path, print_line);
	if (geteuid() == 0)
		errors += check_users(path);
	errors += check_dir(path, "spool", M.cfg->spool, 0);
	sock_dir(sock, dir, sizeof(dir));
	errors += check_dir(path, "control socket directory", dir,
	    SD_CHECK_LAST);
	/* The master does not create the submission socket's directory
	 * unless it is the control socket's. */
	if (strcmp(M.cfg->submit_socket, sock) == 0) {
		fprintf(stderr, "%s: local-submission socket and control socket "
		    "are the same path %s\n", path, sock);
		errors++;
	}
	sock_dir(M.cfg->submit_socket, sdir, sizeof(sdir));
	if (strcmp(sdir, dir) != 0) {
		if ((fd = safedir_open(sdir, SD_CHECK_LAST, 0, err,
		    sizeof(err))) == -1) {
			fprintf(stderr, "%s: local-submission socket directory: "
			    "%s\n", path, err);
			errors++;
		} else
			close(fd);
	}
	return errors;
}
