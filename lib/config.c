/* SPDX-License-Identifier: ISC */
/* The configuration outside the grammar: the value syntax (sizes,
 * durations, rates, netmasks, host:port), the defaults, the lexer and
 * error reporting of lib/parse.y, reading the file, freeing and the
 * lookups the daemons do. */
#include <sys/types.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "idn.h"
#include "log.h"
#include "mailname.h"
#include "parse.h"
#include "textesc.h"
#include "util.h"

/* A configuration is a few kilobytes; anything much larger is a mistake
 * (or the wrong file) and is refused rather than parsed. */
#define CONFIG_MAX_FILE (1024 * 1024)

/* Durations are seconds in an unsigned; keep them far from overflow when
 * a daemon turns them into milliseconds. */
#define DURATION_MAX INT32_MAX

/* Read an unsigned decimal at *sp (at least one digit), advancing *sp. */
static int
read_u64(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	*out = v;
	return 0;
}

int
config_parse_size(const char *s, size_t *out)
{
	uint64_t v, mult = 1;

	if (read_u64(&s, &v) == -1)
		return -1;
	switch (*s) {
	case '\0':
		break;
	case 'K': case 'k':
		mult = 1024;
		s++;
		break;
	case 'M': case 'm':
		mult = 1024 * 1024;
		s++;
		break;
	case 'G': case 'g':
		mult = 1024 * 1024 * 1024;
		s++;
		break;
	default:
		return -1;
	}
	if (*s != '\0' || v > SIZE_MAX / mult)
		return -1;
	*out = (size_t)(v * mult);
	return 0;
}

int
config_parse_duration(const char *s, unsigned *out)
{
	uint64_t v, unit, total = 0;

	if (read_u64(&s, &v) == -1)
		return -1;
	if (*s == '\0') {                  /* a plain number is seconds */
		if (v > DURATION_MAX)
			return -1;
		*out = (unsigned)v;
		return 0;
	}
	/* One or more NUMBER UNIT groups: "90s", "4h", "1h30m". */
	for (;;) {
		switch (*s++) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -1;
		}
		if (v > DURATION_MAX / unit)
			return -1;
		total += v * unit;
		if (total > DURATION_MAX)
			return -1;
		if (*s == '\0')
			break;
		if (read_u64(&s, &v) == -1)
			return -1;
	}
	*out = (unsigned)total;
	return 0;
}

int
config_parse_rate(const char *s, double *out)
{
	uint64_t whole, frac = 0, scale = 1;
	double per = 1, r;

	if (read_u64(&s, &whole) == -1 || whole > 1000000000)
		return -1;
	if (*s == '.') {                   /* "0.5/s" */
		s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		for (; isdigit((unsigned char)*s); s++) {
			if (scale >= 1000000000)
				return -1;
			frac = frac * 10 + (uint64_t)(*s - '0');
			scale *= 10;
		}
	}
	if (*s == '/') {
		s++;
		switch (*s++) {
		case 's': per = 1; break;
		case 'm': per = 60; break;
		case 'h': per = 3600; break;
		case 'd': per = 86400; break;
		default: return -1;
		}
	}
	if (*s != '\0')
		return -1;
	r = ((double)whole + (double)frac / (double)scale) / per;
	if (!(r > 0))
		return -1;
	*out = r;
	return 0;
}

int
config_parse_netmask(const char *s, struct cfg_netmask *m)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned maxbits, prefix, i;
	uint64_t v;

	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(m->addr, 0, sizeof(m->addr));
	if (inet_pton(AF_INET, buf, m->addr) == 1) {
		m->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, buf, m->addr) == 1) {
		m->family = AF_INET6;
		maxbits = 128;
	} else
		return -1;
	prefix = maxbits;
	if (slash != NULL) {
		const char *p = slash + 1;

		/* Digits only: no sign, no spaces, no "0x". */
		if (strlen(p) > 3 || read_u64(&p, &v) == -1 || *p != '\0' ||
		    v > maxbits)
			return -1;
		prefix = (unsigned)v;
	}
	m->prefix = prefix;
	/* Keep the network part only, so matching is a plain comparison. */
	for (i = 0; i < maxbits / 8; i++) {
		if (prefix >= (i + 1) * 8)
			continue;
		if (prefix <= i * 8)
			m->addr[i] = 0;
		else
			m->addr[i] &= (uint8_t)(0xff << (8 - (prefix - i * 8)));
	}
	return 0;
}

