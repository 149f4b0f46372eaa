/* SPDX-License-Identifier: ISC */
/* The envelope and its wire form (layout in envelope.h). Decoding treats
 * the payload as hostile: every length, count and enum is checked, and a
 * failure leaves nothing allocated. */
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "plugin_ctx.h"
#include "proto.h"
#include "ulid.h"
#include "util.h"

_Static_assert(ENV_MAX_META >= PLUGIN_META_ENCODED_MAX, "metadata limit");
_Static_assert(ENV_MAX_HEADERS >= PLUGIN_HEADERS_ENCODED_MAX,
    "header fields limit");

/* A lower bound of the wire size of one recipient: u64, two strings of
 * at least their u32 length, three u32. */
#define RCPT_MIN_WIRE (8 + 4 + 4 + 4 + 4 + 4)

#define DSN_NOTIFY_ALL (DSN_NOTIFY_NEVER | DSN_NOTIFY_SUCCESS | \
                        DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY)

void
env_init(struct envelope *env)
{
	memset(env, 0, sizeof(*env));
}

void
env_clear(struct envelope *env)
{
	size_t i;

	for (i = 0; i < env->nrcpt; i++) {
		free(env->rcpt[i].addr);
		free(env->rcpt[i].orcpt);
	}
	free(env->rcpt);
	free(env->sender);
	free(env->helo);
	free(env->client_addr);
	free(env->client_name);
	free(env->body);
	free(env->envid);
	free(env->meta);
	free(env->headers);
	env_init(env);
}

