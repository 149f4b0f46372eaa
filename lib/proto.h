/* SPDX-License-Identifier: ISC */
/* Every message type of every channel, in one enum generated from the
 * table in proto_msgs.h (payload layouts are written there). */
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
#define MSG(name, value, str) name = value,
#include "proto_msgs.h"
#undef MSG
	MSG_TYPE_MAX
};
const char *msg_name(uint16_t type);

enum listen_kind { LISTEN_SMTP = 1, LISTEN_CONTROL, LISTEN_HEALTH,
	LISTEN_SUBMIT };                   /* local submission (AF_UNIX) */

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
#define D_DNS_LIST_MAX        2000      /* entries per CTL_DNS_LIST_REPLY */

/* Queue commands (CTL_QUEUE_LIST ...). */
#define Q_STATE_ANY     UINT32_MAX     /* list: any state */
#define Q_LIST_MAX      1000           /* messages per CTL_QUEUE_LIST_REPLY */
#define Q_VIEW_RCPTS    1000           /* recipients per CTL_QUEUE_VIEW_REPLY */
#define Q_VIEW_HEADERS  (64 * 1024)    /* header octets per CTL_QUEUE_VIEW_REPLY */
#define Q_STATS_DOMAINS 100            /* domain rows per CTL_QUEUE_STATS_REPLY */
enum q_err { Q_ERR_NOTFOUND = 1, Q_ERR_BADREQ, Q_ERR_INTERNAL };

#endif
