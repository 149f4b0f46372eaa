/* SPDX-License-Identifier: ISC */
/* The host name of a configuration that gives none (mailname.h). */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mailname.h"
#include "util.h"

bool
mailname_valid(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > MAILNAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			/* No empty label, none ending in '-'. */
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
		if (label == 0 && s[i] == '-')
			return false;
		if (++label > 63)
			return false;
	}
	/* The last label: not empty (no trailing dot), not ending in '-'. */
	return label > 0 && s[len - 1] != '-';
}

enum mailname_status
mailname_read(const char *path, char *out, size_t outlen)
{
	/* The longest name, CR, LF: anything longer is not one. */
	char buf[MAILNAME_MAX + 2];
	struct stat st;
	size_t len = 0, line;
	ssize_t n;
	char *nl;
	int fd;

	/* O_NONBLOCK: a FIFO planted there must not stop the start. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return errno == ENOENT || errno == ENOTDIR || errno == EACCES ?
		    MAILNAME_ABSENT : MAILNAME_INVALID;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return MAILNAME_INVALID;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			return MAILNAME_INVALID;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	close(fd);
	if ((nl = memchr(buf, '\n', len)) != NULL)
		line = (size_t)(nl - buf);
	else if (len == sizeof(buf))
		return MAILNAME_INVALID;        /* a first line too long */
	else
		line = len;                     /* no newline at the end */
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	if (!mailname_valid(buf, line) || line >= outlen)
		return MAILNAME_INVALID;
	memcpy(out, buf, line);
	out[line] = '\0';
	return MAILNAME_OK;
}

/* What the configuration language takes as a host name (V_HOST in
 * lib/config_values.c): gethostname(3) may return anything. */
static bool
config_host_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 255)
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-._", *s) == NULL)
			return false;
	return true;
}

void
mailname_default(const char *mailname_path, char *out, size_t outlen,
    const char **source)
{
	char host[256];
	const char *src = "gethostname";

	if (mailname_read(mailname_path, out, outlen) == MAILNAME_OK) {
		src = mailname_path;
	} else {
		/* Not made fully qualified: getaddrinfo(AI_CANONNAME) may
		 * ask the DNS, and a start must not wait for it. */
		if (gethostname(host, sizeof(host)) == -1)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		if (!config_host_ok(host)) {
			strlcpy(host, "localhost", sizeof(host));
			src = "default";
		}
		strlcpy(out, host, outlen);
	}
	if (source != NULL)
		*source = src;
}

struct config *
mailname_apply(const char *name, struct config *cfg, char **textp,
    size_t *lenp, const char *mailname_path, void (*errfn)(const char *))
{
	char host[256], *text;
	const char *sep;
	size_t len, extra;
	int n;

	if (cfg == NULL || cfg->hostname_given)
		return cfg;
	mailname_default(mailname_path, host, sizeof(host), NULL);
	/* A statement of its own on a line of its own: the file parsed,
	 * so it ends outside any block, string or comment but a last
	 * comment line without its newline. */
	sep = *lenp > 0 && (*textp)[*lenp - 1] != '\n' ? "\n" : "";
	extra = strlen(sep) + sizeof("hostname \"\"\n") - 1 + strlen(host);
	len = *lenp + extra;
	text = xmalloc(len + 1);
	memcpy(text, *textp, *lenp);
	n = snprintf(text + *lenp, extra + 1, "%shostname \"%s\"\n", sep, host);
	if (n < 0 || (size_t)n != extra)
		fatalx("mailname_apply: hostname line");
	config_free(cfg);
	cfg = config_parse(name, text, len, errfn);
	if (cfg == NULL) {
		free(text);
		return NULL;
	}
	free(*textp);
	*textp = text;
	*lenp = len;
	return cfg;
}
