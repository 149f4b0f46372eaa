/* `empathctl dns ...`: ctld checks each request (no stray payload, a
 * domain name that is one), forwards it to deliverd (D_DNS_*) with a
 * request id and a deadline, and relays deliverd's answer unchanged under
 * the CTL_DNS_ type. Every command leaves one audit line. */
#include <stdio.h>
#include <string.h>

#include "ctld.h"
#include "log.h"
#include "util.h"

struct dcmd {
	const char *name;             /* as in control.c's table */
	uint16_t    ctl;              /* request from empathctl */
	uint16_t    req;              /* to deliverd */
	uint16_t    answer;           /* expected from deliverd */
	uint16_t    reply;            /* to empathctl */
	bool        domain;           /* takes a domain (str) */
};

static const struct dcmd dcmds[] = {
	{ "dns list-cache", CTL_DNS_LIST, D_DNS_LIST_REQ, D_DNS_LIST,
	  CTL_DNS_LIST_REPLY, false },
	{ "dns clear-cache", CTL_DNS_CLEAR, D_DNS_CLEAR_REQ, D_DNS_OK, CTL_DNS_OK,
	  false },
	{ "dns refresh", CTL_DNS_REFRESH, D_DNS_REFRESH_REQ, D_DNS_OK, CTL_DNS_OK,
	  true },
	{ "dns list-overrides", CTL_DNS_OVERRIDES, D_DNS_OVERRIDES_REQ,
	  D_DNS_OVERRIDES, CTL_DNS_OVERRIDES_REPLY, false },
};

static const struct dcmd *
dcmd_by(uint16_t ctl, const char *command)
{
	size_t i, n;

	for (i = 0; i < nitems(dcmds); i++) {
		if (command == NULL && dcmds[i].ctl == ctl)
			return &dcmds[i];
		n = strlen(dcmds[i].name);
		if (command != NULL && strncmp(command, dcmds[i].name, n) == 0 &&
		    (command[n] == '\0' || command[n] == ' '))
			return &dcmds[i];
	}
	return NULL;
}

/* Letters, digits, '-', '_' and dots, 1 to 253 characters. */
static bool
domain_ok(const char *d)
{
	size_t n = strlen(d), i;

	if (n == 0 || n > 253 || d[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = d[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static void
answer(struct ctl_client *c, uint32_t peerid, const char *command,
    const struct chan_msg *reply)
{
	const struct dcmd *q = dcmd_by(0, command);
	struct msgreader mr;
	char text[256], clean[256];

	if (reply == NULL) {
		ctl_error(c, peerid, "deliverd did not answer (not running, "
		    "restarting, or the lookup took too long); try again");
		ctl_audit(c, command, "unavailable");
		return;
	}
	if (q != NULL && reply->type == q->answer) {
		ctl_send(c, q->reply, peerid, reply->data, reply->len);
		ctl_audit(c, command, "ok");
		return;
	}
	if (reply->type == D_DNS_FAIL) {
		mr_init(&mr, reply);
		strlcpy(text, mr_str(&mr), sizeof(text));
		if (mr_done(&mr)) {
			log_sanitize(text, clean, sizeof(clean));
			ctl_error(c, peerid, clean);
			ctl_audit(c, command, "error");
			return;
		}
	}
	log_warnx("deliverd: unexpected answer %s to %s", msg_name(reply->type),
	    command);
	ctl_error(c, peerid, "malformed answer from deliverd");
	ctl_audit(c, command, "error");
}

void
cmd_dns(struct ctl_client *c, const char *name, const struct chan_msg *m)
{
	const struct dcmd *q = dcmd_by(m->type, NULL);
	char command[CTL_COMMAND_MAX];
	struct msgreader mr;
	struct msgbuf mb;
	const char *domain;
	int rv;

	if (q == NULL) {
		ctl_error(c, m->peerid, "unknown command");
		ctl_audit(c, name, "error");
		return;
	}
	strlcpy(command, name, sizeof(command));
	mb_init(&mb);
	if (q->domain) {
		mr_init(&mr, m);
		domain = mr_str(&mr);
		if (!mr_done(&mr) || !domain_ok(domain)) {
			ctl_error(c, m->peerid, "not a domain name");
			ctl_audit(c, name, "malformed");
			return;
		}
		snprintf(command, sizeof(command), "%s %.64s", name, domain);
		mb_str(&mb, domain);
	} else if (m->len != 0) {
		ctl_error(c, m->peerid, "malformed request");
		ctl_audit(c, name, "malformed");
		return;
	}
	rv = ctl_forward(c, m->peerid, command, PROC_DELIVERD, q->req,
	    q->domain ? &mb : NULL, answer);
	mb_free(&mb);
	if (rv == -1) {
		ctl_error(c, m->peerid, "deliverd is not running (restarting?); "
		    "try again");
		ctl_audit(c, command, "unavailable");
	}
}
