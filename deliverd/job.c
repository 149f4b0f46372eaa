/* SPDX-License-Identifier: ISC */
/* Delivery jobs: accepted from queued, checked, run at most
 * `delivery { concurrency }` at a time and `per-domain` per domain (the
 * rest wait in arrival order), held back by flow control (flow.c: rate
 * limits, circuit breakers) as postponed results that cost no attempt,
 * answered exactly once with D_RESULT and logged in the Postfix style
 * (with the same fields as JSON members in the JSON log format). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "deliverd.h"
#include "delivery_events.h"
#include "event.h"
#include "idn.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "wire.h"

/* Jobs waiting for a slot each hold a message fd: bound them. queued
 * limits what it sends too; past this a job is deferred at once. */
#define JOB_WAIT_MAX 512

#define DIAG_SHUTDOWN "4.3.2 delivery agent shutting down"
/* A job that finds every waiting slot taken comes back after this. */
#define BUSY_POSTPONE_S 5
/* Idle flow control state is dropped this often. */
#define FLOW_GC_MS      60000

static TAILQ_HEAD(, job) waiting = TAILQ_HEAD_INITIALIZER(waiting);
static TAILQ_HEAD(, job) running = TAILQ_HEAD_INITIALIZER(running);
static unsigned nwaiting, nrunning;
static bool started, stopping, aborting;
static void (*stop_done)(void);
static struct ev_timer *stop_timer, *gc_timer;

static void check_stopped(void);

unsigned
job_concurrency(void)
{
	const struct config *cfg = daemon_config();

	return cfg != NULL && cfg->delivery.concurrency > 0 ?
	    cfg->delivery.concurrency : 64;
}

unsigned
job_active(void)
{
	return nrunning;
}

static void
job_free(struct job *j)
{
	size_t i;

	if (j->fd != -1)
		close(j->fd);
	if (j->rcpt != NULL) {
		for (i = 0; i < j->env.nrcpt; i++) {
			free(j->rcpt[i].remote);
			free(j->rcpt[i].diag);
		}
		free(j->rcpt);
	}
	env_clear(&j->env);
	free(j);
}

void
job_set_remote(struct job *j, const char *remote, const char *host,
    const char *addr)
{
	strlcpy(j->remote, remote, sizeof(j->remote));
	strlcpy(j->dl_host, host, sizeof(j->dl_host));
	strlcpy(j->dl_addr, addr, sizeof(j->dl_addr));
}

bool
job_rcpt_pending(const struct job *j, size_t i)
{
	return i < j->env.nrcpt && j->rcpt[i].state == RCPT_INFLIGHT;
}

void
job_rcpt_result(struct job *j, size_t i, uint32_t state, const char *diag)
{
	struct job_rcpt *r;

	if (!job_rcpt_pending(j, i))
		return;
	r = &j->rcpt[i];
	r->state = state;
	r->diag = xstrdup(diag != NULL ? diag : "");
	r->remote = j->remote[0] != '\0' ? xstrdup(j->remote) : NULL;
	j->npending--;
}

void
job_pending_result(struct job *j, uint32_t state, const char *diag)
{
	size_t i;

	for (i = 0; i < j->env.nrcpt && j->npending > 0; i++)
		job_rcpt_result(j, i, state, diag);
}

/* The result's recipients, their texts pointing into the job. */
static void
result_of(const struct job *j, struct wire_result *w)
{
	size_t i;

	strlcpy(w->msgid, j->env.id, sizeof(w->msgid));
	w->n = (uint32_t)j->env.nrcpt;
	w->r = xcalloc(j->env.nrcpt ? j->env.nrcpt : 1, sizeof(*w->r));
	for (i = 0; i < j->env.nrcpt; i++) {
		uint32_t st = j->rcpt[i].state;

		if (st == RCPT_POSTPONED)
			st |= (uint32_t)(j->postpone_s > RCPT_POSTPONE_MASK ?
			    RCPT_POSTPONE_MASK : j->postpone_s) << RCPT_POSTPONE_SHIFT;
		/* RFC 3461 5.2: the next hop now answers for its notices. */
		if (st == RCPT_DELIVERED && j->rcpt[i].dsn_passed)
			st |= RCPT_DSN_PASSED;
		w->r[i].id = j->env.rcpt[i].id;
		w->r[i].state = st;
		w->r[i].host = j->rcpt[i].remote;
		w->r[i].diag = j->rcpt[i].diag;
	}
}

