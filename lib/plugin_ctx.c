/* SPDX-License-Identifier: ISC */
/* The em_context of the plugin API: the daemons' setters, the
 * em_context_* accessors plugins call, and the metadata encoding. Every
 * value a plugin hands in is checked here, as it may end up in an SMTP
 * reply, a message header or the envelope read by another daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_ctx.h"
#include "utf8.h"
#include "util.h"

/* Copy before freeing: s may be the old value itself, as in
 * em_context_set(c, k, em_context_get(c, k)). */
static void
set_str(char **dst, const char *s)
{
	char *n = s != NULL ? xstrdup(s) : NULL;

	free(*dst);
	*dst = n;
}

struct em_context *
plugin_ctx_new(void)
{
	struct em_context *c = xcalloc(1, sizeof(*c));

	c->rcpts = xcalloc(1, sizeof(*c->rcpts));
	return c;
}

static void
meta_clear(struct em_context *c)
{
	size_t i;

	for (i = 0; i < c->nmeta; i++) {
		free(c->meta[i].key);
		free(c->meta[i].value);
	}
	c->nmeta = 0;
}

static void
headers_clear(struct em_context *c)
{
	size_t i;

	for (i = 0; i < c->nheaders; i++) {
		free(c->headers[i].name);
		free(c->headers[i].value);
	}
	c->nheaders = 0;
}

void
plugin_ctx_clear_rcpts(struct em_context *c)
{
	size_t i;

	for (i = 0; i < c->nrcpts; i++)
		free(c->rcpts[i]);
	c->nrcpts = 0;
	c->rcpts[0] = NULL;
}

void
plugin_ctx_reset_message(struct em_context *c)
{
	set_str(&c->id, NULL);
	set_str(&c->sender, NULL);
	plugin_ctx_clear_rcpts(c);
	c->data = NULL;
	c->datalen = 0;
	meta_clear(c);
	headers_clear(c);
}

void
plugin_ctx_free(struct em_context *c)
{
	if (c == NULL)
		return;
	plugin_ctx_reset_message(c);
	free(c->rcpts);
	free(c->resp_text);
	free(c->peer);
	free(c->helo);
	free(c->tls_version);
	free(c->tls_cipher);
	free(c->dl_domain);
	free(c->dl_host);
	free(c->dl_address);
	free(c->dl_reply);
	free(c->dl_tls_version);
	free(c->dl_tls_cipher);
	free(c);
}

void
plugin_ctx_begin(struct em_context *c, enum em_point point)
{
	c->point = point;
	c->resp_code = 0;
	set_str(&c->resp_text, NULL);
}

void plugin_ctx_set_id(struct em_context *c, const char *s) { set_str(&c->id, s); }
void plugin_ctx_set_sender(struct em_context *c, const char *s) { set_str(&c->sender, s); }

void
plugin_ctx_add_rcpt(struct em_context *c, const char *s)
{
	c->rcpts = xreallocarray(c->rcpts, c->nrcpts + 2, sizeof(*c->rcpts));
	c->rcpts[c->nrcpts++] = xstrdup(s);
	c->rcpts[c->nrcpts] = NULL;
}

void
plugin_ctx_set_data(struct em_context *c, const unsigned char *d, size_t len)
{
	c->data = d;
	c->datalen = d != NULL ? len : 0;
}

void
plugin_ctx_set_peer(struct em_context *c, const char *addr, const char *helo)
{
	set_str(&c->peer, addr);
	set_str(&c->helo, helo);
}

void
plugin_ctx_set_tls(struct em_context *c, const char *version, const char *cipher)
{
	set_str(&c->tls_version, version);
	set_str(&c->tls_cipher, cipher);
}

void
plugin_ctx_set_delivery(struct em_context *c, const char *domain,
    const char *host, const char *address, unsigned attempt)
{
	set_str(&c->dl_domain, domain);
	set_str(&c->dl_host, host);
	set_str(&c->dl_address, address);
	c->dl_attempt = attempt;
}

