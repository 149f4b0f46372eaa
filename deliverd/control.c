/* SPDX-License-Identifier: ISC */
/* Control requests from ctld about DNS and routes (D_DNS_*, see
 * proto.h): the cache listed, cleared, one domain forgotten and looked up
 * again, the route overrides of the configuration. A refresh answers
 * once its lookup is done; if ctld goes away meanwhile the lookup is
 * cancelled. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "control.h"
#include "daemon.h"
#include "dns_cache.h"
#include "log.h"
#include "proto.h"
#include "route.h"
#include "util.h"

/* Stop adding entries to a list past this many bytes of payload. */
#define LIST_PAYLOAD_MAX (CHAN_MAX_PAYLOAD - 64 * 1024)

struct refresh {
	LIST_ENTRY(refresh) entry;
	struct channel *chan;
	uint32_t id;
	uint64_t dropped;
	char     domain[ROUTE_HOST_MAX];
	struct route_query *rq;
};
static LIST_HEAD(, refresh) refreshes = LIST_HEAD_INITIALIZER(refreshes);

static void
send_fail(struct channel *c, uint32_t id, const char *msg)
{
	struct msgbuf mb;

	mb_init(&mb);
	mb_str(&mb, msg);
	chan_send_mb(c, D_DNS_FAIL, id, -1, &mb);
	mb_free(&mb);
}

static void
send_ok(struct channel *c, uint32_t id, uint64_t count, const char *text)
{
	struct msgbuf mb;

	mb_init(&mb);
	mb_u64(&mb, count);
	mb_str(&mb, text);
	chan_send_mb(c, D_DNS_OK, id, -1, &mb);
	mb_free(&mb);
}

/* The data of a set as text: "10 mx1.example.org, 20 mx2..." or the
 * addresses, or why there are none. */
static void
rrset_text(const struct dns_rrset *rs, char *buf, size_t len)
{
	char one[DNS_NAME_MAX + 16];
	size_t i;

	buf[0] = '\0';
	if (rs->status != DNSC_OK) {
		strlcpy(buf, rs->err, len);
		return;
	}
	for (i = 0; i < rs->n; i++) {
		if (rs->type == LDNS_RR_TYPE_MX)
			snprintf(one, sizeof(one), "%u %s", rs->mx[i].pref,
			    rs->mx[i].host[0] != '\0' ? rs->mx[i].host : ".");
		else
			inet_ntop(rs->type == LDNS_RR_TYPE_A ? AF_INET : AF_INET6,
			    rs->addr[i], one, sizeof(one));
		if (i > 0)
			strlcat(buf, ", ", len);
		strlcat(buf, one, len);
	}
	if (rs->canon[0] != '\0') {
		snprintf(one, sizeof(one), " (via CNAME %s)", rs->canon);
		strlcat(buf, one, len);
	}
}

/* Two passes over the cache: count what fits, then write it. */
struct list_state {
	struct msgbuf *mb;               /* NULL: counting */
	uint32_t n, limit, more;
	size_t   bytes;
	uint64_t now;
};

static void
list_one(const struct dns_rrset *rs, void *arg)
{
	struct list_state *ls = arg;
	char data[4096];
	size_t size;

	rrset_text(rs, data, sizeof(data));
	if (ls->mb == NULL) {
		/* u32 length and NUL per string, generously. */
		size = strlen(rs->name) + strlen(data) + 16 + 3 * 8 + 8;
		if (ls->n >= D_DNS_LIST_MAX || ls->bytes + size > LIST_PAYLOAD_MAX) {
			ls->more++;
			return;
		}
		ls->bytes += size;
		ls->n++;
		return;
	}
	if (ls->n >= ls->limit)
		return;
	mb_str(ls->mb, rs->name);
	mb_str(ls->mb, dnsc_type_name(rs->type));
	mb_str(ls->mb, dnsc_status_name(rs->status));
	mb_u32(ls->mb, rs->ttl);
	mb_u32(ls->mb, rs->expires > ls->now ?
	    (uint32_t)((rs->expires - ls->now + 999) / 1000) : 0);
	mb_str(ls->mb, data);
	ls->n++;
}

static void
dns_list(struct channel *c, uint32_t id)
{
	char servers[DNS_SERVERS_MAX][64];
	struct list_state ls;
	struct msgbuf mb;
	size_t i, ns = dns_servers(servers, DNS_SERVERS_MAX);

	memset(&ls, 0, sizeof(ls));
	ls.now = mono_ms();
	dnsc_foreach(list_one, &ls);
	mb_init(&mb);
	mb_u32(&mb, (uint32_t)ns);
	for (i = 0; i < ns; i++)
		mb_str(&mb, servers[i]);
	mb_u32(&mb, ls.n);
	ls.limit = ls.n;
	ls.n = 0;
	ls.mb = &mb;
	dnsc_foreach(list_one, &ls);
	/* Nothing changes the cache between the passes. */
	mb_u32(&mb, ls.more);
	if (mb.err || chan_send_mb(c, D_DNS_LIST, id, -1, &mb) == -1)
		send_fail(c, id, "the cache list does not fit in a message");
	mb_free(&mb);
}

