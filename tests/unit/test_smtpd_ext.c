/* SPDX-License-Identifier: ISC */
/* smtpd's ESMTP extensions through the session state machine: BDAT
 * (CHUNKING) in every sequence and failure, DSN parameters stored in
 * the envelope, SMTPUTF8, BODY, parameters without EHLO, and the
 * per-address session count. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "proto.h"
#include "util.h"
#include "smtpd_fixture.h"

/* EHLO, MAIL, RCPT, then the first BDAT: the file comes from queued. */
static void
bdat_begin(const char *first, char *path, size_t len)
{
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<s@client.example>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect(first, "");
	ck_assert_uint_eq(n_create, 1);
	q_create_ok(create_id, incoming_file(path, len), MSGID);
}

/* The file's content after our Received: header. */
static const char *
body_of(const char *file)
{
	const char *p = strstr(file, "+0000\r\n");

	ck_assert_ptr_nonnull(p);
	return p + 7;
}

START_TEST(bdat_one_chunk)
{
	char path[64];

	bdat_begin("BDAT 21 LAST\r\nSubject: x\r\n\r\n.body\r\n", path, sizeof(path));
	expect_out("");
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_str_eq(body_of(slurp(path)), "Subject: x\r\n\r\n.body\r\n");
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	/* A new transaction after it. */
	expect("MAIL FROM:<>\r\n", "250 2.1.0 Sender ok\r\n");
}
END_TEST

START_TEST(bdat_chunks_pipelined)
{
	char path[64];

	/* Commands inside chunk data are data; the last line has no CRLF
	 * (one is added). Replies come in order, each after its chunk. */
	bdat_begin("BDAT 10\r\nA: b\r\nRSET", path, sizeof(path));
	expect_out("250 2.0.0 10 octets received\r\n");
	expect("BDAT 2\r\n\r\nBDAT 0\r\nBDAT 6\r\nQUIT\r\nBDAT 4 LAST\r\nxy\r\nNOOP\r\n",
	    "250 2.0.0 2 octets received\r\n250 2.0.0 0 octets received\r\n"
	    "250 2.0.0 6 octets received\r\n");
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_str_eq(body_of(slurp(path)), "A: b\r\nRSET\r\nQUIT\r\nxy\r\n");
	ck_assert_uint_eq(committed.nrcpt, 1);
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n"
	    "250 2.0.0 Ok\r\n");
	ck_assert(!server_closed);
}
END_TEST

