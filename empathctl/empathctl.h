/* empathctl: command-line client of the control socket (ctld). */
#ifndef EMPATH_EMPATHCTL_H
#define EMPATH_EMPATHCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"

#define CTL_DEFAULT_SOCKET "/run/empath/control.sock"
#define CTL_TIMEOUT_MS     (10 * 1000)

/* Exit statuses, as documented in empathctl(8). */
#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

/* One answer from ctld, copied out of the channel's buffer. */
struct ctl_reply {
	uint16_t type;
	size_t   len;
	uint8_t  data[CHAN_MAX_PAYLOAD];
};

/* client.c: one request, one answer. On failure an error line (without
 * the "empathctl: " prefix) is left in err and -1 returned. */
int ctl_roundtrip(const char *path, uint16_t type, const void *payload,
                  size_t len, struct ctl_reply *, char *err, size_t errlen);

/* output.c: render answers on stdout; EXIT_OK, or EXIT_FAIL with a
 * message on stderr when the answer is malformed or an error. */
int print_pong(const struct ctl_reply *, bool json);
int print_status(const struct ctl_reply *, bool json);

#endif
