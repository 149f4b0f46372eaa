# SPDX-License-Identifier: ISC
"""Internationalised domains (IDNA2008, RFC 5890; RFC 6531): deliverd
looks a UTF-8 domain up in DNS by its A-label, hands the address on as
written to a next hop with SMTPUTF8, and as local-part@A-label to one
without it when the local part is ASCII; a name that is no valid IDN
fails for good."""

import re
import unittest

from test_deliver_dns import DNSCase

SENDER = "sender@client.test"
BODY = b"Subject: idn\r\n\r\nto a domain in UTF-8\r\n"
ALABEL = "xn--bcher-kva.test"
NO_UTF8 = ("8BITMIME", "PIPELINING", "SIZE 104857600")
UTF8 = NO_UTF8 + ("SMTPUTF8",)
# The log keeps UTF-8 as it is.
JOERG_LOG = r"jörg@bücher\.test"


class IDNTests(DNSCase):

    def zone(self):
        self.dns.mx(ALABEL, (10, f"mx.{ALABEL}"))
        self.dns.addr(f"mx.{ALABEL}", "127.0.0.1")

    def submit(self, mail_from, rcpt):
        with self.e.smtp() as s:
            s.ehlo()
            s.sendmail(mail_from, [rcpt], BODY, mail_options=["SMTPUTF8"])

    def test_utf8_address_reaches_an_smtputf8_next_hop(self):
        self.zone()
        self.start(extensions=UTF8)
        self.submit(SENDER, "jörg@bücher.test")
        (msg,) = self.sink.wait_messages(1)
        self.assertEqual(msg.rcpts, ["jörg@bücher.test"])
        (mail,) = [c for c in self.sink.commands if c.startswith("MAIL")]
        self.assertIn(" SMTPUTF8", mail)
        self.wait_log(rf"to=<{JOERG_LOG}>, relay=mx\.{re.escape(ALABEL)}"
                      rf"\[127\.0\.0\.1\]:{self.sink.port}, .*status=sent")

    def test_ascii_local_part_goes_as_alabel_without_smtputf8(self):
        self.zone()
        self.start(extensions=NO_UTF8)
        self.submit("from@bücher.test", "user@bücher.test")
        (msg,) = self.sink.wait_messages(1)
        self.assertEqual(msg.rcpts, [f"user@{ALABEL}"])
        self.assertEqual(msg.mail_from, f"from@{ALABEL}")
        self.assertIn(f"RCPT TO:<user@{ALABEL}>", self.sink.commands)
        (mail,) = [c for c in self.sink.commands if c.startswith("MAIL")]
        self.assertNotIn("SMTPUTF8", mail)
        self.wait_log(r"to=<user@b\S*cher\.test>, relay=.*status=sent")

    def test_utf8_header_needs_smtputf8(self):
        # RFC 6532 headers cannot go to a server without SMTPUTF8, even
        # when every address can be written in ASCII.
        self.zone()
        self.start(extensions=NO_UTF8)
        with self.e.smtp() as s:
            s.ehlo()
            s.sendmail(SENDER, ["user@bücher.test"],
                       "Subject: Grüße\r\n\r\nbody\r\n".encode(),
                       mail_options=["SMTPUTF8"])
        self.wait_log(r"to=<user@b\S*cher\.test>, .*dsn=5\.6\.7, status=bounced "
                      r"\(5\.6\.7 .*does not support SMTPUTF8, which the header")
        self.assertEqual(self.sink.messages, [])

    def test_utf8_local_part_still_needs_smtputf8(self):
        self.zone()
        self.start(extensions=NO_UTF8)
        self.submit(SENDER, "jörg@bücher.test")
        self.wait_log(rf"to=<{JOERG_LOG}>, .*dsn=5\.6\.7, status=bounced "
                      r"\(5\.6\.7 .*does not support SMTPUTF8")
        self.assertEqual(self.sink.messages, [])

    def test_invalid_idn_is_refused_without_a_query(self):
        self.start(extensions=UTF8)
        # U+2603 SNOWMAN is DISALLOWED in IDNA2008: smtpd refuses it at
        # RCPT, before anything is queued (deliverd's own 5.1.2 for such
        # a name is covered by test_deliverd_dns).
        with self.e.smtp() as s:
            s.ehlo()
            self.assertEqual(s.mail(SENDER, ["SMTPUTF8"])[0], 250)
            code, text = s.rcpt("user@\u2603.test")
            self.assertEqual(code, 553)
            self.assertIn(b"5.1.3", text)
        # Refused before any lookup: no MX question was asked.
        self.assertNotRegex(self.e.log(), r"deliverd\[\d+\]: debug: DNS: \S+ MX:")

if __name__ == "__main__":
    unittest.main()
