/* SPDX-License-Identifier: ISC */
/* The record set cache of deliverd's resolver (see dns_cache.h).
 *
 * An entry is one (name, type): its last final answer, and the query in
 * flight with its waiters. Answers are shared by reference, so a set
 * handed to a waiter stays valid while the cache replaces or drops it.
 * The cache is bounded (DNSC_ENTRIES_MAX): past it the least recently
 * used entries without a query in flight go first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include "dns_cache.h"
#include "event.h"
#include "idn.h"
#include "log.h"
#include "util.h"

/* An answer without an SOA says nothing about how long the name stays
 * absent (RFC 2308 5): cached for cache-min-ttl only. */
#define NEG_TTL_NO_SOA  0

struct centry;
struct dnsc_req;
TAILQ_HEAD(dnsc_reqs, dnsc_req);

struct dnsc_req {
	TAILQ_ENTRY(dnsc_req) entry;
	struct dnsc_reqs *list;          /* waiting here, or NULL */
	dnsc_cb  cb;
	void    *arg;
	struct dns_rrset *rs;            /* answered from the cache: deferred */
	bool     cancelled;
};

struct centry {
	RB_ENTRY(centry) node;
	TAILQ_ENTRY(centry) lru;
	char     name[DNS_NAME_MAX];
	uint16_t type;
	struct dns_rrset *rs;            /* last final answer, or NULL */
	/* The lookup in progress. */
	struct dns_query *q;
	struct dns_rrset *building;
	char     cur[DNS_NAME_MAX];      /* name asked now (CNAME target) */
	unsigned hops;
	uint32_t ttl;
	struct dnsc_reqs waiters;
};

static int
centry_cmp(const struct centry *a, const struct centry *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return strcmp(a->name, b->name);
}
RB_HEAD(ctree, centry);
/* Static, and marked unused: not every generated function is called. */
RB_GENERATE_INTERNAL(ctree, centry, node, centry_cmp,
    static __attribute__((__unused__)))

static struct ctree tree = RB_INITIALIZER(&tree);
static TAILQ_HEAD(, centry) lru = TAILQ_HEAD_INITIALIZER(lru);
static size_t nentries;
static uint32_t min_ttl = 5, max_ttl = 86400;

void
dnsc_configure(const struct config *cfg)
{
	min_ttl = cfg->resolver_min_ttl;
	max_ttl = cfg->resolver_max_ttl ? cfg->resolver_max_ttl : 86400;
	/* A minimum over the maximum: the minimum wins (documented). */
	if (max_ttl < min_ttl)
		max_ttl = min_ttl;
	dns_configure(cfg);
}

uint32_t
dnsc_clamp_ttl(uint32_t ttl)
{
	if (ttl < min_ttl)
		return min_ttl;
	return ttl > max_ttl ? max_ttl : ttl;
}

const char *
dnsc_type_name(uint16_t type)
{
	switch (type) {
	case LDNS_RR_TYPE_MX:
		return "MX";
	case LDNS_RR_TYPE_A:
		return "A";
	case LDNS_RR_TYPE_AAAA:
		return "AAAA";
	case LDNS_RR_TYPE_CNAME:
		return "CNAME";
	}
	return "?";
}

