/* SPDX-License-Identifier: ISC */
/* Logging: stderr in the foreground, syslog otherwise; text or one JSON
 * object per line. Messages never take a format string from input. */
#ifndef EMPATH_LOG_H
#define EMPATH_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOGL_ERR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };
enum log_target { LOGT_STDERR = 0, LOGT_SYSLOG };
enum log_format { LOGF_TEXT = 0, LOGF_JSON };

/* ident is the program ("smtpd"); foreground forces stderr. */
void log_init(const char *ident, int foreground, int verbose);
/* Apply the `log { }` block of the configuration. */
void log_configure(enum log_target, enum log_format, enum log_level);
int  log_level_enabled(enum log_level);

void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));   /* appends strerror(errno) */
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *, ...) __attribute__((format(printf, 1, 2)));    /* err level, no errno */
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));   /* with strerror */
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void vlog(enum log_level, const char *, va_list) __attribute__((format(printf, 2, 0)));

/* A message with named fields (delivery lines): the text format
 * shows the message alone, the JSON format adds each pair as a string
 * member of the object ("to", "relay", ...; keys other than ts, proc,
 * pid, level and msg). Values are escaped like the message. */
struct log_field {
	const char *key;
	const char *value;
};
void log_fields(enum log_level, const struct log_field *, size_t nfields,
    const char *, ...) __attribute__((format(printf, 4, 5)));

/* Make a string from the network safe to put in a log line: UTF-8 is
 * kept, control characters and octets that are not UTF-8 become \xHH
 * (text_escape() of textesc.h), and a result cut to fit ends in "...".
 * Text lines get the same escaping again, which changes nothing. */
const char *log_sanitize(const char *in, char *out, size_t outlen);

#endif
