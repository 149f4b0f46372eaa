/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for ctld's channel handlers: commands from empathctl
 * on the control socket (ctld/control.c and its command table, commands.c), the answers of
 * queued and deliverd to the requests ctld forwarded (ctld/peers.c and
 * the answer functions that relay them to the client), and M_PROCS and
 * the rest from the master (lib/daemon.c, ctld/proc_table.c). See
 * fuzz_daemon.h for the input layout; peer 0 is the control client, 1
 * queued, 2 deliverd, 3 the master. Each input gets a new client and new
 * channels to queued and deliverd (what was pending on the old ones is
 * failed, as when a peer restarts), so request ids start at 1.
 *
 * The control client is the harness itself through a socketpair, so its
 * SO_PEERCRED uid is ctld's own: root or the owner, admitted (auth.h).
 * Bits 4-6 of the input's first byte (the peer byte of its first
 * message, of which the handler choice uses bits 0-1 only) choose how
 * the client is authorised, so that CTL_AUTH and the refusals are fuzzed
 * too while inputs with those bits clear reach every command:
 *   0x10  a token is configured (FUZZ_TOKEN's hash): commands but ping
 *         need a CTL_AUTH with it;
 *   0x20  the client sends CTL_AUTH with FUZZ_TOKEN before the input;
 *   0x40  the client's credentials are refused (as for a uid neither
 *         root, the owner nor in the control group).
 * The input's own CTL_AUTH frames (any token) are client type 14. */
#include "fuzz_nosandbox.h"   /* before main.c: no seccomp filter */
#include "../lib/daemon.c"
#define main ctld_main
#include "../ctld/main.c"
#undef main
#include "../ctld/control.c"
#include "../ctld/peers.c"

#include "fuzz_daemon.h"

static int far_queued = -1, far_deliverd = -1;

/* The token and its SHA-256 (printf fuzz-token | sha256sum). */
#define FUZZ_TOKEN "fuzz-token"
static char token_hash[] =
    "33cc09ba35314d19e32ed9a5a30fca56eebbfab5faec7247fd0403cd26e155b5";

#define MODE_TOKEN     0x10
#define MODE_SEND      0x20
#define MODE_REFUSED   0x40

/* The authorisation the input's first byte asks for (see above). */
static void
fuzz_auth(struct ctl_client *c, uint8_t mode)
{
	char *hashes[] = { token_hash };
	struct chan_msg m = { .type = CTL_AUTH, .fd = -1, .pid = 1 };
	struct msgbuf mb;

	assert(auth_setup(hashes, (mode & MODE_TOKEN) ? 1 : 0, getegid(),
	    geteuid()) == ((mode & MODE_TOKEN) ? 1u : 0u));
	assert(c->allowed);
	if (mode & MODE_REFUSED)
		c->allowed = false;
	if (mode & MODE_SEND) {
		mb_init(&mb);
		mb_str(&mb, FUZZ_TOKEN);
		m.data = mb.data;
		m.len = mb.len;
		client_msg(c->chan, &m, c);
		mb_free(&mb);
		assert(c->token == ((mode & MODE_TOKEN) ? 0 : -1));
	}
}

static const char config_text[] =
    "hostname \"fuzz.example\"\n"
    "spool \"/nonexistent\"\n"
    "log { target stderr  format text  level err }\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	ev_init();
	ops = &ctld_ops;
	fuzz_daemon_configure(config_text);
	return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t client_types[] = {
		CTL_PING, CTL_STATUS, CTL_QUEUE_LIST, CTL_QUEUE_VIEW,
		CTL_QUEUE_DELETE, CTL_QUEUE_RETRY, CTL_QUEUE_FREEZE,
		CTL_QUEUE_UNFREEZE, CTL_QUEUE_PROCESS, CTL_QUEUE_STATS,
		CTL_DNS_LIST, CTL_DNS_CLEAR, CTL_DNS_REFRESH, CTL_DNS_OVERRIDES,
		CTL_AUTH,
	};
	static const uint16_t queued_types[] = {
		Q_STATUS, CTL_QUEUE_LIST_REPLY, CTL_QUEUE_VIEW_REPLY,
		CTL_QUEUE_STATS_REPLY, CTL_QUEUE_OK, Q_OP_FAIL,
	};
	static const uint16_t deliverd_types[] = {
		D_STATUS, CTL_DNS_LIST_REPLY, CTL_DNS_OVERRIDES_REPLY, CTL_DNS_OK,
		D_DNS_FAIL,
	};
	static const uint16_t master_types[] = { M_PROCS, M_LISTEN, M_PEER };
	struct fuzz_in in = { data, size };
	struct ctl_client *c;
	struct fuzz_msg fm;
	int sv[2];
	uint8_t peer;

	if (far_queued != -1)
		close(far_queued);
	if (far_deliverd != -1)
		close(far_deliverd);
	far_queued = fuzz_daemon_peer(PROC_QUEUED);
	far_deliverd = fuzz_daemon_peer(PROC_DELIVERD);
	last_id = 0;
	assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	assert(TAILQ_EMPTY(&clients) && client_new(sv[0]));
	c = TAILQ_FIRST(&clients);
	fuzz_auth(c, size > 0 ? data[0] : 0);

	while (in.len > 0) {
		peer = in.p[0] & 3;
		if (!fuzz_next_msg(&in,
		    peer == 0 ? client_types : peer == 1 ? queued_types :
		    peer == 2 ? deliverd_types : master_types,
		    peer == 0 ? nitems(client_types) : peer == 1 ?
		    nitems(queued_types) : peer == 2 ? nitems(deliverd_types) :
		    nitems(master_types), &fm, FUZZ_MESSAGE_FILE))
			break;
		switch (peer) {
		case 0:
			if (c != NULL && c->chan != NULL)
				client_msg(c->chan, &fm.m, c);
			break;
		case 1:
		case 2:
			if (chans[peer == 1 ? PROC_QUEUED : PROC_DELIVERD])
				peer_msg(chans[peer == 1 ? PROC_QUEUED :
				    PROC_DELIVERD], &fm.m, (void *)(uintptr_t)
				    (peer == 1 ? PROC_QUEUED : PROC_DELIVERD));
			break;
		default:
			/* Never M_CONFIG again, M_START, M_LISTEN (the
			 * listener keeps it) or M_PEER (the channels under
			 * test are the harness's). */
			if (fm.m.type == M_CONFIG || fm.m.type == M_START ||
			    fm.m.type == M_LISTEN || fm.m.type == M_PEER)
				break;
			master_msg(NULL, &fm.m, NULL);
			break;
		}
		fuzz_msg_done(&fm);
		/* The client may have been closed (too much unread). */
		if (TAILQ_EMPTY(&clients))
			c = NULL;
		if (c != NULL && c->chan != NULL)
			fuzz_drain(c->chan, sv[1]);
		fuzz_drain(chans[PROC_QUEUED], far_queued);
		fuzz_drain(chans[PROC_DELIVERD], far_deliverd);
	}
	/* The client hangs up; its requests are abandoned. */
	close(sv[1]);
	if (c != NULL && c->chan != NULL)
		while (chan_read(c->chan) != -1 && !TAILQ_EMPTY(&clients))
			;
	fuzz_loop_turn();
	assert(TAILQ_EMPTY(&clients));
	return 0;
}