START_TEST(bdat_zero_last_and_crlf_added)
{
	char path[64];

	bdat_begin("BDAT 3\r\nabc", path, sizeof(path));
	expect_out("250 2.0.0 3 octets received\r\n");
	expect("BDAT 0 LAST\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_str_eq(body_of(slurp(path)), "abc\r\n");
}
END_TEST

START_TEST(bdat_out_of_sequence_is_consumed)
{
	/* Each chunk is read whole, its content never executed. */
	expect("BDAT 6\r\nQUIT\r\n", "503 5.5.1 Error: send EHLO first\r\n");
	talk("HELO client.example\r\n");
	expect("BDAT 6 LAST\r\nQUIT\r\n", "503 5.5.1 Error: send EHLO first\r\n");
	talk("EHLO client.example\r\n");
	expect("BDAT 6 LAST\r\nQUIT\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("BDAT 6\r\nQUIT\r\n", "503 5.5.1 Error: need RCPT command\r\n");
	/* The transaction is still there. */
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	ck_assert(!server_closed);
	ck_assert_uint_eq(n_create, 0);
}
END_TEST

START_TEST(bdat_then_data_or_rcpt)
{
	char path[64];

	bdat_begin("BDAT 3\r\nabc", path, sizeof(path));
	expect_out("250 2.0.0 3 octets received\r\n");
	expect("DATA\r\n", "503 5.5.1 Error: DATA inside a BDAT transaction\r\n");
	expect("RCPT TO:<v@accept.test>\r\n", "503 5.5.1 Error: RCPT after BDAT\r\n");
	expect("MAIL FROM:<a@b.example>\r\n", "503 5.5.1 Error: nested MAIL command\r\n");
	/* RSET drops the file. */
	expect("RSET\r\n", "250 2.0.0 Ok\r\n");
	ck_assert_uint_eq(n_rollback, 1);
	unlink(path);
}
END_TEST

START_TEST(bdat_too_big)
{
	char path[64];

	/* Announced over the limit (10000): refused at once, read anyway;
	 * chunks already pipelined behind it get 503. */
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	talk("RCPT TO:<u@accept.test>\r\n");
	send_str("BDAT 10001\r\n");
	{
		static char junk[10001];

		memset(junk, 'x', sizeof(junk));
		memcpy(junk + 100, "\r\nQUIT\r\n", 8);
		send_bytes(junk, sizeof(junk));
	}
	expect("BDAT 2 LAST\r\nab", "552 5.3.4 Error: message too big\r\n"
	    "503 5.5.1 Error: need MAIL command\r\n");
	ck_assert_uint_eq(n_create, 0);
	/* Over the limit by the sum of the chunks. */
	talk("MAIL FROM:<a@b.example>\r\n");
	talk("RCPT TO:<u@accept.test>\r\n");
	send_str("BDAT 6000\r\n");
	expect_out("");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	{
		static char part[6000];

		memset(part, 'y', sizeof(part));
		for (size_t i = 78; i < sizeof(part); i += 80)
			memcpy(part + i, "\r\n", 2);
		send_bytes(part, sizeof(part));
	}
	expect_out("250 2.0.0 6000 octets received\r\n");
	expect("BDAT 5000 LAST\r\n", "");
	send_bytes(rbuf, 5000);      /* any 5000 bytes */
	expect_out("552 5.3.4 Error: message too big\r\n");
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_uint_eq(n_commit, 0);
	unlink(path);
	expect("NOOP\r\n", "250 2.0.0 Ok\r\n");
}
END_TEST

START_TEST(bdat_bare_lf_fails_early)
{
	char path[64];

	bdat_begin("BDAT 4\r\na\nb\n", path, sizeof(path));
	expect_out("550 5.6.0 Error: bare <LF> received; lines must end with "
	    "<CR><LF>\r\n");
	ck_assert_uint_eq(n_rollback, 1);
	expect("BDAT 3 LAST\r\nabc", "503 5.5.1 Error: need MAIL command\r\n");
	unlink(path);
}
END_TEST

START_TEST(bdat_nul_fails_early)
{
	static const char chunk[] = "BDAT 5\r\na\0b\r\n";
	char path[64];

	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<s@client.example>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	send_bytes(chunk, sizeof(chunk) - 1);
	expect_out("");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("550 5.6.0 Error: <NUL> received; message content must "
	    "not contain NUL octets\r\n");
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_uint_eq(n_commit, 0);
	expect("BDAT 3 LAST\r\nabc", "503 5.5.1 Error: need MAIL command\r\n");
	unlink(path);
}
END_TEST

START_TEST(bdat_folded_first_line_fails_early)
{
	char path[64];

	/* An empty first chunk: the content still begins with the HT. */
	bdat_begin("BDAT 0\r\n", path, sizeof(path));
	expect_out("250 2.0.0 0 octets received\r\n");
	expect("BDAT 7\r\n\tx: y\r\n", "550 5.6.0 Error: message begins with "
	    "a folded line\r\n");
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_uint_eq(n_commit, 0);
	expect("BDAT 3 LAST\r\nabc", "503 5.5.1 Error: need MAIL command\r\n");
	unlink(path);
}
END_TEST

START_TEST(bdat_later_folding_accepted)
{
	char path[64];

	/* SP first in a later chunk, folding in the header, empty message. */
	bdat_begin("BDAT 10\r\nSubject: a", path, sizeof(path));
	expect_out("250 2.0.0 10 octets received\r\n");
	expect("BDAT 10 LAST\r\n b\r\n\r\n c\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_str_eq(body_of(slurp(path)), "Subject: a b\r\n\r\n c\r\n");
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	unlink(path);
	expect("MAIL FROM:<>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("BDAT 0 LAST\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("");
	ck_assert_uint_eq(n_commit, 2);
	ck_assert_str_eq(body_of(slurp(path)), "");
	ck_assert_uint_eq(n_rollback, 0);
	unlink(path);
}
END_TEST

START_TEST(bdat_bad_syntax_closes)
{
	talk("EHLO client.example\r\n");
	expect("BDAT x\r\n", "501 5.5.4 Syntax: BDAT size [LAST]\r\n"
	    "421 4.5.0 mx.test Error: chunk size unknown, closing\r\n");
	ck_assert(server_closed);
}
END_TEST

/* A session on lst_fast with data-termination 1s and data-block and
 * command timeouts far longer: only the former can end a discard. */
static void
slow_discard_session(void)
{
	close(cli);
	pump();
	lst_fast->to_data_term = 1;
	lst_fast->to_data_block = 30;
	lst_fast->to_data_init = 30;
	lst_fast->to_command = 30;
	S = connect_from("192.0.2.7", lst_fast);
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
}

/* Trickle a byte every 100 ms: the refused chunk's discard must end
 * with 421 by data-termination (1s), not go on while bytes come. */
static void
trickle_until_421(void)
{
	unsigned i;

	for (i = 0; i < 5; i++) {     /* 0.5 s: before the deadline */
		send_bytes("x", 1);
		run_ms(100);
	}
	expect_out("");
	ck_assert(!server_closed);
	for (i = 0; i < 15 && !server_closed; i++) {
		const char *got;

		if (write(cli, "x", 1) != 1)
			break;
		run_ms(100);
		got = collect(0);
		if (*got != '\0') {
			ck_assert_str_eq(got, "421 4.4.2 mx.test Error: timeout "
			    "exceeded\r\n");
			break;
		}
	}
	ck_assert_uint_lt(i, 15);
	pump();
	ck_assert_ptr_null(S);        /* the session is gone */
}

START_TEST(bdat_refused_chunk_bounded_by_data_termination)
{
	/* Over the size limit by its announced size: 552 owed at its end,
	 * which never comes. */
	slow_discard_session();
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("BDAT 999999999999 LAST\r\n", "");
	trickle_until_421();
	ck_assert_uint_eq(n_create, 0);
}
END_TEST

START_TEST(bdat_out_of_sequence_bounded_by_data_termination)
{
	/* Refused inside a transaction (no RCPT yet): the same bound, and
	 * not the transaction's data timers, which have not started. */
	slow_discard_session();
	expect("BDAT 1000000\r\n", "");
	trickle_until_421();
}
END_TEST

START_TEST(bdat_pipelined_after_refused_chunk)
{
	/* Commands right behind a refused chunk, in the same packet, are
	 * commands again; inside it they were content. */
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	talk("RCPT TO:<u@accept.test>\r\n");
	send_str("BDAT 10001 LAST\r\n");
	{
		static char junk[10001 + 64];
		size_t n = 10001;

		memset(junk, 'x', n);
		memcpy(junk + 10, "\r\nRSET\r\n", 8);
		memcpy(junk + n, "NOOP\r\nMAIL FROM:<c@d.example>\r\n", 31);
		send_bytes(junk, n + 31);
	}
	expect_out("552 5.3.4 Error: message too big\r\n250 2.0.0 Ok\r\n"
	    "250 2.1.0 Sender ok\r\n");
	ck_assert_uint_eq(n_create, 0);
	ck_assert(!server_closed);
}
END_TEST

START_TEST(bdat_size_overflow_closes)
{
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	talk("RCPT TO:<u@accept.test>\r\n");
	/* 2^64 + 1: no chunk of that size can be skipped exactly. */
	expect("BDAT 18446744073709551617 LAST\r\n",
	    "501 5.5.4 Syntax: BDAT size [LAST]\r\n"
	    "421 4.5.0 mx.test Error: chunk size unknown, closing\r\n");
	ck_assert(server_closed);
	ck_assert_uint_eq(n_create, 0);
}
END_TEST

START_TEST(bdat_queue_refuses_file)
{
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	talk("RCPT TO:<u@accept.test>\r\n");
	expect("BDAT 8 LAST\r\n", "");
	q_fail(Q_CREATE_FAIL, create_id, 452, "4.3.1 Error: spool full");
	/* The answer waits for the chunk. */
	expect_out("");
	expect("QUIT\r\nxx", "452 4.3.1 Error: spool full\r\n");
	expect("QUIT\r\n", "221 2.0.0 Bye\r\n");
	/* queued missing altogether. */
}
END_TEST

START_TEST(bdat_disconnect_mid_chunk)
{
	char path[64];

	bdat_begin("BDAT 100 LAST\r\nhalf", path, sizeof(path));
	expect_out("");
	close(cli);
	cli = -1;
	pump();
	ck_assert_uint_eq(n_closed, 1);
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_uint_eq(n_commit, 0);
	unlink(path);
}
END_TEST

START_TEST(dsn_parameters_stored)
{
	char path[64];

	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<s@client.example> RET=HDRS ENVID=QQ+2Bid.1\r\n",
	    "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<a@accept.test> NOTIFY=SUCCESS,FAILURE "
	    "ORCPT=rfc822;A+40accept.test\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("RCPT TO:<b@accept.test> NOTIFY=NEVER\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("RCPT TO:<c@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("x\r\n.\r\n", "");
	unlink(path);
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_uint_eq(committed.ret, DSN_RET_HDRS);
	ck_assert_str_eq(committed.envid, "QQ+id.1");
	ck_assert_uint_eq(committed.nrcpt, 3);
	ck_assert_uint_eq(committed.rcpt[0].notify, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE);
	ck_assert_str_eq(committed.rcpt[0].orcpt, "rfc822;A@accept.test");
	ck_assert_uint_eq(committed.rcpt[1].notify, DSN_NOTIFY_NEVER);
	ck_assert_ptr_null(committed.rcpt[1].orcpt);
	ck_assert_uint_eq(committed.rcpt[2].notify, 0);
	ck_assert_uint_eq(committed.smtputf8, 0);
}
END_TEST

START_TEST(dsn_parameters_checked)
{
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<a@b.example> RET=ALL\r\n", "501 5.5.4 Error: bad RET value\r\n");
	expect("MAIL FROM:<a@b.example> RET=FULL RET=HDRS\r\n",
	    "501 5.5.4 Syntax: MAIL FROM:<address> (parameter given twice)\r\n");
	expect("MAIL FROM:<a@b.example> ENVID=a+0Db\r\n", "501 5.5.4 Error: bad ENVID value\r\n");
	{
		char line[200];

		memset(line, 'e', sizeof(line));
		memcpy(line, "MAIL FROM:<a@b.example> ENVID=", 30);
		strcpy(line + 30 + 101, "\r\n");
		expect(line, "501 5.5.4 Error: bad ENVID value\r\n");
	}
	expect("MAIL FROM:<a@b.example> ENVID=x RET=FULL\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@accept.test> NOTIFY=NEVER,DELAY\r\n",
	    "501 5.5.4 Error: bad NOTIFY value\r\n");
	/* A duplicate ORCPT or an unknown parameter is still refused. */
	expect("RCPT TO:<u@accept.test> ORCPT=rfc822;a@b ORCPT=rfc822;c@d\r\n",
	    "501 5.5.4 Syntax: RCPT TO:<address> (parameter given twice)\r\n");
	expect("RCPT TO:<u@accept.test> ORCPT=rfc822;a@b X-FOO=1\r\n",
	    "555 5.5.4 Error: unsupported parameter X-FOO\r\n");
	expect("RCPT TO:<u@accept.test> NOTIFY=DELAY ORCPT=rfc822;u@accept.test\r\n",
	    "250 2.1.5 Recipient ok\r\n");
}
END_TEST

/* ORCPT is informational (RFC 3461 §4.2): a malformed one is dropped
 * and logged, the recipient accepted as if none had been given. */
START_TEST(orcpt_malformed_dropped)
{
	char path[64];
	unsigned errors;

	/* A listener without max-recipients. */
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst_ip);
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<s@client.example>\r\n", "250 2.1.0 Sender ok\r\n");
	errors = S->errors;
	expect("RCPT TO:<a@accept.test> ORCPT=a@accept.test\r\n",
	    "250 2.1.5 Recipient ok\r\n");
	expect("RCPT TO:<b@accept.test> NOTIFY=FAILURE ORCPT=rfc822;a+zzb\r\n",
	    "250 2.1.5 Recipient ok\r\n");
	/* Decoded octets that are not UTF-8, or a control character. */
	expect("RCPT TO:<c@accept.test> ORCPT=rfc822;j+F6rg@x\r\n",
	    "250 2.1.5 Recipient ok\r\n");
	expect("RCPT TO:<d@accept.test> ORCPT=utf-8;a\\x{0D}b@x\r\n",
	    "250 2.1.5 Recipient ok\r\n");
	/* A lone "+" (a command line is too short for an ORCPT over
	 * SMTP_ORCPT_MAX: test_smtp_dsn covers that). */
	expect("RCPT TO:<e@accept.test> ORCPT=rfc822;a+\r\n",
	    "250 2.1.5 Recipient ok\r\n");
	/* No refusal was counted against max-errors. */
	ck_assert_uint_eq(S->errors, errors);
	/* The xtext-encoded UTF-8 a relay like Postfix sends. */
	expect("RCPT TO:<f@accept.test> ORCPT=rfc822;j+C3+B6rg@example.test\r\n",
	    "250 2.1.5 Recipient ok\r\n");
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("x\r\n.\r\n", "");
	unlink(path);
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_uint_eq(committed.nrcpt, 6);
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(committed.rcpt[i].orcpt == NULL, "%zu: %s", i,
		    committed.rcpt[i].orcpt);
	ck_assert_uint_eq(committed.rcpt[1].notify, DSN_NOTIFY_FAILURE);
	ck_assert_str_eq(committed.rcpt[5].orcpt, "utf-8;j\xc3\xb6rg@example.test");
}
END_TEST

/* RFC 6531 §3.2: a UTF-8 domain under SMTPUTF8 must be an IDNA2008
 * name; it is kept as received. */
START_TEST(smtputf8_domains)
{
	char path[64];
	const char *file;

	close(cli);
	pump();
	/* From inside `relay from`: the relay rule is not what is tested. */
	S = connect_from("127.0.0.1", lst);
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.test>\r\n",
	    "553 5.6.7 Error: non-ASCII address needs SMTPUTF8\r\n");
	expect("MAIL FROM:<a@i\xe2\x99\xa5.test> SMTPUTF8\r\n",
	    "501 5.1.7 Bad sender address syntax: bad internationalized domain\r\n");
	expect("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.test> SMTPUTF8\r\n",
	    "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<a@i\xe2\x99\xa5.test>\r\n",
	    "553 5.1.3 Bad recipient address syntax: bad internationalized domain\r\n");
	expect("RCPT TO:<j\xc3\xb6rg@b\xc3\xbc" "cher.test>\r\n",
	    "250 2.1.5 Recipient ok\r\n");
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("x\r\n.\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_str_eq(committed.sender, "j\xc3\xb6rg@b\xc3\xbc" "cher.test");
	ck_assert_str_eq(committed.rcpt[0].addr, "j\xc3\xb6rg@b\xc3\xbc" "cher.test");
	file = slurp(path);
	unlink(path);
	ck_assert_msg(strstr(file, " with UTF8SMTP id ") != NULL, "%s", file);
	ck_assert_msg(strstr(file, "\tfor <j\xc3\xb6rg@b\xc3\xbc" "cher.test>; ") != NULL,
	    "%s", file);
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	/* Without SMTPUTF8 a UTF-8 domain is refused as before. */
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RCPT TO:<a@b\xc3\xbc" "cher.test>\r\n",
	    "553 5.6.7 Error: non-ASCII address needs SMTPUTF8\r\n");
	/* Outside `relay from`, the refusal names the address in UTF-8. */
	close(cli);
	pump();
	S = connect_from("192.0.2.7", lst);
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<a@b.example> SMTPUTF8\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<j\xc3\xb6rg@b\xc3\xbc" "cher.test>\r\n",
	    "554 5.7.1 <j\xc3\xb6rg@b\xc3\xbc" "cher.test>: relaying denied\r\n");
}
END_TEST

START_TEST(smtputf8)
{
	char path[64];
	const char *file;

	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<j\xc3\xb6rg@example.org>\r\n",
	    "553 5.6.7 Error: non-ASCII address needs SMTPUTF8\r\n");
	expect("MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8=yes\r\n",
	    "501 5.5.4 Error: SMTPUTF8 takes no value\r\n");
	/* Invalid UTF-8 is a syntax error even with SMTPUTF8. */
	expect("MAIL FROM:<j\xc3(rg@example.org> SMTPUTF8\r\n",
	    "501 5.1.7 Bad sender address syntax: bad character in local part\r\n");
	expect("MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8 BODY=8BITMIME\r\n",
	    "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@accept.test> ORCPT=utf-8;"
	    "\xe7\x94\xa8\xe6\x88\xb7@accept.test\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("Subject: \xc3\xa9t\xc3\xa9\r\n\r\nx\r\n.\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_uint_eq(committed.smtputf8, 1);
	ck_assert_str_eq(committed.sender, "j\xc3\xb6rg@example.org");
	ck_assert_str_eq(committed.body, "8BITMIME");
	ck_assert_str_eq(committed.rcpt[0].orcpt, "utf-8;\xe7\x94\xa8\xe6\x88\xb7@accept.test");
	file = slurp(path);
	ck_assert_ptr_nonnull(strstr(file, " with UTF8SMTP id "));
	/* The UTF-8 recipient is written into the header (RFC 6531 §3.7.3). */
	ck_assert_ptr_nonnull(strstr(file, "\tfor <\xe7\x94\xa8\xe6\x88\xb7@accept.test>; "));
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	/* The next transaction without SMTPUTF8 refuses UTF-8 again. */
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RCPT TO:<\xe7\x94\xa8@accept.test>\r\n",
	    "553 5.6.7 Error: non-ASCII address needs SMTPUTF8\r\n");
}
END_TEST

START_TEST(parameters_need_ehlo)
{
	talk("HELO client.example\r\n");
	expect("MAIL FROM:<a@b.example> SIZE=10\r\n",
	    "555 5.5.4 Error: parameters need EHLO\r\n");
	expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@accept.test> NOTIFY=NEVER\r\n",
	    "555 5.5.4 Error: parameters need EHLO\r\n");
	expect("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n",
	    "503 5.5.1 Error: nested MAIL command\r\n");
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n",
	    "501 5.5.4 Error: unsupported BODY value\r\n");
	expect("MAIL FROM:<a@b.example> AUTH=<>\r\n",
	    "555 5.5.4 Error: unsupported parameter AUTH\r\n");
}
END_TEST

