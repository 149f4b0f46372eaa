/* SPDX-License-Identifier: ISC */
/* empath-smtpd: the SMTP server. One event loop, no process or thread per
 * connection. Modules:
 *   main.c          daemon_ops: configuration, sockets, peers, start/stop
 *   server.c        listeners, accept, graceful stop
 *   session.c       a connection: I/O, timeouts, pausing, replies, closing
 *   command.c       the command state machine (HELO ... QUIT), EHLO
 *   mailrcpt.c      MAIL and RCPT: ESMTP parameters, DSN, relay policy
 *   bdat.c          BDAT (RFC 3030): chunks, and discarding refused ones
 *   data.c          message content into queued's file, end of data
 *   decode.c        the content decoder (DATA and BDAT), without I/O
 *   starttls.c      TLS contexts, STARTTLS, implicit TLS, handshakes
 *   hooks.c         the hook dispatcher (plugins later; hooks.h)
 *   limits.c        connections per client address (IPv6: per /64)
 *   received.c      the Received: header
 *   hops.c          the hop count (Received: fields) of the content
 *   literal.c       address literals from clients outside relay from
 *   queue_client.c  requests to queued (create, commit, rollback)
 * A session is freed only at the end of a top-level entry point (I/O,
 * timer, queue reply, stop) by session_after(): nested code marks it
 * closing or dead and returns. */
#ifndef EMPATH_SMTPD_H
#define EMPATH_SMTPD_H

#include <stdbool.h>
#include <inttypes.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "config.h"
#include "decode.h"
#include "hops.h"
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
/* Memory a session may hold for the envelope of its transaction (sender,
 * recipients, ORCPTs, ENVID, parameters, HELO), as estimated by
 * mailrcpt.c: past it RCPT gets 452 4.5.3 (RFC 5321 §4.5.3.1.10: the
 * client sends to those accepted and the rest later). 1000 recipients
 * (the default max-recipients) fit whatever their length, since a RCPT
 * line, path and ORCPT together, is at most 512 octets. The envelope
 * must also fit in one channel frame to queued (CHAN_MAX_PAYLOAD),
 * which mailrcpt.c checks too. */
#define SESSION_ENV_MAX     (1024 * 1024)

enum sess_state {
	SS_CONNECTED = 0,              /* greeted; no HELO/EHLO yet */
	SS_READY,                      /* after HELO/EHLO, no transaction */
	SS_MAIL,                       /* sender given */
	SS_RCPT,                       /* at least one recipient */
	SS_DATA,                       /* receiving the message after 354 */
	SS_BDAT,                       /* receiving (or discarding) a chunk */
	SS_CLOSING                     /* last reply queued: close once sent */
};

enum sess_wait {
	SW_NONE = 0,
	SW_CREATE,                     /* Q_CREATE sent, waiting for the file */
	SW_COMMIT                      /* Q_COMMIT sent, waiting for durability */
};

