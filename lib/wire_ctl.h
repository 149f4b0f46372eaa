/* SPDX-License-Identifier: ISC */
/* Typed codecs of the control path (layouts in proto_msgs.h): empathctl
 * <-> ctld, and ctld <-> queued / deliverd, which speak the same CTL_
 * types. Conventions as in wire.h: encoders return -1 on a value the
 * decoder would refuse; decoders take the whole payload and return -1 on
 * a short payload, trailing bytes, or a length, count or enum out of
 * range. Decoded strings point into the message; lists are bounded by
 * the maxima below before anything is allocated, and an allocated list
 * is released by its _free function (also after a failed decode).
 * The one-id requests (CTL_QUEUE_VIEW, _DELETE, _RETRY) use wire_msgid
 * (wire.h). */
#ifndef EMPATH_WIRE_CTL_H
#define EMPATH_WIRE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "envelope.h"
#include "proto.h"

#define WIRE_TEXT_MAX      4096    /* one message or answer text */
#define WIRE_STR_MAX       1024    /* one field of a listed row */
#define WIRE_STATUS_ROWS   64      /* CTL_STATUS_REPLY processes */
#define WIRE_DNS_SERVERS   16      /* D_DNS servers listed */
#define WIRE_OVERRIDES_MAX 10000   /* CTL_DNS_OVERRIDES_REPLY rows */
#define WIRE_DOMAIN_MAX    253

/* CTL_PONG (version), CTL_ERROR, D_DNS_FAIL: str text, 1..WIRE_TEXT_MAX
 * octets. */
struct wire_text {
	const char *text;
};
int wire_text_encode(struct msgbuf *, const struct wire_text *);
int wire_text_decode(const struct chan_msg *, struct wire_text *);

/* CTL_AUTH: str token, 1..CTL_TOKEN_MAX octets. */
struct wire_auth {
	const char *token;
};
int wire_auth_encode(struct msgbuf *, const struct wire_auth *);
int wire_auth_decode(const struct chan_msg *, struct wire_auth *);

/* CTL_QUEUE_OK, CTL_DNS_OK: u64 count, str text (0..WIRE_TEXT_MAX). */
struct wire_ok {
	uint64_t    count;
	const char *text;
};
int wire_ok_encode(struct msgbuf *, const struct wire_ok *);
int wire_ok_decode(const struct chan_msg *, struct wire_ok *);

/* Q_OP_FAIL: u32 Q_ERR_*, str text (1..WIRE_TEXT_MAX). */
struct wire_opfail {
	uint32_t    code;
	const char *text;
};
int wire_opfail_encode(struct msgbuf *, const struct wire_opfail *);
int wire_opfail_decode(const struct chan_msg *, struct wire_opfail *);

/* CTL_QUEUE_LIST: u32 state (RCPT_* or Q_STATE_ANY), str after (a ULID
 * or ""), u32 limit (1..Q_LIST_MAX). */
struct wire_list_req {
	uint32_t state;
	char     after[ULID_LEN + 1];
	uint32_t limit;
};
int wire_list_req_encode(struct msgbuf *, const struct wire_list_req *);
int wire_list_req_decode(const struct chan_msg *, struct wire_list_req *);

/* CTL_DNS_REFRESH: str domain, 1..253 octets of letters, digits, '-',
 * '_' and dots, not starting with a dot. */
struct wire_domain {
	char domain[WIRE_DOMAIN_MAX + 1];
};
bool wire_domain_valid(const char *);
int wire_domain_encode(struct msgbuf *, const struct wire_domain *);
int wire_domain_decode(const struct chan_msg *, struct wire_domain *);

/* Q_STATUS: u64 messages, u64 recipients, u32 n (<= RCPT_STATE_COUNT),
 * n * (u32 RCPT_*, u64 count). */
struct wire_qstatus {
	uint64_t messages, recipients;
	uint32_t n;
	struct { uint32_t state; uint64_t count; } row[RCPT_STATE_COUNT];
};
int wire_qstatus_encode(struct msgbuf *, const struct wire_qstatus *);
int wire_qstatus_decode(const struct chan_msg *, struct wire_qstatus *);

/* CTL_STATUS_REPLY: str version, u64 uptime, u64 messages, u64
 * recipients, u32 n (<= WIRE_STATUS_ROWS), n * (str proc, u32 pid, u32
 * running (0/1), u32 restarts). */
struct wire_status_row {
	const char *name;
	uint32_t    pid, running, restarts;
};
struct wire_ctl_status {
	const char *version;
	uint64_t    uptime, messages, recipients;
	uint32_t    n;
	struct wire_status_row row[WIRE_STATUS_ROWS];
};
int wire_ctl_status_encode(struct msgbuf *, const struct wire_ctl_status *);
int wire_ctl_status_decode(const struct chan_msg *, struct wire_ctl_status *);

/* "counts": u32 n (= RCPT_STATE_COUNT), n * u64. */
typedef uint64_t wire_counts[RCPT_STATE_COUNT];

/* CTL_QUEUE_LIST_REPLY: u32 n (<= Q_LIST_MAX), n * (str id (ULID), str
 * sender, u64 size, u64 created, u64 next attempt, counts), u32 more. */
struct wire_qlist_row {
	const char *id, *sender;
	uint64_t    size, created, next;
	wire_counts by_state;
};
struct wire_qlist {
	uint32_t n, more;
	struct wire_qlist_row *row;   /* decode: allocated */
};
int wire_qlist_encode(struct msgbuf *, const struct wire_qlist *);
int wire_qlist_decode(const struct chan_msg *, struct wire_qlist *);
void wire_qlist_free(struct wire_qlist *);