void
plugin_ctx_set_delivery_reply(struct em_context *c, int code, const char *text,
    const char *tls_version, const char *tls_cipher)
{
	c->dl_reply_code = code;
	set_str(&c->dl_reply, text);
	set_str(&c->dl_tls_version, tls_version);
	set_str(&c->dl_tls_cipher, tls_cipher);
}

void
plugin_ctx_set_reply(struct em_context *c, int code, const char *text)
{
	c->resp_code = code;
	set_str(&c->resp_text, text);
}

/* ---------------------------------------------------------------- */
/* Validation */

static bool
printable_ascii(const char *s, bool tab)
{
	for (; *s != '\0'; s++)
		if ((*s < 0x20 || *s > 0x7e) && !(tab && *s == '\t'))
			return false;
	return true;
}

bool
plugin_response_text_ok(const char *s)
{
	return strlen(s) <= EM_RESPONSE_TEXT_MAX && printable_ascii(s, false);
}

bool
plugin_meta_key_ok(const char *k)
{
	size_t n = strlen(k);

	return n >= 1 && n <= EM_META_KEY_MAX &&
	    strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

/* Printable UTF-8: no C0 or C1 control, no DEL (the value may end up in
 * a log line or a header written by another plugin). */
bool
plugin_meta_value_ok(const char *v, size_t len)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t i = 0, n;
	uint32_t cp;

	if (len > EM_META_VALUE_MAX)
		return false;
	while (i < len) {
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0)
			return false;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return false;
		i += n;
	}
	return true;
}

/* RFC 5322 section 3.6.8: printable US-ASCII but ':'. */
bool
plugin_header_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > EM_HEADER_NAME_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e || *s == ':')
			return false;
	return true;
}

/* One line (no folding): printable ASCII and tab, short enough that
 * "name: value" stays under the 998 octets of RFC 5322 section 2.1.1. */
bool
plugin_header_value_ok(const char *s)
{
	return strlen(s) <= EM_HEADER_VALUE_MAX && printable_ascii(s, true);
}

static bool
is_validation(enum em_point p)
{
	return p <= EM_VALIDATE_DATA;
}

/* ---------------------------------------------------------------- */
/* The accessors of <empath/empath.h> */

enum em_point em_context_get_point(const em_context *c) { return c->point; }
const char *em_context_get_id(const em_context *c) { return c->id; }
const char *em_context_get_sender(const em_context *c) { return c->sender; }

const char *const *
em_context_get_recipients(const em_context *c, size_t *count)
{
	if (count != NULL)
		*count = c->nrcpts;
	return (const char *const *)c->rcpts;
}

const unsigned char *
em_context_get_data(const em_context *c, size_t *len)
{
	if (len != NULL)
		*len = c->data != NULL ? c->datalen : 0;
	return c->data;
}

int
em_context_set_response(em_context *c, int code, const char *text)
{
	int cls = code / 100, mid = code / 10 % 10;

	if (!is_validation(c->point)) {
		errno = EPERM;
		return -1;
	}
	/* RFC 5321 section 4.2: the second digit is 0 to 5. */
	if (code < 200 || code > 599 || cls == 3 || mid > 5 ||
	    (text != NULL && !plugin_response_text_ok(text))) {
		errno = EINVAL;
		return -1;
	}
	if (cls == 2 && c->point != EM_VALIDATE_MAIL &&
	    c->point != EM_VALIDATE_RCPT) {
		errno = EPERM;
		return -1;
	}
	c->resp_code = code;
	set_str(&c->resp_text, text != NULL && *text != '\0' ? text : NULL);
	return 0;
}

const char *
em_context_get_response(const em_context *c, int *code)
{
	if (code != NULL)
		*code = c->resp_code;
	return c->resp_text;
}

static struct em_meta *
meta_find(const em_context *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->nmeta; i++)
		if (strcmp(c->meta[i].key, key) == 0)
			return (struct em_meta *)&c->meta[i];
	return NULL;
}

