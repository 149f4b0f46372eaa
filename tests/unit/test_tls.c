/* SPDX-License-Identifier: ISC */
/* TLS on a lineio: contexts, a non-blocking handshake between a server
 * and a client lineio over a socketpair, lines both ways, large writes
 * through a full socket, decrypted bytes held by OpenSSL, verification
 * against a CA file, and the discard of plain text before TLS starts.
 * The certificate is made at test time with openssl(1). */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "fixture.h"
#include "event.h"
#include "lineio.h"
#include "util.h"

static const char *dir;
static char cert[PATH_MAX], key[PATH_MAX];
static int sv[2];
static struct lineio srv, cli;

static void
make_cert(void)
{
	dir = fx_tmpdir("tls-test");
	fx_make_cert(dir, "localhost", "localhost", cert, sizeof(cert), key,
	    sizeof(key));
}

static void
rm_cert(void)
{
	ck_assert_int_eq(fx_rmtree(dir), 0);
}

static void
setup(void)
{
	make_cert();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(fd_nonblock(sv[0]), 0);
	ck_assert_int_eq(fd_nonblock(sv[1]), 0);
	lio_init(&srv, sv[0]);
	lio_init(&cli, sv[1]);
}

static void
teardown(void)
{
	lio_free(&srv);
	lio_free(&cli);
	close(sv[0]);
	close(sv[1]);
	rm_cert();
}

/* Drive both handshakes (single-threaded, non-blocking) to the end. */
static void
handshake(int want_srv, int want_cli)
{
	char e1[256] = "", e2[256] = "";
	int rs = 0, rc = 0, i;

	for (i = 0; i < 1000 && (rs == 0 || rc == 0); i++) {
		if (rs == 0)
			rs = lio_tls_handshake(&srv, e1, sizeof(e1));
		if (rc == 0)
			rc = lio_tls_handshake(&cli, e2, sizeof(e2));
	}
	ck_assert_msg(rs == want_srv, "server %d: %s", rs, e1);
	ck_assert_msg(rc == want_cli, "client %d: %s", rc, e2);
}

static SSL_CTX *
server_ctx(void)
{
	char err[256];
	SSL_CTX *ctx = tls_server_ctx(cert, key, err, sizeof(err));

	ck_assert_msg(ctx != NULL, "%s", err);
	return ctx;
}

START_TEST(server_ctx_errors)
{
	char err[256] = "";

	ck_assert_ptr_null(tls_server_ctx("/nonexistent/cert.pem", key, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "certificate"));
	/* The certificate file given as the key: not a key. */
	ck_assert_ptr_null(tls_server_ctx(cert, cert, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "key"));
	ck_assert_ptr_null(tls_server_ctx(NULL, key, err, sizeof(err)));
}
END_TEST

START_TEST(handshake_and_lines)
{
	char err[256], *line;
	SSL_CTX *sctx = server_ctx(), *cctx = tls_client_ctx(false, err, sizeof(err));
	size_t len;
	bool crlf;
	ssize_t n;

	ck_assert_ptr_nonnull(cctx);
	ck_assert_ptr_null(lio_tls_version(&srv));
	ck_assert_int_eq(lio_tls_start(&srv, sctx, true, NULL), 0);
	ck_assert_int_eq(lio_tls_start(&cli, cctx, false, "localhost"), 0);
	/* Started twice: refused. */
	ck_assert_int_eq(lio_tls_start(&cli, cctx, false, "localhost"), -1);
	handshake(1, 1);
	ck_assert_str_eq(lio_tls_version(&srv), "TLSv1.3");
	ck_assert_ptr_nonnull(lio_tls_cipher(&cli));
	ck_assert_int_ge(lio_tls_bits(&cli), 128);
	/* Self-signed, no CA given: the client does not call it verified;
	 * the server asked for no client certificate. */
	ck_assert(!lio_tls_verified(&cli));
	ck_assert(!lio_tls_verified(&srv));

	lio_printf(&cli, "EHLO client\r\nMAIL FROM:<a@b>\r\n");
	ck_assert_int_eq(lio_flush(&cli), 1);
	n = lio_fill(&srv);
	ck_assert_int_eq(n, 30);
	ck_assert_int_eq(lio_getline(&srv, 512, &line, &len, &crlf), LIO_LINE);
	ck_assert_str_eq(line, "EHLO client");
	ck_assert(crlf);
	ck_assert_int_eq(lio_getline(&srv, 512, &line, &len, &crlf), LIO_LINE);
	ck_assert_str_eq(line, "MAIL FROM:<a@b>");
	ck_assert_int_eq(lio_getline(&srv, 512, &line, &len, &crlf), LIO_NONE);
	/* Nothing more: would block, waiting to read. */
	ck_assert_int_eq(lio_fill(&srv), -1);
	ck_assert_int_eq(lio_tls_events(&srv), EV_READ);

	lio_printf(&srv, "250 ok\r\n");
	ck_assert_int_eq(lio_flush(&srv), 1);
	ck_assert_int_gt(lio_fill(&cli), 0);
	ck_assert_int_eq(lio_getline(&cli, 512, &line, &len, &crlf), LIO_LINE);
	ck_assert_str_eq(line, "250 ok");

	/* A clean close is EOF for the reader. */
	lio_tls_shutdown(&cli);
	ck_assert_int_eq(lio_fill(&srv), 0);
	ck_assert(srv.eof);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}
