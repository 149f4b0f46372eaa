/* SPDX-License-Identifier: ISC */
/* The control commands, one row each: the type empathctl sends, the name
 * it is audited under, who may ask, the argument its payload carries,
 * the daemon that answers it and the one answer accepted back. A
 * forwarded command goes on under its own type with the payload as it
 * came, once checked, and the answer is relayed under its own type: one
 * number end to end (proto_msgs.h). Adding a command is adding a row
 * here (and, for one ctld answers itself, its function in control.c). */
#include <stdio.h>
#include <string.h>

#include "ctld.h"
#include "util.h"
#include "wire.h"
#include "wire_ctl.h"

static const struct ctl_target queued = {
	PROC_QUEUED, "queued", Q_OP_FAIL,
	"queued did not answer (not running or restarting); try again",
};
static const struct ctl_target deliverd = {
	PROC_DELIVERD, "deliverd", D_DNS_FAIL,
	"deliverd did not answer (not running, restarting, or the lookup took "
	"too long); try again",
};

/* Check a command's payload by its argument, with the codec both ends
 * use: NULL when acceptable, else the client's error; command gets the
 * audit name, with the argument when there is one. */
const char *
ctl_cmd_check(const struct ctl_cmd *cmd, const struct chan_msg *m,
    char *command, size_t len)
{
	struct wire_msgid id;
	struct wire_list_req list;
	struct wire_domain dom;

	strlcpy(command, cmd->name, len);
	switch (cmd->arg) {
	case ARG_NONE:
		return m->len == 0 ? NULL : "malformed request";
	case ARG_ID:
		if (wire_msgid_decode(m, &id) == -1)
			return "invalid message id";
		snprintf(command, len, "%s %s", cmd->name, id.msgid);
		return NULL;
	case ARG_LIST:
		if (wire_list_req_decode(m, &list) == -1)
			return "malformed list request";
		if (list.state != Q_STATE_ANY)
			snprintf(command, len, "%s --status=%s", cmd->name,
			    rcpt_state_name(list.state));
		return NULL;
	case ARG_DOMAIN:
		if (wire_domain_decode(m, &dom) == -1)
			return "not a domain name";
		snprintf(command, len, "%s %.64s", cmd->name, dom.domain);
		return NULL;
	}
	return "malformed request";
}

#define OPEN   true
#define AUTH   false

static const struct ctl_cmd commands[] = {
	/* type               name                  who   argument
	 *     to         answer accepted and relayed   ctld's own (NULL: relay) */
	{ CTL_PING,           "system ping",        OPEN, ARG_NONE,
	  NULL,      CTL_PONG,                cmd_ping },
	{ CTL_STATUS,         "system status",      AUTH, ARG_NONE,
	  &queued,   CTL_STATUS_REPLY,        cmd_status },
	{ CTL_QUEUE_LIST,     "queue list",         AUTH, ARG_LIST,
	  &queued,   CTL_QUEUE_LIST_REPLY,    NULL },
	{ CTL_QUEUE_VIEW,     "queue view",         AUTH, ARG_ID,
	  &queued,   CTL_QUEUE_VIEW_REPLY,    NULL },
	{ CTL_QUEUE_DELETE,   "queue delete",       AUTH, ARG_ID,
	  &queued,   CTL_QUEUE_OK,            NULL },
	{ CTL_QUEUE_RETRY,    "queue retry",        AUTH, ARG_ID,
	  &queued,   CTL_QUEUE_OK,            NULL },
	{ CTL_QUEUE_FREEZE,   "queue freeze",       AUTH, ARG_NONE,
	  &queued,   CTL_QUEUE_OK,            NULL },
	{ CTL_QUEUE_UNFREEZE, "queue unfreeze",     AUTH, ARG_NONE,
	  &queued,   CTL_QUEUE_OK,            NULL },
	{ CTL_QUEUE_PROCESS,  "queue process-now",  AUTH, ARG_NONE,
	  &queued,   CTL_QUEUE_OK,            NULL },
	{ CTL_QUEUE_STATS,    "queue stats",        AUTH, ARG_NONE,
	  &queued,   CTL_QUEUE_STATS_REPLY,   NULL },
	{ CTL_DNS_LIST,       "dns list-cache",     AUTH, ARG_NONE,
	  &deliverd, CTL_DNS_LIST_REPLY,      NULL },
	{ CTL_DNS_CLEAR,      "dns clear-cache",    AUTH, ARG_NONE,
	  &deliverd, CTL_DNS_OK,              NULL },
	{ CTL_DNS_REFRESH,    "dns refresh",        AUTH, ARG_DOMAIN,
	  &deliverd, CTL_DNS_OK,              NULL },
	{ CTL_DNS_OVERRIDES,  "dns list-overrides", AUTH, ARG_NONE,
	  &deliverd, CTL_DNS_OVERRIDES_REPLY, NULL },
	{ CTL_PLUGIN_LIST,    "plugin list",        AUTH, ARG_NONE,
	  NULL,      CTL_PLUGIN_LIST_REPLY,   cmd_plugin_list },
};

const struct ctl_cmd *
ctl_cmd_find(uint16_t type)
{
	size_t i;

	for (i = 0; i < nitems(commands); i++)
		if (commands[i].type == type)
			return &commands[i];
	return NULL;
}
