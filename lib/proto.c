/* SPDX-License-Identifier: ISC */
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

	/* A value listed twice in the table would be a duplicate case. */
	switch (type) {
#define MSG(name, value, str) case name: return str;
#include "proto_msgs.h"
#undef MSG
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
