/* SPDX-License-Identifier: ISC */
/* See localusers.h. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "localusers.h"
#include "maildate.h"
#include "util.h"

struct localuser {
	uid_t uid;
	size_t seq;                    /* order read: the first of a uid wins */
	char  name[CFG_LOGIN_MAX + 1];
};

static struct localuser *users;
static size_t nusers;

static bool
login_ok(const char *s)
{
	size_t i, n = strnlen(s, CFG_LOGIN_MAX + 1);

	if (n == 0 || n > CFG_LOGIN_MAX || s[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int
by_uid(const void *a, const void *b)
{
	const struct localuser *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorted by uid; of two entries with one uid the first read wins, as
 * getpwuid(3) would answer. */
static void
finish(void)
{
	size_t i, j;

	if (nusers == 0)
		return;                /* qsort(NULL, 0, ...) is undefined */
	qsort(users, nusers, sizeof(*users), by_uid);
	for (i = j = 0; i < nusers; i++)
		if (j == 0 || users[j - 1].uid != users[i].uid)
			users[j++] = users[i];
	nusers = j;
}

size_t
localusers_load(void)
{
	struct passwd *pw;
	size_t cap = 0, read = 0;

	free(users);
	users = NULL;
	nusers = 0;
	setpwent();
	while (read < LOCALUSERS_MAX && (pw = getpwent()) != NULL) {
		read++;
		if (pw->pw_name == NULL || !login_ok(pw->pw_name))
			continue;
		if (nusers == cap) {
			cap = cap ? cap * 2 : 64;
			users = xreallocarray(users, cap, sizeof(*users));
		}
		users[nusers].uid = pw->pw_uid;
		users[nusers].seq = nusers;
		strlcpy(users[nusers].name, pw->pw_name, sizeof(users[0].name));
		nusers++;
	}
	endpwent();
	finish();
	return nusers;
}

void
localusers_set(const uid_t *uids, const char *const *names, size_t n)
{
	size_t i;

	free(users);
	users = n ? xcalloc(n, sizeof(*users)) : NULL;
	nusers = 0;
	for (i = 0; i < n; i++) {
		if (!login_ok(names[i]))
			continue;
		users[nusers].uid = uids[i];
		users[nusers].seq = nusers;
		strlcpy(users[nusers].name, names[i], sizeof(users[0].name));
		nusers++;
	}
	finish();
}

const char *
localusers_name(uid_t uid)
{
	size_t lo = 0, hi = nusers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (users[mid].uid == uid)
			return users[mid].name;
		if (users[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool
trusted(const struct config *cf, const char *name)
{
	size_t i;

	for (i = 0; i < cf->ntrusted_users; i++)
		if (strcmp(cf->trusted_users[i], name) == 0)
			return true;
	return false;
}

enum local_sender
localusers_sender(const struct config *cf, uid_t uid, const char *sender)
{
	const char *name = localusers_name(uid), *at;
	size_t nlen;

	if (sender[0] == '\0')
		return LSENDER_OK;
	if (name == NULL)
		return LSENDER_UNKNOWN_USER;
	if (trusted(cf, name))
		return LSENDER_OK;
	nlen = strlen(name);
	at = strrchr(sender, '@');
	if (at == NULL || (size_t)(at - sender) != nlen ||
	    strncmp(sender, name, nlen) != 0 ||
	    strcasecmp(at + 1, cf->hostname) != 0)
		return LSENDER_FORGED;
	return LSENDER_OK;
}

bool
localusers_default_sender(const struct config *cf, uid_t uid, char *out,
    size_t outlen)
{
	const char *name = localusers_name(uid);
	int n;

	if (name == NULL)
		return false;
	n = snprintf(out, outlen, "%s@%s", name, cf->hostname);
	return n > 0 && (size_t)n < outlen;
}

size_t
localusers_received(char *out, size_t outlen, const char *hostname,
    uid_t uid, const char *proto, const char *msgid, int64_t when)
{
	char date[MAILDATE_LEN];
	int n;

	mail_date(when, date, sizeof(date));
	n = snprintf(out, outlen, "Received: by %s (Empath, from userid %u)\r\n"
	    "\t%s%s%sid %s; %s\r\n", hostname, (unsigned)uid,
	    proto ? "with " : "", proto ? proto : "", proto ? " " : "",
	    msgid, date);
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}