END_TEST

START_TEST(plain_text_before_start_is_discarded)
{
	char err[256], *line;
	SSL_CTX *sctx = server_ctx(), *cctx = tls_client_ctx(false, err, sizeof(err));
	size_t len;
	bool crlf;

	/* The client pipelines a command after STARTTLS, in plain text. */
	ck_assert_int_eq(write_all(sv[1], "STARTTLS\r\nRSET\r\n", 16), 0);
	ck_assert_int_gt(lio_fill(&srv), 0);
	ck_assert_int_eq(lio_getline(&srv, 512, &line, &len, &crlf), LIO_LINE);
	ck_assert_str_eq(line, "STARTTLS");
	ck_assert_uint_eq(lio_buffered(&srv), 6);
	/* Pending output refuses the start (the 220 must go out in plain). */
	lio_printf(&srv, "220 go\r\n");
	ck_assert_int_eq(lio_tls_start(&srv, sctx, true, NULL), -1);
	ck_assert_int_eq(lio_flush(&srv), 1);
	ck_assert_int_eq(lio_tls_start(&srv, sctx, true, NULL), 0);
	ck_assert_uint_eq(lio_buffered(&srv), 0);
	/* The client reads the 220 in plain text, then starts TLS. */
	ck_assert_int_gt(lio_fill(&cli), 0);
	ck_assert_int_eq(lio_getline(&cli, 512, &line, &len, &crlf), LIO_LINE);
	ck_assert_str_eq(line, "220 go");
	ck_assert_int_eq(lio_tls_start(&cli, cctx, false, NULL), 0);
	handshake(1, 1);
	lio_printf(&cli, "NOOP\r\n");
	ck_assert_int_eq(lio_flush(&cli), 1);
	ck_assert_int_gt(lio_fill(&srv), 0);
	ck_assert_int_eq(lio_getline(&srv, 512, &line, &len, &crlf), LIO_LINE);
	ck_assert_str_eq(line, "NOOP");
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}
END_TEST

/* 300 KB through a socket that holds far less: partial writes that are
 * resumed, buffers that move between retries, and decrypted bytes left
 * inside OpenSSL that lio_tls_pending() announces. */
