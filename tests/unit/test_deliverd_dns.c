/* SPDX-License-Identifier: ISC */
/* deliverd's resolver: questions and the checks on answers, reading
 * answers into record sets (MX, null MX, CNAME chains, negative answers
 * and their TTL), TTL clamping, MX ordering, and the transport and cache
 * against a DNS server in this process (a wrong id ignored, truncation
 * to TCP, SERVFAIL to the next server, timeouts, shared and cached
 * lookups). */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "fixture.h"
#include "config.h"
#include "event.h"
#include "util.h"
#include "../../deliverd/dns.h"
#include "../../deliverd/dns_cache.h"
#include "../../deliverd/route.h"

/* A packet from zone-file lines: rcode, then "A:" answer and "U:"
 * authority records. */
static ldns_pkt *
mkpkt(uint16_t id, const char *qname, ldns_rr_type qtype, ldns_pkt_rcode rc,
    const char *const *rrs)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *q = ldns_rr_new();
	ldns_rdf *owner = NULL;

	ck_assert_int_eq(ldns_str2rdf_dname(&owner, qname), LDNS_STATUS_OK);
	ldns_rr_set_owner(q, owner);
	ldns_rr_set_type(q, qtype);
	ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(q, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, rc);
	for (; rrs != NULL && *rrs != NULL; rrs++) {
		ldns_rr *rr = NULL;

		ck_assert_msg(ldns_rr_new_frm_str(&rr, *rrs + 2, 300, NULL, NULL) ==
		    LDNS_STATUS_OK, "bad test record %s", *rrs);
		ldns_pkt_push_rr(p, (*rrs)[0] == 'A' ? LDNS_SECTION_ANSWER :
		    LDNS_SECTION_AUTHORITY, rr);
	}
	return p;
}

START_TEST(query_wire)
{
	uint8_t *w;
	size_t len;
	ldns_pkt *p = NULL;

	w = dns_build_query("Example.ORG.", LDNS_RR_TYPE_MX, 4242, &len);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(ldns_wire2pkt(&p, w, len), LDNS_STATUS_OK);
	ck_assert_uint_eq(ldns_pkt_id(p), 4242);
	ck_assert(ldns_pkt_rd(p));
	ck_assert(!ldns_pkt_qr(p));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), 1232);
	ck_assert_uint_eq(ldns_rr_list_rr_count(ldns_pkt_question(p)), 1);
	ldns_pkt_free(p);
	free(w);
	ck_assert_ptr_null(dns_build_query("", LDNS_RR_TYPE_MX, 1, &len));
	ck_assert_ptr_null(dns_build_query("a..b", LDNS_RR_TYPE_MX, 1, &len));
}
END_TEST

START_TEST(answer_checks)
{
	ldns_pkt *p = mkpkt(7, "example.org.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR,
	    NULL);

	ck_assert(dns_answer_matches(p, 7, "example.org", LDNS_RR_TYPE_MX));
	ck_assert(dns_answer_matches(p, 7, "EXAMPLE.org.", LDNS_RR_TYPE_MX));
	ck_assert(!dns_answer_matches(p, 8, "example.org", LDNS_RR_TYPE_MX));
	ck_assert(!dns_answer_matches(p, 7, "example.com", LDNS_RR_TYPE_MX));
	ck_assert(!dns_answer_matches(p, 7, "example.org", LDNS_RR_TYPE_A));
	ldns_pkt_set_qr(p, false);             /* a query is no answer */
	ck_assert(!dns_answer_matches(p, 7, "example.org", LDNS_RR_TYPE_MX));
	ldns_pkt_free(p);
}
END_TEST

