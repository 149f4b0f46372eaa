/* SPDX-License-Identifier: ISC */
/* dropfile_write() (lib/dropfile_write.c, the format of lib/dropfile.h):
 * the file byte for byte, its mode and name, nothing left behind when it
 * fails; and sm_check_envelope() (sendmail/drop.c), which refuses before
 * anything is written an envelope queued would quarantine. */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dropfile.h"
#include "fixture.h"
#include "sendmail.h"

static char err[256];

/* The names in dir, joined by '|' (sorted: at most one or two here). */
static const char *
names(const char *dir)
{
	static char out[1024];
	struct dirent *e;
	DIR *d = opendir(dir);

	ck_assert_ptr_nonnull(d);
	out[0] = '\0';
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (out[0] != '\0')
			strlcat(out, "|", sizeof(out));
		strlcat(out, e->d_name, sizeof(out));
	}
	closedir(d);
	return out;
}

static char *
file_text(const char *dir, const char *name, size_t *len)
{
	char path[512];
	char *s;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	s = fx_fd_text(fd, len);
	close(fd);
	return s;
}

static bool
name_form(const char *n)
{
	size_t i;

	if (strlen(n) != DROP_NAME_LEN)
		return false;
	for (i = 0; i < DROP_NAME_LEN; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return false;
	return true;
}

/* One recipient, the envelope most tests write. */
static char *one_rcpt[] = { "r@x.example" };
static struct drop_env one_env = { "s@x.example", one_rcpt, 1 };

/* dir opened with flags | O_DIRECTORY. */
static int
open_dir(const char *dir, int flags)
{
	int dfd = open(dir, flags | O_DIRECTORY);

	ck_assert_int_ge(dfd, 0);
	return dfd;
}

/* dropfile_write() of msg into dfd returns want. */
static void
write_is(int want, int dfd, const struct drop_env *env, const char *msg,
    size_t len, char *name, size_t namelen)
{
	err[0] = '\0';
	ck_assert_msg(dropfile_write(dfd, env, msg, len, name, namelen, err,
	    sizeof(err)) == want, "dropfile_write() is not %d: %s", want, err);
}

/* sm_check_envelope() of sender and rcpts returns want, with the index
 * bad unless that is ANY_IDX. */
#define ANY_IDX 99
static void
envelope_is(int want, long bad, const char *sender, char **rcpts, size_t n)
{
	long idx = 99;

	ck_assert_int_eq(sm_check_envelope(sender, rcpts, n, &idx, err,
	    sizeof(err)), want);
	if (bad != ANY_IDX)
		ck_assert_int_eq(idx, bad);
}

START_TEST(content_byte_for_byte)
{
	const char *dir = fx_tmpdir("drop");
	char *rcpts[] = { "c@d.example", "\"e f\"@g.example" };
	struct drop_env env = { "a@b.example", rcpts, 2 };
	const char msg[] = "Subject: x\r\n\r\nbody\nwith\0nul\n";
	const char want[] = "EMPATH-DROP 1\nS a@b.example\nR c@d.example\n"
	    "R \"e f\"@g.example\n\nSubject: x\r\n\r\nbody\nwith\0nul\n";
	char name[DROP_NAME_LEN + 1], *text;
	size_t len;
	int dfd = open_dir(dir, O_RDONLY);

	write_is(0, dfd, &env, msg, sizeof(msg) - 1, name, sizeof(name));
	ck_assert_msg(name_form(name), "name %s", name);
	/* Only the final name: no temporary dot file left. */
	ck_assert_str_eq(names(dir), name);
	text = file_text(dir, name, &len);
	ck_assert_uint_eq(len, sizeof(want) - 1);
	ck_assert(memcmp(text, want, len) == 0);
	free(text);
	close(dfd);
}
END_TEST

START_TEST(null_sender)
{
	const char *dir = fx_tmpdir("drop");
	char *rcpts[] = { "postmaster@x.example" };
	struct drop_env env = { "", rcpts, 1 };
	char name[64], *text;
	int dfd = open_dir(dir, O_RDONLY);

	write_is(0, dfd, &env, "b\n", 2, name, sizeof(name));
	text = file_text(dir, name, NULL);
	ck_assert_str_eq(text, "EMPATH-DROP 1\nS \nR postmaster@x.example\n\nb\n");
	free(text);
	close(dfd);
}
END_TEST

START_TEST(mode_whatever_the_umask)
{
	const char *dir = fx_tmpdir("drop");
	char name[64], path[512];
	struct stat st;
	int dfd = open_dir(dir, O_RDONLY);

	umask(077);
	write_is(0, dfd, &one_env, "m\n", 2, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_uint_eq(st.st_nlink, 1);
	close(dfd);
}
END_TEST

START_TEST(names_differ)
{
	const char *dir = fx_tmpdir("drop");
	char a[64], b[64];
	int dfd = open_dir(dir, O_RDONLY);

	write_is(0, dfd, &one_env, "1", 1, a, sizeof(a));
	write_is(0, dfd, &one_env, "2", 1, b, sizeof(b));
	ck_assert_str_ne(a, b);
	ck_assert(name_form(a) && name_form(b));
	close(dfd);
}
END_TEST

/* A directory its group may write and search but not read (mode 1730)
 * is opened with O_PATH: the file is still written and renamed. */
START_TEST(path_descriptor)
{
	const char *dir = fx_tmpdir("drop");
	char name[64];
	int dfd = open_dir(dir, O_PATH);

	write_is(0, dfd, &one_env, "m\n", 2, name, sizeof(name));
	ck_assert_str_eq(names(dir), name);
	close(dfd);
}
END_TEST

START_TEST(refused_envelopes)
{
	const char *dir = fx_tmpdir("drop");
	char *bad_nl[] = { "r@x.example\nR other@y.example" };
	char *bad_cr[] = { "r@x.example\r" };
	char *empty[] = { "" };
	char *good[] = { "r@x.example" };
	char longer[DROP_ADDR_MAX + 2];
	char *too_long[] = { longer };
	char **many = calloc(DROP_RCPT_MAX + 1, sizeof(char *));
	struct drop_env env;
	char name[64];
	size_t i;
	int dfd = open_dir(dir, O_RDONLY);

	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	struct { const char *sender; char **r; size_t n; } cases[] = {
		{ "s@x", bad_nl, 1 }, { "s@x", bad_cr, 1 }, { "s@x", empty, 1 },
		{ "s@x", good, 0 }, { "s@x", too_long, 1 },
		{ "s@x\nR evil@x", good, 1 }, { " s@x", good, 1 },
		{ "s@x", many, DROP_RCPT_MAX + 1 },
	};
	for (i = 0; i < DROP_RCPT_MAX + 1; i++)
		many[i] = "r@x.example";
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env.sender = (char *)cases[i].sender;
		env.rcpts = cases[i].r;
		env.nrcpts = cases[i].n;
		write_is(-1, dfd, &env, "m", 1, name, sizeof(name));
		ck_assert_msg(err[0] != '\0', "case %zu: no error", i);
	}
	/* A name buffer too small for the name. */
	env.sender = "s@x";
	env.rcpts = good;
	env.nrcpts = 1;
	write_is(-1, dfd, &env, "m", 1, name, DROP_NAME_LEN);
	ck_assert_str_eq(names(dir), "");
	/* DROP_RCPT_MAX itself is fine. */
	env.rcpts = many;
	env.nrcpts = DROP_RCPT_MAX;
	write_is(0, dfd, &env, "m", 1, name, sizeof(name));
	free(many);
	close(dfd);
}
END_TEST

/* A write that fails halfway (a file size limit) leaves nothing. */
START_TEST(no_temporary_left_on_failure)
{
	const char *dir = fx_tmpdir("drop");
	char *big = calloc(1, 1 << 20);
	pid_t pid;
	int status;

	memset(big, 'x', (1 << 20) - 1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { 4096, 4096 };
		char name[64];
		int dfd = open(dir, O_RDONLY | O_DIRECTORY);

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(2);
		if (dropfile_write(dfd, &one_env, big, (1 << 20) - 1, name,
		    sizeof(name), err, sizeof(err)) != -1)
			_exit(3);
		_exit(strstr(err, "write") != NULL && name[0] == '\0' ? 0 : 4);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %d", status);
	ck_assert_str_eq(names(dir), "");
	free(big);
}
END_TEST

START_TEST(unwritable_directory)
{
	char name[64];
	int dfd = open_dir("/proc/self", O_RDONLY);

	write_is(-1, dfd, &one_env, "m", 1, name, sizeof(name));
	ck_assert_ptr_nonnull(strstr(err, "create"));
	close(dfd);
}
END_TEST

/* What dropfile_parse() refuses, refused with the address named: every
 * envelope sm_check_envelope() lets through, queued reads back. */
START_TEST(envelope_checked_as_queued_reads_it)
{
	char *good[] = { "a@sink.test", "\"c d\"@sink.test",
	    "j\xc3\xb6rg@sink.test" };
	char *bad[] = { "a@sink.test", "a..b@sink.test", "c@sink.test" };
	char *nodomain[] = { "postmaster" };
	char *twolines[] = { "a@sink.test\nR b@sink.test" };
	const char *dir = fx_tmpdir("drop");
	struct drop_env env = { "s@host.test", good, 3 }, back;
	char name[64], path[512], *text;
	size_t len, body;
	int dfd;

	envelope_is(0, ANY_IDX, "s@host.test", good, 3);
	envelope_is(0, ANY_IDX, "", good, 1);
	/* ...and the file written of it parses. */
	dfd = open_dir(dir, O_RDONLY);
	write_is(0, dfd, &env, "m\n", 2, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = file_text(dir, name, &len);
	ck_assert_int_eq(dropfile_parse(text, len, &back, &body, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(back.nrcpts, 3);
	drop_env_free(&back);
	free(text);
	close(dfd);

	envelope_is(-1, 1, "s@host.test", bad, 3);
	ck_assert_ptr_nonnull(strstr(err, "<a..b@sink.test>"));
	/* The address is what dropfile_parse() names, not the format. */
	ck_assert_ptr_null(strstr(err, "recipient: recipient"));
	envelope_is(-1, 0, "s@host.test", nodomain, 1);
	envelope_is(-1, 0, "s@host.test", twolines, 1);
	/* The sender: index -1. */
	envelope_is(-1, -1, "x..y@host.test", good, 1);
	ck_assert_ptr_nonnull(strstr(err, "sender <x..y@host.test>"));
	envelope_is(-1, ANY_IDX, "s@host.test", good, 0);
}
END_TEST

static Suite *
drop_suite(void)
{
	Suite *s = suite_create("sendmail_drop");
	TCase *tc = tcase_create("dropfile_write");

	tcase_add_test(tc, content_byte_for_byte);
	tcase_add_test(tc, null_sender);
	tcase_add_test(tc, mode_whatever_the_umask);
	tcase_add_test(tc, names_differ);
	tcase_add_test(tc, path_descriptor);
	tcase_add_test(tc, refused_envelopes);
	tcase_add_test(tc, no_temporary_left_on_failure);
	tcase_add_test(tc, unwritable_directory);
	tcase_add_test(tc, envelope_checked_as_queued_reads_it);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(drop_suite);
