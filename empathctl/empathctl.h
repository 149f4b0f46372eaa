/* SPDX-License-Identifier: ISC */
/* empathctl: command-line client of the control socket (ctld). */
#ifndef EMPATH_EMPATHCTL_H
#define EMPATH_EMPATHCTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"

#define CTL_DEFAULT_SOCKET "/run/empath/control.sock"
#define CTL_TIMEOUT_MS     (10 * 1000)

/* Exit statuses, as documented in empathctl(8). */
#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 64       /* EX_USAGE of sysexits(3) */

/* One answer from ctld, copied out of the channel's buffer. */
struct ctl_reply {
	uint16_t type;
	size_t   len;
	uint8_t  data[CHAN_MAX_PAYLOAD];
};

/* ctl_socket.c: one request, one answer. On failure an error line (without
 * the "empathctl: " prefix) is left in err and -1 returned. */
int ctl_roundtrip(const char *path, uint16_t type, const void *payload,
                  size_t len, struct ctl_reply *, char *err, size_t errlen);
/* A token to present (CTL_AUTH) before each request; NULL for none. */
void ctl_set_token(const char *);

/* output.c: render answers on stdout; EXIT_OK, or EXIT_FAIL with a
 * message on stderr when the answer is malformed or an error. */
int print_pong(const struct ctl_reply *, bool json);
int print_status(const struct ctl_reply *, bool json);
/* Shared by the renderers: strings from ctld with controls and invalid
 * UTF-8 escaped as \xHH (always NUL-terminated), JSON strings, an answer as a message to decode, and the
 * two failure reports (an error answer, a malformed one). */
void out_clean(char *dst, size_t dstlen, const char *src);
bool out_clean_lines(char *dst, size_t dstlen, const char *src);
void out_json_str(const char *);
struct chan_msg out_msg(const struct ctl_reply *);   /* to decode it */
int  out_not_expected(const struct ctl_reply *);
int  out_malformed(void);
void out_duration(uint64_t seconds);           /* "1h 02m 03s" */

/* cmd_queue.c: `empathctl queue ...`; argv starts after "queue". */
struct ctl_opts {
	const char *socket;
	const char *token;
	bool        json;
};
int  cmd_queue(int argc, char **argv, struct ctl_opts *);
/* cmd_dns.c: `empathctl dns ...`; argv starts after "dns". */
int  cmd_dns(int argc, char **argv, struct ctl_opts *);

/* cmd_plugin.c: `empathctl plugin list`; argv starts after "plugin". */
int  cmd_plugin(int argc, char **argv, struct ctl_opts *);
int  print_plugin_list(const struct ctl_reply *, bool json);
/* The plugins disabled after crashes, for `system status`. */
#define PLUGIN_DISABLED_MAX 32
struct plugin_disabled {
	uint32_t n;
	struct { char daemon[32], name[160]; } row[PLUGIN_DISABLED_MAX];
};
/* -1 when reply is not a valid CTL_PLUGIN_LIST_REPLY (out->n is 0). */
int  plugin_disabled_parse(const struct ctl_reply *, struct plugin_disabled *);
/* print_status() with the disabled plugins (NULL: not known). */
int  print_status_plugins(const struct ctl_reply *, const struct plugin_disabled *,
         bool json);

/* opts.c: one sub-command's options. Its table lists its own long
 * options (a printable val is also the short form); -j/--json and
 * -h/--help are added. Reset optind to 0, then call sub_getopt() until
 * it returns -1; the operands are then argv[optind..argc-1]. */
#define SUB_MAXOPTS 8
#define SUB_HELP    (-2)   /* usage printed on stdout: exit EXIT_OK */
#define SUB_ERROR   (-3)   /* reported on stderr: exit EXIT_USAGE */
struct subcmd {
	const char          *name;      /* "queue list" */
	const char          *args;      /* "[--limit=N] ...", for the usage line */
	const struct option *longopts;  /* its own; NULL or { NULL } ended */
};
int  sub_getopt(int argc, char **argv, const struct subcmd *, struct ctl_opts *);
void sub_usage(FILE *, const struct subcmd *);
/* An argument refused: one line and the usage line; EXIT_USAGE. */
int  sub_error(const struct subcmd *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* queue_output.c */
int  print_queue_list(const struct ctl_reply *, bool json, uint32_t state);
int  print_queue_view(const struct ctl_reply *, bool json);
int  print_queue_ok(const struct ctl_reply *, bool json);
int  print_queue_stats(const struct ctl_reply *, bool json);

#endif