static void
send_result(const struct job *j)
{
	struct channel *c = deliverd_queued();
	struct wire_result w;
	struct msgbuf mb;
	size_t per, n = j->env.nrcpt;
	int rv;

	if (c == NULL) {
		log_warnx("%s: queued is away, result of job %u dropped",
		    j->env.id, j->id);
		return;
	}
	result_of(j, &w);
	mb_init(&mb);
	rv = wire_result_encode(&mb, &w, SIZE_MAX, SIZE_MAX);
	if (rv == -1 || mb.len > CHAN_MAX_PAYLOAD) {
		/* Many recipients: cut the texts so that one frame holds
		 * them all (u64, u32, two strings of u32 length + NUL each:
		 * 22 bytes, and some slack). */
		mb_free(&mb);
		mb_init(&mb);
		per = (CHAN_MAX_PAYLOAD - 64 - ULID_LEN) / (n ? n : 1);
		per = per > 24 ? per - 24 : 0;
		rv = wire_result_encode(&mb, &w, per / 3, per - per / 3);
	}
	if (rv == -1 || chan_send_mb(c, D_RESULT, j->id, -1, &mb) == -1)
		log_warnx("%s: cannot send the result of job %u", j->env.id, j->id);
	mb_free(&mb);
	free(w.r);
}

static void
log_result(const struct job *j, size_t i, double delay)
{
	const struct job_rcpt *r = &j->rcpt[i];
	const char *status;
	char addr[512], dsn[REPLY_ESC_MAX], delaybuf[32];
	int cls;

	switch (r->state) {
	case RCPT_DELIVERED:
		status = "sent";
		cls = 2;
		break;
	case RCPT_FAILED:
		status = "bounced";
		cls = 5;
		break;
	default:
		/* Postponed ones too: log tools know "deferred". */
		status = "deferred";
		cls = 4;
		break;
	}
	log_sanitize(j->env.rcpt[i].addr, addr, sizeof(addr));
	reply_dsn(r->diag, cls, dsn, sizeof(dsn));
	snprintf(delaybuf, sizeof(delaybuf), "%.1f", delay);
	{
		const struct log_field f[] = {
			{ "id", j->env.id }, { "to", addr },
			{ "relay", r->remote != NULL ? r->remote : "none" },
			{ "delay", delaybuf }, { "dsn", dsn }, { "status", status },
			{ "reply", r->diag != NULL ? r->diag : "" },
		};

		log_fields(LOGL_INFO, f, nitems(f),
		    "%s: to=<%s>, relay=%s, delay=%s, dsn=%s, status=%s (%s)",
		    j->env.id, addr, r->remote != NULL ? r->remote : "none",
		    delaybuf, dsn, status, r->diag != NULL ? r->diag : "");
	}
}

/* Take j off its list; report and log it unless report is false. */
static void
job_finish(struct job *j, bool report, enum flow_outcome out)
{
	struct timespec ts;
	double delay;
	size_t i;

	flow_done(j->domain, j->nexthop, &j->ticket, out);
	if (j->running) {
		TAILQ_REMOVE(&running, j, entry);
		nrunning--;
		j->running = false;
	}
	if (report) {
		/* Nothing may stay pending in a result. */
		job_pending_result(j, RCPT_DEFERRED, "4.3.0 delivery ended early");
		/* What no connection reported: routing, checks, aborts. */
		devents_results(j, NULL);
		clock_gettime(CLOCK_REALTIME, &ts);
		delay = (double)ts.tv_sec + ts.tv_nsec / 1e9 - (double)j->env.created;
		if (delay < 0 || j->env.created == 0)
			delay = 0;
		for (i = 0; i < j->env.nrcpt; i++)
			log_result(j, i, delay);
		send_result(j);
	} else if (j->env.id[0] != '\0')
		log_info("%s: delivery aborted, queued will retry it", j->env.id);
	job_free(j);
}

void
job_done(struct job *j)
{
	enum flow_outcome out = FLOW_NEUTRAL;

	j->client = NULL;
	/* For the circuit breaker: did the next hop take a transaction? A
	 * permanent routing answer (null MX, NXDOMAIN) says nothing. */
	if (j->session_ok)
		out = FLOW_OK;
	else if (j->routed || j->route_tempfail)
		out = FLOW_FAIL;
	job_finish(j, true, out);
	job_kick();
	check_stopped();
}

static void
job_routed(struct route *r, void *arg)
{
	struct job *j = arg;

	j->rq = NULL;
	devents_dns(j, r);
	if (r->status != ROUTE_OK) {
		j->route_tempfail = r->status == ROUTE_TEMPFAIL;
		job_pending_result(j, r->status == ROUTE_PERMFAIL ?
		    RCPT_FAILED : RCPT_DEFERRED, r->diag);
		route_free(r);
		job_done(j);
		return;
	}
	j->routed = true;
	j->client = client_start(j, r);
}

