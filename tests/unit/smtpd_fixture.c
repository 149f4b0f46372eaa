/* SPDX-License-Identifier: ISC */
/* The smtpd session test bench (see smtpd_fixture.h). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "channel.h"
#include "config.h"
#include "envelope.h"
#include "event.h"
#include "lineio.h"
#include "log.h"
#include "proto.h"
#include "smtp.h"
#include "util.h"
#include "wire.h"
#include "daemon.h"
#include "fixture.h"
#include "smtpd_fixture.h"
#include "../../smtpd/hooks.h"

static const char *certdir;
struct lineio tc;                 /* the client's TLS side */
static SSL_CTX *cctx;
char tbuf[65536];
char fixture_cert[128], fixture_key[128];

static const char conf_fmt[] =
    "hostname \"mx.test\"\n"
    "spool \"/tmp\"\n"
    "listen on 127.0.0.1 port 2525 {\n"
    "  max-message-size 10000\n"
    "  max-recipients 3\n"
    "}\n"
    "listen on 127.0.0.1 port 2526 {\n"
    "  timeout command 1s\n"
    "  max-errors 3\n"
    "}\n"
    "listen on 127.0.0.1 port 2527 {\n"
    "  tls certificate \"%s\" key \"%s\"\n"
    "  timeout command 2s\n"
    "}\n"
    "listen on 127.0.0.1 port 2528 {\n"
    "  tls certificate \"%s\" key \"%s\" required\n"
    "}\n"
    "listen on 127.0.0.1 port 2529 {\n"
    "  tls certificate \"%s\" key \"%s\" implicit\n"
    "}\n"
    "listen on 127.0.0.1 port 2530 {\n"
    "  max-connections-per-ip 2\n"
    "}\n"
    "relay from { 127.0.0.0/8 }\n"
    "domain \"accept.test\" { accept }\n";

struct config *cfg;
struct cfg_listen *lst, *lst_fast, *lst_tls, *lst_req, *lst_imp, *lst_ip;
struct session *S;
int cli = -1;
bool server_closed;
char rbuf[65536];
static struct ev_timer *break_timer;

struct channel *fakeq;
unsigned n_create, n_commit, n_rollback, n_closed;
uint32_t create_id, commit_id;
struct envelope committed;
char rolled_back[ULID_LEN + 1];

const char MSGID[] = "01JABCDEFGHJKMNPQRSTVWXYZ0";

static void
fakeq_msg(struct channel *c, struct chan_msg *m, void *arg)
{
	struct msgreader mr;

	(void)c;
	(void)arg;
	mr_init(&mr, m);
	switch (m->type) {
	case Q_CREATE:
		ck_assert_uint_eq(m->len, 0);
		ck_assert_uint_ne(m->peerid, 0);
		create_id = m->peerid;
		n_create++;
		break;
	case Q_COMMIT:
		ck_assert_uint_ne(m->peerid, 0);
		commit_id = m->peerid;
		env_clear(&committed);
		ck_assert_int_eq(env_decode(&committed, &mr), 0);
		n_commit++;
		break;
	case Q_ROLLBACK:
		strlcpy(rolled_back, mr_str(&mr), sizeof(rolled_back));
		ck_assert(mr_done(&mr));
		n_rollback++;
		break;
	default:
		ck_abort_msg("queued got %s", msg_name(m->type));
	}
}

static void
fakeq_closed(struct channel *c, void *arg)
{
	(void)arg;
	if (c == fakeq)
		fakeq = NULL;
}

void
fakeq_connect(void)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	qc_set_channel(sv[0]);
	fakeq = chan_new(sv[1], "fakeq", fakeq_msg, fakeq_closed, NULL);
}

/* server.c is not linked: the session tells us it is gone. */
void
server_session_closed(const struct cfg_listen *l)
{
	(void)l;
	n_closed++;
	S = NULL;
}

static void
do_break(void *arg)
{
	(void)arg;
	ev_break();
}

void
run_ms(uint64_t ms)
{
	ev_timer_start(break_timer, ms);
	ev_run();
}

void
pump(void)
{
	run_ms(30);
}

/* What the server wrote since the last call: wait for want bytes (a
 * little longer for anything unexpected after them), or a moment when
 * nothing is expected. */
const char *
collect(size_t want)
{
	uint64_t deadline = mono_ms() + 5000;
	size_t off = 0;
	ssize_t n;

	for (;;) {
		run_ms(want && off < want ? 5 : 30);
		while (off < sizeof(rbuf) - 1) {
			n = read(cli, rbuf + off, sizeof(rbuf) - 1 - off);
			if (n <= 0) {
				/* A close with unread input is a reset. */
				if (n == 0 || (errno != EAGAIN && errno != EINTR))
					server_closed = true;
				break;
			}
			off += (size_t)n;
		}
		if (off >= want || server_closed || mono_ms() > deadline)
			break;
	}
	if (want && off >= want && !server_closed) {
		run_ms(5);
		n = read(cli, rbuf + off, sizeof(rbuf) - 1 - off);
		if (n > 0)
			off += (size_t)n;
	}
	rbuf[off] = '\0';
	return rbuf;
}

