/* SPDX-License-Identifier: ISC */
/*
 * reject-list: refuse the recipients listed in a file.
 *
 *	plugin "reject-list" { args "/etc/empath/reject-list" }
 *
 * The file holds one address per line ("user@example.org"); blank lines
 * and lines starting with '#' are ignored, and a '#' after the address
 * starts a comment. It is read once, when smtpd starts (before it drops
 * its privileges): a missing or unreadable file, or a malformed line,
 * stops smtpd with the reason logged. The domain is compared without
 * regard to case, the local part exactly (RFC 5321 section 2.4). A listed
 * recipient gets "550 5.1.1 <address>: recipient rejected".
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <empath/empath.h>

/* An address has at most 254 octets (RFC 5321 section 4.5.3.1.3); a
 * longer line is a mistake in the file, not an address. */
#define ADDR_MAX  254
#define LINE_BUF  1024          /* with the comment and the newline */

static char **addrs;           /* sorted, domains in lower case */
static size_t naddrs;

/* Lower-case the domain (ASCII only: a U-label keeps its case). */
static void
normalise(char *addr)
{
	char *at = strrchr(addr, '@');

	for (; at != NULL && *at != '\0'; at++)
		if (*at >= 'A' && *at <= 'Z')
			*at = (char)(*at - 'A' + 'a');
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
rl_fini(void)
{
	while (naddrs > 0)
		free(addrs[--naddrs]);
	free(addrs);
	addrs = NULL;
}

/* Parse one line: 1 and the address in *addr, 0 for nothing, -1 for an
 * error (why says what). */
static int
parse_line(char *line, char **addr, const char **why)
{
	char *end;

	line += strspn(line, " \t\r\n");
	if (*line == '\0' || *line == '#')
		return 0;
	end = line + strcspn(line, " \t\r\n");
	if (*end != '\0') {
		*end++ = '\0';
		end += strspn(end, " \t\r\n");
		if (*end != '\0' && *end != '#') {
			*why = "more than one address";
			return -1;
		}
	}
	if (strlen(line) > ADDR_MAX) {
		*why = "address longer than 254 octets";
		return -1;
	}
	if (strchr(line, '@') == NULL || line[0] == '@' ||
	    line[strlen(line) - 1] == '@') {
		*why = "not an address (user@domain)";
		return -1;
	}
	*addr = line;
	return 1;
}

static int
add(const char *addr)
{
	char **grown;

	if ((grown = realloc(addrs, (naddrs + 1) * sizeof(*addrs))) == NULL)
		return -1;
	addrs = grown;
	if ((addrs[naddrs] = strdup(addr)) == NULL)
		return -1;
	normalise(addrs[naddrs++]);
	return 0;
}

static int
rl_init(int argc, char **argv)
{
	char line[LINE_BUF], *addr;
	const char *why = NULL;
	unsigned lineno = 0;
	FILE *f;

	if (argc != 2) {
		em_log(LOG_ERR, "usage: args \"/path/of/the/list\"");
		return -1;
	}
	if ((f = fopen(argv[1], "r")) == NULL) {
		em_log(LOG_ERR, "%s: %s", argv[1], strerror(errno));
		return -1;
	}
	while (why == NULL && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f))
			why = "line too long";
		else if (parse_line(line, &addr, &why) == 1 && add(addr) == -1)
			why = strerror(ENOMEM);
	}
	if (why == NULL && ferror(f))
		why = "read error";
	fclose(f);
	if (why != NULL) {
		em_log(LOG_ERR, "%s:%u: %s", argv[1], lineno, why);
		rl_fini();
		return -1;
	}
	if (naddrs > 0)
		qsort(addrs, naddrs, sizeof(*addrs), cmp);
	em_log(LOG_INFO, "%s: %zu address%s", argv[1], naddrs,
	    naddrs == 1 ? "" : "es");
	return 0;
}

static int
rl_rcpt(em_context *ctx)
{
	char key[ADDR_MAX + 1], *k = key, text[EM_RESPONSE_TEXT_MAX + 1];
	const char *const *rcpts;
	size_t n;

	/* The recipient being checked is the last one. */
	rcpts = em_context_get_recipients(ctx, &n);
	if (n == 0 || strlen(rcpts[n - 1]) > ADDR_MAX)
		return EM_ACCEPT;
	strcpy(key, rcpts[n - 1]);
	normalise(key);
	if (naddrs == 0 || bsearch(&k, addrs, naddrs, sizeof(*addrs), cmp) == NULL)
		return EM_ACCEPT;
	snprintf(text, sizeof(text), "5.1.1 <%s>: recipient rejected",
	    rcpts[n - 1]);
	/* A text the daemon refuses (an address in UTF-8) is replaced
	 * by one without the address. */
	if (em_context_set_response(ctx, 550, text) == -1)
		em_context_set_response(ctx, 550, "5.1.1 recipient rejected");
	return EM_REJECT;
}

EMPATH_PLUGIN(.name = "reject-list", .version = "1.0",
    .init = rl_init, .fini = rl_fini, .validate_rcpt = rl_rcpt);