const char *
em_context_get(const em_context *c, const char *key)
{
	struct em_meta *m;

	if (key == NULL || (m = meta_find(c, key)) == NULL)
		return NULL;
	return m->value;
}

int
em_context_set(em_context *c, const char *key, const char *value)
{
	struct em_meta *m;

	if (key == NULL || !plugin_meta_key_ok(key) ||
	    (value != NULL && !plugin_meta_value_ok(value, strlen(value)))) {
		errno = EINVAL;
		return -1;
	}
	m = meta_find(c, key);
	if (value == NULL) {
		if (m != NULL) {
			free(m->key);
			free(m->value);
			/* Keep the order set: it is the order encoded. */
			memmove(m, m + 1, (size_t)(&c->meta[c->nmeta] - (m + 1)) *
			    sizeof(*m));
			c->nmeta--;
		}
		return 0;
	}
	if (m != NULL) {
		set_str(&m->value, value);
		return 0;
	}
	if (c->nmeta == EM_META_PAIRS_MAX) {
		errno = ENOSPC;
		return -1;
	}
	c->meta[c->nmeta].key = xstrdup(key);
	c->meta[c->nmeta].value = xstrdup(value);
	c->nmeta++;
	return 0;
}

const char *em_context_get_peer_address(const em_context *c) { return c->peer; }
const char *em_context_get_helo(const em_context *c) { return c->helo; }
const char *em_context_get_tls_version(const em_context *c) { return c->tls_version; }
const char *em_context_get_tls_cipher(const em_context *c) { return c->tls_cipher; }
const char *em_context_get_delivery_domain(const em_context *c) { return c->dl_domain; }
const char *em_context_get_delivery_host(const em_context *c) { return c->dl_host; }
const char *em_context_get_delivery_address(const em_context *c) { return c->dl_address; }
unsigned int em_context_get_delivery_attempt(const em_context *c) { return c->dl_attempt; }
const char *em_context_get_delivery_tls_version(const em_context *c) { return c->dl_tls_version; }
const char *em_context_get_delivery_tls_cipher(const em_context *c) { return c->dl_tls_cipher; }

const char *
em_context_get_delivery_reply(const em_context *c, int *code)
{
	if (code != NULL)
		*code = c->dl_reply_code;
	return c->dl_reply;
}

int
em_context_add_header(em_context *c, const char *name, const char *value)
{
	if (c->point != EM_VALIDATE_DATA) {
		errno = EPERM;
		return -1;
	}
	if (name == NULL || value == NULL || !plugin_header_name_ok(name) ||
	    !plugin_header_value_ok(value)) {
		errno = EINVAL;
		return -1;
	}
	if (c->nheaders == EM_HEADERS_MAX) {
		errno = ENOSPC;
		return -1;
	}
	c->headers[c->nheaders].name = xstrdup(name);
	c->headers[c->nheaders].value = xstrdup(value);
	c->nheaders++;
	return 0;
}

/* ---------------------------------------------------------------- */
/* Metadata encoding */

char *
plugin_meta_encode(const struct em_context *c, size_t *lenp)
{
	size_t i, len = 0, off = 0, k, v;
	char *buf;

	for (i = 0; i < c->nmeta; i++)
		len += strlen(c->meta[i].key) + strlen(c->meta[i].value) + 2;
	buf = xmalloc(len + 1);
	for (i = 0; i < c->nmeta; i++) {
		k = strlen(c->meta[i].key);
		v = strlen(c->meta[i].value);
		memcpy(buf + off, c->meta[i].key, k);
		buf[off + k] = '=';
		memcpy(buf + off + k + 1, c->meta[i].value, v);
		buf[off + k + 1 + v] = '\n';
		off += k + v + 2;
	}
	buf[off] = '\0';
	*lenp = off;
	return buf;
}

