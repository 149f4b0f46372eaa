/* SPDX-License-Identifier: ISC */
/* A listening socket of ctld (control or health) that accepts only while
 * the daemon runs, there is room for another connection, and no accept
 * error is being waited out. */
#ifndef EMPATH_CTLD_LISTENER_H
#define EMPATH_CTLD_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

struct ev_io;
struct ev_timer;

struct ctl_listener {
	const char *name;            /* for logs: "control", "health" */
	unsigned    max;             /* connections open at once */
	/* Takes the accepted socket; false when it refused (and closed) it. */
	bool      (*on_accept)(int fd);
	/* Kept by the listener: */
	unsigned    count;
	int         fd;
	struct ev_io *io;
	struct ev_timer *retry;
	bool        started;
	uint64_t    full_logged;     /* mono ms of the last "full" line */
};

void listener_set_fd(struct ctl_listener *, int fd);
void listener_start(struct ctl_listener *);
void listener_close(struct ctl_listener *);
/* The owner closed one accepted connection. */
void listener_conn_closed(struct ctl_listener *);

#endif
