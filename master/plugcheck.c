/* SPDX-License-Identifier: ISC */
/* The plugin check at start and for -n, run in a child: loading a
 * plugin runs its constructors, init() and fini(), which may start
 * threads, change signal dispositions (SIGCHLD ignored would stop the
 * reaping of daemons), leave descriptors open or keep their library
 * mapped. None of that may stay in the long-lived root master. */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "plugin.h"
#include "util.h"

/* What the parent reads of the child at most: a line each error. */
#define CHECK_LINE_MAX  4096
#define CHECK_TOTAL_MAX (64 * 1024)

static int check_pipe = -1;

static void
to_pipe(const char *line)
{
	size_t n = strnlen(line, CHECK_LINE_MAX - 2);
	char buf[CHECK_LINE_MAX];

	memcpy(buf, line, n);
	buf[n++] = '\n';
	(void)write_all(check_pipe, buf, n);
}

static void
emit(char *line, void (*errfn)(const char *))
{
	char shown[CHECK_LINE_MAX * 4 + 4];

	/* The child ran plugin code: its words are not trusted. */
	errfn(log_sanitize(line, shown, sizeof(shown)));
}

int
plugins_check_isolated(const char *path, void (*errfn)(const char *))
{
	char buf[CHECK_LINE_MAX], chunk[1024], msg[CHECK_LINE_MAX];
	size_t have = 0, total = 0, i;
	int fds[2], status, lines = 0, code;
	ssize_t r;
	pid_t pid;

	if (TAILQ_EMPTY(&M.cfg->plugins))
		return 0;
	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(msg, sizeof(msg), "%s: plugin check: pipe: %s", path,
		    strerror(errno));
		errfn(msg);
		return 1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		snprintf(msg, sizeof(msg), "%s: plugin check: fork: %s", path,
		    strerror(errno));
		errfn(msg);
		close(fds[0]);
		close(fds[1]);
		return 1;
	}
	if (pid == 0) {
		close(fds[0]);
		check_pipe = fds[1];
		signal(SIGPIPE, SIG_IGN);
		code = plugins_check(M.cfg, path, to_pipe);
		_exit(code > 100 ? 100 : code);
	}
	close(fds[1]);
	for (;;) {
		r = read(fds[0], chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* Read to the end so the child never blocks, keep a bound. */
		if (total >= CHECK_TOTAL_MAX)
			continue;
		total += (size_t)r;
		for (i = 0; i < (size_t)r; i++) {
			if (chunk[i] == '\n' || have == sizeof(buf) - 1) {
				buf[have] = '\0';
				emit(buf, errfn);
				lines++;
				have = 0;
				if (chunk[i] == '\n')
					continue;
			}
			buf[have++] = chunk[i];
		}
	}
	close(fds[0]);
	if (have > 0) {
		buf[have] = '\0';
		emit(buf, errfn);
		lines++;
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			snprintf(msg, sizeof(msg), "%s: plugin check: waitpid: "
			    "%s", path, strerror(errno));
			errfn(msg);
			return lines + 1;
		}
	if (WIFSIGNALED(status)) {
		snprintf(msg, sizeof(msg), "%s: plugin check: killed by signal "
		    "%d (%s) while loading the plugins", path, WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
		errfn(msg);
		return lines + 1;
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	if (code != 0 && lines == 0) {
		snprintf(msg, sizeof(msg), "%s: plugin check: failed (exit "
		    "status %d) without saying why", path, code);
		errfn(msg);
		return 1;
	}
	return code != 0 ? (lines > code ? lines : code) : lines;
}