const char *
replies(void)
{
	return collect(0);
}

void
send_bytes(const void *p, size_t n)
{
	ck_assert_int_eq(write_all(cli, p, n), 0);
}

void
send_str(const char *s)
{
	send_bytes(s, strlen(s));
}

const char *
talk(const char *s)
{
	send_str(s);
	return replies();
}

void
q_create_ok(uint32_t id, int fd, const char *msgid)
{
	struct msgbuf mb;

	mb_init(&mb);
	mb_str(&mb, msgid);
	ck_assert_int_eq(chan_send_mb(fakeq, Q_CREATE_OK, id, fd, &mb), 0);
	mb_free(&mb);
	close(fd);                    /* the channel sends a duplicate */
}

void
q_fail(uint16_t type, uint32_t id, uint32_t code, const char *text)
{
	struct msgbuf mb;

	mb_init(&mb);
	mb_u32(&mb, code);
	mb_str(&mb, text);
	ck_assert_int_eq(chan_send_mb(fakeq, type, id, -1, &mb), 0);
	mb_free(&mb);
}

void
q_commit_ok(uint32_t id, const char *msgid)
{
	struct msgbuf mb;

	mb_init(&mb);
	mb_str(&mb, msgid);
	ck_assert_int_eq(chan_send_mb(fakeq, Q_COMMIT_OK, id, -1, &mb), 0);
	mb_free(&mb);
}

struct session *
connect_raw(const char *ip, struct cfg_listen *l)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(40000) };
	int sv[2];

	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fd_nonblock(sv[0]);
	fd_nonblock(sv[1]);
	cli = sv[1];
	server_closed = false;
	S = session_new(sv[0], (struct sockaddr *)&sin, sizeof(sin), l);
	return S;
}

struct session *
connect_from(const char *ip, struct cfg_listen *l)
{
	struct session *s = connect_raw(ip, l);

	expect_out("220 mx.test ESMTP Empath\r\n");
	return s;
}

/* ---- the fake master ---- */

unsigned n_lookup;
uint64_t lookup_cookie;
uint32_t lookup_uid;
static struct { uid_t uid; char name[40]; } users[8];
static size_t nusers;

void
local_user(uid_t uid, const char *name)
{
	ck_assert_uint_lt(nusers, nitems(users));
	users[nusers].uid = uid;
	strlcpy(users[nusers].name, name, sizeof(users[0].name));
	nusers++;
}

/* lib/daemon.c's, which is not linked: the lookups are kept here. */
int
daemon_master_send(uint16_t type, uint32_t peerid, const struct msgbuf *mb)
{
	struct chan_msg m = { .type = type, .peerid = peerid, .fd = -1,
	    .data = mb->data, .len = mb->len };
	struct wire_user_lookup w;

	ck_assert_uint_eq(type, M_USER_LOOKUP);
	ck_assert_int_eq(wire_user_lookup_decode(&m, &w), 0);
	lookup_cookie = w.cookie;
	lookup_uid = w.uid;
	n_lookup++;
	return 0;
}

void
master_answer(uint64_t cookie, uint32_t uid, const char *name)
{
	struct wire_user_name w;
	struct msgbuf mb;
	struct chan_msg m;

	memset(&w, 0, sizeof(w));
	w.cookie = cookie;
	w.uid = uid;
	strlcpy(w.name, name, sizeof(w.name));
	mb_init(&mb);
	ck_assert_int_eq(wire_user_name_encode(&mb, &w), 0);
	memset(&m, 0, sizeof(m));
	m.type = M_USER_NAME;
	m.fd = -1;
	m.data = mb.data;
	m.len = mb.len;
	lu_master_msg(&m);
	mb_free(&mb);
}

struct session *
connect_local_raw(uid_t uid, struct cfg_listen *l)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fd_nonblock(sv[0]);
	fd_nonblock(sv[1]);
	cli = sv[1];
	server_closed = false;
	S = session_new_local(sv[0], uid, l);
	return S;
}

struct session *
connect_local(uid_t uid, struct cfg_listen *l)
{
	unsigned before = n_lookup;
	const char *name = "";
	struct session *s;
	size_t i;

	s = connect_local_raw(uid, l);
	ck_assert_uint_eq(n_lookup, before + 1);
	ck_assert_uint_eq(lookup_uid, uid);
	ck_assert(lookup_cookie == s->id);
	for (i = 0; i < nusers; i++)
		if (users[i].uid == uid)
			name = users[i].name;
	master_answer(lookup_cookie, (uint32_t)uid, name);
	expect_out("220 mx.test ESMTP Empath\r\n");
	return s;
}

static void
make_cert(void)
{
	certdir = fx_tmpdir("smtpd-test");
	fx_make_cert(certdir, "mx.test", NULL, fixture_cert,
	    sizeof(fixture_cert), fixture_key, sizeof(fixture_key));
}

