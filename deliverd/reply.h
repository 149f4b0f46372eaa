/* SPDX-License-Identifier: ISC */
/* SMTP replies as the delivery client reads them: one line at a time into
 * a bounded, sanitized summary ("550 5.1.1 no such user") fit for logs,
 * queue rows and bounces; EHLO keywords; the DSN code of a diagnostic. */
#ifndef EMPATH_DELIVERD_REPLY_H
#define EMPATH_DELIVERD_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 allows 512 octets per reply line; real servers send longer
 * EHLO and banner lines, so accept up to this and call longer ones a
 * protocol error (the connection is dropped, nothing is lost). */
#define REPLY_LINE_MAX   2048
/* More lines than this in one reply is a server gone wrong. */
#define REPLY_LINES_MAX  256
/* Bound of the summary text, NUL included. */
#define REPLY_TEXT_MAX   512
#define REPLY_ESC_MAX    16          /* "5.1.10" and NUL, with room */

struct smtp_reply {
	int      code;                   /* 200..599; 0 before the first line */
	unsigned nlines;
	bool     done;                   /* the last line has been seen */
	char     esc[REPLY_ESC_MAX];     /* enhanced status code of line 1, or "" */
	char     text[REPLY_TEXT_MAX];   /* "250 2.0.0 Ok" + " more lines", sanitized */
	size_t   text_len;
	bool     cut;                    /* text full, ends in "..." */
	/* The text of the line just fed (after "250-"), raw and not
	 * NUL-terminated, valid until the caller's line buffer changes:
	 * for reading EHLO keywords. */
	const char *line;
	size_t   line_len;
};

enum reply_status { REPLY_BAD = -1, REPLY_MORE = 0, REPLY_DONE = 1 };

void reply_init(struct smtp_reply *);
/* Feed one line without its CRLF. Returns REPLY_MORE while continuation
 * lines are expected, REPLY_DONE on the last line, REPLY_BAD on a line
 * that is not a reply (bad code, bad separator, a code that differs from
 * the first line's, too long, too many lines). After REPLY_DONE the next
 * line starts a new reply. */
enum reply_status reply_feed(struct smtp_reply *, const char *line, size_t len);

/* What an EHLO reply advertises. */
struct smtp_caps {
	bool     pipelining;
	bool     size;
	uint64_t size_max;               /* 0: no limit given */
	bool     eightbitmime;
	bool     starttls;
	bool     smtputf8;
	bool     enhancedstatuscodes;
	bool     dsn;
	bool     chunking;
};
/* Read one EHLO keyword line (the text after "250-" of lines 2..n). */
void caps_parse_line(struct smtp_caps *, const char *text, size_t len);

/* The DSN status ("5.1.1") of a diagnostic that starts with a reply code
 * and an enhanced code ("550 5.1.1 ..."), or with an enhanced code alone
 * ("4.4.1 connection refused ..."); otherwise "<cls>.0.0". cls is 2, 4
 * or 5 and wins over a code of another class. Returns buf. */
const char *reply_dsn(const char *diag, int cls, char *buf, size_t len);

#endif
