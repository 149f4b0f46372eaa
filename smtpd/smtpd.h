/* empath-smtpd: the SMTP server. One event loop, no process or thread per
 * connection. Modules:
 *   main.c          daemon_ops: configuration, sockets, peers, start/stop
 *   server.c        listeners, accept, graceful stop
 *   session.c       a connection: I/O, timeouts, pausing, replies, closing
 *   command.c       the command state machine (HELO ... QUIT), policy
 *   data.c          DATA: dot-unstuffing into queued's file, end of data
 *   received.c      the Received: header
 *   queue_client.c  requests to queued (create, commit, rollback)
 * A session is freed only at the end of a top-level entry point (I/O,
 * timer, queue reply, stop) by session_after(): nested code marks it
 * closing or dead and returns. */
#ifndef EMPATH_SMTPD_H
#define EMPATH_SMTPD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "config.h"
#include "envelope.h"
#include "event.h"
#include "lineio.h"
#include "smtp.h"

/* Replies queued but not sent past which a session stops taking commands
 * (a client that pipelines without reading cannot make us buffer more). */
#define SESSION_OUT_MAX     (8 * 1024)
/* Message file buffer: written out in chunks of at least DATA_FLUSH. */
#define DATA_BUF_SIZE       (32 * 1024)
#define DATA_FLUSH          (16 * 1024)
/* Time to get a final reply out to a client before dropping it. */
#define SESSION_LINGER_MS   10000
/* How long queued may take to answer a request. */
#define QUEUE_TIMEOUT_MS    60000
/* How long a graceful stop waits for open transactions. */
#define STOP_GRACE_MS       5000

enum sess_state {
	SS_CONNECTED = 0,              /* greeted; no HELO/EHLO yet */
	SS_READY,                      /* after HELO/EHLO, no transaction */
	SS_MAIL,                       /* sender given */
	SS_RCPT,                       /* at least one recipient */
	SS_DATA,                       /* receiving the message after 354 */
	SS_CLOSING                     /* last reply queued: close once sent */
};

enum sess_wait {
	SW_NONE = 0,
	SW_CREATE,                     /* Q_CREATE sent, waiting for the file */
	SW_COMMIT                      /* Q_COMMIT sent, waiting for durability */
};

/* Reasons to refuse a message at the end of DATA (kept reading until
 * the terminator, then rolled back). */
#define TX_TOOBIG     0x01
#define TX_BARE_LF    0x02
#define TX_BARE_CR    0x04
#define TX_LONG_LINE  0x08
#define TX_WRITE_ERR  0x10
#define TX_QUEUE_LOST 0x20         /* queued restarted: its file is gone */
#define TX_REJECT     (TX_TOOBIG | TX_BARE_LF | TX_BARE_CR | TX_LONG_LINE | \
                       TX_WRITE_ERR | TX_QUEUE_LOST)

/* One mail transaction, from MAIL to the final reply to DATA. */
struct txn {
	struct envelope env;           /* sender, recipients, BODY */
	size_t   env_wire;             /* estimated encoded size of env */
	/* DATA */
	char     msgid[ULID_LEN + 1];  /* "" until queued created the file */
	int      fd;                   /* the incoming file, -1 when closed */
	char    *wbuf;                 /* DATA_BUF_SIZE bytes while in DATA */
	size_t   wlen;
	uint64_t body_size;            /* un-stuffed bytes, CRLF counted */
	uint64_t file_size;            /* bytes written to the file */
	uint64_t data_started;         /* ev_now() at 354 */
	bool     got_data;             /* a data line arrived since 354 */
	bool     prev_crlf;            /* the last line ended with CRLF */
	unsigned flags;                /* TX_* */
};

struct session {
	TAILQ_ENTRY(session) entry;
	uint64_t id;                   /* for logs */
	int      fd;
	struct lineio lio;
	struct ev_io *io;
	struct ev_timer *timer;
	const struct cfg_listen *listen;
	struct sockaddr_storage ss;    /* the client (v4-mapped made v4) */
	char     addr[INET6_ADDRSTRLEN];
	char    *helo;                 /* NULL before HELO/EHLO */
	enum sess_state state;
	enum sess_wait wait;
	bool     esmtp;                /* EHLO rather than HELO */
	bool     eof;                  /* the client closed its side */
	bool     dead;                 /* free without another word */
	unsigned errors;
	uint64_t started;              /* ev_now() at accept */
	uint64_t last_read;            /* ev_now() at the last bytes read */
	struct txn *tx;                /* NULL outside a transaction */
};
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
void session_io(int fd, int events, void *arg);
void session_reply(struct session *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A 4xx/5xx reply to a client mistake: counted against max-errors. */
void session_reply_error(struct session *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void session_close(struct session *);          /* after the last reply */
void session_wait(struct session *, enum sess_wait);
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
/* The transaction: drop it, rolling back an incoming file. */
void tx_free(struct session *);

/* command.c */
void cmd_dispatch(struct session *, const char *line, size_t len);

/* data.c */
void data_start(struct session *, int fd, const char *msgid);
void data_line(struct session *, const char *line, size_t len, bool crlf);
void data_line_toolong(struct session *);

/* received.c */
struct received_info {
	const char *helo;              /* as given by the client */
	const char *client_name;       /* reverse name or "unknown" */
	const char *client_addr;       /* numeric */
	int         family;            /* AF_INET or AF_INET6 */
	const char *hostname;          /* ours */
	const char *proto;             /* "SMTP", "ESMTP", later "ESMTPS"... */
	const char *msgid;
	const char *rcpt;              /* NULL unless exactly one recipient */
	int64_t     when;              /* wall seconds */
};
/* Format the header, CRLF-terminated lines. Returns its length, or 0
 * when it does not fit in outlen. */
size_t received_format(char *out, size_t outlen, const struct received_info *);

/* queue_client.c: request ids travel in peerid; 0 means "not sent". */
void     qc_set_channel(int fd);
uint32_t qc_create(struct session *);
uint32_t qc_commit(struct session *, const struct envelope *);
void     qc_rollback(const char *msgid);
void     qc_forget(struct session *);       /* the session is gone */
void     qc_flush(void);                    /* best effort, before exit */
extern uint64_t qc_timeout_ms;              /* QUEUE_TIMEOUT_MS; tests lower it */

/* server.c */
void server_listen(unsigned index, int fd);
void server_start(void);
void server_stop(void);
void server_session_closed(const struct cfg_listen *);

#endif
