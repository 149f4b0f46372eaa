/* SPDX-License-Identifier: ISC */
/* Delivery status notifications as RFC 3464 messages: the text of the
 * notice, nothing about the queue (bounce.c decides who is told what and
 * queues the notice). Pure enough to be unit tested: it writes to a
 * descriptor and reads the original message from another. */
#ifndef EMPATH_QUEUED_DSN_H
#define EMPATH_QUEUED_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Action of one recipient (RFC 3464 2.3.3). */
enum dsn_action { DSN_FAILED = 0, DSN_DELAYED, DSN_RELAYED };

/* Octets of the original returned when dsn_info.return_limit is 0 (the
 * default of `dsn { return-limit }`). */
#define DSN_RETURN_LIMIT 51200

struct dsn_rcpt {
	const char     *addr;          /* Final-Recipient */
	const char     *orcpt;         /* ORCPT as given ("rfc822;a@b"), or NULL */
	enum dsn_action action;
	const char     *diag;          /* last reply or error, or NULL */
	const char     *remote;        /* remote MTA ("host[ip]:port"), or NULL */
	uint32_t        attempts;
	int64_t         last_attempt;  /* 0: never tried */
	int64_t         retry_until;   /* delayed: end of the lifetime, 0: none */
};

struct dsn_info {
	const char *reporting_mta;     /* Reporting-MTA and Message-ID domain */
	const char *from;              /* From: (the postmaster address) */
	const char *notice_id;         /* queue id of the notice */
	const char *orig_id;           /* queue id of the original message */
	const char *orig_sender;       /* who is told (To:) */
	const char *envid;             /* ENVID, or NULL */
	int64_t     arrival;           /* when the original was accepted */
	int64_t     now;
	bool        ret_full;          /* RET=FULL: return the whole message */
	bool        smtputf8;          /* the original was sent SMTPUTF8 */
	/* At most this many octets of the original are returned, cut at a
	 * line end: the whole message (RET=FULL) or its header section. */
	size_t      return_limit;
	/* The header fields plugins added at DATA ("Name: value\r\n"
	 * lines, or NULL): put on top of the returned message or header
	 * section, as deliverd puts them on top of what it sends, so the
	 * sender sees what the recipient would. Counted in the limit. */
	const char *headers;
	size_t      nrcpt;
	const struct dsn_rcpt *rcpt;
};

/* Write the notice to fd (plain, or internationalised: dsn_global());
 * the original is read from orig_fd (-1 when its
 * file is gone: the notice then says so and quotes nothing). *eightbit is
 * set when the notice holds 8-bit octets (it must travel as 8BITMIME).
 * Returns 0, or -1 with errno (ENOSPC, EIO...). */
int  dsn_write(int fd, const struct dsn_info *, int orig_fd, bool *eightbit);

/* Is the notice internationalised (RFC 6533)? When the original was
 * SMTPUTF8 or an address in the notice is not ASCII: the report is then
 * message/global-delivery-status, the original message/global or
 * message/global-headers, and the notice must travel as SMTPUTF8. */
bool dsn_global(const struct dsn_info *);

/* The RFC 3463 status of a recipient: the enhanced code of its diagnostic
 * when it has one of the right class, else a generic one ("5.0.0"). */
void dsn_status(const struct dsn_rcpt *, char *out, size_t outlen);

/* The u32 state deliverd reports for one recipient in D_RESULT (after
 * RCPT_POSTPONED, which the caller decodes first), checked: exactly
 * RCPT_DELIVERED, RCPT_DEFERRED or RCPT_FAILED, or RCPT_DELIVERED |
 * RCPT_DSN_PASSED (the next hop took over the recipient's DSN request).
 * Returns 0 with *state and *passed set, -1 for anything else: deliverd
 * is not trusted. */
int  dsn_result_state(uint32_t raw, uint32_t *state, bool *passed);

/* An address for a DSN field: "rfc822;" + the address when it is
 * printable ASCII, else "utf-8;" with each non-ASCII character written
 * as \x{HEX} (RFC 6533); control characters become '?'. */
void dsn_address(const char *addr, char *out, size_t outlen);

#endif
