/* SPDX-License-Identifier: ISC */
/* empath-smtpd: started by empath-master, which hands it the
 * configuration, the SMTP listening sockets, the local submission socket
 * and the channel to queued.
 * Everything that needs the file system happens in configure(), before
 * the chroot into the empty directory. */
#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"
#include "hooks.h"
#include "log.h"
#include "sandbox.h"
#include "smtpd.h"
#include "starttls.h"

static const char *
smtpd_chroot_dir(const struct config *cfg)
{
	return daemon_empty_dir(cfg);
}

/* At exit: every plugin's fini. */
static void
smtpd_plugins_fini(void)
{
	hplug_unload();
}

static void
smtpd_configure(struct config *cfg)
{
	char err[2048];

	session_init(cfg);
	/* Plugins are loaded and initialised here, as root and with the
	 * file system, before the chroot and the seccomp filter. The
	 * snapshot is the file's exact text: its line numbers hold. */
	if (hplug_load(cfg, "config", err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (hplug_active())
		atexit(smtpd_plugins_fini);
	/* Keys are read now, while the files are reachable and readable:
	 * a listener that cannot have its TLS is a configuration error. */
	if (starttls_configure(cfg) == -1)
		fatalx("cannot load the TLS certificates");
}

static void
smtpd_listen(enum listen_kind kind, unsigned index, int fd)
{
	if (kind == LISTEN_SUBMIT) {
		server_listen_local(fd);
		return;
	}
	if (kind != LISTEN_SMTP) {
		log_warnx("unexpected listening socket of kind %d", (int)kind);
		close(fd);
		return;
	}
	server_listen(index, fd);
}

static void
smtpd_peer(enum proc_id id, int fd)
{
	if (id != PROC_QUEUED) {
		log_warnx("unexpected channel to %s", proc_name(id));
		close(fd);
		return;
	}
	qc_set_channel(fd);
}

static void
smtpd_start(void)
{
	sandbox_enter(PROC_SMTPD);
	server_start();
	log_info("ready as %s", smtpd.hostname);
}

static void
smtpd_stop(void)
{
	server_stop();
}

/* Local submission: the master tells who a uid is (localuser.c). */
static void
smtpd_master_msg(struct chan_msg *m)
{
	lu_master_msg(m);
}

static const struct daemon_ops smtpd_ops = {
	.self = PROC_SMTPD,
	.chroot_dir = smtpd_chroot_dir,
	.chdir_unprivileged = false,
	.configure = smtpd_configure,
	.listen = smtpd_listen,
	.peer = smtpd_peer,
	.start = smtpd_start,
	.master_msg = smtpd_master_msg,
	.stop = smtpd_stop,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &smtpd_ops);
}
