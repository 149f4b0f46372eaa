/* SPDX-License-Identifier: ISC */
/* The engine fixtures' daemon glue, loop and fake peers (see
 * engine_fixture.h). */
#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "engine_fixture.h"
#include "event.h"
#include "fixture.h"
#include "log.h"

static const struct daemon_ops *ops;
static struct config *cfg;
static struct ev_timer *tick;
static jmp_buf exit_jb;
static bool exit_armed;
static int exit_status;
unsigned fx_sandbox_entered;
struct fx_peer *fx_master;
static struct channel *master_end;     /* the daemon's end */

/* ---- lib/daemon.c's part ---- */

int
daemon_main(int argc, char **argv, const struct daemon_ops *o)
{
	(void)argc;
	(void)argv;
	ops = o;
	return 0;
}

const struct config *
daemon_config(void)
{
	return cfg;
}

const char *
daemon_empty_dir(const struct config *c)
{
	(void)c;
	return "/";
}

void
daemon_exit(int status)
{
	if (exit_armed) {
		exit_armed = false;
		exit_status = status;
		longjmp(exit_jb, 1);
	}
	ck_abort_msg("the daemon exited (status %d) outside a stop", status);
	abort();
}

int
daemon_master_send(uint16_t type, uint32_t peerid, const struct msgbuf *mb)
{
	if (master_end == NULL)
		return -1;
	return chan_send_mb(master_end, type, peerid, -1, mb);
}

static void
master_msg(struct channel *c, struct chan_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	if (ops != NULL && ops->master_msg != NULL)
		ops->master_msg(m);
}

static void
master_closed(struct channel *c, void *arg)
{
	(void)c;
	(void)arg;
	master_end = NULL;
}

static void
config_err(const char *line)
{
	fx_collect(line);
}

static int
level_of(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcasecmp(s, "debug") == 0)
		return LOGL_DEBUG;
	if (strcasecmp(s, "info") == 0)
		return LOGL_INFO;
	if (strcasecmp(s, "warn") == 0)
		return LOGL_WARN;
	if (strcasecmp(s, "err") == 0)
		return LOGL_ERR;
	return -1;
}

void
fx_engine_boot(int (*daemon_main_fn)(int, char **), const char *name,
    const char *config_text)
{
	char arg0[64];
	char *argv[] = { arg0, NULL };
	int level, sv[2];

	/* A daemon's state lives in its statics: one engine per process. */
	ck_assert_msg(getenv("CK_FORK") == NULL ||
	    strcmp(getenv("CK_FORK"), "no") != 0,
	    "the engine tests need check's fork mode (CK_FORK=yes)");
	strlcpy(arg0, name, sizeof(arg0));
	/* As daemon_main(): a write to a closed peer is an error. */
	signal(SIGPIPE, SIG_IGN);
	ev_init();
	ops = NULL;
	ck_assert_int_eq(daemon_main_fn(1, argv), 0);
	ck_assert_msg(ops != NULL, "%s did not call daemon_main()", name);
	log_init(name, 1, 0);
	fx_reset_errs();
	cfg = config_parse("config", config_text, strlen(config_text),
	    config_err);
	ck_assert_msg(cfg != NULL, "configuration refused: %s",
	    fx_nerrs > 0 ? fx_errs[0] : "?");
	level = level_of(getenv("EMPATH_TEST_LOG"));
	log_configure(cfg->log_target, cfg->log_format,
	    level >= 0 ? level : cfg->log_level);
	if (ops->configure != NULL)
		ops->configure(cfg);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	master_end = chan_new(sv[0], "master", master_msg, master_closed, NULL);
	fx_master = fx_peer_new(sv[1], "fake-master");
}

const struct daemon_ops *
fx_engine_ops(void)
{
	return ops;
}

struct config *
fx_engine_config(void)
{
	return cfg;
}

int
fx_engine_peer(enum proc_id proc)
{
	int sv[2];

	ck_assert_ptr_nonnull(ops);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	ops->peer(proc, sv[0]);
	return sv[1];
}

void
fx_engine_start(void)
{
	const char *dir = ops->chroot_dir != NULL ? ops->chroot_dir(cfg) : NULL;

	if (dir != NULL && ops->chdir_unprivileged)
		ck_assert_msg(chdir(dir) == 0, "chdir %s", dir);
	umask(077);
	if (ops->start != NULL)
		ops->start();
}

int
fx_engine_stop(unsigned timeout_ms)
{
	if (setjmp(exit_jb) != 0)
		return exit_status;
	exit_armed = true;
	if (ops->stop != NULL)
		ops->stop();
	fx_until(false, timeout_ms);
	return -1;
}

