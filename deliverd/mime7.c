/* SPDX-License-Identifier: ISC */
/* Streaming 8bit to 7bit MIME conversion (see mime7.h).
 *
 * The parser keeps a stack of the entities it is inside: multiparts with
 * their boundaries (RFC 2046 5.1.1), message/rfc822 parts whose content
 * is a nested message (RFC 2046 5.2.1), and at the top one leaf part.
 * A part's header is held until its end, since its
 * Content-Transfer-Encoding may need rewriting; body lines are held only
 * while they could still be a boundary line (they start with "--"), and
 * quoted-printable needs one pending byte. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "body.h"
#include "mime7.h"
#include "mime7_qp.h"
#include "util.h"

#define BOUNDARY_MAX  70          /* RFC 2046 5.1.1 */
#define LBUF_MAX      1000        /* a boundary line, transport padding too */

enum kind { E_LEAF, E_MULTI, E_MESSAGE };
enum phase { P_PRE, P_PARTS, P_EPI };
enum cte { CTE_NONE, CTE_7BIT, CTE_8BIT, CTE_BINARY, CTE_QP, CTE_BASE64,
	CTE_OTHER };
enum sink { SINK_OUT, SINK_TMP, SINK_QP };

struct ent {
	enum kind kind;
	enum phase phase;         /* E_MULTI */
	bool    digest;           /* multipart/digest: parts default to messages */
	size_t  blen;
	char    boundary[BOUNDARY_MAX + 1];
};

struct mime7 {
	const struct mime7_plan *plan;    /* NULL while planning */
	struct mime7_plan made;
	mime7_emit emit;
	void   *arg;
	const char *err;

	struct ent stack[MIME7_DEPTH_MAX];
	size_t  depth;

	/* The header being read: of the entity to be pushed at depth. */
	bool    in_header;
	bool    hdr_digest;       /* its default type is message/rfc822 */
	bool    hdr_noblank;      /* it ended at a line that is no field */
	char   *hbuf;
	size_t  hlen, hline;      /* bytes held, start of the current line */

	/* A body line held while it may be a boundary, or streamed. */
	char    lbuf[LBUF_MAX];
	size_t  llen;
	bool    lstream;

	/* The leaf part at the top of the stack. */
	bool    conv;             /* re-encoding it as quoted-printable */
	bool    ident;            /* its encoding is 7bit, 8bit or none */
	bool    has8;
	size_t  leaf;             /* its index */
	uint64_t hdr_asis, hdr_conv, body_asis, body_qp;   /* planning */

	struct qp_enc qp;         /* its quoted-printable (mime7_qp.c) */

	enum sink sink;
	uint64_t count, tmp;
	char    obuf[MIME7_EMIT_MAX];
	size_t  olen;
};

static void content(struct mime7 *, const char *, size_t);

static void
flush(struct mime7 *m)
{
	if (m->olen > 0 && m->emit != NULL)
		m->emit(m->arg, m->obuf, m->olen);
	m->olen = 0;
}

/* Output goes to the emitter, or is only counted while planning. */
static void
out(struct mime7 *m, const char *p, size_t n)
{
	size_t k;

	if (m->sink == SINK_TMP) {
		m->tmp += n;
		return;
	}
	if (m->sink == SINK_QP && m->plan == NULL) {
		m->body_qp += n;
		return;
	}
	m->count += n;
	if (m->plan == NULL)
		return;
	while (n > 0) {
		k = sizeof(m->obuf) - m->olen;
		if (k > n)
			k = n;
		memcpy(m->obuf + m->olen, p, k);
		m->olen += k;
		p += k;
		n -= k;
		if (m->olen == sizeof(m->obuf))
			flush(m);
	}
}

static void
outs(struct mime7 *m, const char *s)
{
	out(m, s, strlen(s));
}

static void
fail(struct mime7 *m, const char *why)
{
	if (m->err == NULL)
		m->err = why;
}

/* The encoder's output: to out(), in the sink mime7.c chose. */
static void
qp_out(void *arg, const char *p, size_t n)
{
	out(arg, p, n);
}

static bool
has_8bit(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return true;
	return false;
}

/* --- Header fields */

/* The field starting at off: its end (after its continuation lines) and
 * the start of its value, or vstart == end when it has no name. */
