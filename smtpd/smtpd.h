/* SPDX-License-Identifier: ISC */
/* empath-smtpd: the SMTP server. One event loop, no process or thread per
 * connection. Modules:
 *   main.c          daemon_ops: configuration, sockets, peers, start/stop
 *   server.c        listeners, accept, graceful stop
 *   session.c       a connection: I/O, timeouts, pausing, replies, closing;
 *                   the owner of the session state machine
 *   command.c       the command dispatcher (HELO ... QUIT), EHLO
 *   mailrcpt.c      MAIL and RCPT: ESMTP parameters, DSN, relay policy
 *   bdat.c          BDAT (RFC 3030): chunks, and discarding refused ones
 *   data.c          message content into queued's file, end of data
 *   decode.c        the content decoder (DATA and BDAT), without I/O
 *   starttls.c      TLS contexts, STARTTLS, implicit TLS, handshakes
 *   hooks.c         the hook dispatcher (hooks.h)
 *   hook_plugins.c  the plugins of <empath/empath.h> behind it, events
 *   limits.c        connections per client address (IPv6: per /64)
 *   localuser.c     local clients' login names (asked of the master) and
 *                   the local sessions per uid
 *   received.c      the Received: header (received.h)
 *   hops.c          the hop count (Received: fields) of the content
 *   literal.c       address literals from clients outside relay from
 *   queue_client.c  requests to queued (create, commit, rollback)
 * This header is the daemon's: what main.c, server.c, queue_client.c,
 * limits.c and session.c share. The session modules see session.h
 * only.
 * A session is freed only at the end of a top-level entry point (I/O,
 * timer, queue reply, stop) by session_after(): nested code marks it
 * closing or dead and returns. */
#ifndef EMPATH_SMTPD_H
#define EMPATH_SMTPD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

struct config;
struct cfg_listen;
struct session;
struct chan_msg;

/* How long queued may take to answer a request. */
#define QUEUE_TIMEOUT_MS    60000

TAILQ_HEAD(session_list, session);

struct smtpd {
	const struct config *cfg;
	const char *hostname;
	struct session_list sessions;
	unsigned nsessions;
	bool     stopping;
	bool     congested;            /* the queued channel is over its mark */
};
extern struct smtpd smtpd;

/* session.c */
void session_init(const struct config *);
struct session *session_new(int fd, const struct sockaddr *, socklen_t,
                            const struct cfg_listen *);
/* A session on the local submission socket, of the local user uid (the
 * kernel's word: SO_PEERCRED). */
struct session *session_new_local(int fd, uid_t uid,
                                  const struct cfg_listen *);
/* Queue replies (top-level entry points, called by queue_client.c). */
void session_created(struct session *, int fd, const char *msgid);
void session_create_failed(struct session *, unsigned code, const char *text);
void session_committed(struct session *, const char *msgid);
void session_commit_failed(struct session *, unsigned code, const char *text);
/* Graceful stop: idle sessions get 421 4.3.2; the others finish. */
void session_stop_all(void);
/* End every session now (rolling back open transactions). */
void session_abort_all(void);
/* Re-evaluate what each session waits for (after congestion ends). */
void session_update_all(void);
/* The queued that created the files being written is gone. */
void session_queue_lost(void);

/* The master answered who a local uid is (M_USER_NAME; name "" for no
 * such user): the session with that id greets, or is closed when the
 * uid is not its own. A top-level entry point. */
void session_user_known(uint64_t id, uint32_t uid, const char *name);

/* localuser.c: local sessions' login names (asked of the master, see
 * doc/architecture.md "Local submission") and the per-uid limit. */
#define LOCAL_MAX_PER_UID   10     /* local sessions of one uid at once */
#define LOOKUP_TIMEOUT_MS   10000  /* for the master's answer */
extern uint64_t lu_timeout_ms;     /* LOOKUP_TIMEOUT_MS; tests lower it */
/* Count a session of uid; false (nothing counted) at the limit. */
bool lu_admit(uid_t);
void lu_release(uid_t);
/* M_USER_LOOKUP for session id; -1 when it could not be sent. */
int  lu_ask(uint64_t id, uid_t);
/* A message from the master (M_USER_NAME; others are logged). */
void lu_master_msg(struct chan_msg *);

/* queue_client.c (a session's requests are in session.h) */
void     qc_set_channel(int fd);
void     qc_forget(struct session *);       /* the session is gone */
void     qc_flush(void);                    /* best effort, before exit */
extern uint64_t qc_timeout_ms;              /* QUEUE_TIMEOUT_MS; tests lower it */

/* limits.c: sessions per client address and listener; IPv6 clients
 * are counted by their /64, v4-mapped ones as their IPv4 address
 * (sa_client_key() in lib/util.c). */
unsigned limits_ip_count(const struct cfg_listen *, const struct sockaddr *);
void limits_ip_add(const struct cfg_listen *, const struct sockaddr *);
void limits_ip_del(const struct cfg_listen *, const struct sockaddr *);

/* server.c */
void server_listen(unsigned index, int fd);
void server_listen_local(int fd);          /* the local submission socket */
void server_start(void);
void server_stop(void);
void server_session_closed(const struct cfg_listen *);

#endif