START_TEST(address_forms_in_session)
{
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<@relay.example,@r2.example:\"john doe\"@b.example>\r\n",
	    "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<Postmaster>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("RCPT TO:<u@[IPv6:2001:db8::1]>\r\n",
	    "554 5.7.1 <u@[IPv6:2001:db8::1]>: relaying denied\r\n");
	expect("RCPT TO:<u@[999.1.1.1]>\r\n",
	    "553 5.1.3 Bad recipient address syntax: bad address literal\r\n");
	expect("RCPT TO:<>\r\n", "553 5.1.3 Bad recipient address syntax: empty address\r\n");
	{
		char line[400];

		/* A 65-octet local part. */
		snprintf(line, sizeof(line), "RCPT TO:<%065d@accept.test>\r\n", 0);
		expect(line, "553 5.1.3 Bad recipient address syntax: local part too long\r\n");
	}
	expect("RSET\r\n", "250 2.0.0 Ok\r\n");
	expect("MAIL FROM:<\"a\\\"b\"@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
	ck_assert_str_eq(S->tx->env.sender, "\"a\\\"b\"@b.example");
}
END_TEST

START_TEST(per_address_count)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct session *s1, *s2;
	int c1, c2;

	inet_pton(AF_INET, "192.0.2.9", &a.sin_addr);
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&a), 0);
	s1 = connect_from("192.0.2.9", lst_ip);
	c1 = cli;
	s2 = connect_from("192.0.2.9", lst_ip);
	c2 = cli;
	ck_assert_ptr_nonnull(s1);
	ck_assert_ptr_nonnull(s2);
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&a), 2);
	/* Other listeners and addresses are counted apart. */
	ck_assert_uint_eq(limits_ip_count(lst, (struct sockaddr *)&a), 0);
	inet_pton(AF_INET, "192.0.2.7", &a.sin_addr);
	ck_assert_uint_eq(limits_ip_count(lst, (struct sockaddr *)&a), 1);
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&a), 0);
	inet_pton(AF_INET, "192.0.2.9", &a.sin_addr);
	close(c1);
	pump();
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&a), 1);
	close(c2);
	pump();
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&a), 0);
	{
		/* v4-mapped IPv6 counts as the v4 address. */
		struct sockaddr_in6 m = { .sin6_family = AF_INET6 };

		inet_pton(AF_INET6, "::ffff:192.0.2.7", &m.sin6_addr);
		ck_assert_uint_eq(limits_ip_count(lst, (struct sockaddr *)&m), 1);
	}
}
END_TEST

