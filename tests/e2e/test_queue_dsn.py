# SPDX-License-Identifier: ISC
"""Bounces and other delivery status notifications end to end (RFC 3461,
RFC 3464, RFC 6533): what reaches the original sender, from the null
sender, when, and never for a message from the null sender."""

import email
import email.policy
import email.utils
import re
import smtplib
import time
import unittest

from harness import EmpathTestCase, wait_until

SENDER = "sender@sink.test"
SINK_EXT = ("8BITMIME", "PIPELINING", "SIZE 104857600")
DSN_CONF = ('dsn {\n\treporting-mta "dsn.example.net"\n'
            '\tpostmaster "postmaster@example.net"\n}\n')


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.compat32)


def status_groups(report):
    """The message/delivery-status part as [per-message fields,
    per-recipient fields...], each a dict."""
    parts = report.get_payload()
    ds = parts[1]
    assert ds.get_content_type() == "message/delivery-status", ds.get_content_type()
    # compat32 parses the blocks as a list of Message objects.
    return [dict(g.items()) for g in ds.get_payload()]


def raw_parts(data):
    """The parts of a multipart/report notice as (headers, body) text
    pairs, split on its boundary by hand: the email package knows nothing
    of RFC 6533's message/global-delivery-status."""
    text = data.decode("utf-8")
    head, _, body = text.partition("\r\n\r\n")
    boundary = re.search(r'boundary="([^"]+)"', head).group(1)
    chunks = body.split("\r\n--" + boundary)
    parts = []
    for c in chunks[1:]:
        if c.startswith("--"):
            break
        h, _, b = c.lstrip("\r\n").partition("\r\n\r\n")
        parts.append((h, b))
    return head, parts


def field_blocks(text):
    """Per-message and per-recipient field blocks as dicts."""
    blocks = []
    for block in text.strip("\r\n").split("\r\n\r\n"):
        fields = {}
        for line in block.split("\r\n"):
            name, _, value = line.partition(":")
            fields[name] = value.strip()
        blocks.append(fields)
    return blocks


