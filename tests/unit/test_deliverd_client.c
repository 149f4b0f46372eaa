/* SPDX-License-Identifier: ISC */
/* deliverd's SMTP client state machine: the state changes only through
 * client_set_state(), which takes every transition of the table (the
 * conversation of RFC 5321 3 and 4.1.4, STARTTLS of RFC 3207 4.2,
 * connection reuse) and refuses every other one by dropping the
 * connection, its open recipients deferred with a local 4.3.0 error. */
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "envelope.h"
#include "event.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "../../deliverd/client.h"

/* main.c is not in the archive: no queued to send results to. */
struct channel *
deliverd_queued(void)
{
	return NULL;
}

/* The transitions the conversation has, written out independently of
 * the table in client.c. */
static const struct {
	enum cstate from, to;
} legal[] = {
	{ C_CONNECT, C_CONNECT },       /* the next address */
	{ C_CONNECT, C_GREETING },
	{ C_GREETING, C_CONNECT }, { C_GREETING, C_EHLO }, { C_GREETING, C_QUIT },
	{ C_EHLO, C_CONNECT }, { C_EHLO, C_HELO }, { C_EHLO, C_STARTTLS },
	{ C_EHLO, C_TXN }, { C_EHLO, C_IDLE }, { C_EHLO, C_QUIT },
	{ C_HELO, C_CONNECT }, { C_HELO, C_STARTTLS }, { C_HELO, C_TXN },
	{ C_HELO, C_IDLE }, { C_HELO, C_QUIT },
	{ C_STARTTLS, C_CONNECT }, { C_STARTTLS, C_TLS },
	{ C_STARTTLS, C_TXN }, { C_STARTTLS, C_IDLE }, { C_STARTTLS, C_QUIT },
	{ C_TLS, C_CONNECT }, { C_TLS, C_EHLO },
	{ C_RSET, C_TXN }, { C_RSET, C_IDLE }, { C_RSET, C_QUIT },
	{ C_TXN, C_BODY }, { C_TXN, C_DATAEND }, { C_TXN, C_IDLE },
	{ C_TXN, C_QUIT },
	{ C_BODY, C_DATAEND },
	{ C_DATAEND, C_TXN },           /* a follow-up transaction */
	{ C_DATAEND, C_IDLE }, { C_DATAEND, C_QUIT },
	{ C_IDLE, C_RSET }, { C_IDLE, C_QUIT },
};

static bool
is_legal(enum cstate from, enum cstate to)
{
	size_t i;

	for (i = 0; i < nitems(legal); i++)
		if (legal[i].from == from && legal[i].to == to)
			return true;
	return false;
}

static int lfd = -1;
static struct sockaddr_in laddr;

static void
setup(void)
{
	socklen_t len = sizeof(laddr);

	log_init("deliverd", 1, 0);
	ev_init();
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(lfd, -1);
	memset(&laddr, 0, sizeof(laddr));
	laddr.sin_family = AF_INET;
	laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&laddr, sizeof(laddr)), 0);
	ck_assert_int_eq(listen(lfd, 256), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&laddr, &len), 0);
}

static void
teardown(void)
{
	close(lfd);
}

static struct job *
new_job(void)
{
	struct job *j = xcalloc(1, sizeof(*j));

	env_init(&j->env);
	strlcpy(j->env.id, "01TESTCLIENTSTATE0000000000", sizeof(j->env.id));
	j->env.sender = xstrdup("s@example.org");
	env_add_rcpt(&j->env, "a@example.test");
	env_add_rcpt(&j->env, "b@example.test");
	j->rcpt = xcalloc(j->env.nrcpt, sizeof(*j->rcpt));
	j->rcpt[0].state = j->rcpt[1].state = RCPT_INFLIGHT;
	j->npending = j->env.nrcpt;
	j->fd = -1;
	strlcpy(j->domain, "example.test", sizeof(j->domain));
	return j;
}

/* A job the client let go of without finishing it. */
static void
free_job(struct job *j)
{
	size_t i;

	/* What job_rcpt_result() recorded. */
	for (i = 0; i < j->env.nrcpt; i++) {
		free(j->rcpt[i].diag);
		free(j->rcpt[i].remote);
	}
	env_clear(&j->env);
	free(j->rcpt);
	free(j);
}

