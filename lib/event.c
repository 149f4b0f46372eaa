/* SPDX-License-Identifier: ISC */
/* The event loop: epoll for descriptors, a binary min-heap of timers and
 * signalfd for signals. Freed watchers are parked until the end of the
 * iteration, so a callback may delete any watcher, its own included. */
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "util.h"

struct ev_io {
	int     fd;
	int     events;
	bool    dead;
	ev_io_cb cb;
	void   *arg;
	struct ev_io *next_dead;
};

struct ev_timer {
	uint64_t    when;
	size_t      slot;             /* index in the heap, or SIZE_MAX */
	ev_timer_cb cb;
	void       *arg;
};

struct ev_deferred {
	ev_timer_cb cb;
	void       *arg;
};

#define MAX_SIGNALS 16

static struct {
	int       epfd;
	bool      stop;
	uint64_t  now;
	struct ev_timer **heap;
	size_t    nheap, heapcap;
	struct ev_io *dead;
	struct ev_deferred *defer;
	size_t    ndefer, defercap;
	int       sigfd;
	struct ev_io *sigio;
	sigset_t  sigmask;
	struct { int signo; ev_signal_cb cb; void *arg; } sig[MAX_SIGNALS];
	size_t    nsig;
} L = { .epfd = -1, .sigfd = -1 };

void
ev_init(void)
{
	if (L.epfd != -1)
		return;
	L.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (L.epfd == -1)
		fatal("epoll_create1");
	sigemptyset(&L.sigmask);
	L.now = mono_ms();
}

uint64_t
ev_now(void)
{
	return L.now;
}

void
ev_break(void)
{
	L.stop = true;
}

static uint32_t
to_epoll(int events)
{
	return ((events & EV_READ) ? EPOLLIN : 0) |
	    ((events & EV_WRITE) ? EPOLLOUT : 0);
}

struct ev_io *
ev_io_add(int fd, int events, ev_io_cb cb, void *arg)
{
	struct ev_io *io = xcalloc(1, sizeof(*io));
	struct epoll_event ee = { .events = to_epoll(events), .data.ptr = io };

	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->arg = arg;
	if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, fd, &ee) == -1)
		fatal("epoll_ctl add fd %d", fd);
	return io;
}

void
ev_io_set(struct ev_io *io, int events)
{
	struct epoll_event ee = { .events = to_epoll(events), .data.ptr = io };

	if (io->dead || io->events == events)
		return;
	io->events = events;
	if (epoll_ctl(L.epfd, EPOLL_CTL_MOD, io->fd, &ee) == -1)
		fatal("epoll_ctl mod fd %d", io->fd);
}

int
ev_io_events(const struct ev_io *io)
{
	return io->events;
}

void
ev_io_del(struct ev_io *io)
{
	if (io == NULL || io->dead)
		return;
	/* The fd may already be closed by the caller; that is fine. */
	(void)epoll_ctl(L.epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->dead = true;
	io->next_dead = L.dead;
	L.dead = io;
}

/* ---- timers: a binary min-heap on `when` ---- */

static void
heap_swap(size_t a, size_t b)
{
	struct ev_timer *t = L.heap[a];

	L.heap[a] = L.heap[b];
	L.heap[b] = t;
	L.heap[a]->slot = a;
	L.heap[b]->slot = b;
}

static void
heap_up(size_t i)
{
	while (i > 0 && L.heap[(i - 1) / 2]->when > L.heap[i]->when) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < L.nheap && L.heap[l]->when < L.heap[m]->when)
			m = l;
		if (r < L.nheap && L.heap[r]->when < L.heap[m]->when)
			m = r;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

struct ev_timer *
ev_timer_new(ev_timer_cb cb, void *arg)
{
	struct ev_timer *t = xcalloc(1, sizeof(*t));

	t->slot = SIZE_MAX;
	t->cb = cb;
	t->arg = arg;
	return t;
}

void
ev_timer_stop(struct ev_timer *t)
{
	size_t i;

	if (t == NULL || t->slot == SIZE_MAX)
		return;
	i = t->slot;
	t->slot = SIZE_MAX;
	L.nheap--;
	if (i == L.nheap)
		return;
	L.heap[i] = L.heap[L.nheap];
	L.heap[i]->slot = i;
	heap_down(i);
	heap_up(i);
}

void
ev_timer_start(struct ev_timer *t, uint64_t delay_ms)
{
	ev_timer_stop(t);
	if (L.nheap == L.heapcap) {
		L.heapcap = L.heapcap ? L.heapcap * 2 : 64;
		L.heap = xreallocarray(L.heap, L.heapcap, sizeof(*L.heap));
	}
	t->when = mono_ms() + delay_ms;
	t->slot = L.nheap;
	L.heap[L.nheap++] = t;
	heap_up(t->slot);
}

bool
ev_timer_pending(const struct ev_timer *t)
{
	return t->slot != SIZE_MAX;
}

void
ev_timer_free(struct ev_timer *t)
{
	if (t == NULL)
		return;
	ev_timer_stop(t);
	free(t);
}

/* ---- signals ---- */

static void
signal_read(int fd, int events, void *arg)
{
	struct signalfd_siginfo si;
	size_t i;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (i = 0; i < L.nsig; i++)
			if (L.sig[i].signo == (int)si.ssi_signo)
				L.sig[i].cb((int)si.ssi_signo, L.sig[i].arg);
	}
}

