/* SPDX-License-Identifier: ISC */
/* empath-sendmail: the sendmail(8) interface of Empath (local
 * submission, see empath-sendmail(8)). Options (opts.c), the message and
 * its header (message.c), address lists (addrlist.c), the SMTP client on
 * the submission socket (submit.c), the drop directory (drop.c). */
#ifndef EMPATH_SENDMAIL_H
#define EMPATH_SENDMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sysexits.h>

struct config;
struct drop_env;

/* ---- options (opts.c) ---------------------------------------------- */

enum sm_mode {
	SM_DELIVER = 0,            /* -bm: read a message and submit it */
	SM_QUEUE_LIST,             /* -bp, mailq */
	SM_SMTP,                   /* -bs: SMTP on standard input/output */
	SM_QUEUE_RUN,              /* -q */
	SM_NEWALIASES              /* -bi, newaliases */
};
enum sm_body { SM_BODY_UNSET = 0, SM_BODY_7BIT, SM_BODY_8BITMIME };

struct sm_opts {
	enum sm_mode mode;
	bool extract;              /* -t */
	bool ignore_dots;          /* -i, -oi */
	bool verbose;              /* -v */
	const char *sender;        /* -f or -r as given; NULL: the default */
	const char *fullname;      /* -F */
	const char *config;        /* -C */
	char notify[32];           /* -N as NOTIFY= wants it; "" unset */
	char ret[8];               /* -R: "FULL" or "HDRS"; "" unset */
	enum sm_body body;         /* -B */
	char **rcpts;              /* the operands */
	int nrcpts;
};

/* The mode argv0's base name implies: "mailq" -bp, "newaliases" -bi. */
enum sm_mode sm_mode_of(const char *argv0);
/* Parse argv (argv[0] included) into o. 0, or EX_USAGE with err set. */
int sm_opts_parse(int argc, char **argv, struct sm_opts *o, char *err,
    size_t errlen);
void sm_usage(const char *prog);

/* ---- addresses (addrlist.c) ------------------------------------------ */

#define SM_ADDR_MAX 254            /* octets of an address (RFC 5321 4.5.3.1.3) */
#define SM_RCPT_MAX 1000           /* recipients of one message */

struct sm_addrs {
	char **v;
	size_t n;
};
/* Append every addr-spec of the address list s (RFC 5322 section 3.4:
 * mailboxes, groups, comments, quoted strings, the obsolete forms of
 * 4.4; a bare local part without '@' as sendmail takes it) to out, as
 * written minus comments and folding. 0, or -1 with err set and
 * nothing added. */
int sm_addrlist_parse(const char *s, size_t len, struct sm_addrs *out,
    char *err, size_t errlen);
void sm_addrs_add(struct sm_addrs *, const char *);
void sm_addrs_free(struct sm_addrs *);
/* The address to use: addr with @hostname added when it has no '@',
 * checked (UTF-8 or printable ASCII, no control character, not starting
 * with '-', at most SM_ADDR_MAX octets). A new string, or NULL with err
 * set. */
char *sm_addr_final(const char *addr, const char *hostname, char *err,
    size_t errlen);
/* -f's argument: "" or "<>" is the null sender (""), "<a>" is a, else one
 * address of an address list. A new string (qualified and checked), or
 * NULL with err set. */
char *sm_sender_final(const char *arg, const char *hostname, char *err,
    size_t errlen);

/* ---- the message (message.c) ----------------------------------------- */

struct sm_msg {
	char  *buf;
	size_t len, cap;
};
/* Read the message from fd: to EOF, or (without ignore_dots) to a line
 * holding only "." (RFC 5321's end of data, as sendmail reads it). 0,
 * EX_DATAERR when it exceeds max octets, EX_IOERR on a read error; err
 * set. */
int sm_read_message(int fd, bool ignore_dots, size_t max, struct sm_msg *m,
    char *err, size_t errlen);

struct sm_prep {
	const char *hostname;
	const char *from_addr;     /* for an added From: */
	const char *fullname;      /* its display name, NULL: none */
	int64_t now;
	bool extract;              /* collect To:, Cc:, Bcc: into rcpts */
};
/* The message to submit: a leading mbox "From " line dropped, Bcc: and
 * Resent-Bcc: removed, From:, Date: and Message-ID: added when missing
 * (RFC 6409 section 8), an empty line before the body, a line end after
 * the last line. With p->extract, the addresses of To:, Cc: and Bcc: are
 * appended to rcpts. 0, or EX_DATAERR with err set. */
int sm_prepare(const struct sm_msg *in, const struct sm_prep *p,
    struct sm_msg *out, struct sm_addrs *rcpts, char *err, size_t errlen);
/* The full name of a GECOS field (passwd(5)): up to its first ',', '&'
 * standing for the login name capitalized. false when it is empty, too
 * long for out or not printable ASCII (then no name is used). */
