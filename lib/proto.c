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
	case Q_STATUS_REQ: return "Q_STATUS_REQ";
	case Q_STATUS: return "Q_STATUS";
	case CTL_PING: return "CTL_PING";
	case CTL_PONG: return "CTL_PONG";
	case CTL_STATUS: return "CTL_STATUS";
	case CTL_STATUS_REPLY: return "CTL_STATUS_REPLY";
	case CTL_ERROR: return "CTL_ERROR";
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
