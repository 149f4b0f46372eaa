# SPDX-License-Identifier: ISC
"""DSN requests travel with the message (RFC 3461 5.2): to a next hop
that offers DSN, MAIL carries RET and ENVID and each RCPT its NOTIFY and
ORCPT (xtext, RFC 6533 utf-8-addr-xtext for UTF-8 addresses, the
recipient itself when the sender gave no ORCPT); to one without DSN none
of them goes."""

import json
import re
import unittest

from harness import EmpathTestCase, wait_until

SENDER = "sender@client.test"
BODY = b"Subject: dsn\r\n\r\nnotify me\r\n"
DSN_EXT = ("8BITMIME", "PIPELINING", "SIZE 104857600", "DSN")


class DSNPassingTests(EmpathTestCase):

    def submit(self, e, rcpts, mail_options=(), utf8=False):
        """rcpts: [(address, [rcpt options])]"""
        with e.smtp() as s:
            s.ehlo()
            if not s.has_extn("dsn"):
                self.skipTest("smtpd does not offer DSN")
            opts = list(mail_options) + (["SMTPUTF8"] if utf8 else [])
            code, text = s.mail(SENDER, opts)
            self.assertEqual(code, 250, text)
            for addr, ro in rcpts:
                code, text = s.rcpt(addr, ro)
                self.assertEqual(code, 250, text)
            code, text = s.data(BODY)
            self.assertEqual(code, 250, text)

    def cmds(self, sink, verb):
        return [c for c in sink.commands if c.upper().startswith(verb)]

    def test_parameters_go_to_a_dsn_next_hop(self):
        sink = self.start_sink(extensions=DSN_EXT)
        e = self.empath(sink)
        self.submit(e, [("a@sink.test", ["NOTIFY=SUCCESS,FAILURE",
                                         "ORCPT=rfc822;orig+2Bx@client.test"]),
                        ("b@sink.test", ["NOTIFY=NEVER"]),
                        ("c@sink.test", [])],
                    mail_options=["RET=HDRS", "ENVID=env+2B1+3Dx"])
        sink.wait_rcpts(["a@sink.test", "b@sink.test", "c@sink.test"])
        (mail,) = self.cmds(sink, "MAIL")[:1]
        self.assertRegex(mail, r"^MAIL FROM:<sender@client\.test>.* RET=HDRS "
                               r"ENVID=env\+2B1\+3Dx$")
        rc = self.cmds(sink, "RCPT")
        self.assertIn("RCPT TO:<a@sink.test> NOTIFY=SUCCESS,FAILURE "
                      "ORCPT=rfc822;orig+2Bx@client.test", rc)
        self.assertIn("RCPT TO:<b@sink.test> NOTIFY=NEVER ORCPT=rfc822;b@sink.test", rc)
        # No ORCPT given: the recipient as received (RFC 3461 4.2).
        self.assertIn("RCPT TO:<c@sink.test> ORCPT=rfc822;c@sink.test", rc)
        for c in rc + self.cmds(sink, "MAIL"):
            self.assertLess(len(c.encode()) + 2, 1000)

    def test_utf8_orcpt_is_utf8_addr_xtext(self):
        sink = self.start_sink(extensions=DSN_EXT + ("SMTPUTF8",))
        e = self.empath(sink)
        self.submit(e, [("jörg@sink.test", ["NOTIFY=FAILURE"])], utf8=True)
        sink.wait_rcpts(["jörg@sink.test"])
        self.assertIn("RCPT TO:<jörg@sink.test> NOTIFY=FAILURE "
                      "ORCPT=utf-8;j\\x{F6}rg@sink.test", self.cmds(sink, "RCPT"))

    def test_nothing_goes_to_a_next_hop_without_dsn(self):
        sink = self.start_sink()
        e = self.empath(sink)
        self.submit(e, [("a@sink.test", ["NOTIFY=SUCCESS,DELAY",
                                         "ORCPT=rfc822;orig@client.test"])],
                    mail_options=["RET=FULL", "ENVID=abc"])
        sink.wait_rcpts(["a@sink.test"])
        for c in self.cmds(sink, "MAIL") + self.cmds(sink, "RCPT"):
            for p in ("RET=", "ENVID=", "NOTIFY=", "ORCPT="):
                self.assertNotIn(p, c.upper())

    def test_long_orcpt_is_dropped_rather_than_exceed_the_line(self):
        sink = self.start_sink(extensions=DSN_EXT + ("SMTPUTF8",))
        e = self.empath(sink)
        # Raw UTF-8 takes 2 octets per "ü" here, its xtext 6 (\x{FC}):
        # 200 of them make a RCPT line over 1000 octets, 50 do not.
        long_ = "utf-8;" + "ü" * 200 + "@client.test"
        short = "utf-8;" + "ü" * 50 + "@client.test"
        self.submit(e, [("long@sink.test", ["NOTIFY=FAILURE", "ORCPT=" + long_]),
                        ("short@sink.test", ["NOTIFY=FAILURE", "ORCPT=" + short])],
                    utf8=True)
        sink.wait_rcpts(["long@sink.test", "short@sink.test"])
        rc = self.cmds(sink, "RCPT")
        # NOTIFY still goes; only ORCPT stays home.
        self.assertIn("RCPT TO:<long@sink.test> NOTIFY=FAILURE", rc)
        self.assertIn("RCPT TO:<short@sink.test> NOTIFY=FAILURE ORCPT=utf-8;" +
                      "\\x{FC}" * 50 + "@client.test", rc)
        for c in rc:
            self.assertLess(len(c.encode()) + 2, 1000)

    def test_success_notify_to_a_dsn_hop_gets_no_relayed_notice(self):
        sink = self.start_sink(extensions=DSN_EXT)
        sink.rcpt_reply("bad@sink.test", 550, "5.1.1 no such user")
        e = self.empath(sink, extra='dsn {\n\treporting-mta "dsn.example.net"\n}\n')
        with e.smtp() as s:
            s.ehlo()
            if not s.has_extn("dsn"):
                self.skipTest("smtpd does not offer DSN")
            s.mail("back@sink.test")
            self.assertEqual(s.rcpt("glad@sink.test", ["NOTIFY=SUCCESS"])[0], 250)
            self.assertEqual(s.rcpt("bad@sink.test", ["NOTIFY=FAILURE"])[0], 250)
            self.assertEqual(s.data(BODY)[0], 250)
        sink.wait_rcpts(["glad@sink.test"])
        # queued either records the result or refuses the state it holds.
        wait_until(lambda: re.search(r"queued\[\d+\]: (info: \S+ to=<glad@sink\.test>.*"
                                     r"status=sent|warn: .*invalid state)", e.log()),
                   10, what="queued's word on the result")
        if re.search(r"invalid state \d+ for recipient", e.log()):
            self.skipTest("this queued does not take RCPT_DSN_PASSED yet")
        # The failure is ours to report; SUCCESS is the next hop's now
        # (RFC 3461 5.2): no "relayed" action for glad.
        notice = wait_until(lambda: [m for m in sink.messages if m.mail_from == ""],
                            15, what="the failure notice")[0]
        text = notice.data.decode("utf-8", "replace")
        self.assertIn("bad@sink.test", text)
        self.assertNotIn("glad@sink.test", text)
        self.assertNotRegex(text, r"(?i)Action:\s*relayed")


if __name__ == "__main__":
    unittest.main()