const char *
dnsc_status_name(enum dnsc_status st)
{
	switch (st) {
	case DNSC_OK:
		return "ok";
	case DNSC_NODATA:
		return "nodata";
	case DNSC_NXDOMAIN:
		return "nxdomain";
	case DNSC_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

int
dnsc_normalize(const char *name, char *out, size_t len)
{
	char alabel[IDN_DOMAIN_MAX];
	size_t n, i, label = 0;

	/* An internationalised name is looked up by its A-label (RFC 5890
	 * 2.3.2.1); one that is no valid IDNA2008 name is no name. */
	if (idn_non_ascii(name)) {
		if (idn_to_ascii(name, alabel, sizeof(alabel)) == -1)
			return -1;
		name = alabel;
	}
	n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || n >= len)
		return -1;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_')
			label++;
		else if (c >= 'A' && c <= 'Z') {
			c = (char)(c + 32);
			label++;
		} else
			return -1;
		if (label > 63)
			return -1;
		out[i] = c;
	}
	if (label == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

struct dns_rrset *
dnsc_rrset_new(const char *name, uint16_t type)
{
	struct dns_rrset *rs = xcalloc(1, sizeof(*rs));

	rs->refs = 1;
	strlcpy(rs->name, name, sizeof(rs->name));
	rs->type = type;
	return rs;
}

struct dns_rrset *
dnsc_ref(const struct dns_rrset *crs)
{
	struct dns_rrset *rs = (struct dns_rrset *)(uintptr_t)crs;

	rs->refs++;
	return rs;
}

void
dnsc_unref(struct dns_rrset *rs)
{
	size_t i;

	if (rs == NULL || --rs->refs > 0)
		return;
	for (i = 0; i < rs->n && rs->mx != NULL; i++)
		free(rs->mx[i].host);
	free(rs->mx);
	free(rs->addr);
	free(rs);
}

static bool
owner_is(const ldns_rr *rr, const char *name)
{
	char buf[DNS_NAME_MAX];

	return dns_name_text(ldns_rr_owner(rr), buf, sizeof(buf)) == 0 &&
	    strcmp(buf, name) == 0;
}

static void
add_record(struct dns_rrset *rs, const ldns_rr *rr)
{
	const ldns_rdf *rd;
	char host[DNS_NAME_MAX];

	switch (rs->type) {
	case LDNS_RR_TYPE_MX:
		if (rs->n >= DNSC_MX_MAX || ldns_rr_rd_count(rr) != 2)
			return;
		rd = ldns_rr_rdf(rr, 0);
		if (ldns_rdf_get_type(rd) != LDNS_RDF_TYPE_INT16 ||
		    dns_name_text(ldns_rr_rdf(rr, 1), host, sizeof(host)) == -1)
			return;              /* not a host name: never used */
		rs->mx = xreallocarray(rs->mx, rs->n + 1, sizeof(*rs->mx));
		rs->mx[rs->n].pref = ldns_rdf2native_int16(rd);
		rs->mx[rs->n].host = xstrdup(host);
		rs->n++;
		break;
	case LDNS_RR_TYPE_A:
	case LDNS_RR_TYPE_AAAA:
		if (rs->n >= DNSC_ADDR_MAX || ldns_rr_rd_count(rr) != 1)
			return;
		rd = ldns_rr_rdf(rr, 0);
		if (ldns_rdf_size(rd) != (rs->type == LDNS_RR_TYPE_A ? 4u : 16u))
			return;
		rs->addr = xreallocarray(rs->addr, rs->n + 1, sizeof(*rs->addr));
		memset(rs->addr[rs->n], 0, sizeof(rs->addr[rs->n]));
		memcpy(rs->addr[rs->n], ldns_rdf_data(rd), ldns_rdf_size(rd));
		rs->n++;
		break;
	}
}

/* The negative TTL of RFC 2308: the smaller of the SOA's TTL and its
 * MINIMUM field. */
static uint32_t
negative_ttl(const ldns_pkt *pkt)
{
	const ldns_rr_list *auth = ldns_pkt_authority(pkt);
	size_t i;

	for (i = 0; auth != NULL && i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		uint32_t ttl = ldns_rr_ttl(rr), minimum;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_rd_count(rr) < 7 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 6)) != 4)   /* a PERIOD */
			continue;
		minimum = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
		return ttl < minimum ? ttl : minimum;
	}
	return NEG_TTL_NO_SOA;
}

int
dnsc_parse(const ldns_pkt *pkt, const char *qname, struct dns_rrset *rs,
    char *next, size_t nextlen, uint32_t *ttl)
{
	const ldns_rr_list *ans = ldns_pkt_answer(pkt);
	size_t i, count = ans != NULL ? ldns_rr_list_rr_count(ans) : 0;
	char cur[DNS_NAME_MAX], target[DNS_NAME_MAX];
	unsigned hops;
	bool found;

	strlcpy(cur, qname, sizeof(cur));
	/* Follow the CNAMEs the answer holds, in any order. */
	for (hops = 0; hops <= DNS_CNAME_MAX; hops++) {
		found = false;
		for (i = 0; i < count; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(ans, i);

			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
			    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
			    ldns_rr_rd_count(rr) != 1 || !owner_is(rr, cur))
				continue;
			if (dns_name_text(ldns_rr_rdf(rr, 0), target,
			    sizeof(target)) == -1 || target[0] == '\0')
				break;
			if (ldns_rr_ttl(rr) < *ttl)
				*ttl = ldns_rr_ttl(rr);
			strlcpy(cur, target, sizeof(cur));
			found = true;
			break;
		}
		if (!found)
			break;
	}
	if (strcmp(cur, qname) != 0)
		strlcpy(rs->canon, cur, sizeof(rs->canon));
	if (hops > DNS_CNAME_MAX) {
		rs->status = DNSC_TEMPFAIL;
		snprintf(rs->err, sizeof(rs->err), "CNAME chain too long");
		return 0;
	}
	for (i = 0; i < count; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != rs->type ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || !owner_is(rr, cur))
			continue;
		if (ldns_rr_ttl(rr) < *ttl)
			*ttl = ldns_rr_ttl(rr);
		add_record(rs, rr);
	}
	if (rs->n > 0) {
		rs->status = DNSC_OK;
		return 0;
	}
	if (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN) {
		rs->status = DNSC_NXDOMAIN;
		snprintf(rs->err, sizeof(rs->err), "%s does not exist", cur);
	} else if (strcmp(cur, qname) != 0) {
		/* The answer stops at a CNAME: ask for its target. */
		strlcpy(next, cur, nextlen);
		return 1;
	} else {
		rs->status = DNSC_NODATA;
		snprintf(rs->err, sizeof(rs->err), "no %s record for %s",
		    dnsc_type_name(rs->type), cur);
	}
	if (negative_ttl(pkt) < *ttl)
		*ttl = negative_ttl(pkt);
	return 0;
}

