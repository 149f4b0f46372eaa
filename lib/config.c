/* The configuration outside the grammar: the value syntax (sizes,
 * durations, rates, netmasks, host:port), reading the file, freeing and
 * the lookups the daemons do. The grammar itself is lib/parse.y. */
#include <sys/types.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
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
		/* Several colons and no brackets: a bare IPv6 literal. */
		if (inet_pton(AF_INET6, s, &a6) != 1)
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
		errno = EINVAL;
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
	text[len] = '\0';

	cfg = config_parse(path, text, len, errfn);
	if (cfg != NULL && textp != NULL) {
		*textp = text;
		if (lenp != NULL)
			*lenp = len;
	} else
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
	struct cfg_kv *kv;
	struct cfg_netmask *m;
	struct cfg_domain *d;
	struct cfg_plugin *pl;
	size_t i;
	int j;

	if (cfg == NULL)
		return;
	while ((l = TAILQ_FIRST(&cfg->listeners)) != NULL) {
		TAILQ_REMOVE(&cfg->listeners, l, entry);
		while ((kv = TAILQ_FIRST(&l->context)) != NULL) {
			TAILQ_REMOVE(&l->context, kv, entry);
			free(kv->key);
			free(kv->value);
			free(kv);
		}
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
		free(d->relay_host);
		free(d);
	}
	while ((pl = TAILQ_FIRST(&cfg->plugins)) != NULL) {
		TAILQ_REMOVE(&cfg->plugins, pl, entry);
		for (j = 0; j < pl->argc; j++)
			free(pl->argv[j]);
		free(pl->argv);
		free(pl->name);
		free(pl);
	}
	for (i = 0; i < cfg->ntoken_hashes; i++)
		free(cfg->token_hashes[i]);
	free(cfg->token_hashes);
	free(cfg->hostname);
	free(cfg->user);
	free(cfg->spool);
	free(cfg->delivery.relay_host);
	free(cfg->resolver_addr);
	free(cfg->dsn_reporting_mta);
	free(cfg->dsn_postmaster);
	free(cfg->control_socket);
	free(cfg->control_group);
	free(cfg->health_addr);
	free(cfg);
}

struct cfg_domain *
config_domain(const struct config *cfg, const char *domain)
{
	struct cfg_domain *d;
	size_t len;

	if (cfg == NULL || domain == NULL)
		return NULL;
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
