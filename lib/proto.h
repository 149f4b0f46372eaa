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

	/* ctld <-> queued */
	Q_STATUS_REQ = 70,        /* ctld: no payload */
	Q_STATUS,                 /* queued: u64 messages, u64 recipients, u32 n, n * (u32 RCPT_*, u64 count) */

	/* empathctl <-> ctld (control socket) */
	CTL_PING = 100,           /* no payload */
	CTL_PONG,                 /* str version */
	CTL_STATUS,               /* no payload */
	CTL_STATUS_REPLY,         /* str version, u64 uptime s, u64 queue messages, u64 queue recipients,
	                             u32 n, n * (str proc, u32 pid, u32 running, u32 restarts) */
	CTL_ERROR,                /* str message */

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

/* CTL_STATUS_REPLY: the queue counts when queued did not answer (down,
 * restarting, or later than ctld's deadline). */
#define CTL_COUNT_UNKNOWN UINT64_MAX

#endif
