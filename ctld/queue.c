/* `empathctl queue ...`: ctld checks each request (ids must be ULIDs,
 * limits in range, no stray payload), forwards it to queued with a
 * request id and a deadline, and relays queued's answer unchanged under
 * the CTL_ type. Every command leaves one audit line naming the message
 * it was about. */
#include <stdio.h>
#include <string.h>

#include "ctld.h"
#include "log.h"
#include "ulid.h"
#include "util.h"

enum arg_kind { ARG_NONE, ARG_ID, ARG_LIST };

struct qcmd {
	const char   *name;           /* as in control.c's table */
	uint16_t      ctl;            /* request from empathctl */
	uint16_t      req;            /* to queued */
	uint16_t      answer;         /* expected from queued */
	uint16_t      reply;          /* to empathctl */
	enum arg_kind arg;
};

static const struct qcmd qcmds[] = {
	{ "queue list",  CTL_QUEUE_LIST,  Q_LIST_REQ, Q_LIST, CTL_QUEUE_LIST_REPLY,
	  ARG_LIST },
	{ "queue view",  CTL_QUEUE_VIEW,  Q_VIEW_REQ, Q_VIEW, CTL_QUEUE_VIEW_REPLY,
	  ARG_ID },
	{ "queue delete", CTL_QUEUE_DELETE, Q_DELETE_REQ, Q_OP_OK, CTL_QUEUE_OK,
	  ARG_ID },
	{ "queue retry", CTL_QUEUE_RETRY, Q_RETRY_REQ, Q_OP_OK, CTL_QUEUE_OK,
	  ARG_ID },
	{ "queue freeze", CTL_QUEUE_FREEZE, Q_FREEZE_REQ, Q_OP_OK, CTL_QUEUE_OK,
	  ARG_NONE },
	{ "queue unfreeze", CTL_QUEUE_UNFREEZE, Q_UNFREEZE_REQ, Q_OP_OK,
	  CTL_QUEUE_OK, ARG_NONE },
	{ "queue process-now", CTL_QUEUE_PROCESS, Q_PROCESS_REQ, Q_OP_OK,
	  CTL_QUEUE_OK, ARG_NONE },
	{ "queue stats", CTL_QUEUE_STATS, Q_STATS_REQ, Q_STATS,
	  CTL_QUEUE_STATS_REPLY, ARG_NONE },
};

static const struct qcmd *
qcmd_find(uint16_t ctl)
{
	size_t i;

	for (i = 0; i < nitems(qcmds); i++)
		if (qcmds[i].ctl == ctl)
			return &qcmds[i];
	return NULL;
}

/* Check a request; *command gets the audit name with its argument. NULL
 * when it is acceptable, else the error for the client. */
static const char *
check(const struct qcmd *q, const struct chan_msg *m, const char *name,
    char *command, size_t len)
{
	struct msgreader mr;
	const char *id, *after;
	uint32_t state, limit;

	strlcpy(command, name, len);
	mr_init(&mr, m);
	switch (q->arg) {
	case ARG_NONE:
		return m->len == 0 ? NULL : "malformed request";
	case ARG_ID:
		id = mr_str(&mr);
		if (!mr_done(&mr))
			return "malformed request";
		if (!ulid_valid(id))
			return "invalid message id";
		snprintf(command, len, "%s %s", name, id);
		return NULL;
	case ARG_LIST:
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
	return "malformed request";
}

static void
answer(struct ctl_client *c, uint32_t peerid, const char *command,
    const struct chan_msg *reply)
{
	const struct qcmd *q = NULL;
	struct msgreader mr;
	char text[256], clean[256];
	uint32_t code;
	size_t i;

	/* The audit name ("queue view ID") tells which command this was. */
	for (i = 0; i < nitems(qcmds); i++) {
		size_t n = strlen(qcmds[i].name);

		if (strncmp(command, qcmds[i].name, n) == 0 &&
		    (command[n] == '\0' || command[n] == ' '))
			q = &qcmds[i];
	}
	if (reply == NULL) {
		ctl_error(c, peerid, "queued did not answer (not running or "
		    "restarting); try again");
		ctl_audit(c, command, "unavailable");
		return;
	}
	if (q != NULL && reply->type == q->answer) {
		ctl_send(c, q->reply, peerid, reply->data, reply->len);
		ctl_audit(c, command, "ok");
		return;
	}
	if (reply->type == Q_OP_FAIL) {
		mr_init(&mr, reply);
		code = mr_u32(&mr);
		strlcpy(text, mr_str(&mr), sizeof(text));
		if (mr_done(&mr)) {
			log_sanitize(text, clean, sizeof(clean));
			ctl_error(c, peerid, clean);
			ctl_audit(c, command, code == Q_ERR_NOTFOUND ? "not-found" :
			    code == Q_ERR_BADREQ ? "refused" : "error");
			return;
		}
	}
	log_warnx("queued: unexpected answer %s to %s", msg_name(reply->type),
	    command);
	ctl_error(c, peerid, "malformed answer from queued");
	ctl_audit(c, command, "error");
}

void
cmd_queue(struct ctl_client *c, const char *name, const struct chan_msg *m)
{
	const struct qcmd *q = qcmd_find(m->type);
	char command[CTL_COMMAND_MAX];
	const char *problem;
	struct msgbuf mb;
	int rv;

	if (q == NULL) {
		ctl_error(c, m->peerid, "unknown command");
		ctl_audit(c, name, "error");
		return;
	}
	if ((problem = check(q, m, name, command, sizeof(command))) != NULL) {
		ctl_error(c, m->peerid, problem);
		ctl_audit(c, name, "malformed");
		return;
	}
	/* The payload was checked: it goes on as it came. */
	mb_init(&mb);
	if (m->len > 0) {
		mb.data = xmalloc(m->len);
		memcpy(mb.data, m->data, m->len);
		mb.len = mb.cap = m->len;
	}
	rv = ctl_forward(c, m->peerid, command, PROC_QUEUED, q->req,
	    m->len > 0 ? &mb : NULL, answer);
	mb_free(&mb);
	if (rv == -1) {
		ctl_error(c, m->peerid, "queued is not running (restarting?); "
		    "try again");
		ctl_audit(c, command, "unavailable");
	}
}
