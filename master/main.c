/* SPDX-License-Identifier: ISC */
/* empath-master: read the configuration, prepare the spool and sockets,
 * start the daemons and supervise them. */
#include <sys/mman.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "plugin.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/empath"
#endif

struct master M = { .cfg_memfd = -1, .control_fd = -1, .health_fd = -1,
    .submit_fd = -1 };

static void
usage(void)
{
	fprintf(stderr, "usage: empath-master [-dnTv] [-f file]\n");
	exit(1);
}

static void
print_error(const char *line)
{
	fprintf(stderr, "%s\n", line);
}

/* The snapshot every daemon parses: the exact text, in a sealed memfd. */
static void
make_snapshot(void)
{
	M.cfg_memfd = memfd_create("empath.conf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (M.cfg_memfd == -1)
		fatal("memfd_create");
	if (write_all(M.cfg_memfd, M.cfg_text, M.cfg_len) == -1)
		fatal("write configuration snapshot");
	if (fcntl(M.cfg_memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1)
		fatal("seal configuration snapshot");
}

/* A plugin that does not load at start is an error of the whole
 * system: each line on stderr and in the log. */
static void
plugin_error(const char *line)
{
	fprintf(stderr, "%s\n", line);
	if (!M.foreground)
		log_err("%s", line);
}

static void
on_sigchld(int signo, void *arg)
{
	(void)signo;
	(void)arg;
	procs_reap();
}

static void
on_stop(int signo, void *arg)
{
	(void)arg;
	if (M.stopping) {
		log_info("signal %d again: already stopping", signo);
		return;
	}
	log_info("received signal %d, stopping", signo);
	procs_stop_all();
}

static void
on_hup(int signo, void *arg)
{
	(void)signo;
	(void)arg;
	log_warnx("SIGHUP: configuration reload is not supported yet; "
	    "restart empath-master to apply changes");
}

int
main(int argc, char **argv)
{
	extern char **environ;
	const char *path = SYSCONFDIR "/empath.conf";
	int ch, checkonly = 0;

	while ((ch = getopt(argc, argv, "df:nTv")) != -1) {
		switch (ch) {
		case 'd': M.foreground = 1; break;
		case 'f': path = optarg; break;
		case 'n': checkonly = 1; break;
		case 'T': M.test_env = true; break;
		case 'v': M.verbose++; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	/* setproctitle() reuses argv's memory: keep the path apart, in
	 * memory that lives as long as the master. */
	static char path_copy[PATH_MAX];
	if (strlcpy(path_copy, path, sizeof(path_copy)) >= sizeof(path_copy))
		errx(1, "configuration path too long");
	path = path_copy;

	M.cfg = config_load(path, &M.cfg_text, &M.cfg_len, print_error);
	if (M.cfg == NULL) {
		if (checkonly)
			fprintf(stderr, "%s: configuration has errors\n", path);
		return 1;
	}
	if (checkonly) {
		int errors = check_system(path);

		if (errors == 0)
			fprintf(stderr, "%s: configuration OK\n", path);
		else
			fprintf(stderr, "%s: configuration has errors\n", path);
		config_free(M.cfg);
		free(M.cfg_text);
		return errors == 0 ? 0 : 1;
	}

	setproctitle_init(argc, argv, environ);
	setproctitle("-empath: master");
	log_init("master", M.foreground, M.verbose);
	log_configure(M.cfg->log_target, M.cfg->log_format, M.cfg->log_level);
	if (geteuid() != 0)
		log_warnx("not started as root: running unprivileged, "
		    "daemons will not drop privileges or chroot");

	/* Every plugin is loaded and initialised once, as -n does, before
	 * any daemon starts: Empath never runs with some of them missing.
	 * In a child: their code never runs in the master. */
	if (plugins_check_isolated(path, plugin_error) != 0) {
		log_err("%s: a plugin does not load: not starting", path);
		config_free(M.cfg);
		free(M.cfg_text);
		return 1;
	}
	M.started = wall_s();
	signal(SIGPIPE, SIG_IGN);
	ev_init();
	ev_signal(SIGCHLD, on_sigchld, NULL);
	ev_signal(SIGTERM, on_stop, NULL);
	ev_signal(SIGINT, on_stop, NULL);
	ev_signal(SIGHUP, on_hup, NULL);

	make_snapshot();
	plugsup_init();
	spool_prepare();
	sockets_open();
	procs_start_all();
	log_info("empath %s started", EMPATH_VERSION);
	ev_run();
	log_info("stopped");
	config_free(M.cfg);
	free(M.cfg_text);
	return 0;
}
