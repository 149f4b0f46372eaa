/* SPDX-License-Identifier: ISC */
/* The deliverd engine fixture (see deliverd_engine.h). */
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "deliverd_engine.h"
#include "fixture.h"
#include "ulid.h"
#include "util.h"

struct fx_peer *de_queued;
uint16_t de_sink_port;
static uint32_t next_job = 1;
static const char *jobdir;
static unsigned njobfiles;

/* deliverd's main(), renamed (defined at the end of this file). */
int de_deliverd_main(int, char **);

/* A listening or bound socket on 127.0.0.1, its port in *port. */
static int
loopback_socket(int type, uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	ck_assert_int_ne(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* ---- the DNS server ---- */

static struct {
	pthread_t       thread;
	pthread_mutex_t mu;
	ldns_rr_list   *zone;
	unsigned        queries;
	int             fd, stop;       /* the socket, an eventfd */
	uint16_t        port;
	bool            running;
} dns = { .mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .stop = -1 };

void
de_dns_add(const char *text)
{
	ldns_rr *rr = NULL;

	ck_assert_msg(ldns_rr_new_frm_str(&rr, text, 300, NULL, NULL) ==
	    LDNS_STATUS_OK, "bad test record: %s", text);
	pthread_mutex_lock(&dns.mu);
	if (dns.zone == NULL)
		dns.zone = ldns_rr_list_new();
	ldns_rr_list_push_rr(dns.zone, rr);
	pthread_mutex_unlock(&dns.mu);
}

unsigned
de_dns_queries(void)
{
	unsigned n;

	pthread_mutex_lock(&dns.mu);
	n = dns.queries;
	pthread_mutex_unlock(&dns.mu);
	return n;
}

/* The answer to q from the zone; NULL for a question that is not one. */
static ldns_pkt *
dns_answer(const ldns_pkt *q)
{
	const ldns_rr_list *ql = ldns_pkt_question(q);
	const ldns_rr *qr;
	ldns_pkt *a;
	bool exists = false;
	size_t i;

	if (ldns_pkt_qr(q) || ql == NULL || ldns_rr_list_rr_count(ql) != 1)
		return NULL;
	qr = ldns_rr_list_rr(ql, 0);
	a = ldns_pkt_new();
	ldns_pkt_set_id(a, ldns_pkt_id(q));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_aa(a, true);
	ldns_pkt_set_rd(a, ldns_pkt_rd(q));
	ldns_pkt_set_ra(a, true);
	ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(qr));
	pthread_mutex_lock(&dns.mu);
	dns.queries++;
	for (i = 0; dns.zone != NULL && i < ldns_rr_list_rr_count(dns.zone);
	    i++) {
		const ldns_rr *rr = ldns_rr_list_rr(dns.zone, i);

		if (ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_owner(qr)) != 0)
			continue;
		exists = true;
		if (ldns_rr_get_type(rr) == ldns_rr_get_type(qr))
			ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, ldns_rr_clone(rr));
	}
	pthread_mutex_unlock(&dns.mu);
	ldns_pkt_set_rcode(a, exists ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN);
	return a;
}

static void *
dns_thread(void *arg)
{
	struct pollfd pfd[2] = { { dns.fd, POLLIN, 0 }, { dns.stop, POLLIN, 0 } };
	struct sockaddr_storage ss;
	uint8_t buf[4096], *wire;
	socklen_t sl;
	ldns_pkt *q, *a;
	size_t wl;
	ssize_t n;

	(void)arg;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		sl = sizeof(ss);
		n = recvfrom(dns.fd, buf, sizeof(buf), MSG_DONTWAIT,
		    (struct sockaddr *)&ss, &sl);
		if (n <= 0)
			continue;
		q = NULL;
		if (ldns_wire2pkt(&q, buf, (size_t)n) != LDNS_STATUS_OK)
			continue;
		if ((a = dns_answer(q)) != NULL) {
			if (ldns_pkt2wire(&wire, a, &wl) == LDNS_STATUS_OK) {
				(void)sendto(dns.fd, wire, wl, 0,
				    (struct sockaddr *)&ss, sl);
				free(wire);
			}
			ldns_pkt_free(a);
		}
		ldns_pkt_free(q);
	}
	return NULL;
}

