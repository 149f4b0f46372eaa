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
	size_t   nrcpt;
	struct env_rcpt *rcpt;
};

void env_init(struct envelope *);
void env_clear(struct envelope *);                  /* frees contents */
struct env_rcpt *env_add_rcpt(struct envelope *, const char *addr);
void env_encode(const struct envelope *, struct msgbuf *);
/* Returns 0, or -1 on a malformed payload (env is cleared). */
int  env_decode(struct envelope *, struct msgreader *);

#endif
