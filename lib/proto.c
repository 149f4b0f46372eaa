/* Names of processes, message types and recipient states, for logs. */
#include <stdio.h>

#include "proto.h"

const char *
proc_name(enum proc_id id)
{
	static const char *names[PROC_COUNT] = {
		[PROC_MASTER] = "master", [PROC_SMTPD] = "smtpd",
		[PROC_QUEUED] = "queued", [PROC_DELIVERD] = "deliverd",
		[PROC_CTLD] = "ctld",
	};

	return (unsigned)id < PROC_COUNT ? names[id] : "unknown";
}

const char *
msg_name(uint16_t type)
{
	static char buf[32];

	switch (type) {
	case MSG_HELLO: return "HELLO";
	case M_CONFIG: return "M_CONFIG";
	case M_LISTEN: return "M_LISTEN";
	case M_PEER: return "M_PEER";
	case M_START: return "M_START";
	case M_PROCS: return "M_PROCS";
	case M_READY: return "M_READY";
	case Q_CREATE: return "Q_CREATE";
	case Q_CREATE_OK: return "Q_CREATE_OK";
	case Q_CREATE_FAIL: return "Q_CREATE_FAIL";
	case Q_COMMIT: return "Q_COMMIT";
	case Q_COMMIT_OK: return "Q_COMMIT_OK";
	case Q_COMMIT_FAIL: return "Q_COMMIT_FAIL";
	case Q_ROLLBACK: return "Q_ROLLBACK";
	case D_JOB: return "D_JOB";
	case D_RESULT: return "D_RESULT";
	case D_STATUS_REQ: return "D_STATUS_REQ";
	case D_STATUS: return "D_STATUS";
	case D_DNS_LIST_REQ: return "D_DNS_LIST_REQ";
	case D_DNS_LIST: return "D_DNS_LIST";
	case D_DNS_CLEAR_REQ: return "D_DNS_CLEAR_REQ";
	case D_DNS_REFRESH_REQ: return "D_DNS_REFRESH_REQ";
	case D_DNS_OVERRIDES_REQ: return "D_DNS_OVERRIDES_REQ";
	case D_DNS_OVERRIDES: return "D_DNS_OVERRIDES";
	case D_DNS_OK: return "D_DNS_OK";
	case D_DNS_FAIL: return "D_DNS_FAIL";
	case Q_STATUS_REQ: return "Q_STATUS_REQ";
	case Q_STATUS: return "Q_STATUS";
	case Q_LIST_REQ: return "Q_LIST_REQ";
	case Q_LIST: return "Q_LIST";
	case Q_VIEW_REQ: return "Q_VIEW_REQ";
	case Q_VIEW: return "Q_VIEW";
	case Q_DELETE_REQ: return "Q_DELETE_REQ";
	case Q_RETRY_REQ: return "Q_RETRY_REQ";
	case Q_FREEZE_REQ: return "Q_FREEZE_REQ";
	case Q_UNFREEZE_REQ: return "Q_UNFREEZE_REQ";
	case Q_PROCESS_REQ: return "Q_PROCESS_REQ";
	case Q_STATS_REQ: return "Q_STATS_REQ";
	case Q_STATS: return "Q_STATS";
	case Q_OP_OK: return "Q_OP_OK";
	case Q_OP_FAIL: return "Q_OP_FAIL";
	case CTL_PING: return "CTL_PING";
	case CTL_PONG: return "CTL_PONG";
	case CTL_STATUS: return "CTL_STATUS";
	case CTL_STATUS_REPLY: return "CTL_STATUS_REPLY";
	case CTL_ERROR: return "CTL_ERROR";
	case CTL_AUTH: return "CTL_AUTH";
	case CTL_QUEUE_LIST: return "CTL_QUEUE_LIST";
	case CTL_QUEUE_LIST_REPLY: return "CTL_QUEUE_LIST_REPLY";
	case CTL_QUEUE_VIEW: return "CTL_QUEUE_VIEW";
	case CTL_QUEUE_VIEW_REPLY: return "CTL_QUEUE_VIEW_REPLY";
	case CTL_QUEUE_DELETE: return "CTL_QUEUE_DELETE";
	case CTL_QUEUE_RETRY: return "CTL_QUEUE_RETRY";
	case CTL_QUEUE_FREEZE: return "CTL_QUEUE_FREEZE";
	case CTL_QUEUE_UNFREEZE: return "CTL_QUEUE_UNFREEZE";
	case CTL_QUEUE_PROCESS: return "CTL_QUEUE_PROCESS";
	case CTL_QUEUE_OK: return "CTL_QUEUE_OK";
	case CTL_QUEUE_STATS: return "CTL_QUEUE_STATS";
	case CTL_QUEUE_STATS_REPLY: return "CTL_QUEUE_STATS_REPLY";
	case CTL_DNS_LIST: return "CTL_DNS_LIST";
	case CTL_DNS_LIST_REPLY: return "CTL_DNS_LIST_REPLY";
	case CTL_DNS_CLEAR: return "CTL_DNS_CLEAR";
	case CTL_DNS_REFRESH: return "CTL_DNS_REFRESH";
	case CTL_DNS_OVERRIDES: return "CTL_DNS_OVERRIDES";
	case CTL_DNS_OVERRIDES_REPLY: return "CTL_DNS_OVERRIDES_REPLY";
	case CTL_DNS_OK: return "CTL_DNS_OK";
	}
	snprintf(buf, sizeof(buf), "type %u", type);
	return buf;
}

const char *
rcpt_state_name(uint32_t s)
{
	static const char *names[RCPT_STATE_COUNT] = {
		[RCPT_QUEUED] = "queued", [RCPT_INFLIGHT] = "inflight",
		[RCPT_DEFERRED] = "deferred", [RCPT_DELIVERED] = "delivered",
		[RCPT_FAILED] = "failed",
	};

	return s < RCPT_STATE_COUNT ? names[s] : "unknown";
}