START_TEST(bulk_through_full_socket)
{
	char err[256], *line, expect[200];
	SSL_CTX *sctx = server_ctx(), *cctx = tls_client_ctx(false, err, sizeof(err));
	size_t len, nlines = 3000, got = 0, i;
	bool crlf, saw_pending = false;
	int r;
	ssize_t n;

	ck_assert_int_eq(lio_tls_start(&srv, sctx, true, NULL), 0);
	ck_assert_int_eq(lio_tls_start(&cli, cctx, false, NULL), 0);
	handshake(1, 1);
	for (i = 0; i < nlines; i++)
		lio_printf(&srv, "%06zu %s\r\n", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	for (int round = 0; round < 100000 && got < nlines; round++) {
		r = lio_flush(&srv);
		ck_assert_int_ne(r, -1);
		if (r == 0) {
			ck_assert_int_eq(lio_tls_events(&srv), EV_WRITE);
			/* More output queued while a write waits: allowed. */
			if (round == 0)
				lio_printf(&srv, "extra\r\n");
		}
		do {
			n = lio_fill(&cli);
			ck_assert_int_ne(n, -2);
			while (lio_getline(&cli, 512, &line, &len, &crlf) == LIO_LINE) {
				if (got == 0 && lio_tls_pending(&cli) > 0)
					saw_pending = true;
				if (strcmp(line, "extra") == 0)
					continue;
				snprintf(expect, sizeof(expect), "%06zu ", got);
				ck_assert_int_eq(strncmp(line, expect, 7), 0);
				got++;
			}
		} while (n > 0 || lio_tls_pending(&cli) > 0);
	}
	ck_assert_uint_eq(got, nlines);
	/* The first read had a 1 KiB buffer and a 16 KiB record. */
	ck_assert(saw_pending);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}
END_TEST

START_TEST(verify_with_ca_file)
{
	char err[256];
	SSL_CTX *sctx = server_ctx(), *cctx;

	/* The self-signed certificate is its own CA. */
	setenv("SSL_CERT_FILE", cert, 1);
	cctx = tls_client_ctx(true, err, sizeof(err));
	unsetenv("SSL_CERT_FILE");
	ck_assert_ptr_nonnull(cctx);
	ck_assert_int_eq(lio_tls_start(&srv, sctx, true, NULL), 0);
	ck_assert_int_eq(lio_tls_start(&cli, cctx, false, "localhost"), 0);
	handshake(1, 1);
	ck_assert(lio_tls_verified(&cli));
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}
END_TEST

START_TEST(verify_wrong_name_fails)
{
	char err[256] = "";
	SSL_CTX *sctx = server_ctx(), *cctx;
	int rs = 0, rc = 0, i;

	setenv("SSL_CERT_FILE", cert, 1);
	cctx = tls_client_ctx(true, err, sizeof(err));
	unsetenv("SSL_CERT_FILE");
	ck_assert_ptr_nonnull(cctx);
	ck_assert_int_eq(lio_tls_start(&srv, sctx, true, NULL), 0);
	ck_assert_int_eq(lio_tls_start(&cli, cctx, false, "mx.example.org"), 0);
	for (i = 0; i < 1000 && rc == 0; i++) {
		if (rs == 0)
			rs = lio_tls_handshake(&srv, err, sizeof(err));
		rc = lio_tls_handshake(&cli, err, sizeof(err));
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strstr(err, "verification") != NULL, "%s", err);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}
END_TEST

START_TEST(unverified_mode_reports_not_verified_on_mismatch)
{
	char err[256];
	SSL_CTX *sctx = server_ctx(), *cctx;

	setenv("SSL_CERT_FILE", cert, 1);
	cctx = tls_client_ctx(false, err, sizeof(err));
	unsetenv("SSL_CERT_FILE");
	ck_assert_int_eq(lio_tls_start(&srv, sctx, true, NULL), 0);
	ck_assert_int_eq(lio_tls_start(&cli, cctx, false, "other.example"), 0);
	handshake(1, 1);
	ck_assert(!lio_tls_verified(&cli));
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}
END_TEST

START_TEST(plain_client_against_tls_server)
{
	char err[256] = "";
	SSL_CTX *sctx = server_ctx();
	int r = 0, i;

	ck_assert_int_eq(lio_tls_start(&srv, sctx, true, NULL), 0);
	ck_assert_int_eq(write_all(sv[1], "EHLO plain\r\n", 12), 0);
	for (i = 0; i < 10 && r == 0; i++)
		r = lio_tls_handshake(&srv, err, sizeof(err));
	ck_assert_int_eq(r, -1);
	ck_assert_str_ne(err, "");
	SSL_CTX_free(sctx);
}
END_TEST

START_TEST(peer_gone_during_handshake)
{
	char err[256] = "";
	SSL_CTX *sctx = server_ctx();
	int r;

	ck_assert_int_eq(lio_tls_start(&srv, sctx, true, NULL), 0);
	ck_assert_int_eq(lio_tls_handshake(&srv, err, sizeof(err)), 0);
	close(sv[1]);
	sv[1] = socket(AF_UNIX, SOCK_STREAM, 0);   /* for teardown */
	r = lio_tls_handshake(&srv, err, sizeof(err));
	ck_assert_int_eq(r, -1);
	SSL_CTX_free(sctx);
}
END_TEST

/* A peer that has gone: an error from the writer, never SIGPIPE (the
 * test process does not ignore it). */
START_TEST(write_to_vanished_peer_no_sigpipe)
{
	char err[256];
	SSL_CTX *sctx = server_ctx(), *cctx = tls_client_ctx(false, err, sizeof(err));
	static char big[256 * 1024];
	int r = 0;

	ck_assert_int_eq(lio_tls_start(&srv, sctx, true, NULL), 0);
	ck_assert_int_eq(lio_tls_start(&cli, cctx, false, NULL), 0);
	handshake(1, 1);
	lio_free(&cli);
	close(sv[1]);
	sv[1] = socket(AF_UNIX, SOCK_STREAM, 0);   /* for teardown */
	memset(big, 'x', sizeof(big));
	for (int i = 0; i < 10 && r != -1; i++) {
		lio_write(&srv, big, sizeof(big));
		r = lio_flush(&srv);
	}
	ck_assert_int_eq(r, -1);
	lio_tls_shutdown(&srv);      /* no signal either */
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, server_ctx_errors);
	tcase_add_test(tc, handshake_and_lines);
	tcase_add_test(tc, plain_text_before_start_is_discarded);
	tcase_add_test(tc, bulk_through_full_socket);
	tcase_add_test(tc, verify_with_ca_file);
	tcase_add_test(tc, verify_wrong_name_fails);
	tcase_add_test(tc, unverified_mode_reports_not_verified_on_mismatch);
	tcase_add_test(tc, plain_client_against_tls_server);
	tcase_add_test(tc, peer_gone_during_handshake);
	tcase_add_test(tc, write_to_vanished_peer_no_sigpipe);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(tls_suite);
