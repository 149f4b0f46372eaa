/* SPDX-License-Identifier: ISC */
/* What every unit test shares (tests/unit/check_main.c): the main that
 * runs the suites a test file names, temporary directories, configuration
 * from text with its errors collected, and a self-signed certificate. */
#ifndef EMPATH_TEST_FIXTURE_H
#define EMPATH_TEST_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

struct config;

/* A test file lists its suites once, at file scope:
 *	TEST_SUITES(foo_suite, bar_suite);
 * and the shared main runs them all in one runner. */
typedef Suite *(*fx_suite_fn)(void);
extern const fx_suite_fn fx_suites[];
#define TEST_SUITES(...) \
	const fx_suite_fn fx_suites[] = { __VA_ARGS__, NULL }

/* A new directory empath-TAG.XXXXXX in the run's own directory
 * ($TMPDIR/empath-unit.XXXXXX, /tmp when $TMPDIR is not an absolute
 * path), removed with all it holds when the process that made it exits,
 * unless fx_rmtree() removed it before; whatever is left goes with the
 * run's directory when main returns. Fails the test when it cannot be
 * made. */
const char *fx_tmpdir(const char *tag);

/* Remove path and, if it is a directory, all it holds, never following
 * a symbolic link (a link is removed, not its target). 0 or -1. */
int fx_rmtree(const char *path);

/* The error lines of the last configuration parsed through fx_collect,
 * the first FX_MAX_ERRS of them. */
#define FX_MAX_ERRS 64
extern char *fx_errs[FX_MAX_ERRS];
extern int fx_nerrs;
void fx_collect(const char *line);
void fx_reset_errs(void);
/* config_parse() of text as "t.conf", errors in fx_errs; NULL on error. */
struct config *fx_parse(const char *text);

/* A self-signed P-256 certificate for CN cn (and, unless san is NULL,
 * subjectAltName DNS:san) made with openssl(1): dir/cert.pem and
 * dir/key.pem, their paths written to cert and key. Fails the test when
 * it cannot be made. */
void fx_make_cert(const char *dir, const char *cn, const char *san,
    char *cert, size_t certlen, char *key, size_t keylen);

/* An anonymous in-memory file (memfd) holding len octets of data, its
 * offset after them; for code that reads or writes descriptors. Fails
 * the test when it cannot be made. */
int fx_memfile(const char *data, size_t len);
/* The whole content of the file fd, from offset 0, NUL-terminated (to
 * free); its length in *len unless len is NULL. Fails the test when the
 * file is empty or cannot be read. */
char *fx_fd_text(int fd, size_t *len);
/* Mail text (RFC 5322 2.1.1, RFC 5321 4.5.3.1.6): every line ends in
 * CRLF and has at most 998 octets; with no_controls, no control other
 * than CR, LF and TAB appears either. Fails the test otherwise. */
void fx_check_mail_lines(const char *text, bool no_controls);

/* Route fd 2 into a pipe until fx_stderr_captured(), which restores it
 * and returns what was written (the first 64 KiB; a test writes less:
 * the pipe is read only at the end). */
void fx_stderr_capture(void);
const char *fx_stderr_captured(void);
/* s matches the extended regular expression re. */
void fx_assert_matches(const char *s, const char *re);
/* The n strings of v joined by '|' into out (of len octets), to compare
 * a list as one string; out. */
const char *fx_join(char *out, size_t len, char *const *v, size_t n);

#endif