bool sm_gecos_name(const char *gecos, const char *login, char *out,
    size_t outlen);
/* What smtpd and queued refuse in a message (RFC 5322 section 2.1.1:
 * NUL, lines over SM_LINE_MAX octets without their line end), checked
 * before anything is submitted. Line ends are LF, with or without a CR
 * before it. The size with every line end made CRLF (as smtpd and
 * queued count it) must not exceed max_size (SIZE_MAX: no limit), nor
 * the header's Received: fields max_hops (UINT_MAX: no limit). 0, or
 * EX_DATAERR with err naming the line; *crlf_size (may be NULL) gets
 * the size. */
#define SM_LINE_MAX 998
int sm_check_message(const char *buf, size_t len, size_t max_size,
    unsigned max_hops, size_t *crlf_size, char *err, size_t errlen);
/* Does the message hold an octet above 127? */
bool sm_has_8bit(const char *buf, size_t len);
/* Write buf to dst as SMTP DATA (RFC 5321 4.5.2): every line end CRLF,
 * leading dots doubled, then ".\r\n". */
void sm_dot_stuff(const char *buf, size_t len, struct sm_msg *dst);
void sm_msg_append(struct sm_msg *, const void *, size_t);
void sm_msg_free(struct sm_msg *);

/* ---- submission (submit.c) ------------------------------------------- */

/* Client timeouts on the submission socket (RFC 5321 4.5.3.2 gives 5
 * minutes per command and 10 for the end of data to a remote server;
 * a local one answers at once or is stuck): connecting, each reply,
 * the reply to the end of data. */
#define SM_CONNECT_TIMEOUT_MS  (10 * 1000)
#define SM_REPLY_TIMEOUT_MS    (60 * 1000)
#define SM_DATA_TIMEOUT_MS     (10 * 60 * 1000)

enum sm_outcome {
	SM_SENT = 0,               /* 250 to the end of data */
	SM_DEFERRED,               /* 4xx, a timeout, or lost before it */
	SM_REFUSED_RCPTS,          /* 5xx to every recipient */
	SM_REFUSED_SENDER,         /* 553 5.7.1 to MAIL: not the user's */
	SM_REFUSED_DATA,           /* 5xx to the message or its size */
	SM_REFUSED_OTHER           /* another 5xx */
};
struct sm_result {
	enum sm_outcome outcome;
	bool  *refused;            /* per recipient: 5xx to its RCPT */
	size_t nrefused;
	char   reply[512];         /* the last reply that decided */
};
struct sm_submit {
	const char *sender;        /* "" null */
	char *const *rcpts;
	size_t nrcpts;
	const char *msg;
	size_t len;
	const char *notify, *ret;  /* "" when unset */
	enum sm_body body;
	bool verbose;
	unsigned timeout_ms;       /* per reply; 0: SM_REPLY_TIMEOUT_MS */
	unsigned data_timeout_ms;  /* the end of data; 0: SM_DATA_TIMEOUT_MS */
};
/* Speak SMTP on the connected socket fd: EHLO, MAIL, RCPT..., DATA,
 * QUIT. r->refused is allocated (nrcpts entries). */
void sm_submit_fd(int fd, const struct sm_submit *s, struct sm_result *r);
/* Connect to the Unix socket path, without blocking: a full backlog
 * (EAGAIN) is tried again until timeout_ms have passed. The socket
 * (blocking), or -1 with errno (ETIMEDOUT: the backlog stayed full). */
int sm_connect(const char *path, unsigned timeout_ms);
/* Does connect()'s errno say that Empath is not running (no socket, or
 * nobody listening on it)? Only then is a drop file written. */
bool sm_not_running(int err);
/* -bs: copy bytes between fd in/out and the socket until it closes.
 * 0, or -1 on an I/O error. */
int sm_relay(int in, int out, int sock);
/* The exit status of a submission (sysexits.h). */
int sm_exit_code(const struct sm_result *r);

/* ---- the drop directory (drop.c) -------------------------------------- */

/* Privilege of a setgid installation: priv_init() at the very start
 * gives up the group until priv_raise(); priv_giveup() for good. */
void priv_init(void);
void priv_raise(void);
void priv_lower(void);
void priv_giveup(void);
bool priv_held(void);              /* the group is still ours to take */
/* Are sender and rcpts an envelope queued takes from a drop file? The
 * envelope text is parsed with dropfile_parse(), one recipient at a
 * time: 0, or -1 with err naming the address and *bad its index (-1:
 * the sender). */
int sm_check_envelope(const char *sender, char *const *rcpts, size_t n,
    long *bad, char *err, size_t errlen);
/* Write env and the message into SPOOL/drop; 0, or -1 with err set. */
int sm_drop(const char *spool, const struct drop_env *env, const char *msg,
    size_t len, char *name, size_t namelen, char *err, size_t errlen);

#endif
