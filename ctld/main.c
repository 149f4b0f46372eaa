/* SPDX-License-Identifier: ISC */
/* empath-ctld: the control plane daemon. It serves the control socket for
 * empathctl and the health endpoint, using the master's process snapshot
 * and asking queued and deliverd for their data. Started as root it is
 * chrooted to the empty directory like smtpd and deliverd: what it needs
 * from the user and group databases is read before (auth.c, names.c). */
#include <unistd.h>

#include "auth.h"
#include "ctld.h"
#include "daemon.h"
#include "log.h"
#include "names.h"
#include "sandbox.h"

static const char *
ctld_chroot_dir(const struct config *cf)
{
	return daemon_empty_dir(cf);
}

static void
ctld_configure(struct config *cf)
{
	size_t n = auth_configure(cf);

	names_preload(cf, auth_group());

	if (n > 0)
		log_info("control: %zu token%s configured: commands other than "
		    "ping need one", n, n == 1 ? "" : "s");
}

static void
ctld_listen(enum listen_kind kind, unsigned index, int fd)
{
	(void)index;
	switch (kind) {
	case LISTEN_CONTROL:
		control_listen(fd);
		break;
	case LISTEN_HEALTH:
		health_listen(fd);
		break;
	default:
		log_warnx("unexpected listening socket (kind %d)", (int)kind);
		close(fd);
		break;
	}
}

static void
ctld_start(void)
{
	sandbox_enter(PROC_CTLD);
	control_start();
	health_start();
	log_info("ctld ready");
}

static void
ctld_master_msg(struct chan_msg *m)
{
	switch (m->type) {
	case M_PROCS:
		procs_update(m);
		break;
	case M_PLUGINS:
		plugin_table_update(m);
		break;
	default:
		log_debug("master: unexpected %s", msg_name(m->type));
		break;
	}
}

/* Nothing ctld does needs finishing: drop the clients and go. */
static void
ctld_stop(void)
{
	control_shutdown();
	health_shutdown();
	peers_shutdown();
	daemon_exit(0);
}

static const struct daemon_ops ctld_ops = {
	.self = PROC_CTLD,
	.chroot_dir = ctld_chroot_dir,
	.chdir_unprivileged = false,
	.configure = ctld_configure,
	.listen = ctld_listen,
	.peer = peer_attach,
	.start = ctld_start,
	.master_msg = ctld_master_msg,
	.stop = ctld_stop,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &ctld_ops);
}
