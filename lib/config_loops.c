/* SPDX-License-Identifier: ISC */
/* The configuration of loop and reflection defences (empath.conf(5)):
 * the `mx-allow` lists of the delivery and domain blocks, and the
 * lookups of `address-literals` and `mx-allow` the daemons make. Kept
 * apart from lib/config.c so that each concern reads on its own. */
#include <stdlib.h>

#include "config.h"
#include "parse.h"
#include "util.h"

void
cfg_mx_allow_add(struct parser *p, struct cfg_netmask_list *list, char *s,
    unsigned line)
{
	char qbuf[80];
	struct cfg_netmask m, *n;

	if (list != NULL && config_parse_netmask(s, &m) == -1)
		cfg_error(p, line, "invalid mx-allow netmask %s",
		    cfg_show(s, qbuf, sizeof(qbuf)));
	else if (list != NULL) {
		n = xmalloc(sizeof(*n));
		*n = m;
		TAILQ_INSERT_TAIL(list, n, entry);
	}
	free(s);
}

void
cfg_netmasks_free(struct cfg_netmask_list *list)
{
	struct cfg_netmask *m;

	while ((m = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, m, entry);
		free(m);
	}
}

bool
config_address_literals_ok(const struct config *cfg,
    const struct cfg_listen *l, const struct sockaddr *client)
{
	int mode;

	if (cfg == NULL)
		return false;
	if (config_relay_allowed(cfg, client))
		return true;
	mode = l != NULL && l->address_literals != -1 ? l->address_literals :
	    (int)cfg->address_literals;
	return mode == ADDRLIT_ACCEPT;
}

static bool
listed(const struct cfg_netmask_list *list, const struct sockaddr *sa)
{
	const struct cfg_netmask *m;

	TAILQ_FOREACH(m, list, entry)
		if (config_netmask_match(m, sa))
			return true;
	return false;
}

bool
config_mx_allowed(const struct config *cfg, const char *domain,
    const struct sockaddr *sa)
{
	const struct cfg_domain *d;

	if (cfg == NULL || sa == NULL)
		return false;
	if (listed(&cfg->delivery.mx_allow, sa))
		return true;
	d = config_domain(cfg, domain);
	return d != NULL && listed(&d->mx_allow, sa);
}
