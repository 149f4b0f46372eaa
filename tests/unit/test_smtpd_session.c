/* SPDX-License-Identifier: ISC */
/* The session state machine of smtpd (session_transition() in
 * smtpd/session.c): every change between two states, allowed or not,
 * driven directly on a live session; a change the session is not fit
 * for; what a refusal looks like on the wire (421, then the end); and,
 * through the protocol, that the commands move the state as before:
 * RSET in each state, pipelined MAIL/RCPT/DATA, the commit wait,
 * BDAT chunks and LAST, refused chunks, STARTTLS. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "proto.h"
#include "util.h"
#include "smtpd_fixture.h"

static const char REFUSED[] =
    "421 4.3.0 mx.test Error: internal error, closing\r\n";

/* The table, as the state machine is meant to be (RFC 5321 §4.1.4,
 * RFC 3030 §2, RFC 3207 §4.2): row "from", one column per "to" in the
 * order C(ONNECTED) R(EADY) M(AIL) T (RCPT) D(ATA) B(DAT) X (CLOSING);
 * a letter allows, a dot forbids. */
static const char *const spec[SS_COUNT] = {
	[SS_CONNECTED] = "CR...BX",
	[SS_READY]     = "CRM..BX",
	[SS_MAIL]      = ".R.T.BX",
	[SS_RCPT]      = ".R.TDBX",
	[SS_DATA]      = ".R....X",
	[SS_BDAT]      = "CRMT..X",
	[SS_CLOSING]   = "......X",
};

/* A transaction as the session modules build one. */
static struct txn *
new_tx(size_t nrcpt, bool bdat, bool file)
{
	struct txn *tx = xcalloc(1, sizeof(*tx));

	env_init(&tx->env);
	tx->env.sender = xstrdup("s@client.example");
	for (size_t i = 0; i < nrcpt; i++)
		env_add_rcpt(&tx->env, "u@accept.test");
	tx->bdat = bdat;
	tx->fd = file ? open("/dev/null", O_WRONLY) : -1;
	if (file)
		ck_assert_int_ne(tx->fd, -1);
	return tx;
}

/* Give s what state to needs, so that only the table decides. */
static void
fit_for(struct session *s, enum sess_state to)
{
	free(s->helo);
	s->helo = xstrdup("client.example");
	s->esmtp = true;
	switch (to) {
	case SS_MAIL:
		s->tx = new_tx(0, false, false);
		break;
	case SS_DATA:
		s->tx = new_tx(1, false, true);
		break;
	case SS_BDAT:
		s->tx = new_tx(1, true, true);
		break;
	default:
		/* A transaction to see dropped (READY, CONNECTED, CLOSING). */
		s->tx = new_tx(1, false, false);
		break;
	}
}

/* What the session wrote (a refusal is sent from outside any entry
 * point here, so nothing else would flush it). */
static const char *
written(struct session *s)
{
	ck_assert_int_eq(lio_flush(&s->lio), 1);
	return replies();
}

/* End the session on cli and check that it was freed. */
static void
end_session(struct session *s)
{
	unsigned closed = n_closed;

	if (s->state != SS_CLOSING)
		ck_assert(session_transition(s, SS_CLOSING, "test over"));
	close(cli);
	cli = -1;
	pump();
	ck_assert_uint_eq(n_closed, closed + 1);
}

