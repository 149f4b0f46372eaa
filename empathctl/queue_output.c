/* SPDX-License-Identifier: ISC */
/* Rendering the answers of the queue commands (payloads in proto.h), as
 * text for people or one JSON object for scripts. Every answer is decoded
 * whole by its codec (wire_ctl.h) before anything is printed; strings
 * are escaped (textesc.h) first. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "empathctl.h"
#include "envelope.h"
#include "proto.h"
#include "wire_ctl.h"

#define STR_MAX   520          /* queued cuts its strings at 512 */
#define HDR_MAX   (Q_VIEW_HEADERS + 1)

static const char *const state_names[RCPT_STATE_COUNT] = {
	"queued", "inflight", "deferred", "delivered", "failed",
};

static void
clean(const char *src, char *out, size_t len)
{
	out_clean(out, len, src);
}

static void
json_counts(const uint64_t c[RCPT_STATE_COUNT])
{
	int i;

	putchar('{');
	for (i = 0; i < RCPT_STATE_COUNT; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", state_names[i], c[i]);
	putchar('}');
}

static void
date_text(uint64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || localtime_r(&tt, &tm) == NULL)
		strlcpy(out, "-", len);
	else
		strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void
json_time(const char *key, uint64_t t)
{
	if (t == 0)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%" PRIu64, key, t);
}

/* ---- list ---- */

int
print_queue_list(const struct ctl_reply *reply, bool json, uint32_t state)
{
	struct chan_msg m = out_msg(reply);
	struct wire_qlist w;
	char id[64], sender[STR_MAX], created[32], next[32], last[64] = "";
	uint32_t i;

	if (reply->type != CTL_QUEUE_LIST_REPLY)
		return out_not_expected(reply);
	if (wire_qlist_decode(&m, &w) == -1)
		return out_malformed();
	if (json)
		printf("{\"messages\":[");
	else
		printf("%-26s %10s %-19s %5s %5s %5s %5s %5s  %-19s %s\n", "ID",
		    "SIZE", "ARRIVED", "QUEUE", "INFL", "DEFER", "DONE", "FAIL",
		    "NEXT ATTEMPT", "SENDER");
	for (i = 0; i < w.n; i++) {
		const struct wire_qlist_row *q = &w.row[i];
		const uint64_t *c = q->by_state;

		clean(q->id, id, sizeof(id));
		clean(q->sender, sender, sizeof(sender));
		strlcpy(last, id, sizeof(last));
		if (json) {
			printf("%s{\"id\":", i ? "," : "");
			out_json_str(id);
			printf(",\"sender\":");
			out_json_str(sender);
			printf(",\"size\":%" PRIu64, q->size);
			json_time("created", q->created);
			json_time("next_attempt", q->next);
			printf(",\"recipients\":");
			json_counts(c);
			putchar('}');
		} else {
			date_text(q->created, created, sizeof(created));
			date_text(q->next, next, sizeof(next));
			printf("%-26s %10" PRIu64 " %-19s %5" PRIu64 " %5" PRIu64
			    " %5" PRIu64 " %5" PRIu64 " %5" PRIu64 "  %-19s <%s>\n",
			    id, q->size, created, c[0], c[1], c[2], c[3], c[4], next,
			    sender);
		}
	}
	if (json) {
		printf("],\"truncated\":%s,\"next\":", w.more ? "true" : "false");
		if (w.more)
			out_json_str(last);
		else
			printf("null");
		printf("}\n");
	} else {
		printf("%u message%s%s\n", w.n, w.n == 1 ? "" : "s",
		    state != Q_STATE_ANY ? " with recipients in that state" : "");
		if (w.more)
			printf("truncated: more follow, see `empathctl queue list "
			    "--after=%s`\n", last);
	}
	wire_qlist_free(&w);
	return EXIT_OK;
}

/* ---- view ---- */

struct view_rcpt {
	uint64_t id, next, last;
	uint32_t notify, state, attempts;
	char     addr[STR_MAX], orcpt[STR_MAX], error[STR_MAX], host[STR_MAX];
};

static void
notify_text(uint32_t n, char *out, size_t len)
{
	out[0] = '\0';
	if (n == 0)
		strlcpy(out, "-", len);
	if (n & DSN_NOTIFY_NEVER)
		strlcat(out, "NEVER,", len);
	if (n & DSN_NOTIFY_SUCCESS)
		strlcat(out, "SUCCESS,", len);
	if (n & DSN_NOTIFY_FAILURE)
		strlcat(out, "FAILURE,", len);
	if (n & DSN_NOTIFY_DELAY)
		strlcat(out, "DELAY,", len);
	if (out[0] != '\0' && out[strlen(out) - 1] == ',')
		out[strlen(out) - 1] = '\0';
}

int
print_queue_view(const struct ctl_reply *reply, bool json)
{
	static struct view_rcpt rc[Q_VIEW_RCPTS];
	static char headers[HDR_MAX];
	struct chan_msg m = out_msg(reply);
	struct wire_qview w;
	char id[64], sender[STR_MAX], helo[STR_MAX], caddr[STR_MAX],
	    cname[STR_MAX], body[STR_MAX], envid[STR_MAX], t1[32], t2[32],
	    notify[64];
	uint64_t size, created;
	uint32_t ret, utf8, n, i, more, cut;
	bool fit;

	if (reply->type != CTL_QUEUE_VIEW_REPLY)
		return out_not_expected(reply);
	if (wire_qview_decode(&m, &w) == -1)
		return out_malformed();
	clean(w.id, id, sizeof(id));
	clean(w.sender, sender, sizeof(sender));
	clean(w.helo, helo, sizeof(helo));
	clean(w.client_addr, caddr, sizeof(caddr));
	clean(w.client_name, cname, sizeof(cname));
	clean(w.body, body, sizeof(body));
	clean(w.envid, envid, sizeof(envid));
	ret = w.ret;
	utf8 = w.smtputf8;
	size = w.size;
	created = w.created;
	n = w.n;
	for (i = 0; i < n; i++) {
		const struct wire_qview_rcpt *q = &w.rcpt[i];

		rc[i].id = q->id;
		clean(q->addr, rc[i].addr, sizeof(rc[i].addr));
		clean(q->orcpt, rc[i].orcpt, sizeof(rc[i].orcpt));
		rc[i].notify = q->notify;
		rc[i].state = q->state;
		rc[i].attempts = q->attempts;
		rc[i].next = q->next;
		rc[i].last = q->last;
		clean(q->error, rc[i].error, sizeof(rc[i].error));
		clean(q->host, rc[i].host, sizeof(rc[i].host));
	}
	more = w.more;
	/* Headers keep their line ends; anything else is cleaned, and what
	 * does not fit is cut (and said to be). */
	fit = out_clean_lines(headers, sizeof(headers), w.headers);
	cut = w.headers_cut || !fit;
	wire_qview_free(&w);

	if (json) {
		printf("{\"id\":");
		out_json_str(id);
		printf(",\"sender\":");
		out_json_str(sender);
		printf(",\"helo\":");
		out_json_str(helo);
		printf(",\"client_addr\":");
		out_json_str(caddr);
		printf(",\"client_name\":");
		out_json_str(cname);
		printf(",\"body\":");
		out_json_str(body);
		printf(",\"envid\":");
		out_json_str(envid);
		printf(",\"ret\":\"%s\",\"smtputf8\":%s,\"size\":%" PRIu64,
		    ret == DSN_RET_FULL ? "FULL" : ret == DSN_RET_HDRS ? "HDRS" : "",
		    utf8 ? "true" : "false", size);
		json_time("created", created);
		printf(",\"recipients\":[");
		for (i = 0; i < n; i++) {
			notify_text(rc[i].notify, notify, sizeof(notify));
			printf("%s{\"id\":%" PRIu64 ",\"address\":", i ? "," : "",
			    rc[i].id);
			out_json_str(rc[i].addr);
			printf(",\"orcpt\":");
			out_json_str(rc[i].orcpt);
			printf(",\"notify\":\"%s\",\"state\":\"%s\",\"attempts\":%u",
			    notify, state_names[rc[i].state], rc[i].attempts);
			json_time("next_attempt", rc[i].next);
			json_time("last_attempt", rc[i].last);
			printf(",\"last_error\":");
			out_json_str(rc[i].error);
			printf(",\"last_host\":");
			out_json_str(rc[i].host);
			putchar('}');
		}
		printf("],\"recipients_truncated\":%s,\"headers\":",
		    more ? "true" : "false");
		out_json_str(headers);
		printf(",\"headers_truncated\":%s}\n", cut ? "true" : "false");
		return EXIT_OK;
	}
	date_text(created, t1, sizeof(t1));
	printf("id: %s\nsender: <%s>\narrived: %s from %s (%s [%s])\n", id,
	    sender, t1, helo, cname[0] ? cname : "unknown", caddr);
	printf("size: %" PRIu64 "\nbody: %s\n", size, body[0] ? body : "-");
	if (envid[0] != '\0' || ret != DSN_RET_UNSET)
		printf("dsn: envid=%s ret=%s\n", envid[0] ? envid : "-",
		    ret == DSN_RET_FULL ? "FULL" : ret == DSN_RET_HDRS ? "HDRS" : "-");
	printf("recipients: %u%s\n", n, more ? " (truncated)" : "");
	for (i = 0; i < n; i++) {
		date_text(rc[i].next, t1, sizeof(t1));
		date_text(rc[i].last, t2, sizeof(t2));
		notify_text(rc[i].notify, notify, sizeof(notify));
		printf("  <%s> %s, attempts %u, last attempt %s, next attempt %s\n",
		    rc[i].addr, state_names[rc[i].state], rc[i].attempts, t2,
		    rc[i].state == RCPT_QUEUED || rc[i].state == RCPT_DEFERRED ?
		    t1 : "-");
		if (rc[i].orcpt[0] != '\0' || rc[i].notify != 0)
			printf("    orcpt %s, notify %s\n",
			    rc[i].orcpt[0] ? rc[i].orcpt : "-", notify);
		if (rc[i].error[0] != '\0')
			printf("    last error: %s\n", rc[i].error);
		if (rc[i].host[0] != '\0')
			printf("    last host: %s\n", rc[i].host);
	}
	printf("headers:%s\n%s", cut ? " (truncated)" : "", headers);
	return EXIT_OK;
}

/* ---- changes ---- */

int
print_queue_ok(const struct ctl_reply *reply, bool json)
{
	struct chan_msg m = out_msg(reply);
	struct wire_ok w;
	char text[256];
	uint64_t count;

	if (reply->type != CTL_QUEUE_OK)
		return out_not_expected(reply);
	if (wire_ok_decode(&m, &w) == -1)
		return out_malformed();
	count = w.count;
	clean(w.text, text, sizeof(text));
	if (json) {
		printf("{\"ok\":true,\"count\":%" PRIu64 ",\"message\":", count);
		out_json_str(text);
		printf("}\n");
	} else
		printf("%s\n", text);
	return EXIT_OK;
}

/* ---- stats ---- */

struct dom_row {
	char     name[STR_MAX];
	uint64_t c[RCPT_STATE_COUNT];
};

int
print_queue_stats(const struct ctl_reply *reply, bool json)
{
	static struct dom_row dom[Q_STATS_DOMAINS];
	static struct wire_qstats w;
	struct chan_msg m = out_msg(reply);
	uint64_t messages, rcpts, oldest, *c = w.by_state, ndom, uptime,
	    accepted, notices, txns, rounds, syncs, sync_us;
	uint32_t frozen, n, i, jobs;
	double per_msg;
	int k;

	if (reply->type != CTL_QUEUE_STATS_REPLY)
		return out_not_expected(reply);
	if (wire_qstats_decode(&m, &w) == -1)
		return out_malformed();
	messages = w.messages;
	rcpts = w.recipients;
	frozen = w.frozen;
	oldest = w.oldest;
	n = w.n;
	for (i = 0; i < n; i++) {
		clean(w.dom[i].domain, dom[i].name, sizeof(dom[i].name));
		memcpy(dom[i].c, w.dom[i].by_state, sizeof(dom[i].c));
	}
	ndom = w.ndomains;
	uptime = w.uptime;
	jobs = w.jobs;
	accepted = w.accepted;
	notices = w.notices;
	txns = w.txns;
	rounds = w.rounds;
	syncs = w.syncs;
	sync_us = w.sync_us;
	per_msg = accepted + notices > 0 ? (double)syncs / (double)(accepted +
	    notices) : 0;

	if (json) {
		printf("{\"messages\":%" PRIu64 ",\"recipients\":%" PRIu64
		    ",\"frozen\":%s,\"oldest_age\":%" PRIu64 ",\"by_state\":",
		    messages, rcpts, frozen ? "true" : "false", oldest);
		json_counts(c);
		printf(",\"domains\":[");
		for (i = 0; i < n; i++) {
			printf("%s{\"domain\":", i ? "," : "");
			out_json_str(dom[i].name);
			printf(",\"recipients\":");
			json_counts(dom[i].c);
			putchar('}');
		}
		printf("],\"domains_total\":%" PRIu64 ",\"domains_truncated\":%s",
		    ndom, ndom > n ? "true" : "false");
		printf(",\"uptime\":%" PRIu64 ",\"jobs_in_flight\":%u,\"accepted\":%"
		    PRIu64 ",\"notices\":%" PRIu64 ",\"transactions\":%" PRIu64
		    ",\"sync_rounds\":%" PRIu64 ",\"syncs\":%" PRIu64
		    ",\"sync_us\":%" PRIu64 ",\"syncs_per_message\":%.4f}\n",
		    uptime, jobs, accepted, notices, txns, rounds, syncs, sync_us,
		    per_msg);
		return EXIT_OK;
	}
	printf("messages: %" PRIu64 "\nrecipients: %" PRIu64, messages, rcpts);
	for (k = 0; k < RCPT_STATE_COUNT; k++)
		printf("%s%s %" PRIu64, k ? ", " : " (", state_names[k], c[k]);
	printf(")\nfrozen: %s\noldest message: ", frozen ? "yes" : "no");
	if (messages > 0)
		out_duration(oldest);
	else
		printf("-");
	printf("\njobs in flight: %u\n", jobs);
	if (n > 0) {
		printf("domains (%u of %" PRIu64 "%s):\n", n, ndom,
		    ndom > n ? ", truncated" : "");
		printf("  %-32s %8s %8s %8s %9s %8s\n", "DOMAIN", "QUEUED",
		    "INFLIGHT", "DEFERRED", "DELIVERED", "FAILED");
		for (i = 0; i < n; i++)
			printf("  %-32s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9"
			    PRIu64 " %8" PRIu64 "\n", dom[i].name, dom[i].c[0],
			    dom[i].c[1], dom[i].c[2], dom[i].c[3], dom[i].c[4]);
	}
	printf("since queued started (");
	out_duration(uptime);
	printf("): %" PRIu64 " accepted, %" PRIu64 " notices, %" PRIu64
	    " transactions, %" PRIu64 " sync rounds, %" PRIu64 " syncs "
	    "(%.3f per message, %.2f ms each)\n", accepted, notices, txns, rounds,
	    syncs, per_msg, syncs ? (double)sync_us / 1000.0 / (double)syncs : 0);
	return EXIT_OK;
}