class NoticeTests(EmpathTestCase):

    def notices(self, sink):
        return [m for m in sink.messages if m.mail_from == ""]

    def wait_notices(self, sink, n, timeout=20):
        return wait_until(lambda: (lambda l: l if len(l) >= n else None)(
            self.notices(sink)), timeout, interval=0.1, what=f"{n} notice(s)")

    def supports_dsn(self, e):
        with e.smtp() as s:
            s.ehlo()
            return s.has_extn("dsn")

    def test_failure_notice_is_an_rfc3464_report(self):
        sink = self.start_sink()
        sink.rcpt_reply("bad@sink.test", 550, "5.1.1 no such user here")
        sink.rcpt_reply("worse@sink.test", 550, "5.2.1 mailbox disabled")
        e = self.empath(sink, extra=DSN_CONF)
        body = (b"Subject: will bounce\r\nMessage-ID: <m1@client.test>\r\n\r\n"
                b"the body is not returned\r\n")
        e.send(SENDER, ["good@sink.test", "bad@sink.test", "worse@sink.test"], body)
        (n,) = self.wait_notices(sink, 1)
        self.assertEqual(n.rcpts, [SENDER])
        msg = parse(n.data)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        self.assertEqual(msg["To"], f"<{SENDER}>")
        self.assertIn("postmaster@example.net", msg["From"])
        self.assertEqual(msg["Auto-Submitted"], "auto-replied")
        self.assertIn("Failure", msg["Subject"])
        parts = msg.get_payload()
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status",
                          "text/rfc822-headers"])
        self.assertIn("bad@sink.test", parts[0].get_payload())
        groups = status_groups(msg)
        self.assertEqual(groups[0]["Reporting-MTA"], "dns; dsn.example.net")
        self.assertIn("Arrival-Date", groups[0])
        per = {g["Final-Recipient"]: g for g in groups[1:]}
        self.assertEqual(set(per), {"rfc822;bad@sink.test", "rfc822;worse@sink.test"},
                         "one notice covers every failed recipient, only them")
        g = per["rfc822;bad@sink.test"]
        self.assertEqual(g["Action"], "failed")
        self.assertEqual(g["Status"], "5.1.1")
        self.assertEqual(g["Remote-MTA"], "dns; 127.0.0.1")
        self.assertEqual(g["Diagnostic-Code"], "smtp; 550 5.1.1 no such user here")
        self.assertIn("Last-Attempt-Date", g)
        self.assertEqual(per["rfc822;worse@sink.test"]["Status"], "5.2.1")
        headers = parts[2].get_payload()
        self.assertIn("Subject: will bounce", headers)
        self.assertIn("Message-ID: <m1@client.test>", headers)
        self.assertNotIn("the body is not returned", n.data.decode())
        # The original is gone from the queue; the notice was delivered.
        wait_until(lambda: e.ctl("--json", "queue", "stats").stdout.find(
            '"messages":0') >= 0, 10, what="the queue to empty")
        time.sleep(1)
        self.assertEqual(len(self.notices(sink)), 1, "more than one notice")

    def test_no_notice_for_a_message_from_the_null_sender(self):
        sink = self.start_sink()
        sink.rcpt_reply("bad@sink.test", 550, "5.1.1 no such user")
        e = self.empath(sink)
        e.send("", ["bad@sink.test", "ok@sink.test"], b"Subject: a bounce\r\n\r\nx\r\n")
        sink.wait_rcpts(["ok@sink.test"])
        wait_until(lambda: '"messages":0' in e.ctl("--json", "queue", "stats").stdout,
                   10, what="the message to leave the queue")
        time.sleep(1.5)
        self.assertEqual(self.notices(sink), [m for m in sink.messages
                                              if "ok@sink.test" in m.rcpts])
        self.assertRegex(e.log(), r"to=<bad@sink.test>.*status=failed")

    def test_retries_exhausted_end_in_a_failure_notice(self):
        sink = self.start_sink()
        sink.rcpt_reply("later@sink.test", 451, "4.3.0 not now")
        e = self.empath(sink, extra="delivery {\n\tretry initial 1s max 1s\n"
                        "\tmax-attempts 2\n}\n")
        e.send(SENDER, ["later@sink.test"], b"Subject: patience\r\n\r\nx\r\n")
        (n,) = self.wait_notices(sink, 1)
        g = status_groups(parse(n.data))[1]
        self.assertEqual(g["Action"], "failed")
        self.assertEqual(g["Status"], "4.3.0")
        self.assertEqual(sink.rcpt_attempts["later@sink.test"], 2)
        self.assertIn("after 2 delivery attempts", n.data.decode())

    def test_expired_message_fails_with_a_notice(self):
        sink = self.start_sink()
        sink.rcpt_reply("later@sink.test", 451, "4.4.1 no answer")
        e = self.empath(sink, extra="delivery {\n\tretry initial 1s max 1s\n"
                        "\tmax-attempts 100\n\texpire 3s\n}\n")
        t0 = time.monotonic()
        e.send(SENDER, ["later@sink.test"], b"Subject: old\r\n\r\nx\r\n")
        (n,) = self.wait_notices(sink, 1)
        # The lifetime counts in whole seconds from the commit.
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)
        self.assertEqual(status_groups(parse(n.data))[1]["Action"], "failed")
        self.assertRegex(e.log(), r"status=failed \(.*expired")

    def test_delay_warning_is_sent_once(self):
        sink = self.start_sink()
        sink.rcpt_reply("slow@sink.test", 451, "4.2.0 mailbox busy")
        e = self.empath(sink, extra="delivery {\n\tretry initial 1h max 4h\n}\n"
                        "dsn {\n\tdelay-warning 2s\n}\n")
        e.send(SENDER, ["slow@sink.test"], b"Subject: slow\r\n\r\nx\r\n")
        (n,) = self.wait_notices(sink, 1, timeout=15)
        msg = parse(n.data)
        self.assertIn("Delay", msg["Subject"])
        g = status_groups(msg)[1]
        self.assertEqual(g["Action"], "delayed")
        self.assertEqual(g["Status"], "4.2.0")
        self.assertIn("Will-Retry-Until", g)
        time.sleep(3)
        self.assertEqual(len(self.notices(sink)), 1, "warned twice")
        self.assertIn('"deferred":1', e.ctl("--json", "queue", "stats").stdout)

    def test_dsn_parameters_are_honoured(self):
        sink = self.start_sink()
        sink.rcpt_reply("bad@sink.test", 550, "5.1.1 no")
        sink.rcpt_reply("quiet@sink.test", 550, "5.1.1 no")
        e = self.empath(sink)
        if not self.supports_dsn(e):
            self.skipTest("smtpd does not offer DSN yet")
        body = b"Subject: dsn params\r\n\r\nreturn me whole\r\n"
        with e.smtp() as s:
            s.ehlo()
            s.mail(SENDER, ["RET=FULL", "ENVID=env+2B42"])
            self.assertEqual(s.rcpt("bad@sink.test",
                                    ["NOTIFY=FAILURE", "ORCPT=rfc822;Orig+2Bbad@sink.test"])[0], 250)
            self.assertEqual(s.rcpt("quiet@sink.test", ["NOTIFY=NEVER"])[0], 250)
            self.assertEqual(s.rcpt("glad@sink.test", ["NOTIFY=SUCCESS"])[0], 250)
            self.assertEqual(s.data(body)[0], 250)
        (n,) = self.wait_notices(sink, 1)
        msg = parse(n.data)
        groups = status_groups(msg)
        self.assertEqual(groups[0]["Original-Envelope-Id"], "env+42")
        per = {g["Final-Recipient"]: g for g in groups[1:]}
        self.assertEqual(set(per), {"rfc822;bad@sink.test", "rfc822;glad@sink.test"})
        # Decoded, as Postfix writes it (RFC 3464 2.3.1: text).
        self.assertEqual(per["rfc822;bad@sink.test"]["Original-Recipient"],
                         "rfc822;Orig+bad@sink.test")
        # The sink offers no DSN: NOTIFY=SUCCESS ends here, "relayed"
        # (RFC 3461 5.2.2).
        self.assertNotIn("DSN", sink.extensions)
        self.assertEqual(per["rfc822;glad@sink.test"]["Action"], "relayed")
        self.assertEqual(per["rfc822;glad@sink.test"]["Status"], "2.0.0")
        parts = msg.get_payload()
        self.assertEqual(parts[2].get_content_type(), "message/rfc822")
        self.assertIn(b"return me whole", n.data)
        time.sleep(1)
        self.assertEqual(len(self.notices(sink)), 1)

    def test_no_relayed_notice_when_the_next_hop_takes_dsn(self):
        # A next hop that offers DSN and is given the recipient's NOTIFY
        # reports delivery itself (RFC 3461 5.2.2, 6.2.2.3).
        sink = self.start_sink(extensions=SINK_EXT + ("DSN",))
        e = self.empath(sink)
        if not self.supports_dsn(e):
            self.skipTest("smtpd does not offer DSN yet")
        with e.smtp() as s:
            s.ehlo()
            s.mail(SENDER)
            self.assertEqual(s.rcpt("glad@sink.test", ["NOTIFY=SUCCESS"])[0], 250)
            self.assertEqual(s.data(b"Subject: passed on\r\n\r\nx\r\n")[0], 250)
        sink.wait_rcpts(["glad@sink.test"])
        rcpt_lines = [c for c in sink.commands if c.upper().startswith("RCPT")]
        if not any("NOTIFY=SUCCESS" in c.upper() for c in rcpt_lines):
            self.skipTest("deliverd does not pass DSN parameters on yet")
        wait_until(lambda: '"messages":0' in e.ctl("--json", "queue", "stats").stdout,
                   10, what="the message to leave the queue")
        time.sleep(1.5)
        self.assertEqual(self.notices(sink), [], "a relayed notice despite DSN "
                         "passed on")
        self.assertRegex(e.log(), r"to=<glad@sink.test>.*status=sent.*dsn=passed")

    def test_smtputf8_bounce_is_an_rfc6533_notice(self):
        sink = self.start_sink(extensions=SINK_EXT + ("SMTPUTF8",))
        sink.rcpt_reply("rené@sink.test", 550, "5.1.1 no such user")
        sink.rcpt_reply("bad@sink.test", 550, "5.1.1 no such user")
        e = self.empath(sink, extra=DSN_CONF)
        sender = "jörg@sink.test"
        with e.smtp() as s:
            s.ehlo()
            s.command_encoding = "utf-8"
            self.assertEqual(s.mail(sender, ["SMTPUTF8", "BODY=8BITMIME"])[0], 250)
            self.assertEqual(s.rcpt("rené@sink.test")[0], 250)
            self.assertEqual(s.rcpt("bad@sink.test")[0], 250)
            self.assertEqual(s.data("Subject: Grüße\r\n\r\nÄpfel\r\n"
                                    .encode())[0], 250)
        (n,) = self.wait_notices(sink, 1)
        self.assertEqual(n.rcpts, [sender])
        # The notice itself travels as SMTPUTF8.
        mails = [c for c in sink.commands if c.upper().startswith("MAIL FROM:<>")]
        self.assertTrue(mails and "SMTPUTF8" in mails[-1].upper(), mails)
        head, parts = raw_parts(n.data)
        self.assertIn("report-type=global-delivery-status", head)
        self.assertIn(f"To: <{sender}>", head)
        ctypes = [re.search(r"Content-Type: ([^;\r]+)", h).group(1) for h, _ in parts]
        self.assertEqual(ctypes, ["text/plain", "message/global-delivery-status",
                                  "message/global-headers"])
        self.assertIn("charset=utf-8", parts[0][0])
        self.assertIn("<rené@sink.test>", parts[0][1])
        blocks = field_blocks(parts[1][1])
        self.assertEqual(blocks[0]["Reporting-MTA"], "dns; dsn.example.net")
        per = {b["Final-Recipient"]: b for b in blocks[1:]}
        self.assertEqual(set(per), {"utf-8;rené@sink.test", "rfc822;bad@sink.test"})
        self.assertEqual(per["utf-8;rené@sink.test"]["Action"], "failed")
        self.assertEqual(per["utf-8;rené@sink.test"]["Status"], "5.1.1")
        self.assertIn("Subject: Grüße", parts[2][1])
        self.assertNotIn("Äpfel", n.data.decode())

    def test_ascii_bounce_stays_rfc3464(self):
        sink = self.start_sink(extensions=SINK_EXT + ("SMTPUTF8",))
        sink.rcpt_reply("bad@sink.test", 550, "5.1.1 no such user")
        e = self.empath(sink)
        e.send(SENDER, ["bad@sink.test"], b"Subject: ascii\r\n\r\nx\r\n")
        (n,) = self.wait_notices(sink, 1)
        head, parts = raw_parts(n.data)
        self.assertIn("report-type=delivery-status", head)
        self.assertNotIn("global", n.data.decode())
        mails = [c for c in sink.commands if c.upper().startswith("MAIL FROM:<>")]
        self.assertTrue(mails and "SMTPUTF8" not in mails[-1].upper(), mails)

    def test_will_retry_until_honours_max_attempts(self):
        # Three attempts an hour apart at first (1h, then 2h): the last
        # is about three hours away, long before the 5-day expire.
        sink = self.start_sink()
        sink.rcpt_reply("slow@sink.test", 451, "4.2.0 mailbox busy")
        e = self.empath(sink, extra="delivery {\n\tretry initial 1h max 4h\n"
                        "\tmax-attempts 3\n}\ndsn {\n\tdelay-warning 2s\n}\n")
        t0 = time.time()
        e.send(SENDER, ["slow@sink.test"], b"Subject: slow\r\n\r\nx\r\n")
        (n,) = self.wait_notices(sink, 1, timeout=15)
        g = status_groups(parse(n.data))[1]
        self.assertEqual(g["Action"], "delayed")
        until = email.utils.parsedate_to_datetime(g["Will-Retry-Until"]).timestamp()
        # The second attempt is 1h +-10% after the first, the third 2h
        # after the second.
        self.assertGreater(until, t0 + 3 * 3600 - 360 - 5)
        self.assertLess(until, t0 + 3 * 3600 + 360 + 30)

    def test_will_retry_until_is_expire_without_an_attempt_limit(self):
        # max-attempts 0, the default (the harness sets 5): expire alone.
        sink = self.start_sink()
        sink.rcpt_reply("slow@sink.test", 451, "4.2.0 mailbox busy")
        e = self.empath(sink, extra="delivery {\n\tretry initial 1m max 4h\n"
                        "\tmax-attempts 0\n}\ndsn {\n\tdelay-warning 2s\n}\n")
        t0 = time.time()
        e.send(SENDER, ["slow@sink.test"], b"Subject: slow\r\n\r\nx\r\n")
        (n,) = self.wait_notices(sink, 1, timeout=15)
        g = status_groups(parse(n.data))[1]
        until = email.utils.parsedate_to_datetime(g["Will-Retry-Until"]).timestamp()
        # No attempt limit: the documented 5-day lifetime.
        self.assertAlmostEqual(until, t0 + 5 * 86400, delta=30)


if __name__ == "__main__":
    unittest.main()
