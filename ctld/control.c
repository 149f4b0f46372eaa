/* SPDX-License-Identifier: ISC */
/* The control socket: empathctl connects, speaks the channel framing, and
 * every command is answered (or fails) within a bounded time and leaves one
 * audit line: who (SO_PEERCRED uid and pid, user name when known), what,
 * with which token, and the result.
 *
 * The socket is bound and listening when the master hands it over; its
 * file mode and group keep strangers from connecting, and every command
 * but `system ping` is checked again here (auth.h): the caller's
 * credentials, and its token when token hashes are configured. A token
 * comes in a CTL_AUTH frame before the command; it is hashed at once and
 * never kept or logged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "ctld.h"
#include "listener.h"
#include "names.h"
#include "event.h"
#include "log.h"
#include "util.h"
#include "wire_ctl.h"

#define CTL_MAX_CLIENTS      64
#define CTL_IDLE_MS          (60 * 1000)
#define CTL_MAX_INFLIGHT     4        /* forwarded requests per client */
#define CTL_PEER_TIMEOUT_MS  (5 * 1000)
/* The largest answer (a page of `queue list`, a `queue view`) fits, twice;
 * a client with more unread is not reading. */
#define CTL_MAX_UNREAD       (2 * (size_t)CHAN_MAX_PAYLOAD + 64 * 1024)

/* A command forwarded to another daemon, waiting for its answer. */
struct ctl_pending {
	TAILQ_ENTRY(ctl_pending) entry;
	struct ctl_client *c;
	uint32_t         peerid;      /* the client's request id, echoed */
	char             command[CTL_COMMAND_MAX];   /* for the audit line */
	const struct ctl_cmd *cmd;
	struct peer_req *req;
	ctl_answer_fn    answer;
};

struct ctl_client {
	TAILQ_ENTRY(ctl_client) entry;
	struct channel  *chan;        /* NULL once the channel has closed */
	struct ev_timer *idle;
	uid_t            uid;
	pid_t            pid;
	char             user[64];
	bool             allowed;     /* credentials admit it (auth.h) */
	bool             token_seen;  /* a CTL_AUTH came */
	int              token;       /* matching hash index, -1: none/invalid */
	bool             closing;     /* freed at the end of this loop turn */
	unsigned         ninflight;
	TAILQ_HEAD(, ctl_pending) inflight;
};

static TAILQ_HEAD(, ctl_client) clients = TAILQ_HEAD_INITIALIZER(clients);
static bool client_new(int fd);
static struct ctl_listener listener = {
	.name = "control", .max = CTL_MAX_CLIENTS, .on_accept = client_new,
	.fd = -1,
};

void
ctl_audit(const struct ctl_client *c, const char *command, const char *result)
{
	char token[AUTH_FINGERPRINT_LEN];

	if (!c->token_seen)
		(void)strlcpy(token, "none", sizeof(token));
	else if (auth_ntokens() == 0)         /* nothing to check it against */
		(void)strlcpy(token, "unchecked", sizeof(token));
	else
		auth_fingerprint(c->token, token, sizeof(token));
	log_info("control: uid=%u user=%s pid=%d token=%s command=%s result=%s",
	    (unsigned)c->uid, c->user, (int)c->pid, token, command, result);
}

static void
inflight_cancel_all(struct ctl_client *c)
{
	struct ctl_pending *p;

	while ((p = TAILQ_FIRST(&c->inflight)) != NULL) {
		TAILQ_REMOVE(&c->inflight, p, entry);
		peer_request_cancel(p->req);
		ctl_audit(c, p->command, "abandoned");
		free(p);
	}
	c->ninflight = 0;
}

static void
client_destroy(struct ctl_client *c)
{
	TAILQ_REMOVE(&clients, c, entry);
	ev_timer_free(c->idle);
	free(c);
	listener_conn_closed(&listener);
}

static void
client_reap(void *arg)
{
	struct ctl_client *c = arg;

	if (c->chan != NULL)
		chan_free(c->chan);
	client_destroy(c);
}

/* Channel callbacks may be on the stack: free the client later. */
static void
client_close_later(struct ctl_client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	inflight_cancel_all(c);
	ev_timer_stop(c->idle);
	ev_defer(client_reap, c);
}

static void
client_closed(struct channel *ch, void *arg)
{
	struct ctl_client *c = arg;

	(void)ch;
	c->chan = NULL;               /* the channel code frees it */
	if (c->closing)
		return;               /* client_reap is already scheduled */
	inflight_cancel_all(c);
	client_destroy(c);
}

