# SPDX-License-Identifier: ISC
"""smtpd's ESMTP extensions on the wire: the EHLO offer, BDAT/CHUNKING
(one chunk, many pipelined chunks, DATA refused inside, chunk content
never executed), DSN parameters, SMTPUTF8, 8BITMIME, and PIPELINING with
swaks."""

import smtplib
import subprocess
import time
import unittest

from harness import swaks_path
from smtptest import SmtpCase


class EhloTests(SmtpCase):

    def test_extensions_offered(self):
        e = self.empath()
        c = self.connect(e)
        code, lines = self.expect(c, "ehlo client.test", 250)
        for ext in ("PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                    "CHUNKING", "DSN"):
            self.assertIn(ext, lines)
        self.assertTrue(any(l.startswith("SIZE ") for l in lines), lines)
        self.assertNotIn("STARTTLS", lines, "STARTTLS offered without a certificate")
        # Every reply but greeting and EHLO/HELO has an enhanced code.
        for line, want in (("NOOP", 250), ("VRFY postmaster", 252), ("HELP", 214),
                           ("EXPN staff", 502), ("FROB", 500), ("RSET x", 501)):
            code, text = self.expect(c, line, want)
            self.assertRegex(text[0], r"^[245]\.\d{1,3}\.\d{1,3} ", line)


class BdatTests(SmtpCase):

    def test_single_chunk(self):
        sink = self.start_sink()
        e = self.empath(sink)
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.transaction(c, "bdat@sink.test", ["bdat@sink.test"])
        body = b"Subject: chunked\r\n\r\n.leading dot, not stuffed\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        code, text = c.reply()
        self.assertEqual(code, 250, text)
        self.assertRegex(text[0], r"queued as [0-9A-Z]{26}")
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, body)

    def test_pipelined_chunks_content_never_executed(self):
        sink = self.start_sink()
        e = self.empath(sink)
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        chunks = [b"Subject: chunks\r\n\r\nline one\r\nQUIT\r\n",
                  b"RSET\r\nMAIL FROM:<evil@sink.test>\r\n",
                  b"", b"last line\r\n"]
        data = b"MAIL FROM:<c@sink.test>\r\nRCPT TO:<c@sink.test>\r\n"
        for i, ch in enumerate(chunks):
            last = b" LAST" if i == len(chunks) - 1 else b""
            data += b"BDAT %d%s\r\n" % (len(ch), last) + ch
        c.send(data + b"NOOP\r\n")
        replies = [c.reply() for _ in range(7)]
        codes = [r[0] for r in replies]
        self.assertEqual(codes, [250] * 7, replies)
        self.assertIn("queued as", replies[5][1][0])
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, b"".join(chunks))
        self.assertEqual(msg.mail_from, "c@sink.test")

    def test_data_inside_bdat_and_bdat_out_of_sequence(self):
        sink = self.start_sink()
        e = self.empath(sink)
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        # Out of sequence: refused, but the 10 octets are still read.
        c.send(b"BDAT 10\r\nQUIT\r\nNOOP")
        code, text = c.reply()
        self.assertEqual(code, 503, text)
        self.expect(c, "NOOP", 250, "session after a refused chunk")
        self.transaction(c, "b@sink.test", ["b@sink.test"])
        c.send(b"BDAT 4\r\nab\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.expect(c, "DATA", 503, "DATA after BDAT")
        c.send(b"BDAT 0 LAST\r\n")
        self.assertEqual(c.reply()[0], 250)
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, b"ab\r\n")

    def test_chunk_over_size_limit(self):
        sink = self.start_sink()
        e = self.empath(sink, listen_opts=["max-message-size 8K"])
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.transaction(c, "big@sink.test", ["big@sink.test"])
        big = (b"x" * 98 + b"\r\n") * 100
        c.send(b"BDAT %d\r\n" % len(big) + big + b"BDAT 3 LAST\r\nab\n")
        code, text = c.reply()
        self.assertEqual(code, 552, text)
        code, text = c.reply()
        self.assertEqual(code, 503, f"a chunk after a failed one: {code} {text}")
        self.expect(c, "QUIT", 221)
        time.sleep(1.0)
        self.assertEqual(sink.messages, [])


class ParameterTests(SmtpCase):

    def test_dsn_parameters_accepted_and_checked(self):
        sink = self.start_sink()
        e = self.empath(sink)
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "MAIL FROM:<d@sink.test> RET=EVERYTHING", 501)
        self.expect(c, "MAIL FROM:<d@sink.test> ENVID=a+0Db", 501)
        self.expect(c, "MAIL FROM:<d@sink.test> RET=HDRS ENVID=id+2B1", 250)
        self.expect(c, "RCPT TO:<d@sink.test> NOTIFY=NEVER,SUCCESS", 501)
        # ORCPT is informational (RFC 3461 §4.2): a malformed one is dropped.
        self.expect(c, "RCPT TO:<d@sink.test> ORCPT=nonsense", 250)
        self.expect(c, "RCPT TO:<d@sink.test> NOTIFY=SUCCESS,DELAY "
                       "ORCPT=rfc822;d+40sink.test", 250)
        self.expect(c, "DATA", 354)
        c.send(b"Subject: dsn\r\n\r\nx\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        sink.wait_messages(1)

    def test_smtputf8_and_8bitmime_with_smtplib(self):
        sink = self.start_sink()
        e = self.empath(sink)
        with smtplib.SMTP("127.0.0.1", e.port, local_hostname="client.test",
                          timeout=20) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("smtputf8"))
            s.command_encoding = "utf-8"   # smtplib would refuse to send it
            code, _ = s.mail("jörg@sink.test")
            self.assertEqual(code, 553, "UTF-8 sender without SMTPUTF8")
            s.rset()
            code, _ = s.mail("jörg@sink.test", ["SMTPUTF8", "BODY=8BITMIME"])
            self.assertEqual(code, 250)
            code, _ = s.rcpt("用户@sink.test")
            self.assertEqual(code, 250)
            code, _ = s.data("Subject: été\r\n\r\nÄpfel\r\n".encode())
            self.assertEqual(code, 250)

    def test_8bit_body_kept_exactly(self):
        sink = self.start_sink()
        e = self.empath(sink)
        body = "Subject: 8bit\r\n\r\nÄpfel und Birnen\r\n".encode()
        e.send("eight@sink.test", ["eight@sink.test"], body)
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, body)


class PipeliningTests(SmtpCase):

    def test_swaks_pipelining(self):
        swaks = swaks_path()
        if swaks is None:
            self.skipTest("swaks is not installed (scripts/deps.sh installs it)")
        sink = self.start_sink()
        e = self.empath(sink)
        r = subprocess.run([swaks, "-s", "127.0.0.1", "-p", str(e.port), "--pipeline",
                            "--ehlo", "client.test", "-f", "pipe@sink.test",
                            "-t", "p1@sink.test,p2@sink.test"],
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("PIPELINING", r.stdout)
        sink.wait_rcpts(["p1@sink.test", "p2@sink.test"])

    def test_many_commands_in_one_write(self):
        e = self.empath()
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        # 300 commands at once: all answered, in order, none lost.
        c.send(b"".join(b"NOOP %d\r\n" % i for i in range(300)) + b"QUIT\r\n")
        codes = [c.reply()[0] for _ in range(301)]
        self.assertEqual(codes, [250] * 300 + [221])


if __name__ == "__main__":
    unittest.main()