static void
refresh_done(struct route *r, void *arg)
{
	struct refresh *rf = arg;
	char text[REPLY_TEXT_MAX * 2], one[ROUTE_HOST_MAX + 96];
	size_t i;

	rf->rq = NULL;
	if (r->status != ROUTE_OK)
		strlcpy(text, r->diag, sizeof(text));
	else {
		snprintf(text, sizeof(text), "%s:", r->kind == ROUTE_RELAY ?
		    "relay" : r->kind == ROUTE_IMPLICIT_MX ? "implicit MX" :
		    r->kind == ROUTE_LITERAL ? "address literal" : "MX");
		for (i = 0; i < r->ndest; i++) {
			char ip[64];

			sa_ntop((const struct sockaddr *)&r->dest[i].ss, ip,
			    sizeof(ip));
			snprintf(one, sizeof(one), "%s %s[%s]:%u", i > 0 ? "," : "",
			    r->dest[i].host, ip, (unsigned)r->dest[i].port);
			strlcat(text, one, sizeof(text));
		}
	}
	route_free(r);
	send_ok(rf->chan, rf->id, rf->dropped, text);
	LIST_REMOVE(rf, entry);
	free(rf);
}

static void
dns_refresh(struct channel *c, uint32_t id, struct chan_msg *m)
{
	struct msgreader mr;
	struct refresh *rf;
	const char *domain;
	char norm[ROUTE_HOST_MAX];

	mr_init(&mr, m);
	domain = mr_str(&mr);
	if (!mr_done(&mr) || dnsc_normalize(domain, norm, sizeof(norm)) == -1) {
		send_fail(c, id, "not a domain name");
		return;
	}
	rf = xcalloc(1, sizeof(*rf));
	rf->chan = c;
	rf->id = id;
	strlcpy(rf->domain, norm, sizeof(rf->domain));
	rf->dropped = dnsc_forget_domain(norm);
	log_info("control: DNS cache refresh of %s (%" PRIu64 " entries dropped)", norm,
	    rf->dropped);
	LIST_INSERT_HEAD(&refreshes, rf, entry);
	rf->rq = route_lookup(norm, refresh_done, rf);
}

static bool
is_override(const struct cfg_domain *d)
{
	return d->relay_host != NULL || d->tls >= 0 || d->rate > 0 ||
	    d->accept_invalid_certs >= 0;
}

static void
overrides(struct channel *c, uint32_t id)
{
	const struct config *cfg = daemon_config();
	const struct cfg_domain *d;
	struct msgbuf mb;
	char rate[64];
	uint32_t n = 0;

	if (cfg == NULL) {
		send_fail(c, id, "no configuration");
		return;
	}
	n = cfg->delivery.relay_host != NULL;
	TAILQ_FOREACH(d, &cfg->domains, entry)
		n += is_override(d);
	mb_init(&mb);
	mb_u32(&mb, n);
	if (cfg->delivery.relay_host != NULL) {
		mb_str(&mb, "*");
		mb_str(&mb, cfg->delivery.relay_host);
		mb_u32(&mb, cfg->delivery.relay_port);
		mb_str(&mb, "");
		mb_str(&mb, "");
	}
	TAILQ_FOREACH(d, &cfg->domains, entry) {
		if (!is_override(d))
			continue;
		rate[0] = '\0';
		if (d->rate > 0)
			snprintf(rate, sizeof(rate), "%g/s burst %u", d->rate,
			    d->burst);
		/* As the configuration writes it (U-labels kept), not the
		 * A-label the routes are keyed by. */
		mb_str(&mb, d->spelling != NULL ? d->spelling : d->name);
		mb_str(&mb, d->relay_host != NULL ? d->relay_host : "");
		mb_u32(&mb, d->relay_host != NULL ? d->relay_port : 0);
		mb_str(&mb, d->tls == TLS_NONE ? "none" :
		    d->tls == TLS_OPPORTUNISTIC ? "opportunistic" :
		    d->tls == TLS_REQUIRED ? "required" : "");
		mb_str(&mb, rate);
	}
	if (mb.err || chan_send_mb(c, D_DNS_OVERRIDES, id, -1, &mb) == -1)
		send_fail(c, id, "the overrides do not fit in a message");
	mb_free(&mb);
}

bool
control_msg(struct channel *c, struct chan_msg *m)
{
	size_t n;

	switch (m->type) {
	case D_DNS_LIST_REQ:
		dns_list(c, m->peerid);
		return true;
	case D_DNS_CLEAR_REQ:
		n = dnsc_clear();
		log_info("control: DNS cache cleared (%zu entries)", n);
		send_ok(c, m->peerid, n, "");
		return true;
	case D_DNS_REFRESH_REQ:
		dns_refresh(c, m->peerid, m);
		return true;
	case D_DNS_OVERRIDES_REQ:
		overrides(c, m->peerid);
		return true;
	}
	return false;
}

void
control_channel_gone(struct channel *c)
{
	struct refresh *rf, *tmp;

	LIST_FOREACH_SAFE(rf, &refreshes, entry, tmp)
		if (rf->chan == c) {
			route_cancel(rf->rq);
			LIST_REMOVE(rf, entry);
			free(rf);
		}
}
