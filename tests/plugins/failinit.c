/* SPDX-License-Identifier: ISC */
/* A plugin whose init fails. */
#include <empath/empath.h>

#include "trace.h"

static int
failinit_init(int argc, char **argv)
{
	trace_open(argc, argv);
	trace("init", argc, argv);
	return -1;
}

static void
failinit_fini(void)
{
	trace("fini failinit", 0, NULL);
}

static void
failinit_event(em_context *ctx)
{
	(void)ctx;
}

EMPATH_PLUGIN(.name = "failinit", .init = failinit_init,
    .fini = failinit_fini, .on_connection_opened = failinit_event);