/* A client of a fresh job, connecting to the listener (never read). */
static struct client *
new_client(struct job **jp)
{
	struct route *r = xcalloc(1, sizeof(*r));
	struct job *j = new_job();

	r->ndest = 1;
	strlcpy(r->dest[0].host, "mx.example.test", sizeof(r->dest[0].host));
	memcpy(&r->dest[0].ss, &laddr, sizeof(laddr));
	r->dest[0].sslen = sizeof(laddr);
	r->dest[0].port = ntohs(laddr.sin_port);
	*jp = j;
	j->client = client_start(j, r);
	ck_assert_ptr_nonnull(j->client);
	ck_assert_int_eq(j->client->state, C_CONNECT);
	return j->client;
}

/* Take c to state to along allowed transitions (shortest path). */
static void
walk(struct client *c, enum cstate to)
{
	enum cstate prev[C_NSTATES], q[C_NSTATES], path[C_NSTATES];
	bool seen[C_NSTATES] = { false };
	size_t head = 0, tail = 0, n = 0;
	int s, t;

	q[tail++] = c->state;
	seen[c->state] = true;
	while (head < tail) {
		s = q[head++];
		for (t = 0; t < C_NSTATES; t++)
			if (!seen[t] && is_legal(s, t)) {
				seen[t] = true;
				prev[t] = s;
				q[tail++] = t;
			}
	}
	ck_assert_msg(seen[to], "%s unreachable", client_state_name(to));
	for (t = to; t != (int)c->state; t = prev[t])
		path[n++] = t;
	while (n > 0)
		ck_assert_int_eq(client_set_state(c, path[--n]), 0);
	ck_assert_int_eq(c->state, to);
}

START_TEST(table_matches)
{
	int from, to;

	for (from = 0; from < C_NSTATES; from++)
		for (to = 0; to < C_NSTATES; to++)
			ck_assert_msg(client_transition_ok(from, to) ==
			    is_legal(from, to), "%s to %s",
			    client_state_name(from), client_state_name(to));
	/* Out of range is never allowed. */
	ck_assert(!client_transition_ok(C_NSTATES, C_CONNECT));
	ck_assert(!client_transition_ok(C_CONNECT, C_NSTATES));
}
END_TEST

START_TEST(allowed_accepted)
{
	struct client *c;
	struct job *j;
	size_t i;

	for (i = 0; i < nitems(legal); i++) {
		c = new_client(&j);
		walk(c, legal[i].from);
		ck_assert_uint_eq(client_count(), 1);
		ck_assert_msg(client_set_state(c, legal[i].to) == 0, "%s to %s",
		    client_state_name(legal[i].from),
		    client_state_name(legal[i].to));
		ck_assert_int_eq(c->state, legal[i].to);
		ck_assert_uint_eq(client_count(), 1);
		ck_assert_uint_eq(j->npending, 2);
		client_abort(c);
		ck_assert_uint_eq(client_count(), 0);
		free_job(j);
	}
}
END_TEST

START_TEST(illegal_refused)
{
	char want[256];
	const char *log;
	struct client *c;
	struct job *j;
	int from, to, nillegal = 0;

	for (from = 0; from < C_NSTATES; from++)
		for (to = 0; to < C_NSTATES; to++) {
			if (is_legal(from, to))
				continue;
			nillegal++;
			c = new_client(&j);
			walk(c, from);
			fx_stderr_capture();
			/* The client and its job are gone after this. */
			ck_assert_int_eq(client_set_state(c, to), -1);
			log = fx_stderr_captured();
			ck_assert_uint_eq(client_count(), 0);
			ck_assert_uint_eq(client_detached(), 0);
			snprintf(want, sizeof(want), "state %s to %s is not "
			    "allowed", client_state_name(from),
			    client_state_name(to));
			ck_assert_msg(strstr(log, want) != NULL, "%s", log);
			/* Both recipients deferred, with a local error. */
			snprintf(want, sizeof(want), "status=deferred (4.3.0 "
			    "local error in the SMTP client (state %s to %s))",
			    client_state_name(from), client_state_name(to));
			ck_assert_msg(strstr(log, want) != NULL, "%s", log);
			ck_assert_msg(strstr(strstr(log, want) + 1, want) != NULL,
			    "%s", log);
			ck_assert_msg(strstr(log, "to=<a@example.test>") != NULL &&
			    strstr(log, "to=<b@example.test>") != NULL, "%s", log);
		}
	ck_assert_int_eq(nillegal, C_NSTATES * C_NSTATES - (int)nitems(legal));
}
END_TEST

/* QUIT is the end: no change out of it, and trying one drops the
 * connection like any other refused change. */
