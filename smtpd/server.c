/* SPDX-License-Identifier: ISC */
/* Listening sockets (bound by the master, handed over as M_LISTEN),
 * non-blocking accept, the connection limits of each listener (in all
 * and per client address: 421 4.7.0), and the
 * graceful stop: no new connections, idle sessions told 421, open
 * transactions given STOP_GRACE_MS to finish.
 *
 * The local submission socket (AF_UNIX, doc/architecture.md "Local
 * submission") is one more listener with settings of its own (see
 * server_listen_local): the client is whoever the kernel says
 * (SO_PEERCRED), and no per-address limit applies (the per-uid one is
 * session.c's, see localuser.c). */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "event.h"
#include "log.h"
#include "smtpd.h"
#include "util.h"

/* How long a graceful stop waits for open transactions. */
#define STOP_GRACE_MS     5000
/* Accepts per wake-up, so one busy listener cannot starve the others. */
#define ACCEPT_BATCH      64
/* Pause after running out of descriptors or memory. */
#define ACCEPT_BACKOFF_MS 1000
/* Sessions at once on the local submission socket, apart from the TCP
 * listeners' max-connections: a local user cannot take those from
 * network clients, nor they from local users. */
#define LOCAL_MAX_CONNECTIONS 100

struct listener {
	int      fd;
	struct ev_io *io;
	struct ev_timer *backoff;
	const struct cfg_listen *cfg;
	unsigned nsessions;
	bool     local;                /* the local submission socket */
};

static struct listener **listeners;   /* each allocated once: io args */
static size_t nlisteners;
static bool started, exiting;
static struct ev_timer *stop_timer;
/* The settings of local sessions (server_listen_local). */
static struct cfg_listen local_cfg;

static struct listener *
listener_by_cfg(const struct cfg_listen *l)
{
	for (size_t i = 0; i < nlisteners; i++)
		if (listeners[i]->cfg == l)
			return listeners[i];
	return NULL;
}

static void
add_listener(int fd, const struct cfg_listen *l, bool local)
{
	struct listener *ln;

	fd_nonblock(fd);
	fd_cloexec(fd, true);
	listeners = xreallocarray(listeners, nlisteners + 1, sizeof(*listeners));
	ln = listeners[nlisteners++] = xcalloc(1, sizeof(*ln));
	ln->fd = fd;
	ln->cfg = l;
	ln->local = local;
	if (started)
		server_start();
}

void
server_listen(unsigned index, int fd)
{
	const struct cfg_listen *l;

	TAILQ_FOREACH(l, &smtpd.cfg->listeners, entry)
		if (l->index == index)
			break;
	if (l == NULL || listener_by_cfg(l) != NULL) {
		log_warnx("listening socket for unknown or duplicate listener %u",
		    index);
		close(fd);
		return;
	}
	log_debug("listener %u: %s port %u", index, l->addr, (unsigned)l->port);
	add_listener(fd, l, false);
}

/* Local sessions get a listener's defaults, except: the largest
 * max-message-size of the TCP listeners (a message one of them takes
 * can be submitted locally too), their own connection limit, no limit
 * per address, no TLS, and address literals (as from `relay from`). */
static void
local_settings(void)
{
	const struct cfg_listen *l;
	struct cfg_listen *d = cfg_listen_new();
	size_t max = 0;

	local_cfg = *d;
	free(d);
	local_cfg.index = UINT_MAX;
	local_cfg.port = 0;
	local_cfg.max_connections = LOCAL_MAX_CONNECTIONS;
	local_cfg.max_connections_per_ip = 0;
	local_cfg.tls_cert = local_cfg.tls_key = NULL;
	local_cfg.tls_mode = LTLS_STARTTLS;
	local_cfg.address_literals = ADDRLIT_ACCEPT;
	TAILQ_FOREACH(l, &smtpd.cfg->listeners, entry)
		if (l->max_message_size > max)
			max = l->max_message_size;
	if (max > 0)
		local_cfg.max_message_size = max;
}

void
server_listen_local(int fd)
{
	for (size_t i = 0; i < nlisteners; i++)
		if (listeners[i]->local) {
			log_warnx("duplicate local submission socket");
			close(fd);
			return;
		}
	local_settings();
	log_debug("local submission socket");
	add_listener(fd, &local_cfg, true);
}

/* The uid of the local client, from the kernel. */
static bool
peer_uid(int fd, uid_t *uid)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1)
		return false;
	if (len != sizeof(uc)) {
		errno = EPROTO;
		return false;
	}
	*uid = uc.uid;
	return true;
}

