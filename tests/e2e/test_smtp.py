# SPDX-License-Identifier: ISC
"""smtpd's side of the protocol, seen by a client on the wire: reply codes,
the transaction state machine, the end of data, limits and relay policy."""

import re
import unittest

from harness import HOSTNAME, EmpathTestCase, RawSMTP, split_received

ULID = r"[0-9A-HJKMNP-TV-Z]{26}"


class SmtpTestCase(EmpathTestCase):

    def connect(self, e):
        c = RawSMTP(e.port)
        self.addCleanup(c.close)
        code, _ = c.greeting
        self.assertEqual(code, 220, f"greeting {c.greeting}")
        return c

    def expect(self, c, line, codes, what=None):
        code, text = c.cmd(line)
        if isinstance(codes, int):
            codes = (codes,)
        self.assertIn(code, codes, f"{what or line!r}: got {code} {text}")
        return code, text


class ProtocolTests(SmtpTestCase):

    def test_greeting_and_ehlo_name_the_host(self):
        e = self.empath()
        c = self.connect(e)
        self.assertTrue(c.greeting[1][0].startswith(HOSTNAME), c.greeting)
        code, lines = self.expect(c, "EHLO client.test", 250)
        self.assertTrue(lines[0].startswith(HOSTNAME), lines)
        self.expect(c, "HELO client.test", 250)
        self.expect(c, "QUIT", 221)

    def test_unknown_command_gets_500_and_session_continues(self):
        e = self.empath()
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "FROBNICATE now", 500)
        self.expect(c, "NOOP", 250, "NOOP after an unknown command")

    def test_commands_out_of_sequence_get_503(self):
        e = self.empath()
        c = self.connect(e)
        self.expect(c, "MAIL FROM:<sender@sink.test>", 503, "MAIL before EHLO/HELO")
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "RCPT TO:<rcpt@sink.test>", 503, "RCPT before MAIL")
        self.expect(c, "DATA", 503, "DATA before MAIL")
        self.expect(c, "MAIL FROM:<sender@sink.test>", 250)
        self.expect(c, "MAIL FROM:<sender@sink.test>", 503, "MAIL inside a transaction")
        self.expect(c, "DATA", (503, 554), "DATA without a recipient")
        self.expect(c, "NOOP", 250)

    def test_rset_clears_the_transaction(self):
        sink = self.start_sink()
        e = self.empath(sink)
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "MAIL FROM:<first@sink.test>", 250)
        self.expect(c, "RCPT TO:<dropped@sink.test>", 250)
        self.expect(c, "RSET", 250)
        self.expect(c, "DATA", (503, 554), "DATA after RSET")
        self.expect(c, "MAIL FROM:<second@sink.test>", 250, "MAIL after RSET")
        self.expect(c, "RCPT TO:<kept@sink.test>", 250)
        self.expect(c, "DATA", 354)
        c.send(b"Subject: after rset\r\n\r\nbody\r\n.\r\n")
        code, text = c.reply()
        self.assertEqual(code, 250, text)
        self.assertRegex(text[-1], r"queued as " + ULID)
        self.expect(c, "QUIT", 221)
        (msg,) = sink.wait_messages(1)
        self.assertEqual(msg.mail_from, "second@sink.test")
        self.assertEqual(msg.rcpts, ["kept@sink.test"])

    def test_pipelined_commands_are_answered_in_order(self):
        sink = self.start_sink()
        e = self.empath(sink)
        c = self.connect(e)
        code, lines = self.expect(c, "EHLO client.test", 250)
        self.assertIn("PIPELINING", lines)
        c.send("MAIL FROM:<pipe@sink.test>\r\nRCPT TO:<p1@sink.test>\r\n"
               "RCPT TO:<p2@sink.test>\r\nRCPT TO:<p3@sink.test>\r\nDATA\r\n")
        codes = [c.reply()[0] for _ in range(5)]
        self.assertEqual(codes, [250, 250, 250, 250, 354])
        c.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        self.assertEqual([c.reply()[0] for _ in range(4)], [250, 250, 250, 221])
        sink.wait_rcpts(["p1@sink.test", "p2@sink.test", "p3@sink.test"])

    def test_empty_message_is_delivered(self):
        sink = self.start_sink()
        e = self.empath(sink)
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "MAIL FROM:<empty@sink.test>", 250)
        self.expect(c, "RCPT TO:<empty@sink.test>", 250)
        self.expect(c, "DATA", 354)
        c.send(b".\r\n")
        code, text = c.reply()
        self.assertEqual(code, 250, text)
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, b"")

    def test_noop_and_quit(self):
        e = self.empath()
        c = self.connect(e)
        self.expect(c, "NOOP", 250)
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "NOOP", 250)
        self.expect(c, "QUIT", 221)
        with self.assertRaises(ConnectionError, msg="connection open after QUIT"):
            c._line()

    def test_only_crlf_dot_crlf_ends_data(self):
        sink = self.start_sink()
        e = self.empath(sink)
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "MAIL FROM:<sender@sink.test>", 250)
        self.expect(c, "RCPT TO:<smuggle@sink.test>", 250)
        self.expect(c, "DATA", 354)
        # Dots after bare LF or bare CR are not the end of data (this is
        # what SMTP smuggling abuses).
        c.send(b"Subject: smuggling\r\n\r\none\n.\ntwo\r.\r\nthree\n.\r\n"
               b"MAIL FROM:<evil@sink.test>\r\nfour\r\n")
        self.assertTrue(c.nothing_pending(1.0),
                        "smtpd answered before <CRLF>.<CRLF>: a bare LF/CR dot ended the data")
        c.send(b".\r\n")
        code, text = c.reply()
        self.assertIn(code, (250, 550, 554), f"end of data: {code} {text}")
        self.assertTrue(c.nothing_pending(0.5), "more than one reply to one DATA")
        self.expect(c, "QUIT", 221)
        if code == 250:
            (msg,) = sink.wait_messages(1)
            _, rest = split_received(msg.data)
            self.assertIn(b"four\r\n", rest)
            self.assertEqual(msg.mail_from, "sender@sink.test")

    def test_overlong_command_line_is_refused_without_crash(self):
        e = self.empath()
        smtpd = e.daemon_pids()["smtpd"]
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        c.send("NOOP " + "x" * 5000 + "\r\n")
        try:
            code, text = c.reply()
            self.assertIn(code, (500, 501), f"overlong line: {code} {text}")
        except ConnectionError:
            pass   # dropping such a client is acceptable too
        c2 = self.connect(e)
        self.expect(c2, "EHLO client.test", 250)
        self.assertEqual(e.daemon_pids().get("smtpd"), smtpd, "smtpd died")

    def test_message_size_limit(self):
        sink = self.start_sink()
        e = self.empath(sink, listen_opts=["max-message-size 10K"])
        c = self.connect(e)
        code, lines = self.expect(c, "EHLO client.test", 250)
        size = [l for l in lines if re.match(r"(?i)SIZE\b", l)]
        if size:   # RFC 1870: advertised limit, and SIZE= checked at MAIL
            self.assertEqual(size[0].split()[1:], ["10240"], lines)
            self.expect(c, "MAIL FROM:<big@sink.test> SIZE=20000", 552,
                        "MAIL with SIZE over the limit")
        self.expect(c, "MAIL FROM:<big@sink.test>", 250)
        self.expect(c, "RCPT TO:<big@sink.test>", 250)
        self.expect(c, "DATA", 354)
        c.send(b"Subject: too big\r\n\r\n" + (b"x" * 78 + b"\r\n") * 300 + b".\r\n")
        code, text = c.reply()
        self.assertEqual(code, 552, f"oversized message: {code} {text}")
        self.expect(c, "NOOP", 250, "session after an oversized message")
        self.expect(c, "QUIT", 221)
        self.assertEqual(sink.messages, [])

    def test_recipient_limit(self):
        e = self.empath(self.start_sink(), listen_opts=["max-recipients 3"])
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "MAIL FROM:<sender@sink.test>", 250)
        for i in range(3):
            self.expect(c, f"RCPT TO:<r{i}@sink.test>", 250)
        self.expect(c, "RCPT TO:<r3@sink.test>", 452, "recipient over max-recipients")