static bool
prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, net, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ net[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool
config_netmask_match(const struct cfg_netmask *m, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (sa == NULL)
		return false;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		if (m->family != AF_INET)
			return false;
		return prefix_match((const uint8_t *)&sin->sin_addr, m->addr,
		    m->prefix);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (m->family == AF_INET6)
			return prefix_match(sin6->sin6_addr.s6_addr, m->addr,
			    m->prefix);
		/* An IPv4 client on a dual-stack socket (::ffff:a.b.c.d)
		 * is an IPv4 client for the IPv4 masks. */
		if (memcmp(sin6->sin6_addr.s6_addr, v4mapped, 12) == 0)
			return prefix_match(sin6->sin6_addr.s6_addr + 12,
			    m->addr, m->prefix);
		return false;
	default:
		return false;
	}
}

/* A host name as written in a route: letters, digits, '-', '.', '_'. */
static bool
valid_hostname(const char *h, size_t len)
{
	size_t i;

	if (len == 0 || len > 255)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' &&
		    h[i] != '.' && h[i] != '_')
			return false;
	return true;
}

static int
parse_port(const char *s, uint16_t *port)
{
	uint64_t v;

	if (strlen(s) > 5 || read_u64(&s, &v) == -1 || *s != '\0' ||
	    v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

bool
config_hostport_ambiguous(const char *s)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;
	const char *last = strrchr(s, ':');
	uint16_t port;
	size_t len;

	/* "::1:2525" is the address ::1:2525 and also ::1 port 2525. */
	if (s[0] == '[' || last == NULL || strchr(s, ':') == last ||
	    strspn(last + 1, "0123456789") != strlen(last + 1) ||
	    parse_port(last + 1, &port) == -1 ||
	    inet_pton(AF_INET6, s, &a6) != 1)
		return false;
	len = (size_t)(last - s);
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &a6) == 1;
}

int
config_parse_hostport(const char *s, char **hostp, uint16_t *portp)
{
	char buf[256];
	struct in6_addr a6;
	const char *host = s, *colon, *port = NULL;
	size_t hlen;

	if (s[0] == '[') {                 /* "[2001:db8::1]:25" or "[::1]" */
		const char *end = strchr(s, ']');

		if (end == NULL)
			return -1;
		host = s + 1;
		hlen = (size_t)(end - host);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
		if (hlen == 0 || hlen >= sizeof(buf))
			return -1;
		memcpy(buf, host, hlen);
		buf[hlen] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return -1;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		/* Several colons and no brackets: a bare IPv6 literal, unless
		 * it could as well end in a port. */
		if (inet_pton(AF_INET6, s, &a6) != 1 ||
		    config_hostport_ambiguous(s))
			return -1;
		hlen = strlen(s);
	} else {
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		if (colon)
			port = colon + 1;
		if (!valid_hostname(s, hlen))
			return -1;
	}
	if (hlen >= sizeof(buf))
		return -1;
	*portp = 25;
	if (port != NULL && parse_port(port, portp) == -1)
		return -1;
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	*hostp = xstrdup(buf);
	return 0;
}

int
config_parse_listen_addr(const char *s, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *lenp)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	size_t len = strlen(s);

	if (strcmp(s, "localhost") == 0)
		s = "127.0.0.1";
	else if (len > 2 && s[0] == '[' && s[len - 1] == ']') {
		if (len - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, len - 2);
		buf[len - 2] = '\0';
		s = buf;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*lenp = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*lenp = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* ---------------------------------------------------------------- */
/* Defaults */

struct config *
cfg_new(void)
{
	struct config *c = xcalloc(1, sizeof(*c));

	TAILQ_INIT(&c->listeners);
	TAILQ_INIT(&c->relay_from);
	TAILQ_INIT(&c->domains);
	c->delivery.max_attempts = 0;       /* no limit: expire governs */
	c->delivery.retry_initial = 60;
	c->delivery.retry_max = 4 * 3600;
	c->delivery.expire = 5 * 86400;
	c->delivery.concurrency = 64;
	c->delivery.per_domain = 8;
	c->delivery.tls = TLS_OPPORTUNISTIC;
	c->delivery.relay_port = 25;
	c->delivery.to_connect = 30;
	c->delivery.to_ehlo = 30;
	c->delivery.to_starttls = 30;
	c->delivery.to_mail = 30;
	c->delivery.to_rcpt = 30;
	c->delivery.to_data = 2 * 60;
	c->delivery.to_quit = 10;
	c->resolver_port = 53;
	c->resolver_timeout = 5;
	c->resolver_attempts = 2;
	c->resolver_min_ttl = 5;
	c->resolver_max_ttl = 86400;
	c->delivery.mx_port = 25;
	c->delivery.breaker_failures = 5;
	c->delivery.breaker_cooldown = 60;
	c->dsn_delay_warning = 4 * 3600;
	c->dsn_return_limit = 50 * 1024;
	c->max_hops = 100;
	c->address_literals = ADDRLIT_REFUSE;
	TAILQ_INIT(&c->delivery.mx_allow);
	c->log_target = LOGT_SYSLOG;
	c->log_format = LOGF_TEXT;
	c->log_level = LOGL_INFO;
	TAILQ_INIT(&c->plugins);
	c->plugin_dir = xstrdup(PLUGINDIR);
	c->plugin_warn_ms = CFG_PLUGIN_WARN_MS_DEFAULT;
	return c;
}

bool
cfg_same_sockaddr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	return false;
}