static void
setup_common(bool tls)
{
	char *text;

	ev_init();
	log_init("test", 1, 0);
	if (tls)
		make_cert();
	else {
		/* Paths that are never opened: no TLS in these tests. */
		strlcpy(fixture_cert, "/nonexistent/cert.pem", sizeof(fixture_cert));
		strlcpy(fixture_key, "/nonexistent/key.pem", sizeof(fixture_key));
	}
	ck_assert_int_gt(xasprintf(&text, conf_fmt, fixture_cert, fixture_key,
	    fixture_cert, fixture_key, fixture_cert, fixture_key), 0);
	cfg = config_parse("test", text, strlen(text), NULL);
	free(text);
	ck_assert_ptr_nonnull(cfg);
	session_init(cfg);
	if (tls)
		ck_assert_int_eq(starttls_configure(cfg), 0);
	lst = TAILQ_FIRST(&cfg->listeners);
	lst_fast = TAILQ_NEXT(lst, entry);
	lst_tls = TAILQ_NEXT(lst_fast, entry);
	lst_req = TAILQ_NEXT(lst_tls, entry);
	lst_imp = TAILQ_NEXT(lst_req, entry);
	lst_ip = TAILQ_NEXT(lst_imp, entry);
	ck_assert_ptr_nonnull(lst_ip);
	break_timer = ev_timer_new(do_break, NULL);
	env_init(&committed);
	fakeq_connect();
	S = connect_from("192.0.2.7", lst);
}

void
fixture_setup(void)
{
	setup_common(false);
}

void
fixture_setup_tls(void)
{
	setup_common(true);
}

void
fixture_teardown(void)
{
	lio_free(&tc);
	if (cctx)
		SSL_CTX_free(cctx);
	cctx = NULL;
	session_abort_all();
	if (cli != -1)
		close(cli);
	chan_free(fakeq);
	pump();
	ev_timer_free(break_timer);
	env_clear(&committed);
	starttls_free();
	hooks_clear();
	hplug_unload();
	config_free(cfg);
	if (certdir != NULL) {
		ck_assert_int_eq(fx_rmtree(certdir), 0);
		certdir = NULL;
	}
}

int
incoming_file(char *path, size_t len)
{
	int fd;

	strlcpy(path, "/tmp/test_smtp.XXXXXX", len);
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	return fd;
}

char *
slurp(const char *path)
{
	static char buf[512 * 1024];
	int fd = open(path, O_RDONLY);
	size_t off = 0;
	ssize_t n;

	ck_assert_int_ne(fd, -1);
	while ((n = read(fd, buf + off, sizeof(buf) - 1 - off)) > 0)
		off += (size_t)n;
	ck_assert_int_eq(n, 0);
	buf[off] = '\0';
	close(fd);
	unlink(path);
	return buf;
}

void
start_transaction(void)
{
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<sender@client.example>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("DATA\r\n", "");
	ck_assert_uint_eq(n_create, 1);
}

void
start_data(char *path, size_t len)
{
	start_transaction();
	q_create_ok(create_id, incoming_file(path, len), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
}

/* The client's side of TLS. */

/* Handshake as the client on cli; the server runs in between. */
void
client_handshake(void)
{
	char err[256] = "";
	uint64_t deadline = mono_ms() + 5000;
	int r;

	lio_free(&tc);                /* a client from an earlier session */
	if (cctx)
		SSL_CTX_free(cctx);
	cctx = tls_client_ctx(false, err, sizeof(err));
	ck_assert_ptr_nonnull(cctx);
	lio_init(&tc, cli);
	ck_assert_int_eq(lio_tls_start(&tc, cctx, false, "mx.test"), 0);
	while ((r = lio_tls_handshake(&tc, err, sizeof(err))) == 0 &&
	    mono_ms() < deadline)
		run_ms(2);
	ck_assert_msg(r == 1, "client handshake: %d %s", r, err);
}

void
tls_send(const char *s, size_t n)
{
	uint64_t deadline = mono_ms() + 10000;
	int r;

	lio_write(&tc, s, n);
	while ((r = lio_flush(&tc)) == 0 && mono_ms() < deadline)
		run_ms(1);
	ck_assert_int_eq(r, 1);
}

/* What the server sent through TLS: want bytes, or a moment's worth. */
const char *
tls_collect(size_t want)
{
	uint64_t deadline = mono_ms() + 5000;
	size_t off = 0, n;
	char *p;
	ssize_t r;

	for (;;) {
		run_ms(want && off < want ? 5 : 30);
		while ((r = lio_fill(&tc)) > 0)
			;
		if (r == 0)
			server_closed = true;
		n = lio_peek(&tc, &p);
		if (n > sizeof(tbuf) - 1 - off)
			n = sizeof(tbuf) - 1 - off;
		memcpy(tbuf + off, p, n);
		lio_consume(&tc, n);
		off += n;
		if ((want && off >= want) || (!want) || server_closed ||
		    mono_ms() > deadline)
			break;
	}
	tbuf[off] = '\0';
	return tbuf;
}

