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
#include "wire_ctl.h"

#define STR_MAX 4096

static int
dns_usage(void)
{
	fprintf(stderr,
	    "usage: empathctl dns list-cache | clear-cache | refresh DOMAIN | "
	    "list-overrides\n");
	return EXIT_USAGE;
}

static void
clean(const char *src, char *buf, size_t len)
{
	out_clean(buf, len, src);
}

static int
print_list(const struct ctl_reply *reply, bool json)
{
	static char name[STR_MAX], type[16], status[16], data[STR_MAX];
	struct chan_msg m = out_msg(reply);
	struct wire_dns_list w;
	char server[128];
	uint32_t i;

	if (reply->type != CTL_DNS_LIST_REPLY)
		return out_not_expected(reply);
	/* Decoded whole before anything is printed. */
	if (wire_dns_list_decode(&m, &w) == -1)
		return out_malformed();
	if (json)
		printf("{\"servers\":[");
	else
		printf("servers:");
	for (i = 0; i < w.ns; i++) {
		clean(w.server[i], server, sizeof(server));
		if (json) {
			printf(i ? "," : "");
			out_json_str(server);
		} else
			printf(" %s", server);
	}
	printf(json ? "],\"entries\":[" : "\n");
	if (!json && w.n > 0)
		printf("%-32s %-5s %-8s %8s %8s  %s\n", "NAME", "TYPE", "STATUS",
		    "TTL", "LEFT", "DATA");
	for (i = 0; i < w.n; i++) {
		const struct wire_dns_entry *e = &w.e[i];

		clean(e->name, name, sizeof(name));
		clean(e->type, type, sizeof(type));
		clean(e->status, status, sizeof(status));
		clean(e->data, data, sizeof(data));
		if (json) {
			printf("%s{\"name\":", i ? "," : "");
			out_json_str(name);
			printf(",\"type\":");
			out_json_str(type);
			printf(",\"status\":");
			out_json_str(status);
			printf(",\"ttl\":%u,\"expires_in\":%u,\"data\":", e->ttl,
			    e->left);
			out_json_str(data);
			printf("}");
		} else {
			char lbuf[16];

			snprintf(lbuf, sizeof(lbuf), "%u", e->left);
			printf("%-32s %-5s %-8s %8u %8s  %s\n", name, type, status,
			    e->ttl, e->left > 0 ? lbuf : "expired", data);
		}
	}
	if (json)
		printf("],\"more\":%u}\n", w.more);
	else if (w.n == 0)
		printf("(the cache is empty)\n");
	if (!json && w.more > 0)
		printf("(%u more not shown)\n", w.more);
	wire_dns_list_free(&w);
	return EXIT_OK;
}

static int
print_ok(const struct ctl_reply *reply, bool json, const char *what)
{
	struct chan_msg m = out_msg(reply);
	struct wire_ok w;
	char text[STR_MAX];
	uint64_t count;

	if (reply->type != CTL_DNS_OK)
		return out_not_expected(reply);
	if (wire_ok_decode(&m, &w) == -1)
		return out_malformed();
	count = w.count;
	clean(w.text, text, sizeof(text));
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
	struct chan_msg m = out_msg(reply);
	struct wire_overrides w;
	char dom[STR_MAX], relay[STR_MAX], tls[32], rate[64], via[STR_MAX + 8];
	uint32_t i;

	if (reply->type != CTL_DNS_OVERRIDES_REPLY)
		return out_not_expected(reply);
	if (wire_overrides_decode(&m, &w) == -1)
		return out_malformed();
	if (json)
		printf("[");
	else if (w.n == 0)
		printf("(no domain has a route or delivery policy of its own)\n");
	else
		printf("%-32s %-28s %-14s %s\n", "DOMAIN", "ROUTE", "TLS", "RATE");
	for (i = 0; i < w.n; i++) {
		clean(w.o[i].domain, dom, sizeof(dom));
		clean(w.o[i].relay, relay, sizeof(relay));
		clean(w.o[i].tls, tls, sizeof(tls));
		clean(w.o[i].rate, rate, sizeof(rate));
		if (relay[0] != '\0')
			snprintf(via, sizeof(via), strchr(relay, ':') ? "[%s]:%u" :
			    "%s:%u", relay, w.o[i].port);
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
	if (json)
		printf("]\n");
	wire_overrides_free(&w);
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
	struct wire_domain dom;
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
	if (domain != NULL) {
		strlcpy(dom.domain, domain, sizeof(dom.domain));
		if (wire_domain_encode(&mb, &dom) == -1) {
			mb_free(&mb);
			return sub_error(sc, "%s", "not a domain name (letters, "
			    "digits, '-', '_' and dots; an IDN as its A-label)");
		}
	}
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
