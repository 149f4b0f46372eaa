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
};

struct master {
	struct config *cfg;
	char   *cfg_text;
	size_t  cfg_len;
	int     cfg_memfd;
	int     foreground, verbose;
	bool    stopping;
	int64_t started;
	struct proc procs[PROC_COUNT];
	int    *smtp_fds;                  /* one per listener, by index */
	size_t  nsmtp_fds;
	int     control_fd, health_fd;
	struct ev_timer *kill_timer;
};

extern struct master M;

/* sockets.c */
void sockets_open(void);
/* spool.c */
void spool_prepare(void);
/* procs.c */
void procs_start_all(void);
void procs_stop_all(void);
void procs_reap(void);

#endif
