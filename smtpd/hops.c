/* SPDX-License-Identifier: ISC */
/* Counting Received: fields (see hops.h). */
#include <string.h>

#include "hops.h"

#define HOP_NAME    "received"
#define HOP_NAMELEN 8
#define HOP_NOMATCH 0xff

void
hops_init(struct hopcount *h)
{
	memset(h, 0, sizeof(*h));
}

void
hops_feed(struct hopcount *h, const char *buf, size_t len)
{
	size_t i;
	char c;

	for (i = 0; i < len && !h->done; i++) {
		c = buf[i];
		if (!h->mid) {
			/* An empty line ends the header section. */
			if (c == '\r' || c == '\n') {
				h->done = true;
				break;
			}
			h->mid = true;
			h->pos = 0;
		}
		if (c == '\n') {
			h->mid = false;
			continue;
		}
		if (h->pos == HOP_NOMATCH)
			continue;
		if (h->pos < HOP_NAMELEN) {
			if ((c | 0x20) == HOP_NAME[h->pos])
				h->pos++;
			else
				h->pos = HOP_NOMATCH;
		} else if (c == ':') {
			h->n++;
			h->pos = HOP_NOMATCH;
		} else if (c != ' ' && c != '\t')
			h->pos = HOP_NOMATCH;
	}
}