START_TEST(every_transition)
{
	unsigned legal = 0, refused = 0;

	end_session(S);
	for (int from = 0; from < SS_COUNT; from++)
		for (int to = 0; to < SS_COUNT; to++) {
			struct session *s = connect_from("192.0.2.7", lst);
			bool allowed = spec[from][to] != '.';
			struct txn *tx;
			bool r;

			fit_for(s, (enum sess_state)to);
			tx = s->tx;
			s->state = (enum sess_state)from;   /* the test's shortcut */
			r = session_transition(s, (enum sess_state)to, "test");
			ck_assert_msg(r == allowed, "%s -> %s: %s",
			    session_state_name(from), session_state_name(to),
			    r ? "allowed" : "refused");
			if (!allowed) {
				refused++;
				/* Refused: the client hears 421, the session
				 * closes, its transaction gone. */
				ck_assert_int_eq(s->state, SS_CLOSING);
				ck_assert_ptr_null(s->tx);
				ck_assert_str_eq(written(s),
				    from == SS_CLOSING ? "" : REFUSED);
			} else {
				legal++;
				ck_assert_int_eq(s->state, to);
				ck_assert_str_eq(written(s), "");
				if (to == SS_READY || to == SS_CONNECTED ||
				    to == SS_CLOSING)
					ck_assert_ptr_null(s->tx);
				else
					ck_assert_ptr_eq(s->tx, tx);
				/* Before HELO again: the HELO is forgotten. */
				if (to == SS_CONNECTED) {
					ck_assert_ptr_null(s->helo);
					ck_assert(!s->esmtp);
				} else
					ck_assert_ptr_nonnull(s->helo);
			}
			end_session(s);
		}
	ck_assert_uint_eq(legal + refused, SS_COUNT * SS_COUNT);
	ck_assert_uint_eq(legal, 26);
}
END_TEST

/* A change the table allows is still refused when the session is not
 * fit for the state it goes to. */
START_TEST(unfit_sessions_refused)
{
	static const struct {
		enum sess_state from, to;
		size_t nrcpt;
		bool tx, bdat, file, helo;
	} cases[] = {
		{ SS_CONNECTED, SS_READY, 0, false, false, false, false },
		{ SS_READY, SS_MAIL, 0, false, false, false, true },
		{ SS_READY, SS_MAIL, 1, true, false, false, true },
		{ SS_MAIL, SS_RCPT, 0, true, false, false, true },
		{ SS_RCPT, SS_DATA, 1, true, false, false, true },  /* no file */
		{ SS_RCPT, SS_DATA, 1, true, true, true, true },    /* BDAT's */
		{ SS_RCPT, SS_BDAT, 0, false, false, false, true }, /* nothing */
		{ SS_RCPT, SS_BDAT, 1, true, false, true, true },   /* DATA's */
		{ SS_BDAT, SS_RCPT, 0, false, false, false, true },
	};

	end_session(S);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct session *s = connect_from("192.0.2.7", lst);

		if (cases[i].helo)
			s->helo = xstrdup("client.example");
		if (cases[i].tx)
			s->tx = new_tx(cases[i].nrcpt, cases[i].bdat,
			    cases[i].file);
		s->state = cases[i].from;
		ck_assert_msg(!session_transition(s, cases[i].to, "test"),
		    "case %zu allowed", i);
		ck_assert_int_eq(s->state, SS_CLOSING);
		ck_assert_ptr_null(s->tx);
		ck_assert_str_eq(written(s), REFUSED);
		end_session(s);
	}
	/* Out of range. */
	S = connect_from("192.0.2.7", lst);
	ck_assert(!session_transition(S, SS_COUNT, "test"));
	ck_assert_int_eq(S->state, SS_CLOSING);
	/* A chunk being discarded needs no transaction. */
	end_session(S);
	S = connect_from("192.0.2.7", lst);
	S->bdat_reply = xstrdup("503 5.5.1 Error: need MAIL command");
	ck_assert(session_transition(S, SS_BDAT, "test"));
	ck_assert(session_transition(S, SS_CONNECTED, "test"));
}
END_TEST

/* On the wire: the client hears 421 and nothing more, and what it sends
 * next is not executed. */
START_TEST(refusal_closes_with_421)
{
	talk("EHLO client.example\r\n");
	ck_assert(!session_transition(S, SS_DATA, "test"));
	expect("NOOP\r\n", REFUSED);
	ck_assert(server_closed);
	ck_assert_uint_eq(n_closed, 1);
}
END_TEST