/* Refuse a connection over the limit with a best-effort 421. */
static void
refuse(int fd, const char *why)
{
	char buf[256];
	int n;

	n = snprintf(buf, sizeof(buf), "421 4.7.0 %s Error: %s\r\n",
	    smtpd.hostname, why);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void
backoff_done(void *arg)
{
	struct listener *ln = arg;

	if (ln->io && !smtpd.stopping)
		ev_io_set(ln->io, EV_READ);
}

/* A local client: who it is comes from the kernel, never from what it
 * sends; without that there is no session. */
static void
accept_local(struct listener *ln, int cfd)
{
	uid_t uid;

	if (!peer_uid(cfd, &uid)) {
		log_warn("local submission: no credentials of the client, "
		    "refused");
		close(cfd);
		return;
	}
	if (ln->nsessions >= ln->cfg->max_connections) {
		log_info("local submission: connection limit %u reached "
		    "(uid %u)", ln->cfg->max_connections, (unsigned)uid);
		refuse(cfd, "too many connections");
		return;
	}
	ln->nsessions++;
	(void)session_new_local(cfd, uid, ln->cfg);
}

static void
accept_cb(int fd, int events, void *arg)
{
	struct listener *ln = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	int cfd, i, one = 1;

	(void)events;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (ln->local)
				log_warn("accept on the local submission socket");
			else
				log_warn("accept on listener %u", ln->cfg->index);
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				ev_io_set(ln->io, 0);
				if (ln->backoff == NULL)
					ln->backoff = ev_timer_new(backoff_done, ln);
				ev_timer_start(ln->backoff, ACCEPT_BACKOFF_MS);
			}
			return;
		}
		if (smtpd.stopping) {
			close(cfd);
			continue;
		}
		if (ln->local) {
			accept_local(ln, cfd);
			continue;
		}
		if (ln->cfg->max_connections &&
		    ln->nsessions >= ln->cfg->max_connections) {
			log_info("listener %u: connection limit %u reached",
			    ln->cfg->index, ln->cfg->max_connections);
			refuse(cfd, "too many connections");
			continue;
		}
		if (ln->cfg->max_connections_per_ip &&
		    limits_ip_count(ln->cfg, (struct sockaddr *)&ss) >=
		    ln->cfg->max_connections_per_ip) {
			char addr[INET6_ADDRSTRLEN];

			log_info("listener %u: connection limit per address %u "
			    "reached by [%s]", ln->cfg->index,
			    ln->cfg->max_connections_per_ip,
			    sa_ntop((struct sockaddr *)&ss, addr, sizeof(addr)));
			refuse(cfd, "too many connections from your address");
			continue;
		}
		/* Replies are batched already; Nagle would only hold back
		 * the 354 that follows the replies flushed before DATA's
		 * wait, until the client's delayed ACK (40 ms a message). */
		if (setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
			log_debug("TCP_NODELAY: %s", strerror(errno));
		ln->nsessions++;
		(void)session_new(cfd, (struct sockaddr *)&ss, len, ln->cfg);
	}
}

void
server_start(void)
{
	started = true;
	for (size_t i = 0; i < nlisteners; i++)
		if (listeners[i]->io == NULL && listeners[i]->fd != -1)
			listeners[i]->io = ev_io_add(listeners[i]->fd, EV_READ,
			    accept_cb, listeners[i]);
}

static void
server_exit(void)
{
	if (exiting)
		return;
	exiting = true;
	session_abort_all();
	qc_flush();
	log_info("stopped");
	daemon_exit(0);
}

static void
stop_timeout(void *arg)
{
	(void)arg;
	log_info("%u sessions still open after the grace period",
	    smtpd.nsessions);
	server_exit();
}

void
server_stop(void)
{
	if (smtpd.stopping)
		return;
	smtpd.stopping = true;
	log_info("stopping: %u open sessions", smtpd.nsessions);
	for (size_t i = 0; i < nlisteners; i++) {
		struct listener *ln = listeners[i];

		ev_io_del(ln->io);
		ln->io = NULL;
		ev_timer_free(ln->backoff);
		ln->backoff = NULL;
		close(ln->fd);
		ln->fd = -1;
	}
	session_stop_all();
	if (smtpd.nsessions == 0) {
		server_exit();
		return;
	}
	stop_timer = ev_timer_new(stop_timeout, NULL);
	ev_timer_start(stop_timer, STOP_GRACE_MS);
}

void
server_session_closed(const struct cfg_listen *l)
{
	struct listener *ln = listener_by_cfg(l);

	if (ln && ln->nsessions > 0)
		ln->nsessions--;
	if (smtpd.stopping && smtpd.nsessions == 0)
		server_exit();
}
