/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for queued's channel handlers: from smtpd (Q_CREATE,
 * Q_COMMIT with its envelope, Q_ROLLBACK; queued/commit.c), from deliverd
 * (D_RESULT, D_STATUS; queued/scheduler.c) and from ctld (the status and
 * queue operation requests; queued/ops.c), on a real spool and index in
 * a temporary directory (removed at exit). See fuzz_daemon.h for the
 * input layout; peer 0 is smtpd, 1 deliverd, 2 ctld, 3 the master.
 *
 * smtpd's part plays along with what queued answers: the file of each
 * Q_CREATE_OK is written (a small message), and a Q_COMMIT or
 * Q_ROLLBACK naming the message 00000000000000000000000000 is given the
 * id of the last message created instead (queued's ids are random).
 *
 * Each input starts with one job in flight (id 1, message
 * 01HGZ8Y2K3M4N5P6Q7R8S9T0VW, recipients 1 and 2) for D_RESULT to
 * answer, and ends with one turn of the event loop (the write pipeline
 * runs, operations are answered), then every reception still open is
 * rolled back, the job and the result updates not applied are dropped,
 * so that inputs do not pile state on each other. */
#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>

#include "fuzz_nosandbox.h"   /* before main.c: no seccomp filter */
#define main queued_main
#include "../queued/main.c"
#undef main
#include "../queued/scheduler.c"

#define FUZZ_NO_DAEMON_C
#include "fuzz_daemon.h"

#define JOB_MSGID "01HGZ8Y2K3M4N5P6Q7R8S9T0VW"

static char spooldir[64];
static int far[PROC_COUNT];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_spool(void)
{
	(void)nftw(spooldir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
attach(enum proc_id proc)
{
	int sv[2], big = 8 << 20;

	assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	peer(proc, sv[0]);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	return sv[1];
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[512];
	struct config *cfg;

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	ev_init();
	strlcpy(spooldir, "/tmp/empath-fuzz-queued.XXXXXX", sizeof(spooldir));
	assert(mkdtemp(spooldir) != NULL);
	atexit(rm_spool);
	snprintf(text, sizeof(text), "hostname \"fuzz.example\"\n"
	    "spool \"%s\"\n", spooldir);
	cfg = config_parse("fuzz", text, strlen(text), NULL);
	assert(cfg != NULL);
	configure(cfg);
	/* What the privilege drop does unprivileged: work in the spool. */
	assert(chdir(spooldir) == 0);
	start();
	assert(Q.started && Q.store != NULL);
	far[PROC_SMTPD] = attach(PROC_SMTPD);
	far[PROC_DELIVERD] = attach(PROC_DELIVERD);
	far[PROC_CTLD] = attach(PROC_CTLD);
	return 0;
}

static void
add_job(void)
{
	struct job *j = xcalloc(1, sizeof(*j));
	size_t i;

	j->id = 1;
	strlcpy(j->msgid, JOB_MSGID, sizeof(j->msgid));
	j->domain = xstrdup("example.net");
	j->created = wall_s();
	j->n = 2;
	j->r = xcalloc(j->n, sizeof(*j->r));
	for (i = 0; i < j->n; i++) {
		j->r[i].id = i + 1;
		j->r[i].addr = xstrdup(i ? "b@example.net" : "a@example.net");
	}
	j->deadline = mono_ms() + 3600 * 1000;
	j->fd = -1;
	mb_init(&j->mb);
	TAILQ_INSERT_TAIL(&S.jobs, j, entry);
	S.njobs++;
}

static void
drop_state(void)
{
	struct job *j;
	struct rupdate *u;

	while ((j = TAILQ_FIRST(&S.jobs)) != NULL) {
		TAILQ_REMOVE(&S.jobs, j, entry);
		job_free(j);
	}
	S.njobs = 0;
	while ((u = TAILQ_FIRST(&S.updates)) != NULL) {
		TAILQ_REMOVE(&S.updates, u, entry);
		free(u->error);
		free(u->host);
		free(u);
	}
}


#define ALIAS "00000000000000000000000000"
static char last_created[ULID_LEN + 1];

/* smtpd's end: read queued's frames, keep the id of each Q_CREATE_OK and
 * write its file. Frames are small: a read holds whole ones. */
static void
smtpd_read(void)
{
	static uint8_t buf[1 << 16];
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
	};
	struct cmsghdr *c;
	struct chan_hdr h;
	int fds[4], nfds = 0, fi = 0, i;
	ssize_t n;
	size_t off;

	while ((n = recvmsg(far[PROC_SMTPD], &mh, MSG_CMSG_CLOEXEC)) > 0) {
		nfds = 0;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS) {
				nfds = (int)((c->cmsg_len - CMSG_LEN(0)) /
				    sizeof(int));
				memcpy(fds, CMSG_DATA(c), (size_t)nfds *
				    sizeof(int));
			}
		for (off = 0, fi = 0; off + CHAN_HDR_LEN <= (size_t)n;
		    off += h.len) {
			memcpy(&h, buf + off, sizeof(h));
			if (h.len < CHAN_HDR_LEN || off + h.len > (size_t)n)
				break;
			if (h.type == Q_CREATE_OK && h.len >= CHAN_HDR_LEN +
			    4 + ULID_LEN + 1 && fi < nfds) {
				memcpy(last_created, buf + off + CHAN_HDR_LEN + 4,
				    ULID_LEN);
				assert(write(fds[fi], FUZZ_MESSAGE_FILE,
				    strlen(FUZZ_MESSAGE_FILE)) > 0);
			}
			if (h.flags & CHAN_FLAG_FD)
				fi++;
		}
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		mh.msg_controllen = sizeof(cm.buf);
	}
}

static void
drain_all(void)
{
	int i;

	for (i = 0; i < PROC_COUNT; i++)
		if (peers[i] != NULL && peers[i]->ch != NULL) {
			if (i == PROC_SMTPD) {
				(void)chan_flush(peers[i]->ch);
				smtpd_read();
			} else
				fuzz_drain(peers[i]->ch, far[i]);
		}
}

/* The alias for the last message created, in a Q_COMMIT or Q_ROLLBACK
 * (both start with the str id). */
static void
alias(struct chan_msg *m)
{
	uint8_t *p = (uint8_t *)(uintptr_t)m->data;

	if ((m->type == Q_COMMIT || m->type == Q_ROLLBACK) &&
	    last_created[0] != '\0' && m->len >= 4 + ULID_LEN &&
	    memcmp(p + 4, ALIAS, ULID_LEN) == 0)
		memcpy(p + 4, last_created, ULID_LEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t smtpd_types[] = { Q_CREATE, Q_COMMIT, Q_ROLLBACK };
	static const uint16_t deliverd_types[] = { D_RESULT, D_STATUS };
	static const uint16_t ctld_types[] = {
		Q_STATUS_REQ, CTL_QUEUE_LIST, CTL_QUEUE_VIEW, CTL_QUEUE_DELETE,
		CTL_QUEUE_RETRY, CTL_QUEUE_FREEZE, CTL_QUEUE_UNFREEZE,
		CTL_QUEUE_PROCESS, CTL_QUEUE_STATS,
	};
	static const enum proc_id procs[] = {
		PROC_SMTPD, PROC_DELIVERD, PROC_CTLD,
	};
	struct fuzz_in in = { data, size };
	struct fuzz_msg fm;
	struct qpeer *p;
	uint8_t sel;
	int i;

	add_job();
	last_created[0] = '\0';
	while (in.len > 0) {
		sel = in.p[0] & 3;
		if (!fuzz_next_msg(&in, sel == 0 ? smtpd_types : sel == 1 ?
		    deliverd_types : ctld_types, sel == 0 ? nitems(smtpd_types) :
		    sel == 1 ? nitems(deliverd_types) : nitems(ctld_types), &fm,
		    FUZZ_MESSAGE_FILE))
			break;
		if (sel == 0)
			alias(&fm.m);
		if (sel == 3)
			master_msg(&fm.m);
		else if ((p = peers[procs[sel]]) != NULL && p->ch != NULL)
			peer_msg(p->ch, &fm.m, p);
		fuzz_msg_done(&fm);
		drain_all();
	}
	fuzz_loop_turn();
	drain_all();
	if (peers[PROC_SMTPD] != NULL)
		commit_peer_gone(peers[PROC_SMTPD], "end of the fuzz input");
	drop_state();
	fuzz_loop_turn();
	drain_all();
	/* A channel that closed comes back for the next input. */
	for (i = 0; i < 3; i++)
		if (peers[procs[i]] == NULL) {
			close(far[procs[i]]);
			far[procs[i]] = attach(procs[i]);
		}
	return 0;
}
