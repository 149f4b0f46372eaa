/* SPDX-License-Identifier: ISC */
/* An SMTP session as the session modules see it (command.c, mailrcpt.c,
 * literal.c, bdat.c, data.c, starttls.c, hooks.c): the session and its
 * transaction, replies, the state machine, and what these modules call
 * of each other. The daemon around them (listeners, the list of
 * sessions, the channel to queued, stopping) is smtpd.h, which they do
 * not see.
 *
 * The state machine (RFC 5321 §4.1.4 ordering, RFC 3030 for BDAT) has
 * one owner: s->state is read anywhere but changed only by
 * session_transition() in session.c, which refuses any change its table
 * does not allow, and is the one place that drops a transaction (on the
 * way back to READY or CONNECTED, or to CLOSING). */
#ifndef EMPATH_SMTPD_SESSION_H
#define EMPATH_SMTPD_SESSION_H

#include <inttypes.h>             /* PRIu64: session ids in logs */
#include <stdbool.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "config.h"
#include "decode.h"
#include "envelope.h"
#include "hops.h"
#include "lineio.h"
#include "smtp.h"

struct ev_io;
struct ev_timer;
struct em_context;

/* Message file buffer: written out in chunks of at least DATA_FLUSH. */
#define DATA_BUF_SIZE       (32 * 1024)
#define DATA_FLUSH          (16 * 1024)
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
	SS_CLOSING,                    /* last reply queued: close once sent */
	SS_COUNT
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
	char     addr[INET6_ADDRSTRLEN];  /* "local" on the submission socket */
	bool     local;                /* the local submission socket */
	uid_t    uid;                  /* its client's, from SO_PEERCRED */
	bool     lookup;               /* local: waiting for the master's
	                                  M_USER_NAME before the greeting */
	bool     uid_counted;          /* local: counted against the per-uid limit */
	char     login[CFG_LOGIN_MAX + 1];  /* local: uid's login name, "" none */
	char    *helo;                 /* NULL before HELO/EHLO */
	enum sess_state state;         /* written by session_transition() only */
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
	struct em_context *pctx;       /* the plugins' (hook_plugins.c) */
};

/* session.c */
const char *smtpd_hostname(void);              /* ours, for replies */
const struct config *smtpd_config(void);
/* Move to state to; why is for the debug log. Back to READY (or
 * CONNECTED, or CLOSING) the transaction is dropped, its incoming file
 * rolled back; to CONNECTED the HELO is forgotten too. A change the
 * table does not allow, or one the session is not fit for (MAIL
 * without a transaction, DATA without a file...), is a bug in smtpd: it
 * is logged, the client hears 421 and the session closes. false then. */
bool session_transition(struct session *, enum sess_state to, const char *why);
const char *session_state_name(enum sess_state);
void session_reply(struct session *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A 4xx/5xx reply to a client mistake: counted against max-errors. */
void session_reply_error(struct session *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void session_close(struct session *);          /* after the last reply */
void session_wait(struct session *, enum sess_wait);
/* After the connect hook (and for implicit TLS the handshake): 220. */
void session_greet(struct session *);
/* A transport-level reset after STARTTLS (RFC 3207 §4.2). */
void session_tls_reset(struct session *);

/* command.c */
void cmd_dispatch(struct session *, const char *line, size_t len);
/* The state outside DATA/BDAT that the transaction and HELO make:
 * CONNECTED, READY, MAIL or RCPT. */
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
/* The end of the content (DATA terminator, BDAT LAST): commit. The
 * session stays in DATA or BDAT until queued answers. */
void data_end(struct session *);
/* A BDAT chunk made the message fail: refuse it now. true when the
 * transaction was refused (and is gone). */
bool data_refuse_early(struct session *);

/* starttls.c */
bool starttls_available(const struct session *);    /* may offer STARTTLS */
void cmd_starttls(struct session *, enum smtp_error);
/* Begin the handshake (implicit TLS at connect, or after the 220). */
void starttls_begin(struct session *);
/* Drive the handshake on an I/O event. */
void starttls_step(struct session *);

/* queue_client.c: requests of a session; ids travel in peerid, 0 means
 * "not sent". */
uint32_t qc_create(struct session *);
uint32_t qc_commit(struct session *, const struct envelope *);
void     qc_rollback(const char *msgid);

#endif
