/* SPDX-License-Identifier: ISC */
/* TLS on a lineio (see lineio.h): OpenSSL contexts for both sides, the
 * start of TLS on an existing connection (STARTTLS or implicit TLS), the
 * non-blocking handshake and what a session reports about it. Reading
 * and writing through the TLS layer are in lineio.c.
 *
 * Choices: TLS 1.2 and up only; no compression, no renegotiation; the
 * server keeps no session cache and sends no tickets (SMTP sessions are
 * long and few per client; this keeps the per-session memory small);
 * SSL_MODE_RELEASE_BUFFERS gives OpenSSL's record buffers back while a
 * session is idle. CA certificates are read when the context is made, so
 * verification keeps working after chroot. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "event.h"
#include "lineio.h"
#include "util.h"

/* The first queued OpenSSL error as text (then the queue is cleared). */
static void
tls_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (err == NULL || errlen == 0) {
		ERR_clear_error();
		return;
	}
	if (e == 0)
		snprintf(err, errlen, "%s", what);
	else {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	}
	ERR_clear_error();
}

static SSL_CTX *
ctx_common(const SSL_METHOD *method, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(method)) == NULL) {
		tls_err(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		tls_err(err, errlen, "cannot require TLS 1.2");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* lineio retries a write with the same bytes, possibly at a new
	 * address (its buffer may move) and possibly with more after them. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

SSL_CTX *
tls_server_ctx(const char *cert_file, const char *key_file, char *err,
    size_t errlen)
{
	SSL_CTX *ctx;

	if (cert_file == NULL || key_file == NULL) {
		snprintf(err, errlen, "no certificate or key");
		return NULL;
	}
	if ((ctx = ctx_common(TLS_server_method(), err, errlen)) == NULL)
		return NULL;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		tls_err(err, errlen, "cannot load certificate");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errlen, "cannot load key");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "key does not match the certificate");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx(bool verify, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	const char *cafile;

	if ((ctx = ctx_common(TLS_client_method(), err, errlen)) == NULL)
		return NULL;
	/* Load the CA bundle now (a file, read at once), so that it is
	 * there after chroot; SSL_CERT_FILE overrides it as for openssl(1).
	 * Also when verify is off: lio_tls_verified() still reports. */
	cafile = getenv(X509_get_default_cert_file_env());
	if (cafile == NULL || *cafile == '\0')
		cafile = X509_get_default_cert_file();
	if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
		ERR_clear_error();
		if (verify && SSL_CTX_set_default_verify_paths(ctx) != 1) {
			tls_err(err, errlen, "cannot load the CA certificates");
			SSL_CTX_free(ctx);
			return NULL;
		}
		ERR_clear_error();
	}
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return ctx;
}

/* The socket under the TLS layer: OpenSSL's own socket BIO writes with
 * write(2), which raises SIGPIPE when the peer has gone; this one sends
 * with MSG_NOSIGNAL like the plain lineio, so a vanished peer is an
 * error, never a signal, in every program and test. */
static BIO_METHOD *sock_method;

static int
sock_write(BIO *b, const char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == ENOTSOCK)
		n = write(fd, buf, (size_t)len);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)n;
}

static int
sock_read(BIO *b, char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = read(fd, buf, (size_t)len);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	return (int)n;
}

static long
sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)num;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_C_GET_FD:
		if (ptr != NULL)
			*(int *)ptr = (int)(intptr_t)BIO_get_data(b);
		return (int)(intptr_t)BIO_get_data(b);
	default:
		return 0;
	}
}

static int
sock_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO *
sock_bio(int fd)
{
	BIO *b;

	if (sock_method == NULL) {
		sock_method = BIO_meth_new(BIO_get_new_index() |
		    BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "empath socket");
		if (sock_method == NULL ||
		    !BIO_meth_set_write(sock_method, sock_write) ||
		    !BIO_meth_set_read(sock_method, sock_read) ||
		    !BIO_meth_set_ctrl(sock_method, sock_ctrl) ||
		    !BIO_meth_set_create(sock_method, sock_create))
			return NULL;
	}
	if ((b = BIO_new(sock_method)) == NULL)
		return NULL;
	BIO_set_data(b, (void *)(intptr_t)fd);
	return b;
}

/* An IP address literal: no SNI for it (RFC 6066 §3). */
static bool
is_ip_literal(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, buf) == 1 ||
	    inet_pton(AF_INET6, name, buf) == 1;
}

