/* Inside the SMTP client: the connection (client.c) and the transaction
 * on it (txn.c) share this state. Not for the rest of deliverd, which
 * sees only client_start() and friends in deliverd.h. */
#ifndef DELIVERD_CLIENT_H
#define DELIVERD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "body.h"
#include "deliverd.h"
#include "lineio.h"
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
	C_TXN,                  /* replies to MAIL, RCPT..., DATA */
	C_BODY,                 /* writing the message */
	C_DATAEND,              /* waiting for the reply to the final dot */
	C_QUIT,
};

struct client {
	LIST_ENTRY(client) entry;
	struct job *job;                /* NULL once the results are handed back */
	bool     detached;              /* ... and still connected, saying QUIT */
	struct route *route;
	size_t   dest;                  /* route->dest being tried */
	int      fd;
	int      conn_err;              /* connect() failed at once: its errno */
	bool     wdead;                 /* writing failed; read what is left */
	struct ev_io *io;
	struct ev_timer *timer;
	struct lineio lio;
	bool     lio_ready;
	enum cstate state;
	struct smtp_reply reply;
	struct smtp_caps caps;
	char     peer[REMOTE_MAX];      /* "host[ip]:port" */
	char     addr[80];              /* "ip:port" or "[ip]:port" */

	/* The transaction: position 0 is MAIL, 1..nsend the RCPTs of
	 * rcpt_idx[], nsend + 1 is DATA. */
	size_t  *rcpt_idx;
	bool    *accepted;
	size_t   nsend, naccepted;
	size_t   sent, replied;
	bool     pipelining;
	bool     mail_failed;
	bool     discard;               /* a 354 nobody needs: send "." only */

	uint64_t off;                   /* next byte of the file to send */
	struct dotstuff ds;
	bool     body_sent;
};

/* client.c: the connection */
void client_arm(struct client *);             /* the timer of this state */
void client_send(struct client *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));    /* one command line */
int  client_pump(struct client *);            /* write, refill, interest */
void client_release(struct client *);         /* results to the job */
void client_free(struct client *);
/* These return -1: the client is gone or on another connection. */
int  client_fail(struct client *, uint32_t state, const char *diag);
int  client_broken(struct client *, const char *what);
int  client_finish(struct client *);          /* results, then QUIT */

/* txn.c: the transaction; each returns -1 when the client went away. */
int  txn_begin(struct client *);              /* after EHLO or HELO */
int  txn_reply(struct client *);              /* to MAIL, RCPT or DATA */
int  txn_data_reply(struct client *, bool early);
int  txn_body_fill(struct client *);          /* more of the message */

#endif
