/* SPDX-License-Identifier: ISC */
/* Logging: one bounded line per call, to stderr (foreground) or syslog,
 * as text or as one JSON object per line. No allocation happens here, so
 * fatalx() from an allocation failure can still log. errno is preserved
 * across every call, so `log_warnx(...); return errno;` stays correct. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "textesc.h"

#define LOG_LINE_MAX 8192

static struct {
	char            ident[32];
	bool            foreground;
	int             verbose;
	bool            syslog_open;
	enum log_target target;
	enum log_format format;
	enum log_level  level;
} lg = { "empath", true, 0, false, LOGT_STDERR, LOGF_TEXT, LOGL_INFO };

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int level_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

static void
open_syslog(void)
{
	/* LOG_NDELAY connects now: after chroot /dev/log is out of reach. */
	if (!lg.syslog_open) {
		openlog(lg.ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
		lg.syslog_open = true;
	}
}

void
log_init(const char *ident, int foreground, int verbose)
{
	int saved = errno;

	strlcpy(lg.ident, ident ? ident : "empath", sizeof(lg.ident));
	lg.foreground = foreground != 0;
	lg.verbose = verbose;
	lg.format = LOGF_TEXT;
	lg.level = verbose ? LOGL_DEBUG : LOGL_INFO;
	lg.target = lg.foreground ? LOGT_STDERR : LOGT_SYSLOG;
	if (lg.target == LOGT_SYSLOG)
		open_syslog();
	errno = saved;
}

void
log_configure(enum log_target target, enum log_format format,
    enum log_level level)
{
	int saved = errno;

	/* -d always keeps the log on the terminal; -v always shows debug. */
	lg.target = lg.foreground ? LOGT_STDERR : target;
	lg.format = format == LOGF_JSON ? LOGF_JSON : LOGF_TEXT;
	if (level > LOGL_DEBUG)
		level = LOGL_DEBUG;
	lg.level = lg.verbose ? LOGL_DEBUG : level;
	if (lg.target == LOGT_SYSLOG)
		open_syslog();
	errno = saved;
}

int
log_level_enabled(enum log_level l)
{
	return l <= lg.level;
}

/* Append s to buf[*off..cap) as the inside of a JSON string. Stops (and
 * returns false) rather than split an escape when space runs out. */
static bool
json_append(char *buf, size_t *off, size_t cap, const char *s)
{
	size_t n = strlen(s), used;

	if (*off >= cap)
		return n == 0;
	used = text_escape_json(buf + *off, cap - *off, s, n);
	*off += strlen(buf + *off);
	return used == n;
}

/* The message of a text line: controls and bytes that are not UTF-8
 * escaped (whatever the caller did), a cut one ending in "...". */
static const char *
text_msg(const char *msg, char *buf, size_t len)
{
	size_t n = strlen(msg);

	if (text_escape(buf, len, msg, n) < n) {
		text_escape(buf, len - 3, msg, n);
		strlcat(buf, "...", len);
	}
	return buf;
}