int
lio_tls_start(struct lineio *lio, SSL_CTX *ctx, bool server,
    const char *peer_name)
{
	SSL *ssl;
	BIO *bio;

	if (lio->ssl != NULL || ctx == NULL || lio_out_pending(lio) > 0)
		return -1;
	/* Nothing received in plain text may be read as if it came
	 * through TLS (STARTTLS command injection). */
	lio->in_off = lio->in_len = 0;
	lio->skipping = false;
	if ((ssl = SSL_new(ctx)) == NULL) {
		ERR_clear_error();
		return -1;
	}
	if ((bio = sock_bio(lio->fd)) == NULL)
		goto fail;
	SSL_set_bio(ssl, bio, bio);    /* the SSL owns it, never the fd */
	if (server)
		SSL_set_accept_state(ssl);
	else {
		SSL_set_connect_state(ssl);
		if (peer_name != NULL && *peer_name != '\0') {
			if (!is_ip_literal(peer_name) &&
			    SSL_set_tlsext_host_name(ssl, peer_name) != 1)
				goto fail;
			/* The name the certificate must match (checked when
			 * the context verifies; reported by lio_tls_verified). */
			SSL_set_hostflags(ssl,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (SSL_set1_host(ssl, peer_name) != 1)
				goto fail;
		}
	}
	lio->ssl = ssl;
	lio->tls_want = EV_READ | (server ? 0 : EV_WRITE);
	return 0;
fail:
	ERR_clear_error();
	SSL_free(ssl);
	return -1;
}

int
lio_tls_handshake(struct lineio *lio, char *err, size_t errlen)
{
	int r, e;
	long vr;

	if (lio->ssl == NULL) {
		snprintf(err, errlen, "TLS not started");
		return -1;
	}
	ERR_clear_error();
	r = SSL_do_handshake(lio->ssl);
	if (r == 1) {
		lio->tls_want = 0;
		return 1;
	}
	e = SSL_get_error(lio->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		lio->tls_want = EV_READ;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		lio->tls_want = EV_WRITE;
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			snprintf(err, errlen, "connection closed during the "
			    "TLS handshake");
			ERR_clear_error();
			return -1;
		}
		break;
	default:
		break;
	}
	vr = SSL_get_verify_result(lio->ssl);
	if (!SSL_is_server(lio->ssl) && vr != X509_V_OK &&
	    (SSL_get_verify_mode(lio->ssl) & SSL_VERIFY_PEER)) {
		snprintf(err, errlen, "certificate verification failed: %s",
		    X509_verify_cert_error_string(vr));
		ERR_clear_error();
		return -1;
	}
	tls_err(err, errlen, "TLS handshake failed");
	return -1;
}

int
lio_tls_events(const struct lineio *lio)
{
	return lio->tls_want ? lio->tls_want : EV_READ;
}

const char *
lio_tls_version(const struct lineio *lio)
{
	return lio->ssl ? SSL_get_version(lio->ssl) : NULL;
}

const char *
lio_tls_cipher(const struct lineio *lio)
{
	return lio->ssl ? SSL_get_cipher_name(lio->ssl) : NULL;
}

bool
lio_tls_verified(const struct lineio *lio)
{
	X509 *cert;
	bool ok;

	if (lio->ssl == NULL || !SSL_is_init_finished(lio->ssl))
		return false;
	if ((cert = SSL_get1_peer_certificate(lio->ssl)) == NULL)
		return false;
	ok = SSL_get_verify_result(lio->ssl) == X509_V_OK;
	X509_free(cert);
	return ok;
}

size_t
lio_tls_pending(const struct lineio *lio)
{
	int n;

	if (lio->ssl == NULL)
		return 0;
	n = SSL_pending(lio->ssl);
	return n > 0 ? (size_t)n : 0;
}

int
lio_tls_bits(const struct lineio *lio)
{
	return lio->ssl ? SSL_get_cipher_bits(lio->ssl, NULL) : 0;
}

void
lio_tls_shutdown(struct lineio *lio)
{
	if (lio->ssl == NULL || !SSL_is_init_finished(lio->ssl))
		return;
	/* One attempt, without waiting for the peer's close_notify. */
	(void)SSL_shutdown(lio->ssl);
	ERR_clear_error();
}