START_TEST(quit_is_final)
{
	struct client *c;
	struct job *j;
	int to;

	for (to = 0; to < C_NSTATES; to++)
		ck_assert(!client_transition_ok(C_QUIT, to));
	c = new_client(&j);
	walk(c, C_QUIT);
	fx_stderr_capture();
	ck_assert_int_eq(client_set_state(c, C_CONNECT), -1);
	ck_assert_ptr_nonnull(strstr(fx_stderr_captured(), "status=deferred (4.3.0"));
	ck_assert_uint_eq(client_count(), 0);
}
END_TEST

/* A message file: ASCII header, 8-bit UTF-8 body. */
static int
message_fd(uint64_t *size)
{
	static const char msg[] =
	    "From: s@example.org\r\nTo: a@example.test\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "gr\xc3\xbc\xc3\x9f dich\r\n";
	FILE *f = tmpfile();
	int fd;

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(msg, 1, sizeof(msg) - 1, f), sizeof(msg) - 1);
	ck_assert_int_eq(fflush(f), 0);
	fd = dup(fileno(f));
	fclose(f);
	*size = sizeof(msg) - 1;
	return fd;
}

/* A job with SMTPUTF8 and an 8-bit body, on a server with neither
 * extension: txn_begin() scans the header and plans the 7bit
 * conversion, then sends MAIL. */
static struct client *
scanning_client(struct job **jp)
{
	struct client *c = new_client(jp);
	struct job *j = *jp;

	j->fd = message_fd(&j->size);
	j->env.smtputf8 = 1;
	j->env.body = xstrdup("8BITMIME");
	walk(c, C_EHLO);
	memset(&c->caps, 0, sizeof(c->caps));
	ck_assert_int_eq(txn_begin(c), 0);
	ck_assert_int_eq(c->state, C_TXN);
	ck_assert(c->convert);
	ck_assert_uint_eq(c->nsend, 2);
	return c;
}

/* RFC 5321 4.5.3.1.10: recipients over the server's limit go in a
 * follow-up transaction of the same job, on the same connection. Its
 * file did not change: the scans of the first transaction serve it. */
START_TEST(followup_reuses_scans)
{
	struct txn_scans before;
	struct client *c;
	struct job *j;
	uint64_t planned;

	before = txn_scans;
	c = scanning_client(&j);
	ck_assert_uint_eq(txn_scans.header, before.header + 1);
	ck_assert_uint_eq(txn_scans.mime7, before.mime7 + 1);
	planned = c->m7plan.size;
	ck_assert_uint_gt(planned, j->size);

	/* a accepted, b refused with 452 4.5.3; the body went, the final
	 * dot got 250: a delivered, b due in a follow-up. */
	c->accepted[0] = true;
	c->naccepted = 1;
	c->nlimited = 1;
	strlcpy(c->limit_diag, "452 4.5.3 too many recipients",
	    sizeof(c->limit_diag));
	ck_assert_int_eq(client_set_state(c, C_DATAEND), 0);
	c->reply.code = 250;
	strlcpy(c->reply.text, "250 2.0.0 ok", sizeof(c->reply.text));
	ck_assert_int_eq(txn_data_reply(c, false), 0);

	ck_assert_int_eq(c->state, C_TXN);
	ck_assert(c->followup);
	ck_assert_uint_eq(c->nsend, 1);
	ck_assert_uint_eq(j->npending, 1);
	/* The same verdict and plan, no new read of the file. */
	ck_assert(c->convert);
	ck_assert_uint_eq(c->m7plan.size, planned);
	ck_assert_uint_eq(txn_scans.header, before.header + 1);
	ck_assert_uint_eq(txn_scans.mime7, before.mime7 + 1);
	client_abort(c);
	close(j->fd);
	free_job(j);

	/* Another job scans its own file. */
	c = scanning_client(&j);
	ck_assert_uint_eq(txn_scans.header, before.header + 2);
	ck_assert_uint_eq(txn_scans.mime7, before.mime7 + 2);
	client_abort(c);
	close(j->fd);
	free_job(j);
}
END_TEST

static Suite *
client_suite(void)
{
	Suite *s = suite_create("deliverd_client");
	TCase *tc = tcase_create("states");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, table_matches);
	tcase_add_test(tc, allowed_accepted);
	tcase_add_test(tc, illegal_refused);
	tcase_add_test(tc, quit_is_final);
	suite_add_tcase(s, tc);
	tc = tcase_create("txn");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, followup_reuses_scans);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(client_suite);
