/* SPDX-License-Identifier: ISC */
/* A plugin whose init leaves traces in the process that loads it: it
 * ignores SIGCHLD (so children are reaped by no one) and opens the file
 * named by its first arg without O_CLOEXEC, never closing it. Loaded by
 * a daemon that forks nothing, harmless; it must never run in the
 * master. With "abort" as second arg its init dies of SIGABRT. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <empath/empath.h>

static int
sticky_init(int argc, char **argv)
{
	signal(SIGCHLD, SIG_IGN);
	if (argc >= 2 && open(argv[1], O_RDONLY | O_CREAT, 0600) == -1)
		return -1;
	if (argc >= 3 && strcmp(argv[2], "abort") == 0)
		abort();
	return 0;
}

static void
sticky_event(em_context *ctx)
{
	(void)ctx;
}

EMPATH_PLUGIN(.name = "sticky", .version = "1", .init = sticky_init,
    .on_message_queued = sticky_event);
