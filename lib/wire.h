/* SPDX-License-Identifier: ISC */
/* Typed codecs of the master's, smtpd <-> queued and queued <-> deliverd
 * messages (layouts in proto_msgs.h). Each message has a struct and one
 * encode/decode pair that both ends use. Encoders return -1 (nothing
 * sent is then the caller's choice) on a value the decoder would refuse.
 * Decoders take the whole payload: they return -1 on a short payload,
 * trailing bytes, or a length, count or enum out of range. Decoded
 * strings point into the message: valid while the message is. The
 * envelope (Q_COMMIT, D_JOB) has its own codec in envelope.h; the
 * control messages (ctld, empathctl) are not here. */
#ifndef EMPATH_WIRE_H
#define EMPATH_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "envelope.h"
#include "proto.h"

/* M_LISTEN: u32 kind (LISTEN_*), u32 index. */
struct wire_listen {
	uint32_t kind;
	uint32_t index;
};
int wire_listen_encode(struct msgbuf *, const struct wire_listen *);
int wire_listen_decode(const struct chan_msg *, struct wire_listen *);

/* M_PEER: u32 proc_id (below PROC_COUNT). */
struct wire_peer {
	uint32_t proc;
};
int wire_peer_encode(struct msgbuf *, const struct wire_peer *);
int wire_peer_decode(const struct chan_msg *, struct wire_peer *);

/* M_PROCS: u64 master start, u32 n (up to WIRE_PROCS_MAX), n * (u32 proc,
 * u32 pid, u64 started, u32 restarts). A proc the reader does not know
 * (a newer master) is not an error: the reader skips it. */
#define WIRE_PROCS_MAX 64
struct wire_proc {
	uint32_t proc, pid;
	uint64_t started;
	uint32_t restarts;
};
struct wire_procs {
	uint64_t start;
	uint32_t n;
	struct wire_proc p[WIRE_PROCS_MAX];
};
int wire_procs_encode(struct msgbuf *, const struct wire_procs *);
int wire_procs_decode(const struct chan_msg *, struct wire_procs *);

/* Q_CREATE_OK, Q_COMMIT_OK, Q_ROLLBACK: str msgid, a ULID. */
struct wire_msgid {
	char msgid[ULID_LEN + 1];
};
int wire_msgid_encode(struct msgbuf *, const struct wire_msgid *);
/* On -1 msgid is "", except after a valid id with bytes after it: then
 * it holds that id (smtpd rolls back what it cannot use). */
int wire_msgid_decode(const struct chan_msg *, struct wire_msgid *);

/* Q_CREATE_FAIL, Q_COMMIT_FAIL: u32 SMTP code (400..599), str enhanced
 * code + text (1..WIRE_FAIL_TEXT_MAX - 1 octets; the reader makes it
 * printable before a client sees it). */
#define WIRE_FAIL_TEXT_MAX 256
struct wire_fail {
	uint32_t code;
	char     text[WIRE_FAIL_TEXT_MAX];
};
int wire_fail_encode(struct msgbuf *, const struct wire_fail *);
int wire_fail_decode(const struct chan_msg *, struct wire_fail *);

/* D_RESULT: str msgid, u32 n (up to ENV_MAX_RCPT), n * (u64 rcpt id,
 * u32 state, str remote host, str diagnostic). state is RCPT_DEFERRED,
 * RCPT_FAILED, RCPT_DELIVERED (| RCPT_DSN_PASSED), or RCPT_POSTPONED |
 * delay << RCPT_POSTPONE_SHIFT. */
struct wire_result_rcpt {
	uint64_t    id;
	uint32_t    state;
	const char *host;     /* NULL: "" */
	const char *diag;     /* NULL: "" */
};
struct wire_result {
	char     msgid[ULID_LEN + 1];
	uint32_t n;
	struct wire_result_rcpt *r;   /* decode: allocated, wire_result_free */
};
bool wire_result_state_valid(uint32_t);
/* host and diag are cut to max_host and max_diag octets (SIZE_MAX: whole)
 * so that many recipients still fit one frame. */
int wire_result_encode(struct msgbuf *, const struct wire_result *,
    size_t max_host, size_t max_diag);
int wire_result_decode(const struct chan_msg *, struct wire_result *);
void wire_result_free(struct wire_result *);

/* D_STATUS: u32 active jobs, u32 active connections. */
struct wire_status {
	uint32_t jobs, conns;
};
int wire_status_encode(struct msgbuf *, const struct wire_status *);
int wire_status_decode(const struct chan_msg *, struct wire_status *);

/* M_USER_LOOKUP: u64 cookie (the asker's: echoed), u32 uid. */
struct wire_user_lookup {
	uint64_t cookie;
	uint32_t uid;
};
int wire_user_lookup_encode(struct msgbuf *, const struct wire_user_lookup *);
int wire_user_lookup_decode(const struct chan_msg *,
    struct wire_user_lookup *);

/* M_USER_NAME: u64 cookie, u32 uid, str name: "" (no such user, or one
 * whose name is no plain login) or a name localusers_login_ok() takes. */
#define WIRE_LOGIN_MAX 32               /* CFG_LOGIN_MAX */
struct wire_user_name {
	uint64_t cookie;
	uint32_t uid;
	char     name[WIRE_LOGIN_MAX + 1];
};
int wire_user_name_encode(struct msgbuf *, const struct wire_user_name *);
int wire_user_name_decode(const struct chan_msg *, struct wire_user_name *);

#endif