static struct sockaddr_in6
sin6(const char *ip)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };

	ck_assert_int_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
	return a;
}

START_TEST(per_address_count_ipv6_by_64)
{
	struct sockaddr_in6 a = sin6("2001:db8:1:2::1"),
	    same64 = sin6("2001:db8:1:2:ffff:ffff:ffff:fffe"),
	    other64 = sin6("2001:db8:1:3::1"),
	    mapped = sin6("::ffff:192.0.2.10");
	struct sockaddr_in v4 = { .sin_family = AF_INET };

	/* The key itself is tested in test_util.c (sa_client_key). */
	/* Counts: two addresses of one /64 share theirs. */
	limits_ip_add(lst_ip, (struct sockaddr *)&a);
	limits_ip_add(lst_ip, (struct sockaddr *)&same64);
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&a), 2);
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&same64), 2);
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&other64), 0);
	ck_assert_uint_eq(limits_ip_count(lst, (struct sockaddr *)&a), 0);
	limits_ip_del(lst_ip, (struct sockaddr *)&a);
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&same64), 1);
	limits_ip_del(lst_ip, (struct sockaddr *)&same64);
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&a), 0);
	/* A v4 client and its v4-mapped form share one count. */
	inet_pton(AF_INET, "192.0.2.10", &v4.sin_addr);
	limits_ip_add(lst_ip, (struct sockaddr *)&v4);
	limits_ip_add(lst_ip, (struct sockaddr *)&mapped);
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&v4), 2);
	limits_ip_del(lst_ip, (struct sockaddr *)&mapped);
	limits_ip_del(lst_ip, (struct sockaddr *)&v4);
	ck_assert_uint_eq(limits_ip_count(lst_ip, (struct sockaddr *)&v4), 0);
}
END_TEST