static size_t
field_at(const char *h, size_t len, size_t off, size_t *vstart, size_t *nlen)
{
	size_t e = off, i;
	const char *nl;

	do {
		nl = memchr(h + e, '\n', len - e);
		e = nl != NULL ? (size_t)(nl - h) + 1 : len;
	} while (e < len && (h[e] == ' ' || h[e] == '\t'));
	*vstart = e;
	*nlen = 0;
	for (i = off; i < e; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c == ':') {
			*vstart = i + 1;
			*nlen = i - off;
			while (*nlen > 0 && (h[off + *nlen - 1] == ' ' ||
			    h[off + *nlen - 1] == '\t'))
				(*nlen)--;
			break;
		}
		if (c < 33 && c != ' ' && c != '\t')
			break;
		if (c > 126)
			break;
	}
	return e;
}

static bool
name_is(const char *p, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(p, name, n) == 0;
}

/* RFC 5322 folding white space and RFC 822 comments. */
static const char *
skip_cfws(const char *p, const char *e)
{
	int depth;

	for (;;) {
		while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' ||
		    *p == '\n'))
			p++;
		if (p >= e || *p != '(')
			return p;
		for (depth = 0; p < e; p++) {
			if (*p == '\\' && p + 1 < e)
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

static bool
tchar(char c)
{
	return (unsigned char)c > 32 && (unsigned char)c < 127 &&
	    strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static const char *
token(const char *p, const char *e, const char **t, size_t *tlen)
{
	*t = p;
	while (p < e && tchar(*p))
		p++;
	*tlen = (size_t)(p - *t);
	return p;
}

/* A token or a quoted-string into out (cap bytes, NUL-terminated);
 * false when it does not fit or is empty. */
static const char *
value(const char *p, const char *e, char *outv, size_t cap, bool *ok)
{
	size_t n = 0;

	*ok = false;
	if (p < e && *p == '"') {
		for (p++; p < e && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < e)
				p++;
			if (*p == '\r' || *p == '\n')
				continue;
			if (n + 1 >= cap)
				return p;
			outv[n++] = *p;
		}
		if (p >= e)
			return p;
		p++;
	} else {
		for (; p < e && tchar(*p); p++) {
			if (n + 1 >= cap)
				return p;
			outv[n++] = *p;
		}
	}
	outv[n] = '\0';
	*ok = n > 0;
	return p;
}

struct ctype {
	char type[32], subtype[64];
	char boundary[BOUNDARY_MAX + 1];
	bool has_boundary;
};

static void
parse_ctype(const char *p, const char *e, struct ctype *ct)
{
	const char *t;
	size_t tl;
	char name[64], val[BOUNDARY_MAX + 1];
	bool ok;

	p = skip_cfws(p, e);
	p = token(p, e, &t, &tl);
	if (tl == 0 || tl >= sizeof(ct->type))
		return;
	memcpy(ct->type, t, tl);
	ct->type[tl] = '\0';
	p = skip_cfws(p, e);
	if (p >= e || *p != '/')
		return;
	p = skip_cfws(p + 1, e);
	p = token(p, e, &t, &tl);
	if (tl == 0 || tl >= sizeof(ct->subtype))
		return;
	memcpy(ct->subtype, t, tl);
	ct->subtype[tl] = '\0';
	for (;;) {
		p = skip_cfws(p, e);
		if (p >= e || *p != ';')
			return;
		p = skip_cfws(p + 1, e);
		p = token(p, e, &t, &tl);
		if (tl == 0 || tl >= sizeof(name))
			return;
		memcpy(name, t, tl);
		name[tl] = '\0';
		p = skip_cfws(p, e);
		if (p >= e || *p != '=')
			return;
		p = skip_cfws(p + 1, e);
		p = value(p, e, val, sizeof(val), &ok);
		if (strcasecmp(name, "boundary") == 0 && !ct->has_boundary) {
			if (!ok)
				return;   /* too long or empty: no boundary */
			memcpy(ct->boundary, val, sizeof(val));
			ct->has_boundary = true;
		}
	}
}

static enum cte
parse_cte(const char *p, const char *e)
{
	static const struct { const char *name; enum cte cte; } tab[] = {
		{ "7bit", CTE_7BIT }, { "8bit", CTE_8BIT },
		{ "binary", CTE_BINARY }, { "quoted-printable", CTE_QP },
		{ "base64", CTE_BASE64 },
	};
	const char *t;
	size_t tl, i;

	p = skip_cfws(p, e);
	token(p, e, &t, &tl);
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (name_is(t, tl, tab[i].name))
			return tab[i].cte;
	return CTE_OTHER;
}

/* Write the held header, the Content-Transfer-Encoding set to cte
 * (NULL: as it is), with the fields to add. */
static void
emit_header(struct mime7 *m, const char *cte, bool add_ct, bool add_mv)
{
	const char *h = m->hbuf;
	size_t off = 0, e, vs, nl;
	bool done = false;

	while (off < m->hlen) {
		e = field_at(h, m->hlen, off, &vs, &nl);
		if (cte != NULL && name_is(h + off, nl,
		    "Content-Transfer-Encoding")) {
			if (!done) {
				outs(m, "Content-Transfer-Encoding: ");
				outs(m, cte);
				outs(m, "\r\n");
			}
			done = true;
		} else
			out(m, h + off, e - off);
		off = e;
	}
	if ((cte != NULL && !done) || add_ct || add_mv) {
		if (m->hlen > 0 && h[m->hlen - 1] != '\n')
			outs(m, "\r\n");
	}
	if (add_mv)
		outs(m, "MIME-Version: 1.0\r\n");
	/* RFC 1428: 8-bit text of no declared charset. */
	if (add_ct)
		outs(m, "Content-Type: text/plain; charset=unknown-8bit\r\n");
	if (cte != NULL && !done) {
		outs(m, "Content-Transfer-Encoding: ");
		outs(m, cte);
		outs(m, "\r\n");
	}
}

static void
leaf_end(struct mime7 *m)
{
	if (m->conv || m->plan == NULL) {
		enum sink s = m->sink;

		m->sink = SINK_QP;
		qp_end(&m->qp);
		m->sink = s;
	}
	if (m->plan == NULL)
		m->count += m->has8 ? m->hdr_conv + m->body_qp :
		    m->hdr_asis + m->body_asis;
}

static void
pop_to(struct mime7 *m, size_t depth)
{
	while (m->depth > depth) {
		m->depth--;
		if (m->stack[m->depth].kind == E_LEAF)
			leaf_end(m);
	}
}

static void
start_header(struct mime7 *m, bool digest)
{
	m->in_header = true;
	m->hdr_digest = digest;
	m->hlen = m->hline = 0;
}

/* The header of a leaf converted to quoted-printable. One that ended
 * without a blank line gets one: else the encoded body would continue
 * the header, where "X=E9: y" is a field (RFC 5322 2.1). */
static void
conv_header(struct mime7 *m, bool has_ct, bool add_mv)
{
	emit_header(m, "quoted-printable", !has_ct, add_mv);
	if (m->hdr_noblank)
		outs(m, "\r\n");
}

static void
start_leaf(struct mime7 *m, enum cte cte, bool has_ct, bool top_mv)
{
	bool ident = cte == CTE_NONE || cte == CTE_7BIT || cte == CTE_8BIT;
	const char *asis;

	m->ident = ident;
	m->has8 = false;
	qp_reset(&m->qp);
	m->body_asis = m->body_qp = 0;
	m->leaf = m->made.nleaves;
	if (m->plan == NULL) {
		size_t n = m->made.nleaves;

		if (n >= MIME7_LEAVES_MAX) {
			fail(m, "too many MIME parts");
			return;
		}
		if (n % 8 == 0) {
			m->made.has8 = xreallocarray(m->made.has8, n / 8 + 1, 1);
			m->made.has8[n / 8] = 0;
		}
	} else if (m->leaf >= m->plan->nleaves) {
		fail(m, "the message changed since it was planned");
		return;
	}
	m->made.nleaves++;
	if (m->plan != NULL)
		m->conv = ident && (m->plan->has8[m->leaf / 8] >> (m->leaf % 8) & 1);
	else
		m->conv = false;
	/* An 8bit label on 7-bit data becomes 7bit: the truth, no 8BITMIME. */
	asis = cte == CTE_8BIT ? "7bit" : NULL;
	if (m->plan == NULL) {
		m->sink = SINK_TMP;
		m->tmp = 0;
		emit_header(m, asis, false, top_mv);
		m->hdr_asis = m->tmp;
		m->tmp = 0;
		conv_header(m, has_ct, top_mv);
		m->hdr_conv = m->tmp;
		m->sink = SINK_OUT;
	} else if (m->conv)
		conv_header(m, has_ct, top_mv);
	else
		emit_header(m, asis, false, top_mv);
}

static void
push(struct mime7 *m, enum kind kind)
{
	struct ent *e;

	if (m->depth >= MIME7_DEPTH_MAX) {
		fail(m, "MIME parts nested too deep");
		return;
	}
	e = &m->stack[m->depth++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
}

/* The header held is complete: rewrite it and start the body. The line
 * that ended it (blank, a boundary or not a field) is not in hbuf. */
static void
header_done(struct mime7 *m)
{
	const char *h = m->hbuf;
	size_t off = 0, e, vs, nl;
	struct ctype ct;
	enum cte cte = CTE_NONE;
	bool has_ct = false, has_mv = false, add_mv, composite;

	memset(&ct, 0, sizeof(ct));
	m->in_header = false;
	while (off < m->hlen) {
		e = field_at(h, m->hlen, off, &vs, &nl);
		if (name_is(h + off, nl, "Content-Type") && !has_ct) {
			has_ct = true;
			parse_ctype(h + vs, h + e, &ct);
		} else if (name_is(h + off, nl, "Content-Transfer-Encoding") &&
		    cte == CTE_NONE)
			cte = parse_cte(h + vs, h + e);
		else if (name_is(h + off, nl, "MIME-Version"))
			has_mv = true;
		off = e;
	}
	if (!has_ct || ct.type[0] == '\0') {
		/* RFC 2046 5.1.5, RFC 2045 5.2: the defaults. */
		snprintf(ct.type, sizeof(ct.type), "%s",
		    m->hdr_digest ? "message" : "text");
		snprintf(ct.subtype, sizeof(ct.subtype), "%s",
		    m->hdr_digest ? "rfc822" : "plain");
		ct.has_boundary = false;
	}
	/* Converting, the header of a message says it is MIME: the top one
	 * and that of a message/rfc822 part (RFC 2045 4). */
	add_mv = !has_mv && (m->depth == 0 ||
	    m->stack[m->depth - 1].kind == E_MESSAGE);
	if (cte == CTE_BINARY) {
		fail(m, "binary content");
		return;
	}
	composite = cte == CTE_NONE || cte == CTE_7BIT || cte == CTE_8BIT;
	if (composite && strcasecmp(ct.type, "multipart") == 0) {
		if (!ct.has_boundary) {
			fail(m, "a multipart without a usable boundary");
			return;
		}
		emit_header(m, cte == CTE_8BIT ? "7bit" : NULL, false, add_mv);
		push(m, E_MULTI);
		if (m->err != NULL)
			return;
		m->stack[m->depth - 1].phase = P_PRE;
		m->stack[m->depth - 1].digest =
		    strcasecmp(ct.subtype, "digest") == 0;
		m->stack[m->depth - 1].blen = strlen(ct.boundary);
		memcpy(m->stack[m->depth - 1].boundary, ct.boundary,
		    sizeof(ct.boundary));
	} else if (composite && strcasecmp(ct.type, "message") == 0 &&
	    strcasecmp(ct.subtype, "rfc822") == 0) {
		emit_header(m, cte == CTE_8BIT ? "7bit" : NULL, false, add_mv);
		push(m, E_MESSAGE);
	} else {
		push(m, E_LEAF);
		if (m->err == NULL)
			start_leaf(m, cte, has_ct, add_mv);
	}
}

/* The blank line after a header, then what follows it. */
static void
body_starts(struct mime7 *m, const char *blank, size_t n)
{
	out(m, blank, n);
	if (m->err == NULL && m->depth > 0 &&
	    m->stack[m->depth - 1].kind == E_MESSAGE)
		start_header(m, false);
}

/* A line (with its line end) that matches the boundary of an open
 * multipart: its depth, with *close for a close-delimiter; 0 if none. */
static size_t
boundary_of(struct mime7 *m, const char *l, size_t n, bool *close)
{
	size_t d, k;
	const struct ent *e;

	if (n < 3 || l[0] != '-' || l[1] != '-')
		return 0;
	for (d = m->depth; d > 0; d--) {
		e = &m->stack[d - 1];
		if (e->kind != E_MULTI || e->phase == P_EPI ||
		    n < 2 + e->blen || memcmp(l + 2, e->boundary, e->blen) != 0)
			continue;
		k = 2 + e->blen;
		*close = n >= k + 2 && l[k] == '-' && l[k + 1] == '-';
		if (*close)
			k += 2;
		/* RFC 2046 5.1.1: transport padding only. */
		while (k < n && (l[k] == ' ' || l[k] == '\t'))
			k++;
		if (k < n && l[k] == '\r')
			k++;
		if (k < n && l[k] == '\n')
			k++;
		if (k == n)
			return d;
	}
	return 0;
}

static void
boundary_line(struct mime7 *m, size_t d, bool close, const char *l, size_t n)
{
	struct ent *e;

	if (m->in_header)
		header_done(m);
	pop_to(m, d);
	out(m, l, n);
	e = &m->stack[d - 1];
	if (close)
		e->phase = P_EPI;
	else {
		e->phase = P_PARTS;
		start_header(m, e->digest);
	}
}

/* Body bytes of the entity at the top of the stack. */
static void
content(struct mime7 *m, const char *p, size_t n)
{
	const struct ent *e;
	size_t i;

	if (n == 0 || m->err != NULL)
		return;
	if (m->depth == 0) {              /* cannot happen: a header first */
		out(m, p, n);
		return;
	}
	e = &m->stack[m->depth - 1];
	if (e->kind != E_LEAF) {
		if (has_8bit(p, n))
			fail(m, "8-bit octets in a multipart preamble or "
			    "epilogue");
		out(m, p, n);
		return;
	}
	if (m->plan == NULL) {
		if (has_8bit(p, n)) {
			if (!m->ident) {
				fail(m, "8-bit octets in an encoded part");
				return;
			}
			if (!m->has8)
				m->made.has8[m->leaf / 8] |=
				    (uint8_t)(1u << (m->leaf % 8));
			m->has8 = true;
		}
		m->body_asis += n;
		if (m->ident) {
			m->sink = SINK_QP;
			for (i = 0; i < n; i++)
				qp_byte(&m->qp, (unsigned char)p[i]);
			m->sink = SINK_OUT;
		}
		return;
	}
	if (!m->conv) {
		out(m, p, n);
		return;
	}
	for (i = 0; i < n; i++)
		qp_byte(&m->qp, (unsigned char)p[i]);
}

static bool
field_line(const char *l, size_t n)
{
	size_t i;

	if (l[0] == ' ' || l[0] == '\t')
		return true;      /* a continuation */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if (c == ':')
			return i > 0;
		if (c <= 32 || c >= 127)
			return false;
	}
	return false;
}

/* A complete line of a header, the last one in hbuf at hline. */
static void
header_line(struct mime7 *m)
{
	const char *l = m->hbuf + m->hline;
	size_t n = m->hlen - m->hline, d;
	bool close;

	if ((n == 1 && l[0] == '\n') || (n == 2 && l[0] == '\r' &&
	    l[1] == '\n')) {
		m->hlen = m->hline;
		header_done(m);
		if (m->err == NULL)
			body_starts(m, l, n);
		return;
	}
	if ((d = boundary_of(m, l, n, &close)) > 0) {
		m->hlen = m->hline;
		boundary_line(m, d, close, l, n);
		return;
	}
	if (!field_line(l, n)) {
		/* Not a header field: the body starts without a blank line. */
		m->hlen = m->hline;
		m->hdr_noblank = true;
		header_done(m);
		m->hdr_noblank = false;
		if (m->err != NULL || m->stack[m->depth - 1].kind != E_MESSAGE) {
			content(m, l, n);
			return;
		}
		/* The line starts the header of the nested message: it
		 * becomes a header of one body line, no recursion beyond.
		 * A blank line ends the part's header here, so that the
		 * fields the nested one may get are not read as the part's. */
		outs(m, "\r\n");
		memmove(m->hbuf, l, n);
		start_header(m, false);
		m->hlen = n;
		header_line(m);
		return;
	}
	/* RFC 6152 gives no way to carry 8-bit header octets in 7 bits. */
	if (has_8bit(l, n)) {
		fail(m, "8-bit octets in a header");
		return;
	}
	m->hline = m->hlen;
}

static size_t
header_bytes(struct mime7 *m, const char *p, size_t len)
{
	const char *nl = memchr(p, '\n', len);
	size_t n = nl != NULL ? (size_t)(nl - p) + 1 : len;

	if (n > MIME7_HEADER_MAX - m->hlen) {
		fail(m, "a MIME header over 64 KiB");
		return n;
	}
	memcpy(m->hbuf + m->hlen, p, n);
	m->hlen += n;
	if (nl != NULL)
		header_line(m);
	return n;
}

static bool
open_boundary(const struct mime7 *m)
{
	size_t d;

	for (d = 0; d < m->depth; d++)
		if (m->stack[d].kind == E_MULTI && m->stack[d].phase != P_EPI)
			return true;
	return false;
}

/* The held start of a body line ends: a boundary or content. */
static void
held_line(struct mime7 *m)
{
	size_t d;
	bool close;

	if ((d = boundary_of(m, m->lbuf, m->llen, &close)) > 0)
		boundary_line(m, d, close, m->lbuf, m->llen);
	else
		content(m, m->lbuf, m->llen);
	m->llen = 0;
}

static size_t
body_bytes(struct mime7 *m, const char *p, size_t len)
{
	const char *nl;
	size_t n;

	if (!m->lstream && m->llen == 0 && !open_boundary(m))
		m->lstream = true;
	if (m->lstream) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) + 1 : len;
		content(m, p, n);
		if (nl != NULL)
			m->lstream = false;
		return n;
	}
	/* Hold the line while it may be a boundary line. */
	if (m->llen < 2 && p[0] != '-') {
		content(m, m->lbuf, m->llen);
		m->llen = 0;
		m->lstream = true;
		return 0;
	}
	m->lbuf[m->llen++] = p[0];
	if (p[0] == '\n')
		held_line(m);
	else if (m->llen == sizeof(m->lbuf)) {
		content(m, m->lbuf, m->llen);
		m->llen = 0;
		m->lstream = true;
	}
	return 1;
}

