/* SPDX-License-Identifier: ISC */
/* ctld: the control socket for empathctl and the health HTTP endpoint.
 * ctld owns no data: it answers from the master's process snapshot and
 * forwards questions to the daemon that owns the data (queued, deliverd). */
#ifndef EMPATH_CTLD_H
#define EMPATH_CTLD_H

#include <stdbool.h>
#include <stdint.h>

#include "channel.h"
#include "proto.h"

/* ---- proc_table.c: the master's last M_PROCS snapshot ---- */

struct proc_info {
	bool     listed;          /* present in the last snapshot */
	uint32_t pid;             /* 0: not running */
	uint64_t started;         /* wall clock seconds */
	uint32_t restarts;
};

void procs_update(const struct chan_msg *);
bool procs_known(void);                      /* a snapshot has arrived */
int64_t procs_master_start(void);            /* wall s; 0 when unknown */
uint32_t procs_master_pid(void);             /* sender of the snapshot */
const struct proc_info *procs_get(enum proc_id);

/* ---- peers.c: channels to queued and deliverd, requests with ids ---- */

/* Called exactly once per request: with the reply (any message whose
 * peerid is the request id), or with NULL when the peer is down, its
 * channel closed, or the deadline passed. */
typedef void (*peer_reply_cb)(const struct chan_msg *reply, void *arg);
struct peer_req;

void peer_attach(enum proc_id, int fd);      /* takes fd, replaces any old channel */
/* Send a request; NULL (and no callback) when it cannot be sent. */
struct peer_req *peer_request(enum proc_id, uint16_t type, const struct msgbuf *,
                              uint64_t timeout_ms, peer_reply_cb, void *arg);
/* Forget a request whose requester went away; the callback is not called. */
void peer_request_cancel(struct peer_req *);
void peers_shutdown(void);

/* The queue size as queued reports it in Q_STATUS. */
struct queue_counts {
	uint64_t messages, recipients;
};
/* Decode a Q_STATUS reply (wire_ctl.h); false when it is not one or is
 * malformed. */
bool queue_counts_parse(const struct chan_msg *, struct queue_counts *);

/* ---- control.c: the control socket ---- */

void control_listen(int fd);                 /* takes the listening socket */
void control_start(void);
void control_shutdown(void);

/* One client of the control socket. */
struct ctl_client;
#define CTL_COMMAND_MAX 96                   /* audit name of a command */

/* ---- commands.c: the one table of control commands ---- */

/* A daemon that answers control commands. */
struct ctl_target {
	enum proc_id proc;
	const char  *name;            /* in messages and logs */
	uint16_t     fail;            /* its failure answer (Q_OP_FAIL, D_DNS_FAIL) */
	const char  *silent;          /* for the client when it did not answer */
};

/* What a command's payload carries (wire_ctl.h). */
enum ctl_arg { ARG_NONE, ARG_ID, ARG_LIST, ARG_DOMAIN };

struct ctl_cmd;
/* A command ctld answers itself (payload checked, caller admitted). */
typedef void (*ctl_local_fn)(struct ctl_client *, const struct ctl_cmd *,
                             const char *command, const struct chan_msg *);

struct ctl_cmd {
	uint16_t                 type;     /* from empathctl, and to the daemon */
	const char              *name;     /* as empathctl spells it; audited */
	bool                     open;     /* anyone who can connect may ask */
	enum ctl_arg             arg;
	const struct ctl_target *to;       /* NULL: ctld alone answers */
	uint16_t                 reply;    /* the one answer accepted and relayed */
	ctl_local_fn             local;    /* NULL: forward and relay */
};

/* Check a command's payload: NULL when acceptable, else the error for the
 * client; command gets the audit name (with the argument). */
const char *ctl_cmd_check(const struct ctl_cmd *, const struct chan_msg *,
                          char *command, size_t len);
const struct ctl_cmd *ctl_cmd_find(uint16_t type);

/* ---- control.c: the control socket ---- */

void control_listen(int fd);                 /* takes the listening socket */
void control_start(void);
void control_shutdown(void);

/* Called once per forwarded request: reply NULL when the daemon is down,
 * restarting or did not answer in time. */
typedef void (*ctl_answer_fn)(struct ctl_client *, uint32_t peerid,
                              const char *command, const struct ctl_cmd *,
                              const struct chan_msg *reply);
void ctl_send(struct ctl_client *, uint16_t type, uint32_t peerid,
              const void *data, size_t len);
void ctl_error(struct ctl_client *, uint32_t peerid, const char *text);
/* The audit line of a command: who, what, the result. */
void ctl_audit(const struct ctl_client *, const char *command, const char *result);
/* Forward a request of type with payload (NULL: none) to cmd's daemon,
 * with an id and a deadline. 0: sent, answer() will be called; 1: refused (too
 * many in flight), the client is answered; -1: the daemon is not there,
 * nothing was sent. */
int  ctl_forward(struct ctl_client *, uint32_t peerid, const char *command,
                 const struct ctl_cmd *, uint16_t type, const struct msgbuf *,
                 ctl_answer_fn answer);
/* The commands ctld answers itself. */
void cmd_ping(struct ctl_client *, const struct ctl_cmd *, const char *command,
              const struct chan_msg *);
void cmd_status(struct ctl_client *, const struct ctl_cmd *, const char *command,
                const struct chan_msg *);

/* ---- plugin_table.c: the daemons' plugin registries (M_PLUGINS) ---- */

void plugin_table_update(const struct chan_msg *);
/* Every daemon's rows, in the order of the daemons (strings point into
 * the table until the next update); false when none has reported. */
struct wire_plugin_list;
bool plugin_table_fill(struct wire_plugin_list *);
void cmd_plugin_list(struct ctl_client *, const struct ctl_cmd *,
                     const char *command, const struct chan_msg *);

/* ---- health.c: minimal HTTP health endpoint ---- */

void health_listen(int fd);
void health_start(void);
void health_shutdown(void);

#endif