START_TEST(rset_in_each_state)
{
	char path[64];
	const char *file;

	/* CONNECTED: still no HELO after it. */
	expect("RSET\r\n", "250 2.0.0 Ok\r\n");
	ck_assert_int_eq(S->state, SS_CONNECTED);
	expect("MAIL FROM:<a@b.example>\r\n",
	    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	/* READY */
	talk("EHLO client.example\r\n");
	ck_assert_int_eq(S->state, SS_READY);
	expect("RSET\r\n", "250 2.0.0 Ok\r\n");
	ck_assert_int_eq(S->state, SS_READY);
	ck_assert_ptr_nonnull(S->helo);
	/* MAIL: the sender goes. */
	expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
	ck_assert_int_eq(S->state, SS_MAIL);
	expect("RSET\r\n", "250 2.0.0 Ok\r\n");
	ck_assert_int_eq(S->state, SS_READY);
	ck_assert_ptr_null(S->tx);
	expect("RCPT TO:<u@accept.test>\r\n",
	    "503 5.5.1 Error: need MAIL command\r\n");
	/* RCPT */
	expect("MAIL FROM:<a@b.example>\r\nRCPT TO:<u@accept.test>\r\n",
	    "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n");
	ck_assert_int_eq(S->state, SS_RCPT);
	expect("RSET\r\n", "250 2.0.0 Ok\r\n");
	ck_assert_int_eq(S->state, SS_READY);
	expect("DATA\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	ck_assert_uint_eq(n_create, 0);
	/* DATA: RSET is content. */
	expect("MAIL FROM:<a@b.example>\r\nRCPT TO:<u@accept.test>\r\nDATA\r\n",
	    "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	ck_assert_int_eq(S->state, SS_DATA);
	expect("RSET\r\n", "");
	ck_assert_int_eq(S->state, SS_DATA);
	expect(".\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	file = slurp(path);
	ck_assert_msg(strstr(file, "+0000\r\nRSET\r\n") != NULL, "%s", file);
}
END_TEST

START_TEST(rset_between_chunks_rolls_back)
{
	char path[64];

	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<a@b.example>\r\nRCPT TO:<u@accept.test>\r\nBDAT 4\r\n",
	    "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	pump();
	ck_assert_int_eq(S->state, SS_BDAT);
	/* In the chunk, RSET is content. */
	expect("RSET", "250 2.0.0 4 octets received\r\n");
	ck_assert_int_eq(S->state, SS_RCPT);
	ck_assert_int_ne(S->tx->fd, -1);
	/* Between chunks it ends the transaction and its file. */
	expect("RSET\r\n", "250 2.0.0 Ok\r\n");
	ck_assert_int_eq(S->state, SS_READY);
	ck_assert_ptr_null(S->tx);
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_str_eq(rolled_back, MSGID);
	unlink(path);
}
END_TEST

/* MAIL, RCPT and DATA in one write; the commit holds pipelined
 * commands back, and the content's end is not taken for more content. */
START_TEST(pipelined_transaction)
{
	char path[64];

	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<a@b.example>\r\nRCPT TO:<u@accept.test>\r\nDATA\r\n",
	    "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n");
	ck_assert_int_eq(S->state, SS_RCPT);
	ck_assert_int_eq(S->wait, SW_CREATE);
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	ck_assert_int_eq(S->state, SS_DATA);
	expect("x\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<v@accept.test>\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	/* Waiting for queued: still DATA, the transaction still there,
	 * the next commands not read. */
	ck_assert_int_eq(S->state, SS_DATA);
	ck_assert_int_eq(S->wait, SW_COMMIT);
	ck_assert_ptr_nonnull(S->tx);
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n"
	    "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n");
	ck_assert_int_eq(S->state, SS_RCPT);
	ck_assert_uint_eq(S->tx->env.nrcpt, 1);
	ck_assert_str_eq(S->tx->env.rcpt[0].addr, "v@accept.test");
	ck_assert_str_eq(committed.rcpt[0].addr, "u@accept.test");
	unlink(path);
}
END_TEST

START_TEST(commit_failure_back_to_ready)
{
	char path[64];

	start_data(path, sizeof(path));
	expect("x\r\n.\r\n", "");
	ck_assert_int_eq(S->state, SS_DATA);
	q_fail(Q_COMMIT_FAIL, commit_id, 452, "4.3.1 full");
	expect_out("452 4.3.1 full\r\n");
	ck_assert_int_eq(S->state, SS_READY);
	ck_assert_ptr_null(S->tx);
	expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
	unlink(path);
}
END_TEST

START_TEST(bdat_last)
{
	char path[64];

	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<a@b.example>\r\nRCPT TO:<u@accept.test>\r\nBDAT 3\r\n",
	    "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect("abc", "250 2.0.0 3 octets received\r\n");
	ck_assert_int_eq(S->state, SS_RCPT);
	expect("BDAT 2 LAST\r\nde", "");
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_int_eq(S->state, SS_BDAT);
	ck_assert_int_eq(S->wait, SW_COMMIT);
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	ck_assert_int_eq(S->state, SS_READY);
	ck_assert_ptr_null(S->tx);
	unlink(path);
}
END_TEST

/* A refused chunk is read in BDAT, then the session is where it was. */
START_TEST(refused_chunk_returns)
{
	expect("BDAT 4\r\nQUIT", "503 5.5.1 Error: send EHLO first\r\n");
	ck_assert_int_eq(S->state, SS_CONNECTED);
	talk("EHLO client.example\r\n");
	expect("BDAT 4\r\nQUIT", "503 5.5.1 Error: need MAIL command\r\n");
	ck_assert_int_eq(S->state, SS_READY);
	talk("MAIL FROM:<a@b.example>\r\n");
	/* Sent in two parts: BDAT holds the session meanwhile. */
	expect("BDAT 4\r\nQU", "");
	ck_assert_int_eq(S->state, SS_BDAT);
	expect("IT", "503 5.5.1 Error: need RCPT command\r\n");
	ck_assert_int_eq(S->state, SS_MAIL);
	ck_assert_ptr_nonnull(S->tx);
	ck_assert(!server_closed);
}
END_TEST

/* The end of a too-big message: refused, back to READY. */
START_TEST(bdat_too_big_back_to_ready)
{
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\nRCPT TO:<u@accept.test>\r\n");
	expect("BDAT 20000 LAST\r\n", "");
	ck_assert_int_eq(S->state, SS_BDAT);
	ck_assert_ptr_null(S->tx);
	{
		static char junk[20000];

		memset(junk, 'a', sizeof(junk));
		send_bytes(junk, sizeof(junk));
	}
	expect_out("552 5.3.4 Error: message too big\r\n");
	ck_assert_int_eq(S->state, SS_READY);
	ck_assert_uint_eq(n_create, 0);
}
END_TEST

START_TEST(starttls_back_to_connected)
{
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst_tls);
	talk("EHLO client.example\r\n");
	ck_assert_int_eq(S->state, SS_READY);
	ck_assert(S->esmtp);
	expect("STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
	client_handshake();
	tls_collect(0);
	ck_assert_int_eq(S->state, SS_CONNECTED);
	ck_assert_ptr_null(S->helo);
	ck_assert(!S->esmtp);
	tls_expect("MAIL FROM:<a@b.example>\r\n",
	    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	tls_expect("HELO client.example\r\n", "250 mx.test\r\n");
	ck_assert_int_eq(S->state, SS_READY);
	tls_expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
	ck_assert_int_eq(S->state, SS_MAIL);
}
END_TEST

START_TEST(starttls_refused_in_transaction)
{
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst_tls);
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("STARTTLS\r\n",
	    "503 5.5.1 Error: MAIL transaction in progress\r\n");
	ck_assert_int_eq(S->state, SS_MAIL);
	ck_assert_ptr_nonnull(S->tx);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite *s = suite_create("smtpd_session");
	TCase *tc = tcase_create("transitions");

	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_test(tc, every_transition);
	tcase_add_test(tc, unfit_sessions_refused);
	tcase_add_test(tc, refusal_closes_with_421);
	suite_add_tcase(s, tc);

	tc = tcase_create("commands");
	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_test(tc, rset_in_each_state);
	tcase_add_test(tc, rset_between_chunks_rolls_back);
	tcase_add_test(tc, pipelined_transaction);
	tcase_add_test(tc, commit_failure_back_to_ready);
	tcase_add_test(tc, bdat_last);
	tcase_add_test(tc, refused_chunk_returns);
	tcase_add_test(tc, bdat_too_big_back_to_ready);
	suite_add_tcase(s, tc);

	tc = tcase_create("starttls");
	tcase_add_checked_fixture(tc, fixture_setup_tls, fixture_teardown);
	tcase_add_test(tc, starttls_back_to_connected);
	tcase_add_test(tc, starttls_refused_in_transaction);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(session_suite);
