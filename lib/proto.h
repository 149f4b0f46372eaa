/* Every message type of every channel, in one enum, grouped by channel.
 * Payload layouts are written next to each type: u32/u64 are host-order
 * integers, str is a length-prefixed string (see channel.h). Requests carry
 * an id in peerid; replies echo it. */
#ifndef EMPATH_PROTO_H
#define EMPATH_PROTO_H

#include <stdint.h>

enum proc_id {
	PROC_MASTER = 0,
	PROC_SMTPD,
	PROC_QUEUED,
	PROC_DELIVERD,
	PROC_CTLD,
	PROC_COUNT
};
const char *proc_name(enum proc_id);   /* "smtpd", ... */

enum msg_type {
	MSG_HELLO = 1,            /* u32 CHAN_VERSION; first frame, every channel */

	/* master -> every daemon */
	M_CONFIG = 10,            /* fd: memfd with the configuration text */
	M_LISTEN,                 /* fd: bound socket; u32 kind (LISTEN_*), u32 index */
	M_PEER,                   /* fd: channel to a peer; u32 proc_id of the peer */
	M_START,                  /* setup complete: drop privileges and run */
	M_PROCS,                  /* to ctld: u64 master start (wall s); u32 n; n * (u32 proc, u32 pid, u64 started, u32 restarts) */
	M_READY = 19,             /* daemon -> master: privileges dropped, start() done */

	/* smtpd <-> queued */
	Q_CREATE = 30,            /* smtpd: no payload */
	Q_CREATE_OK,              /* queued: fd = writable incoming file; str msgid */
	Q_CREATE_FAIL,            /* queued: u32 smtp code, str enhanced code + text */
	Q_COMMIT,                 /* smtpd: envelope (envelope.h) */
	Q_COMMIT_OK,              /* queued: str msgid; sent only once durable */
	Q_COMMIT_FAIL,            /* queued: u32 smtp code, str enhanced code + text */
	Q_ROLLBACK,               /* smtpd: str msgid; no reply */

	/* queued <-> deliverd */
	D_JOB = 50,               /* queued: fd = read-only message file; envelope (one domain) */
	D_RESULT,                 /* deliverd: str msgid, u32 n, n * (u64 rcpt id, u32 RCPT_*, str remote host, str diagnostic) */
	D_STATUS_REQ,             /* queued/ctld: no payload */
	D_STATUS,                 /* deliverd: u32 active jobs, u32 active connections */

	/* ctld <-> deliverd: DNS cache and routes */
	D_DNS_LIST_REQ = 60,      /* ctld: no payload */
	D_DNS_LIST,               /* deliverd: u32 nservers, nservers * str server, u32 n, n * (str name, str type,
	                             str status, u32 ttl, u32 seconds left (0: expired), str data), u32 more */
	D_DNS_CLEAR_REQ,          /* ctld: no payload */
	D_DNS_REFRESH_REQ,        /* ctld: str domain; answered once the new lookup is done */
	D_DNS_OVERRIDES_REQ,      /* ctld: no payload */
	D_DNS_OVERRIDES,          /* deliverd: u32 n, n * (str domain ("*": the smarthost), str relay host, u32 port,
	                             str tls policy ("": the global one), str rate ("": none)) */
	D_DNS_OK,                 /* deliverd: u64 count (entries dropped), str text (refresh: the new route) */
	D_DNS_FAIL,               /* deliverd: str message */

	/* ctld <-> queued */
	Q_STATUS_REQ = 70,        /* ctld: no payload */
	Q_STATUS,                 /* queued: u64 messages, u64 recipients, u32 n, n * (u32 RCPT_*, u64 count) */

	/* ctld <-> queued: queue operations. ids are ULIDs, checked
	 * by both ends; "counts" is u32 n (= RCPT_STATE_COUNT), n * u64, the
	 * recipients in each RCPT_* state. */
	Q_LIST_REQ = 80,          /* ctld: u32 state (RCPT_* or Q_STATE_ANY), str after (id or ""), u32 limit (1..Q_LIST_MAX) */
	Q_LIST,                   /* queued: u32 n, n * (str id, str sender, u64 size, u64 created, u64 next attempt (0: none), counts), u32 more */
	Q_VIEW_REQ,               /* ctld: str id */
	Q_VIEW,                   /* queued: str id, str sender, str helo, str client addr, str client name, str body, str envid,
	                             u32 ret, u32 smtputf8, u64 size, u64 created, u32 n, n * (u64 rcpt id, str addr, str orcpt,
	                             u32 notify, u32 state, u32 attempts, u64 next attempt, u64 last attempt (0: none),
	                             str last error, str last host), u32 more recipients, str headers, u32 headers cut */
	Q_DELETE_REQ,             /* ctld: str id */
	Q_RETRY_REQ,              /* ctld: str id */
	Q_FREEZE_REQ,             /* ctld: no payload */
	Q_UNFREEZE_REQ,           /* ctld: no payload */
	Q_PROCESS_REQ,            /* ctld: no payload (every queued/deferred recipient due now) */
	Q_STATS_REQ,              /* ctld: no payload */
	Q_STATS,                  /* queued: u64 messages, u64 recipients, u32 frozen, u64 oldest age s, counts,
	                             u32 n, n * (str domain, counts), u64 domains in all, u64 uptime s, u32 jobs in flight,
	                             u64 accepted, u64 notices, u64 transactions, u64 sync rounds, u64 syncs, u64 sync us */
	Q_OP_OK,                  /* queued: u64 count affected, str text */
	Q_OP_FAIL,                /* queued: u32 Q_ERR_*, str text */

