/* SPDX-License-Identifier: ISC */
/* See auth.h. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "channel.h"
#include "config.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "wire_ctl.h"

#define HASH_LEN 32                  /* SHA-256 */

static struct {
	uint8_t (*hash)[HASH_LEN];
	char    (*hex)[2 * HASH_LEN + 1];
	size_t  n;
	gid_t   group;
	bool    have_group;
	uid_t   owner;                   /* 0 when started as root */
} A;

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
decode(const char *hex, uint8_t out[HASH_LEN])
{
	int hi, lo;
	size_t i;

	if (strlen(hex) != 2 * HASH_LEN)
		return false;
	for (i = 0; i < HASH_LEN; i++) {
		if ((hi = hexval(hex[2 * i])) < 0 || (lo = hexval(hex[2 * i + 1])) < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

size_t
auth_setup(char *const *hex, size_t n, gid_t group, uid_t owner)
{
	size_t i;

	free(A.hash);
	free(A.hex);
	A.hash = n ? xcalloc(n, sizeof(*A.hash)) : NULL;
	A.hex = n ? xcalloc(n, sizeof(*A.hex)) : NULL;
	A.n = 0;
	for (i = 0; i < n; i++) {
		if (!decode(hex[i], A.hash[A.n])) {
			log_warnx("control: token-hash %zu is not 64 hex digits, "
			    "ignored", i + 1);
			continue;
		}
		strlcpy(A.hex[A.n], hex[i], sizeof(A.hex[A.n]));
		A.n++;
	}
	A.group = group;
	A.have_group = true;
	A.owner = owner;
	return A.n;
}

size_t
auth_configure(const struct config *cf)
{
	struct group gr, *gres = NULL;
	struct passwd pw, *pres = NULL;
	char buf[16384];
	gid_t gid = getegid();
	bool have = true;
	size_t n;

	/* The group the master gave the socket (master/sockets.c). */
	if (cf->control_group != NULL) {
		if (getgrnam_r(cf->control_group, &gr, buf, sizeof(buf), &gres) == 0 &&
		    gres != NULL)
			gid = gr.gr_gid;
		else {
			log_warnx("control: unknown group %s: only root and the "
			    "owner may use the control socket", cf->control_group);
			have = false;
		}
	} else if (geteuid() == 0) {
		if (getpwnam_r(cf->user, &pw, buf, sizeof(buf), &pres) == 0 &&
		    pres != NULL)
			gid = pw.pw_gid;
		else
			have = false;
	}
	n = auth_setup(cf->token_hashes, cf->ntoken_hashes, gid, geteuid());
	A.have_group = have;
	/* Hash once now: OpenSSL loads what it needs (configuration,
	 * providers) before the chroot hides it. */
	(void)auth_token_check("", 0);
	if (have)
		log_debug("control: root, uid %u and group %u may use the "
		    "control socket", (unsigned)A.owner, (unsigned)A.group);
	return n;
}

size_t
auth_ntokens(void)
{
	return A.n;
}

gid_t
auth_group(void)
{
	return A.group;
}

bool
auth_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups)
{
	size_t i;

	if (uid == 0 || uid == A.owner)
		return true;
	if (!A.have_group)
		return false;
	if (gid == A.group)
		return true;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == A.group)
			return true;
	return false;
}

int
auth_token_check(const void *token, size_t len)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int found = -1;
	size_t i;

	if (EVP_Digest(token, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != HASH_LEN) {
		log_warnx("control: SHA-256 failed");
		return -1;
	}
	/* No early exit: the time does not tell which hash matched. */
	for (i = 0; i < A.n; i++)
		if (CRYPTO_memcmp(md, A.hash[i], HASH_LEN) == 0)
			found = (int)i;
	OPENSSL_cleanse(md, sizeof(md));
	return found;
}

int
auth_token_frame(const struct chan_msg *m)
{
	struct wire_auth w;
	int found = -1;

	if (wire_auth_decode(m, &w) == 0)
		found = auth_token_check(w.token, strlen(w.token));
	/* The payload is the channel's own writable buffer (const in the
	 * message only so that handlers do not change frames by mistake). */
	if (m->len > 0)
		explicit_bzero((void *)(uintptr_t)m->data, m->len);
	return found;
}

void
auth_fingerprint(int i, char *buf, size_t len)
{
	if (i < 0 || (size_t)i >= A.n)
		(void)snprintf(buf, len, "invalid");
	else
		(void)snprintf(buf, len, "#%d:%.8s", i + 1, A.hex[i]);
}
