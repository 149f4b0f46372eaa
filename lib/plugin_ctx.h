/* SPDX-License-Identifier: ISC */
/* The em_context of <empath/empath.h>, as the daemons fill it: owned
 * copies of every string (but the message data, borrowed), a metadata
 * store with an encoding that can travel with the message, the response
 * of the hook being run and the header fields added at DATA. The
 * em_context_* accessors are implemented in plugin_ctx.c and exported
 * from each daemon that loads plugins (lib/plugin.dynlist). */
#ifndef EMPATH_PLUGIN_CTX_H
#define EMPATH_PLUGIN_CTX_H

#include <stdbool.h>
#include <stddef.h>

#include "empath/empath.h"

struct em_meta {
	char *key, *value;
};
struct em_header {
	char *name, *value;
};

struct em_context {
	enum em_point point;
	char    *id, *sender;
	char   **rcpts;                  /* NULL-terminated, never NULL */
	size_t   nrcpts;
	const unsigned char *data;       /* borrowed */
	size_t   datalen;
	int      resp_code;              /* 0: none */
	char    *resp_text;
	struct em_meta meta[EM_META_PAIRS_MAX];
	size_t   nmeta;
	char    *peer, *helo, *tls_version, *tls_cipher;
	char    *dl_domain, *dl_host, *dl_address, *dl_reply;
	char    *dl_tls_version, *dl_tls_cipher;
	int      dl_reply_code;
	unsigned dl_attempt;
	struct em_header headers[EM_HEADERS_MAX];
	size_t   nheaders;
};

struct em_context *plugin_ctx_new(void);
void plugin_ctx_free(struct em_context *);
/* Before each call: the point, and no response yet. */
void plugin_ctx_begin(struct em_context *, enum em_point);

/* Setters for the daemons (strings copied; NULL clears). */
void plugin_ctx_set_id(struct em_context *, const char *);
void plugin_ctx_set_sender(struct em_context *, const char *);
void plugin_ctx_add_rcpt(struct em_context *, const char *);
void plugin_ctx_clear_rcpts(struct em_context *);
void plugin_ctx_set_data(struct em_context *, const unsigned char *, size_t);
void plugin_ctx_set_peer(struct em_context *, const char *addr,
    const char *helo);
void plugin_ctx_set_tls(struct em_context *, const char *version,
    const char *cipher);
void plugin_ctx_set_delivery(struct em_context *, const char *domain,
    const char *host, const char *address, unsigned attempt);
void plugin_ctx_set_delivery_reply(struct em_context *, int code,
    const char *text, const char *tls_version, const char *tls_cipher);
/* The reply smtpd sent, for EM_EVENT_SMTP_ERROR (not validated: it is
 * the daemon's own). */
void plugin_ctx_set_reply(struct em_context *, int code, const char *text);
/* Forget the message (sender, recipients, data, metadata, headers) for
 * the next transaction of a session; the connection facts stay. */
void plugin_ctx_reset_message(struct em_context *);

/* The metadata as bytes: "key=value\n" per pair, in the order set. The
 * decoder takes exactly that (each key and value valid, no duplicate,
 * at most EM_META_PAIRS_MAX, every line ended) and replaces the
 * context's metadata; on -1 the context is unchanged. The encoding is
 * at most PLUGIN_META_ENCODED_MAX bytes. */
#define PLUGIN_META_ENCODED_MAX \
	(EM_META_PAIRS_MAX * (EM_META_KEY_MAX + EM_META_VALUE_MAX + 2))
char *plugin_meta_encode(const struct em_context *, size_t *lenp);
int   plugin_meta_decode(struct em_context *, const char *, size_t);

/* True if buf holds exactly what plugin_meta_decode() takes: the check
 * a daemon applies to metadata that comes from another daemon. */
bool  plugin_meta_valid(const char *, size_t);

/* The header fields added at DATA as one block: "Name: value\r\n" per
 * field, in the order added; NULL (and *lenp 0) when there are none.
 * plugin_headers_valid() is true for exactly such a block (each name and
 * value valid, at most EM_HEADERS_MAX fields, every line ended by CRLF):
 * deliverd writes it on top of the message. */
#define PLUGIN_HEADERS_ENCODED_MAX \
	(EM_HEADERS_MAX * (EM_HEADER_NAME_MAX + EM_HEADER_VALUE_MAX + 4))
char *plugin_headers_encode(const struct em_context *, size_t *lenp);
bool  plugin_headers_valid(const char *, size_t);

/* The validators the accessors use, for the daemons' own checks. */
bool plugin_meta_key_ok(const char *);
bool plugin_meta_value_ok(const char *, size_t);
bool plugin_header_name_ok(const char *);
bool plugin_header_value_ok(const char *);
bool plugin_response_text_ok(const char *);

#endif
