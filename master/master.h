/* SPDX-License-Identifier: ISC */
/* empath-master: the root supervisor. */
#ifndef EMPATH_MASTER_H
#define EMPATH_MASTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel.h"
#include "config.h"
#include "event.h"
#include "proto.h"

struct proc {
	enum proc_id     id;
	pid_t            pid;              /* 0 when not running */
	struct channel  *chan;
	int64_t          started;          /* wall s of the last start */
	uint64_t         started_mono;
	uint32_t         restarts;
	uint64_t         backoff_ms;
	struct ev_timer *restart_timer;
	bool             ready;            /* said M_READY since its start */
	uint32_t         start_fails;      /* exits in a row before M_READY */
	bool             down;             /* given up on: listeners refusing */
};

struct master {
	struct config *cfg;
	char   *cfg_text;
	size_t  cfg_len;
	int     cfg_memfd;
	int     foreground, verbose;
	bool    test_env;                  /* -T: daemons get EMPATH_TEST_* */
	bool    stopping;
	int64_t started;
	struct proc procs[PROC_COUNT];
	int    *smtp_fds;                  /* one per listener, by index; -1 closed */
	size_t  nsmtp_fds;
	int     control_fd, health_fd;
	int     submit_fd;                 /* local submission (AF_UNIX), -1 closed */
	struct ev_timer *kill_timer;
};

extern struct master M;

/* safedir.c: open a directory walking path with O_NOFOLLOW, every step
 * trusted (owned by root or the running user, not open to others unless
 * sticky); see the file. Returns a descriptor, or -1 with err set. */
#define SD_CREATE     0x1           /* create the last component (mode) */
#define SD_PARENTS    0x2           /* create missing parents (0755) */
#define SD_CHECK_LAST 0x4           /* the last one must be trusted too */
int  safedir_open(const char *path, int flags, mode_t mode, char *err,
         size_t errlen);
/* One step: name (no slash) in dirfd, never a link; shown names it in err. */
int  safedir_openat(int dirfd, const char *name, bool create, mode_t mode,
         const char *shown, char *err, size_t errlen);
/* sockets.c */
void sockets_open(void);
void sockets_resume_smtp(void);     /* listening again before smtpd starts */
void sockets_down_smtp(void);       /* refusing, ports kept, while it is down */
void sockets_resume_ctl(void);
void sockets_down_ctl(void);
/* spool_setup.c */
void spool_prepare(void);
/* check.c: what -n checks beyond the grammar; returns the error count */
int  check_system(const char *path);
/* plugins_check() in a child (plugcheck.c): the plugins' code never
 * runs in the master. Each error line goes to errfn; the count, at
 * least 1 if the child failed or was killed. */
int  plugins_check_isolated(const char *path, void (*errfn)(const char *));
/* procs.c */
void procs_start_all(void);
void procs_stop_all(void);
void procs_reap(void);
/* plugsup.c: the crash pages, disabled plugins and registry reports */
void plugsup_init(void);
void plugsup_send(struct proc *);           /* before M_CONFIG */
/* p died by sig (0: exited); true when a plugin is now disabled */
bool plugsup_crashed(struct proc *, int sig);
void plugsup_report(struct proc *, const struct chan_msg *);
void plugsup_relay_all(void);
/* users.c: M_USER_LOOKUP from smtpd and queued, answered with
 * M_USER_NAME at the next turns of the loop (see the file) */
#define USERS_QUEUE_MAX 256         /* requests waiting per daemon */
#define USERS_PER_TURN  16          /* answered per daemon and turn */
void users_request(struct proc *, const struct chan_msg *);
void users_forget(struct proc *);           /* it (re)starts */
/* Turns of answering run so far: each answers at most USERS_PER_TURN
 * requests of a daemon (the unit test checks that bound with it). */
unsigned long users_turns(void);
/* The plain login name of uid into name ("" if none); -1 when the
 * lookup failed (then nothing is answered). For tests. */
int  users_name(uint32_t uid, char *name, size_t len);
struct passwd;
extern int (*users_getpwuid_r)(uid_t, struct passwd *, char *, size_t,
    struct passwd **);

#endif