static void
client_idle(void *arg)
{
	struct ctl_client *c = arg;

	log_debug("control: uid=%u pid=%d idle, closing", (unsigned)c->uid,
	    (int)c->pid);
	client_close_later(c);
}

void
ctl_send(struct ctl_client *c, uint16_t type, uint32_t peerid,
    const void *data, size_t len)
{
	if (c->closing || c->chan == NULL)
		return;
	if (chan_send(c->chan, type, peerid, -1, data, len) == -1) {
		client_close_later(c);
		return;
	}
	/* A client that does not read its answers is dropped, not buffered. */
	if (chan_pending(c->chan) > CTL_MAX_UNREAD) {
		log_warnx("control: uid=%u pid=%d does not read its answers, "
		    "closing", (unsigned)c->uid, (int)c->pid);
		client_close_later(c);
	}
}

static void
client_send(struct ctl_client *c, uint16_t type, uint32_t peerid,
    const struct msgbuf *mb)
{
	if (mb->err) {
		client_close_later(c);
		return;
	}
	ctl_send(c, type, peerid, mb->data, mb->len);
}

void
ctl_error(struct ctl_client *c, uint32_t peerid, const char *text)
{
	struct wire_text w = { text };
	struct msgbuf mb;

	mb_init(&mb);
	if (wire_text_encode(&mb, &w) == -1)
		mb.err = true;
	client_send(c, CTL_ERROR, peerid, &mb);
	mb_free(&mb);
}

/* CTL_AUTH: one per connection, before the commands it is for. */
static void
client_auth(struct ctl_client *c, const struct chan_msg *m)
{
	if (c->token_seen) {
		(void)auth_token_frame(m);        /* only to wipe it */
		ctl_error(c, m->peerid, "one token per connection");
		ctl_audit(c, "auth", "malformed");
		client_close_later(c);
		return;
	}
	c->token_seen = true;
	/* A malformed token is refused with the command it was meant for;
	 * the frame is wiped either way. */
	c->token = auth_token_frame(m);
}

/* May c run a command that is not open to all? If not, it is told why,
 * the refusal is audited, and false returned. */
static bool
client_admitted(struct ctl_client *c, uint32_t peerid, const char *name)
{
	char text[160];

	if (!c->allowed) {
		(void)snprintf(text, sizeof(text), "permission denied: uid %u is "
		    "neither root nor a member of the control group",
		    (unsigned)c->uid);
		ctl_error(c, peerid, text);
		ctl_audit(c, name, "denied");
		return false;
	}
	if (auth_ntokens() > 0 && c->token < 0) {
		ctl_error(c, peerid, c->token_seen ?
		    "permission denied: invalid token" :
		    "permission denied: a token is required (--token-file, "
		    "--token or EMPATHCTL_TOKEN)");
		ctl_audit(c, name, "denied");
		return false;
	}
	return true;
}

/* A forwarded command's answer: the one the table accepts is relayed as
 * it came, once its codec takes it; the daemon's failure becomes a
 * CTL_ERROR with its text; anything else is a malformed answer. */
static void
relay_answer(struct ctl_client *c, uint32_t peerid, const char *command,
    const struct ctl_cmd *cmd, const struct chan_msg *reply)
{
	const struct ctl_target *to = cmd->to;
	struct wire_opfail qf;
	struct wire_text df;
	char text[256], clean[256];

	if (reply == NULL) {
		ctl_error(c, peerid, to->silent);
		ctl_audit(c, command, "unavailable");
		return;
	}
	if (reply->type == cmd->reply && wire_recode(reply->type, reply,
	    NULL) == 0) {
		ctl_send(c, reply->type, peerid, reply->data, reply->len);
		ctl_audit(c, command, "ok");
		return;
	}
	if (reply->type == to->fail && reply->type == Q_OP_FAIL &&
	    wire_opfail_decode(reply, &qf) == 0) {
		strlcpy(text, qf.text, sizeof(text));
		log_sanitize(text, clean, sizeof(clean));
		ctl_error(c, peerid, clean);
		ctl_audit(c, command, qf.code == Q_ERR_NOTFOUND ? "not-found" :
		    qf.code == Q_ERR_BADREQ ? "refused" : "error");
		return;
	}
	if (reply->type == to->fail && reply->type == D_DNS_FAIL &&
	    wire_text_decode(reply, &df) == 0) {
		strlcpy(text, df.text, sizeof(text));
		log_sanitize(text, clean, sizeof(clean));
		ctl_error(c, peerid, clean);
		ctl_audit(c, command, "error");
		return;
	}
	log_warnx("%s: unexpected answer %s to %s", to->name,
	    msg_name(reply->type), command);
	(void)snprintf(text, sizeof(text), "malformed answer from %s", to->name);
	ctl_error(c, peerid, text);
	ctl_audit(c, command, "error");
}

