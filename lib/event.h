/* SPDX-License-Identifier: ISC */
/* The event loop: epoll for descriptors, a binary heap of timers, signalfd
 * for signals. One loop per process, single-threaded. */
#ifndef EMPATH_EVENT_H
#define EMPATH_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#define EV_READ  0x1
#define EV_WRITE 0x2

struct ev_io;
struct ev_timer;

typedef void (*ev_io_cb)(int fd, int events, void *arg);
typedef void (*ev_timer_cb)(void *arg);
typedef void (*ev_signal_cb)(int signo, void *arg);

void ev_init(void);                 /* once per process */
int  ev_run(void);                  /* until ev_break(); 0 on normal exit */
void ev_break(void);
uint64_t ev_now(void);              /* monotonic ms, cached per iteration */

/* Watch fd for events (EV_READ|EV_WRITE, may be 0). ev_io_del() may be
 * called from inside any callback, including the io's own. */
struct ev_io *ev_io_add(int fd, int events, ev_io_cb, void *arg);
void ev_io_set(struct ev_io *, int events);
int  ev_io_events(const struct ev_io *);
void ev_io_del(struct ev_io *);

/* Timers are allocated once and (re)armed many times. */
struct ev_timer *ev_timer_new(ev_timer_cb, void *arg);
void ev_timer_start(struct ev_timer *, uint64_t delay_ms);
void ev_timer_stop(struct ev_timer *);
bool ev_timer_pending(const struct ev_timer *);
void ev_timer_free(struct ev_timer *);

/* Deliver signo through the loop (it is blocked for the process). */
void ev_signal(int signo, ev_signal_cb, void *arg);

/* Run cb once at the end of this loop iteration (after all I/O callbacks):
 * used to group work that arrives together, e.g. queue commits. */
void ev_defer(ev_timer_cb cb, void *arg);

#endif
