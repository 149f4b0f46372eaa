/* SPDX-License-Identifier: ISC */
/* Open sessions per client address and listener, for
 * max-connections-per-ip. An IPv4 client is counted by its address; an
 * IPv6 client by its /64, since a single host is usually given a whole
 * /64 and could otherwise open the limit's worth of connections from
 * each of its 2^64 addresses. A v4-mapped IPv6 address (a v4 client on a
 * dual-stack socket) counts as its IPv4 address. A hash table of the
 * keys that have at least one session, so an accept costs the same
 * with 10 or 10,000 sessions open. An entry lives only while its count is positive: the
 * table never holds more entries than there are sessions. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "smtpd.h"
#include "util.h"

#define IPT_BUCKETS 1024               /* a power of two */

struct ipent {
	struct ipent *next;
	const struct cfg_listen *l;
	uint8_t  addr[16];                 /* see sa_client_key() */
	unsigned count;
};

static struct ipent *table[IPT_BUCKETS];

static unsigned
ip_hash(const struct cfg_listen *l, const uint8_t key[16])
{
	/* FNV-1a; the listener index keeps listeners apart. */
	uint32_t h = 2166136261u ^ l->index;

	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h & (IPT_BUCKETS - 1);
}

static struct ipent **
ip_find(const struct cfg_listen *l, const struct sockaddr *sa, uint8_t key[16])
{
	struct ipent **pp;

	if (!sa_client_key(sa, key))
		return NULL;
	for (pp = &table[ip_hash(l, key)]; *pp; pp = &(*pp)->next)
		if ((*pp)->l == l && memcmp((*pp)->addr, key, 16) == 0)
			break;
	return pp;
}

unsigned
limits_ip_count(const struct cfg_listen *l, const struct sockaddr *sa)
{
	uint8_t key[16];
	struct ipent **pp = ip_find(l, sa, key);

	return pp && *pp ? (*pp)->count : 0;
}

void
limits_ip_add(const struct cfg_listen *l, const struct sockaddr *sa)
{
	uint8_t key[16];
	struct ipent **pp = ip_find(l, sa, key), *e;

	if (pp == NULL)
		return;
	if ((e = *pp) == NULL) {
		e = *pp = xcalloc(1, sizeof(*e));
		e->l = l;
		memcpy(e->addr, key, 16);
	}
	e->count++;
}

void
limits_ip_del(const struct cfg_listen *l, const struct sockaddr *sa)
{
	uint8_t key[16];
	struct ipent **pp = ip_find(l, sa, key), *e;

	if (pp == NULL || (e = *pp) == NULL)
		return;
	if (--e->count == 0) {
		*pp = e->next;
		free(e);
	}
}
