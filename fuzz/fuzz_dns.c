/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for deliverd's handling of a DNS answer (deliverd/dns.c
 * and dns_cache.c): the packet read from the resolver's socket, parsed by
 * ldns, checked against the question asked (id, QR, opcode, one question
 * of the right name, type and class), then read into a record set
 * (CNAMEs followed, MX/A/AAAA records kept, the negative TTL taken).
 *
 * Input: u8 choosing the question (type MX, A or AAAA; one of a few
 * names), then the packet; the id asked is 0x4242. Asserted: a packet
 * that does not match is never read; a record set is bounded and its
 * names are lower-case host names; a CNAME target to ask is a name. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cache.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define QID 0x4242

static const char *names[] = {
	"example.org", "mx.example.org", "a.b.example", "x",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

static void
check_host(const char *s)
{
	size_t i;

	assert(strlen(s) < DNS_NAME_MAX);
	for (i = 0; s[i] != '\0'; i++)
		assert((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.');
}

static void
name_texts(const ldns_rr_list *l)
{
	char buf[DNS_NAME_MAX];
	size_t i, j;

	for (i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);

		if (dns_name_text(ldns_rr_owner(rr), buf, sizeof(buf)) == 0)
			check_host(buf);
		for (j = 0; j < ldns_rr_rd_count(rr); j++)
			if (dns_name_text(ldns_rr_rdf(rr, j), buf,
			    sizeof(buf)) == 0)
				check_host(buf);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {
		LDNS_RR_TYPE_MX, LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA,
	};
	ldns_pkt *pkt = NULL;
	struct dns_rrset *rs;
	const char *name;
	char next[DNS_NAME_MAX];
	uint16_t type;
	uint32_t ttl = UINT32_MAX;
	size_t i;
	int rc;

	if (size < 1)
		return 0;
	type = types[(data[0] & 3) % 3];
	name = names[(data[0] >> 2) % (sizeof(names) / sizeof(names[0]))];
	if (ldns_wire2pkt(&pkt, data + 1, size - 1) != LDNS_STATUS_OK)
		return 0;
	name_texts(ldns_pkt_answer(pkt));
	if (!dns_answer_matches(pkt, QID, name, type)) {
		ldns_pkt_free(pkt);
		return 0;
	}
	assert(ldns_pkt_id(pkt) == QID);
	rs = dnsc_rrset_new(name, type);
	next[0] = '\0';
	rc = dnsc_parse(pkt, name, rs, next, sizeof(next), &ttl);
	assert(rc == 0 || rc == 1);
	if (rc == 1) {
		assert(next[0] != '\0');
		check_host(next);
		assert(rs->n == 0);
	}
	check_host(rs->canon);
	assert(memchr(rs->err, '\0', sizeof(rs->err)) != NULL);
	if (rc == 0 && rs->status == DNSC_OK)
		assert(rs->n > 0);
	if (type == LDNS_RR_TYPE_MX) {
		assert(rs->n <= DNSC_MX_MAX);
		for (i = 0; i < rs->n; i++)
			check_host(rs->mx[i].host);
	} else
		assert(rs->n <= DNSC_ADDR_MAX);
	dnsc_unref(rs);
	ldns_pkt_free(pkt);
	return 0;
}
