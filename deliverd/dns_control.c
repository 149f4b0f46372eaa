/* SPDX-License-Identifier: ISC */
/* Control requests from ctld about DNS and routes (CTL_DNS_*, see
 * proto_msgs.h; codecs in wire_ctl.h): the cache listed, cleared, one domain forgotten and looked up
 * again, the route overrides of the configuration. A refresh answers
 * once its lookup is done; if ctld goes away meanwhile the lookup is
 * cancelled. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "dns_control.h"
#include "daemon.h"
#include "dns_cache.h"
#include "log.h"
#include "proto.h"
#include "route.h"
#include "util.h"
#include "wire_ctl.h"

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
	struct wire_text w = { msg };
	struct msgbuf mb;

	mb_init(&mb);
	if (wire_text_encode(&mb, &w) == 0)
		chan_send_mb(c, D_DNS_FAIL, id, -1, &mb);
	mb_free(&mb);
}

static void
send_ok(struct channel *c, uint32_t id, uint64_t count, const char *text)
{
	struct wire_ok w = { count, text };
	struct msgbuf mb;

	mb_init(&mb);
	if (wire_ok_encode(&mb, &w) == 0)
		chan_send_mb(c, CTL_DNS_OK, id, -1, &mb);
	else
		send_fail(c, id, "the answer does not fit in a message");
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

/* The cache as rows: as many as fit one message. Strings are copied:
 * the cache may change before the answer is encoded. */
struct list_state {
	struct wire_dns_entry *e;
	char   (*text)[DNS_NAME_MAX + 1];
	char   (*data)[4096];
	uint32_t n, more;
	size_t   bytes;
	uint64_t now;
};

static void
list_one(const struct dns_rrset *rs, void *arg)
{
	struct list_state *ls = arg;
	struct wire_dns_entry *e;
	char data[4096];
	size_t size;

	rrset_text(rs, data, sizeof(data));
	/* u32 length and NUL per string, generously. */
	size = strlen(rs->name) + strlen(data) + 16 + 3 * 8 + 8;
	if (ls->n >= D_DNS_LIST_MAX || ls->bytes + size > LIST_PAYLOAD_MAX ||
	    strlen(rs->name) > WIRE_STR_MAX) {
		ls->more++;
		return;
	}
	ls->bytes += size;
	e = &ls->e[ls->n];
	strlcpy(ls->text[ls->n], rs->name, sizeof(ls->text[0]));
	strlcpy(ls->data[ls->n], data, sizeof(ls->data[0]));
	e->name = ls->text[ls->n];
	e->type = dnsc_type_name(rs->type);
	e->status = dnsc_status_name(rs->status);
	e->ttl = rs->ttl;
	e->left = rs->expires > ls->now ?
	    (uint32_t)((rs->expires - ls->now + 999) / 1000) : 0;
	e->data = ls->data[ls->n];
	ls->n++;
}

static void
dns_list(struct channel *c, uint32_t id)
{
	char servers[DNS_SERVERS_MAX][64];
	struct wire_dns_list w;
	struct list_state ls;
	struct msgbuf mb;
	size_t i, ns = dns_servers(servers, DNS_SERVERS_MAX);

	memset(&ls, 0, sizeof(ls));
	memset(&w, 0, sizeof(w));
	ls.now = mono_ms();
	ls.e = xcalloc(D_DNS_LIST_MAX, sizeof(*ls.e));
	ls.text = xcalloc(D_DNS_LIST_MAX, sizeof(*ls.text));
	ls.data = xcalloc(D_DNS_LIST_MAX, sizeof(*ls.data));
	dnsc_foreach(list_one, &ls);
	w.ns = (uint32_t)(ns < WIRE_DNS_SERVERS ? ns : WIRE_DNS_SERVERS);
	for (i = 0; i < w.ns; i++)
		w.server[i] = servers[i];
	w.n = ls.n;
	w.e = ls.e;
	w.more = ls.more;
	mb_init(&mb);
	if (wire_dns_list_encode(&mb, &w) == -1 ||
	    chan_send_mb(c, CTL_DNS_LIST_REPLY, id, -1, &mb) == -1)
		send_fail(c, id, "the cache list does not fit in a message");
	mb_free(&mb);
	free(ls.e);
	free(ls.text);
	free(ls.data);
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
	struct wire_domain req;
	struct refresh *rf;
	char norm[ROUTE_HOST_MAX];

	if (wire_domain_decode(m, &req) == -1 ||
	    dnsc_normalize(req.domain, norm, sizeof(norm)) == -1) {
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
	static const char *const tls[] = {
		[TLS_NONE] = "none", [TLS_OPPORTUNISTIC] = "opportunistic",
		[TLS_REQUIRED] = "required",
	};
	const struct config *cfg = daemon_config();
	const struct cfg_domain *d;
	struct wire_overrides w;
	struct msgbuf mb;
	char (*rate)[64];
	uint32_t n = 0;

	if (cfg == NULL) {
		send_fail(c, id, "no configuration");
		return;
	}
	n = cfg->delivery.relay_host != NULL;
	TAILQ_FOREACH(d, &cfg->domains, entry)
		n += is_override(d);
	w.o = xcalloc(n + 1, sizeof(*w.o));
	rate = xcalloc(n + 1, sizeof(*rate));
	w.n = 0;
	if (cfg->delivery.relay_host != NULL)
		w.o[w.n++] = (struct wire_override){ "*",
		    cfg->delivery.relay_host, cfg->delivery.relay_port, "", "" };
	TAILQ_FOREACH(d, &cfg->domains, entry) {
		struct wire_override *o = &w.o[w.n];

		if (!is_override(d))
			continue;
		if (d->rate > 0)
			snprintf(rate[w.n], sizeof(rate[0]), "%g/s burst %u",
			    d->rate, d->burst);
		/* As the configuration writes it (U-labels kept), not the
		 * A-label the routes are keyed by. */
		o->domain = d->spelling != NULL ? d->spelling : d->name;
		o->relay = d->relay_host != NULL ? d->relay_host : "";
		o->port = d->relay_host != NULL ? d->relay_port : 0;
		o->tls = d->tls >= 0 && (size_t)d->tls < nitems(tls) &&
		    tls[d->tls] != NULL ? tls[d->tls] : "";
		o->rate = rate[w.n];
		w.n++;
	}
	mb_init(&mb);
	if (wire_overrides_encode(&mb, &w) == -1 ||
	    chan_send_mb(c, CTL_DNS_OVERRIDES_REPLY, id, -1, &mb) == -1)
		send_fail(c, id, "the overrides do not fit in a message");
	mb_free(&mb);
	free(w.o);
	free(rate);
}

bool
control_msg(struct channel *c, struct chan_msg *m)
{
	size_t n;

	/* The requests without a payload (wire_recode() checks just that). */
	if ((m->type == CTL_DNS_LIST || m->type == CTL_DNS_CLEAR ||
	    m->type == CTL_DNS_OVERRIDES) && m->len != 0) {
		send_fail(c, m->peerid, "unexpected payload");
		return true;
	}
	switch (m->type) {
	case CTL_DNS_LIST:
		dns_list(c, m->peerid);
		return true;
	case CTL_DNS_CLEAR:
		n = dnsc_clear();
		log_info("control: DNS cache cleared (%zu entries)", n);
		send_ok(c, m->peerid, n, "");
		return true;
	case CTL_DNS_REFRESH:
		dns_refresh(c, m->peerid, m);
		return true;
	case CTL_DNS_OVERRIDES:
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
