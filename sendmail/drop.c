/* SPDX-License-Identifier: ISC */
/* The privilege of a setgid installation (the drop group, never a
 * user) and its one use: creating a file in SPOOL/drop. The group is
 * given up at once and taken back only around that, so that nothing
 * else the program does (reading the configuration, talking to the
 * socket, running empathctl) happens with it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dropfile.h"
#include "sendmail.h"

static gid_t real_gid, priv_gid;
static bool privileged;

static void __attribute__((noreturn))
priv_fail(const char *what)
{
	fprintf(stderr, "empath-sendmail: %s: %s\n", what, strerror(errno));
	_exit(EX_OSERR);
}

void
priv_init(void)
{
	real_gid = getgid();
	priv_gid = getegid();
	privileged = real_gid != priv_gid;
	/* The saved set-group-ID keeps priv_gid for priv_raise(). */
	if (privileged && setegid(real_gid) == -1)
		priv_fail("setegid");
}

bool
priv_held(void)
{
	return privileged;
}

void
priv_raise(void)
{
	if (privileged && setegid(priv_gid) == -1)
		priv_fail("setegid");
}

void
priv_lower(void)
{
	if (privileged && setegid(real_gid) == -1)
		priv_fail("setegid");
}

void
priv_giveup(void)
{
	gid_t r, e, s;

	if (setresgid(real_gid, real_gid, real_gid) == -1)
		priv_fail("setresgid");
	if (getresgid(&r, &e, &s) == -1 || r != real_gid || e != real_gid ||
	    s != real_gid) {
		errno = EPERM;
		priv_fail("giving up the group");
	}
	privileged = false;
}

/* Parse "EMPATH-DROP 1", S sender, R rcpt, "" as queued would read a
 * drop file; and the parse must give back exactly the two addresses (a
 * line end inside one would make more lines). 0, or -1 with why set. */
static int
parse_one(const char *sender, const char *rcpt, char *why, size_t whylen)
{
	struct drop_env env;
	size_t len, body;
	char *text;
	int rc;

	len = strlen(DROP_MAGIC) + strlen(sender) + strlen(rcpt) + 8;
	text = malloc(len);
	if (text == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	len = (size_t)snprintf(text, len, "%sS %s\nR %s\n\n", DROP_MAGIC,
	    sender, rcpt);
	rc = dropfile_parse(text, len, &env, &body, why, whylen);
	free(text);
	if (rc == -1)
		return -1;
	if (body != len || env.nrcpts != 1 || strcmp(env.sender, sender) != 0 ||
	    strcmp(env.rcpts[0], rcpt) != 0) {
		snprintf(why, whylen, "recipient: not one address");
		rc = -1;
	}
	drop_env_free(&env);
	return rc;
}

int
sm_check_envelope(const char *sender, char *const *rcpts, size_t n,
    long *bad, char *err, size_t errlen)
{
	char why[256];
	size_t i;

	*bad = -1;
	if (n == 0 || n > DROP_RCPT_MAX) {
		snprintf(err, errlen, "%zu recipients (1 to %d allowed)", n,
		    DROP_RCPT_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (parse_one(sender, rcpts[i], why, sizeof(why)) == 0)
			continue;
		/* dropfile_parse() names the address "sender: " or
		 * "recipient: " and why. */
		if (strncmp(why, "sender: ", 8) == 0) {
			snprintf(err, errlen, "sender <%.300s>: %s", sender,
			    why + 8);
			return -1;
		}
		*bad = (long)i;
		snprintf(err, errlen, "recipient <%.300s>: %s", rcpts[i],
		    strncmp(why, "recipient: ", 11) == 0 ? why + 11 : why);
		return -1;
	}
	return 0;
}

int
sm_drop(const char *spool, const struct drop_env *env, const char *msg,
    size_t len, char *name, size_t namelen, char *err, size_t errlen)
{
	char path[4096], why[256];
	int dfd, rc, saved;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", spool, DROP_SUBDIR) >=
	    sizeof(path)) {
		snprintf(err, errlen, "spool path too long");
		return -1;
	}
	priv_raise();
	/* Readable when we own it; else (mode 1730: the group may create
	 * but not list) a path descriptor, enough for openat/renameat. */
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1 && errno == EACCES)
		dfd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1) {
		saved = errno;
		priv_lower();
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		return -1;
	}
	rc = dropfile_write(dfd, env, msg, len, name, namelen, why,
	    sizeof(why));
	saved = errno;
	priv_lower();
	close(dfd);
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		errno = saved;
	}
	return rc;
}
