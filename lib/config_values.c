/* SPDX-License-Identifier: ISC */
/* The values of empath.conf(5) as the grammar in lib/parse.y checks and
 * converts them (moved here to keep that file small). */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "parse.h"
#include "util.h"

#define COUNT_MAX INT_MAX
#define Q(s) cfg_show((s), qbuf, sizeof(qbuf))

bool
cfg_valid_chars(const char *s, const char *extra)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return false;
	return true;
}

void
cfg_set_string(struct parser *p, char **dst, char *val, const char *what,
    unsigned line, enum value_kind kind)
{
	char qbuf[80];
	const char *at;
	bool ok = true;

	if (*dst != NULL) {
		cfg_error(p, line, "%s given twice", what);
		free(val);
		return;
	}
	switch (kind) {
	case V_PATH:
		ok = val[0] != '\0';
		break;
	case V_HOST:                    /* a domain or an address literal */
		ok = val[0] != '\0' && strlen(val) <= 255 &&
		    (cfg_valid_chars(val, "-._") ||
		    (val[0] == '[' && cfg_valid_chars(val, "-._:[]")));
		break;
	case V_NAME:                    /* a user or group name */
		ok = val[0] != '\0' && strlen(val) <= 32 &&
		    cfg_valid_chars(val, "-._");
		break;
	case V_ADDR:                    /* local@domain, no spaces */
		at = strrchr(val, '@');
		ok = at != NULL && at != val && at[1] != '\0' &&
		    cfg_valid_chars(at + 1, "-._") &&
		    strpbrk(val, " \t<>\"") == NULL;
		break;
	}
	if (!ok) {
		cfg_error(p, line, "invalid %s %s", what, Q(val));
		free(val);
		return;
	}
	*dst = val;
}

int64_t
cfg_count_value(struct parser *p, int64_t v, unsigned line)
{
	if (v < 1 || v > COUNT_MAX) {
		cfg_error(p, line, "number %lld out of range (1 to %d)",
		    (long long)v, COUNT_MAX);
		return -1;
	}
	return v;
}

int64_t
cfg_port_value(struct parser *p, int64_t v, unsigned line)
{
	if (v < 1 || v > 65535) {
		cfg_error(p, line, "invalid port %lld", (long long)v);
		return 0;
	}
	return v;
}

/* size, duration and rate take a NUMBER (s == NULL, value v) or a
 * STRING (freed here); they return -1 after reporting an error. */
int64_t
cfg_size_value(struct parser *p, char *s, int64_t v, unsigned line)
{
	char qbuf[80];
	size_t sz = (size_t)v;

	if (s != NULL && config_parse_size(s, &sz) == -1) {
		cfg_error(p, line, "invalid size %s", Q(s));
		free(s);
		return -1;
	}
	if (sz == 0 || sz > INT64_MAX) {
		if (s != NULL)
			cfg_error(p, line, "invalid size %s", Q(s));
		else
			cfg_error(p, line, "invalid size %lld", (long long)v);
		free(s);
		return -1;
	}
	free(s);
	return (int64_t)sz;
}

int64_t
cfg_duration_value(struct parser *p, char *s, int64_t v, unsigned line)
{
	char qbuf[80], num[24];
	unsigned d;

	if (s == NULL) {
		snprintf(num, sizeof(num), "%lld", (long long)v);
		if (config_parse_duration(num, &d) == -1) {
			cfg_error(p, line, "invalid duration %s", num);
			return -1;
		}
		return d;
	}
	if (config_parse_duration(s, &d) == -1) {
		cfg_error(p, line, "invalid duration %s", Q(s));
		free(s);
		return -1;
	}
	free(s);
	return d;
}

double
cfg_rate_value(struct parser *p, char *s, int64_t v, unsigned line)
{
	char qbuf[80], num[24];
	double r;

	if (s == NULL) {
		snprintf(num, sizeof(num), "%lld", (long long)v);
		if (config_parse_rate(num, &r) == -1) {
			cfg_error(p, line, "invalid rate %s", num);
			return -1;
		}
		return r;
	}
	if (config_parse_rate(s, &r) == -1) {
		cfg_error(p, line, "invalid rate %s", Q(s));
		r = -1;
	}
	free(s);
	return r;
}

/* Every duration but delay-warning must be positive. */
void
cfg_set_duration(struct parser *p, unsigned *dst, int64_t v, unsigned line)
{
	if (v < 0)
		return;
	if (v == 0) {
		cfg_error(p, line, "invalid duration 0");
		return;
	}
	*dst = (unsigned)v;
}

bool
config_plugin_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= CFG_PLUGIN_NAME_MAX && s[0] != '.' &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._+-") == n;
}

void
cfg_plugin_begin(struct parser *p, char *name, unsigned line)
{
	char qbuf[80];
	struct cfg_plugin *cp, *o;

	if (!config_plugin_name_ok(name))
		cfg_error(p, line, "invalid plugin name %s (letters, digits, "
		    "\".\", \"_\", \"+\", \"-\", not starting with \".\")",
		    Q(name));
	else
		TAILQ_FOREACH(o, &p->cfg->plugins, entry)
			if (strcmp(o->name, name) == 0) {
				cfg_error(p, line, "duplicate plugin %s (line %u)",
				    Q(name), o->line);
				break;
			}
	cp = xcalloc(1, sizeof(*cp));
	cp->name = name;
	cp->line = line;
	cp->args = xcalloc(1, sizeof(*cp->args));
	TAILQ_INSERT_TAIL(&p->cfg->plugins, cp, entry);
	p->plugin = cp;
}

/* Each args statement adds to the list. */
void
cfg_plugin_arg(struct parser *p, char *arg, unsigned line)
{
	struct cfg_plugin *cp = p->plugin;

	if (cp->nargs == CFG_PLUGIN_ARGS_MAX) {
		cfg_error(p, line, "plugin \"%s\": more than %d args",
		    cp->name, CFG_PLUGIN_ARGS_MAX);
		free(arg);
		return;
	}
	cp->args = xreallocarray(cp->args, cp->nargs + 2, sizeof(*cp->args));
	cp->args[cp->nargs++] = arg;
	cp->args[cp->nargs] = NULL;
}