/* ---- entries ---- */

static struct centry *
centry_find(const char *name, uint16_t type)
{
	struct centry key;

	strlcpy(key.name, name, sizeof(key.name));
	key.type = type;
	return RB_FIND(ctree, &tree, &key);
}

static void
centry_free(struct centry *e)
{
	RB_REMOVE(ctree, &tree, e);
	TAILQ_REMOVE(&lru, e, lru);
	nentries--;
	dnsc_unref(e->rs);
	free(e);
}

/* Make room: drop the least recently used entries that are idle. */
static void
centry_evict(void)
{
	struct centry *e, *tmp;

	TAILQ_FOREACH_SAFE(e, &lru, lru, tmp) {
		if (nentries < DNSC_ENTRIES_MAX)
			return;
		if (e->q == NULL && TAILQ_EMPTY(&e->waiters))
			centry_free(e);
	}
}

static void
req_fire(void *arg)
{
	struct dnsc_req *r = arg;

	if (!r->cancelled)
		r->cb(r->rs, r->arg);
	dnsc_unref(r->rs);
	free(r);
}

/* The lookup of e is over with rs (taken): cache it unless it is a
 * failure, then answer every waiter. */
static void
centry_done(struct centry *e, struct dns_rrset *rs)
{
	struct dnsc_reqs waiters;
	struct dnsc_req *r;
	uint32_t ttl = e->ttl;

	e->q = NULL;
	e->building = NULL;
	if (rs->status == DNSC_TEMPFAIL)
		ttl = 0;
	else
		ttl = dnsc_clamp_ttl(ttl == UINT32_MAX ? 0 : ttl);
	rs->ttl = ttl;
	rs->expires = mono_ms() + (uint64_t)ttl * 1000;
	/* The waiters move to a list of their own: a callback may look the
	 * same name up again, which then starts afresh. */
	TAILQ_INIT(&waiters);
	while ((r = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, r, entry);
		TAILQ_INSERT_TAIL(&waiters, r, entry);
		r->list = &waiters;
	}
	dnsc_unref(e->rs);
	e->rs = NULL;
	if (rs->status != DNSC_TEMPFAIL)
		e->rs = dnsc_ref(rs);
	else
		centry_free(e);
	while ((r = TAILQ_FIRST(&waiters)) != NULL) {
		TAILQ_REMOVE(&waiters, r, entry);
		r->list = NULL;
		r->cb(rs, r->arg);
		free(r);
	}
	dnsc_unref(rs);
}

static void start_query(struct centry *);

static void
answer_cb(enum dns_status st, const ldns_pkt *pkt, const char *err, void *arg)
{
	struct centry *e = arg;
	struct dns_rrset *rs = e->building;
	char next[DNS_NAME_MAX];

	e->q = NULL;
	if (st != DNS_ANSWER) {
		rs->status = DNSC_TEMPFAIL;
		snprintf(rs->err, sizeof(rs->err), "%s", err);
		centry_done(e, rs);
		return;
	}
	if (dnsc_parse(pkt, e->cur, rs, next, sizeof(next), &e->ttl) == 1) {
		if (++e->hops > DNS_CNAME_MAX) {
			rs->status = DNSC_TEMPFAIL;
			snprintf(rs->err, sizeof(rs->err), "CNAME chain too long");
			centry_done(e, rs);
			return;
		}
		strlcpy(e->cur, next, sizeof(e->cur));
		start_query(e);
		return;
	}
	log_debug("DNS: %s %s: %s, %zu record(s)", e->name,
	    dnsc_type_name(e->type), dnsc_status_name(rs->status), rs->n);
	centry_done(e, rs);
}

static void
start_query(struct centry *e)
{
	e->q = dns_send(e->cur, e->type, answer_cb, e);
	if (e->q == NULL) {
		/* Not a name the resolver can ask (a CNAME to garbage). */
		e->building->status = DNSC_NXDOMAIN;
		snprintf(e->building->err, sizeof(e->building->err),
		    "invalid name");
		centry_done(e, e->building);
	}
}