class RelayPolicyTests(SmtpTestCase):

    def test_client_outside_relay_from_is_refused_for_foreign_domain(self):
        for relay_from in (("192.0.2.0/24",), ()):
            with self.subTest(relay_from=relay_from):
                sink = self.start_sink()
                e = self.empath(sink, relay_from=relay_from)
                c = self.connect(e)
                self.expect(c, "EHLO client.test", 250)
                self.expect(c, "MAIL FROM:<someone@outside.example>", 250)
                code, text = self.expect(c, "RCPT TO:<victim@elsewhere.example>", 554)
                self.assertTrue(text[0].startswith("5.7.1"), text)
                # A domain with `accept` takes mail from anyone (any case).
                self.expect(c, "RCPT TO:<user@Sink.TEST>", 250)
                self.expect(c, "DATA", 354)
                c.send(b"Subject: accepted\r\n\r\nfor an accept domain\r\n.\r\n")
                code, text = c.reply()
                self.assertEqual(code, 250, text)
                self.expect(c, "QUIT", 221)
                (msg,) = sink.wait_messages(1)
                self.assertEqual([r.lower() for r in msg.rcpts], ["user@sink.test"])
                e.stop()

    def test_client_inside_relay_from_may_relay(self):
        e = self.empath(self.start_sink(), relay_from=("127.0.0.1/32",))
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "MAIL FROM:<someone@sink.test>", 250)
        self.expect(c, "RCPT TO:<anyone@elsewhere.example>", 250)
        self.expect(c, "RSET", 250)   # no DATA: nothing to deliver, no DNS
        self.expect(c, "QUIT", 221)


if __name__ == "__main__":
    unittest.main()
