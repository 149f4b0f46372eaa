/* SPDX-License-Identifier: ISC */
/*
 * The public plugin API of Empath, plain C (C99 and later), see
 * empath-plugin(3). A plugin is a shared object that includes this header
 * and declares itself once with EMPATH_PLUGIN():
 *
 *	static int
 *	check_rcpt(em_context *ctx)
 *	{
 *		if (em_context_get(ctx, "score") != NULL) ...
 *		em_context_set_response(ctx, 550, "5.7.1 not here");
 *		return EM_REJECT;
 *	}
 *	EMPATH_PLUGIN(.name = "example", .version = "1.0",
 *	    .validate_rcpt = check_rcpt);
 *
 * and is built with `cc $(pkg-config --cflags empath) -shared -fPIC`. The
 * em_context_* functions are resolved against the daemon that loads the
 * plugin: link with nothing.
 *
 * Strings: every string or buffer an accessor returns belongs to the
 * daemon. It stays valid until the hook or event function that got it
 * returns, or, for em_context_get(), until the same key is set again;
 * copy what must live longer. Strings given to the setters are copied:
 * the caller keeps ownership. Accessors are not thread-safe: call them
 * only from the thread, and during the call, that passed the context.
 */
#ifndef EMPATH_EMPATH_H
#define EMPATH_EMPATH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change of the descriptor or the accessors;
 * the loader refuses a plugin built for another version. */
#define EMPATH_API_VERSION 1

/* What a validation hook returns. */
#define EM_ACCEPT 0
#define EM_REJECT 1

/* Limits the accessors enforce (bytes, not counting the final NUL). */
#define EM_RESPONSE_TEXT_MAX  384   /* text of em_context_set_response() */
#define EM_META_KEY_MAX        64   /* metadata key: [A-Za-z0-9._-] */
#define EM_META_VALUE_MAX    1024   /* metadata value: printable UTF-8 */
#define EM_META_PAIRS_MAX      64   /* metadata pairs per message */
#define EM_HEADER_NAME_MAX     64   /* em_context_add_header() name */
#define EM_HEADER_VALUE_MAX   900   /* and value (printable ASCII, tab) */
#define EM_HEADERS_MAX         16   /* added header fields per message */

/* The call points, hooks then events; em_context_get_point() tells a
 * function serving several of them which one it is in. */
enum em_point {
	/* Validation hooks (smtpd): return EM_ACCEPT or EM_REJECT. */
	EM_VALIDATE_CONNECT = 0,
	EM_VALIDATE_STARTTLS,
	EM_VALIDATE_HELO,
	EM_VALIDATE_MAIL,
	EM_VALIDATE_RCPT,
	EM_VALIDATE_DATA,
	/* Events (smtpd). */
	EM_EVENT_CONNECTION_OPENED,
	EM_EVENT_CONNECTION_CLOSED,
	EM_EVENT_MESSAGE_RECEIVED,
	EM_EVENT_SMTP_ERROR,
	/* Events (queued). */
	EM_EVENT_MESSAGE_QUEUED,
	EM_EVENT_MESSAGE_DEFERRED,
	EM_EVENT_MESSAGE_BOUNCED,
	EM_EVENT_MESSAGE_EXPIRED,
	EM_EVENT_MESSAGE_DELETED,
	/* Events (deliverd). */
	EM_EVENT_DNS_LOOKUP,
	EM_EVENT_DELIVERY_ATTEMPT,
	EM_EVENT_DELIVERY_SUCCESS,
	EM_EVENT_DELIVERY_FAILURE,
	EM_POINT_COUNT
};

/* The transaction a hook or event is about; opaque. */
typedef struct em_context em_context;

typedef int  (*em_hook_fn)(em_context *);
typedef void (*em_event_fn)(em_context *);

/* The descriptor, filled by EMPATH_PLUGIN(); fields left out are NULL. */
struct empath_plugin {
	unsigned int api_version;          /* EMPATH_API_VERSION */
	const char  *name;                 /* the configured name */
	const char  *version;              /* free form, for logs */
	/* Called once after loading with the configured args; argv[0] is
	 * the plugin's name, argv[argc] is NULL. 0 or -1 (the daemon then
	 * does not start). Open files and sockets here. */
	int        (*init)(int argc, char **argv);
	void       (*fini)(void);          /* before unloading; may be NULL */

	em_hook_fn   validate_connect;
	em_hook_fn   validate_starttls;
	em_hook_fn   validate_helo;
	em_hook_fn   validate_mail;
	em_hook_fn   validate_rcpt;
	em_hook_fn   validate_data;

	em_event_fn  on_connection_opened;
	em_event_fn  on_connection_closed;
	em_event_fn  on_message_received;
	em_event_fn  on_smtp_error;

	em_event_fn  on_message_queued;
	em_event_fn  on_message_deferred;
	em_event_fn  on_message_bounced;
	em_event_fn  on_message_expired;
	em_event_fn  on_message_deleted;

	em_event_fn  on_dns_lookup;
	em_event_fn  on_delivery_attempt;
	em_event_fn  on_delivery_success;
	em_event_fn  on_delivery_failure;
};