static void
dns_start(void)
{
	dns.fd = loopback_socket(SOCK_DGRAM, &dns.port);
	dns.stop = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ne(dns.stop, -1);
	ck_assert_int_eq(pthread_create(&dns.thread, NULL, dns_thread, NULL), 0);
	dns.running = true;
}

static void
dns_stop(void)
{
	uint64_t one = 1;

	if (!dns.running)
		return;
	ck_assert_int_eq(write(dns.stop, &one, sizeof(one)), sizeof(one));
	pthread_join(dns.thread, NULL);
	dns.running = false;
	close(dns.fd);
	close(dns.stop);
	if (dns.zone != NULL)
		ldns_rr_list_deep_free(dns.zone);
	dns.zone = NULL;
}

/* ---- the SMTP sink ---- */

#define SINK_CONNS 32
#define SINK_MSGS  32

static struct {
	pthread_mutex_t mu;
	pthread_t       thread;
	int             fd;
	bool            running, stopping;
	struct de_sink_script script;
	struct de_sink_msg msgs[SINK_MSGS];
	size_t          nmsgs;
	unsigned        nconns;
	struct {
		pthread_t thread;
		int       fd;
	} conns[SINK_CONNS];
} sink = { .mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

struct sink_conn {
	int    fd;
	char   buf[8192];
	size_t len, off;
};

void
de_sink_script(const struct de_sink_script *s)
{
	pthread_mutex_lock(&sink.mu);
	sink.script = *s;
	pthread_mutex_unlock(&sink.mu);
}

size_t
de_sink_count(void)
{
	size_t n;

	pthread_mutex_lock(&sink.mu);
	n = sink.nmsgs;
	pthread_mutex_unlock(&sink.mu);
	return n;
}

const struct de_sink_msg *
de_sink_msg(size_t i)
{
	ck_assert_uint_lt(i, de_sink_count());
	return &sink.msgs[i];
}

unsigned
de_sink_connections(void)
{
	unsigned n;

	pthread_mutex_lock(&sink.mu);
	n = sink.nconns;
	pthread_mutex_unlock(&sink.mu);
	return n;
}

static void
sink_say(struct sink_conn *c, const char *line)
{
	char out[1024];
	int n = snprintf(out, sizeof(out), "%s\r\n", line);

	if (n > 0 && (size_t)n < sizeof(out))
		(void)send(c->fd, out, (size_t)n, MSG_NOSIGNAL);
}

/* The next line without its CRLF (LF alone is taken too); false at EOF
 * or on a line too long. */
static bool
sink_line(struct sink_conn *c, char *line, size_t max)
{
	char *nl;
	size_t n;
	ssize_t got;

	for (;;) {
		nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl != NULL) {
			n = (size_t)(nl - (c->buf + c->off));
			if (n > 0 && nl[-1] == '\r')
				n--;
			if (n >= max)
				return false;
			memcpy(line, c->buf + c->off, n);
			line[n] = '\0';
			c->off = (size_t)(nl - c->buf) + 1;
			return true;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == sizeof(c->buf))
			return false;
		got = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (got <= 0)
			return false;
		c->len += (size_t)got;
	}
}

