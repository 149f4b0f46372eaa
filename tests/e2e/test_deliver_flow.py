# SPDX-License-Identifier: ISC
"""deliverd's flow control and delivery records: rate limits, the circuit
breaker, connection reuse, per-recipient results and their log lines
(text and JSON), and the graceful stop."""

import json
import re
import time
import unittest

from harness import EmpathTestCase, wait_until

SENDER = "sender@client.test"


class FlowCase(EmpathTestCase):

    def start(self, extra="", **kw):
        self.sink = self.start_sink()
        self.e = self.empath(self.sink, extra=extra.replace("SINKPORT", str(self.sink.port)),
                             **kw)
        return self.e

    def wait_log(self, pattern, timeout=20):
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.e.log()), timeout,
                          what=f"/{pattern}/ in the log")

    def count_log(self, pattern):
        return len(re.findall(pattern, self.e.log()))


class RateLimitTests(FlowCase):

    def test_burst_goes_at_once_and_the_rest_is_deferred_without_an_attempt(self):
        self.start('domain "rl.test" {\n\trelay via "127.0.0.1:SINKPORT"\n'
                   "\trate-limit 1/s burst 3\n}\n")
        rcpts = [f"r{i}@rl.test" for i in range(6)]
        with self.e.smtp() as s:
            s.ehlo()
            for r in rcpts:
                self.assertEqual(s.sendmail("", [r], b"Subject: rl\r\n\r\nrate\r\n"), {})
        msgs = self.sink.wait_messages(6, timeout=30)
        t = sorted(m.time for m in msgs)
        # The burst of 3 leaves together; the others wait for tokens.
        self.assertLess(t[2] - t[0], 1.0, f"the burst did not go at once: {t}")
        self.assertGreaterEqual(t[5] - t[0], 1.8, f"the rate limit was not applied: {t}")
        self.assertGreaterEqual(
            self.count_log(r"deliverd\[\d+\]: info: \w+: to=<r\d@rl\.test>, relay=none, "
                           r"delay=[\d.]+, dsn=4\.4\.5, status=deferred \(4\.4\.5 rate "
                           r"limit of rl\.test reached"), 3)
        # Postponed is not an attempt: each went out on its first one.
        rx = re.compile(r"queued\[\d+\]: info: \w+: to=<r\d@rl\.test>, .*"
                        r"attempts=(\d+), status=sent")
        sent = wait_until(lambda: (lambda x: x if len(x) == 6 else None)(
            rx.findall(self.e.log())), 10, what="queued to record six deliveries")
        self.assertEqual(sorted(sent), ["1"] * 6)
        self.assertEqual(sorted(r.lower() for m in msgs for r in m.rcpts), sorted(rcpts))


class CircuitBreakerTests(FlowCase):

    def test_breaker_opens_after_failures_and_closes_after_a_probe(self):
        self.start('domain "cb.test" {\n\trelay via "127.0.0.1:SINKPORT"\n}\n'
                   "delivery {\n\tcircuit-breaker 2 cool-down 3s\n\tmax-attempts 20\n}\n")
        self.sink.drop("connect", times=None)     # every connection dropped
        for i in range(3):
            self.e.send("", [f"r{i}@cb.test"], b"Subject: cb\r\n\r\nbreaker\r\n")
        self.wait_log(r"relay:127\.0\.0\.1:\d+: circuit breaker open after \d+ failed "
                      r"deliveries")
        self.wait_log(r"dsn=4\.4\.1, status=deferred \(4\.4\.1 relay:127\.0\.0\.1:\d+: "
                      r"circuit breaker open")
        # While open, nothing connects.
        before = self.sink.connections
        time.sleep(1.5)
        self.assertEqual(self.sink.connections, before, "connections while the breaker is open")
        self.sink.clear_rules()
        self.sink.wait_rcpts([f"r{i}@cb.test" for i in range(3)], timeout=30)
        self.wait_log(r"circuit breaker half-open, sending a probe")
        self.wait_log(r"relay:127\.0\.0\.1:\d+: circuit breaker closed")


