/* SPDX-License-Identifier: ISC */
/* A plugin with one deliverd event: another daemon never initialises
 * it. */
#include <empath/empath.h>

#include "trace.h"

static int
second_init(int argc, char **argv)
{
	trace_open(argc, argv);
	trace("init", argc, argv);
	return 0;
}

static void
second_fini(void)
{
	trace("fini second", 0, NULL);
}

static void
second_delivered(em_context *ctx)
{
	em_context_set(ctx, "delivered-to", em_context_get_delivery_host(ctx));
}

EMPATH_PLUGIN(.name = "second", .version = "0", .init = second_init,
    .fini = second_fini, .on_delivery_success = second_delivered);