static Suite *
ext_suite(void)
{
	Suite *s = suite_create("smtpd_ext");
	TCase *tc = tcase_create("ext");

	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_test(tc, bdat_one_chunk);
	tcase_add_test(tc, bdat_chunks_pipelined);
	tcase_add_test(tc, bdat_zero_last_and_crlf_added);
	tcase_add_test(tc, bdat_out_of_sequence_is_consumed);
	tcase_add_test(tc, bdat_then_data_or_rcpt);
	tcase_add_test(tc, bdat_too_big);
	tcase_add_test(tc, bdat_bare_lf_fails_early);
	tcase_add_test(tc, bdat_nul_fails_early);
	tcase_add_test(tc, bdat_folded_first_line_fails_early);
	tcase_add_test(tc, bdat_later_folding_accepted);
	tcase_add_test(tc, bdat_bad_syntax_closes);
	tcase_add_test(tc, bdat_refused_chunk_bounded_by_data_termination);
	tcase_add_test(tc, bdat_out_of_sequence_bounded_by_data_termination);
	tcase_add_test(tc, bdat_pipelined_after_refused_chunk);
	tcase_add_test(tc, bdat_size_overflow_closes);
	tcase_add_test(tc, bdat_queue_refuses_file);
	tcase_add_test(tc, bdat_disconnect_mid_chunk);
	tcase_add_test(tc, dsn_parameters_stored);
	tcase_add_test(tc, dsn_parameters_checked);
	tcase_add_test(tc, orcpt_malformed_dropped);
	tcase_add_test(tc, smtputf8_domains);
	tcase_add_test(tc, smtputf8);
	tcase_add_test(tc, parameters_need_ehlo);
	tcase_add_test(tc, address_forms_in_session);
	tcase_add_test(tc, per_address_count);
	tcase_add_test(tc, per_address_count_ipv6_by_64);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(ext_suite);