/* One mail transaction, from MAIL to the final reply to DATA. */
struct txn {
	struct envelope env;           /* sender, recipients, parameters */
	size_t   env_wire;             /* estimated encoded size of env */
	size_t   env_mem;              /* estimated memory of env and HELO */
	bool     smtputf8;             /* MAIL ... SMTPUTF8 */
	bool     bdat;                 /* content comes in BDAT chunks */
	/* DATA / BDAT */
	char     msgid[ULID_LEN + 1];  /* "" until queued created the file */
	int      fd;                   /* the incoming file, -1 when closed */
	char    *wbuf;                 /* DATA_BUF_SIZE bytes while open */
	size_t   wlen;
	struct msgdec dec;             /* content decoder: size, TX_* flags */
	struct hopcount hops;          /* Received: fields of the content */
	uint64_t file_size;            /* bytes written to the file */
	uint64_t data_started;         /* ev_now() at 354 or the first BDAT */
	bool     got_data;             /* content arrived since then */
	unsigned flags;                /* TX_* of the session (write, queue) */
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
	bool     starttls;             /* 220 to STARTTLS queued: TLS next */
	bool     handshake;            /* TLS handshake in progress */
	bool     greeted;              /* the 220 greeting was sent */
	uint8_t  rd_want, wr_want;     /* TLS: readiness a read/write waits for */
	/* BDAT: the chunk being read, and the reply owed at its end when
	 * it is discarded (bdat_reply != NULL) */
	uint64_t bdat_size;            /* announced size of the chunk */
	uint64_t bdat_left;
	bool     bdat_last;
	bool     bdat_count_error;     /* the owed reply counts as an error */
	char    *bdat_reply;
	uint64_t bdat_discard_started; /* ev_now() when the discard began */
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
/* After the connect hook (and for implicit TLS the handshake): 220. */
void session_greet(struct session *);
/* A transport-level reset after STARTTLS (RFC 3207 §4.2). */
void session_tls_reset(struct session *);
struct session *session_new(int fd, const struct sockaddr *, socklen_t,
                            const struct cfg_listen *);
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
/* The state outside DATA/BDAT: CONNECTED, READY, MAIL or RCPT. */
enum sess_state cmd_state(const struct session *);

/* mailrcpt.c */
void cmd_mail(struct session *, const struct smtp_cmd *, enum smtp_error);
void cmd_rcpt(struct session *, const struct smtp_cmd *, enum smtp_error);

/* literal.c: refuse an address literal in MAIL or RCPT from a client
 * that may not use them; true after replying. */
bool literal_refused(struct session *, const struct smtp_cmd *);

/* bdat.c */
void cmd_bdat(struct session *, const struct smtp_cmd *, enum smtp_error);
/* Read or discard the current chunk from the input buffer. */
void bdat_input(struct session *);
/* Discard the next n bytes, then send the reply (fmt) with the BDAT
 * command's answer; count_error: the reply counts against max-errors. */
void bdat_discard(struct session *, uint64_t n, bool last, bool count_error,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* queued's answer to the create of a BDAT transaction. */
void bdat_created(struct session *);

/* data.c */
/* queued created the file: DATA gets 354, BDAT starts its chunk. */
void data_start(struct session *, int fd, const char *msgid);
/* DATA: decode what is buffered, up to the terminator. */
void data_input(struct session *);
/* Decode len bytes of BDAT content (never more than the chunk). */
void data_feed(struct session *, const char *buf, size_t len);
/* The end of the content (DATA terminator, BDAT LAST): commit. */
void data_end(struct session *);
/* A BDAT chunk made the message fail: refuse it now. true when the
 * transaction was refused (and is gone). */
bool data_refuse_early(struct session *);

/* received.c */
struct received_info {
	const char *helo;              /* as given by the client */
	const char *client_name;       /* reverse name or "unknown" */
	const char *client_addr;       /* numeric */
	int         family;            /* AF_INET or AF_INET6 */
	const char *hostname;          /* ours */
	const char *proto;             /* "SMTP", "ESMTP", "ESMTPS", "UTF8SMTPS"... */
	const char *tls_version;       /* NULL without TLS */
	const char *tls_cipher;
	int         tls_bits;
	const char *msgid;
	const char *rcpt;              /* NULL unless exactly one recipient */
	bool        utf8;              /* SMTPUTF8: rcpt may be UTF-8 */
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

/* starttls.c */
/* Load each listener's certificate and key (before the privilege drop);
 * -1 with a message logged when one cannot be loaded. */
int  starttls_configure(const struct config *);
bool starttls_available(const struct session *);    /* may offer STARTTLS */
void cmd_starttls(struct session *, enum smtp_error);
/* Begin the handshake (implicit TLS at connect, or after the 220). */
void starttls_begin(struct session *);
/* Drive the handshake on an I/O event. */
void starttls_step(struct session *);
void starttls_free(void);

/* limits.c: sessions per client address and listener; IPv6 clients
 * are counted by their /64, v4-mapped ones as their IPv4 address
 * (sa_client_key() in lib/util.c). */
unsigned limits_ip_count(const struct cfg_listen *, const struct sockaddr *);
void limits_ip_add(const struct cfg_listen *, const struct sockaddr *);
void limits_ip_del(const struct cfg_listen *, const struct sockaddr *);

/* server.c */
void server_listen(unsigned index, int fd);
void server_start(void);
void server_stop(void);
void server_session_closed(const struct cfg_listen *);

#endif