struct cfg_listen *
cfg_listen_new(void)
{
	struct cfg_listen *l = xcalloc(1, sizeof(*l));

	l->port = 25;
	l->max_message_size = 35 * 1024 * 1024;
	l->max_recipients = 1000;
	l->max_connections = 1000;
	l->max_connections_per_ip = 20;
	l->max_errors = 10;
	l->tls_mode = LTLS_STARTTLS;
	l->to_command = 5 * 60;
	l->to_data_init = 2 * 60;
	l->to_data_block = 3 * 60;
	l->to_data_term = 10 * 60;
	l->to_connection = 30 * 60;
	l->address_literals = -1;
	return l;
}

/* ---------------------------------------------------------------- */
/* The lexer of lib/parse.y and its error reporting */

static const struct {
	const char *word;
	int token;
} keywords[] = {
	{ "accept", T_ACCEPT }, { "accept-invalid-certs", T_ACCEPTINVALID },
	{ "args", T_ARGS }, { "burst", T_BURST }, { "certificate", T_CERTIFICATE },
	{ "command", T_COMMAND }, { "concurrency", T_CONCURRENCY },
	{ "connect", T_CONNECT }, { "connection", T_CONNECTION },
	{ "context", T_CONTEXT }, { "control", T_CONTROL }, { "data", T_DATA },
	{ "data-block", T_DATABLOCK }, { "data-init", T_DATAINIT },
	{ "data-termination", T_DATATERM }, { "debug", T_DEBUG },
	{ "delay-warning", T_DELAYWARNING }, { "delivery", T_DELIVERY },
	{ "domain", T_DOMAIN }, { "dsn", T_DSN }, { "ehlo", T_EHLO }, { "err", T_ERR },
	{ "expire", T_EXPIRE }, { "format", T_FORMAT }, { "from", T_FROM },
	{ "group", T_GROUP }, { "health", T_HEALTH }, { "hostname", T_HOSTNAME },
	{ "implicit", T_IMPLICIT }, { "info", T_INFO }, { "initial", T_INITIAL },
	{ "json", T_JSON }, { "key", T_KEY }, { "level", T_LEVEL },
	{ "listen", T_LISTEN }, { "log", T_LOG }, { "mail", T_MAIL }, { "max", T_MAX },
	{ "max-attempts", T_MAXATTEMPTS }, { "max-connections", T_MAXCONN },
	{ "max-connections-per-ip", T_MAXCONNIP }, { "max-errors", T_MAXERRORS },
	{ "max-message-size", T_MAXMSGSIZE }, { "max-queue-size", T_MAXQUEUE },
	{ "max-recipients", T_MAXRCPT }, { "no", T_NO }, { "none", T_NONE },
	{ "on", T_ON }, { "opportunistic", T_OPPORTUNISTIC },
	{ "per-domain", T_PERDOMAIN }, { "plugin", T_PLUGIN }, { "port", T_PORT },
	{ "postmaster", T_POSTMASTER }, { "quit", T_QUIT },
	{ "rate-limit", T_RATELIMIT }, { "rcpt", T_RCPT }, { "relay", T_RELAY },
	{ "reporting-mta", T_REPORTINGMTA }, { "required", T_REQUIRED },
	{ "resolver", T_RESOLVER }, { "retry", T_RETRY }, { "socket", T_SOCKET },
	{ "spool", T_SPOOL }, { "starttls", T_STARTTLS }, { "stderr", T_STDERR },
	{ "syslog", T_SYSLOG }, { "target", T_TARGET }, { "text", T_TEXT },
	{ "timeout", T_TIMEOUT }, { "tls", T_TLS }, { "token-hash", T_TOKENHASH },
	{ "user", T_USER }, { "via", T_VIA }, { "warn", T_WARN }, { "yes", T_YES },
	{ "attempts", T_ATTEMPTS }, { "cache-max-ttl", T_CACHEMAXTTL },
	{ "cache-min-ttl", T_CACHEMINTTL }, { "circuit-breaker", T_CIRCUITBREAKER },
	{ "cool-down", T_COOLDOWN }, { "mx-port", T_MXPORT },
	{ "max-hops", T_MAXHOPS }, { "address-literals", T_ADDRLITERALS },
	{ "refuse", T_REFUSE }, { "mx-allow", T_MXALLOW },
	{ "return-limit", T_RETURNLIMIT },
	{ "queue-user", T_QUEUEUSER },
	{ "plugin-dir", T_PLUGINDIR }, { "plugin-hook-warn-ms", T_PLUGINWARN },
	{ "local-submission", T_LOCALSUB }, { "trusted-users", T_TRUSTEDUSERS },
	{ "drop-group", T_DROPGROUP },
};