/* ---- the loop ---- */

static void
tick_cb(void *arg)
{
	(void)arg;
	ev_break();
}

void
fx_wake(void)
{
	ev_break();
}

void
fx_turn(uint64_t deadline)
{
	uint64_t now = mono_ms();

	if (tick == NULL)
		tick = ev_timer_new(tick_cb, NULL);
	ev_timer_start(tick, now >= deadline ? 0 : deadline - now < FX_TICK_MS ?
	    deadline - now : FX_TICK_MS);
	(void)ev_run();
	ev_timer_stop(tick);
}

void
fx_run_for(unsigned ms)
{
	uint64_t deadline = mono_ms() + ms;

	while (mono_ms() < deadline)
		fx_turn(deadline);
}

/* ---- fake peers ---- */

static void
peer_msg(struct channel *ch, struct chan_msg *m, void *arg)
{
	struct fx_peer *p = arg;
	struct fx_msg *fm;

	(void)ch;
	if (m->type == MSG_HELLO)
		return;
	if (p->filter != NULL && p->filter(p, m)) {
		fx_wake();
		return;
	}
	fm = xcalloc(1, sizeof(*fm));
	fm->type = m->type;
	fm->peerid = m->peerid;
	fm->fd = m->fd;
	m->fd = -1;
	fm->len = m->len;
	fm->data = xmalloc(m->len > 0 ? m->len : 1);
	if (m->len > 0)
		memcpy(fm->data, m->data, m->len);
	TAILQ_INSERT_TAIL(&p->msgs, fm, entry);
	p->nmsgs++;
	fx_wake();
}

static void
peer_closed(struct channel *ch, void *arg)
{
	struct fx_peer *p = arg;

	(void)ch;
	p->ch = NULL;
	p->closed = true;
	fx_wake();
}

struct fx_peer *
fx_peer_new(int fd, const char *name)
{
	struct fx_peer *p = xcalloc(1, sizeof(*p));

	TAILQ_INIT(&p->msgs);
	strlcpy(p->name, name, sizeof(p->name));
	p->ch = chan_new(fd, p->name, peer_msg, peer_closed, p);
	return p;
}

void
fx_peer_free(struct fx_peer *p)
{
	struct fx_msg *m;

	if (p == NULL)
		return;
	if (p->ch != NULL)
		chan_free(p->ch);
	while ((m = TAILQ_FIRST(&p->msgs)) != NULL) {
		TAILQ_REMOVE(&p->msgs, m, entry);
		fx_msg_free(m);
	}
	free(p);
}

struct fx_msg *
fx_peer_take(struct fx_peer *p, uint16_t type, unsigned ms)
{
	uint64_t deadline = mono_ms() + ms;
	struct fx_msg *m;

	for (;;) {
		TAILQ_FOREACH(m, &p->msgs, entry)
			if (m->type == type) {
				TAILQ_REMOVE(&p->msgs, m, entry);
				p->nmsgs--;
				return m;
			}
		if (mono_ms() >= deadline || p->closed)
			return NULL;
		fx_turn(deadline);
	}
}

struct fx_msg *
fx_peer_next(struct fx_peer *p, unsigned ms)
{
	struct fx_msg *m;

	fx_until(!TAILQ_EMPTY(&p->msgs) || p->closed, ms);
	ck_assert_msg(!TAILQ_EMPTY(&p->msgs), "%s: channel closed while "
	    "waiting for a message", p->name);
	m = TAILQ_FIRST(&p->msgs);
	TAILQ_REMOVE(&p->msgs, m, entry);
	p->nmsgs--;
	return m;
}

struct fx_msg *
fx_peer_expect(struct fx_peer *p, uint16_t type, unsigned ms)
{
	struct fx_msg *m = fx_peer_next(p, ms);

	ck_assert_msg(m->type == type, "%s: got %s, expected %s", p->name,
	    msg_name(m->type), msg_name(type));
	return m;
}

struct chan_msg
fx_msg_view(const struct fx_msg *fm)
{
	struct chan_msg m = {
		.type = fm->type,
		.peerid = fm->peerid,
		.pid = 0,
		.fd = fm->fd,
		.data = fm->data,
		.len = fm->len,
	};

	return m;
}

void
fx_msg_free(struct fx_msg *m)
{
	if (m == NULL)
		return;
	if (m->fd != -1)
		close(m->fd);
	free(m->data);
	free(m);
}