struct env_rcpt *
env_add_rcpt(struct envelope *env, const char *addr)
{
	struct env_rcpt *r;
	size_t ncap;

	if (env->nrcpt >= env->rcpt_cap) {
		ncap = env->rcpt_cap ? env->rcpt_cap * 2 : 8;
		if (ncap <= env->nrcpt)
			ncap = env->nrcpt + 1;
		env->rcpt = xreallocarray(env->rcpt, ncap, sizeof(*env->rcpt));
		env->rcpt_cap = ncap;
	}
	r = &env->rcpt[env->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->addr = xstrdup(addr ? addr : "");
	return r;
}

void
env_encode(const struct envelope *env, struct msgbuf *mb)
{
	size_t i;

	mb_str(mb, env->id);
	mb_str(mb, env->sender);
	mb_str(mb, env->helo);
	mb_str(mb, env->client_addr);
	mb_str(mb, env->client_name);
	mb_str(mb, env->body);
	mb_str(mb, env->envid);
	mb_u32(mb, env->ret);
	mb_u32(mb, env->smtputf8);
	mb_u64(mb, env->size);
	mb_u64(mb, (uint64_t)env->created);
	mb_str(mb, env->meta);
	mb_str(mb, env->headers);
	if (env->nrcpt > UINT32_MAX) {
		mb->err = true;
		return;
	}
	mb_u32(mb, (uint32_t)env->nrcpt);
	for (i = 0; i < env->nrcpt; i++) {
		const struct env_rcpt *r = &env->rcpt[i];

		mb_u64(mb, r->id);
		mb_str(mb, r->addr);
		mb_str(mb, r->orcpt);
		mb_u32(mb, r->notify);
		mb_u32(mb, r->state);
		mb_u32(mb, r->attempts);
	}
}

/* What mb_str() writes for s: u32 length, the bytes, a NUL. */
static size_t
str_wire_size(const char *s)
{
	return 4 + (s ? strlen(s) : 0) + 1;
}

/* Each size below follows env_encode() field by field: change them
 * together (test_wire checks they agree). */
size_t
env_rcpt_wire_size(const char *addr, const char *orcpt)
{
	return 8 + str_wire_size(addr) + str_wire_size(orcpt) + 4 + 4 + 4;
}

size_t
env_base_wire_size(const struct envelope *env)
{
	return str_wire_size(env->id) + str_wire_size(env->sender) +
	    str_wire_size(env->helo) + str_wire_size(env->client_addr) +
	    str_wire_size(env->client_name) + str_wire_size(env->body) +
	    str_wire_size(env->envid) + 4 + 4 + 8 + 8 +
	    str_wire_size(env->meta) + str_wire_size(env->headers) + 4;
}

size_t
env_wire_size(const struct envelope *env)
{
	size_t i, n = env_base_wire_size(env);

	for (i = 0; i < env->nrcpt; i++)
		n += env_rcpt_wire_size(env->rcpt[i].addr, env->rcpt[i].orcpt);
	return n;
}

/* A bounded copy of the next string; NULL (err set) when too long. */
static char *
get_str_max(struct msgreader *r, bool empty_is_null, size_t max)
{
	const char *s = mr_str(r);

	if (r->err)
		return NULL;
	if (strnlen(s, max + 1) > max) {
		r->err = true;
		return NULL;
	}
	if (empty_is_null && *s == '\0')
		return NULL;
	return xstrdup(s);
}

static char *
get_str(struct msgreader *r, bool empty_is_null)
{
	return get_str_max(r, empty_is_null, ENV_MAX_STR);
}

/* An ORCPT as smtpd stores it (lib/smtp_dsn.c): "type;address", the
 * type an atom of letters, digits and "-" (RFC 3461 4.2), the decoded
 * address free of controls. deliverd writes it into a command line. */
static bool
orcpt_valid(const char *s)
{
	const char *p = s;

	for (; *p != ';'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-'))
			return false;     /* the NUL too: no ";" */
	if (p == s)
		return false;
	for (p++; *p != '\0'; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			return false;
	return true;
}

int
env_decode(struct envelope *env, struct msgreader *r)
{
	const char *id;
	uint32_t n, i;

	env_init(env);
	id = mr_str(r);
	if (r->err || (*id != '\0' && !ulid_valid(id)))
		goto bad;
	strlcpy(env->id, id, sizeof(env->id));
	env->sender = get_str(r, false);
	env->helo = get_str(r, false);
	env->client_addr = get_str(r, false);
	env->client_name = get_str(r, true);
	env->body = get_str(r, true);
	env->envid = get_str(r, true);
	env->ret = mr_u32(r);
	env->smtputf8 = mr_u32(r);
	env->size = mr_u64(r);
	env->created = (int64_t)mr_u64(r);
	env->meta = get_str_max(r, true, ENV_MAX_META);
	env->headers = get_str_max(r, true, ENV_MAX_HEADERS);
	n = mr_u32(r);
	if (r->err || env->ret > DSN_RET_HDRS || env->smtputf8 > 1)
		goto bad;
	/* Both reach other plugins and the message on the wire. */
	if ((env->meta != NULL &&
	    !plugin_meta_valid(env->meta, strlen(env->meta))) ||
	    (env->headers != NULL &&
	    !plugin_headers_valid(env->headers, strlen(env->headers))))
		goto bad;
	/* Refuse counts the payload cannot hold before allocating for them. */
	if (n > ENV_MAX_RCPT || (size_t)n > (r->len - r->off) / RCPT_MIN_WIRE)
		goto bad;
	for (i = 0; i < n; i++) {
		struct env_rcpt *rc;
		uint64_t rid = mr_u64(r);
		char *addr = get_str(r, false);

		if (addr == NULL)
			goto bad;
		if (*addr == '\0') {
			free(addr);
			goto bad;
		}
		rc = env_add_rcpt(env, "");
		free(rc->addr);
		rc->addr = addr;
		rc->id = rid;
		rc->orcpt = get_str(r, true);
		rc->notify = mr_u32(r);
		rc->state = mr_u32(r);
		rc->attempts = mr_u32(r);
		if (r->err || (rc->notify & ~(uint32_t)DSN_NOTIFY_ALL) ||
		    rc->state >= RCPT_STATE_COUNT ||
		    (rc->orcpt != NULL && !orcpt_valid(rc->orcpt)))
			goto bad;
	}
	if (!mr_done(r))
		goto bad;
	return 0;
bad:
	r->err = true;
	env_clear(env);
	return -1;
}
