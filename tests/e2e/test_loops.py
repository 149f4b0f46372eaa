# SPDX-License-Identifier: ISC
"""Mail loops and reflection end: the hop limit (max-hops, 554 5.4.6),
deliverd never delivering to its own listeners (5.4.6 "loops back to
myself") nor by MX to special addresses outside mx-allow (5.4.4), address
literals refused from clients outside `relay from`, the return-limit of
notices, and the reflection of NOTIFY=SUCCESS notices to a literal
sender that used to grow without end."""

import email
import email.policy
import smtplib
import time

from dns_server import TestDNS
from harness import EmpathTestCase, RawSMTP, wait_until

SENDER = "sender@sink.test"


def with_hops(n, body=b"Subject: hops\r\n\r\nbody\r\n"):
    return b"".join(b"Received: from h%d by h%d; Sat, 5 Dec 2026 10:00:00 +0000\r\n"
                    % (i, i + 1) for i in range(n)) + body


class LoopCase(EmpathTestCase):

    def notices(self, sink):
        return [m for m in sink.messages if m.mail_from == ""]

    def wait_notice(self, sink, timeout=20):
        (n,) = wait_until(lambda: (lambda l: l if l else None)(self.notices(sink)),
                          timeout, interval=0.1, what="a notice")
        return n

    def self_empath(self, sink, extra, **kw):
        """An Empath whose configuration names its own SMTP port where
        extra says SELFPORT."""
        e = self.empath(sink, start=False, extra=extra, **kw)
        with open(e.conf) as f:
            text = f.read()
        with open(e.conf, "w") as f:
            f.write(text.replace("SELFPORT", str(e.port)))
        e.start()
        return e


class HopLimitTests(LoopCase):

    def test_101_received_fields_are_refused_100_accepted(self):
        sink = self.start_sink()
        e = self.empath(sink)
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            e.send(SENDER, ["r@sink.test"], with_hops(101))
        self.assertEqual(cm.exception.smtp_code, 554)
        self.assertIn(b"5.4.6", cm.exception.smtp_error)
        self.assertIn(b"too many hops", cm.exception.smtp_error)
        # Received: in the body or other fields do not count.
        e.send(SENDER, ["r@sink.test"],
               with_hops(100, b"X-Received: x\r\n\r\n" + b"Received: b\r\n" * 50))
        (msg,) = sink.wait_messages(1)
        self.assertEqual(msg.data.count(b"\r\nReceived: from h"), 100)
        self.assertIn("too many hops", e.log())
        self.assertEqual(len(sink.messages), 1, "the refused message went out")

    def test_bdat_last_over_the_limit_is_refused(self):
        sink = self.start_sink()
        e = self.empath(sink, extra="max-hops 5\n")
        c = RawSMTP(e.port)
        c.cmd("EHLO client.test")
        self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<r@sink.test>")[0], 250)
        data = with_hops(6)
        c.send(b"BDAT %d LAST\r\n" % len(data) + data)
        code, text = c.reply()
        self.assertEqual(code, 554)
        self.assertIn("5.4.6", text[0])
        self.assertEqual(c.cmd("QUIT")[0], 221)
        c.close()
        e.send(SENDER, ["r@sink.test"], with_hops(5))
        sink.wait_messages(1)