void
job_reroute(struct job *j)
{
	j->client = NULL;
	j->remote[0] = j->dl_host[0] = j->dl_addr[0] = '\0';
	j->rq = route_lookup(j->domain, job_routed, j);
}

/* Hand j back to queued untried: no attempt is counted. */
static void
job_postpone(struct job *j, unsigned delay_s, const char *why)
{
	j->postpone_s = delay_s;
	job_pending_result(j, RCPT_POSTPONED, why);
	job_finish(j, true, FLOW_NEUTRAL);
}

/* Start what may start. A connection still saying QUIT holds its slot
 * until it closes; a job whose domain is at its connection limit waits,
 * and later ones go past it. */
void
job_kick(void)
{
	struct job *j, *next;
	char why[REPLY_TEXT_MAX];
	unsigned delay;

	if (!started || stopping || aborting)
		return;
	for (j = TAILQ_FIRST(&waiting); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		if (nrunning + client_detached() >= job_concurrency())
			break;
		switch (flow_admit(j->domain, j->nexthop, &j->ticket, &delay, why,
		    sizeof(why))) {
		case FLOW_WAIT:
			continue;
		case FLOW_POSTPONE:
			TAILQ_REMOVE(&waiting, j, entry);
			nwaiting--;
			job_postpone(j, delay, why);
			continue;
		case FLOW_GO:
			break;
		}
		TAILQ_REMOVE(&waiting, j, entry);
		nwaiting--;
		TAILQ_INSERT_TAIL(&running, j, entry);
		nrunning++;
		j->running = true;
		if ((j->client = client_reuse(j)) != NULL) {
			j->routed = true;
			continue;
		}
		j->rq = route_lookup(j->domain, job_routed, j);
		/* route_lookup() and client_reuse() never call back at once,
		 * so next is still on the list. */
	}
}

static void
gc_cb(void *arg)
{
	(void)arg;
	flow_gc();
	ev_timer_start(gc_timer, FLOW_GC_MS);
}

void
job_start(void)
{
	started = true;
	gc_timer = ev_timer_new(gc_cb, NULL);
	ev_timer_start(gc_timer, FLOW_GC_MS);
	job_kick();
}

static bool
addr_ok(const char *a)
{
	size_t n = 0;

	/* Bytes that would break the command line, or a path that no
	 * server accepts (RFC 5321 4.5.3.1.3). */
	for (; *a != '\0'; a++, n++) {
		unsigned char c = (unsigned char)*a;

		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			return false;
	}
	return n <= 256;
}

/* Check a decoded job; recipients that cannot be tried get their final
 * result here. */
