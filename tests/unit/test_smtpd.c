/* SPDX-License-Identifier: ISC */
/* smtpd's session state machine (smtpd/session.c, command.c, data.c,
 * received.c, queue_client.c) driven through a socketpair on the real
 * event loop, with queued played by the test on the other end of a real
 * channel: reply codes, sequences, pipelining, the end of data, limits,
 * relay policy, timeouts, stop, and every way queued can fail. */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "channel.h"
#include "config.h"
#include "envelope.h"
#include "event.h"
#include "log.h"
#include "proto.h"
#include "smtp.h"
#include "util.h"
#include "smtpd_fixture.h"

/* ------------------------------------------------------------------ */
/* Received: header                                                    */
/* ------------------------------------------------------------------ */

START_TEST(received_header)
{
	char out[1024];
	struct received_info ri = {
		.helo = "client.example", .client_name = "unknown",
		.client_addr = "192.0.2.7", .family = AF_INET,
		.hostname = "mx.test", .proto = "ESMTP",
		.msgid = "01HZZZZZZZZZZZZZZZZZZZZZZZ", .rcpt = "u@accept.test",
		.when = 1700000000,
	};
	size_t n = received_format(out, sizeof(out), &ri);

	ck_assert_uint_eq(n, strlen(out));
	ck_assert_str_eq(out,
	    "Received: from client.example (unknown [192.0.2.7])\r\n"
	    "\tby mx.test (Empath) with ESMTP id 01HZZZZZZZZZZZZZZZZZZZZZZZ\r\n"
	    "\tfor <u@accept.test>; Tue, 14 Nov 2023 22:13:20 +0000\r\n");

	ri.helo = "evil (x)\r\nBcc: y;z";
	ri.client_addr = "2001:db8::1";
	ri.family = AF_INET6;
	ri.proto = "SMTP";
	ri.rcpt = NULL;
	n = received_format(out, sizeof(out), &ri);
	ck_assert_uint_gt(n, 0);
	ck_assert_str_eq(out,
	    "Received: from evil??x???Bcc:?y?z (unknown [IPv6:2001:db8::1])\r\n"
	    "\tby mx.test (Empath) with SMTP id 01HZZZZZZZZZZZZZZZZZZZZZZZ; "
	    "Tue, 14 Nov 2023 22:13:20 +0000\r\n");
	ck_assert_uint_eq(received_format(out, 40, &ri), 0);

	/* A UTF-8 recipient: written in a SMTPUTF8 transaction (RFC 6531
	 * §3.7.3), left out otherwise; a quoted one never. */
	ri.proto = "UTF8SMTP";
	ri.rcpt = "j\xc3\xb6rg@b\xc3\xbc" "cher.test";
	ri.utf8 = true;
	ck_assert_uint_gt(received_format(out, sizeof(out), &ri), 0);
	ck_assert_msg(strstr(out, " with UTF8SMTP id 01HZZZZZZZZZZZZZZZZZZZZZZZ\r\n"
	    "\tfor <j\xc3\xb6rg@b\xc3\xbc" "cher.test>; Tue") != NULL, "%s", out);
	/* An ASCII local part takes the A-label: the header stays ASCII
	 * for a next hop without SMTPUTF8. */
	ri.rcpt = "jorg@b\xc3\xbc" "cher.test";
	ck_assert_uint_gt(received_format(out, sizeof(out), &ri), 0);
	ck_assert_msg(strstr(out, "\tfor <jorg@xn--bcher-kva.test>; Tue") != NULL,
	    "%s", out);
	ri.rcpt = "\"a>\r\nX: \xc3\xb6\"@b.test";
	ck_assert_uint_gt(received_format(out, sizeof(out), &ri), 0);
	ck_assert_ptr_null(strstr(out, "\tfor <"));
	ri.rcpt = "a\xc3@b.test";
	ck_assert_uint_gt(received_format(out, sizeof(out), &ri), 0);
	ck_assert_ptr_null(strstr(out, "\tfor <"));
	ri.rcpt = "j\xc3\xb6rg@b\xc3\xbc" "cher.test";
	ri.utf8 = false;
	ck_assert_uint_gt(received_format(out, sizeof(out), &ri), 0);
	ck_assert_ptr_null(strstr(out, "\tfor <"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Session state machine (the bench is smtpd_fixture.c)                */
/* ------------------------------------------------------------------ */

START_TEST(greeting_and_ehlo)
{
	expect("EHLO client.example\r\n",
	    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"
	    "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n"
	    "250 DSN\r\n");
	expect("HELO client.example\r\n", "250 mx.test\r\n");
	expect("ehlo\r\n", "501 5.5.4 Syntax: EHLO hostname\r\n");
	expect("NOOP\r\n", "250 2.0.0 Ok\r\n");
	expect("vrfy someone\r\n", "252 2.1.5 Cannot VRFY user, but will accept "
	    "message and attempt delivery\r\n");
	expect_prefix("HELP\r\n", "214 2.0.0 ");
	expect("EXPN list\r\n", "502 5.5.1 Error: command not implemented\r\n");
	expect("STARTTLS\r\n", "502 5.5.1 Error: command not implemented\r\n");
	expect("QUIT\r\n", "221 2.0.0 Bye\r\n");
	ck_assert(server_closed);
	ck_assert_uint_eq(n_closed, 1);
}
END_TEST

START_TEST(bad_sequences)
{
	expect("MAIL FROM:<a@b.example>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n");
	expect("DATA\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n");
	talk("EHLO client.example\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	expect("DATA\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	expect("mail from:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("MAIL FROM:<a@b.example>\r\n", "503 5.5.1 Error: nested MAIL command\r\n");
	expect("DATA\r\n", "503 5.5.1 Error: need RCPT command\r\n");
	ck_assert_uint_eq(n_create, 0);
	/* RSET ends the transaction; a new MAIL is fine. */
	expect("RSET\r\n", "250 2.0.0 Ok\r\n");
	expect("MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender ok\r\n");
	/* So does a new EHLO. */
	talk("EHLO client.example\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "503 5.5.1 Error: need MAIL command\r\n");
}
END_TEST

START_TEST(unknown_and_syntax_errors)
{
	talk("EHLO client.example\r\n");
	expect("FROB\r\n", "500 5.5.2 Error: command not recognized\r\n");
	expect("MAIL FROM:a@b.example\r\n", "501 5.1.7 Bad sender address syntax: "
	    "address must be enclosed in <>\r\n");
	expect_prefix("MAIL FROM <a@b.example>\r\n", "501 5.5.4 Syntax: MAIL FROM:<address>");
	expect("MAIL FROM:<a@b.example> SIZE=x\r\n", "501 5.5.4 Error: bad SIZE value\r\n");
	expect("MAIL FROM:<a@b.example> SIZE=10001\r\n", "552 5.3.4 Error: message size "
	    "exceeds fixed maximum message size\r\n");
	expect("MAIL FROM:<a@b.example> SIZE=10000 BODY=8BITMIME\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<a..b@accept.test>\r\n", "553 5.1.3 Bad recipient address syntax: "
	    "bad local part syntax\r\n");
	expect_prefix("RCPT TO:<u@accept.test> FOO=BAR\r\n",
	    "555 5.5.4 Error: unsupported parameter FOO");
	expect("RCPT TO:<j\xc3\xb6@accept.test>\r\n",
	    "553 5.6.7 Error: non-ASCII address needs SMTPUTF8\r\n");
	expect("DATA extra\r\n", "503 5.5.1 Error: need RCPT command\r\n");
}
END_TEST

START_TEST(line_too_long_goes_on)
{
	char line[700];

	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	expect(line, "500 5.5.2 Error: line too long\r\n");
	expect("NOOP\r\n", "250 2.0.0 Ok\r\n");
	/* 510 octets plus CRLF is the longest line taken. */
	memcpy(line + 510, "\r\n", 3);
	expect(line, "250 2.0.0 Ok\r\n");
	memcpy(line + 510, "y\r\n", 4);
	expect(line, "500 5.5.2 Error: line too long\r\n");
}
END_TEST

START_TEST(too_many_errors)
{
	close(cli);
	pump();
	/* max-errors 3 on the second listener: the third error ends it. */
	S = connect_from("192.0.2.7", lst_fast);
	expect("A\r\nB\r\n", "500 5.5.2 Error: command not recognized\r\n"
	    "500 5.5.2 Error: command not recognized\r\n");
	expect("E\r\nNOOP\r\n", "500 5.5.2 Error: command not recognized\r\n"
	    "421 4.7.0 mx.test Error: too many errors\r\n");
	ck_assert(server_closed);
	ck_assert_uint_eq(n_closed, 2);
}
END_TEST

START_TEST(relay_policy)
{
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("RCPT TO:<u@ACCEPT.Test>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("RCPT TO:<u@elsewhere.test>\r\n",
	    "554 5.7.1 <u@elsewhere.test>: relaying denied\r\n");
	expect("RCPT TO:<u@[192.0.2.1]>\r\n",
	    "554 5.7.1 <u@[192.0.2.1]>: relaying denied\r\n");
	close(cli);
	cli = -1;
	pump();
	ck_assert_uint_eq(n_closed, 1);

	/* From inside `relay from`, anything goes. */
	S = connect_from("127.0.0.1", lst);
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RCPT TO:<u@elsewhere.test>\r\n", "250 2.1.5 Recipient ok\r\n");
}
END_TEST

START_TEST(recipient_limit)
{
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	expect("RCPT TO:<a@accept.test>\r\nRCPT TO:<b@accept.test>\r\n"
	    "RCPT TO:<c@accept.test>\r\nRCPT TO:<d@accept.test>\r\n",
	    "250 2.1.5 Recipient ok\r\n250 2.1.5 Recipient ok\r\n"
	    "250 2.1.5 Recipient ok\r\n452 4.5.3 Error: too many recipients\r\n");
}
END_TEST

/* Read replies until n lines have come; returns them. */
static const char *
reply_lines(unsigned n)
{
	static char all[256 * 1024];
	size_t len = 0;
	unsigned lines = 0;

	while (lines < n) {
		const char *got = collect(1);
		size_t k = strlen(got);

		ck_assert_msg(k > 0, "%u of %u replies", lines, n);
		ck_assert_uint_lt(len + k, sizeof(all));
		memcpy(all + len, got, k);
		len += k;
		all[len] = '\0';
		for (const char *p = got; (p = strchr(p, '\n')) != NULL; p++)
			lines++;
	}
	return all;
}

START_TEST(envelope_memory_bounded)
{
	static const char ok[] = "250 2.1.5 Recipient ok\r\n";
	static const char full[] = "452 4.5.3 Error: too many recipients "
	    "(envelope size limit)\r\n";
	char line[SMTP_LINE_MAX + 1], orcpt[401], path[64];
	unsigned accepted = 0, refused = 0, i, k;
	struct mallinfo2 m0, m1;
	size_t mem0;

	/* No recipient count limit: only the envelope bound stops them. */
	lst->max_recipients = 0;
	memset(orcpt, 'o', sizeof(orcpt) - 1);
	orcpt[sizeof(orcpt) - 1] = '\0';
	talk("EHLO client.example\r\n");
	expect("MAIL FROM:<s@client.example>\r\n", "250 2.1.0 Sender ok\r\n");
	mem0 = S->tx->env_mem;
	m0 = mallinfo2();
	for (i = 0; refused < 100; i += 50) {
		const char *r;

		/* 50 pipelined RCPTs of 502 octets, 64-octet local parts. */
		for (k = i; k < i + 50; k++) {
			snprintf(line, sizeof(line), "RCPT TO:<%064u@accept.test> "
			    "ORCPT=rfc822;%s\r\n", k, orcpt);
			ck_assert_uint_eq(strlen(line), 502);
			send_str(line);
		}
		r = reply_lines(50);
		for (k = 0; k < 50; k++) {
			if (strncmp(r, ok, sizeof(ok) - 1) == 0) {
				ck_assert_uint_eq(refused, 0);
				accepted++;
				r += sizeof(ok) - 1;
			} else {
				ck_assert_msg(strncmp(r, full, sizeof(full) - 1) == 0,
				    "reply %u: %s", i + k, r);
				refused++;
				r += sizeof(full) - 1;
			}
		}
		ck_assert_uint_lt(i, 10000);
	}
	m1 = mallinfo2();
	ck_assert_uint_eq(S->tx->env.nrcpt, accepted);
	ck_assert_uint_le(S->tx->env_mem, SESSION_ENV_MAX);
	/* The limit is near 1 MiB, and the estimate is honest: the heap
	 * grew by no more than estimated (the session's I/O buffers, at
	 * most 64 KiB each way, may have grown too). */
	ck_assert_uint_gt(S->tx->env_mem, SESSION_ENV_MAX - 2048);
	ck_assert_uint_le(m1.uordblks - m0.uordblks,
	    S->tx->env_mem - mem0 + 2 * 64 * 1024);
	/* max-recipients 1000 (the default) of near-maximal lines fit. */
	ck_assert_uint_gt(accepted, 1000);
	/* The envelope fits in one frame: queued gets it whole. */
	send_str("DATA\r\n");
	expect_out("");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("Subject: many\r\n\r\nx\r\n.\r\n", "");
	/* Nearly 1 MB through the channel: a few turns of the loop. */
	for (k = 0; k < 100 && n_commit == 0; k++)
		pump();
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_uint_eq(committed.nrcpt, accepted);
	ck_assert_str_eq(committed.rcpt[accepted - 1].orcpt + 7, orcpt);
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	unlink(path);
}
END_TEST

START_TEST(full_transaction)
{
	char path[64];
	const char *file;
	size_t flen;

	start_data(path, sizeof(path));
	expect("Subject: test\r\n\r\n..leading dot\r\n", "");
	expect("...two\r\n.\r\n", "");
	/* Nothing is said before queued's commit is durable. */
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_uint_eq(n_rollback, 0);
	file = slurp(path);
	flen = strlen(file);
	ck_assert_msg(strncmp(file, "Received: from client.example (unknown [192.0.2.7])\r\n"
	    "\tby mx.test (Empath) with ESMTP id 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n"
	    "\tfor <u@accept.test>; ", 125) == 0, "%s", file);
	file = strstr(file, "+0000\r\n");
	ck_assert_ptr_nonnull(file);
	ck_assert_str_eq(file + 7, "Subject: test\r\n\r\n.leading dot\r\n..two\r\n");

	ck_assert_str_eq(committed.id, MSGID);
	ck_assert_str_eq(committed.sender, "sender@client.example");
	ck_assert_str_eq(committed.helo, "client.example");
	ck_assert_str_eq(committed.client_addr, "192.0.2.7");
	ck_assert_str_eq(committed.client_name, "unknown");
	ck_assert_uint_eq(committed.nrcpt, 1);
	ck_assert_str_eq(committed.rcpt[0].addr, "u@accept.test");
	ck_assert_uint_eq(committed.size, flen);
	ck_assert_int_ge(committed.created, wall_s() - 5);

	/* Paused while queued works: a pipelined command waits. */
	expect("NOOP\r\n", "");
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n"
	    "250 2.0.0 Ok\r\n");
	/* The next transaction starts clean. */
	expect("MAIL FROM:<> BODY=7BIT\r\n", "250 2.1.0 Sender ok\r\n");
	ck_assert_uint_eq(n_rollback, 0);
}
END_TEST

START_TEST(pipelining)
{
	char path[64];

	talk("EHLO client.example\r\n");
	/* One write, replies in order, all flushed once DATA must wait. */
	expect("MAIL FROM:<a@b.example>\r\nRCPT TO:<x@accept.test>\r\n"
	    "RCPT TO:<bad>\r\nRCPT TO:<y@accept.test>\r\nRCPT TO:<x@accept.test>\r\nDATA\r\n",
	    "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n"
	    "553 5.1.3 Bad recipient address syntax: missing domain\r\n"
	    "250 2.1.5 Recipient ok\r\n250 2.1.5 Recipient ok\r\n");
	ck_assert_uint_eq(n_create, 1);
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("hello\r\n.\r\nQUIT\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	/* A repeated recipient is kept once; no "for" with two. */
	ck_assert_uint_eq(committed.nrcpt, 2);
	ck_assert_str_eq(committed.rcpt[1].addr, "y@accept.test");
	ck_assert_ptr_null(strstr(slurp(path), "\tfor <"));
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n"
	    "221 2.0.0 Bye\r\n");
	ck_assert(server_closed);
	ck_assert_uint_eq(n_closed, 1);
}
END_TEST

/* Send body (ending with the terminator), expect reply and a rollback. */
static void
refused_body(const char *body, const char *reply)
{
	char path[64];

	start_data(path, sizeof(path));
	expect(body, reply);
	ck_assert_uint_eq(n_commit, 0);
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_str_eq(rolled_back, MSGID);
	unlink(path);
	/* The session goes on. */
	expect("NOOP\r\n", "250 2.0.0 Ok\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "503 5.5.1 Error: need MAIL command\r\n");
}

START_TEST(only_crlf_dot_crlf_ends_data)
{
	/* <LF>.<LF>, <LF>.<CR><LF>, <CR><LF>.<LF>, <CR>.<CR><LF>: none of
	 * them ends the data, and each poisons the message. */
	refused_body("a\n.\nb\n.\r\nc\r\n.\nd\r.\r\ne\r\n.\r\n",
	    "550 5.6.0 Error: bare <LF> received; lines must end with <CR><LF>\r\n");
}
END_TEST

START_TEST(bare_cr_refused)
{
	refused_body("a\r\n.\rb\r\nc\r\n.\r\n",
	    "550 5.6.0 Error: bare <CR> received; lines must end with <CR><LF>\r\n");
}
END_TEST

START_TEST(nul_refused)
{
	/* Sent as bytes: the NUL would end a C string. What follows it up
	 * to <CRLF>.<CRLF> is still message content, never commands. */
	static const char body[] = "Subject: x\r\n\r\na\0b\r\nQUIT\r\n.\r\n";
	char path[64];

	start_data(path, sizeof(path));
	send_bytes(body, sizeof(body) - 1);
	expect_out("550 5.6.0 Error: <NUL> received; message content must "
	    "not contain NUL octets\r\n");
	ck_assert_uint_eq(n_commit, 0);
	ck_assert_uint_eq(n_rollback, 1);
	unlink(path);
	expect("NOOP\r\n", "250 2.0.0 Ok\r\n");
	ck_assert(!server_closed);
}
END_TEST

/* SP or HT first would fold the client's line into our Received:
 * field (RFC 5322 §2.2.3); what follows is read to the real end. */
#define FOLDED_REPLY "550 5.6.0 Error: message begins with a folded line\r\n"

START_TEST(folded_first_line_refused)
{
	refused_body(" (Empath, from userid 0)\r\nSubject: x\r\n\r\nQUIT\r\n.\r\n",
	    FOLDED_REPLY);
}
END_TEST

START_TEST(tab_first_line_refused)
{
	refused_body("\tby evil.example\r\nSubject: x\r\n\r\nb\r\n.\r\n",
	    FOLDED_REPLY);
}
END_TEST

START_TEST(later_folding_and_headerless_accepted)
{
	char path[64];

	/* Folding inside the client's own header is its business. */
	start_data(path, sizeof(path));
	expect("Subject: a\r\n\tb\r\n c\r\n\r\n d\r\n.\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_str_eq(strstr(slurp(path), "+0000\r\n") + 7,
	    "Subject: a\r\n\tb\r\n c\r\n\r\n d\r\n");
	q_commit_ok(commit_id, MSGID);
	expect_out("250 2.0.0 Ok: queued as 01JABCDEFGHJKMNPQRSTVWXYZ0\r\n");
	unlink(path);
	/* A blank first line ends the header: a white space line after it
	 * is body. */
	expect("MAIL FROM:<sender@client.example>\r\n", "250 2.1.0 Sender ok\r\n");
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("\r\n\tbody\r\n.\r\n", "");
	ck_assert_uint_eq(n_commit, 2);
	ck_assert_str_eq(strstr(slurp(path), "+0000\r\n") + 7, "\r\n\tbody\r\n");
	ck_assert_uint_eq(n_rollback, 0);
	unlink(path);
}
END_TEST

START_TEST(long_text_line_refused)
{
	char body[1200];

	memset(body, 'x', 999);
	strcpy(body + 999, "\r\n.\r\n");
	refused_body(body, "550 5.6.0 Error: line longer than 998 characters\r\n");
}
END_TEST

START_TEST(size_limit)
{
	static char body[13000];
	size_t i;

	/* 12000 bytes of content against max-message-size 10000: read to
	 * the end, then 552. */
	for (i = 0; i < 150; i++)
		strcat(body, "0123456789012345678901234567890123456789012345678901234567890123456789012345678\r\n");
	strcat(body, ".\r\n");
	refused_body(body, "552 5.3.4 Error: message too big\r\n");
}
END_TEST

START_TEST(write_error_tempfails)
{
	int fd = open("/dev/full", O_WRONLY);
	static char body[20000];

	ck_assert_int_ne(fd, -1);
	start_transaction();
	q_create_ok(create_id, fd, MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	/* Under the size limit, over one write chunk. */
	for (int i = 0; i < 110; i++)
		strcat(body, "0123456789012345678901234567890123456789012345678901234567890123456789012345678\r\n");
	strcat(body, ".\r\n");
	ck_assert_uint_lt(strlen(body), 10000);
	expect(body, "452 4.3.1 Error: insufficient system storage\r\n");
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_uint_eq(n_commit, 0);
}
END_TEST

START_TEST(empty_message)
{
	char path[64];

	/* The CRLF of the DATA line counts: "." right away ends it. */
	start_data(path, sizeof(path));
	expect(".\r\n", "");
	ck_assert_uint_eq(n_commit, 1);
	ck_assert_uint_eq(committed.size, strlen(slurp(path)));
}
END_TEST

START_TEST(queue_failures)
{
	char path[64];

	/* queued says no to the file: its code and text reach the client. */
	start_transaction();
	q_fail(Q_CREATE_FAIL, create_id, 452, "4.3.1 Error: spool full");
	expect_out("452 4.3.1 Error: spool full\r\n");
	/* A reply that is no SMTP failure becomes a plain tempfail. */
	expect("DATA\r\n", "");
	q_fail(Q_CREATE_FAIL, create_id, 250, "2.0.0 sure\r\n");
	expect_out("451 4.3.0 Error: queue unavailable, try again later\r\n");
	/* queued says no to the commit. */
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("x\r\n.\r\n", "");
	unlink(path);
	q_fail(Q_COMMIT_FAIL, commit_id, 554, "5.3.0 Error: broken envelope");
	expect_out("554 5.3.0 Error: broken envelope\r\n");
	/* The transaction is over; queued rolls back a failed commit. */
	ck_assert_uint_eq(n_rollback, 0);
	expect("DATA\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	/* queued not connected at all. */
	chan_free(fakeq);
	fakeq = NULL;
	pump();
	talk("MAIL FROM:<a@b.example>\r\n");
	talk("RCPT TO:<u@accept.test>\r\n");
	expect("DATA\r\n", "451 4.3.0 Error: queue unavailable, try again later\r\n");
	/* queued is back (restarted by the master). */
	fakeq_connect();
	expect("DATA\r\n", "");
	ck_assert_uint_eq(n_create, 4);
}
END_TEST

START_TEST(stray_and_malformed_replies)
{
	char path[64];

	start_transaction();
	/* A file for a request nobody made: rolled back, not used. */
	q_create_ok(create_id + 100, incoming_file(path, sizeof(path)), MSGID);
	unlink(path);
	expect_out("");
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_str_eq(rolled_back, MSGID);
	/* An id that is no ULID never names a file here. */
	q_create_ok(create_id, incoming_file(path, sizeof(path)), "../../etc/passwd");
	unlink(path);
	expect_out("451 4.3.0 Error: queue unavailable, try again later\r\n");
	ck_assert_uint_eq(n_rollback, 1);
	/* A commit answer for another message: no 250. */
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("x\r\n.\r\n", "");
	unlink(path);
	q_commit_ok(commit_id + 1, MSGID);
	expect_out("");
	q_commit_ok(commit_id, "01JABCDEFGHJKMNPQRSTVWXYZ1");
	expect_out("451 4.3.0 Error: queue unavailable, try again later\r\n");
	/* ... and it is rolled back in case queued kept it. */
	ck_assert_uint_eq(n_rollback, 2);
	ck_assert_str_eq(rolled_back, MSGID);
}
END_TEST

START_TEST(queued_lost_or_replaced)
{
	char path[64];

	/* Lost (and back) while the client sends the message: the file
	 * was the old queued's, so the end of data tempfails. */
	start_data(path, sizeof(path));
	expect("part one\r\n", "");
	chan_free(fakeq);
	pump();
	fakeq_connect();
	expect("part two\r\n.\r\n", "451 4.3.0 Error: queue unavailable, try again later\r\n");
	unlink(path);
	ck_assert_uint_eq(n_commit, 0);
	ck_assert_uint_eq(n_rollback, 0);

	/* Lost while we wait for the commit. */
	talk("MAIL FROM:<a@b.example>\r\n");
	talk("RCPT TO:<u@accept.test>\r\n");
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("x\r\n.\r\n", "");
	unlink(path);
	ck_assert_uint_eq(n_commit, 1);
	chan_free(fakeq);
	fakeq = NULL;
	expect_out("451 4.3.0 Error: queue unavailable, try again later\r\n");

	/* Replaced (the master hands over a new channel) while we wait
	 * for a file: the old request fails, the new queued is used. */
	fakeq_connect();
	talk("MAIL FROM:<a@b.example>\r\n");
	talk("RCPT TO:<u@accept.test>\r\n");
	expect("DATA\r\n", "");
	ck_assert_uint_eq(n_create, 3);
	fakeq_connect();             /* the old end closes by itself */
	expect_out("451 4.3.0 Error: queue unavailable, try again later\r\n");
	expect("DATA\r\n", "");
	ck_assert_uint_eq(n_create, 4);
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	unlink(path);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
}
END_TEST

START_TEST(queued_too_slow)
{
	char path[64];

	qc_timeout_ms = 200;
	start_transaction();
	run_ms(300);
	expect_out("451 4.3.0 Error: queue unavailable, try again later\r\n");
	/* A late file is rolled back. */
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	unlink(path);
	expect_out("");
	ck_assert_uint_eq(n_rollback, 1);
	/* A commit that does not come in time is rolled back, not 250. */
	expect("DATA\r\n", "");
	q_create_ok(create_id, incoming_file(path, sizeof(path)), "01JABCDEFGHJKMNPQRSTVWXYZ2");
	unlink(path);
	expect_out("354 End data with <CR><LF>.<CR><LF>\r\n");
	expect("x\r\n.\r\n", "");
	run_ms(300);
	expect_out("451 4.3.0 Error: queue unavailable, try again later\r\n");
	ck_assert_uint_eq(n_rollback, 2);
	ck_assert_str_eq(rolled_back, "01JABCDEFGHJKMNPQRSTVWXYZ2");
	q_commit_ok(commit_id, "01JABCDEFGHJKMNPQRSTVWXYZ2");
	expect_out("");
}
END_TEST

START_TEST(disconnect_during_data_rolls_back)
{
	char path[64];

	start_data(path, sizeof(path));
	send_str("half a message\r\n");
	close(cli);
	cli = -1;
	pump();
	ck_assert_uint_eq(n_closed, 1);
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_str_eq(rolled_back, MSGID);
	ck_assert_uint_eq(n_commit, 0);
	unlink(path);
}
END_TEST

START_TEST(disconnect_while_waiting)
{
	char path[64];

	start_transaction();
	close(cli);
	cli = -1;
	pump();
	ck_assert_uint_eq(n_closed, 1);
	ck_assert_uint_eq(n_rollback, 0);
	/* The file that comes for the vanished session is rolled back. */
	q_create_ok(create_id, incoming_file(path, sizeof(path)), MSGID);
	unlink(path);
	pump();
	ck_assert_uint_eq(n_rollback, 1);
	ck_assert_str_eq(rolled_back, MSGID);
}
END_TEST

START_TEST(congestion_pauses_reading)
{
	talk("EHLO client.example\r\n");
	smtpd.congested = true;
	session_update_all();
	expect("NOOP\r\n", "");
	smtpd.congested = false;
	session_update_all();
	expect_out("250 2.0.0 Ok\r\n");
}
END_TEST

START_TEST(graceful_stop)
{
	struct session *idle;
	int idle_cli, busy_cli;

	/* One session inside a transaction, one idle. */
	talk("EHLO client.example\r\n");
	talk("MAIL FROM:<a@b.example>\r\n");
	busy_cli = cli;
	idle = connect_from("192.0.2.8", lst);
	idle_cli = cli;
	ck_assert_ptr_nonnull(idle);
	smtpd.stopping = true;
	session_stop_all();
	expect_out("421 4.3.2 mx.test Error: shutting down\r\n");
	ck_assert(server_closed);
	close(idle_cli);
	ck_assert_uint_eq(n_closed, 1);
	/* The open transaction may finish; then it is told too. */
	cli = busy_cli;
	server_closed = false;
	expect("RCPT TO:<u@accept.test>\r\n", "250 2.1.5 Recipient ok\r\n");
	expect("RSET\r\n", "250 2.0.0 Ok\r\n421 4.3.2 mx.test Error: shutting down\r\n");
	ck_assert(server_closed);
	ck_assert_uint_eq(n_closed, 2);
}
END_TEST

START_TEST(command_timeout)
{
	close(cli);
	pump();
	/* The second listener has `timeout command 1s`. */
	S = connect_from("192.0.2.7", lst_fast);
	talk("EHLO client.example\r\n");
	run_ms(1300);
	expect_out("421 4.4.2 mx.test Error: timeout exceeded\r\n");
	ck_assert(server_closed);
}
END_TEST

START_TEST(idle_session_is_small)
{
	talk("EHLO client.example\r\n");
	/* After a command, nothing is buffered or allocated for I/O. */
	ck_assert_ptr_null(S->lio.in);
	ck_assert_ptr_null(S->lio.out);
	ck_assert_ptr_null(S->tx);
	ck_assert_uint_lt(sizeof(struct session), 1024);
}
END_TEST

static Suite *
smtpd_suite(void)
{
	Suite *s = suite_create("smtpd");
	TCase *tc = tcase_create("received");

	tcase_add_test(tc, received_header);
	suite_add_tcase(s, tc);

	tc = tcase_create("session");
	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_test(tc, greeting_and_ehlo);
	tcase_add_test(tc, bad_sequences);
	tcase_add_test(tc, unknown_and_syntax_errors);
	tcase_add_test(tc, line_too_long_goes_on);
	tcase_add_test(tc, too_many_errors);
	tcase_add_test(tc, relay_policy);
	tcase_add_test(tc, recipient_limit);
	tcase_add_test(tc, envelope_memory_bounded);
	tcase_add_test(tc, full_transaction);
	tcase_add_test(tc, pipelining);
	tcase_add_test(tc, only_crlf_dot_crlf_ends_data);
	tcase_add_test(tc, bare_cr_refused);
	tcase_add_test(tc, nul_refused);
	tcase_add_test(tc, folded_first_line_refused);
	tcase_add_test(tc, tab_first_line_refused);
	tcase_add_test(tc, later_folding_and_headerless_accepted);
	tcase_add_test(tc, long_text_line_refused);
	tcase_add_test(tc, size_limit);
	tcase_add_test(tc, write_error_tempfails);
	tcase_add_test(tc, empty_message);
	tcase_add_test(tc, queue_failures);
	tcase_add_test(tc, stray_and_malformed_replies);
	tcase_add_test(tc, queued_lost_or_replaced);
	tcase_add_test(tc, queued_too_slow);
	tcase_add_test(tc, disconnect_during_data_rolls_back);
	tcase_add_test(tc, disconnect_while_waiting);
	tcase_add_test(tc, congestion_pauses_reading);
	tcase_add_test(tc, graceful_stop);
	tcase_add_test(tc, command_timeout);
	tcase_add_test(tc, idle_session_is_small);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(smtpd_suite);
