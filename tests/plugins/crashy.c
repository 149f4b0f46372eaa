/* SPDX-License-Identifier: ISC */
/* A plugin that crashes its daemon: validate_rcpt writes through a
 * NULL pointer when the recipient being checked starts with "crash".
 * Any other recipient is accepted. For the crash supervision tests. */
#include <stddef.h>
#include <string.h>

#include <empath/empath.h>

static int
crashy_rcpt(em_context *ctx)
{
	const char *const *rcpts;
	size_t n = 0;

	rcpts = em_context_get_recipients(ctx, &n);
	if (rcpts != NULL && n > 0 && rcpts[n - 1] != NULL &&
	    strncmp(rcpts[n - 1], "crash", 5) == 0) {
		volatile int *volatile nowhere = NULL;

		*nowhere = 1;
	}
	return EM_ACCEPT;
}

EMPATH_PLUGIN(.name = "crashy", .version = "1.0",
    .validate_rcpt = crashy_rcpt);
