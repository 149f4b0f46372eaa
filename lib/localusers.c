/* SPDX-License-Identifier: ISC */
/* See localusers.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "localusers.h"
#include "maildate.h"
#include "util.h"

bool
localusers_login_ok(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return false;
	n = strnlen(s, CFG_LOGIN_MAX + 1);
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
localusers_login_sender(const struct config *cf, const char *name,
    const char *sender)
{
	const char *at;
	size_t nlen;

	if (sender[0] == '\0')
		return LSENDER_OK;
	if (!localusers_login_ok(name))
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
localusers_default_sender(const struct config *cf, const char *name,
    char *out, size_t outlen)
{
	int n;

	if (!localusers_login_ok(name))
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
