/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for smtpd's channel handlers: the replies of queued
 * (Q_CREATE_OK with its file, Q_CREATE_FAIL, Q_COMMIT_OK, Q_COMMIT_FAIL,
 * anything else) read by smtpd/queue_client.c, and what lib/daemon.c
 * reads from the master after M_CONFIG (M_USER_NAME: smtpd/localuser.c,
 * about sessions that do not exist). See fuzz_daemon.h for the input
 * layout; peer 0 is queued, 1 registers a Q_CREATE request (as a session
 * starting DATA), 2 a Q_COMMIT request, 3 the master. The requests
 * belong to sessions already gone (no SMTP client): every reply goes
 * through the payload checks, the matching and the rollback of an
 * unwanted file, not into a session. Request ids start at 1 for each
 * input; every request left is failed after it. */
#include "fuzz_nosandbox.h"   /* before main.c: no seccomp filter */
#include "../lib/daemon.c"
#define main smtpd_main
#include "../smtpd/main.c"
#undef main
#include "../smtpd/queue_client.c"

#include "fuzz_daemon.h"

static int far_queued;

static const char config_text[] =
    "hostname \"fuzz.example\"\n"
    "spool \"/nonexistent\"\n"
    "listen on 127.0.0.1 port 2525\n"
    "log { target stderr  format text  level err }\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	ev_init();
	ops = &smtpd_ops;
	fuzz_daemon_configure(config_text);
	far_queued = fuzz_daemon_peer(PROC_QUEUED);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t queued_types[] = {
		Q_CREATE_OK, Q_CREATE_FAIL, Q_COMMIT_OK, Q_COMMIT_FAIL, MSG_HELLO,
	};
	static const uint16_t master_types[] = { M_LISTEN, M_PEER, M_PROCS,
		M_USER_NAME };
	struct fuzz_in in = { data, size };
	struct envelope env;
	struct fuzz_msg fm;
	uint8_t peer;

	Q.next_id = 0;
	env_init(&env);
	strlcpy(env.id, "01HGZ8Y2K3M4N5P6Q7R8S9T0VW", sizeof(env.id));
	env.sender = xstrdup("a@example.org");
	env.helo = xstrdup("client.example");
	env.client_addr = xstrdup("192.0.2.1");
	env_add_rcpt(&env, "b@example.net");
	while (in.len > 0) {
		peer = in.p[0] & 3;
		if (!fuzz_next_msg(&in, peer == 3 ? master_types : queued_types,
		    peer == 3 ? 4 : 5, &fm, FUZZ_MESSAGE_FILE))
			break;
		switch (peer) {
		case 0:
			qc_msg(Q.ch, &fm.m, NULL);
			break;
		case 1:
			(void)qc_create(NULL);
			break;
		case 2:
			(void)qc_commit(NULL, &env);
			break;
		default:
			/* Never M_CONFIG again, M_START, M_PEER (it replaces
			 * the channel under test: see deliverd's harness) or
			 * M_LISTEN (the listener keeps the descriptor). */
			if (fm.m.type == M_CONFIG || fm.m.type == M_START ||
			    fm.m.type == M_PEER || fm.m.type == M_LISTEN)
				break;
			master_msg(NULL, &fm.m, NULL);
			break;
		}
		fuzz_msg_done(&fm);
		fuzz_drain(Q.ch, far_queued);
	}
	qc_fail_all();
	env_clear(&env);
	fuzz_drain(Q.ch, far_queued);
	if (Q.ch == NULL) {
		close(far_queued);
		far_queued = fuzz_daemon_peer(PROC_QUEUED);
	}
	return 0;
}