static void
emit_fields(enum log_level level, const char *msg, const struct log_field *f,
    size_t nf)
{
	char line[LOG_LINE_MAX + 512];
	char safe[LOG_LINE_MAX];
	char ts[40];
	struct timespec now;
	struct tm tm;
	size_t off;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03ldZ", now.tv_nsec / 1000000);

	if (lg.format == LOGF_JSON) {
		off = 0;
		n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"proc\":\"", ts);
		off = (size_t)n;
		json_append(line, &off, sizeof(line), lg.ident);
		n = snprintf(line + off, sizeof(line) - off,
		    "\",\"pid\":%ld,\"level\":\"%s\",\"msg\":\"",
		    (long)getpid(), level_names[level]);
		off += (size_t)n;
		/* Leave room for the closing `"}\n`; a cut message ends in "...". */
		if (!json_append(line, &off, sizeof(line) - 8, msg)) {
			memcpy(line + off, "...", 3);
			off += 3;
		}
		/* Fields that do not fit whole are left out. */
		for (size_t i = 0; i < nf; i++) {
			size_t save = off;

			if (off + 8 >= sizeof(line) - 8)
				break;
			memcpy(line + off, "\",\"", 3);
			off += 3;
			if (!json_append(line, &off, sizeof(line) - 12, f[i].key) ||
			    off + 3 >= sizeof(line) - 12) {
				off = save;
				break;
			}
			memcpy(line + off, "\":\"", 3);
			off += 3;
			if (!json_append(line, &off, sizeof(line) - 8,
			    f[i].value != NULL ? f[i].value : "")) {
				off = save;
				break;
			}
		}
		memcpy(line + off, "\"}\n", 4);
		off += 3;
	} else if (lg.target == LOGT_SYSLOG) {
		/* syslog adds time, ident and pid itself. */
		off = (size_t)snprintf(line, sizeof(line), "%s",
		    text_msg(msg, safe, sizeof(safe)));
	} else {
		n = snprintf(line, sizeof(line), "%s %s[%ld]: %s: %s\n", ts,
		    lg.ident, (long)getpid(), level_names[level],
		    text_msg(msg, safe, sizeof(safe)));
		off = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
		line[off - 1] = '\n';
	}

	if (lg.target == LOGT_SYSLOG) {
		if (off > 0 && line[off - 1] == '\n')
			line[--off] = '\0';
		syslog(level_prio[level], "%s", line);
	} else {
		/* One write per line so that lines of several processes
		 * sharing the terminal do not interleave. */
		ssize_t w = write(STDERR_FILENO, line, off);
		(void)w;   /* nowhere to report a failed log write */
	}
}

static void
emit(enum log_level level, const char *msg)
{
	emit_fields(level, msg, NULL, 0);
}

/* Format into the bounded message buffer; a cut message ends in "...". */
static void
vlog_errno(enum log_level level, int err, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	size_t len;
	bool cut;
	int n;

	if (level > LOGL_DEBUG)
		level = LOGL_DEBUG;
	if (!log_level_enabled(level))
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		strlcpy(msg, "(log format error)", sizeof(msg));
	cut = n >= (int)sizeof(msg);
	if (err != 0 && !cut) {
		len = strlen(msg);
		n = snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(err));
		cut = n >= (int)(sizeof(msg) - len);
	}
	if (cut)
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	emit(level, msg);
}

void
vlog(enum log_level level, const char *fmt, va_list ap)
{
	int saved = errno;

	vlog_errno(level, 0, fmt, ap);
	errno = saved;
}

#define LOG_BODY(level, err) do {                  \
	int saved_ = errno;                         \
	va_list ap_;                                \
	va_start(ap_, fmt);                         \
	vlog_errno((level), (err), fmt, ap_);       \
	va_end(ap_);                                \
	errno = saved_;                             \
} while (0)

void
log_fields(enum log_level level, const struct log_field *f, size_t nf,
    const char *fmt, ...)
{
	int saved = errno;
	char msg[LOG_LINE_MAX];
	va_list ap;
	int n;

	if (level > LOGL_DEBUG)
		level = LOGL_DEBUG;
	if (log_level_enabled(level)) {
		va_start(ap, fmt);
		n = vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		if (n < 0)
			strlcpy(msg, "(log format error)", sizeof(msg));
		else if (n >= (int)sizeof(msg))
			memcpy(msg + sizeof(msg) - 4, "...", 4);
		emit_fields(level, msg, lg.format == LOGF_JSON ? f : NULL,
		    lg.format == LOGF_JSON ? nf : 0);
	}
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOGL_WARN, saved_);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOGL_WARN, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOGL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOGL_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOGL_ERR, saved_);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOGL_ERR, 0);
	exit(1);
}

const char *
log_sanitize(const char *in, char *out, size_t outlen)
{
	size_t n;

	if (outlen == 0)
		return out;
	if (in == NULL)
		in = "(null)";
	n = strlen(in);
	/* A cut result ends in "..." when there is room for it. */
	if (text_escape(out, outlen, in, n) < n && outlen >= 4) {
		text_escape(out, outlen - 3, in, n);
		strlcat(out, "...", outlen);
	}
	return out;
}

/* An error the daemon survives (a supervisor's decision, a plugin
 * disabled): logged at the err level, without errno. */
void
log_err(const char *fmt, ...)
{
	LOG_BODY(LOGL_ERR, 0);
}
