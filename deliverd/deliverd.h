/* SPDX-License-Identifier: ISC */
/* empath-deliverd: jobs from queued, the SMTP client that runs them, and
 * the glue between the two. */
#ifndef EMPATH_DELIVERD_H
#define EMPATH_DELIVERD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "channel.h"
#include "envelope.h"
#include "flow.h"
#include "route.h"

/* "host[ip]:port" */
#define REMOTE_MAX (ROUTE_HOST_MAX + 64)

/* The outcome for one recipient; state is RCPT_INFLIGHT until final. */
struct job_rcpt {
	uint32_t state;
	char    *remote;              /* NULL: no connection was made */
	char    *diag;
	bool     dsn_passed;          /* delivered with NOTIFY/ORCPT to a DSN hop */
	bool     evsent;              /* its result event went to the plugins */
};

struct client;

/* One delivery job: one message, recipients of one domain. */
struct job {
	TAILQ_ENTRY(job) entry;
	uint32_t id;                  /* queued's request id */
	int      fd;                  /* read-only message file */
	uint64_t size;                /* bytes to send: the size queued stored */
	struct envelope env;
	struct job_rcpt *rcpt;        /* env.nrcpt entries */
	size_t   npending;            /* recipients not yet final */
	char     domain[ROUTE_HOST_MAX];
	char     remote[REMOTE_MAX];  /* the host being talked to, "" before */
	char     dl_host[ROUTE_HOST_MAX];  /* ... its name and numeric */
	char     dl_addr[64];              /* address, for the plugins */
	char     nexthop[ROUTE_NEXTHOP_MAX];   /* circuit breaker key */
	bool     running;             /* counted against the concurrency */
	struct route_query *rq;       /* while routing */
	struct client *client;        /* while connected */
	struct flow_ticket ticket;    /* admitted by flow control */
	bool     routed;              /* a route was found */
	bool     route_tempfail;      /* routing failed for now (DNS) */
	bool     session_ok;          /* a server took MAIL FROM */
	unsigned postpone_s;          /* RCPT_POSTPONED: come back after */
};

/* main.c */
struct channel *deliverd_queued(void);   /* NULL while queued is away */

/* job.c */
void job_submit(struct chan_msg *);       /* D_JOB; takes m->fd */
void job_start(void);                     /* privileges dropped: run jobs */
void job_kick(void);                      /* a slot may be free: start jobs */
/* Abort every job; with diag, report the pending recipients as deferred
 * with it, otherwise report nothing (the channel is gone). */
void job_abort_all(const char *diag);
/* Graceful stop: no new jobs, in-flight ones get JOB_STOP_GRACE_MS, then
 * are aborted; done() runs once nothing is left. */
#define JOB_STOP_GRACE_MS 5000
void job_shutdown(void (*done)(void));
unsigned job_active(void);
unsigned job_concurrency(void);           /* `delivery { concurrency }` */
/* For the client: */
/* The connection's "host[ip]:port", host name and numeric address. */
void job_set_remote(struct job *, const char *remote, const char *host,
    const char *addr);
bool job_rcpt_pending(const struct job *, size_t i);
/* Set a final result for recipient i if it is still pending. */
void job_rcpt_result(struct job *, size_t i, uint32_t state, const char *diag);
/* The same for every recipient still pending. */
void job_pending_result(struct job *, uint32_t state, const char *diag);
/* Every recipient is final: report, log, free the job, start the next. The
 * client must have let go of the job (job->client = NULL) before. */
void job_done(struct job *);
/* A reused connection failed before the transaction: look the route up
 * and connect afresh (the job has no client). */
void job_reroute(struct job *);

/* client.c */
/* Before the privilege drop: the TLS contexts (CA store read now). */
void client_configure(const struct config *);
/* Start delivering job over route (taken). Never calls back into the job
 * before returning. */
struct client *client_start(struct job *, struct route *);
/* An idle connection to the job's domain, if there is one, takes the job
 * (RSET, then the transaction); never calls back before returning. */
struct client *client_reuse(struct job *);
/* Close at once, without results: the caller settles the job. */
void client_abort(struct client *);
unsigned client_count(void);              /* open connections */
unsigned client_detached(void);           /* of those, done with their job */
void client_close_all(void);              /* at exit, sessions saying QUIT */

#endif
