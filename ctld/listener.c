/* SPDX-License-Identifier: ISC */
/* ctld's listening sockets; see listener.h. */
#include <sys/socket.h>

#include <errno.h>
#include <unistd.h>

#include "event.h"
#include "listener.h"
#include "log.h"
#include "util.h"

#define ACCEPT_RETRY_MS 1000         /* after EMFILE and the like */
#define FULL_LOG_MS     (10 * 1000)  /* between two "full" lines */

static void
listener_update(struct ctl_listener *l)
{
	bool on;

	if (l->io == NULL)
		return;
	on = l->started && l->count < l->max && !ev_timer_pending(l->retry);
	ev_io_set(l->io, on ? EV_READ : 0);
}

static void
accept_resume(void *arg)
{
	listener_update(arg);
}

static void
listener_accept(int fd, int events, void *arg)
{
	struct ctl_listener *l = arg;
	int s;

	(void)events;
	while (l->count < l->max) {
		s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s != -1) {
			if (l->on_accept(s))
				l->count++;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED)
			break;
		/* Out of descriptors or memory: a level-triggered listener
		 * would spin, so stop accepting for a moment. */
		log_warn("%s: accept", l->name);
		ev_timer_start(l->retry, ACCEPT_RETRY_MS);
		break;
	}
	/* Full again and again under load: say so now and then, not at
	 * every turn. */
	if (l->count >= l->max &&
	    (l->full_logged == 0 || mono_ms() - l->full_logged >= FULL_LOG_MS)) {
		log_warnx("%s: %u connections open, not accepting more",
		    l->name, l->max);
		l->full_logged = mono_ms();
	}
	listener_update(l);
}

void
listener_set_fd(struct ctl_listener *l, int fd)
{
	if (l->io != NULL) {
		log_warnx("%s: a second socket, replacing the first", l->name);
		ev_io_del(l->io);
		close(l->fd);
	}
	if (fd_nonblock(fd) == -1 || fd_cloexec(fd, true) == -1)
		log_warn("%s: socket flags", l->name);
	l->fd = fd;
	if (l->retry == NULL)
		l->retry = ev_timer_new(accept_resume, l);
	l->io = ev_io_add(fd, 0, listener_accept, l);
	listener_update(l);
}

void
listener_start(struct ctl_listener *l)
{
	l->started = true;
	listener_update(l);
}

void
listener_close(struct ctl_listener *l)
{
	l->started = false;
	if (l->io != NULL) {
		ev_io_del(l->io);
		l->io = NULL;
		close(l->fd);
		l->fd = -1;
	}
}

void
listener_conn_closed(struct ctl_listener *l)
{
	if (l->count > 0)
		l->count--;
	listener_update(l);
}
