/* SPDX-License-Identifier: ISC */
/* empathctl dns ...: deliverd's DNS cache and route overrides.
 *
 *   dns list-cache        every cached record set, with its time left
 *   dns clear-cache       forget every cached answer
 *   dns refresh DOMAIN    forget DOMAIN (and its MX hosts), look it up again
 *   dns list-overrides    domains with their own route or delivery policy
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "empathctl.h"
#include "proto.h"

#define STR_MAX 4096
#define DNS_SERVERS_LIST_MAX 16

static int
dns_usage(void)
{
	fprintf(stderr,
	    "usage: empathctl dns list-cache | clear-cache | refresh DOMAIN | "
	    "list-overrides\n");
	return EXIT_USAGE;
}

static void
read_str(struct msgreader *r, char *buf, size_t len)
{
	out_clean(buf, len, mr_str(r));
}

static int
print_list(const struct ctl_reply *reply, bool json)
{
	static char name[STR_MAX], type[16], status[16], data[STR_MAX];
	struct msgreader r, r2;
	uint32_t ns, n, i, ttl, left, more;
	char server[128];

	if (reply->type != CTL_DNS_LIST_REPLY)
		return out_not_expected(reply);
	/* Checked whole before anything is printed. */
	out_reader(&r, reply);
	ns = mr_u32(&r);
	for (i = 0; i < ns && !r.err; i++)
		(void)mr_str(&r);
	n = mr_u32(&r);
	for (i = 0; i < n && !r.err; i++) {
		(void)mr_str(&r);
		(void)mr_str(&r);
		(void)mr_str(&r);
		(void)mr_u32(&r);
		(void)mr_u32(&r);
		(void)mr_str(&r);
	}
	more = mr_u32(&r);
	if (!mr_done(&r) || ns > DNS_SERVERS_LIST_MAX)
		return out_malformed();

	out_reader(&r2, reply);
	ns = mr_u32(&r2);
	if (json)
		printf("{\"servers\":[");
	else
		printf("servers:");
	for (i = 0; i < ns; i++) {
		read_str(&r2, server, sizeof(server));
		if (json) {
			printf(i ? "," : "");
			out_json_str(server);
		} else
			printf(" %s", server);
	}
	printf(json ? "],\"entries\":[" : "\n");
	n = mr_u32(&r2);
	if (!json && n > 0)
		printf("%-32s %-5s %-8s %8s %8s  %s\n", "NAME", "TYPE", "STATUS",
		    "TTL", "LEFT", "DATA");
	for (i = 0; i < n; i++) {
		read_str(&r2, name, sizeof(name));
		read_str(&r2, type, sizeof(type));
		read_str(&r2, status, sizeof(status));
		ttl = mr_u32(&r2);
		left = mr_u32(&r2);
		read_str(&r2, data, sizeof(data));
		if (json) {
			printf("%s{\"name\":", i ? "," : "");
			out_json_str(name);
			printf(",\"type\":");
			out_json_str(type);
			printf(",\"status\":");
			out_json_str(status);
			printf(",\"ttl\":%u,\"expires_in\":%u,\"data\":", ttl, left);
			out_json_str(data);
			printf("}");
		} else {
			char lbuf[16];

			snprintf(lbuf, sizeof(lbuf), "%u", left);
			printf("%-32s %-5s %-8s %8u %8s  %s\n", name, type, status,
			    ttl, left > 0 ? lbuf : "expired", data);
		}
	}
	more = mr_u32(&r2);
	if (json)
		printf("],\"more\":%u}\n", more);
	else if (n == 0)
		printf("(the cache is empty)\n");
	if (!json && more > 0)
		printf("(%u more not shown)\n", more);
	return EXIT_OK;
}

static int
print_ok(const struct ctl_reply *reply, bool json, const char *what)
{
	struct msgreader r;
	char text[STR_MAX];
	uint64_t count;

	if (reply->type != CTL_DNS_OK)
		return out_not_expected(reply);
	out_reader(&r, reply);
	count = mr_u64(&r);
	read_str(&r, text, sizeof(text));
	if (!mr_done(&r))
		return out_malformed();
	if (json) {
		printf("{\"ok\":true,\"dropped\":%" PRIu64, count);
		if (what != NULL) {
			printf(",\"domain\":");
			out_json_str(what);
			printf(",\"route\":");
			out_json_str(text);
		}
		printf("}\n");
	} else if (what == NULL)
		printf("%" PRIu64 " cached record sets dropped\n", count);
	else
		printf("%s: %" PRIu64 " cached record sets dropped; route now: %s\n",
		    what, count, text);
	return EXIT_OK;
}