class RoutingLoopTests(LoopCase):

    def setUp(self):
        super().setUp()
        self.dns = TestDNS(self.tmp)
        self.addCleanup(self.dns.close)

    def test_mx_on_loopback_needs_mx_allow(self):
        self.dns.mx("lo.test", (10, "mx.lo.test"))
        self.dns.addr("mx.lo.test", "127.0.0.1")
        self.dns.mx("lab.test", (10, "mx.lab.test"))
        self.dns.addr("mx.lab.test", "127.0.0.1")
        self.dns.start()
        sink = self.start_sink()
        e = self.empath(sink, extra=self.dns.resolver_config() + "\n" +
                        f"delivery {{ mx-port {sink.port} }}\n"
                        'domain "lab.test" { mx-allow 127.0.0.0/8 }\n')
        e.send(SENDER, ["r@lo.test"], b"Subject: lo\r\n\r\nno\r\n")
        n = self.wait_notice(sink)
        text = n.data.decode("utf-8", "replace")
        self.assertIn("5.4.4", text)
        self.assertIn("disallowed address", text)
        self.assertNotIn("r@lo.test", sink.delivered_rcpts())
        # The domain that lists loopback in mx-allow gets its mail.
        e.send(SENDER, ["r@lab.test"], b"Subject: lab\r\n\r\nyes\r\n")
        sink.wait_rcpts(["r@lab.test"])

    def test_mx_pointing_at_own_listener_loops_back(self):
        self.dns.mx("own.test", (10, "mx.own.test"))
        self.dns.addr("mx.own.test", "127.0.0.1")
        self.dns.start()
        sink = self.start_sink()
        e = self.self_empath(sink, self.dns.resolver_config() + "\n" +
                             "delivery { mx-port SELFPORT mx-allow 127.0.0.0/8 }\n")
        e.send(SENDER, ["r@own.test"], b"Subject: own\r\n\r\nloop\r\n")
        n = self.wait_notice(sink)
        text = n.data.decode("utf-8", "replace")
        self.assertIn("Status: 5.4.6", text)
        self.assertIn("loops back to myself", text)
        wait_until(lambda: "dsn=5.4.6, status=bounced" in e.log(), 10,
                   what="the bounce in the log")
        # Exactly once: the message never came back in.
        time.sleep(1)
        self.assertEqual(e.log().count("to=<r@own.test>, relay=none"), 1)

    def test_relay_via_own_listener_loops_back(self):
        sink = self.start_sink()
        e = self.self_empath(sink, 'domain "self.test" {\n'
                             '\trelay via "127.0.0.1:SELFPORT"\n}\n')
        e.send(SENDER, ["r@self.test"], b"Subject: self\r\n\r\nloop\r\n")
        n = self.wait_notice(sink)
        text = n.data.decode("utf-8", "replace")
        self.assertIn("Status: 5.4.6", text)
        self.assertIn("loops back to myself", text)
        self.assertEqual(e.log().count("to=<r@self.test>, relay=none"), 1)


class LiteralTests(LoopCase):

    def test_literal_sender_from_outside_relay_from_is_refused(self):
        sink = self.start_sink()
        # 127.0.0.1 is not in relay from: the harness is an outsider.
        e = self.empath(sink, relay_from=("10.0.0.0/8",))
        c = RawSMTP(e.port)
        c.cmd("EHLO client.test")
        code, text = c.cmd("MAIL FROM:<x@[127.0.0.1]>")
        self.assertEqual(code, 550)
        self.assertIn("5.7.1", text[0])
        self.assertIn("address literals", text[0])
        code, _ = c.cmd("MAIL FROM:<x@[IPv6:::1]>")
        self.assertEqual(code, 550)
        self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}>")[0], 250)
        code, text = c.cmd("RCPT TO:<r@[127.0.0.1]>")
        self.assertEqual(code, 554)
        self.assertEqual(c.cmd("RCPT TO:<r@sink.test>")[0], 250)
        c.close()

    def test_address_literals_accept_lets_them_in(self):
        sink = self.start_sink()
        e = self.empath(sink, relay_from=("10.0.0.0/8",),
                        listen_opts=("address-literals accept",))
        c = RawSMTP(e.port)
        c.cmd("EHLO client.test")
        self.assertEqual(c.cmd("MAIL FROM:<x@[127.0.0.1]>")[0], 250)
        c.close()


