/* SPDX-License-Identifier: ISC */
/* deliverd's own stub resolver (dns.c): questions built and answers
 * parsed with ldns, sent over non-blocking UDP sockets on the event loop
 * (TCP when an answer is truncated) to the `resolver` of the
 * configuration or the name servers of /etc/resolv.conf, with a timeout
 * per try and a bounded number of tries across the servers.
 *
 * Every question gets a fresh random id and its own connected socket (so
 * the kernel picks a random source port and drops datagrams from any
 * other address); an answer counts only when its id, question name, type
 * and class are those asked. Anything else is ignored as if never
 * received, and the wait goes on. */
#ifndef EMPATH_DELIVERD_DNS_H
#define EMPATH_DELIVERD_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "config.h"

#define DNS_NAME_MAX     256          /* a name in text and its NUL */
#define DNS_SERVERS_MAX  3            /* as many as resolv.conf(5) uses */
#define DNS_ERR_MAX      320

/* Defaults of `resolver { }` (see empath.conf(5)). */
#define DNS_TIMEOUT_DEF   5           /* seconds per try */
#define DNS_ATTEMPTS_DEF  2           /* rounds over the servers */

enum dns_status {
	DNS_ANSWER = 0,                /* NOERROR or NXDOMAIN: pkt is set */
	DNS_FAIL,                      /* SERVFAIL, REFUSED, timeouts...: err */
};

struct dns_query;
/* pkt belongs to dns.c and is freed after the callback returns. */
typedef void (*dns_cb)(enum dns_status, const ldns_pkt *pkt, const char *err,
    void *arg);

/* Before the privilege drop: the servers (resolver, else resolv.conf,
 * else 127.0.0.1) and the timeouts. */
void dns_configure(const struct config *);
/* The servers in use, for logs and the control channel. */
size_t dns_servers(char buf[][64], size_t max);
/* Ask name (text, trailing dot optional) for qtype (LDNS_RR_TYPE_*). The
 * callback runs later from the event loop, exactly once. NULL only for a
 * name that is not a valid name. */
struct dns_query *dns_send(const char *name, uint16_t qtype, dns_cb, void *arg);

/* Pieces exposed for the unit tests. */
/* Add a server after dns_configure() (resolv.conf servers are all on
 * port 53): 0, or -1 when full or not a numeric address. */
int  dns_add_server(const char *addr, uint16_t port);
/* The wire form of a recursive query for name/qtype with id (EDNS0 with
 * a 1232-byte UDP payload); NULL on a bad name. Free with free(). */
uint8_t *dns_build_query(const char *name, uint16_t qtype, uint16_t id,
    size_t *len);
/* Does pkt answer the question (id, name, type, class IN)? */
bool dns_answer_matches(const ldns_pkt *pkt, uint16_t id, const char *name,
    uint16_t qtype);
/* The text of a domain name rdf/owner in lower case without the final
 * dot ("" for the root); -1 when a label holds a byte other than a
 * letter, digit, '-' or '_' (never a host name to connect to). */
int  dns_name_text(const ldns_rdf *, char *buf, size_t len);

#endif