static int
keyword(const char *word)
{
	size_t i;

	for (i = 0; i < nitems(keywords); i++)
		if (strcmp(word, keywords[i].word) == 0)
			return keywords[i].token;
	return 0;
}

/* Bytes of a bare word: anything printable but the punctuation of the
 * language; UTF-8 bytes are allowed. */
static bool
word_byte(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '{' && c != '}' && c != ',' &&
	    c != '"' && c != '#';
}

static void
set_loc(CFGYYLTYPE *lloc, unsigned line)
{
	lloc->first_line = lloc->last_line = (int)line;
	lloc->first_column = lloc->last_column = 0;
}

static int
lex_quoted(CFGYYSTYPE *lval, struct parser *p)
{
	char *buf = xmalloc(CFG_STRING_MAX + 1);
	size_t n = 0;
	unsigned start = p->line;
	bool toolong = false;
	unsigned char c;

	p->pos++;                                  /* the opening quote */
	for (;;) {
		if (p->pos >= p->len || p->text[p->pos] == '\n') {
			/* Keep what was read: parsing goes on at the next
			 * line, which is the best guess of the intent. */
			cfg_error(p, start, "unterminated string");
			break;
		}
		c = (unsigned char)p->text[p->pos++];
		if (c == '"')
			break;
		if (c == '\\' && p->pos < p->len &&
		    (p->text[p->pos] == '"' || p->text[p->pos] == '\\'))
			c = (unsigned char)p->text[p->pos++];
		else if ((c < ' ' && c != '\t') || c == 0x7f) {
			cfg_error(p, p->line, "invalid character 0x%02x in string",
			    c);
			continue;
		}
		if (n == CFG_STRING_MAX) {
			if (!toolong)
				cfg_error(p, start, "string longer than %d bytes",
				    CFG_STRING_MAX);
			toolong = true;
			continue;
		}
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	cfg_show(buf, p->tok, sizeof(p->tok));
	p->tok_quoted = true;
	p->tok_keyword = keyword(buf) != 0;
	lval->str = buf;
	return T_STRING;
}

static int
lex_word(CFGYYSTYPE *lval, struct parser *p)
{
	char buf[CFG_STRING_MAX + 1];
	size_t start = p->pos, n, i;
	int64_t v = 0;
	int tok;

	while (p->pos < p->len && word_byte((unsigned char)p->text[p->pos]))
		p->pos++;
	n = p->pos - start;
	if (n > CFG_STRING_MAX) {
		cfg_error(p, p->line, "string longer than %d bytes", CFG_STRING_MAX);
		n = CFG_STRING_MAX;
	}
	memcpy(buf, p->text + start, n);
	buf[n] = '\0';
	cfg_show(buf, p->tok, sizeof(p->tok));
	if ((tok = keyword(buf)) != 0)
		return tok;
	/* All digits is a number; a longer one than any sane value stays a
	 * string, so the error quotes it as written. */
	for (i = 0; i < n && n <= 18 && isdigit((unsigned char)buf[i]); i++)
		v = v * 10 + (buf[i] - '0');
	if (i == n && n > 0) {
		lval->num = v;
		return T_NUMBER;
	}
	lval->str = xstrdup(buf);
	return T_STRING;
}

int
cfgyylex(CFGYYSTYPE *lval, CFGYYLTYPE *lloc, struct parser *p)
{
	unsigned char c;

	for (;;) {
		if (p->stop || p->pos >= p->len) {
			/* Blame the last line, not the one after it. */
			unsigned line = p->line;

			if (line > 1 && p->len > 0 && p->text[p->len - 1] == '\n')
				line--;
			set_loc(lloc, line);
			strlcpy(p->tok, "end of file", sizeof(p->tok));
			return T_YYEOF;
		}
		c = (unsigned char)p->text[p->pos];
		if (c == '\n') {
			p->line++;
			p->pos++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
		    c == '\v')
			p->pos++;
		else if (c == '#') {
			while (p->pos < p->len && p->text[p->pos] != '\n')
				p->pos++;
		} else if (c == '{' || c == '}' || c == ',' || c == '"' ||
		    word_byte(c))
			break;
		else {
			cfg_error(p, p->line, "invalid character 0x%02x", c);
			p->pos++;
		}
	}
	set_loc(lloc, p->line);
	p->tok_quoted = p->tok_keyword = false;
	switch (c) {
	case '{':
		if (p->nbraces < CFG_BRACES_MAX)
			p->braces[p->nbraces] = p->line;
		p->nbraces++;
		p->pos++;
		return '{';
	case '}':
		if (p->nbraces > 0)
			p->nbraces--;
		p->pos++;
		return '}';
	case ',':
		p->pos++;
		return ',';
	case '"':
		return lex_quoted(lval, p);
	default:
		return lex_word(lval, p);
	}
}

/* Errors are kept and handed out in line order by cfg_report_errors():
 * the whole-file checks come last but read better where they belong. */
void
cfg_error(struct parser *p, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (p->nerrors >= CFG_ERRORS_MAX) {
		p->stop = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->errors[p->nerrors].line = line;
	xasprintf(&p->errors[p->nerrors].msg, "%s:%u: %s", p->name, line, msg);
	p->nerrors++;
}

static void
emit(struct parser *p, const char *line)
{
	if (p->errfn != NULL)
		p->errfn(line);
	else
		fprintf(stderr, "%s\n", line);
}

void
cfg_report_errors(struct parser *p)
{
	struct cfg_error e;
	char *msg;
	unsigned i, j;

	for (i = 1; i < p->nerrors; i++) {   /* stable insertion sort */
		e = p->errors[i];
		for (j = i; j > 0 && p->errors[j - 1].line > e.line; j--)
			p->errors[j] = p->errors[j - 1];
		p->errors[j] = e;
	}
	for (i = 0; i < p->nerrors; i++) {
		emit(p, p->errors[i].msg);
		free(p->errors[i].msg);
	}
	if (p->stop && p->nerrors == CFG_ERRORS_MAX) {
		xasprintf(&msg, "%s: too many errors, giving up", p->name);
		emit(p, msg);
		free(msg);
	}
	p->nerrors = 0;
}

const char *
cfg_show(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s), i;

	/* Quoted, UTF-8 kept, controls escaped; room kept for `..."`. */
	buf[0] = '"';
	i = text_escape(buf + 1, len - 5, s, n);
	if (i < n)
		strlcat(buf, "...", len);
	strlcat(buf, "\"", len);
	return buf;
}

/* ---------------------------------------------------------------- */
/* Loading, freeing, lookups */

static void
report(void (*errfn)(const char *), const char *line)
{
	if (errfn != NULL)
		errfn(line);
	else
		fprintf(stderr, "%s\n", line);
}

struct config *
config_load(const char *path, char **textp, size_t *lenp,
    void (*errfn)(const char *))
{
	struct config *cfg;
	struct stat st;
	char *text = NULL, *msg;
	size_t len = 0;
	ssize_t n;
	int fd, saved;

	if (textp != NULL)
		*textp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		xasprintf(&msg, "%s: not a regular file", path);
		goto fail_msg;
	}
	if (st.st_size > CONFIG_MAX_FILE) {
		xasprintf(&msg, "%s: larger than %d bytes", path,
		    CONFIG_MAX_FILE);
		goto fail_msg;
	}
	/* Read to the end rather than trusting st_size: the file may
	 * change under us; the limit still holds. */
	text = xmalloc(CONFIG_MAX_FILE + 1);
	for (;;) {
		n = read(fd, text + len, CONFIG_MAX_FILE + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX_FILE) {
			xasprintf(&msg, "%s: larger than %d bytes", path,
			    CONFIG_MAX_FILE);
			goto fail_msg;
		}
	}
	close(fd);
	text = xreallocarray(text, len + 1, 1);   /* give back the rest */
	text[len] = '\0';

	cfg = config_parse(path, text, len, errfn);
	cfg = mailname_apply(path, cfg, &text, &len, MAILNAME_PATH, errfn);
	if (cfg != NULL && lenp != NULL)
		*lenp = len;
	if (cfg != NULL && textp != NULL)
		*textp = text;
	else
		free(text);
	return cfg;

fail:
	saved = errno;
	xasprintf(&msg, "%s: %s", path, strerror(saved));
fail_msg:
	report(errfn, msg);
	free(msg);
	free(text);
	if (fd != -1)
		close(fd);
	return NULL;
}