	/* empathctl <-> ctld (control socket) */
	CTL_PING = 100,           /* no payload */
	CTL_PONG,                 /* str version */
	CTL_STATUS,               /* no payload */
	CTL_STATUS_REPLY,         /* str version, u64 uptime s, u64 queue messages, u64 queue recipients,
	                             u32 n, n * (str proc, u32 pid, u32 running, u32 restarts) */
	CTL_ERROR,                /* str message */
	CTL_AUTH,                 /* str token (1..CTL_TOKEN_MAX octets); peerid 0, no answer: it
	                             authenticates the commands that follow on this connection */

	/* empathctl <-> ctld: queue commands; ctld checks the
	 * request, forwards it to queued (Q_*_REQ, same payload) and relays
	 * the answer under the CTL_ type, same payload; failures come back as
	 * CTL_ERROR. */
	CTL_QUEUE_LIST = 110,     /* as Q_LIST_REQ */
	CTL_QUEUE_LIST_REPLY,     /* as Q_LIST */
	CTL_QUEUE_VIEW,           /* as Q_VIEW_REQ */
	CTL_QUEUE_VIEW_REPLY,     /* as Q_VIEW */
	CTL_QUEUE_DELETE,         /* str id */
	CTL_QUEUE_RETRY,          /* str id */
	CTL_QUEUE_FREEZE,         /* no payload */
	CTL_QUEUE_UNFREEZE,       /* no payload */
	CTL_QUEUE_PROCESS,        /* no payload */
	CTL_QUEUE_OK,             /* as Q_OP_OK */
	CTL_QUEUE_STATS,          /* no payload */
	CTL_QUEUE_STATS_REPLY,    /* as Q_STATS */

	/* empathctl <-> ctld: DNS commands, forwarded to deliverd
	 * as the D_DNS_* request of the same payload; the answer comes back
	 * under the CTL_ type, same payload; failures as CTL_ERROR. */
	CTL_DNS_LIST = 130,       /* as D_DNS_LIST_REQ */
	CTL_DNS_LIST_REPLY,       /* as D_DNS_LIST */
	CTL_DNS_CLEAR,            /* as D_DNS_CLEAR_REQ */
	CTL_DNS_REFRESH,          /* as D_DNS_REFRESH_REQ */
	CTL_DNS_OVERRIDES,        /* as D_DNS_OVERRIDES_REQ */
	CTL_DNS_OVERRIDES_REPLY,  /* as D_DNS_OVERRIDES */
	CTL_DNS_OK,               /* as D_DNS_OK */

	MSG_TYPE_MAX
};
const char *msg_name(uint16_t type);

enum listen_kind { LISTEN_SMTP = 1, LISTEN_CONTROL, LISTEN_HEALTH };

/* Recipient states, as stored in the queue and reported by deliverd. */
enum rcpt_state {
	RCPT_QUEUED = 0,
	RCPT_INFLIGHT,
	RCPT_DEFERRED,
	RCPT_DELIVERED,
	RCPT_FAILED,
	RCPT_STATE_COUNT
};
/* deliverd's result for one recipient: RCPT_DELIVERED, RCPT_DEFERRED
 * (temporary failure) or RCPT_FAILED (permanent). */
const char *rcpt_state_name(uint32_t);

/* CTL_AUTH: the longest token a client may present. */
#define CTL_TOKEN_MAX 256

/* CTL_STATUS_REPLY: the queue counts when queued did not answer (down,
 * restarting, or later than ctld's deadline). */
#define CTL_COUNT_UNKNOWN UINT64_MAX

/* D_RESULT: a recipient deliverd held back by its own flow
 * control (a rate limit, an open circuit breaker, shutting down) without
 * trying it. Not an attempt: queued makes it due again after the delay,
 * without counting an attempt. The u32 state field is then
 * RCPT_POSTPONED | delay in seconds << RCPT_POSTPONE_SHIFT (0: at once). */
#define RCPT_POSTPONED        0x10u
#define RCPT_POSTPONE_SHIFT   16
#define RCPT_POSTPONE_MASK    0xffffu
/* D_RESULT: with RCPT_DELIVERED, the next hop offered DSN and was given
 * this recipient's NOTIFY and ORCPT (RFC 3461 5.2): notices are now its
 * business, so queued sends no "relayed" one. */
#define RCPT_DSN_PASSED       0x20u
#define D_DNS_LIST_MAX        2000      /* entries per D_DNS_LIST */

/* Queue operations (Q_LIST_REQ ...). */
#define Q_STATE_ANY     UINT32_MAX     /* list: any state */
#define Q_LIST_MAX      1000           /* messages per Q_LIST */
#define Q_VIEW_RCPTS    1000           /* recipients per Q_VIEW */
#define Q_VIEW_HEADERS  (64 * 1024)    /* header octets per Q_VIEW */
#define Q_STATS_DOMAINS 100            /* domain rows per Q_STATS */
enum q_err { Q_ERR_NOTFOUND = 1, Q_ERR_BADREQ, Q_ERR_INTERNAL };

#endif
