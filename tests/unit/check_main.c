/* SPDX-License-Identifier: ISC */
/* The shared main and helpers of the unit tests (fixture.h). */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <regex.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fixture.h"

/* --- temporary directories ------------------------------------------- */

/* Directories to remove at exit, each with the process that made it: a
 * forked check child inherits its parent's list and must leave those. */
#define FX_MAX_DIRS 32
static struct {
	char path[PATH_MAX];
	pid_t pid;
} tmpdirs[FX_MAX_DIRS];
static int atexit_done;

static int
rm_at(int dfd, const char *name)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd, rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0);
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == EACCES) {
		/* A test may leave a directory unreadable to its owner. */
		if (fchmodat(dfd, name, 0700, 0) == 0)
			fd = openat(dfd, name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (rm_at(dirfd(d), e->d_name) == -1)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == -1)
		rc = -1;
	return rc;
}

int
fx_rmtree(const char *path)
{
	char copy[PATH_MAX];
	int i;

	/* path may be the registry's own copy, forgotten below. */
	if (strlcpy(copy, path, sizeof(copy)) >= sizeof(copy)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 0; i < FX_MAX_DIRS; i++)
		if (strcmp(tmpdirs[i].path, copy) == 0)
			tmpdirs[i].path[0] = '\0';
	return rm_at(AT_FDCWD, copy);
}

static void
rm_tmpdirs(void)
{
	int i;

	for (i = 0; i < FX_MAX_DIRS; i++)
		if (tmpdirs[i].path[0] != '\0' && tmpdirs[i].pid == getpid())
			(void)rm_at(AT_FDCWD, tmpdirs[i].path);
}

/* The directory of this run, made by main: check's forked children may
 * end with _exit() (a failed test), so the parent removes what they
 * left in it. */
static const char *rundir;

/* Make and register base/empath-TAG.XXXXXX: its path, or NULL. */
static const char *
make_tmpdir(const char *base, const char *tag)
{
	int i, n;

	for (i = 0; i < FX_MAX_DIRS && tmpdirs[i].path[0] != '\0'; i++)
		;
	if (i == FX_MAX_DIRS) {
		errno = EMFILE;
		return NULL;
	}
	n = snprintf(tmpdirs[i].path, sizeof(tmpdirs[i].path),
	    "%s/empath-%s.XXXXXX", base, tag);
	if (n < 0 || (size_t)n >= sizeof(tmpdirs[i].path) ||
	    mkdtemp(tmpdirs[i].path) == NULL) {
		if (n >= 0 && (size_t)n >= sizeof(tmpdirs[i].path))
			errno = ENAMETOOLONG;
		tmpdirs[i].path[0] = '\0';
		return NULL;
	}
	tmpdirs[i].pid = getpid();
	if (!atexit_done) {
		atexit(rm_tmpdirs);
		atexit_done = 1;
	}
	return tmpdirs[i].path;
}

static const char *
tmpdir_base(void)
{
	const char *base = getenv("TMPDIR");

	return base != NULL && base[0] == '/' ? base : "/tmp";
}

const char *
fx_tmpdir(const char *tag)
{
	const char *base = rundir != NULL ? rundir : tmpdir_base();
	const char *dir = make_tmpdir(base, tag);

	ck_assert_msg(dir != NULL, "temporary directory in %s: %s", base,
	    strerror(errno));
	return dir;
}

/* --- configuration from text ----------------------------------------- */

char *fx_errs[FX_MAX_ERRS];
int fx_nerrs;

void
fx_collect(const char *line)
{
	if (fx_nerrs < FX_MAX_ERRS)
		fx_errs[fx_nerrs++] = strdup(line);
}

void
fx_reset_errs(void)
{
	while (fx_nerrs > 0)
		free(fx_errs[--fx_nerrs]);
}

struct config *
fx_parse(const char *text)
{
	fx_reset_errs();
	return config_parse("t.conf", text, strlen(text), fx_collect);
}

/* --- certificates ------------------------------------------------------ */

