# SPDX-License-Identifier: ISC
"""8-bit mail to servers with and without 8BITMIME (RFC 6152 3): without
it, the message goes out converted to 7bit (quoted-printable, RFC 2045
6.7) with no BODY=8BITMIME, or, when it cannot be converted, comes back to
the sender with 5.6.3 (RFC 3463)."""

import email
import email.policy
import re
import unittest

from harness import EmpathTestCase, wait_until

SENDER = "sender@sink.test"
RCPT = "rcpt@sink.test"
NO_8BITMIME = ("PIPELINING", "SIZE 104857600")
DSN_CONF = ('dsn {\n\treporting-mta "dsn.example.net"\n'
            '\tpostmaster "postmaster@example.net"\n}\n')

TEXT = ("Grüße aus Köln, naïve café = 100 €  \r\n"
        ".leading dot and a long line: " + "äöü " * 40 + "\r\n"
        "tab at the end\t\r\n").encode("utf-8")
ATTACHMENT = (b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss\r\n"
              b"LS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZ\r\n")


def message(subject=b"greetings"):
    return (b"From: <" + SENDER.encode() + b">\r\n"
            b"To: <" + RCPT.encode() + b">\r\n"
            b"Subject: " + subject + b"\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
            b"\r\n"
            b"--b1\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n"
            b"\r\n" + TEXT +
            b"--b1\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"\r\n" + ATTACHMENT +
            b"--b1--\r\n")


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.compat32)


class EightBitTests(EmpathTestCase):

    def send_8bit(self, e, data):
        with e.smtp() as s:
            s.ehlo()
            refused = s.sendmail(SENDER, [RCPT], data,
                                 mail_options=["BODY=8BITMIME"])
        self.assertEqual(refused, {})

    def mail_commands(self, sink):
        return [c for c in sink.commands if c.upper().startswith("MAIL FROM")]

    def test_converted_for_a_server_without_8bitmime(self):
        sink = self.start_sink(extensions=NO_8BITMIME)
        e = self.empath(sink)
        self.send_8bit(e, message())
        (msg,) = sink.wait_messages(1)
        self.assertTrue(all(b < 0x80 for b in msg.data),
                        "8-bit octets reached a server without 8BITMIME")
        for line in msg.data.split(b"\r\n"):
            self.assertLessEqual(len(line), 998)
        (mail,) = self.mail_commands(sink)
        self.assertNotIn("BODY=", mail.upper())
        size = re.search(r"SIZE=(\d+)", mail)
        self.assertIsNotNone(size, mail)
        self.assertEqual(int(size.group(1)), len(msg.data),
                                "SIZE= is not the size of the converted message")
        m = parse(msg.data)
        text, attachment = m.get_payload()
        self.assertEqual(text["Content-Transfer-Encoding"], "quoted-printable")
        # The CRLF before a boundary belongs to it (RFC 2046 5.1.1).
        self.assertEqual(text.get_payload(decode=True), TEXT[:-2])
        # The base64 part travels byte for byte.
        self.assertIn(b"Content-Transfer-Encoding: base64\r\n\r\n" + ATTACHMENT +
                      b"--b1--\r\n", msg.data)
        self.assertEqual(sink.violations, [])

    def test_8bit_header_is_returned_with_5_6_3(self):
        sink = self.start_sink(extensions=NO_8BITMIME)
        e = self.empath(sink, extra=DSN_CONF)
        self.send_8bit(e, message(subject="Grüße".encode("utf-8")))
        notices = wait_until(
            lambda: [m for m in sink.messages if m.mail_from == ""] or None,
            30, interval=0.1, what="a failure notice")
        self.assertEqual([m for m in sink.messages if m.mail_from != ""], [],
                         "the unconvertible message was delivered")
        (n,) = notices
        self.assertEqual(n.rcpts, [SENDER])
        # The notice itself quotes the 8-bit header: converted too.
        self.assertTrue(all(b < 0x80 for b in n.data))
        report = parse(n.data)
        self.assertEqual(report.get_content_type(), "multipart/report")
        status = report.get_payload()[1].get_payload()
        per = [dict(g.items()) for g in status[1:]]
        self.assertEqual([g["Status"] for g in per], ["5.6.3"])
        self.assertIn("8BITMIME", per[0]["Diagnostic-Code"])

    def test_size_limit_sees_the_converted_size(self):
        """Within the server's SIZE limit as received, over it once
        quoted-printable: 5.3.4 before anything is sent."""
        data = message().replace(TEXT, ("é" * 400 + "\r\n").encode("utf-8") * 8)
        limit = len(data) + 2000          # the Received: header fits
        sink = self.start_sink(extensions=("PIPELINING", f"SIZE {limit}"))
        e = self.empath(sink, extra=DSN_CONF)
        self.send_8bit(e, data)
        (n,) = wait_until(
            lambda: [m for m in sink.messages if m.mail_from == ""] or None,
            30, interval=0.1, what="a failure notice")
        self.assertEqual([m for m in sink.messages if m.mail_from != ""], [])
        status = parse(n.data).get_payload()[1].get_payload()
        self.assertEqual([dict(g.items())["Status"] for g in status[1:]],
                         ["5.3.4"])

    def test_unchanged_for_a_server_with_8bitmime(self):
        sink = self.start_sink()
        e = self.empath(sink)
        data = message()
        self.send_8bit(e, data)
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, data)
        (mail,) = self.mail_commands(sink)
        self.assertIn("BODY=8BITMIME", mail.upper())

    def test_7bit_content_goes_as_it_is(self):
        """Declared 8BITMIME, but every octet is 7-bit: no conversion,
        no BODY= either."""
        sink = self.start_sink(extensions=NO_8BITMIME)
        e = self.empath(sink)
        data = message().replace(TEXT, b"plain ascii = text\r\n")
        self.send_8bit(e, data)
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, data)
        (mail,) = self.mail_commands(sink)
        self.assertNotIn("BODY=", mail.upper())


if __name__ == "__main__":
    unittest.main()