/* The address of "RCPT TO:<addr> ...", copied to out. */
static void
path_of(const char *cmd, char *out, size_t max)
{
	const char *lt = strchr(cmd, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	size_t n = lt && gt ? (size_t)(gt - lt - 1) : 0;

	if (n >= max)
		n = max - 1;
	memcpy(out, lt ? lt + 1 : "", n);
	out[n] = '\0';
}

/* Read the data up to the final dot; false when the connection ends. */
static bool
sink_data(struct sink_conn *c, struct de_sink_msg *m)
{
	char line[2048];
	size_t cap = 4096, n;
	const char *p;

	m->data = xmalloc(cap);
	m->wire = xmalloc(cap + 1);
	m->len = m->wirelen = 0;
	for (;;) {
		if (!sink_line(c, line, sizeof(line)))
			return false;
		if (strcmp(line, ".") == 0)
			break;
		p = line[0] == '.' ? line + 1 : line;
		n = strlen(p);
		/* The wire copy is the longer: n + 1 with its dot. */
		while (m->wirelen + n + 4 > cap) {
			cap *= 2;
			m->data = xreallocarray(m->data, cap, 1);
			m->wire = xreallocarray(m->wire, cap + 1, 1);
		}
		memcpy(m->data + m->len, p, n);
		memcpy(m->data + m->len + n, "\r\n", 2);
		m->len += n + 2;
		n = strlen(line);
		memcpy(m->wire + m->wirelen, line, n);
		memcpy(m->wire + m->wirelen + n, "\r\n", 2);
		m->wirelen += n + 2;
	}
	m->data[m->len] = '\0';
	m->wire[m->wirelen] = '\0';
	return true;
}

static void
sink_session(struct sink_conn *c)
{
	struct de_sink_script s;
	struct de_sink_msg m;
	char line[2048], addr[256];
	bool mail = false;
	size_t i;

	pthread_mutex_lock(&sink.mu);
	s = sink.script;
	pthread_mutex_unlock(&sink.mu);
	memset(&m, 0, sizeof(m));
	sink_say(c, "220 sink.test ESMTP test sink");
	while (sink_line(c, line, sizeof(line))) {
		if (strncasecmp(line, "EHLO ", 5) == 0) {
			sink_say(c, "250-sink.test");
			if (!s.no_pipelining)
				sink_say(c, "250-PIPELINING");
			if (!s.no_8bitmime)
				sink_say(c, "250-8BITMIME");
			sink_say(c, "250-SIZE 10000000");
			sink_say(c, "250 ENHANCEDSTATUSCODES");
		} else if (strncasecmp(line, "HELO ", 5) == 0) {
			sink_say(c, "250 sink.test");
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
			/* A reused connection gets the script of now. */
			pthread_mutex_lock(&sink.mu);
			s = sink.script;
			pthread_mutex_unlock(&sink.mu);
			memset(&m, 0, sizeof(m));
			strlcpy(m.mail, line, sizeof(m.mail));
			mail = true;
			sink_say(c, "250 2.1.0 sender ok");
		} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
			const char *reply = NULL;

			path_of(line, addr, sizeof(addr));
			for (i = 0; i < DE_SINK_REPLIES; i++)
				if (s.rcpt[i].addr != NULL &&
				    strcasecmp(s.rcpt[i].addr, addr) == 0)
					reply = s.rcpt[i].reply;
			if (!mail)
				sink_say(c, "503 5.5.1 MAIL first");
			else if (reply != NULL)
				sink_say(c, reply);
			else if ((s.rcpt_max > 0 && m.nrcpt >= s.rcpt_max) ||
			    m.nrcpt == DE_SINK_RCPTS)
				sink_say(c, "452 4.5.3 too many recipients");
			else {
				strlcpy(m.rcpt[m.nrcpt++], addr, sizeof(m.rcpt[0]));
				sink_say(c, "250 2.1.5 recipient ok");
			}
		} else if (strcasecmp(line, "DATA") == 0) {
			if (!mail || m.nrcpt == 0) {
				sink_say(c, "554 5.5.1 no valid recipients");
				continue;
			}
			sink_say(c, "354 go ahead");
			if (!sink_data(c, &m)) {
				free(m.data);
				free(m.wire);
				return;
			}
			mail = false;
			if (s.data_reply != NULL && s.data_reply[0] != '2') {
				free(m.data);
				free(m.wire);
				sink_say(c, s.data_reply);
				continue;
			}
			pthread_mutex_lock(&sink.mu);
			if (sink.nmsgs < SINK_MSGS)
				sink.msgs[sink.nmsgs++] = m;
			else {
				free(m.data);
				free(m.wire);
			}
			pthread_mutex_unlock(&sink.mu);
			memset(&m, 0, sizeof(m));
			sink_say(c, s.data_reply != NULL ? s.data_reply :
			    "250 2.0.0 message accepted");
		} else if (strcasecmp(line, "RSET") == 0) {
			mail = false;
			memset(&m, 0, sizeof(m));
			sink_say(c, "250 2.0.0 reset");
		} else if (strcasecmp(line, "NOOP") == 0) {
			sink_say(c, "250 2.0.0 ok");
		} else if (strcasecmp(line, "QUIT") == 0) {
			sink_say(c, "221 2.0.0 bye");
			return;
		} else
			sink_say(c, "500 5.5.2 command not recognised");
	}
}