void
fx_make_cert(const char *dir, const char *cn, const char *san,
    char *cert, size_t certlen, char *key, size_t keylen)
{
	char subj[256], ext[256];
	const char *argv[20];
	int n = 0, status, fd;
	pid_t pid;

	ck_assert_uint_lt((size_t)snprintf(cert, certlen, "%s/cert.pem", dir),
	    certlen);
	ck_assert_uint_lt((size_t)snprintf(key, keylen, "%s/key.pem", dir),
	    keylen);
	ck_assert_uint_lt((size_t)snprintf(subj, sizeof(subj), "/CN=%s", cn),
	    sizeof(subj));
	argv[n++] = "openssl";
	argv[n++] = "req";
	argv[n++] = "-x509";
	argv[n++] = "-newkey";
	argv[n++] = "ec";
	argv[n++] = "-pkeyopt";
	argv[n++] = "ec_paramgen_curve:prime256v1";
	argv[n++] = "-nodes";
	argv[n++] = "-keyout";
	argv[n++] = key;
	argv[n++] = "-out";
	argv[n++] = cert;
	argv[n++] = "-days";
	argv[n++] = "2";
	argv[n++] = "-subj";
	argv[n++] = subj;
	if (san != NULL) {
		ck_assert_uint_lt((size_t)snprintf(ext, sizeof(ext),
		    "subjectAltName=DNS:%s", san), sizeof(ext));
		argv[n++] = "-addext";
		argv[n++] = ext;
	}
	argv[n] = NULL;
	/* No shell: the paths come from $TMPDIR. */
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		ck_assert_int_eq(errno, EINTR);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "openssl req failed (status %d)", status);
}

/* --- main -------------------------------------------------------------- */

/* Weak, so that a test file with a main of its own still links (and a
 * file with no TEST_SUITES then leaves fx_suites NULL). */
#pragma weak fx_suites
int main(void) __attribute__((weak));

int
main(void)
{
	SRunner *sr = NULL;
	int i, failed;

	if (fx_suites == NULL)
		return EXIT_FAILURE;
	if ((rundir = make_tmpdir(tmpdir_base(), "unit")) == NULL) {
		fprintf(stderr, "temporary directory in %s: %s\n",
		    tmpdir_base(), strerror(errno));
		return EXIT_FAILURE;
	}
	for (i = 0; fx_suites[i] != NULL; i++) {
		if (sr == NULL)
			sr = srunner_create(fx_suites[i]());
		else
			srunner_add_suite(sr, fx_suites[i]());
	}
	if (sr == NULL)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fx_reset_errs();
	(void)fx_rmtree(rundir);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* --- in-memory files and mail text ----------------------------------- */

#include <sys/mman.h>

int
fx_memfile(const char *data, size_t len)
{
	int fd = memfd_create("fx", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	if (len > 0)
		ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	return fd;
}

char *
fx_fd_text(int fd, size_t *lenp)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf;

	ck_assert_int_gt(len, 0);
	buf = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, (size_t)len, 0), len);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)len;
	return buf;
}

void
fx_check_mail_lines(const char *t, bool no_controls)
{
	const char *p = t, *e;

	while ((e = strchr(p, '\n')) != NULL) {
		ck_assert_msg(e > p && e[-1] == '\r', "bare LF near: %.40s", p);
		ck_assert_int_le(e - p - 1, 998);
		for (; no_controls && p < e - 1; p++)
			ck_assert_msg((unsigned char)*p >= 0x20 || *p == '\t',
			    "control 0x%02x", (unsigned char)*p);
		p = e + 1;
	}
	ck_assert_str_eq(p, "");
}

static int fx_saved_stderr = -1, fx_cap[2];
static char fx_out[65536];

void
fx_stderr_capture(void)
{
	ck_assert_int_eq(pipe(fx_cap), 0);
	fx_saved_stderr = dup(2);
	ck_assert_int_eq(dup2(fx_cap[1], 2), 2);
	close(fx_cap[1]);
}

const char *
fx_stderr_captured(void)
{
	ssize_t n;
	size_t off = 0;

	dup2(fx_saved_stderr, 2);
	close(fx_saved_stderr);
	while ((n = read(fx_cap[0], fx_out + off, sizeof(fx_out) - 1 - off)) > 0)
		off += (size_t)n;
	fx_out[off] = '\0';
	close(fx_cap[0]);
	return fx_out;
}

void
fx_assert_matches(const char *s, const char *re)
{
	regex_t rx;

	ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&rx, s, 0, NULL, 0) == 0, "'%s' !~ /%s/", s, re);
	regfree(&rx);
}

const char *
fx_join(char *out, size_t len, char *const *v, size_t n)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strlcat(out, "|", len);
		strlcat(out, v[i], len);
	}
	return out;
}
