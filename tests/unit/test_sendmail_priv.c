/* SPDX-License-Identifier: ISC */
/* The set-group-ID privilege of empath-sendmail (sendmail/drop.c): a
 * child made to look like a setgid program run by an ordinary user (real
 * gid the user's, effective and saved gid the drop group, uid not root)
 * gives the group up at once, gets it back only while writing into a
 * drop directory only the group may write, and after priv_giveup() can
 * neither write there nor take the group back. Needs root to set that
 * scene up. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dropfile.h"
#include "fixture.h"
#include "sendmail.h"

#define USER_ID   65534          /* nobody */
#define DROP_GID  54321          /* a group nobody is not in */

static char spool[512];

/* spool/drop owned by root:DROP_GID, mode 1730 (as the master makes it),
 * its parents searchable. */
static void
scene(void)
{
	const char *d = fx_tmpdir("priv");
	char drop[600], *p, parent[512];

	snprintf(spool, sizeof(spool), "%s", d);
	snprintf(drop, sizeof(drop), "%s/drop", d);
	ck_assert_int_eq(mkdir(drop, 0700), 0);
	ck_assert_int_eq(chown(drop, 0, DROP_GID), 0);
	ck_assert_int_eq(chmod(drop, 01730), 0);
	/* The test run's directories are private to root: open them. */
	snprintf(parent, sizeof(parent), "%s", d);
	while ((p = strrchr(parent, '/')) != NULL && p != parent) {
		struct stat st;

		ck_assert_int_eq(stat(parent, &st), 0);
		if ((st.st_mode & 0111) != 0111)
			chmod(parent, (st.st_mode & 07777) | 0111);
		*p = '\0';
	}
}

/* In a child: become the setgid program of an ordinary user, run fn,
 * exit with its status. */
static int
as_setgid_user(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		gid_t none[1] = { USER_ID };

		if (setgroups(1, none) == -1 ||
		    setresgid(USER_ID, DROP_GID, DROP_GID) == -1 ||
		    setresuid(USER_ID, USER_ID, USER_ID) == -1)
			_exit(90);
		_exit(fn());
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The real, effective and saved gids are r, e and s. */
static bool
gids_are(gid_t r, gid_t e, gid_t s)
{
	gid_t gr, ge, gs;

	return getresgid(&gr, &ge, &gs) == 0 && gr == r && ge == e && gs == s;
}

static int
write_one(char *name, size_t namelen, char *err, size_t errlen)
{
	char *rcpts[] = { "r@x.example" };
	struct drop_env env = { "nobody@h.example", rcpts, 1 };

	return sm_drop(spool, &env, "Subject: x\n\nx\n", 14, name, namelen, err,
	    errlen);
}

static int
raise_for_the_file_only(void)
{
	char name[64], err[256], path[700];
	struct stat st;

	priv_init();
	if (!gids_are(USER_ID, USER_ID, DROP_GID))
		return 1;
	/* Without the group, the directory refuses us. */
	snprintf(path, sizeof(path), "%s/drop/x", spool);
	if (open(path, O_WRONLY | O_CREAT | O_EXCL, 0644) != -1 ||
	    errno != EACCES)
		return 2;
	if (write_one(name, sizeof(name), err, sizeof(err)) != 0)
		return 3;
	/* Given up again afterwards: the directory is closed to us. */
	if (getegid() != USER_ID)
		return 4;
	snprintf(path, sizeof(path), "%s/drop/%s", spool, name);
	if (stat(path, &st) != -1 || errno != EACCES)
		return 5;
	return 0;
}

static int
giveup_for_good(void)
{
	char name[64], err[256];

	priv_init();
	priv_giveup();
	if (!gids_are(USER_ID, USER_ID, USER_ID))
		return 1;
	if (setegid(DROP_GID) != -1)
		return 2;
	if (write_one(name, sizeof(name), err, sizeof(err)) != -1 ||
	    strstr(err, "Permission denied") == NULL)
		return 3;
	return 0;
}

static int
not_setgid(void)
{
	/* A program that is not setgid: nothing changes, nothing fails. */
	if (setresgid(USER_ID, USER_ID, USER_ID) == -1)
		return 9;
	priv_init();
	priv_raise();
	priv_lower();
	priv_giveup();
	return gids_are(USER_ID, USER_ID, USER_ID) ? 0 : 1;
}

/* Set the scene up and run fn as the setgid program of an ordinary
 * user: it must exit 0. False, nothing done, unless we are root (who
 * alone can set the scene up). */
static bool
in_scene(int (*fn)(void))
{
	if (geteuid() != 0)
		return false;
	scene();
	ck_assert_int_eq(as_setgid_user(fn), 0);
	return true;
}

START_TEST(group_only_for_the_drop_file)
{
	if (!in_scene(raise_for_the_file_only))
		return;
	/* One file, the user's, created with the drop group. */
	{
		char drop[600], path[1024];
		struct dirent *e;
		struct stat st;
		DIR *d;
		int n = 0;

		snprintf(drop, sizeof(drop), "%s/drop", spool);
		ck_assert_ptr_nonnull(d = opendir(drop));
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			n++;
			snprintf(path, sizeof(path), "%.600s/%.64s", drop, e->d_name);
			ck_assert_int_eq(stat(path, &st), 0);
			ck_assert_uint_eq(st.st_uid, USER_ID);
			ck_assert_uint_eq(st.st_gid, DROP_GID);
			ck_assert_uint_eq(st.st_mode & 07777, 0644);
			ck_assert_uint_eq(strlen(e->d_name), DROP_NAME_LEN);
		}
		closedir(d);
		ck_assert_int_eq(n, 1);
	}
}
END_TEST

START_TEST(given_up_for_good)
{
	in_scene(giveup_for_good);
}
END_TEST

START_TEST(plain_install)
{
	in_scene(not_setgid);
}
END_TEST

static Suite *
priv_suite(void)
{
	Suite *s = suite_create("sendmail_priv");
	TCase *tc = tcase_create("setgid");

	tcase_add_test(tc, group_only_for_the_drop_file);
	tcase_add_test(tc, given_up_for_good);
	tcase_add_test(tc, plain_install);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(priv_suite);