/* CTL_QUEUE_VIEW_REPLY: see proto_msgs.h; n <= Q_VIEW_RCPTS, state <
 * RCPT_STATE_COUNT, headers <= Q_VIEW_HEADERS octets. */
struct wire_qview_rcpt {
	uint64_t    id;
	const char *addr, *orcpt;
	uint32_t    notify, state, attempts;
	uint64_t    next, last;
	const char *error, *host;
};
struct wire_qview {
	const char *id, *sender, *helo, *client_addr, *client_name, *body,
	           *envid;
	uint32_t    ret, smtputf8;
	uint64_t    size, created;
	uint32_t    n, more;
	struct wire_qview_rcpt *rcpt;  /* decode: allocated */
	const char *headers;
	uint32_t    headers_cut;
};
int wire_qview_encode(struct msgbuf *, const struct wire_qview *);
int wire_qview_decode(const struct chan_msg *, struct wire_qview *);
void wire_qview_free(struct wire_qview *);

/* CTL_QUEUE_STATS_REPLY: see proto_msgs.h; n <= Q_STATS_DOMAINS. */
struct wire_qstats_dom {
	const char *domain;
	wire_counts by_state;
};
struct wire_qstats {
	uint64_t    messages, recipients;
	uint32_t    frozen;
	uint64_t    oldest;
	wire_counts by_state;
	uint32_t    n;
	struct wire_qstats_dom dom[Q_STATS_DOMAINS];
	uint64_t    ndomains, uptime;
	uint32_t    jobs;
	uint64_t    accepted, notices, txns, rounds, syncs, sync_us;
};
int wire_qstats_encode(struct msgbuf *, const struct wire_qstats *);
int wire_qstats_decode(const struct chan_msg *, struct wire_qstats *);

/* CTL_DNS_LIST_REPLY: u32 ns (<= WIRE_DNS_SERVERS), ns * str server, u32
 * n (<= D_DNS_LIST_MAX), n * (str name, str type, str status, u32 ttl,
 * u32 left, str data), u32 more. */
struct wire_dns_entry {
	const char *name, *type, *status;
	uint32_t    ttl, left;
	const char *data;
};
struct wire_dns_list {
	uint32_t    ns;
	const char *server[WIRE_DNS_SERVERS];
	uint32_t    n, more;
	struct wire_dns_entry *e;      /* decode: allocated */
};
int wire_dns_list_encode(struct msgbuf *, const struct wire_dns_list *);
int wire_dns_list_decode(const struct chan_msg *, struct wire_dns_list *);
void wire_dns_list_free(struct wire_dns_list *);

/* CTL_DNS_OVERRIDES_REPLY: u32 n (<= WIRE_OVERRIDES_MAX), n * (str
 * domain, str relay, u32 port (<= 65535), str tls, str rate). */
struct wire_override {
	const char *domain, *relay;
	uint32_t    port;
	const char *tls, *rate;
};
struct wire_overrides {
	uint32_t n;
	struct wire_override *o;       /* decode: allocated */
};
int wire_overrides_encode(struct msgbuf *, const struct wire_overrides *);
int wire_overrides_decode(const struct chan_msg *, struct wire_overrides *);
void wire_overrides_free(struct wire_overrides *);

/* Any message type of proto_msgs.h: decode the payload m carries as type
 * and, with out non-NULL, encode the decoded value into it again (the
 * envelope types are only decoded). 0: accepted; -1: refused; -2: the
 * type has no codec here (a table entry without one is a bug). Used by
 * the tests and the fuzzer to reach every codec from the table. */
int wire_recode(uint16_t type, const struct chan_msg *m, struct msgbuf *out);

/* Plugin supervision. A name is a configured plugin's name
 * (config_plugin_name_ok()), a version 0..WIRE_PLUGIN_VERSION_MAX octets,
 * disabled 0 or 1, a daemon name 1..15 lowercase letters. */
#define WIRE_PLUGINS_MAX        64   /* plugins of one daemon */
#define WIRE_PLUGIN_ROWS        (3 * WIRE_PLUGINS_MAX)
#define WIRE_PLUGIN_VERSION_MAX 255

/* M_PLUGINS_DISABLED (the crash page is its fd): u32 n (<=
 * WIRE_PLUGINS_MAX), n * str name. */
struct wire_plugins_off {
	uint32_t    n;
	const char *name[WIRE_PLUGINS_MAX];
};
int wire_plugins_off_encode(struct msgbuf *, const struct wire_plugins_off *);
int wire_plugins_off_decode(const struct chan_msg *, struct wire_plugins_off *);

struct wire_plugin_row {
	const char *daemon;             /* CTL_PLUGIN_LIST_REPLY only */
	const char *name, *version;
	uint32_t    disabled;
	uint64_t    hooks, events, slow;
};
/* M_PLUGINS: u32 proc (< PROC_COUNT), u32 n (<= WIRE_PLUGINS_MAX), n *
 * (str name, str version, u32 disabled, u64 hooks, u64 events, u64 slow). */
struct wire_plugins {
	uint32_t proc, n;
	struct wire_plugin_row row[WIRE_PLUGINS_MAX];
};
int wire_plugins_encode(struct msgbuf *, const struct wire_plugins *);
int wire_plugins_decode(const struct chan_msg *, struct wire_plugins *);
/* CTL_PLUGIN_LIST_REPLY: u32 n (<= WIRE_PLUGIN_ROWS), n * (str daemon,
 * then a row of M_PLUGINS). */
struct wire_plugin_list {
	uint32_t n;
	struct wire_plugin_row row[WIRE_PLUGIN_ROWS];
};
int wire_plugin_list_encode(struct msgbuf *, const struct wire_plugin_list *);
int wire_plugin_list_decode(const struct chan_msg *, struct wire_plugin_list *);

#endif
