/* SPDX-License-Identifier: ISC */
/* Address lists (RFC 5322 section 3.4 with the obsolete syntax of 4.4):
 * the recipients of To:, Cc: and Bcc: for -t, and the operands of the
 * command line, which sendmail has always read as address lists
 * ("Joe <joe@example.org>, ann"). The header is hostile input like any
 * other: every scan is bounded by the field's length and nothing is
 * recursive but comments, which are counted, not recursed into. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sendmail.h"
#include "utf8.h"
#include "util.h"

enum tok_type {
	TK_END = 0,
	TK_ATOM,                   /* 1*atext, UTF-8 octets included */
	TK_QSTR,                   /* a quoted string, quotes included */
	TK_DLIT,                   /* a domain literal, brackets included */
	TK_SPECIAL                 /* one of < > : ; @ , . */
};

struct tok {
	enum tok_type type;
	const char *s;
	size_t len;
	char c;                    /* TK_SPECIAL: which */
};

struct lexer {
	const char *s;
	size_t len, pos;
	const char *err;
};

static bool
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if (c <= 0x20 || c == 0x7f)
		return false;
	return strchr("()<>[]:;@\\,.\"", c) == NULL;
}

/* Skip white space, line ends (a folded field) and comments. */
static int
skip_cfws(struct lexer *lx)
{
	size_t depth;

	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			lx->pos++;
			continue;
		}
		if (c != '(')
			break;
		depth = 0;
		do {
			if (lx->pos >= lx->len) {
				lx->err = "unterminated comment";
				return -1;
			}
			c = lx->s[lx->pos++];
			if (c == '\\' && lx->pos < lx->len)
				lx->pos++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} while (depth > 0);
	}
	return 0;
}

/* The next token; TK_END with lx->err set on a lexical error. */
static struct tok
next_tok(struct lexer *lx)
{
	struct tok t = { TK_END, NULL, 0, 0 };
	size_t start;
	char c, close;

	if (skip_cfws(lx) == -1 || lx->pos >= lx->len)
		return t;
	start = lx->pos;
	c = lx->s[start];
	t.s = lx->s + start;
	if (strchr("<>:;@,.", c) != NULL) {
		lx->pos++;
		t.type = TK_SPECIAL;
		t.c = c;
		t.len = 1;
		return t;
	}
	if (c == '"' || c == '[') {
		close = c == '"' ? '"' : ']';
		lx->pos++;
		while (lx->pos < lx->len && lx->s[lx->pos] != close) {
			unsigned char q = (unsigned char)lx->s[lx->pos];

			/* No NUL or other control inside (folding aside). */
			if (q < 0x20 && q != '\t' && q != '\r' && q != '\n') {
				lx->err = "control character in address";
				return t;
			}
			if (q == '\\')
				lx->pos++;
			else if (c == '[' && q == '[')
				break;
			lx->pos++;
		}
		if (lx->pos >= lx->len || lx->s[lx->pos] != close) {
			lx->err = c == '"' ? "unterminated quoted string" :
			    "unterminated domain literal";
			return t;
		}
		lx->pos++;
		t.type = c == '"' ? TK_QSTR : TK_DLIT;
		t.len = lx->pos - start;
		return t;
	}
	if (!is_atext((unsigned char)c)) {
		lx->err = c == ')' ? "unbalanced parenthesis" :
		    "unexpected character";
		return t;
	}
	while (lx->pos < lx->len && is_atext((unsigned char)lx->s[lx->pos]))
		lx->pos++;
	t.type = TK_ATOM;
	t.len = lx->pos - start;
	return t;
}

static struct tok
peek_tok(struct lexer *lx)
{
	size_t pos = lx->pos;
	struct tok t = next_tok(lx);

	lx->pos = pos;
	return t;
}

static bool
is_special(const struct tok *t, char c)
{
	return t->type == TK_SPECIAL && t->c == c;
}

/* Does a group start here: a phrase followed by ':' (RFC 5322 3.4)? */
static bool
group_ahead(struct lexer *lx)
{
	size_t pos = lx->pos;
	bool words = false, group = false;
	struct tok t;

	for (;;) {
		t = next_tok(lx);
		if (t.type == TK_ATOM || t.type == TK_QSTR ||
		    is_special(&t, '.')) {
			words = true;
			continue;
		}
		group = words && is_special(&t, ':');
		break;
	}
	lx->pos = pos;
	lx->err = NULL;
	return group;
}