static void
job_check(struct job *j)
{
	struct stat st;
	const char *dom;
	size_t i;

	if (j->fd == -1) {
		job_pending_result(j, RCPT_DEFERRED,
		    "4.3.0 no message file came with the job");
		return;
	}
	if (fstat(j->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		job_pending_result(j, RCPT_DEFERRED,
		    "4.3.0 the message file is not a regular file");
		return;
	}
	/* What queued stored, not what the file holds now: smtpd still has
	 * a descriptor to it and could have appended since. */
	j->size = j->env.size;
	if (!addr_ok(j->env.sender)) {
		job_pending_result(j, RCPT_FAILED,
		    "5.1.7 invalid characters in the sender address");
		return;
	}
	dom = addr_domain(j->env.rcpt[0].addr);
	if (strlen(dom) >= sizeof(j->domain)) {
		job_pending_result(j, RCPT_FAILED, "5.1.2 invalid destination domain");
		return;
	}
	strlcpy(j->domain, dom, sizeof(j->domain));
	route_nexthop(daemon_config(), j->domain, j->nexthop, sizeof(j->nexthop));
	for (i = 0; i < j->env.nrcpt; i++) {
		/* One domain may come in both spellings (U- and A-label). */
		if (strcasecmp(addr_domain(j->env.rcpt[i].addr), j->domain) != 0 &&
		    !idn_equal(addr_domain(j->env.rcpt[i].addr), j->domain)) {
			log_warnx("%s: job %u mixes domains", j->env.id, j->id);
			job_pending_result(j, RCPT_DEFERRED,
			    "4.3.0 delivery job mixes domains");
			return;
		}
		if (!addr_ok(j->env.rcpt[i].addr))
			job_rcpt_result(j, i, RCPT_FAILED,
			    "5.1.3 invalid characters in the recipient address");
	}
}

void
job_submit(struct chan_msg *m)
{
	struct msgreader r;
	struct job *j;
	size_t i;

	j = xcalloc(1, sizeof(*j));
	j->id = m->peerid;
	j->fd = m->fd;
	m->fd = -1;
	env_init(&j->env);
	mr_init(&r, m);
	if (env_decode(&j->env, &r) == -1 || !mr_done(&r)) {
		log_warnx("job %u: malformed envelope from queued", j->id);
		/* Still answer once, with nothing in it. */
		env_clear(&j->env);
		env_init(&j->env);
		job_finish(j, true, FLOW_NEUTRAL);
		return;
	}
	j->rcpt = xcalloc(j->env.nrcpt, sizeof(*j->rcpt));
	for (i = 0; i < j->env.nrcpt; i++)
		j->rcpt[i].state = RCPT_INFLIGHT;
	j->npending = j->env.nrcpt;
	if (j->npending > 0)
		job_check(j);

	if (j->npending > 0 && stopping) {
		j->postpone_s = 0;
		job_pending_result(j, RCPT_POSTPONED, DIAG_SHUTDOWN);
	}
	if (j->npending > 0 && nwaiting >= JOB_WAIT_MAX) {
		j->postpone_s = BUSY_POSTPONE_S;
		job_pending_result(j, RCPT_POSTPONED,
		    "4.3.2 delivery agent busy, try again later");
	}
	if (j->npending == 0) {
		job_finish(j, true, FLOW_NEUTRAL);
		return;
	}
	log_debug("%s: job %u for %s, %zu recipient(s), %" PRIu64 " bytes", j->env.id,
	    j->id, j->domain, j->env.nrcpt, j->size);
	TAILQ_INSERT_TAIL(&waiting, j, entry);
	nwaiting++;
	job_kick();
}

void
job_abort_all(const char *diag)
{
	struct job *j;

	aborting = true;
	while ((j = TAILQ_FIRST(&waiting)) != NULL) {
		TAILQ_REMOVE(&waiting, j, entry);
		nwaiting--;
		if (diag != NULL) {
			/* Never started: back to the queue untouched. */
			j->postpone_s = 0;
			job_pending_result(j, RCPT_POSTPONED, diag);
		}
		job_finish(j, diag != NULL, FLOW_NEUTRAL);
	}
	while ((j = TAILQ_FIRST(&running)) != NULL) {
		if (j->rq != NULL)
			route_cancel(j->rq);
		j->rq = NULL;
		if (j->client != NULL)
			client_abort(j->client);
		j->client = NULL;
		if (diag != NULL)
			job_pending_result(j, RCPT_DEFERRED, diag);
		job_finish(j, diag != NULL, FLOW_NEUTRAL);
	}
	aborting = false;
	job_kick();
	check_stopped();
}

static void (*deferred_done)(void);

static void
run_stop_done(void *arg)
{
	(void)arg;
	deferred_done();
}

static void
check_stopped(void)
{
	void (*done)(void) = stop_done;

	if (!stopping || done == NULL || aborting || nrunning > 0 || nwaiting > 0)
		return;
	stop_done = NULL;
	/* Stopped, not freed: this may run inside the timer's callback. */
	if (stop_timer != NULL)
		ev_timer_stop(stop_timer);
	/* Not from here: a client that just finished its job may still be
	 * on the stack, and done() closes every connection. */
	deferred_done = done;
	ev_defer(run_stop_done, NULL);
}

static void
stop_expired(void *arg)
{
	(void)arg;
	if (nrunning > 0)
		log_info("%u deliveries still in progress after %d ms, aborting",
		    nrunning, JOB_STOP_GRACE_MS);
	job_abort_all(DIAG_SHUTDOWN);
}

void
job_shutdown(void (*done)(void))
{
	struct job *j;

	if (stopping)
		return;
	stopping = true;
	stop_done = done;
	while ((j = TAILQ_FIRST(&waiting)) != NULL) {
		TAILQ_REMOVE(&waiting, j, entry);
		nwaiting--;
		/* Never started: back to the queue untouched. */
		j->postpone_s = 0;
		job_pending_result(j, RCPT_POSTPONED, DIAG_SHUTDOWN);
		job_finish(j, true, FLOW_NEUTRAL);
	}
	if (nrunning > 0) {
		log_info("waiting for %u deliveries in progress", nrunning);
		stop_timer = ev_timer_new(stop_expired, NULL);
		ev_timer_start(stop_timer, JOB_STOP_GRACE_MS);
	}
	check_stopped();
}