/* Every command goes through the table (commands.c): who may ask, its
 * payload checked, then answered here or forwarded as it came. */
static void
client_msg(struct channel *ch, struct chan_msg *m, void *arg)
{
	struct ctl_client *c = arg;
	const struct ctl_cmd *cmd;
	char command[CTL_COMMAND_MAX], text[96];
	const char *problem;
	struct msgbuf mb;
	int rv;

	(void)ch;
	if (c->closing)
		return;
	ev_timer_start(c->idle, CTL_IDLE_MS);
	if (m->type == CTL_AUTH) {
		client_auth(c, m);
		return;
	}
	if ((cmd = ctl_cmd_find(m->type)) == NULL) {
		(void)snprintf(command, sizeof(command), "unknown(%u)",
		    (unsigned)m->type);
		ctl_error(c, m->peerid, "unknown command");
		ctl_audit(c, command, "error");
		return;
	}
	if (!cmd->open && !client_admitted(c, m->peerid, cmd->name))
		return;
	if ((problem = ctl_cmd_check(cmd, m, command, sizeof(command))) !=
	    NULL) {
		ctl_error(c, m->peerid, problem);
		ctl_audit(c, cmd->name, "malformed");
		return;
	}
	if (cmd->local != NULL) {
		cmd->local(c, cmd, command, m);
		return;
	}
	/* The payload was checked: it goes on as it came. */
	mb_init(&mb);
	if (m->len > 0) {
		mb.data = xmalloc(m->len);
		memcpy(mb.data, m->data, m->len);
		mb.len = mb.cap = m->len;
	}
	rv = ctl_forward(c, m->peerid, command, cmd, cmd->type,
	    m->len > 0 ? &mb : NULL, relay_answer);
	mb_free(&mb);
	if (rv == -1) {
		(void)snprintf(text, sizeof(text), "%s is not running "
		    "(restarting?); try again", cmd->to->name);
		ctl_error(c, m->peerid, text);
		ctl_audit(c, command, "unavailable");
	}
}

/* The credentials check, with the peer's supplementary groups as the
 * kernel saw them at connect() (SO_PEERGROUPS): no group database needed. */
static bool
peer_allowed(int fd, const struct ucred *cred)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	size_t n = 0;
	bool ok;

	if (auth_peer_allowed(cred->uid, cred->gid, NULL, 0))
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1) {
		if (errno != ERANGE || len == 0 || len % sizeof(gid_t) != 0 ||
		    len > (socklen_t)(65536 * sizeof(gid_t))) {
			log_warn("control: SO_PEERGROUPS");
			return false;
		}
		groups = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1) {
			log_warn("control: SO_PEERGROUPS");
			free(groups);
			return false;
		}
	}
	n = len / sizeof(gid_t);
	ok = auth_peer_allowed(cred->uid, cred->gid, groups, n);
	if (groups != small)
		free(groups);
	return ok;
}

static bool
client_new(int fd)
{
	struct ctl_client *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char name[48];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		close(fd);
		return false;
	}
	c = xcalloc(1, sizeof(*c));
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->token = -1;
	c->allowed = peer_allowed(fd, &cred);
	TAILQ_INIT(&c->inflight);
	names_lookup(cred.uid, c->user, sizeof(c->user));

	(void)snprintf(name, sizeof(name), "control uid=%u pid=%d",
	    (unsigned)cred.uid, (int)cred.pid);
	c->chan = chan_new(fd, name, client_msg, client_closed, c);
	if (c->chan == NULL) {
		log_warnx("control: cannot set up a channel");
		close(fd);
		free(c);
		return false;
	}
	c->idle = ev_timer_new(client_idle, c);
	ev_timer_start(c->idle, CTL_IDLE_MS);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	log_debug("control: connection from uid=%u pid=%d", (unsigned)c->uid,
	    (int)c->pid);
	return true;
}

/* ---- commands ---- */

void
cmd_ping(struct ctl_client *c, const struct ctl_cmd *cmd, const char *name,
    const struct chan_msg *m)
{
	struct wire_text w = { EMPATH_VERSION };
	struct msgbuf mb;

	mb_init(&mb);
	if (wire_text_encode(&mb, &w) == -1)
		mb.err = true;
	client_send(c, cmd->reply, m->peerid, &mb);
	mb_free(&mb);
	ctl_audit(c, name, "ok");
}

/* CTL_STATUS_REPLY; qc NULL when queued did not answer: both counts are
 * then CTL_COUNT_UNKNOWN (proto.h). Rows: the master (unless the snapshot
 * lists it), then every daemon of the last M_PROCS snapshot. */
