/* SPDX-License-Identifier: ISC */
/* Inside the SMTP client: the connection (client.c), the transaction on
 * it (txn.c) and STARTTLS (client_tls.c) share this state. Not for the
 * rest of deliverd, which sees only client_start() and friends in
 * deliverd.h. The pool and the connection's lifetime stay in client.c;
 * the conversation state is client.c's too: the others read c->state
 * and change it only with client_set_state(). */
#ifndef EMPATH_DELIVERD_CLIENT_H
#define EMPATH_DELIVERD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "body.h"
#include "deliverd.h"
#include "lineio.h"
#include "mime7.h"
#include "reply.h"

/* The body is read in chunks of this size and more is produced only when
 * less than BODY_LOW_WATER waits in the output buffer: a connection holds
 * at most about BODY_LOW_WATER + 2 * BODY_CHUNK of the message. */
#define BODY_CHUNK      (64 * 1024)
#define BODY_LOW_WATER  (16 * 1024)

enum cstate {
	C_CONNECT,
	C_GREETING,
	C_EHLO,
	C_HELO,
	C_STARTTLS,             /* waiting for the reply to STARTTLS */
	C_TLS,                  /* the TLS handshake */
	C_RSET,                 /* a reused connection: the reply to RSET */
	C_TXN,                  /* replies to MAIL, RCPT..., DATA */
	C_BODY,                 /* writing the message */
	C_DATAEND,              /* waiting for the reply to the final dot */
	C_IDLE,                 /* in the pool, waiting for the next job */
	C_QUIT,
};
#define C_NSTATES (C_QUIT + 1)

/* The conversation; client.c keeps the rest of a connection (its lists,
 * lifetime, socket and timer) in a struct conn around it. */
struct client {
	struct job *job;                /* NULL once the results are handed back */
	unsigned ntxn;                  /* transactions on this connection */
	struct route *route;
	size_t   dest;                  /* route->dest being tried */
	bool     wdead;                 /* writing failed; read what is left */
	struct ev_io *io;
	struct lineio lio;
	/* Written only by client_set_state(): const keeps every other
	 * assignment from compiling. */
	const enum cstate state;
	struct smtp_reply reply;
	struct smtp_caps caps;
	char     peer[REMOTE_MAX];      /* "host[ip]:port" */
	char     addr[80];              /* "ip:port" or "[ip]:port" */

	/* TLS (client_tls.c): the policy of the job's domain, and state. */
	int      tls_policy;            /* enum tls_policy */
	bool     tls_verify;            /* verification required */
	bool     tls_active;
	bool     no_tls;                /* this address again, in plain text */

	/* The transaction: position 0 is MAIL, 1..nsend the RCPTs of
	 * rcpt_idx[], nsend + 1 is DATA. */
	size_t  *rcpt_idx;
	bool    *accepted;
	size_t   nsend, naccepted;
	size_t   sent, replied;
	bool     pipelining;
	bool     mail_failed;
	bool     discard;               /* a 354 nobody needs: send "." only */
	/* RFC 5321 4.5.3.1.10: recipients refused for the server's
	 * recipient limit stay pending for a follow-up transaction. */
	size_t   nlimited;
	bool     limit_hit;             /* no pipelining: send no more RCPTs */
	bool     followup;              /* this transaction carries them */
	char     limit_diag[REPLY_TEXT_MAX];

	uint64_t off;                   /* next byte of the file to send */
	struct dotstuff ds;
	bool     body_sent;

	/* 8-bit MIME for a server without 8BITMIME (RFC 6152 3): whether
	 * this transaction converts, and the converter while the body goes
	 * out. */
	bool     convert;
	struct mime7 *m7;

	/* What txn.c learnt from the message file, kept for the follow-up
	 * transactions of the same job (the file does not change) and
	 * forgotten with the job: the 8-bit header scan and the 7bit plan. */
	bool     hdr_scanned, m7_scanned;
	bool     hdr8;
	enum mime7_scan m7scan;
	char     m7why[128];
	struct mime7_plan m7plan;
};

/* client.c: the conversation state. Every change goes through
 * client_set_state(), checked against the table of allowed transitions
 * (client.c); an illegal one is a bug: logged, the open recipients
 * deferred with a local error, the connection dropped, and -1 returned
 * (the client is gone). 0 when the state changed. */
int  client_set_state(struct client *, enum cstate to);
bool client_transition_ok(enum cstate from, enum cstate to);
const char *client_state_name(enum cstate);

/* client.c: the connection. Functions returning int return -1 when the
 * caller must not touch the client any more (it is gone, or waits for
 * the event loop in a new state), 0 otherwise. */
void client_arm(struct client *);             /* the timer of this state */
void client_send(struct client *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));    /* one command line */
int  client_pump(struct client *);            /* write, refill, interest */
void client_release(struct client *);         /* results to the job */
void client_free(struct client *);
/* These return -1: the client is gone or on another connection. */
int  client_fail(struct client *, uint32_t state, const char *diag);
int  client_broken(struct client *, const char *what);
int  client_finish(struct client *);          /* results, then reuse or QUIT */
/* Forget the transaction; same_job: a follow-up for the same job comes
 * next (what was learnt from the message file stays). */
void txn_reset(struct client *, bool same_job);
/* Before MAIL: give up on this address, try the next one. */
int  client_next_dest(struct client *, const char *diag);
/* Connect to the same address again, without STARTTLS this time. */
int  client_retry_plain(struct client *, const char *diag);
int  client_send_ehlo(struct client *);      /* -1: gone */

/* client_tls.c */
void tls_policy_of(struct client *, const char *domain);
int  tls_after_ehlo(struct client *);         /* STARTTLS or txn_begin() */
int  tls_starttls_reply(struct client *);     /* the reply to STARTTLS */
int  tls_step(struct client *);               /* drive the handshake */

/* txn.c: the transaction; each returns -1 when the client went away. */
int  txn_begin(struct client *);              /* after EHLO or HELO */
int  txn_reply(struct client *);              /* to MAIL, RCPT or DATA */
int  txn_data_reply(struct client *, bool early);
int  txn_body_fill(struct client *);          /* more of the message */
/* For the unit tests: how often the message file was scanned. */
struct txn_scans {
	unsigned long header;     /* for UTF-8 in the header */
	unsigned long mime7;      /* mime7_prescan() */
};
extern struct txn_scans txn_scans;

#endif
