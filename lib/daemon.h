/* SPDX-License-Identifier: ISC */
/* What every unprivileged daemon shares: command line (-d -v), logging,
 * process title, the master channel on fd 3, the configuration snapshot,
 * received sockets and peer channels, privilege drop and graceful stop.
 *
 * Start-up order, driven by the master over fd 3:
 *   M_CONFIG (memfd)  -> config parsed, log configured, ops->configure()
 *   M_LISTEN / M_PEER -> ops->listen() / ops->peer(); M_PEER may come again
 *                        at any time later when a peer restarts
 *   M_START           -> privileges dropped (chroot to ops->chroot_dir(),
 *                        user queue-user for queued, user for the others),
 *                        then ops->start(), then M_READY to the master
 * SIGTERM/SIGINT call ops->stop(); the daemon must then finish its work and
 * call daemon_exit(). Losing the master channel ends the daemon at once. */
#ifndef EMPATH_DAEMON_H
#define EMPATH_DAEMON_H

#include "channel.h"
#include "config.h"
#include "proto.h"

struct daemon_ops {
	enum proc_id self;
	/* Where to chroot when started as root: the spool for queued, an
	 * empty directory for smtpd, deliverd and ctld, NULL for none. When
	 * not root no chroot happens, but the process chdir()s there if
	 * chdir_unprivileged is set (queued works with relative paths). */
	const char *(*chroot_dir)(const struct config *);
	bool chdir_unprivileged;
	void (*configure)(struct config *);                 /* before the drop */
	void (*listen)(enum listen_kind, unsigned index, int fd);
	void (*peer)(enum proc_id, int fd);                 /* takes the fd */
	void (*start)(void);                                /* after the drop */
	void (*master_msg)(struct chan_msg *);              /* anything else */
	void (*stop)(void);                                 /* graceful stop */
};

int  daemon_main(int argc, char **argv, const struct daemon_ops *);
const struct config *daemon_config(void);
/* Flush the master channel and exit with status. */
void daemon_exit(int status) __attribute__((noreturn));
/* Send a message to the master (M_USER_LOOKUP); -1 without a channel. */
struct msgbuf;
int  daemon_master_send(uint16_t type, uint32_t peerid, const struct msgbuf *);
/* The empty directory that smtpd, deliverd and ctld chroot into. */
const char *daemon_empty_dir(const struct config *);

#endif