static void
status_reply(struct ctl_client *c, uint32_t peerid, const struct queue_counts *qc)
{
	static struct wire_ctl_status w;
	struct msgbuf mb;
	const struct proc_info *pi;
	int64_t start = procs_master_start(), now = wall_s();
	unsigned p;

	memset(&w, 0, sizeof(w));
	w.version = EMPATH_VERSION;
	w.uptime = start > 0 && now > start ? (uint64_t)(now - start) : 0;
	w.messages = qc != NULL ? qc->messages : CTL_COUNT_UNKNOWN;
	w.recipients = qc != NULL ? qc->recipients : CTL_COUNT_UNKNOWN;
	if (procs_known()) {
		if (!procs_get(PROC_MASTER)->listed)
			w.row[w.n++] = (struct wire_status_row){
			    proc_name(PROC_MASTER), procs_master_pid(),
			    procs_master_pid() != 0, 0 };
		for (p = 0; p < PROC_COUNT && w.n < WIRE_STATUS_ROWS; p++) {
			pi = procs_get(p);
			if (pi->listed)
				w.row[w.n++] = (struct wire_status_row){
				    proc_name(p), pi->pid, pi->pid != 0,
				    pi->restarts };
		}
	}
	mb_init(&mb);
	if (wire_ctl_status_encode(&mb, &w) == -1)
		mb.err = true;
	client_send(c, CTL_STATUS_REPLY, peerid, &mb);
	mb_free(&mb);
}

static void
status_answer(struct ctl_client *c, uint32_t peerid, const char *command,
    const struct ctl_cmd *cmd, const struct chan_msg *reply)
{
	struct queue_counts qc;
	bool ok = false;

	if (reply != NULL) {
		ok = queue_counts_parse(reply, &qc);
		if (!ok)
			log_warnx("%s: malformed answer (%s) to %s", cmd->to->name,
			    msg_name(reply->type), msg_name(Q_STATUS_REQ));
	}
	status_reply(c, peerid, ok ? &qc : NULL);
	ctl_audit(c, command, ok ? "ok" : "partial");
}

/* The process table is ctld's own; the queue size is asked of queued, and
 * the status is answered without it when queued cannot tell. */
void
cmd_status(struct ctl_client *c, const struct ctl_cmd *cmd, const char *name,
    const struct chan_msg *m)
{
	if (ctl_forward(c, m->peerid, name, cmd, Q_STATUS_REQ, NULL,
	    status_answer) == -1) {
		/* queued is down or restarting: answer with what we know. */
		status_reply(c, m->peerid, NULL);
		ctl_audit(c, name, "partial");
	}
}

/* ---- forwarding ---- */

static void
pending_answer(const struct chan_msg *reply, void *arg)
{
	struct ctl_pending *p = arg;
	struct ctl_client *c = p->c;

	TAILQ_REMOVE(&c->inflight, p, entry);
	c->ninflight--;
	p->answer(c, p->peerid, p->command, p->cmd, reply);
	free(p);
}

int
ctl_forward(struct ctl_client *c, uint32_t peerid, const char *command,
    const struct ctl_cmd *cmd, uint16_t type, const struct msgbuf *mb,
    ctl_answer_fn answer)
{
	struct ctl_pending *p;

	if (c->ninflight >= CTL_MAX_INFLIGHT) {
		ctl_error(c, peerid, "too many requests in flight");
		ctl_audit(c, command, "busy");
		return 1;
	}
	p = xcalloc(1, sizeof(*p));
	p->c = c;
	p->peerid = peerid;
	strlcpy(p->command, command, sizeof(p->command));
	p->cmd = cmd;
	p->answer = answer;
	p->req = peer_request(cmd->to->proc, type, mb, CTL_PEER_TIMEOUT_MS,
	    pending_answer, p);
	if (p->req == NULL) {
		free(p);
		return -1;
	}
	TAILQ_INSERT_TAIL(&c->inflight, p, entry);
	c->ninflight++;
	return 0;
}

/* ---- set-up ---- */

void
control_listen(int fd)
{
	listener_set_fd(&listener, fd);
}

void
control_start(void)
{
	if (listener.io == NULL)
		log_warnx("control: no control socket received");
	listener_start(&listener);
}

void
control_shutdown(void)
{
	struct ctl_client *c, *tmp;

	listener_close(&listener);
	TAILQ_FOREACH_SAFE(c, &clients, entry, tmp) {
		if (c->closing)
			continue;     /* client_reap owns it */
		inflight_cancel_all(c);
		if (c->chan != NULL)
			chan_free(c->chan);
		client_destroy(c);
	}
}
