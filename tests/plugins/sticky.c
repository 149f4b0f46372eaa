/* SPDX-License-Identifier: ISC */
/* A plugin whose init leaves traces in the process that loads it: it
 * ignores SIGCHLD (so children are reaped by no one) and opens the file
 * named by its first arg without O_CLOEXEC, never closing it. Loaded by
 * a daemon that forks nothing, harmless; it must never run in the
 * master. */
#include <fcntl.h>
#include <signal.h>
#include <empath/empath.h>

static int
sticky_init(int argc, char **argv)
{
	signal(SIGCHLD, SIG_IGN);
	if (argc >= 2 && open(argv[1], O_RDONLY | O_CREAT, 0600) == -1)
		return -1;
	return 0;
}

static void
sticky_event(em_context *ctx)
{
	(void)ctx;
}

EMPATH_PLUGIN(.name = "sticky", .version = "1", .init = sticky_init,
    .on_message_queued = sticky_event);
