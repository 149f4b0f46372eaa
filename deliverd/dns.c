/* SPDX-License-Identifier: ISC */
/* The stub resolver's transport (see dns.h): one query at a time per
 * socket, on the event loop.
 *
 * A query is tried on the servers in turn, `attempts` rounds over all of
 * them, each try bounded by `timeout`: a try ends with an answer, with a
 * server failure (SERVFAIL, REFUSED, FORMERR, NOTIMP: the next server is
 * asked), or with its timer. A truncated UDP answer moves the same try to
 * TCP on the same server (RFC 7766), with its own timer. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dns.h"
#include "event.h"
#include "log.h"
#include "util.h"

#define DNS_UDP_PAYLOAD  1232         /* EDNS0 size (the 2020 flag day) */
#define DNS_MSG_MAX      65535

struct dns_server {
	struct sockaddr_storage ss;
	socklen_t len;
	char    text[80];                 /* "127.0.0.1:53" / "[::1]:53" */
};

struct dns_query {
	LIST_ENTRY(dns_query) entry;
	char     name[DNS_NAME_MAX];
	uint16_t qtype;
	uint16_t id;
	dns_cb   cb;
	void    *arg;
	uint8_t *wire;                    /* the question, without TCP prefix */
	size_t   wlen;
	unsigned tries;                   /* tries started */
	size_t   server;
	bool     tcp;
	int      fd;
	struct ev_io *io;
	struct ev_timer *timer;
	char     err[DNS_ERR_MAX];        /* why the last try failed */
	/* TCP: bytes of prefix + question written; the answer read so far. */
	size_t   woff;
	uint8_t *rbuf;
	size_t   rlen, rneed;
};

static struct dns_server servers[DNS_SERVERS_MAX];
static size_t nservers;
static unsigned timeout_ms = DNS_TIMEOUT_DEF * 1000;
static unsigned attempts = DNS_ATTEMPTS_DEF;
static LIST_HEAD(, dns_query) queries = LIST_HEAD_INITIALIZER(queries);
static uint8_t udpbuf[DNS_MSG_MAX];

static void try_start(struct dns_query *);

static int
server_add(const char *addr, uint16_t port)
{
	struct dns_server *s;
	char host[INET6_ADDRSTRLEN + 16], *pct;

	if (nservers >= DNS_SERVERS_MAX)
		return -1;
	strlcpy(host, addr, sizeof(host));
	/* "fe80::1%eth0": the scope cannot be kept; the address alone
	 * still works for every non-link-local server. */
	if ((pct = strchr(host, '%')) != NULL)
		*pct = '\0';
	s = &servers[nservers];
	if (sa_from_numeric(host, port, &s->ss, &s->len) == -1)
		return -1;
	if (s->ss.ss_family == AF_INET6)
		snprintf(s->text, sizeof(s->text), "[%s]:%u", host, (unsigned)port);
	else
		snprintf(s->text, sizeof(s->text), "%s:%u", host, (unsigned)port);
	nservers++;
	return 0;
}

/* The nameserver lines of resolv.conf(5); other options are ignored
 * (the resolver block of the configuration sets timeouts). */
