/* SPDX-License-Identifier: ISC */
/* A message's envelope as it travels smtpd -> queued -> deliverd. */
#ifndef EMPATH_ENVELOPE_H
#define EMPATH_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "channel.h"

#define ULID_LEN 26

/* RFC 3461 NOTIFY bits; 0 means not given. */
#define DSN_NOTIFY_NEVER   0x1
#define DSN_NOTIFY_SUCCESS 0x2
#define DSN_NOTIFY_FAILURE 0x4
#define DSN_NOTIFY_DELAY   0x8
enum dsn_ret { DSN_RET_UNSET = 0, DSN_RET_FULL, DSN_RET_HDRS };

struct env_rcpt {
	uint64_t id;          /* queue row id; 0 before commit */
	char    *addr;        /* without angle brackets */
	char    *orcpt;       /* RFC 3461 ORCPT, NULL if not given */
	uint32_t notify;
	uint32_t state;       /* enum rcpt_state */
	uint32_t attempts;
};

struct envelope {
	char     id[ULID_LEN + 1];
	char    *sender;      /* "" for the null path <> */
	char    *helo;
	char    *client_addr; /* textual address of the SMTP client */
	char    *client_name; /* reverse name or "unknown" */
	char    *body;        /* "7BIT", "8BITMIME", "BINARYMIME" or NULL */
	char    *envid;       /* RFC 3461 ENVID or NULL */
	uint32_t ret;         /* enum dsn_ret */
	uint32_t smtputf8;
	uint64_t size;        /* bytes in the message file */
	int64_t  created;     /* wall seconds */
	/* What smtpd's plugins left with the message (plugin_ctx.h): their
	 * metadata ("key=value\n" lines) and the header fields they added
	 * ("Name: value\r\n" lines, written on top of the message when it
	 * is sent). NULL: none. */
	char    *meta;
	char    *headers;
	size_t   nrcpt;
	struct env_rcpt *rcpt;
	size_t   rcpt_cap;    /* allocated entries of rcpt (env_add_rcpt) */
};

/* Limits a decoded envelope must respect. */
#define ENV_MAX_RCPT 100000
#define ENV_MAX_STR  4096      /* any other string of the envelope */
#define ENV_MAX_META 70000     /* >= PLUGIN_META_ENCODED_MAX */
#define ENV_MAX_HEADERS 16000  /* >= PLUGIN_HEADERS_ENCODED_MAX */

void env_init(struct envelope *);
void env_clear(struct envelope *);                  /* frees contents */
/* Append a recipient (addr is copied; the other fields are zero). The
 * returned pointer is valid until the next env_add_rcpt. */
struct env_rcpt *env_add_rcpt(struct envelope *, const char *addr);
/* Wire layout: str id, str sender, str helo, str client_addr,
 * str client_name, str body, str envid, u32 ret, u32 smtputf8, u64 size,
 * u64 created, str meta, str headers, u32 nrcpt, then nrcpt * (u64 id, str addr, str orcpt,
 * u32 notify, u32 state, u32 attempts). NULL strings travel as "". */
void env_encode(const struct envelope *, struct msgbuf *);
/* Octets env_encode() writes: in all; for everything but the
 * recipients (with their count); for one recipient of this address and
 * ORCPT (NULL: none). smtpd keeps a transaction within one frame with
 * these. */
size_t env_wire_size(const struct envelope *);
size_t env_base_wire_size(const struct envelope *);
size_t env_rcpt_wire_size(const char *addr, const char *orcpt);
/* Decode an envelope that makes up the rest of the payload. env is
 * overwritten (initialised here: clear an old content first); strings are
 * copied, "" for body, envid,
 * client_name and orcpt becomes NULL. Returns 0, or -1 on a malformed
 * payload: short, trailing bytes, id not a ULID (or ""), more than
 * ENV_MAX_RCPT recipients, an empty recipient, a string over
 * ENV_MAX_STR, metadata or header fields plugin_meta_valid() or
 * plugin_headers_valid() refuse, an out-of-range ret/notify/state, or an ORCPT not of the
 * form "type;address" (type: letters, digits, "-"; no control
 * characters) (env is cleared). */
int  env_decode(struct envelope *, struct msgreader *);

#endif