struct dnsc_req *
dnsc_lookup(const char *name, uint16_t type, dnsc_cb cb, void *arg)
{
	struct dnsc_req *r = xcalloc(1, sizeof(*r));
	char norm[DNS_NAME_MAX];
	struct centry *e;

	r->cb = cb;
	r->arg = arg;
	if (dnsc_normalize(name, norm, sizeof(norm)) == -1) {
		r->rs = dnsc_rrset_new("", type);
		r->rs->status = DNSC_NXDOMAIN;
		snprintf(r->rs->err, sizeof(r->rs->err), "invalid domain name");
		ev_defer(req_fire, r);
		return r;
	}
	e = centry_find(norm, type);
	if (e != NULL && e->q == NULL && e->rs != NULL &&
	    e->rs->expires > mono_ms()) {
		TAILQ_REMOVE(&lru, e, lru);
		TAILQ_INSERT_TAIL(&lru, e, lru);
		r->rs = dnsc_ref(e->rs);
		ev_defer(req_fire, r);
		return r;
	}
	if (e == NULL) {
		centry_evict();
		e = xcalloc(1, sizeof(*e));
		strlcpy(e->name, norm, sizeof(e->name));
		e->type = type;
		TAILQ_INIT(&e->waiters);
		RB_INSERT(ctree, &tree, e);
		TAILQ_INSERT_TAIL(&lru, e, lru);
		nentries++;
	}
	TAILQ_INSERT_TAIL(&e->waiters, r, entry);
	r->list = &e->waiters;
	if (e->q == NULL) {
		strlcpy(e->cur, norm, sizeof(e->cur));
		e->hops = 0;
		e->ttl = UINT32_MAX;
		e->building = dnsc_rrset_new(norm, type);
		/* Answered only from the loop: start_query() may finish at
		 * once for a bad name, and the caller has no handle yet. */
		e->q = dns_send(e->cur, e->type, answer_cb, e);
		if (e->q == NULL) {
			TAILQ_REMOVE(&e->waiters, r, entry);
			r->list = NULL;
			r->rs = e->building;
			e->building = NULL;
			r->rs->status = DNSC_NXDOMAIN;
			snprintf(r->rs->err, sizeof(r->rs->err), "invalid name");
			if (TAILQ_EMPTY(&e->waiters))
				centry_free(e);
			ev_defer(req_fire, r);
		}
	}
	return r;
}

void
dnsc_cancel(struct dnsc_req *r)
{
	if (r == NULL)
		return;
	if (r->list != NULL) {
		/* Waiting: the query goes on and fills the cache. */
		TAILQ_REMOVE(r->list, r, entry);
		free(r);
		return;
	}
	r->cancelled = true;                 /* freed by req_fire */
}

void
dnsc_foreach(void (*fn)(const struct dns_rrset *, void *), void *arg)
{
	struct centry *e;

	RB_FOREACH(e, ctree, &tree)
		if (e->rs != NULL)
			fn(e->rs, arg);
}

size_t
dnsc_count(void)
{
	return nentries;
}

/* Drop the cached answer of e; the entry goes too unless a query runs. */
static size_t
centry_forget(struct centry *e)
{
	size_t n = e->rs != NULL;

	if (e->q != NULL || !TAILQ_EMPTY(&e->waiters)) {
		dnsc_unref(e->rs);
		e->rs = NULL;
	} else
		centry_free(e);
	return n;
}

size_t
dnsc_clear(void)
{
	struct centry *e, *tmp;
	size_t n = 0;

	RB_FOREACH_SAFE(e, ctree, &tree, tmp)
		n += centry_forget(e);
	return n;
}

static size_t
forget_name(const char *name)
{
	static const uint16_t types[] = { LDNS_RR_TYPE_MX, LDNS_RR_TYPE_A,
	    LDNS_RR_TYPE_AAAA };
	struct centry *e;
	size_t i, n = 0;

	for (i = 0; i < nitems(types); i++)
		if ((e = centry_find(name, types[i])) != NULL)
			n += centry_forget(e);
	return n;
}

size_t
dnsc_forget_domain(const char *domain)
{
	char norm[DNS_NAME_MAX];
	struct centry *e;
	struct dns_rrset *mx;
	size_t i, n = 0;

	if (dnsc_normalize(domain, norm, sizeof(norm)) == -1)
		return 0;
	if ((e = centry_find(norm, LDNS_RR_TYPE_MX)) != NULL && e->rs != NULL) {
		mx = dnsc_ref(e->rs);
		for (i = 0; i < mx->n; i++)
			if (mx->mx[i].host[0] != '\0')
				n += forget_name(mx->mx[i].host);
		dnsc_unref(mx);
	}
	return n + forget_name(norm);
}
