/* SPDX-License-Identifier: ISC */
/* The master's process snapshot (M_PROCS): which daemons run, their pids,
 * start times and restart counts. The master sends a fresh one whenever
 * something changes; ctld keeps only the last valid one. */
#include <string.h>

#include "ctld.h"
#include "log.h"

/* More entries than this is a malformed snapshot, not a bigger system. */
#define PROCS_MAX_ENTRIES 64

static struct proc_info procs[PROC_COUNT];
static int64_t master_start;
static uint32_t master_pid;
static bool known;

void
procs_update(const struct chan_msg *m)
{
	struct proc_info next[PROC_COUNT];
	struct msgreader r;
	uint64_t start;
	uint32_t n, i, proc, pid, restarts;
	uint64_t started;

	memset(next, 0, sizeof(next));
	mr_init(&r, m);
	start = mr_u64(&r);
	n = mr_u32(&r);
	if (r.err || n > PROCS_MAX_ENTRIES) {
		log_warnx("M_PROCS: malformed snapshot ignored");
		return;
	}
	for (i = 0; i < n; i++) {
		proc = mr_u32(&r);
		pid = mr_u32(&r);
		started = mr_u64(&r);
		restarts = mr_u32(&r);
		if (r.err)
			break;
		if (proc >= PROC_COUNT)   /* a newer master: skip what we don't know */
			continue;
		next[proc].listed = true;
		next[proc].pid = pid;
		next[proc].started = started;
		next[proc].restarts = restarts;
	}
	if (!mr_done(&r)) {
		log_warnx("M_PROCS: malformed snapshot ignored");
		return;
	}
	memcpy(procs, next, sizeof(procs));
	master_start = start > INT64_MAX ? 0 : (int64_t)start;
	master_pid = m->pid;
	known = true;
	log_debug("process snapshot: %u entries", n);
}

bool
procs_known(void)
{
	return known;
}

int64_t
procs_master_start(void)
{
	return master_start;
}

uint32_t
procs_master_pid(void)
{
	return master_pid;
}

const struct proc_info *
procs_get(enum proc_id p)
{
	static const struct proc_info none;

	if ((unsigned)p >= PROC_COUNT)
		return &none;
	return &procs[p];
}