struct mime7 *
mime7_new(const struct mime7_plan *plan, mime7_emit emit, void *arg)
{
	struct mime7 *m = xcalloc(1, sizeof(*m));

	m->plan = plan;
	m->emit = emit;
	m->arg = arg;
	m->hbuf = xmalloc(MIME7_HEADER_MAX);
	qp_init(&m->qp, qp_out, m);
	start_header(m, false);
	return m;
}

int
mime7_feed(struct mime7 *m, const char *in, size_t len)
{
	size_t i = 0;

	if (!m->made.any8 && has_8bit(in, len))
		m->made.any8 = true;
	while (i < len && m->err == NULL) {
		if (m->in_header)
			i += header_bytes(m, in + i, len - i);
		else
			i += body_bytes(m, in + i, len - i);
	}
	flush(m);
	return m->err != NULL ? -1 : 0;
}

int
mime7_end(struct mime7 *m)
{
	if (m->err == NULL && m->in_header) {
		/* A last header line without its line end: read like any
		 * other (a field, a boundary or the start of the body). */
		if (m->hlen > m->hline)
			header_line(m);
		if (m->err == NULL && m->in_header)
			header_done(m);
	}
	if (m->err == NULL && m->llen > 0)
		held_line(m);
	if (m->err == NULL)
		pop_to(m, 0);
	flush(m);
	if (m->plan == NULL)
		m->made.size = m->count;
	return m->err != NULL ? -1 : 0;
}

