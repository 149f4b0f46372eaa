/* SPDX-License-Identifier: ISC */
/* Small helpers shared by every Empath program. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatalx("out of memory allocating %zu bytes", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		fatalx("out of memory allocating %zu * %zu bytes", nmemb, size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	/* reallocarray(p, 0, n) may free and return NULL: ask for one byte. */
	if (nmemb == 0 || size == 0) {
		nmemb = 1;
		size = 1;
	}
	p = reallocarray(ptr, nmemb, size);
	if (p == NULL)
		fatalx("out of memory reallocating %zu * %zu bytes", nmemb, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatalx("out of memory duplicating a string of %zu bytes", strlen(s));
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("out of memory formatting a string");
	return n;
}

int
fd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	if (fl & O_NONBLOCK)
		return 0;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ? -1 : 0;
}

int
fd_cloexec(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1)
		return -1;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl) == -1 ? -1 : 0;
}

uint64_t
mono_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime(CLOCK_MONOTONIC)");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t
wall_s(void)
{
	return (int64_t)time(NULL);
}

/* Numeric address only (no port): "192.0.2.1", "2001:db8::1", "unix".
 * An IPv4-mapped IPv6 address (a dual-stack listener) is shown as the
 * IPv4 address it is, as clients and administrators know it. */
const char *
sa_ntop(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct in6_addr *a6;
	const void *a;
	int af;

	if (len == 0)
		return buf;
	af = sa ? sa->sa_family : AF_UNSPEC;
	switch (af) {
	case AF_INET:
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		break;
	case AF_INET6:
		a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		a = a6;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			af = AF_INET;
			a = &a6->s6_addr[12];
		}
		break;
	case AF_UNIX:
		strlcpy(buf, "unix", len);
		return buf;
	default:
		strlcpy(buf, "unknown", len);
		return buf;
	}
	if (inet_ntop(af, a, buf, (socklen_t)len) == NULL)
		strlcpy(buf, "unknown", len);
	return buf;
}

/* "host:port", "[v6]:port", "host" (defport) and a bare IPv6 literal
 * "2001:db8::1" (more than one ':' without brackets: all host, defport).
 * Returns 0, or -1 on a malformed input, a missing port with defport == 0,
 * a port outside 1..65535 or a host that does not fit. */
int
hostport_split(const char *in, char *host, size_t hostlen, uint16_t *port,
    uint16_t defport)
{
	const char *h, *p = NULL, *colon;
	size_t hl;

	if (in == NULL || *in == '\0' || hostlen == 0)
		return -1;
	if (in[0] == '[') {
		const char *close = strchr(in, ']');

		if (close == NULL)
			return -1;
		h = in + 1;
		hl = (size_t)(close - h);
		if (close[1] == ':')
			p = close + 2;
		else if (close[1] != '\0')
			return -1;
	} else {
		h = in;
		colon = strchr(in, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			hl = (size_t)(colon - in);
			p = colon + 1;
		} else
			hl = strlen(in);   /* no port, or an unbracketed v6 literal */
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	if (p != NULL) {
		char *end;
		unsigned long v;

		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno != 0 || *end != '\0' || v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	} else {
		if (defport == 0)
			return -1;
		*port = defport;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	return 0;
}

int
sa_from_numeric(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

const char *
addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The v4-mapped keys have 0xffff in the low 64 bits, so a v4 key never
 * meets a /64 key. */
bool
sa_client_key(const struct sockaddr *sa, uint8_t key[16])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memset(key, 0, 10);
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &s4->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		memcpy(key, a, 16);
		if (!IN6_IS_ADDR_V4MAPPED(a))
			memset(key + 8, 0, 8);
		return true;
	}
	return false;
}

int
sun_fill(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
close_failed(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
	return -1;
}