static void
read_resolv_conf(const char *path)
{
	FILE *f;
	char line[512], *p, *word;

	if ((f = fopen(path, "re")) == NULL) {
		log_debug("%s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		p = line;
		word = strsep(&p, " \t\r\n");
		if (word == NULL || strcmp(word, "nameserver") != 0 || p == NULL)
			continue;
		p += strspn(p, " \t");
		word = strsep(&p, " \t\r\n#;");
		if (word == NULL || *word == '\0')
			continue;
		if (server_add(word, 53) == -1 && nservers < DNS_SERVERS_MAX)
			log_warnx("%s: ignoring nameserver %.64s", path, word);
	}
	fclose(f);
}

void
dns_configure(const struct config *cfg)
{
	size_t i;

	nservers = 0;
	if (cfg->resolver_addr != NULL) {
		if (server_add(cfg->resolver_addr, cfg->resolver_port ?
		    cfg->resolver_port : 53) == -1)
			log_warnx("resolver %s is not a numeric address",
			    cfg->resolver_addr);
	} else
		read_resolv_conf("/etc/resolv.conf");
	/* What the C library does without any nameserver line. */
	if (nservers == 0)
		server_add("127.0.0.1", 53);
	timeout_ms = (cfg->resolver_timeout ? cfg->resolver_timeout :
	    DNS_TIMEOUT_DEF) * 1000;
	attempts = cfg->resolver_attempts ? cfg->resolver_attempts :
	    DNS_ATTEMPTS_DEF;
	for (i = 0; i < nservers; i++)
		log_debug("DNS server %s", servers[i].text);
}

int
dns_add_server(const char *addr, uint16_t port)
{
	return server_add(addr, port);
}

size_t
dns_servers(char buf[][64], size_t max)
{
	size_t i;

	for (i = 0; i < nservers && i < max; i++)
		strlcpy(buf[i], servers[i].text, sizeof(buf[i]));
	return i;
}

uint8_t *
dns_build_query(const char *name, uint16_t qtype, uint16_t id, size_t *len)
{
	ldns_rdf *dname = NULL;
	ldns_pkt *pkt;
	uint8_t *wire = NULL;
	size_t n = 0;

	if (name == NULL || *name == '\0' || strlen(name) >= DNS_NAME_MAX)
		return NULL;
	if (ldns_str2rdf_dname(&dname, name) != LDNS_STATUS_OK)
		return NULL;
	/* The packet takes the name. */
	pkt = ldns_pkt_query_new(dname, (ldns_rr_type)qtype, LDNS_RR_CLASS_IN,
	    LDNS_RD);
	if (pkt == NULL)
		return NULL;
	ldns_pkt_set_id(pkt, id);
	ldns_pkt_set_edns_udp_size(pkt, DNS_UDP_PAYLOAD);
	if (ldns_pkt2wire(&wire, pkt, &n) != LDNS_STATUS_OK) {
		ldns_pkt_free(pkt);
		return NULL;
	}
	ldns_pkt_free(pkt);
	/* ldns allocates with malloc (LDNS_XMALLOC): free() matches. */
	*len = n;
	return wire;
}

bool
dns_answer_matches(const ldns_pkt *pkt, uint16_t id, const char *name,
    uint16_t qtype)
{
	const ldns_rr_list *q;
	const ldns_rr *rr;
	ldns_rdf *want = NULL;
	bool ok;

	if (ldns_pkt_id(pkt) != id || !ldns_pkt_qr(pkt) ||
	    ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY)
		return false;
	q = ldns_pkt_question(pkt);
	if (q == NULL || ldns_rr_list_rr_count(q) != 1)
		return false;
	rr = ldns_rr_list_rr(q, 0);
	if (ldns_rr_get_type(rr) != qtype ||
	    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		return false;
	if (ldns_str2rdf_dname(&want, name) != LDNS_STATUS_OK)
		return false;
	/* Case-insensitive, as DNS names are. */
	ok = ldns_dname_compare(ldns_rr_owner(rr), want) == 0;
	ldns_rdf_deep_free(want);
	return ok;
}

int
dns_name_text(const ldns_rdf *rdf, char *buf, size_t len)
{
	const uint8_t *p;
	size_t n, off = 0, i, pos = 0;

	if (rdf == NULL || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME ||
	    len == 0)
		return -1;
	p = ldns_rdf_data(rdf);
	n = ldns_rdf_size(rdf);
	buf[0] = '\0';
	while (pos < n) {
		size_t l = p[pos++];

		if (l == 0)
			break;
		if (l > 63 || pos + l > n)
			return -1;
		if (off > 0) {
			if (off + 1 >= len)
				return -1;
			buf[off++] = '.';
		}
		for (i = 0; i < l; i++) {
			unsigned char c = p[pos + i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_'))
				return -1;
			if (off + 1 >= len)
				return -1;
			buf[off++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		pos += l;
	}
	buf[off] = '\0';
	return 0;
}

static void
try_close(struct dns_query *q)
{
	if (q->io != NULL)
		ev_io_del(q->io);
	q->io = NULL;
	if (q->fd != -1)
		close(q->fd);
	q->fd = -1;
	free(q->rbuf);
	q->rbuf = NULL;
	q->rlen = q->rneed = q->woff = 0;
	ev_timer_stop(q->timer);
}

static void
query_free(struct dns_query *q)
{
	try_close(q);
	ev_timer_free(q->timer);
	LIST_REMOVE(q, entry);
	free(q->wire);
	free(q);
}

static void
finish(struct dns_query *q, enum dns_status st, const ldns_pkt *pkt)
{
	try_close(q);
	q->cb(st, pkt, q->err, q->arg);
	query_free(q);
}

/* This try failed (q->err says why): the next server, or give up. */
static void
advance(struct dns_query *q)
{
	try_close(q);
	q->tries++;
	if (q->tries >= attempts * nservers) {
		finish(q, DNS_FAIL, NULL);
		return;
	}
	q->server = q->tries % nservers;
	q->tcp = false;
	try_start(q);
}

static void
fail_try(struct dns_query *q, const char *why)
{
	snprintf(q->err, sizeof(q->err), "%s%s (%s)", why,
	    q->tcp ? " over TCP" : "", servers[q->server].text);
	advance(q);
}

/* An answer arrived: 1 when it settled the query (q is gone), 0 when
 * it is to be ignored. */
static int
handle_answer(struct dns_query *q, const uint8_t *buf, size_t len)
{
	ldns_pkt *pkt = NULL;
	ldns_pkt_rcode rc;

	if (ldns_wire2pkt(&pkt, buf, len) != LDNS_STATUS_OK) {
		log_debug("DNS: malformed answer from %s ignored",
		    servers[q->server].text);
		return 0;
	}
	if (!dns_answer_matches(pkt, q->id, q->name, q->qtype)) {
		log_debug("DNS: answer from %s does not match the question for "
		    "%s, ignored", servers[q->server].text, q->name);
		ldns_pkt_free(pkt);
		return 0;
	}
	if (ldns_pkt_tc(pkt) && !q->tcp) {
		ldns_pkt_free(pkt);
		log_debug("DNS: truncated answer for %s, asking %s over TCP",
		    q->name, servers[q->server].text);
		try_close(q);
		q->tcp = true;
		try_start(q);
		return 1;
	}
	rc = ldns_pkt_get_rcode(pkt);
	if (rc == LDNS_RCODE_NOERROR || rc == LDNS_RCODE_NXDOMAIN) {
		finish(q, DNS_ANSWER, pkt);
		ldns_pkt_free(pkt);
		return 1;
	}
	snprintf(q->err, sizeof(q->err), "%s from %s",
	    rc == LDNS_RCODE_SERVFAIL ? "SERVFAIL" :
	    rc == LDNS_RCODE_REFUSED ? "REFUSED" :
	    rc == LDNS_RCODE_FORMERR ? "FORMERR" :
	    rc == LDNS_RCODE_NOTIMPL ? "NOTIMP" : "an error", servers[q->server].text);
	ldns_pkt_free(pkt);
	advance(q);
	return 1;
}

static void
udp_read(struct dns_query *q)
{
	ssize_t n;

	for (;;) {
		n = recv(q->fd, udpbuf, sizeof(udpbuf), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			/* ICMP port unreachable and the like. */
			fail_try(q, strerror(errno));
			return;
		}
		if (handle_answer(q, udpbuf, (size_t)n))
			return;
	}
}

static void
tcp_io(struct dns_query *q, int events)
{
	uint8_t out[2];
	struct iovec iov[2];
	ssize_t n;
	int err = 0;
	socklen_t elen = sizeof(err);

	if (q->woff < q->wlen + 2) {
		if (!(events & EV_WRITE))
			return;
		if (q->woff == 0 && getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err,
		    &elen) == 0 && err != 0) {
			fail_try(q, strerror(err));
			return;
		}
		out[0] = (uint8_t)(q->wlen >> 8);
		out[1] = (uint8_t)q->wlen;
		/* The prefix and the question in one segment if possible. */
		iov[0].iov_base = out + (q->woff < 2 ? q->woff : 2);
		iov[0].iov_len = q->woff < 2 ? 2 - q->woff : 0;
		iov[1].iov_base = q->wire + (q->woff > 2 ? q->woff - 2 : 0);
		iov[1].iov_len = q->wlen - (q->woff > 2 ? q->woff - 2 : 0);
		n = writev(q->fd, iov, 2);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {
			fail_try(q, strerror(errno));
			return;
		}
		q->woff += (size_t)n;
		if (q->woff == q->wlen + 2)
			ev_io_set(q->io, EV_READ);
		return;
	}
	if (!(events & EV_READ))
		return;
	for (;;) {
		size_t want = q->rneed == 0 ? 2 - q->rlen : q->rneed - q->rlen;

		n = read(q->fd, q->rbuf + q->rlen, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			fail_try(q, n == 0 ? "connection closed" :
			    strerror(errno));
			return;
		}
		q->rlen += (size_t)n;
		if (q->rneed == 0 && q->rlen == 2) {
			q->rneed = (size_t)q->rbuf[0] << 8 | q->rbuf[1];
			if (q->rneed < 12) {
				fail_try(q, "short answer");
				return;
			}
			q->rlen = 0;
			q->rbuf = xreallocarray(q->rbuf, 1, q->rneed);
			continue;
		}
		if (q->rneed > 0 && q->rlen == q->rneed) {
			/* One answer per connection: a mismatch ends the try. */
			if (!handle_answer(q, q->rbuf, q->rlen))
				fail_try(q, "unrelated answer");
			return;
		}
	}
}

static void
io_cb(int fd, int events, void *arg)
{
	struct dns_query *q = arg;

	(void)fd;
	if (q->tcp)
		tcp_io(q, events);
	else
		udp_read(q);
}

static void
timer_cb(void *arg)
{
	struct dns_query *q = arg;

	/* A socket that failed at once leaves its reason in err. */
	if (q->fd != -1 || q->err[0] == '\0')
		snprintf(q->err, sizeof(q->err), "timeout%s (%s)",
		    q->tcp ? " over TCP" : "", servers[q->server].text);
	advance(q);
}

/* Open a socket to the current server and send the question. A failure
 * is reported from the timer, never from here. */
static void
try_start(struct dns_query *q)
{
	const struct dns_server *s = &servers[q->server];
	int type = q->tcp ? SOCK_STREAM : SOCK_DGRAM;

	q->err[0] = '\0';
	q->fd = socket(s->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd == -1)
		goto fail;
	/* Connected: the kernel chooses a random source port and accepts
	 * datagrams from this server only. */
	if (connect(q->fd, (const struct sockaddr *)&s->ss, s->len) == -1 &&
	    !(q->tcp && errno == EINPROGRESS))
		goto fail;
	if (!q->tcp) {
		if (send(q->fd, q->wire, q->wlen, 0) != (ssize_t)q->wlen)
			goto fail;
		q->io = ev_io_add(q->fd, EV_READ, io_cb, q);
	} else {
		q->rbuf = xmalloc(2);
		q->io = ev_io_add(q->fd, EV_WRITE, io_cb, q);
	}
	ev_timer_start(q->timer, timeout_ms);
	return;
fail:
	snprintf(q->err, sizeof(q->err), "%s%s (%s)", strerror(errno),
	    q->tcp ? " over TCP" : "", s->text);
	if (q->fd != -1)
		close(q->fd);
	q->fd = -1;
	ev_timer_start(q->timer, 0);
}

struct dns_query *
dns_send(const char *name, uint16_t qtype, dns_cb cb, void *arg)
{
	struct dns_query *q;
	uint16_t id = (uint16_t)arc4random_uniform(65536);
	size_t len;
	uint8_t *wire;

	if ((wire = dns_build_query(name, qtype, id, &len)) == NULL)
		return NULL;
	q = xcalloc(1, sizeof(*q));
	strlcpy(q->name, name, sizeof(q->name));
	q->qtype = qtype;
	q->id = id;
	q->cb = cb;
	q->arg = arg;
	q->wire = wire;
	q->wlen = len;
	q->fd = -1;
	q->timer = ev_timer_new(timer_cb, q);
	LIST_INSERT_HEAD(&queries, q, entry);
	q->server = 0;
	try_start(q);
	return q;
}
