/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for deliverd's channel handlers: from queued (D_JOB
 * with its message file, D_STATUS_REQ), from ctld (D_STATUS_REQ and the
 * CTL_DNS_* control requests) and from the master (what lib/daemon.c reads
 * after M_CONFIG). See fuzz_daemon.h for the input layout; peer 0 is
 * queued, 1 ctld, 2 the master. Jobs are started (routes asked of a
 * resolver on 127.0.0.1 port 9, where nobody answers) and aborted after
 * each input, as when queued's channel closes. */
#include "fuzz_nosandbox.h"   /* before main.c: no seccomp filter */
#include "../lib/daemon.c"
#define main deliverd_main
#include "../deliverd/main.c"
#undef main

#include "dns_cache.h"
#include "fuzz_daemon.h"

static int far_queued, far_ctld;

static const char config_text[] =
    "hostname \"fuzz.example\"\n"
    "spool \"/nonexistent\"\n"
    "resolver \"127.0.0.1\" port 9\n"
    "domain \"relay.example\" {\n"
    "    relay via \"127.0.0.1:9\"\n"
    "}\n"
    "log { target stderr  format text  level err }\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct daemon_ops o = {
		.self = PROC_DELIVERD,
		.configure = deliverd_configure,
		.listen = deliverd_listen,
		.peer = deliverd_peer,
		.master_msg = deliverd_master_msg,
	};

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	ev_init();
	ops = &o;
	fuzz_daemon_configure(config_text);
	far_queued = fuzz_daemon_peer(PROC_QUEUED);
	far_ctld = fuzz_daemon_peer(PROC_CTLD);
	job_start();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t queued_types[] = { D_JOB, D_STATUS_REQ, MSG_HELLO };
	static const uint16_t ctld_types[] = {
		D_STATUS_REQ, CTL_DNS_LIST, CTL_DNS_CLEAR, CTL_DNS_REFRESH,
		CTL_DNS_OVERRIDES, MSG_HELLO,
	};
	static const uint16_t master_types[] = { M_LISTEN, M_PEER, M_PROCS };
	struct fuzz_in in = { data, size };
	struct fuzz_msg fm;
	int sv[2];

	while (in.len > 0) {
		uint8_t peer = (in.p[0] & 0x7f) % 3;
		const uint16_t *types = peer == 0 ? queued_types :
		    peer == 1 ? ctld_types : master_types;
		size_t n = peer == 0 ? 3 : peer == 1 ? 6 : 3;

		if (!fuzz_next_msg(&in, types, n, &fm, FUZZ_MESSAGE_FILE))
			break;
		switch (peer) {
		case 0:
			queued_msg(queued_chan, &fm.m, NULL);
			break;
		case 1:
			ctld_msg(ctld_chan, &fm.m, NULL);
			break;
		default:
			/* Never M_CONFIG again or M_START (fatal by design,
			 * and the master is trusted for those). */
			if (fm.m.type == M_CONFIG || fm.m.type == M_START)
				break;
			if (fm.m.type == M_PEER && fm.m.fd != -1) {
				/* A channel, not a file: a socketpair, whose
				 * far end replaces ours if it is taken. */
				close(fm.m.fd);
				assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
				fcntl(sv[1], F_SETFL, O_NONBLOCK);
				fm.m.fd = sv[0];
				master_msg(NULL, &fm.m, NULL);
				if (fm.m.fd == -1 && fm.m.len == 4 &&
				    fm.m.data[0] == PROC_QUEUED) {
					close(far_queued);
					far_queued = sv[1];
				} else if (fm.m.fd == -1 && fm.m.len == 4 &&
				    fm.m.data[0] == PROC_CTLD) {
					close(far_ctld);
					far_ctld = sv[1];
				} else
					close(sv[1]);
				break;
			}
			master_msg(NULL, &fm.m, NULL);
			break;
		}
		fuzz_msg_done(&fm);
		fuzz_drain(queued_chan, far_queued);
		fuzz_drain(ctld_chan, far_ctld);
	}
	/* Forget every job and request, as when the peers go away. */
	job_abort_all(NULL);
	if (ctld_chan != NULL)
		control_channel_gone(ctld_chan);
	(void)dnsc_clear();
	fuzz_drain(queued_chan, far_queued);
	fuzz_drain(ctld_chan, far_ctld);
	/* A peer channel that closed comes back for the next input. */
	if (queued_chan == NULL) {
		close(far_queued);
		far_queued = fuzz_daemon_peer(PROC_QUEUED);
	}
	if (ctld_chan == NULL) {
		close(far_ctld);
		far_ctld = fuzz_daemon_peer(PROC_CTLD);
	}
	return 0;
}
