/* SPDX-License-Identifier: ISC */
/* See names.h. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "names.h"
#include "util.h"

#define NAMES_MAX       256      /* users remembered */
#define PASSWD_SCAN_MAX 20000    /* entries read looking for group members */

struct name {
	uid_t uid;
	char  name[64];
};

static struct name names[NAMES_MAX];
static size_t nnames;

static void
remember(uid_t uid, const char *name)
{
	size_t i;

	for (i = 0; i < nnames; i++)
		if (names[i].uid == uid)
			return;
	if (nnames == NAMES_MAX)
		return;
	names[nnames].uid = uid;
	log_sanitize(name, names[nnames].name, sizeof(names[nnames].name));
	nnames++;
}

static void
remember_uid(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		remember(uid, pw.pw_name);
}

static void
remember_name(const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		remember(pw.pw_uid, pw.pw_name);
}

void
names_preload(const struct config *cf, gid_t group)
{
	struct group *gr;
	struct passwd *pw;
	size_t i;

	remember_uid(0);
	remember_uid(geteuid());
	if (cf->user != NULL)
		remember_name(cf->user);
	if ((gr = getgrgid(group)) != NULL)
		for (i = 0; gr->gr_mem[i] != NULL && nnames < NAMES_MAX; i++)
			remember_name(gr->gr_mem[i]);
	/* Members by their primary group; a huge directory is not walked. */
	setpwent();
	for (i = 0; i < PASSWD_SCAN_MAX && nnames < NAMES_MAX &&
	    (pw = getpwent()) != NULL; i++)
		if (pw->pw_gid == group)
			remember(pw->pw_uid, pw->pw_name);
	endpwent();
	log_debug("control: %zu user names known for the audit", nnames);
}

void
names_lookup(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	size_t i;

	for (i = 0; i < nnames; i++) {
		if (names[i].uid == uid) {
			strlcpy(buf, names[i].name, len);
			return;
		}
	}
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
		log_sanitize(pw.pw_name, buf, len);
	else
		(void)snprintf(buf, len, "%u", (unsigned)uid);
}
