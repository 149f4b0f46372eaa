/* SPDX-License-Identifier: ISC */
/* Values of the delivery, domain and resolver blocks of empath.conf(5),
 * for the grammar in lib/parse.y (moved here to keep that file small). */
#include <math.h>
#include <stdlib.h>

#include "config.h"
#include "parse.h"

/* Without burst, a bucket holds one second of the rate (at least 1). */
void
cfg_set_rate(double *ratep, unsigned *burstp, double rate, int64_t burst)
{
	if (rate <= 0)
		return;
	*ratep = rate;
	*burstp = burst > 0 ? (unsigned)burst : (unsigned)ceil(rate);
}

/* relay via "host", "host:port" or "[IPv6]:port"; s is freed. */
void
cfg_set_route(struct parser *p, char **hostp, uint16_t *portp, char *s,
    unsigned line)
{
	char qbuf[80];
	char *host;
	uint16_t port;

	if (config_hostport_ambiguous(s))
		cfg_error(p, line, "ambiguous relay %s: an IPv6 address with a "
		    "port goes in brackets, \"[address]:port\", an address alone "
		    "as \"[address]\"", cfg_show(s, qbuf, sizeof(qbuf)));
	else if (config_parse_hostport(s, &host, &port) == -1)
		cfg_error(p, line, "invalid relay %s (\"host\", \"host:port\" or"
		    " \"[IPv6]:port\")", cfg_show(s, qbuf, sizeof(qbuf)));
	else if (*hostp != NULL) {
		cfg_error(p, line, "relay via given twice");
		free(host);
	} else {
		*hostp = host;
		*portp = port;
	}
	free(s);
}
