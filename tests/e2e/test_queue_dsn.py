"""Bounces and other delivery status notifications end to end (RFC 3461,
RFC 3464): what reaches the original sender, from the null sender, when,
and never for a message from the null sender."""

import email
import email.policy
import smtplib
import time
import unittest

from harness import EmpathTestCase, wait_until

SENDER = "sender@sink.test"
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
        self.assertEqual(per["rfc822;bad@sink.test"]["Original-Recipient"],
                         "rfc822;Orig+bad@sink.test")
        self.assertEqual(per["rfc822;glad@sink.test"]["Action"], "relayed")
        self.assertEqual(per["rfc822;glad@sink.test"]["Status"], "2.0.0")
        parts = msg.get_payload()
        self.assertEqual(parts[2].get_content_type(), "message/rfc822")
        self.assertIn(b"return me whole", n.data)
        time.sleep(1)
        self.assertEqual(len(self.notices(sink)), 1)


if __name__ == "__main__":
    unittest.main()