static void
sb_add(struct sm_msg *b, const char *s, size_t n)
{
	sm_msg_append(b, s, n);
}

/* addr-spec up to (not including) '>', ',', ';' or the end: local-part
 * (words and dots, obs-local-part allowing what old software writes),
 * then optionally '@' domain (atoms and dots, or a domain literal). */
static int
parse_addr_spec(struct lexer *lx, struct sm_msg *out)
{
	struct tok t;
	bool word_last = false, any = false;

	out->len = 0;
	for (;;) {
		t = peek_tok(lx);
		if (t.type == TK_ATOM || t.type == TK_QSTR) {
			/* Two words with nothing between: two addresses
			 * without their comma, or a display name without
			 * its angle brackets. */
			if (word_last) {
				lx->err = "',' expected between addresses";
				return -1;
			}
			word_last = true;
		} else if (is_special(&t, '.'))
			word_last = false;
		else
			break;
		next_tok(lx);
		sb_add(out, t.s, t.len);
		any = true;
	}
	if (lx->err != NULL)
		return -1;
	if (!any) {
		lx->err = "address expected";
		return -1;
	}
	if (!is_special(&t, '@'))
		return 0;
	next_tok(lx);
	sb_add(out, "@", 1);
	t = next_tok(lx);
	if (t.type == TK_DLIT) {
		sb_add(out, t.s, t.len);
		return 0;
	}
	for (;;) {
		if (t.type != TK_ATOM) {
			if (lx->err == NULL)
				lx->err = "malformed domain";
			return -1;
		}
		sb_add(out, t.s, t.len);
		t = peek_tok(lx);
		if (!is_special(&t, '.'))
			break;
		next_tok(lx);
		sb_add(out, ".", 1);
		t = next_tok(lx);
	}
	return lx->err != NULL ? -1 : 0;
}

/* Is there a '<' in this mailbox, before its ',' / ';' / end? */
static bool
angle_ahead(struct lexer *lx)
{
	size_t pos = lx->pos;
	struct tok t;
	bool angle = false;

	for (;;) {
		t = next_tok(lx);
		if (t.type == TK_END || is_special(&t, ',') ||
		    is_special(&t, ';'))
			break;
		if (is_special(&t, '<')) {
			angle = true;
			break;
		}
	}
	lx->pos = pos;
	lx->err = NULL;
	return angle;
}

/* mailbox = name-addr / addr-spec; appended to out. */
static int
parse_mailbox(struct lexer *lx, struct sm_msg *sb, struct sm_addrs *out)
{
	struct tok t;

	if (angle_ahead(lx)) {
		/* The display name: a phrase; '@' and literals too, as
		 * broken software writes "a@b <a@b>". */
		for (;;) {
			t = next_tok(lx);
			if (is_special(&t, '<'))
				break;
			if (t.type == TK_ATOM || t.type == TK_QSTR ||
			    t.type == TK_DLIT || is_special(&t, '.') ||
			    is_special(&t, '@'))
				continue;
			if (lx->err == NULL)
				lx->err = "malformed display name";
			return -1;
		}
		t = peek_tok(lx);
		if (is_special(&t, '@')) {
			/* obs-route "@a,@b:" (RFC 5322 4.4): ignored. */
			do {
				t = next_tok(lx);
			} while (t.type != TK_END && !is_special(&t, ':') &&
			    !is_special(&t, '>'));
			if (!is_special(&t, ':')) {
				if (lx->err == NULL)
					lx->err = "malformed route";
				return -1;
			}
		}
		if (parse_addr_spec(lx, sb) == -1)
			return -1;
		t = next_tok(lx);
		if (!is_special(&t, '>')) {
			if (lx->err == NULL)
				lx->err = "'<' without '>'";
			return -1;
		}
	} else if (parse_addr_spec(lx, sb) == -1)
		return -1;
	sm_msg_append(sb, "", 1);
	sm_addrs_add(out, sb->buf);
	return 0;
}

/* The next token after any empty elements, commas alone, that a list
 * and a group may have (RFC 5322 4.4: obs-addr-list, obs-group-list);
 * lx->err set on an error. */
static struct tok
peek_element(struct lexer *lx)
{
	struct tok t;

	while (t = peek_tok(lx), lx->err == NULL && is_special(&t, ','))
		next_tok(lx);
	return t;
}