START_TEST(name_text)
{
	ldns_rdf *r = NULL;
	char buf[DNS_NAME_MAX];

	ldns_str2rdf_dname(&r, "MX1.Example.org.");
	ck_assert_int_eq(dns_name_text(r, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "mx1.example.org");
	ldns_rdf_deep_free(r);
	r = NULL;
	ldns_str2rdf_dname(&r, ".");
	ck_assert_int_eq(dns_name_text(r, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ldns_rdf_deep_free(r);
	r = NULL;
	/* A name with a space or a control byte is never a host to use. */
	ldns_str2rdf_dname(&r, "bad\\032name.org.");
	ck_assert_int_eq(dns_name_text(r, buf, sizeof(buf)), -1);
	ldns_rdf_deep_free(r);
	r = NULL;
	ldns_str2rdf_dname(&r, "x\\010y.org.");
	ck_assert_int_eq(dns_name_text(r, buf, sizeof(buf)), -1);
	ldns_rdf_deep_free(r);
}
END_TEST

static struct dns_rrset *
parse(ldns_pkt *p, const char *qname, uint16_t type, int *rc, char *next,
    uint32_t *ttl)
{
	struct dns_rrset *rs = dnsc_rrset_new(qname, type);

	*ttl = UINT32_MAX;
	next[0] = '\0';
	*rc = dnsc_parse(p, qname, rs, next, DNS_NAME_MAX, ttl);
	ldns_pkt_free(p);
	return rs;
}

START_TEST(parse_mx)
{
	static const char *const rrs[] = {
		"A:example.org. 600 IN MX 20 MX2.example.org.",
		"A:example.org. 300 IN MX 10 mx1.example.org.",
		"A:other.org. 5 IN MX 1 wrong.example.org.",
		NULL };
	char next[DNS_NAME_MAX];
	uint32_t ttl;
	int rc;
	struct dns_rrset *rs = parse(mkpkt(1, "example.org.", LDNS_RR_TYPE_MX,
	    LDNS_RCODE_NOERROR, rrs), "example.org", LDNS_RR_TYPE_MX, &rc, next,
	    &ttl);

	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(rs->status, DNSC_OK);
	ck_assert_uint_eq(rs->n, 2);           /* other.org's record is not ours */
	ck_assert_uint_eq(rs->mx[0].pref, 20);
	ck_assert_str_eq(rs->mx[0].host, "mx2.example.org");
	ck_assert_str_eq(rs->mx[1].host, "mx1.example.org");
	ck_assert_uint_eq(ttl, 300);
	ck_assert_str_eq(rs->canon, "");
	dnsc_unref(rs);
}
END_TEST

START_TEST(parse_null_mx)
{
	static const char *const rrs[] = { "A:nomail.org. 300 IN MX 0 .", NULL };
	char next[DNS_NAME_MAX];
	uint32_t ttl;
	int rc;
	struct dns_rrset *rs = parse(mkpkt(1, "nomail.org.", LDNS_RR_TYPE_MX,
	    LDNS_RCODE_NOERROR, rrs), "nomail.org", LDNS_RR_TYPE_MX, &rc, next,
	    &ttl);

	ck_assert_int_eq(rs->status, DNSC_OK);
	ck_assert_uint_eq(rs->n, 1);
	ck_assert_str_eq(rs->mx[0].host, "");
	dnsc_unref(rs);
}
END_TEST

START_TEST(parse_cname)
{
	static const char *const full[] = {
		"A:b.org. 100 IN MX 5 mx.c.org.",
		"A:a.org. 50 IN CNAME b.org.",
		NULL };
	static const char *const partial[] = { "A:a.org. 50 IN CNAME b.org.", NULL };
	static const char *const loop[] = {
		"A:a.org. 50 IN CNAME b.org.", "A:b.org. 50 IN CNAME a.org.", NULL };
	char next[DNS_NAME_MAX];
	uint32_t ttl;
	int rc;
	struct dns_rrset *rs;

	/* The chain and the data in one answer, in any order. */
	rs = parse(mkpkt(1, "a.org.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, full),
	    "a.org", LDNS_RR_TYPE_MX, &rc, next, &ttl);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(rs->status, DNSC_OK);
	ck_assert_str_eq(rs->canon, "b.org");
	ck_assert_str_eq(rs->mx[0].host, "mx.c.org");
	ck_assert_uint_eq(ttl, 50);             /* the CNAME's TTL counts */
	dnsc_unref(rs);
	/* Only the CNAME: its target must be asked. */
	rs = parse(mkpkt(1, "a.org.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, partial),
	    "a.org", LDNS_RR_TYPE_MX, &rc, next, &ttl);
	ck_assert_int_eq(rc, 1);
	ck_assert_str_eq(next, "b.org");
	dnsc_unref(rs);
	/* A loop ends as a failure, not as a hang. */
	rs = parse(mkpkt(1, "a.org.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, loop),
	    "a.org", LDNS_RR_TYPE_MX, &rc, next, &ttl);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(rs->status, DNSC_TEMPFAIL);
	dnsc_unref(rs);
}
END_TEST

START_TEST(parse_negative)
{
	static const char *const soa[] = {
		"U:org. 900 IN SOA ns.org. host.org. 1 3600 600 86400 120", NULL };
	char next[DNS_NAME_MAX];
	uint32_t ttl;
	int rc;
	struct dns_rrset *rs;

	rs = parse(mkpkt(1, "nx.org.", LDNS_RR_TYPE_MX, LDNS_RCODE_NXDOMAIN, soa),
	    "nx.org", LDNS_RR_TYPE_MX, &rc, next, &ttl);
	ck_assert_int_eq(rs->status, DNSC_NXDOMAIN);
	ck_assert_uint_eq(ttl, 120);            /* min(SOA TTL, MINIMUM) */
	dnsc_unref(rs);
	rs = parse(mkpkt(1, "nodata.org.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR,
	    soa), "nodata.org", LDNS_RR_TYPE_AAAA, &rc, next, &ttl);
	ck_assert_int_eq(rs->status, DNSC_NODATA);
	ck_assert_uint_eq(ttl, 120);
	dnsc_unref(rs);
	/* Without an SOA nothing says how long: 0, then clamped. */
	rs = parse(mkpkt(1, "nodata.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, NULL),
	    "nodata.org", LDNS_RR_TYPE_A, &rc, next, &ttl);
	ck_assert_int_eq(rs->status, DNSC_NODATA);
	ck_assert_uint_eq(ttl, 0);
	dnsc_unref(rs);
}
END_TEST

START_TEST(parse_addresses)
{
	static const char *const rrs[] = {
		"A:h.org. 60 IN AAAA 2001:db8::1", "A:h.org. 60 IN AAAA ::1", NULL };
	char next[DNS_NAME_MAX];
	uint32_t ttl;
	int rc;
	struct dns_rrset *rs = parse(mkpkt(1, "h.org.", LDNS_RR_TYPE_AAAA,
	    LDNS_RCODE_NOERROR, rrs), "h.org", LDNS_RR_TYPE_AAAA, &rc, next, &ttl);
	static const uint8_t one[16] = { [15] = 1 };

	ck_assert_uint_eq(rs->n, 2);
	ck_assert_uint_eq(rs->addr[0][0], 0x20);
	ck_assert_mem_eq(rs->addr[1], one, 16);
	dnsc_unref(rs);
}
END_TEST

START_TEST(ttl_clamp)
{
	static const char text[] = "resolver \"127.0.0.1\" port 1 "
	    "{ cache-min-ttl 30s cache-max-ttl 1h }";
	struct config *cfg = config_parse("t", text, strlen(text), NULL);

	ck_assert_ptr_nonnull(cfg);
	dnsc_configure(cfg);
	ck_assert_uint_eq(dnsc_clamp_ttl(0), 30);
	ck_assert_uint_eq(dnsc_clamp_ttl(300), 300);
	ck_assert_uint_eq(dnsc_clamp_ttl(86400 * 7), 3600);
	config_free(cfg);
}
END_TEST

START_TEST(normalize)
{
	char out[DNS_NAME_MAX];

	ck_assert_int_eq(dnsc_normalize("Mail.Example.ORG.", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "mail.example.org");
	ck_assert_int_eq(dnsc_normalize("a..b", out, sizeof(out)), -1);
	ck_assert_int_eq(dnsc_normalize(".", out, sizeof(out)), -1);
	ck_assert_int_eq(dnsc_normalize("a b.org", out, sizeof(out)), -1);
	ck_assert_int_eq(dnsc_normalize("[127.0.0.1]", out, sizeof(out)), -1);
	/* IDNA2008: a UTF-8 name is looked up by its A-label. */
	ck_assert_int_eq(dnsc_normalize("B\xc3\xbc" "cher.TEST", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "xn--bcher-kva.test");
	ck_assert_int_eq(dnsc_normalize("mx.b\xc3\xbc" "cher.test.", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "mx.xn--bcher-kva.test");
	/* Not UTF-8, or not a valid IDNA2008 label (a symbol). */
	ck_assert_int_eq(dnsc_normalize("b\xfc" "cher.test", out, sizeof(out)), -1);
	ck_assert_int_eq(dnsc_normalize("\xe2\x98\x83.test", out, sizeof(out)), -1);
}
END_TEST

START_TEST(mx_order)
{
	struct dns_mx mx[5];
	char h[5][8] = { "c20", "a10", "d30", "b10", "e10" };
	int first_seen[3] = { 0 };
	int round, i;

	for (round = 0; round < 300; round++) {
		static const uint16_t pref[5] = { 20, 10, 30, 10, 10 };

		for (i = 0; i < 5; i++) {
			mx[i].pref = pref[i];
			mx[i].host = h[i];
		}
		route_mx_order(mx, 5);
		for (i = 1; i < 5; i++)
			ck_assert_uint_le(mx[i - 1].pref, mx[i].pref);
		ck_assert_str_eq(mx[3].host, "c20");
		ck_assert_str_eq(mx[4].host, "d30");
		first_seen[mx[0].host[0] == 'a' ? 0 : mx[0].host[0] == 'b' ? 1 : 2]++;
	}
	/* Equal preferences come in a random order: each one leads
	 * sometimes (300 rounds, 1/3 each: never failing in practice). */
	for (i = 0; i < 3; i++)
		ck_assert_int_gt(first_seen[i], 30);
}
END_TEST

/* ---- a DNS server in this process ---- */

struct fake {
	int      udp, tcp;
	struct ev_io *uio, *tio;
	uint16_t port;
	unsigned udp_queries, tcp_queries;
	bool     servfail;                /* answer SERVFAIL to everything */
};
static struct fake srv[2];

static ldns_pkt *
fake_answer(struct fake *f, const ldns_pkt *q, bool tcp)
{
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	char *name = ldns_rdf2str(ldns_rr_owner(qr)), rec[300];
	const char *mx[2] = { rec, NULL };
	ldns_pkt *a = NULL;

	/* "A:name TTL IN MX 10 mx.name", TTL 0 for zero.test. */
	snprintf(rec, sizeof(rec), "A:%s %d IN MX 10 mx.%s", name,
	    strcmp(name, "zero.test.") == 0 ? 0 : 300, name);
	if (f->servfail)
		a = mkpkt(ldns_pkt_id(q), name, ldns_rr_get_type(qr),
		    LDNS_RCODE_SERVFAIL, NULL);
	else if (strcmp(name, "ok.test.") == 0 ||
	    strcmp(name, "wrongid.test.") == 0 || strcmp(name, "zero.test.") == 0)
		a = mkpkt(ldns_pkt_id(q), name, LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, mx);
	else if (strcmp(name, "tc.test.") == 0) {
		a = mkpkt(ldns_pkt_id(q), name, LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR,
		    tcp ? mx : NULL);
		ldns_pkt_set_tc(a, !tcp);
	}
	free(name);
	return a;                        /* NULL: no answer (silent.test) */
}

static void
fake_udp(int fd, int events, void *arg)
{
	struct fake *f = arg;
	uint8_t buf[4096], *w;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n;
	ldns_pkt *q = NULL, *a;
	size_t wl;

	(void)events;
	while ((n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss,
	    &sl)) > 0) {
		f->udp_queries++;
		if (ldns_wire2pkt(&q, buf, (size_t)n) != LDNS_STATUS_OK)
			continue;
		if ((a = fake_answer(f, q, false)) != NULL) {
			const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
			char *name = ldns_rdf2str(ldns_rr_owner(qr));

			if (strcmp(name, "wrongid.test.") == 0) {
				/* A spoofed answer first: it must be ignored. */
				ldns_pkt_set_id(a, (uint16_t)(ldns_pkt_id(q) + 1));
				ldns_pkt2wire(&w, a, &wl);
				sendto(fd, w, wl, 0, (struct sockaddr *)&ss, sl);
				free(w);
				ldns_pkt_set_id(a, ldns_pkt_id(q));
			}
			free(name);
			ldns_pkt2wire(&w, a, &wl);
			sendto(fd, w, wl, 0, (struct sockaddr *)&ss, sl);
			free(w);
			ldns_pkt_free(a);
		}
		ldns_pkt_free(q);
		q = NULL;
		sl = sizeof(ss);
	}
}

struct tconn {
	struct fake *f;
	struct ev_io *io;
	int fd;
	uint8_t buf[4096];
	size_t len;
};

static void
fake_tcp_read(int fd, int events, void *arg)
{
	struct tconn *t = arg;
	ssize_t n;
	size_t need, wl;
	ldns_pkt *q = NULL, *a;
	uint8_t *w, hdr[2];

	(void)events;
	n = read(fd, t->buf + t->len, sizeof(t->buf) - t->len);
	if (n > 0)
		t->len += (size_t)n;
	need = t->len >= 2 ? ((size_t)t->buf[0] << 8 | t->buf[1]) + 2 : SIZE_MAX;
	if (n > 0 && t->len < need)
		return;
	if (t->len >= need && ldns_wire2pkt(&q, t->buf + 2, need - 2) ==
	    LDNS_STATUS_OK) {
		t->f->tcp_queries++;
		if ((a = fake_answer(t->f, q, true)) != NULL) {
			ldns_pkt2wire(&w, a, &wl);
			hdr[0] = (uint8_t)(wl >> 8);
			hdr[1] = (uint8_t)wl;
			ck_assert_int_eq(write(fd, hdr, 2), 2);
			ck_assert_int_eq(write(fd, w, wl), (ssize_t)wl);
			free(w);
			ldns_pkt_free(a);
		}
		ldns_pkt_free(q);
	}
	ev_io_del(t->io);
	close(fd);
	free(t);
}

static void
fake_accept(int fd, int events, void *arg)
{
	struct tconn *t;
	int c;

	(void)events;
	if ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	t = xcalloc(1, sizeof(*t));
	t->f = arg;
	t->fd = c;
	t->io = ev_io_add(c, EV_READ, fake_tcp_read, t);
}

static void
fake_start(struct fake *f)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);

	memset(f, 0, sizeof(*f));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(bind(f->tcp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(f->tcp, (struct sockaddr *)&sin, &sl), 0);
	ck_assert_int_eq(listen(f->tcp, 16), 0);
	f->port = ntohs(sin.sin_port);
	/* UDP on the same port number (free in practice right after). */
	f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(bind(f->udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	f->uio = ev_io_add(f->udp, EV_READ, fake_udp, f);
	f->tio = ev_io_add(f->tcp, EV_READ, fake_accept, f);
}

struct result {
	int done;
	enum dnsc_status status;
	size_t n;
	char err[DNS_ERR_MAX];
	char host0[DNS_NAME_MAX];
};

static int waiting;

static void
got(const struct dns_rrset *rs, void *arg)
{
	struct result *r = arg;

	r->done++;
	r->status = rs->status;
	r->n = rs->n;
	strlcpy(r->err, rs->err, sizeof(r->err));
	if (rs->n > 0 && rs->type == LDNS_RR_TYPE_MX)
		strlcpy(r->host0, rs->mx[0].host, sizeof(r->host0));
	if (--waiting == 0)
		ev_break();
}

static void
give_up(void *arg)
{
	(void)arg;
	ev_break();
}

/* Run the loop until every lookup answered (or 10 s passed). */
static void
run(void)
{
	struct ev_timer *t = ev_timer_new(give_up, NULL);

	ev_timer_start(t, 10000);
	ev_run();
	ev_timer_free(t);
}

static void
setup_resolver(const char *extra)
{
	char text[512];
	struct config *cfg;

	ev_init();
	fake_start(&srv[0]);
	fake_start(&srv[1]);
	snprintf(text, sizeof(text), "resolver \"127.0.0.1\" port %u { timeout 1s "
	    "attempts 1 cache-min-ttl 0 %s }", srv[0].port, extra);
	cfg = config_parse("t", text, strlen(text), NULL);
	ck_assert_ptr_nonnull(cfg);
	dnsc_configure(cfg);
	config_free(cfg);
	ck_assert_int_eq(dns_add_server("127.0.0.1", srv[1].port), 0);
}

START_TEST(transport)
{
	struct result ok = { 0 }, spoof = { 0 }, tc = { 0 }, silent = { 0 };

	setup_resolver("");
	waiting = 4;
	dnsc_lookup("ok.test", LDNS_RR_TYPE_MX, got, &ok);
	dnsc_lookup("wrongid.test", LDNS_RR_TYPE_MX, got, &spoof);
	dnsc_lookup("tc.test", LDNS_RR_TYPE_MX, got, &tc);
	dnsc_lookup("silent.test", LDNS_RR_TYPE_MX, got, &silent);
	run();
	ck_assert_int_eq(ok.done, 1);
	ck_assert_int_eq(ok.status, DNSC_OK);
	ck_assert_str_eq(ok.host0, "mx.ok.test");
	/* The spoofed answer (wrong id) was ignored; the real one taken. */
	ck_assert_int_eq(spoof.status, DNSC_OK);
	/* Truncated over UDP: asked again over TCP. */
	ck_assert_int_eq(tc.status, DNSC_OK);
	ck_assert_str_eq(tc.host0, "mx.tc.test");
	ck_assert_uint_eq(srv[0].tcp_queries, 1);
	/* No answer from either server: a temporary failure, after one
	 * try on each. */
	ck_assert_int_eq(silent.status, DNSC_TEMPFAIL);
	ck_assert_msg(strstr(silent.err, "timeout") != NULL, "%s", silent.err);
	ck_assert_uint_eq(srv[1].udp_queries, 1);
}
END_TEST

START_TEST(servfail_next_server)
{
	struct result r = { 0 };

	setup_resolver("");
	srv[0].servfail = true;
	waiting = 1;
	dnsc_lookup("ok.test", LDNS_RR_TYPE_MX, got, &r);
	run();
	ck_assert_int_eq(r.status, DNSC_OK);
	ck_assert_uint_eq(srv[0].udp_queries, 1);
	ck_assert_uint_eq(srv[1].udp_queries, 1);
	/* Both failing: SERVFAIL is temporary. */
	srv[1].servfail = true;
	memset(&r, 0, sizeof(r));
	waiting = 1;
	dnsc_lookup("zero.test", LDNS_RR_TYPE_MX, got, &r);
	run();
	ck_assert_int_eq(r.status, DNSC_TEMPFAIL);
	ck_assert_msg(strstr(r.err, "SERVFAIL") != NULL, "%s", r.err);
}
END_TEST

START_TEST(cache_shared_and_ttl)
{
	struct result a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };

	setup_resolver("cache-max-ttl 1h");
	/* Two lookups at once: one question. */
	waiting = 2;
	dnsc_lookup("OK.test.", LDNS_RR_TYPE_MX, got, &a);
	dnsc_lookup("ok.test", LDNS_RR_TYPE_MX, got, &b);
	run();
	ck_assert_int_eq(a.done + b.done, 2);
	ck_assert_uint_eq(srv[0].udp_queries, 1);
	/* From the cache now, still answered from the loop. */
	waiting = 1;
	dnsc_lookup("ok.test", LDNS_RR_TYPE_MX, got, &c);
	ck_assert_int_eq(c.done, 0);
	run();
	ck_assert_int_eq(c.done, 1);
	ck_assert_uint_eq(srv[0].udp_queries, 1);
	ck_assert_uint_eq(dnsc_count(), 1);
	/* TTL 0 with cache-min-ttl 0: asked again every time. */
	waiting = 1;
	dnsc_lookup("zero.test", LDNS_RR_TYPE_MX, got, &d);
	run();
	waiting = 1;
	dnsc_lookup("zero.test", LDNS_RR_TYPE_MX, got, &d);
	run();
	ck_assert_uint_eq(srv[0].udp_queries, 3);
	/* refresh forgets the domain and its MX hosts; clear the rest. */
	ck_assert_uint_eq(dnsc_forget_domain("ok.test"), 1);
	ck_assert_uint_eq(dnsc_clear(), 1);      /* zero.test */
	ck_assert_uint_eq(dnsc_count(), 0);
}
END_TEST

static Suite *
dns_suite(void)
{
	Suite *s = suite_create("deliverd_dns");
	TCase *tc = tcase_create("packets");

	tcase_add_test(tc, query_wire);
	tcase_add_test(tc, answer_checks);
	tcase_add_test(tc, name_text);
	tcase_add_test(tc, parse_mx);
	tcase_add_test(tc, parse_null_mx);
	tcase_add_test(tc, parse_cname);
	tcase_add_test(tc, parse_negative);
	tcase_add_test(tc, parse_addresses);
	tcase_add_test(tc, ttl_clamp);
	tcase_add_test(tc, normalize);
	tcase_add_test(tc, mx_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolver");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, transport);
	tcase_add_test(tc, servfail_next_server);
	tcase_add_test(tc, cache_shared_and_ttl);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(dns_suite);
