/* SPDX-License-Identifier: ISC */
/* A descriptor of another API version, written out by hand as an older
 * or newer header would have made it. */
#include <empath/empath.h>

EMPATH_EXPORT const struct empath_plugin empath_plugin = {
	.api_version = EMPATH_API_VERSION + 41,
	.name = "badver",
};
