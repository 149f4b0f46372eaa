/* SPDX-License-Identifier: ISC */
/* Answers of deliverd's resolver, read into record sets and cached for
 * their TTL, clamped to `resolver { cache-min-ttl cache-max-ttl }`
 * (dns_cache.c). Negative answers (NXDOMAIN, no data) are cached for the
 * TTL of the zone's SOA (RFC 2308), clamped the same way; failures
 * (SERVFAIL, timeouts) are not cached. CNAMEs are followed, in the answer
 * and by asking again, at most DNS_CNAME_MAX times. Concurrent lookups of
 * the same name and type share one query. */
#ifndef EMPATH_DELIVERD_DNS_CACHE_H
#define EMPATH_DELIVERD_DNS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"

#define DNS_CNAME_MAX   8            /* CNAME hops followed */
#define DNSC_MX_MAX     32           /* MX records kept of one set */
#define DNSC_ADDR_MAX   16           /* addresses kept of one set */
#define DNSC_ENTRIES_MAX 4096        /* cached sets; the oldest go first */

enum dnsc_status {
	DNSC_OK = 0,                     /* n records */
	DNSC_NODATA,                     /* the name exists, no such record */
	DNSC_NXDOMAIN,                   /* the name does not exist */
	DNSC_TEMPFAIL,                   /* no answer: err says why */
};

struct dns_mx {
	uint16_t pref;
	char    *host;                   /* lower case; "" is the root (null MX) */
};

struct dns_rrset {
	unsigned refs;
	char     name[DNS_NAME_MAX];     /* as asked, lower case, no final dot */
	uint16_t type;                   /* LDNS_RR_TYPE_MX, _A or _AAAA */
	enum dnsc_status status;
	char     canon[DNS_NAME_MAX];    /* where CNAMEs led; "" without CNAME */
	char     err[DNS_ERR_MAX];
	uint32_t ttl;                    /* after clamping */
	uint64_t expires;                /* monotonic ms */
	size_t   n;
	struct dns_mx *mx;               /* MX: n entries */
	uint8_t (*addr)[16];             /* A (4 bytes used) or AAAA: n entries */
};

struct dnsc_req;
/* rs is valid during the callback only (dnsc_ref() to keep it). */
typedef void (*dnsc_cb)(const struct dns_rrset *rs, void *arg);

void dnsc_configure(const struct config *);
/* Look name up (any case, final dot optional). The callback always runs
 * later from the event loop, exactly once unless cancelled first. */
struct dnsc_req *dnsc_lookup(const char *name, uint16_t type, dnsc_cb, void *arg);
void dnsc_cancel(struct dnsc_req *);
struct dns_rrset *dnsc_ref(const struct dns_rrset *);
void dnsc_unref(struct dns_rrset *);

/* Control: every cached set (expired ones too, until replaced), the
 * number of sets dropped, forgetting everything about a domain (its MX,
 * A and AAAA sets and those of its MX hosts). */
void dnsc_foreach(void (*fn)(const struct dns_rrset *, void *), void *arg);
size_t dnsc_clear(void);
size_t dnsc_forget_domain(const char *domain);
size_t dnsc_count(void);

/* Pieces exposed for the unit tests. */
/* Lower case without the final dot into out; -1 when not a usable name. */
int  dnsc_normalize(const char *name, char *out, size_t len);
/* Read the answer pkt to qname/qtype into rs (rs->name, rs->type set by
 * the caller; records are appended). *ttl is lowered to the smallest TTL
 * that applies. Returns 0 when rs is complete, 1 when the answer ends at
 * a CNAME whose target must be asked next (its name in next). */
int  dnsc_parse(const ldns_pkt *pkt, const char *qname, struct dns_rrset *rs,
    char *next, size_t nextlen, uint32_t *ttl);
uint32_t dnsc_clamp_ttl(uint32_t ttl);
struct dns_rrset *dnsc_rrset_new(const char *name, uint16_t type);
const char *dnsc_type_name(uint16_t type);
const char *dnsc_status_name(enum dnsc_status);

#endif
