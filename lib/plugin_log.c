/* SPDX-License-Identifier: ISC */
/* em_log(): what a plugin logs goes through the daemon's logger, one
 * bounded line prefixed with the plugin's name so that an operator knows
 * whose line it is. The logger makes every line printable (it escapes
 * controls and what is not UTF-8, textesc.h), whatever the plugin put
 * in it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "empath/empath.h"
#include "log.h"
#include "plugin_log.h"

#define PLUGIN_LOG_MAX 2048

/* A copy: the loader frees its name when the plugin is unloaded. */
static char current[CFG_PLUGIN_NAME_MAX + 1];

void
plugin_log_enter(const char *name)
{
	strlcpy(current, name != NULL ? name : "", sizeof(current));
}

void
em_log(int priority, const char *fmt, ...)
{
	char msg[PLUGIN_LOG_MAX];
	enum log_level level;
	int saved = errno, n;
	va_list ap;

	switch (LOG_PRI(priority)) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR:
		level = LOGL_ERR;
		break;
	case LOG_WARNING:
		level = LOGL_WARN;
		break;
	case LOG_NOTICE: case LOG_INFO:
		level = LOGL_INFO;
		break;
	default:
		level = LOGL_DEBUG;
		break;
	}
	if (fmt == NULL || !log_level_enabled(level)) {
		errno = saved;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		strlcpy(msg, "(log format error)", sizeof(msg));
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	log_fields(level, NULL, 0, "plugin %s: %s",
	    current[0] != '\0' ? current : "?", msg);
	errno = saved;
}