static void *
sink_conn_thread(void *arg)
{
	struct sink_conn *c = arg;

	sink_session(c);
	/* The descriptor stays open until sink_stop(): no reuse race. */
	(void)shutdown(c->fd, SHUT_RDWR);
	free(c);
	return NULL;
}

static void *
sink_accept_thread(void *arg)
{
	struct sink_conn *c;
	int fd;

	(void)arg;
	for (;;) {
		fd = accept4(sink.fd, NULL, NULL, SOCK_CLOEXEC);
		pthread_mutex_lock(&sink.mu);
		if (sink.stopping) {
			pthread_mutex_unlock(&sink.mu);
			if (fd != -1)
				close(fd);
			break;
		}
		if (fd == -1 || sink.nconns == SINK_CONNS) {
			pthread_mutex_unlock(&sink.mu);
			if (fd != -1)
				close(fd);
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		sink.conns[sink.nconns].fd = fd;
		if (pthread_create(&sink.conns[sink.nconns].thread, NULL,
		    sink_conn_thread, c) == 0)
			sink.nconns++;
		else {
			close(fd);
			free(c);
		}
		pthread_mutex_unlock(&sink.mu);
	}
	return NULL;
}

static void
sink_start(void)
{
	sink.fd = loopback_socket(SOCK_STREAM, &de_sink_port);
	ck_assert_int_eq(pthread_create(&sink.thread, NULL, sink_accept_thread,
	    NULL), 0);
	sink.running = true;
}

static void
sink_stop(void)
{
	unsigned i, n;

	if (!sink.running)
		return;
	pthread_mutex_lock(&sink.mu);
	sink.stopping = true;
	n = sink.nconns;
	pthread_mutex_unlock(&sink.mu);
	/* Wakes accept() and every session's recv(). */
	(void)shutdown(sink.fd, SHUT_RDWR);
	pthread_join(sink.thread, NULL);
	for (i = 0; i < n; i++) {
		(void)shutdown(sink.conns[i].fd, SHUT_RDWR);
		pthread_join(sink.conns[i].thread, NULL);
		close(sink.conns[i].fd);
	}
	close(sink.fd);
	sink.running = false;
	for (i = 0; i < sink.nmsgs; i++) {
		free(sink.msgs[i].data);
		free(sink.msgs[i].wire);
	}
	sink.nmsgs = 0;
}

/* ---- set-up ---- */

void
de_setup_with(const char *extra)
{
	char text[4096];
	int n;

	jobdir = fx_tmpdir("jobs");
	dns_start();
	sink_start();
	n = snprintf(text, sizeof(text),
	    "hostname \"deliverd.test\"\n"
	    "resolver \"127.0.0.1\" port %u { timeout 5s attempts 2 "
	    "cache-min-ttl 0 }\n"
	    "delivery { mx-port %u  mx-allow { 127.0.0.0/8 } }\n"
	    "log { target stderr  format text  level err }\n"
	    "%s\n", (unsigned)dns.port, (unsigned)de_sink_port,
	    extra != NULL ? extra : "");
	ck_assert(n > 0 && (size_t)n < sizeof(text));
	fx_engine_boot(de_deliverd_main, "deliverd", text);
	de_queued = fx_peer_new(fx_engine_peer(PROC_QUEUED), "fake-queued");
	fx_engine_start();
	ck_assert_uint_eq(fx_sandbox_entered, 1);
}

void
de_setup(void)
{
	de_setup_with(NULL);
}

void
de_teardown(void)
{
	fx_peer_free(de_queued);
	de_queued = NULL;
	ck_assert_int_eq(fx_engine_stop(FX_WAIT_MS), 0);
	sink_stop();
	dns_stop();
}

/* ---- queued ---- */

uint32_t
de_job(const char *sender, const char *const *rcpts, const char *text,
    const char *body)
{
	return de_job_with(sender, rcpts, text, body, NULL);
}

uint32_t
de_job_with(const char *sender, const char *const *rcpts, const char *text,
    const char *body, const struct de_job_extra *x)
{
	char path[PATH_MAX];
	struct envelope env;
	struct msgbuf mb;
	uint32_t id = next_job++;
	size_t i;
	int fd;

	ck_assert_uint_lt((size_t)snprintf(path, sizeof(path), "%s/msg%u",
	    jobdir, njobfiles++), sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ne(fd, -1);
	env_init(&env);
	if (x != NULL && x->id != NULL)
		strlcpy(env.id, x->id, sizeof(env.id));
	else
		ulid_new(env.id);
	env.sender = xstrdup(sender);
	env.helo = xstrdup("client.test");
	env.client_addr = xstrdup("192.0.2.1");
	env.client_name = xstrdup("client.test");
	env.body = body != NULL ? xstrdup(body) : NULL;
	env.size = strlen(text);
	env.created = wall_s();
	for (i = 0; rcpts[i] != NULL; i++) {
		struct env_rcpt *r = env_add_rcpt(&env, rcpts[i]);

		r->id = DE_RCPT_ID(i);
		r->attempts = x != NULL ? x->attempts : 0;
	}
	if (x != NULL && x->meta != NULL)
		env.meta = xstrdup(x->meta);
	if (x != NULL && x->headers != NULL)
		env.headers = xstrdup(x->headers);
	mb_init(&mb);
	env_encode(&env, &mb);
	ck_assert(!mb.err);
	ck_assert_int_eq(chan_send_mb(de_queued->ch, D_JOB, id, fd, &mb), 0);
	mb_free(&mb);
	env_clear(&env);
	close(fd);
	return id;
}

void
de_result(uint32_t job, struct de_result *res, unsigned ms)
{
	struct chan_msg v;

	res->msg = fx_peer_expect(de_queued, D_RESULT, ms);
	v = fx_msg_view(res->msg);
	ck_assert_uint_eq(res->msg->peerid, job);
	ck_assert_int_eq(wire_result_decode(&v, &res->r), 0);
}

void
de_result_free(struct de_result *res)
{
	wire_result_free(&res->r);
	fx_msg_free(res->msg);
	res->msg = NULL;
}

const struct wire_result_rcpt *
de_rcpt(const struct de_result *res, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < res->r.n; i++)
		if (res->r.r[i].id == id)
			return &res->r.r[i];
	ck_abort_msg("no result for recipient %llu", (unsigned long long)id);
	return NULL;
}

/* ---- deliverd itself ----
 * Its main.c, last in this file so that nothing above can reach its
 * statics, with main renamed and the system call filter left out. */
#include "sandbox.h"

static void
de_no_sandbox(enum proc_id self)
{
	ck_assert_int_eq(self, PROC_DELIVERD);
	fx_sandbox_entered++;
}

#define sandbox_enter(self) de_no_sandbox(self)
#define main de_deliverd_main
#include "../../deliverd/main.c"
#undef main
#undef sandbox_enter
