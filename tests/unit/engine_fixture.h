/* SPDX-License-Identifier: ISC */
/* What the engine fixtures share (queued_engine.h, deliverd_engine.h): a
 * daemon started in the test process through its own entry point and
 * the same steps lib/daemon.c takes, its event loop run by the test
 * until a condition holds, and fake peers on real channels.
 *
 * How a daemon is started here: its main.c is compiled into the
 * fixture (included last, so that nothing in the fixture can reach its
 * statics) with main renamed; calling it hands the daemon's daemon_ops
 * to daemon_main(), which engine_fixture.c defines in place of lib/daemon.c's
 * (and daemon_config(), daemon_exit(), daemon_empty_dir()): the
 * archive's daemon.o is then never linked. fx_engine_boot() then does
 * what lib/daemon.c does on M_CONFIG, fx_engine_peer() what it does on
 * M_PEER, fx_engine_start() on M_START, without the privilege drop
 * (unprivileged: a chdir into the daemon's directory) and without the
 * system call filter (sandbox_enter(), called in main.c, is a macro for
 * a no-op there: were the call moved to another module, the filter
 * would kill the test; the filters are tested in test_sandbox.c and the
 * e2e suite).
 *
 * Every check test runs in its own process (check's fork mode, the
 * default): the daemon's state is per process, one engine per test. */
#ifndef EMPATH_TEST_ENGINE_FIXTURE_H
#define EMPATH_TEST_ENGINE_FIXTURE_H

#include <sys/queue.h>

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "daemon.h"
#include "proto.h"
#include "util.h"

/* Bounds of the waits (ms): long enough for a loaded machine, and a
 * test that waits this long has failed. */
#define FX_WAIT_MS     10000
/* The loop wakes up at least this often to look at a condition that no
 * channel message announces (a thread's progress, a file). */
#define FX_TICK_MS     10

/* ---- the daemon ---- */

/* The daemon's main() (renamed) gives its daemon_ops to daemon_main();
 * the configuration text is parsed as the snapshot of M_CONFIG is
 * (errors fail the test) and given to ops->configure(). The event loop
 * is initialised first. EMPATH_TEST_LOG=debug|info|warn in the
 * environment overrides the log level of the text. */
void fx_engine_boot(int (*daemon_main_fn)(int, char **), const char *name,
    const char *config_text);
const struct daemon_ops *fx_engine_ops(void);
struct config *fx_engine_config(void);
/* M_PEER: a socketpair, one end given to ops->peer(proc); returns the
 * other (wrap it with fx_peer_new()). */
int  fx_engine_peer(enum proc_id proc);
/* M_START: chdir into ops->chroot_dir() when chdir_unprivileged (as an
 * unprivileged daemon does), umask 077, ops->start(). */
void fx_engine_start(void);
/* Graceful stop (SIGTERM): ops->stop(), then the loop runs until the
 * daemon calls daemon_exit(); returns its status. The test fails when
 * that takes more than timeout_ms. The loop must not be used after. */
int  fx_engine_stop(unsigned timeout_ms);
/* How many times the daemon entered its sandbox (the no-op stand-in). */
extern unsigned fx_sandbox_entered;
/* The master, played by the test (a fake peer made by fx_engine_boot()):
 * what the daemon sends with daemon_master_send() arrives there, and
 * what the test sends on it reaches ops->master_msg(), both through a
 * real channel. */
extern struct fx_peer *fx_master;

/* ---- the loop ---- */

/* Run the loop until the next wake-up (fx_wake(), a message to a fake
 * peer) or FX_TICK_MS, never past deadline (mono_ms()). */
void fx_turn(uint64_t deadline);
/* Run the loop for ms, whatever happens (to see that nothing does). */
void fx_run_for(unsigned ms);
/* Make the current fx_turn() return once this loop iteration is over. */
void fx_wake(void);

/* Run the loop until cond (an expression, evaluated between turns)
 * holds; fail the test after ms. */
#define fx_until(cond, ms) do {						\
	uint64_t fx_dl_ = mono_ms() + (ms);				\
	while (!(cond)) {						\
		ck_assert_msg(mono_ms() < fx_dl_,			\
		    "waited %u ms in vain for: %s", (unsigned)(ms), #cond); \
		fx_turn(fx_dl_);					\
	}								\
} while (0)

/* ---- fake peers ---- */

/* A message a fake peer received; fd (or -1) is the test's to close,
 * fx_msg_free() does. */
struct fx_msg {
	TAILQ_ENTRY(fx_msg) entry;
	uint16_t type;
	uint32_t peerid;
	int      fd;
	uint8_t *data;
	size_t   len;
};
TAILQ_HEAD(fx_msg_list, fx_msg);

/* One end of a real channel (lib/channel.c) played by the test: what
 * arrives is kept in order (HELLO excepted) until taken. */
struct fx_peer {
	struct channel     *ch;          /* NULL once closed */
	struct fx_msg_list  msgs;
	size_t              nmsgs;
	bool                closed;
	char                name[32];
	/* When set, sees each message first: true when it took it (it is
	 * then not kept). Answers a request as the real peer would. */
	bool (*filter)(struct fx_peer *, const struct chan_msg *);
};
struct fx_peer *fx_peer_new(int fd, const char *name);
/* Close the channel (the daemon sees EOF) and free the peer. */
void fx_peer_free(struct fx_peer *);
/* The next message, waiting up to ms; fails the test on a timeout. */
struct fx_msg *fx_peer_next(struct fx_peer *, unsigned ms);
/* The same, and it must be of this type. */
struct fx_msg *fx_peer_expect(struct fx_peer *, uint16_t type, unsigned ms);
/* The first message of this type (others before it are kept); NULL
 * after ms. */
struct fx_msg *fx_peer_take(struct fx_peer *, uint16_t type, unsigned ms);
/* A view for the codecs of wire.h / envelope.h (valid while m is). */
struct chan_msg fx_msg_view(const struct fx_msg *);
void fx_msg_free(struct fx_msg *);

#endif