static int
print_overrides(const struct ctl_reply *reply, bool json)
{
	struct msgreader r;
	char dom[STR_MAX], relay[STR_MAX], tls[32], rate[64], via[STR_MAX + 8];
	uint32_t n, i, port;

	if (reply->type != CTL_DNS_OVERRIDES_REPLY)
		return out_not_expected(reply);
	out_reader(&r, reply);
	n = mr_u32(&r);
	if (r.err)
		return out_malformed();
	if (json)
		printf("[");
	else if (n == 0)
		printf("(no domain has a route or delivery policy of its own)\n");
	else
		printf("%-32s %-28s %-14s %s\n", "DOMAIN", "ROUTE", "TLS", "RATE");
	for (i = 0; i < n; i++) {
		read_str(&r, dom, sizeof(dom));
		read_str(&r, relay, sizeof(relay));
		port = mr_u32(&r);
		read_str(&r, tls, sizeof(tls));
		read_str(&r, rate, sizeof(rate));
		if (r.err)
			return out_malformed();
		if (relay[0] != '\0')
			snprintf(via, sizeof(via), strchr(relay, ':') ? "[%s]:%u" :
			    "%s:%u", relay, port);
		else
			strlcpy(via, "MX", sizeof(via));
		if (json) {
			printf("%s{\"domain\":", i ? "," : "");
			out_json_str(dom);
			printf(",\"relay\":");
			out_json_str(relay[0] != '\0' ? via : "");
			printf(",\"tls\":");
			out_json_str(tls);
			printf(",\"rate\":");
			out_json_str(rate);
			printf("}");
		} else
			printf("%-32s %-28s %-14s %s\n",
			    strcmp(dom, "*") == 0 ? "* (smarthost)" : dom, via,
			    tls[0] ? tls : "-", rate[0] ? rate : "-");
	}
	if (!mr_done(&r))
		return out_malformed();
	if (json)
		printf("]\n");
	return EXIT_OK;
}

static const struct subcmd dns_subs[] = {
	{ "dns list-cache",     "",       NULL },
	{ "dns clear-cache",    "",       NULL },
	{ "dns refresh",        "DOMAIN", NULL },
	{ "dns list-overrides", "",       NULL },
};
static const uint16_t dns_types[] = { CTL_DNS_LIST, CTL_DNS_CLEAR,
    CTL_DNS_REFRESH, CTL_DNS_OVERRIDES };

int
cmd_dns(int argc, char **argv, struct ctl_opts *o)
{
	static struct ctl_reply reply;   /* large: off the stack */
	const struct subcmd *sc = NULL;
	struct msgbuf mb;
	char err[512];
	const char *domain = NULL;
	uint16_t type = 0;
	size_t k;
	int i, ch, want;

	if (argc < 1)
		return dns_usage();
	for (k = 0; k < sizeof(dns_subs) / sizeof(dns_subs[0]); k++)
		if (strcmp(argv[0], dns_subs[k].name + 4) == 0) {
			sc = &dns_subs[k];
			type = dns_types[k];
		}
	if (sc == NULL) {
		fprintf(stderr, "empathctl: dns: unknown command %.64s\n", argv[0]);
		return dns_usage();
	}
	/* argv[0] is the sub-command: getopt_long starts after it. */
	optind = 0;
	if ((ch = sub_getopt(argc, argv, sc, o)) != -1)
		return ch == SUB_HELP ? EXIT_OK : EXIT_USAGE;
	want = type == CTL_DNS_REFRESH;
	if (argc - optind < want)
		return sub_error(sc, "%s", "a domain is needed");
	if (argc - optind > want)
		return sub_error(sc, "unexpected argument %.64s",
		    argv[optind + want]);
	if (want) {
		domain = argv[optind];
		if (*domain == '\0' || strlen(domain) > 253)
			return sub_error(sc, "%s", "a domain is 1 to 253 "
			    "characters");
		for (i = 0; domain[i] != '\0'; i++)
			if (domain[i] <= ' ' || domain[i] >= 0x7f)
				return sub_error(sc, "%s", "a domain is printable "
				    "ASCII (an IDN as its A-label)");
	}
	mb_init(&mb);
	if (domain != NULL)
		mb_str(&mb, domain);
	if (ctl_roundtrip(o->socket, type, mb.len ? mb.data : NULL, mb.len, &reply,
	    err, sizeof(err)) == -1) {
		mb_free(&mb);
		fprintf(stderr, "empathctl: %s\n", err);
		return EXIT_FAIL;
	}
	mb_free(&mb);
	switch (type) {
	case CTL_DNS_LIST:
		return print_list(&reply, o->json);
	case CTL_DNS_OVERRIDES:
		return print_overrides(&reply, o->json);
	default:
		return print_ok(&reply, o->json, domain);
	}
}
