# SPDX-License-Identifier: ISC
"""A real Postfix relays into Empath (relayhost, or a transport over
verified STARTTLS), which delivers to the sink: the bytes, the trace
headers, the DSN parameters and SMTPUTF8 addresses must come through."""

import re
import unittest

from pflab import PF_HOSTNAME, PostfixLab, split_trace, unique

HOSTNAME = "test.empath.local"


def message(rcpt, subject, body):
    return (f"From: sender@pf.test\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
            f"Date: Sun, 06 Dec 2026 01:00:00 +0000\r\n"
            f"Message-ID: <{subject}@pf.test>\r\n\r\n").encode() + body


# Bytes that a careless relay changes: a lone dot, a dot-stuffed line,
# trailing white space, an empty line before the end, a long line.
TRICKY = (b"first line\r\n.\r\n..two dots\r\n.leading dot\r\ntrailing space  \r\n"
          b"\ttab line\r\n" + b"x" * 900 + b"\r\n\r\nlast\r\n")


class PostfixToEmpathTest(PostfixLab):

    def queue_id(self, reply):
        m = re.search(r"queued as (\w+)", reply)
        self.assertIsNotNone(m, f"no queue id in Postfix's reply {reply!r}")
        return m.group(1)

    def test_plain_relay_keeps_the_bytes(self):
        rcpt = unique("plain") + "@sink.test"
        msg = message(rcpt, "plain", TRICKY)
        self.to_postfix("sender@pf.test", [rcpt], msg)
        (got,) = self.sink_messages(rcpt)
        self.assertEqual(got.mail_from, "sender@pf.test")
        self.assertEqual(got.rcpts, [rcpt])
        traces, rest = split_trace(got.data)
        self.assertEqual(rest, msg, "the body changed on the way Postfix -> Empath")
        self.assertEqual(len(traces), 2, traces)
        self.assertIn(f"by {HOSTNAME} (Empath) with ESMTP ", traces[0])
        self.assertIn(f"from {PF_HOSTNAME} ", traces[0])
        self.assertNotIn("using TLS", traces[0])
        self.assertIn(f"by {PF_HOSTNAME} (Postfix)", traces[1])
        self.postfix.wait_log(rf"to=<{re.escape(rcpt)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                              rf"{self.empath.port}, .*status=sent \(250 ")

    def test_starttls_verified_by_postfix(self):
        rcpt = "tls@sink.test"      # Postfix's transport map: verified TLS
        msg = message(rcpt, "tls", b"over verified TLS\r\n")
        self.to_postfix("sender@pf.test", [rcpt], msg)
        (got,) = self.sink_messages(rcpt)
        traces, rest = split_trace(got.data)
        self.assertEqual(rest, msg)
        self.assertRegex(traces[0], r"\(using TLSv1\.[23] with cipher \S+ \(\d+ bits\)\)")
        self.assertIn(f"by {HOSTNAME} (Empath) with ESMTPS ", traces[0])
        self.postfix.wait_log(r"Verified TLS connection established to "
                              rf"localhost\[127\.0\.0\.1\]:{self.empath.port}: TLSv1\.[23]")
        self.postfix.wait_log(rf"to=<{rcpt}>, relay=localhost\[127\.0\.0\.1\]:"
                              rf"{self.empath.port}, .*status=sent")

    def test_dsn_parameters_pass_through(self):
        # RFC 3461: RET, ENVID, NOTIFY and ORCPT given to Postfix reach
        # Empath, and Empath hands them to the next DSN-capable hop.
        local = unique("dsn")
        rcpt = f"{local}@sink.test"
        envid = f"ENV-{local}"
        reply = self.to_postfix("sender@pf.test", [rcpt], message(rcpt, "dsn", b"dsn\r\n"),
                                mail_options=["RET=HDRS", f"ENVID={envid}"],
                                rcpt_options=["NOTIFY=SUCCESS,FAILURE",
                                              f"ORCPT=rfc822;orig-{local}@sink.test"])
        qid = self.queue_id(reply)
        self.sink_messages(rcpt)
        # Postfix saw a DSN-capable Empath: it sent no "relayed" notice.
        self.postfix.wait_log(rf"{qid}: removed")
        self.assertIsNone(re.search(rf"{qid}: sender delivery status notification",
                                    self.postfix.log()),
                          "Postfix sent a relayed notice: Empath did not offer DSN")
        mails = [c for c in self.sink_commands("MAIL FROM:") if f"ENVID={envid}" in c]
        self.assertTrue(mails, f"ENVID did not reach the sink: {self.sink_commands('MAIL')}")
        self.assertIn("RET=HDRS", mails[-1].upper())
        rcpts = [c for c in self.sink_commands("RCPT TO:") if rcpt in c]
        self.assertTrue(rcpts)
        self.assertRegex(rcpts[-1], r"(?i) NOTIFY=SUCCESS,FAILURE( |$)")
        self.assertRegex(rcpts[-1], rf"(?i) ORCPT=rfc822;orig-{local}@sink\.test( |$)")

    def test_smtputf8_recipient_with_utf8_orcpt(self):
        # RFC 6531 addresses; the ORCPT carries the UTF-8 octets in xtext
        # (RFC 3461 section 4), as Postfix passes it on.
        rcpt = "jörg@bücher.test"
        msg = ("From: sender@pf.test\r\nTo: jörg@bücher.test\r\nSubject: Grüße\r\n"
               "Date: Sun, 06 Dec 2026 01:00:00 +0000\r\nMessage-ID: <utf8@pf.test>\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße an Jörg\r\n").encode()
        reply = self.to_postfix("sender@pf.test", [rcpt], msg,
                                mail_options=["SMTPUTF8", "BODY=8BITMIME"],
                                rcpt_options=["NOTIFY=FAILURE",
                                              "ORCPT=rfc822;j+C3+B6rg@b+C3+BCcher.test"])
        self.queue_id(reply)
        (got,) = self.sink_messages(rcpt)
        self.assertIn(got.rcpts[0], (rcpt, "jörg@xn--bcher-kva.test"))
        traces, rest = split_trace(got.data)
        self.assertEqual(rest, msg)
        self.assertIn("with UTF8SMTP", traces[0])


    def test_8bitmime_body_passes_unchanged(self):
        # RFC 6152: Postfix sends BODY=8BITMIME to Empath, which offers
        # 8BITMIME; the sink offers it too, so the 8-bit octets go on as
        # they are, with BODY=8BITMIME on Empath's MAIL.
        sender = unique("eightfrom") + "@pf.test"
        rcpt = unique("eight") + "@sink.test"
        body = ("Grüße aus Köln – ünïcödé ✓\r\n" * 3).encode() + \
            b"latin-1 \xe9t\xe9 \xff\r\n" + "é".encode() * 400 + b"\r\n.\r\n"
        msg = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: 8bit\r\n"
               "Date: Sun, 06 Dec 2026 01:00:00 +0000\r\n"
               f"Message-ID: <{rcpt}>\r\nMIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + body
        self.to_postfix(sender, [rcpt], msg, mail_options=["BODY=8BITMIME"])
        (got,) = self.sink_messages(rcpt)
        traces, rest = split_trace(got.data)
        self.assertEqual(rest, msg, "the 8-bit body changed on the way Postfix -> Empath")
        self.assertEqual(len(traces), 2, traces)
        self.assertIn(f"by {HOSTNAME} (Empath) with ESMTP ", traces[0])
        self.assertIn(f"from {PF_HOSTNAME} ", traces[0])
        mails = [c for c in self.sink_commands("MAIL FROM:") if f"<{sender}>" in c]
        self.assertEqual(len(mails), 1, mails)
        self.assertRegex(mails[0], r"(?i) BODY=8BITMIME( |$)")
        self.postfix.wait_log(rf"to=<{re.escape(rcpt)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                              rf"{self.empath.port}, .*status=sent \(250 ")


if __name__ == "__main__":
    unittest.main()