int
sm_addrlist_parse(const char *s, size_t len, struct sm_addrs *out,
    char *err, size_t errlen)
{
	struct lexer lx = { s, len, 0, NULL };
	struct sm_msg sb = { NULL, 0, 0 };
	struct tok t;
	size_t first = out->n;
	bool in_group;
	int rc = -1;

	for (;;) {
		t = peek_element(&lx);
		if (lx.err != NULL)
			goto done;
		if (t.type == TK_END)
			break;
		in_group = group_ahead(&lx);
		if (in_group) {
			do {
				t = next_tok(&lx);
			} while (!is_special(&t, ':') && t.type != TK_END);
			for (;;) {
				t = peek_element(&lx);
				if (lx.err != NULL)
					goto done;
				if (is_special(&t, ';')) {
					next_tok(&lx);
					break;
				}
				/* A group never closed ends with the field. */
				if (t.type == TK_END)
					break;
				if (parse_mailbox(&lx, &sb, out) == -1)
					goto done;
				t = peek_tok(&lx);
				if (!is_special(&t, ',') && !is_special(&t, ';') &&
				    t.type != TK_END) {
					if (lx.err == NULL)
						lx.err = "',' expected between "
						    "addresses";
					goto done;
				}
			}
		} else if (parse_mailbox(&lx, &sb, out) == -1)
			goto done;
		t = peek_tok(&lx);
		if (lx.err != NULL)
			goto done;
		if (!is_special(&t, ',') && t.type != TK_END) {
			lx.err = "',' expected between addresses";
			goto done;
		}
	}
	rc = 0;
done:
	if (rc == -1) {
		snprintf(err, errlen, "%s", lx.err != NULL ? lx.err :
		    "malformed address list");
		/* All or nothing: a list refused adds no address. */
		while (out->n > first)
			free(out->v[--out->n]);
		if (out->n == 0) {
			free(out->v);
			out->v = NULL;
		}
	}
	sm_msg_free(&sb);
	return rc;
}

void
sm_addrs_add(struct sm_addrs *a, const char *s)
{
	/* Room doubles at each power of two: a long list costs no
	 * quadratic copying. */
	if (a->n == 0 || (a->n & (a->n - 1)) == 0)
		a->v = xreallocarray(a->v, a->n ? a->n * 2 : 1, sizeof(*a->v));
	a->v[a->n++] = xstrdup(s);
}

void
sm_addrs_free(struct sm_addrs *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* Where the domain starts ('@'), or NULL: an '@' inside a quoted local
 * part ("a@b") is not one. */
static const char *
domain_at(const char *a)
{
	const char *at = strrchr(a, '@');

	return at != NULL && strchr(at, '"') == NULL ? at : NULL;
}

char *
sm_addr_final(const char *addr, const char *hostname, char *err,
    size_t errlen)
{
	const unsigned char *p;
	const char *at = domain_at(addr);
	char *out;
	size_t n, i, k;

	if (addr[0] == '\0' || addr[0] == '-') {
		snprintf(err, errlen, "invalid address \"%.64s\"", addr);
		return NULL;
	}
	if (at == NULL)
		xasprintf(&out, "%s@%s", addr, hostname);
	else
		out = xstrdup(addr);
	n = strlen(out);
	if (n > SM_ADDR_MAX) {
		snprintf(err, errlen, "address longer than %d octets",
		    SM_ADDR_MAX);
		free(out);
		return NULL;
	}
	at = domain_at(out);
	if (at == NULL || at == out || at[1] == '\0') {
		snprintf(err, errlen, "invalid address \"%.64s\"", addr);
		free(out);
		return NULL;
	}
	p = (const unsigned char *)out;
	for (i = 0; i < n; i += k) {
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (k = utf8_decode(p + i, n - i, NULL)) == 0) {
			snprintf(err, errlen, "invalid character in address");
			free(out);
			return NULL;
		}
	}
	return out;
}

char *
sm_sender_final(const char *arg, const char *hostname, char *err,
    size_t errlen)
{
	struct sm_addrs a = { NULL, 0 };
	char *out;

	if (arg[0] == '\0' || strcmp(arg, "<>") == 0)
		return xstrdup("");
	if (sm_addrlist_parse(arg, strlen(arg), &a, err, errlen) == -1)
		return NULL;
	if (a.n != 1) {
		snprintf(err, errlen, "one sender address expected");
		sm_addrs_free(&a);
		return NULL;
	}
	out = sm_addr_final(a.v[0], hostname, err, errlen);
	sm_addrs_free(&a);
	return out;
}