const char *
mime7_error(const struct mime7 *m)
{
	return m->err != NULL ? m->err : "";
}

void
mime7_plan_take(struct mime7 *m, struct mime7_plan *plan)
{
	*plan = m->made;
	memset(&m->made, 0, sizeof(m->made));
}

void
mime7_plan_free(struct mime7_plan *plan)
{
	free(plan->has8);
	memset(plan, 0, sizeof(*plan));
}

void
mime7_free(struct mime7 *m)
{
	if (m == NULL)
		return;
	free(m->hbuf);
	free(m->made.has8);
	free(m);
}

enum mime7_scan
mime7_prescan(int fd, uint64_t size, struct mime7_plan *plan, char *err,
    size_t errlen)
{
	static char buf[MIME7_SCAN_CHUNK];
	struct mime7 *m = mime7_new(NULL, NULL, NULL);
	enum mime7_scan r = MIME7_SCAN_CONVERT;
	uint64_t off = 0;
	ssize_t n;

	memset(plan, 0, sizeof(*plan));
	snprintf(err, errlen, "%s", "");
	while ((n = body_read(fd, off, size, buf, sizeof(buf))) > 0) {
		off += (uint64_t)n;
		/* Not convertible: only whether it is 7-bit anyway matters. */
		if (mime7_feed(m, buf, (size_t)n) == -1 && m->made.any8)
			break;
	}
	if (n == -1) {
		int e = errno;

		mime7_free(m);
		errno = e;
		return MIME7_SCAN_READ;
	}
	mime7_end(m);
	if (!m->made.any8)
		r = MIME7_SCAN_7BIT;
	else if (m->err != NULL) {
		snprintf(err, errlen, "%s", m->err);
		r = MIME7_SCAN_FAIL;
	} else
		mime7_plan_take(m, plan);
	mime7_free(m);
	return r;
}