int
plugin_meta_decode(struct em_context *c, const char *buf, size_t len)
{
	struct em_meta pairs[EM_META_PAIRS_MAX];
	const char *line, *eq, *nl, *end = buf + len;
	size_t n = 0, i, j, klen;
	int ret = -1;

	if (len > PLUGIN_META_ENCODED_MAX)
		return -1;
	for (line = buf; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL ||
		    (eq = memchr(line, '=', (size_t)(nl - line))) == NULL ||
		    n == EM_META_PAIRS_MAX)
			goto out;
		klen = (size_t)(eq - line);
		if (klen == 0 || klen > EM_META_KEY_MAX ||
		    memchr(eq + 1, '\0', (size_t)(nl - eq - 1)) != NULL ||
		    !plugin_meta_value_ok(eq + 1, (size_t)(nl - eq - 1)))
			goto out;
		pairs[n].key = xmalloc(klen + 1);
		memcpy(pairs[n].key, line, klen);
		pairs[n].key[klen] = '\0';
		pairs[n].value = xmalloc((size_t)(nl - eq));
		memcpy(pairs[n].value, eq + 1, (size_t)(nl - eq - 1));
		pairs[n].value[nl - eq - 1] = '\0';
		n++;
		if (strlen(pairs[n - 1].key) != klen ||
		    !plugin_meta_key_ok(pairs[n - 1].key))
			goto out;
		for (j = 0; j + 1 < n; j++)
			if (strcmp(pairs[j].key, pairs[n - 1].key) == 0)
				goto out;
	}
	meta_clear(c);
	memcpy(c->meta, pairs, n * sizeof(*pairs));
	c->nmeta = n;
	n = 0;
	ret = 0;
out:
	for (i = 0; i < n; i++) {
		free(pairs[i].key);
		free(pairs[i].value);
	}
	return ret;
}

bool
plugin_meta_valid(const char *buf, size_t len)
{
	struct em_context *c;
	bool ok;

	if (len == 0)
		return true;
	c = plugin_ctx_new();
	ok = plugin_meta_decode(c, buf, len) == 0;
	plugin_ctx_free(c);
	return ok;
}

/* ---------------------------------------------------------------- */
/* Added header fields as one block */

char *
plugin_headers_encode(const struct em_context *c, size_t *lenp)
{
	size_t i, len = 0, off = 0;
	char *buf;

	*lenp = 0;
	if (c->nheaders == 0)
		return NULL;
	for (i = 0; i < c->nheaders; i++)
		len += strlen(c->headers[i].name) + 2 +
		    strlen(c->headers[i].value) + 2;
	buf = xmalloc(len + 1);
	for (i = 0; i < c->nheaders; i++)
		off += (size_t)snprintf(buf + off, len + 1 - off, "%s: %s\r\n",
		    c->headers[i].name, c->headers[i].value);
	*lenp = off;
	return buf;
}

bool
plugin_headers_valid(const char *buf, size_t len)
{
	char field[EM_HEADER_NAME_MAX + EM_HEADER_VALUE_MAX + 3];
	const char *line, *end = buf + len, *crlf;
	size_t n = 0, flen;
	char *colon;

	if (len > PLUGIN_HEADERS_ENCODED_MAX)
		return false;
	for (line = buf; line < end; line = crlf + 2) {
		crlf = memmem(line, (size_t)(end - line), "\r\n", 2);
		if (crlf == NULL || ++n > EM_HEADERS_MAX)
			return false;
		flen = (size_t)(crlf - line);
		if (flen >= sizeof(field) || memchr(line, '\0', flen) != NULL)
			return false;
		memcpy(field, line, flen);
		field[flen] = '\0';
		/* "name: value", as plugin_headers_encode() writes it. */
		if ((colon = strchr(field, ':')) == NULL || colon[1] != ' ')
			return false;
		*colon = '\0';
		if (!plugin_header_name_ok(field) ||
		    !plugin_header_value_ok(colon + 2))
			return false;
	}
	return true;
}
