/* SPDX-License-Identifier: ISC */
/* The control commands, one row each: the type empathctl sends, the name
 * it is audited under, who may ask, how its payload is checked, the
 * daemon that answers it, the request forwarded there, the one answer
 * accepted back and the type it is relayed under. Adding a command is
 * adding a row here (and, for one ctld answers itself, its function in
 * control.c). A checked payload is forwarded as it came: the request
 * types carry the same payload as the CTL_ types (proto.h). */
#include <stdio.h>
#include <string.h>

#include "ctld.h"
#include "ulid.h"
#include "util.h"

static const struct ctl_target queued = {
	PROC_QUEUED, "queued", Q_OP_FAIL, true,
	"queued did not answer (not running or restarting); try again",
};
static const struct ctl_target deliverd = {
	PROC_DELIVERD, "deliverd", D_DNS_FAIL, false,
	"deliverd did not answer (not running, restarting, or the lookup took "
	"too long); try again",
};

/* ---- payload checks: NULL when acceptable, else the client's error;
 * command gets the audit name, with the argument when there is one ---- */

static const char *
check_none(const struct chan_msg *m, const char *name, char *command,
    size_t len)
{
	strlcpy(command, name, len);
	return m->len == 0 ? NULL : "malformed request";
}

/* str id: a ULID */
static const char *
check_id(const struct chan_msg *m, const char *name, char *command, size_t len)
{
	struct msgreader mr;
	const char *id;

	strlcpy(command, name, len);
	mr_init(&mr, m);
	id = mr_str(&mr);
	if (!mr_done(&mr))
		return "malformed request";
	if (!ulid_valid(id))
		return "invalid message id";
	snprintf(command, len, "%s %s", name, id);
	return NULL;
}

/* u32 state, str after, u32 limit: as Q_LIST_REQ */
static const char *
check_list(const struct chan_msg *m, const char *name, char *command,
    size_t len)
{
	struct msgreader mr;
	const char *after;
	uint32_t state, limit;

	strlcpy(command, name, len);
	mr_init(&mr, m);
	state = mr_u32(&mr);
	after = mr_str(&mr);
	limit = mr_u32(&mr);
	if (!mr_done(&mr))
		return "malformed request";
	if (state != Q_STATE_ANY && state >= RCPT_STATE_COUNT)
		return "unknown state";
	if (after[0] != '\0' && !ulid_valid(after))
		return "invalid message id";
	if (limit == 0 || limit > Q_LIST_MAX)
		return "limit out of range";
	if (state != Q_STATE_ANY)
		snprintf(command, len, "%s --status=%s", name,
		    rcpt_state_name(state));
	return NULL;
}

/* str domain: letters, digits, '-', '_' and dots, 1 to 253 characters */
static const char *
check_domain(const struct chan_msg *m, const char *name, char *command,
    size_t len)
{
	struct msgreader mr;
	const char *d;
	size_t n, i;

	strlcpy(command, name, len);
	mr_init(&mr, m);
	d = mr_str(&mr);
	n = strlen(d);
	if (!mr_done(&mr) || n == 0 || n > 253 || d[0] == '.')
		return "not a domain name";
	for (i = 0; i < n; i++) {
		char c = d[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return "not a domain name";
	}
	snprintf(command, len, "%s %.64s", name, d);
	return NULL;
}

#define LOCAL  NULL, 0, 0, 0
#define OPEN   true
#define AUTH   false

static const struct ctl_cmd commands[] = {
	/* type               name                  who   check
	 *     to         request               answer           relayed as
	 *     ctld's own function (NULL: relay) */
	{ CTL_PING,           "system ping",        OPEN, check_none,
	  LOCAL, cmd_ping },
	{ CTL_STATUS,         "system status",      AUTH, check_none,
	  &queued,   Q_STATUS_REQ,        Q_STATUS,        CTL_STATUS_REPLY,
	  cmd_status },
	{ CTL_QUEUE_LIST,     "queue list",         AUTH, check_list,
	  &queued,   Q_LIST_REQ,          Q_LIST,          CTL_QUEUE_LIST_REPLY,
	  NULL },
	{ CTL_QUEUE_VIEW,     "queue view",         AUTH, check_id,
	  &queued,   Q_VIEW_REQ,          Q_VIEW,          CTL_QUEUE_VIEW_REPLY,
	  NULL },
	{ CTL_QUEUE_DELETE,   "queue delete",       AUTH, check_id,
	  &queued,   Q_DELETE_REQ,        Q_OP_OK,         CTL_QUEUE_OK, NULL },
	{ CTL_QUEUE_RETRY,    "queue retry",        AUTH, check_id,
	  &queued,   Q_RETRY_REQ,         Q_OP_OK,         CTL_QUEUE_OK, NULL },
	{ CTL_QUEUE_FREEZE,   "queue freeze",       AUTH, check_none,
	  &queued,   Q_FREEZE_REQ,        Q_OP_OK,         CTL_QUEUE_OK, NULL },
	{ CTL_QUEUE_UNFREEZE, "queue unfreeze",     AUTH, check_none,
	  &queued,   Q_UNFREEZE_REQ,      Q_OP_OK,         CTL_QUEUE_OK, NULL },
	{ CTL_QUEUE_PROCESS,  "queue process-now",  AUTH, check_none,
	  &queued,   Q_PROCESS_REQ,       Q_OP_OK,         CTL_QUEUE_OK, NULL },
	{ CTL_QUEUE_STATS,    "queue stats",        AUTH, check_none,
	  &queued,   Q_STATS_REQ,         Q_STATS,         CTL_QUEUE_STATS_REPLY,
	  NULL },
	{ CTL_DNS_LIST,       "dns list-cache",     AUTH, check_none,
	  &deliverd, D_DNS_LIST_REQ,      D_DNS_LIST,      CTL_DNS_LIST_REPLY,
	  NULL },
	{ CTL_DNS_CLEAR,      "dns clear-cache",    AUTH, check_none,
	  &deliverd, D_DNS_CLEAR_REQ,     D_DNS_OK,        CTL_DNS_OK, NULL },
	{ CTL_DNS_REFRESH,    "dns refresh",        AUTH, check_domain,
	  &deliverd, D_DNS_REFRESH_REQ,   D_DNS_OK,        CTL_DNS_OK, NULL },
	{ CTL_DNS_OVERRIDES,  "dns list-overrides", AUTH, check_none,
	  &deliverd, D_DNS_OVERRIDES_REQ, D_DNS_OVERRIDES, CTL_DNS_OVERRIDES_REPLY,
	  NULL },
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