class ReturnLimitTests(LoopCase):

    def test_bounce_returns_at_most_50k_of_a_200k_message(self):
        sink = self.start_sink()
        e = self.empath(sink)
        body = b"Subject: big\r\n\r\n" + b"".join(
            b"%06d %s\r\n" % (i, b"x" * 70) for i in range(2600))
        self.assertGreater(len(body), 200 * 1024)
        with e.smtp() as s:
            s.ehlo()
            s.mail(SENDER, ["RET=FULL"])
            # A literal recipient routes to 127.0.0.1: refused (5.4.4).
            self.assertEqual(s.rcpt("r@[127.0.0.1]")[0], 250)
            self.assertEqual(s.data(body)[0], 250)
        n = self.wait_notice(sink)
        msg = email.message_from_bytes(n.data, policy=email.policy.compat32)
        parts = msg.get_payload()
        self.assertEqual(parts[2].get_content_type(), "message/rfc822")
        self.assertLess(len(n.data), 50 * 1024 + 4096)
        self.assertIn(b"000000 xxx", n.data)
        self.assertNotIn(b"002599 xxx", n.data)
        self.assertIn(b"cut short", n.data)

    def test_return_limit_is_configurable(self):
        sink = self.start_sink()
        e = self.empath(sink, extra="dsn { return-limit 300K }\n")
        body = b"Subject: big\r\n\r\n" + b"".join(
            b"%06d %s\r\n" % (i, b"x" * 70) for i in range(2600))
        with e.smtp() as s:
            s.ehlo()
            s.mail(SENDER, ["RET=FULL"])
            self.assertEqual(s.rcpt("r@[127.0.0.1]")[0], 250)
            self.assertEqual(s.data(body)[0], 250)
        n = self.wait_notice(sink)
        self.assertIn(b"002599 xxx", n.data)
        self.assertNotIn(b"cut short", n.data)


class ReflectionTests(LoopCase):
    """The original scenario: an outsider sends MAIL FROM:<x@[127.0.0.1]>
    with NOTIFY=SUCCESS to an accepted domain; the success notice went to
    [127.0.0.1], i.e. back to this host, and so on."""

    def send_reflection(self, e):
        c = RawSMTP(e.port)
        c.cmd("EHLO client.test")
        code, _ = c.cmd("MAIL FROM:<x@[127.0.0.1]>")
        if code != 250:
            c.close()
            return code
        self.assertEqual(c.cmd("RCPT TO:<r@sink.test> NOTIFY=SUCCESS")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: reflect\r\n\r\nbody\r\n.\r\n")
        code, _ = c.reply()
        self.assertEqual(code, 250)
        c.close()
        return code

    def test_reflection_is_refused_at_mail(self):
        sink = self.start_sink()
        e = self.self_empath(sink, "delivery { mx-port SELFPORT "
                             "mx-allow 127.0.0.0/8 }\n", relay_from=("10.0.0.0/8",))
        self.assertEqual(self.send_reflection(e), 550)
        time.sleep(2)
        self.assertEqual(sink.messages, [])

    def test_reflection_with_literals_accepted_ends_after_one_notice(self):
        # The worst case: literals accepted from anyone, MX port = ours,
        # loopback allowed. The notice may not come back in.
        sink = self.start_sink()
        e = self.self_empath(sink, "address-literals accept\n"
                             "delivery { mx-port SELFPORT mx-allow 127.0.0.0/8 }\n",
                             relay_from=("10.0.0.0/8",))
        self.assertEqual(self.send_reflection(e), 250)
        sink.wait_rcpts(["r@sink.test"])
        wait_until(lambda: "loops back to myself" in e.log(), 15,
                   what="the notice to refuse the loop")
        time.sleep(3)
        log = e.log()
        self.assertEqual(len(sink.messages), 1)
        # The message and at most one notice entered the queue, ever.
        self.assertLessEqual(log.count("delivery status notice"), 1)
        self.assertLessEqual(log.count("(queue active)"), 2, "messages kept coming")