#if defined(__GNUC__) || defined(__clang__)
#define EMPATH_EXPORT __attribute__((visibility("default"), used))
#else
#define EMPATH_EXPORT
#endif

/* The symbol the loader looks up. */
extern const struct empath_plugin empath_plugin;

/* Declare the plugin, once, at file scope, with designated initialisers
 * of struct empath_plugin: EMPATH_PLUGIN(.name = "x", .init = f, ...). */
#define EMPATH_PLUGIN(...) \
	EMPATH_EXPORT const struct empath_plugin empath_plugin = { \
		.api_version = EMPATH_API_VERSION, __VA_ARGS__ }

/* ---- Accessors ---------------------------------------------------- */

enum em_point em_context_get_point(const em_context *);

/* The message id: in queued and deliverd, and in smtpd from DATA or the
 * first BDAT chunk on (queued assigns it there); before that, in smtpd,
 * the session id. NULL if neither is known. */
const char *em_context_get_id(const em_context *);
/* The envelope sender: "" for the null sender <>, NULL before MAIL. */
const char *em_context_get_sender(const em_context *);
/* The recipients as a NULL-terminated array (never NULL; empty before
 * the first RCPT); *count, if count is not NULL, gets their number. At
 * EM_VALIDATE_RCPT the last one is the recipient being checked. */
const char *const *em_context_get_recipients(const em_context *,
    size_t *count);
/* The message as received (header and body, CRLF line ends), not
 * copied: NULL (and *len 0) where no message exists. */
const unsigned char *em_context_get_data(const em_context *, size_t *len);

/* The reply of a validation hook. code: 4xx or 5xx to go with EM_REJECT,
 * 2xx (at EM_VALIDATE_MAIL and EM_VALIDATE_RCPT only) to go with
 * EM_ACCEPT; a code of the other class than the verdict is ignored.
 * text: printable ASCII, at most EM_RESPONSE_TEXT_MAX bytes, may start
 * with an enhanced status code ("5.7.1 go away"); NULL or "" for the
 * daemon's text. Returns 0, or -1 with errno EINVAL (bad code or text)
 * or EPERM (not a validation hook). A hook rejecting with no response
 * set gets the daemon's generic permanent rejection. */
int em_context_set_response(em_context *, int code, const char *text);
/* The response set so far in this call, or at EM_EVENT_SMTP_ERROR the
 * reply smtpd sent: its text (NULL if none) and code in *code (0 if
 * none; code may be NULL). */
const char *em_context_get_response(const em_context *, int *code);

/* Metadata: key/value strings that belong to the message (keys
 * [A-Za-z0-9._-], 1 to EM_META_KEY_MAX bytes; values printable UTF-8,
 * no control characters, at most EM_META_VALUE_MAX bytes; at most
 * EM_META_PAIRS_MAX pairs). get returns NULL for a key not set. set
 * replaces a value, or removes the key when value is NULL; 0, or -1 with
 * errno EINVAL (malformed) or ENOSPC (too many pairs). */
const char *em_context_get(const em_context *, const char *key);
int em_context_set(em_context *, const char *key, const char *value);

/* The client's connection (smtpd): numeric address ("192.0.2.1",
 * "2001:db8::1"), the HELO/EHLO name (NULL before it), the TLS protocol
 * and cipher ("TLSv1.3", "TLS_AES_256_GCM_SHA384"; NULL without TLS). */
const char *em_context_get_peer_address(const em_context *);
const char *em_context_get_helo(const em_context *);
const char *em_context_get_tls_version(const em_context *);
const char *em_context_get_tls_cipher(const em_context *);

/* A delivery (deliverd events; deferred and bounced where known): the
 * domain, the remote host's name and numeric address, the attempt
 * number (1 for the first, 0 unknown), the remote server's last reply
 * (text, code in *code; NULL and 0 before one) and the TLS of that
 * connection (NULL without TLS). NULL where not known. */
const char *em_context_get_delivery_domain(const em_context *);
const char *em_context_get_delivery_host(const em_context *);
const char *em_context_get_delivery_address(const em_context *);
unsigned int em_context_get_delivery_attempt(const em_context *);
const char *em_context_get_delivery_reply(const em_context *, int *code);
const char *em_context_get_delivery_tls_version(const em_context *);
const char *em_context_get_delivery_tls_cipher(const em_context *);

/* Add a header field on top of the message (EM_VALIDATE_DATA only).
 * name: printable ASCII but ':', at most EM_HEADER_NAME_MAX bytes;
 * value: printable ASCII and tab, no CR or LF, at most
 * EM_HEADER_VALUE_MAX bytes; at most EM_HEADERS_MAX fields. 0, or -1
 * with errno EINVAL, EPERM (another point) or ENOSPC. */
int em_context_add_header(em_context *, const char *name, const char *value);

/* Log a line through the daemon's own logger (syslog or stderr, as the
 * daemon is configured), prefixed with "plugin NAME: ". priority is one
 * of LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO or LOG_DEBUG of
 * <syslog.h> (the daemon's log level filters it); fmt is a printf
 * format, never text from a client. Control characters and octets that
 * are not UTF-8 are escaped, a long line is cut. errno is preserved. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
void em_log(int priority, const char *fmt, ...);

#ifdef __cplusplus
}
#endif

#endif