void
ev_signal(int signo, ev_signal_cb cb, void *arg)
{
	if (L.nsig == MAX_SIGNALS)
		fatalx("too many signal handlers");
	L.sig[L.nsig].signo = signo;
	L.sig[L.nsig].cb = cb;
	L.sig[L.nsig].arg = arg;
	L.nsig++;
	sigaddset(&L.sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &L.sigmask, NULL) == -1)
		fatal("sigprocmask");
	L.sigfd = signalfd(L.sigfd, &L.sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (L.sigfd == -1)
		fatal("signalfd");
	if (L.sigio == NULL)
		L.sigio = ev_io_add(L.sigfd, EV_READ, signal_read, NULL);
}

/* ---- deferred calls ---- */

void
ev_defer(ev_timer_cb cb, void *arg)
{
	if (L.ndefer == L.defercap) {
		L.defercap = L.defercap ? L.defercap * 2 : 16;
		L.defer = xreallocarray(L.defer, L.defercap, sizeof(*L.defer));
	}
	L.defer[L.ndefer].cb = cb;
	L.defer[L.ndefer].arg = arg;
	L.ndefer++;
}

static void
run_deferred(void)
{
	/* A deferred call may defer again: those run in the same pass. */
	for (size_t i = 0; i < L.ndefer; i++)
		L.defer[i].cb(L.defer[i].arg);
	L.ndefer = 0;
}

static void
reap_dead(void)
{
	while (L.dead) {
		struct ev_io *io = L.dead;

		L.dead = io->next_dead;
		free(io);
	}
}

static void
run_timers(void)
{
	L.now = mono_ms();
	while (L.nheap > 0 && L.heap[0]->when <= L.now) {
		struct ev_timer *t = L.heap[0];

		ev_timer_stop(t);
		t->cb(t->arg);
	}
}

int
ev_run(void)
{
	struct epoll_event evs[64];

	L.stop = false;
	while (!L.stop) {
		int timeout = -1, n, i;

		if (L.ndefer > 0)
			timeout = 0;
		else if (L.nheap > 0) {
			uint64_t now = mono_ms();

			timeout = L.heap[0]->when <= now ? 0 :
			    (int)(L.heap[0]->when - now > 3600000 ? 3600000 :
			    L.heap[0]->when - now);
		}
		n = epoll_wait(L.epfd, evs, nitems(evs), timeout);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		L.now = mono_ms();
		for (i = 0; i < n; i++) {
			struct ev_io *io = evs[i].data.ptr;
			int ev = 0;

			if (io->dead)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				ev |= EV_READ;
			if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				ev |= EV_WRITE;
			ev &= io->events ? io->events : (EV_READ | EV_WRITE);
			if (ev)
				io->cb(io->fd, ev, io->arg);
		}
		run_timers();
		run_deferred();
		reap_dead();
	}
	return 0;
}
