/* SPDX-License-Identifier: ISC */
/* A descriptor whose name is not the file's. */
#include <empath/empath.h>

static void
misnamed_event(em_context *ctx)
{
	(void)ctx;
}

EMPATH_PLUGIN(.name = "other", .on_message_queued = misnamed_event);