class ReuseAndResultTests(FlowCase):

    def test_connection_is_reused_with_rset(self):
        self.start('domain "reuse.test" {\n\trelay via "127.0.0.1:SINKPORT"\n}\n'
                   "delivery { concurrency per-domain 1 }\n")
        rcpts = [f"r{i}@reuse.test" for i in range(5)]
        with self.e.smtp() as s:
            s.ehlo()
            for r in rcpts:
                s.sendmail("", [r], b"Subject: reuse\r\n\r\nreuse\r\n")
        self.sink.wait_rcpts(rcpts)
        self.assertLess(self.sink.connections, 5, "no connection was reused")
        self.assertIn("RSET", self.sink.commands)
        self.wait_log(r"reusing the connection to 127\.0\.0\.1\[127\.0\.0\.1\]")

    def test_550_and_250_in_one_transaction_are_logged_per_recipient(self):
        self.start()
        # A bare CR and an escape sequence inside the reply line.
        self.sink.rcpt_reply("bad@sink.test", 550, "5.1.1 no such user\rX-Injected: \x1b[31myes")
        self.e.send("", ["good@sink.test", "bad@sink.test"], b"Subject: p\r\n\r\np\r\n")
        (msg,) = self.sink.wait_messages(1)
        self.assertEqual(msg.rcpts, ["good@sink.test"])
        port = self.sink.port
        self.wait_log(rf"\w{{26}}: to=<good@sink\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                      rf"{port}, delay=\d+\.\d, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok\)")
        line = self.wait_log(rf"\w{{26}}: to=<bad@sink\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                             rf"{port}, delay=\d+\.\d, dsn=5\.1\.1, status=bounced "
                             r"\(550 5\.1\.1 no such user[^\n]*\)")
        # The server's control bytes never reach the log: they are written
        # as \xHH (textesc.h), so the line cannot be split or recoloured.
        self.assertIn(r"no such user\x0dX-Injected: \x1b[31myes)", line.group(0))
        self.assertNotIn("\r", self.e.log())
        self.assertNotIn("\x1b", self.e.log())

    def test_json_log_has_the_delivery_fields(self):
        self.start(extra="log { format json }\n")
        self.sink.rcpt_reply("bad@sink.test", 550, "5.1.1 no such user")
        self.e.send("", ["good@sink.test", "bad@sink.test"], b"Subject: j\r\n\r\nj\r\n")
        self.sink.wait_messages(1)
        recs = {}

        def have_both():
            for line in self.e.log().splitlines():
                if not line.startswith("{"):
                    continue
                obj = json.loads(line)
                if obj.get("proc") == "deliverd" and "to" in obj:
                    recs[obj["to"]] = obj
            return len(recs) >= 2
        wait_until(have_both, 20, what="two JSON delivery records")
        good, bad = recs["good@sink.test"], recs["bad@sink.test"]
        self.assertEqual(good["status"], "sent")
        self.assertEqual(good["dsn"], "2.0.0")
        self.assertEqual(good["relay"], f"127.0.0.1[127.0.0.1]:{self.sink.port}")
        self.assertRegex(good["delay"], r"^\d+\.\d$")
        self.assertRegex(good["id"], r"^\w{26}$")
        self.assertEqual(good["reply"], "250 2.0.0 Ok")
        self.assertEqual(bad["status"], "bounced")
        self.assertEqual(bad["dsn"], "5.1.1")
        self.assertIn("to=<bad@sink.test>", bad["msg"])


class GracefulStopTests(FlowCase):

    def test_stop_waits_for_an_inflight_delivery_within_the_bound(self):
        self.start()
        self.sink.data_delay(30)                  # hold the reply to the dot
        self.e.send("", ["slow@sink.test"], b"Subject: slow\r\n\r\nslow\r\n")
        wait_until(self.sink.in_data.is_set, 20, what="the sink holding the message")
        t0 = time.monotonic()
        status = self.e.stop(timeout=15)
        took = time.monotonic() - t0
        self.assertEqual(status, 0)
        self.assertGreater(took, 4.0, "deliverd did not wait for the delivery")
        self.assertLess(took, 10.0, "deliverd waited past its bound")
        self.assertRegex(self.e.log(), r"deliveries still in progress after 5000 ms, aborting")
        # Not lost: the next start delivers it.
        self.sink.clear_rules()
        self.e.start()
        self.sink.wait_rcpts(["slow@sink.test"])


if __name__ == "__main__":
    unittest.main()
