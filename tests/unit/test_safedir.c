/* SPDX-License-Identifier: ISC */
/* master/safedir.c: directories opened without following links, through
 * directories nobody else can change. */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "../../master/master.h"

static const char *top;

static void
setup(void)
{
	top = fx_tmpdir("safedir");
	ck_assert_int_eq(chmod(top, 0755), 0);
}

static void
teardown(void)
{
	ck_assert_int_eq(fx_rmtree(top), 0);
}

static const char *
at(const char *rel)
{
	static char buf[4][256];
	static int n;

	n = (n + 1) % 4;
	ck_assert_uint_lt((size_t)snprintf(buf[n], sizeof(buf[n]), "%s/%s", top,
	    rel), sizeof(buf[n]));
	return buf[n];
}

static int
open_(const char *rel, int flags, char *err, size_t errlen)
{
	return safedir_open(at(rel), flags, 0700, err, errlen);
}

START_TEST(plain_directories_open)
{
	char err[512];
	struct stat st;
	int fd;

	ck_assert_int_eq(mkdir(at("a"), 0755), 0);
	ck_assert_int_eq(mkdir(at("a/b"), 0700), 0);
	fd = open_("a/b", 0, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	close(fd);
	/* Doubled and trailing slashes and "." are harmless. */
	fd = safedir_open(at("a//./b/"), 0, 0, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	close(fd);
}
END_TEST

START_TEST(links_are_refused_anywhere)
{
	char err[512];

	ck_assert_int_eq(mkdir(at("real"), 0755), 0);
	ck_assert_int_eq(mkdir(at("real/x"), 0700), 0);
	ck_assert_int_eq(symlink(at("real"), at("link")), 0);
	/* In the middle of the path. */
	ck_assert_int_eq(open_("link/x", 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "link is a symbolic link"));
	/* As the last component, even when asked to create it. */
	ck_assert_int_eq(open_("link", SD_CREATE, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "symbolic link"));
	/* A dangling link is not replaced by a directory. */
	ck_assert_int_eq(symlink(at("nowhere"), at("dangling")), 0);
	ck_assert_int_eq(open_("dangling", SD_CREATE, err, sizeof(err)), -1);
	ck_assert_int_eq(access(at("nowhere"), F_OK), -1);
	/* A file is not a directory. */
	ck_assert_int_eq(close(open(at("file"), O_CREAT | O_WRONLY, 0600)), 0);
	ck_assert_int_eq(open_("file", 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
}
END_TEST

START_TEST(creation)
{
	char err[512];
	struct stat st;
	int fd;

	/* Without SD_PARENTS a missing parent is an error... */
	ck_assert_int_eq(open_("p/q", SD_CREATE, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/p does not exist"));
	/* ... with it, parents are made 0755 and the last with its mode. */
	fd = open_("p/q", SD_CREATE | SD_PARENTS, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	close(fd);
	ck_assert_int_eq(stat(at("p"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	/* Not created without SD_CREATE. */
	ck_assert_int_eq(open_("p/r", 0, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(directories_open_to_others_are_refused)
{
	char err[512];
	int fd;

	ck_assert_int_eq(mkdir(at("g"), 0755), 0);
	ck_assert_int_eq(chmod(at("g"), 0775), 0);
	ck_assert_int_eq(mkdir(at("g/x"), 0700), 0);
	ck_assert_int_eq(open_("g/x", 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "writable by group or others"));
	/* Sticky and open to all, like /tmp: fine when the next one is ours. */
	ck_assert_int_eq(mkdir(at("t"), 0755), 0);
	ck_assert_int_eq(chmod(at("t"), 01777), 0);
	ck_assert_int_eq(mkdir(at("t/x"), 0700), 0);
	fd = open_("t/x", 0, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* The last component is checked only when asked. */
	fd = open_("g", 0, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(open_("g", SD_CHECK_LAST, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not writable by group or others"));
	/* ".." could climb out of what was checked. */
	ck_assert_int_eq(open_("t/../g", 0, err, sizeof(err)), -1);
}
END_TEST

START_TEST(other_owners_are_refused)
{
	char err[512];

	if (geteuid() != 0)
		return;     /* giving a directory away needs root */
	/* Owned by someone else on the way: they could swap what follows. */
	ck_assert_int_eq(mkdir(at("o"), 0755), 0);
	ck_assert_int_eq(mkdir(at("o/x"), 0700), 0);
	ck_assert_int_eq(chown(at("o"), 65534, 65534), 0);
	ck_assert_int_eq(open_("o/x", 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "owned by another user"));
	/* In a sticky directory and someone else's: they could rename it. */
	ck_assert_int_eq(mkdir(at("t"), 0755), 0);
	ck_assert_int_eq(chmod(at("t"), 01777), 0);
	ck_assert_int_eq(mkdir(at("t/theirs"), 0755), 0);
	ck_assert_int_eq(chown(at("t/theirs"), 65534, 65534), 0);
	ck_assert_int_eq(open_("t/theirs", 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "in a directory others can write"));
}
END_TEST

static Suite *
safedir_suite(void)
{
	Suite *s = suite_create("safedir");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, plain_directories_open);
	tcase_add_test(tc, links_are_refused_anywhere);
	tcase_add_test(tc, creation);
	tcase_add_test(tc, directories_open_to_others_are_refused);
	tcase_add_test(tc, other_owners_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(safedir_suite);
