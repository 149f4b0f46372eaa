/* SPDX-License-Identifier: ISC */
/* The queued engine fixture (see queued_engine.h). */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "queued_engine.h"
#include "util.h"
#include "wire.h"
#include "wire_ctl.h"

struct fx_peer *qe_smtpd, *qe_deliverd, *qe_ctld;
const char *qe_spool;
static uint32_t next_reqid = 1;

/* queued's main(), renamed (defined at the end of this file). */
int qe_queued_main(int, char **);

/* ---- syncfs() ---- */

static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv = PTHREAD_COND_INITIALIZER;
static unsigned sync_calls, sync_held;
static bool sync_hold;
static int sync_err;

/* Called by queued's sync thread in place of libc's. */
int
syncfs(int fd)
{
	int err;

	(void)fd;
	pthread_mutex_lock(&sync_mu);
	sync_calls++;
	while (sync_hold) {
		sync_held++;
		pthread_cond_wait(&sync_cv, &sync_mu);
		sync_held--;
	}
	err = sync_err;
	pthread_mutex_unlock(&sync_mu);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

unsigned
qe_syncs(void)
{
	unsigned n;

	pthread_mutex_lock(&sync_mu);
	n = sync_calls;
	pthread_mutex_unlock(&sync_mu);
	return n;
}

unsigned
qe_syncs_held(void)
{
	unsigned n;

	pthread_mutex_lock(&sync_mu);
	n = sync_held;
	pthread_mutex_unlock(&sync_mu);
	return n;
}

void
qe_sync_hold(bool hold)
{
	pthread_mutex_lock(&sync_mu);
	sync_hold = hold;
	pthread_cond_broadcast(&sync_cv);
	pthread_mutex_unlock(&sync_mu);
}

void
qe_sync_fail(int err)
{
	pthread_mutex_lock(&sync_mu);
	sync_err = err;
	pthread_mutex_unlock(&sync_mu);
}

/* ---- the master ---- */

struct qe_user {
	uid_t uid;
	char  name[WIRE_LOGIN_MAX + 1];
};
static struct qe_user users[16];
static size_t nusers;
static unsigned nlookups;
bool qe_hold_lookups;

void
qe_user_set(uid_t uid, const char *name)
{
	size_t i;

	for (i = 0; i < nusers; i++)
		if (users[i].uid == uid)
			break;
	if (name == NULL) {
		if (i < nusers)
			users[i] = users[--nusers];
		return;
	}
	if (i == nusers) {
		ck_assert_uint_lt(nusers, nitems(users));
		nusers++;
	}
	users[i].uid = uid;
	strlcpy(users[i].name, name, sizeof(users[i].name));
}

unsigned
qe_lookups(void)
{
	return nlookups;
}

static void
answer(const struct chan_msg *m)
{
	struct wire_user_lookup l;
	struct wire_user_name w;
	struct msgbuf mb;
	size_t i;

	ck_assert_int_eq(wire_user_lookup_decode(m, &l), 0);
	memset(&w, 0, sizeof(w));
	w.cookie = l.cookie;
	w.uid = l.uid;
	for (i = 0; i < nusers; i++)
		if (users[i].uid == (uid_t)l.uid)
			strlcpy(w.name, users[i].name, sizeof(w.name));
	mb_init(&mb);
	ck_assert_int_eq(wire_user_name_encode(&mb, &w), 0);
	ck_assert_int_eq(chan_send_mb(fx_master->ch, M_USER_NAME, 0, -1, &mb), 0);
	mb_free(&mb);
}

static bool
master_filter(struct fx_peer *p, const struct chan_msg *m)
{
	(void)p;
	ck_assert_msg(m->type == M_USER_LOOKUP, "the master got %s",
	    msg_name(m->type));
	nlookups++;
	if (qe_hold_lookups)
		return false;
	answer(m);
	return true;
}

void
qe_answer_held(void)
{
	struct fx_msg *m;

	while ((m = TAILQ_FIRST(&fx_master->msgs)) != NULL) {
		struct chan_msg v = fx_msg_view(m);

		TAILQ_REMOVE(&fx_master->msgs, m, entry);
		fx_master->nmsgs--;
		answer(&v);
		fx_msg_free(m);
	}
}

/* ---- set-up ---- */

const char *qe_commit_meta, *qe_commit_headers;
void (*qe_before_start)(void);

void
qe_setup_with(const char *extra)
{
	qe_setup_in(fx_tmpdir("queued"), extra);
}

void
qe_setup_in(const char *spool, const char *extra)
{
	char text[PATH_MAX + 4096];
	int n;

	qe_spool = spool;
	n = snprintf(text, sizeof(text),
	    "hostname \"queue.test\"\n"
	    "spool \"%s\"\n"
	    /* queued sizes the receptions it holds open from these. */
	    "listen on 127.0.0.1 port 2525\n"
	    "log { target stderr  format text  level err }\n"
	    "%s\n", qe_spool, extra != NULL ? extra : "");
	ck_assert(n > 0 && (size_t)n < sizeof(text));
	fx_engine_boot(qe_queued_main, "queued", text);
	fx_master->filter = master_filter;
	/* The master offers the peers before M_START: they wait. */
	qe_smtpd = fx_peer_new(fx_engine_peer(PROC_SMTPD), "fake-smtpd");
	qe_deliverd = fx_peer_new(fx_engine_peer(PROC_DELIVERD), "fake-deliverd");
	qe_ctld = fx_peer_new(fx_engine_peer(PROC_CTLD), "fake-ctld");
	if (qe_before_start != NULL)
		qe_before_start();
	fx_engine_start();
	ck_assert_uint_eq(fx_sandbox_entered, 1);
}

void
qe_setup(void)
{
	qe_setup_with(NULL);
}

void
qe_teardown(void)
{
	qe_sync_fail(0);
	qe_sync_hold(false);
	/* Without deliverd, jobs in flight do not hold the stop back. */
	fx_peer_free(qe_deliverd);
	fx_peer_free(qe_smtpd);
	fx_peer_free(qe_ctld);
	qe_deliverd = qe_smtpd = qe_ctld = NULL;
	ck_assert_int_eq(fx_engine_stop(FX_WAIT_MS), 0);
}

/* ---- smtpd ---- */

uint32_t
qe_create(void)
{
	uint32_t id = next_reqid++;

	ck_assert_int_eq(chan_send(qe_smtpd->ch, Q_CREATE, id, -1, NULL, 0), 0);
	return id;
}

int
qe_created(uint32_t reqid, char msgid[ULID_LEN + 1])
{
	struct fx_msg *m = fx_peer_expect(qe_smtpd, Q_CREATE_OK, FX_WAIT_MS);
	struct chan_msg v = fx_msg_view(m);
	struct wire_msgid w;
	int fd;

	ck_assert_uint_eq(m->peerid, reqid);
	ck_assert_int_eq(wire_msgid_decode(&v, &w), 0);
	ck_assert_int_ne(m->fd, -1);
	strlcpy(msgid, w.msgid, ULID_LEN + 1);
	fd = m->fd;
	m->fd = -1;
	fx_msg_free(m);
	return fd;
}

uint32_t
qe_commit(const char *msgid, const char *sender, const char *const *rcpts,
    uint64_t size)
{
	struct envelope env;
	struct msgbuf mb;
	uint32_t id = next_reqid++;

	env_init(&env);
	strlcpy(env.id, msgid, sizeof(env.id));
	env.sender = xstrdup(sender);
	env.helo = xstrdup("client.test");
	env.client_addr = xstrdup("192.0.2.1");
	env.client_name = xstrdup("client.test");
	env.size = size;
	env.created = wall_s();
	if (qe_commit_meta != NULL)
		env.meta = xstrdup(qe_commit_meta);
	if (qe_commit_headers != NULL)
		env.headers = xstrdup(qe_commit_headers);
	for (; *rcpts != NULL; rcpts++)
		env_add_rcpt(&env, *rcpts);
	mb_init(&mb);
	env_encode(&env, &mb);
	ck_assert(!mb.err);
	ck_assert_int_eq(chan_send_mb(qe_smtpd->ch, Q_COMMIT, id, -1, &mb), 0);
	mb_free(&mb);
	env_clear(&env);
	return id;
}

uint16_t
qe_committed(uint32_t reqid, struct wire_msgid *msgid, struct wire_fail *fail)
{
	struct fx_msg *m = fx_peer_next(qe_smtpd, FX_WAIT_MS);
	struct chan_msg v = fx_msg_view(m);
	uint16_t type = m->type;

	ck_assert_uint_eq(m->peerid, reqid);
	if (type == Q_COMMIT_OK) {
		ck_assert_int_eq(wire_msgid_decode(&v, msgid), 0);
	} else {
		ck_assert_msg(type == Q_COMMIT_FAIL, "got %s for a commit",
		    msg_name(type));
		ck_assert_int_eq(wire_fail_decode(&v, fail), 0);
	}
	fx_msg_free(m);
	return type;
}

void
qe_receive(char msgid[ULID_LEN + 1], const char *sender,
    const char *const *rcpts, const char *text)
{
	struct wire_msgid ok;
	struct wire_fail fail;
	uint32_t req;
	int fd;

	req = qe_create();
	fd = qe_created(req, msgid);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	close(fd);
	req = qe_commit(msgid, sender, rcpts, strlen(text));
	ck_assert_uint_eq(qe_committed(req, &ok, &fail), Q_COMMIT_OK);
	ck_assert_str_eq(ok.msgid, msgid);
}

/* ---- deliverd ---- */

static void
job_decode(struct fx_msg *m, struct qe_job *j)
{
	struct chan_msg v = fx_msg_view(m);
	struct msgreader mr;

	ck_assert_int_ne(m->fd, -1);
	j->id = m->peerid;
	j->fd = m->fd;
	m->fd = -1;
	mr_init(&mr, &v);
	ck_assert_int_eq(env_decode(&j->env, &mr), 0);
	fx_msg_free(m);
}

void
qe_job_next(struct qe_job *j, unsigned ms)
{
	job_decode(fx_peer_expect(qe_deliverd, D_JOB, ms), j);
}

bool
qe_job_within(struct qe_job *j, unsigned ms)
{
	struct fx_msg *m = fx_peer_take(qe_deliverd, D_JOB, ms);

	if (m == NULL)
		return false;
	job_decode(m, j);
	return true;
}

void
qe_job_free(struct qe_job *j)
{
	if (j->fd != -1)
		close(j->fd);
	j->fd = -1;
	env_clear(&j->env);
}

static char *
read_fd(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = xmalloc(cap);
	ssize_t n;

	while ((n = pread(fd, buf + len, cap - len - 1, (off_t)len)) > 0) {
		len += (size_t)n;
		if (cap - len < 2)
			buf = xreallocarray(buf, cap *= 2, 1);
	}
	ck_assert_int_eq(n, 0);
	buf[len] = '\0';
	return buf;
}

char *
qe_job_text(const struct qe_job *j)
{
	return read_fd(j->fd);
}

void
qe_result(const struct qe_job *j, const uint32_t *states,
    const char *const *diags)
{
	struct wire_result w;
	struct msgbuf mb;
	size_t i;

	memset(&w, 0, sizeof(w));
	strlcpy(w.msgid, j->env.id, sizeof(w.msgid));
	w.n = (uint32_t)j->env.nrcpt;
	w.r = xcalloc(j->env.nrcpt, sizeof(*w.r));
	for (i = 0; i < j->env.nrcpt; i++) {
		w.r[i].id = j->env.rcpt[i].id;
		w.r[i].state = states[i];
		w.r[i].host = "mx.test[192.0.2.25]:25";
		w.r[i].diag = diags[i];
	}
	mb_init(&mb);
	ck_assert_int_eq(wire_result_encode(&mb, &w, SIZE_MAX, SIZE_MAX), 0);
	ck_assert_int_eq(chan_send_mb(qe_deliverd->ch, D_RESULT, j->id, -1,
	    &mb), 0);
	mb_free(&mb);
	free(w.r);
}

/* ---- the spool ---- */

static void
queue_path(const char *msgid, char *path, size_t len)
{
	ck_assert_uint_lt((size_t)snprintf(path, len, "%s/queue/%s", qe_spool,
	    msgid), len);
}

bool
qe_in_queue(const char *msgid)
{
	char path[PATH_MAX];
	struct stat st;

	queue_path(msgid, path, sizeof(path));
	return stat(path, &st) == 0;
}

char *
qe_queue_file(const char *msgid)
{
	char path[PATH_MAX], *text;
	int fd;

	queue_path(msgid, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd != -1, "%s: %s", path, strerror(errno));
	text = read_fd(fd);
	close(fd);
	return text;
}

/* ---- ctld ----
 * Every control message type the fixture uses is named in this one
 * function; payloads go through the same codecs as ctld's
 * (wire_ctl.h). */
bool
qe_op(enum qe_op op, const char *id, uint64_t *count,
    char (*ids)[ULID_LEN + 1], size_t nids)
{
	const uint16_t ok_type = op == QE_LIST ? CTL_QUEUE_LIST_REPLY :
	    CTL_QUEUE_OK;
	uint32_t req = next_reqid++, i;
	struct chan_msg v;
	struct fx_msg *m;
	struct msgbuf mb;
	uint16_t type;
	bool ok;

	mb_init(&mb);
	if (op == QE_LIST) {
		struct wire_list_req lr = { .state = Q_STATE_ANY, .limit = 100 };

		type = CTL_QUEUE_LIST;
		ck_assert_int_eq(wire_list_req_encode(&mb, &lr), 0);
	} else {
		struct wire_msgid w;

		type = op == QE_DELETE ? CTL_QUEUE_DELETE : CTL_QUEUE_RETRY;
		ck_assert_uint_lt(strlcpy(w.msgid, id, sizeof(w.msgid)), sizeof(w.msgid));
		ck_assert_int_eq(wire_msgid_encode(&mb, &w), 0);
	}
	ck_assert_int_eq(chan_send_mb(qe_ctld->ch, type, req, -1, &mb), 0);
	mb_free(&mb);
	m = fx_peer_next(qe_ctld, FX_WAIT_MS);
	ck_assert_uint_eq(m->peerid, req);
	ck_assert_msg(m->type == ok_type || m->type == Q_OP_FAIL,
	    "got %s for %s", msg_name(m->type), msg_name(type));
	ok = m->type == ok_type;
	v = fx_msg_view(m);
	if (!ok) {
		struct wire_opfail f;

		ck_assert_int_eq(wire_opfail_decode(&v, &f), 0);
	} else if (op == QE_LIST) {
		struct wire_qlist l;

		ck_assert_int_eq(wire_qlist_decode(&v, &l), 0);
		for (i = 0; i < l.n && i < nids; i++)
			strlcpy(ids[i], l.row[i].id, sizeof(ids[i]));
		if (count != NULL)
			*count = l.n;
		wire_qlist_free(&l);
	} else {
		struct wire_ok o;

		ck_assert_int_eq(wire_ok_decode(&v, &o), 0);
		if (count != NULL)
			*count = o.count;
	}
	fx_msg_free(m);
	return ok;
}

/* ---- queued itself ----
 * Its main.c, last in this file so that nothing above can reach its
 * statics, with main renamed and the system call filter left out. */
#include "sandbox.h"

static void
qe_no_sandbox(enum proc_id self)
{
	ck_assert_int_eq(self, PROC_QUEUED);
	fx_sandbox_entered++;
}

#define sandbox_enter(self) qe_no_sandbox(self)
#define main qe_queued_main
#include "../../queued/main.c"
#undef main
#undef sandbox_enter