void
config_free(struct config *cfg)
{
	struct cfg_listen *l;
	struct cfg_netmask *m;
	struct cfg_domain *d;
	struct cfg_plugin *pl;
	size_t i;

	if (cfg == NULL)
		return;
	while ((pl = TAILQ_FIRST(&cfg->plugins)) != NULL) {
		TAILQ_REMOVE(&cfg->plugins, pl, entry);
		for (i = 0; i < pl->nargs; i++)
			free(pl->args[i]);
		free(pl->args);
		free(pl->name);
		free(pl);
	}
	free(cfg->plugin_dir);
	while ((l = TAILQ_FIRST(&cfg->listeners)) != NULL) {
		TAILQ_REMOVE(&cfg->listeners, l, entry);
		free(l->addr);
		free(l->tls_cert);
		free(l->tls_key);
		free(l);
	}
	while ((m = TAILQ_FIRST(&cfg->relay_from)) != NULL) {
		TAILQ_REMOVE(&cfg->relay_from, m, entry);
		free(m);
	}
	while ((d = TAILQ_FIRST(&cfg->domains)) != NULL) {
		TAILQ_REMOVE(&cfg->domains, d, entry);
		free(d->name);
		free(d->spelling);
		free(d->relay_host);
		cfg_netmasks_free(&d->mx_allow);
		free(d);
	}
	for (i = 0; i < cfg->ntoken_hashes; i++)
		free(cfg->token_hashes[i]);
	free(cfg->token_hashes);
	free(cfg->hostname);
	free(cfg->user);
	free(cfg->queue_user);
	free(cfg->spool);
	free(cfg->delivery.relay_host);
	cfg_netmasks_free(&cfg->delivery.mx_allow);
	free(cfg->resolver_addr);
	free(cfg->dsn_reporting_mta);
	free(cfg->dsn_postmaster);
	free(cfg->control_socket);
	free(cfg->submit_socket);
	free(cfg->drop_group);
	for (i = 0; i < cfg->ntrusted_users; i++)
		free(cfg->trusted_users[i]);
	free(cfg->trusted_users);
	free(cfg->control_group);
	free(cfg->health_addr);
	free(cfg);
}

struct cfg_domain *
config_domain(const struct config *cfg, const char *domain)
{
	char alabel[IDN_DOMAIN_MAX];
	struct cfg_domain *d;
	size_t len;

	if (cfg == NULL || domain == NULL)
		return NULL;
	/* Names are stored as lower-case A-labels, so ASCII (an A-label
	 * included) needs only a caseless compare: libidn2 is for U-labels
	 * alone, and one that does not convert matches no block. */
	if (idn_non_ascii(domain)) {
		if (idn_to_ascii(domain, alabel, sizeof(alabel)) == -1)
			return NULL;
		domain = alabel;
	}
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')   /* "example.org." */
		len--;
	TAILQ_FOREACH(d, &cfg->domains, entry)
		if (strlen(d->name) == len &&
		    strncasecmp(d->name, domain, len) == 0)
			return d;
	return NULL;
}

bool
config_relay_allowed(const struct config *cfg, const struct sockaddr *sa)
{
	struct cfg_netmask *m;

	if (cfg == NULL || sa == NULL)
		return false;
	TAILQ_FOREACH(m, &cfg->relay_from, entry)
		if (config_netmask_match(m, sa))
			return true;
	return false;
}
