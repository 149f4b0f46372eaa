# SPDX-License-Identifier: ISC
"""deliverd routes by DNS: a real DNS server on loopback (ldns-testns)
answers its MX, A and AAAA questions, and the MX hosts it names are the
test sinks on 127.0.0.1 and ::1 (`delivery { mx-port }` = the sinks'
port; `mx-allow` lets MX hosts be on loopback)."""

import json
import re
import time
import unittest

from dns_server import TestDNS, ipv6_loopback
from harness import EmpathTestCase, wait_until

BODY = b"Subject: dns\r\n\r\nrouted by DNS\r\n"


class DNSCase(EmpathTestCase):
    """A test DNS server, a sink on 127.0.0.1:P (and on [::1]:P when
    asked), and Empath resolving through the former."""

    def setUp(self):
        super().setUp()
        self.dns = TestDNS(self.tmp)
        self.addCleanup(self.dns.close)

    def start(self, v6_sink=False, extra="", **sink_kw):
        self.sink = self.start_sink(**sink_kw)
        self.sink6 = None
        if v6_sink:
            if not ipv6_loopback():
                self.skipTest("no IPv6 loopback here")
            self.sink6 = self.start_sink(host="::1", port=self.sink.port, **sink_kw)
        self.dns.start()
        conf = (self.dns.resolver_config() + "\n"
                f"delivery {{ mx-port {self.sink.port} "
                "mx-allow { 127.0.0.0/8, ::1 } }\n" +
                extra.replace("SINKPORT", str(self.sink.port)))
        self.e = self.empath(self.sink, extra=conf)
        return self.e

    def wait_log(self, pattern, timeout=20):
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.e.log()), timeout,
                          what=f"/{pattern}/ in the log")

    def deliverd_lines(self, rcpt):
        return [l for l in self.e.log().splitlines()
                if "deliverd" in l and f"to=<{rcpt}>" in l]


class MXRoutingTests(DNSCase):

    def test_mx_preference_order_is_followed(self):
        if not ipv6_loopback():
            self.skipTest("no IPv6 loopback here")
        # The lower preference wins, wherever it is in the answer.
        self.dns.mx("order.test", (20, "mx-b.order.test"), (10, "mx-a.order.test"))
        self.dns.addr("mx-a.order.test", "::1")
        self.dns.addr("mx-b.order.test", "127.0.0.1")
        self.start(v6_sink=True)
        self.e.send("", ["r@order.test"], BODY)
        (msg,) = self.sink6.wait_messages(1)
        self.assertEqual(msg.rcpts, ["r@order.test"])
        self.assertEqual(self.sink.messages, [], "the MX of preference 20 was used")
        self.wait_log(rf"to=<r@order\.test>, relay=mx-a\.order\.test\[::1\]:{self.sink.port}, "
                      r"delay=[\d.]+, dsn=2\.0\.0, status=sent \(250 ")

    def test_second_mx_is_tried_when_the_first_refuses(self):
        # mx1 has only [::1], where nothing listens (or no IPv6 at all):
        # the connection is refused and mx2 gets the message.
        self.dns.mx("refuse.test", (10, "mx1.refuse.test"), (20, "mx2.refuse.test"))
        self.dns.addr("mx1.refuse.test", "::1")
        self.dns.addr("mx2.refuse.test", "127.0.0.1")
        self.start()
        self.e.send("", ["r@refuse.test"], BODY)
        (msg,) = self.sink.wait_messages(1)
        self.assertEqual(msg.rcpts, ["r@refuse.test"])
        self.wait_log(r"(connection refused by|cannot connect to) \[::1\]:\d+.*, "
                      r"trying the next address")
        self.wait_log(r"to=<r@refuse\.test>, relay=mx2\.refuse\.test\[127\.0\.0\.1\]")

    def test_second_mx_is_tried_when_the_first_drops_the_greeting(self):
        if not ipv6_loopback():
            self.skipTest("no IPv6 loopback here")
        self.dns.mx("greet.test", (10, "mx1.greet.test"), (20, "mx2.greet.test"))
        self.dns.addr("mx1.greet.test", "::1")
        self.dns.addr("mx2.greet.test", "127.0.0.1")
        self.start(v6_sink=True)
        self.sink6.drop("connect", times=None)     # a host that tempfails at once
        self.e.send("", ["r@greet.test"], BODY)
        (msg,) = self.sink.wait_messages(1)
        self.assertEqual(self.sink6.messages, [])
        self.assertGreaterEqual(self.sink6.connections, 1, "mx1 was never tried")
        self.wait_log(r"to=<r@greet\.test>, relay=mx2\.greet\.test\[127\.0\.0\.1\]"
                      r".*status=sent")

    def test_ipv6_address_is_tried_before_ipv4(self):
        if not ipv6_loopback():
            self.skipTest("no IPv6 loopback here")
        self.dns.mx("dual.test", (10, "mx.dual.test"))
        self.dns.addr("mx.dual.test", "127.0.0.1", "::1")
        self.start(v6_sink=True)
        self.e.send("", ["r@dual.test"], BODY)
        self.sink6.wait_messages(1)
        self.assertEqual(self.sink.messages, [])

    def test_implicit_mx_uses_the_domain_address(self):
        self.dns.nodata("implicit.test", "MX", "test")
        self.dns.addr("implicit.test", "127.0.0.1")
        self.start()
        self.e.send("", ["r@implicit.test"], BODY)
        (msg,) = self.sink.wait_messages(1)
        self.assertEqual(msg.rcpts, ["r@implicit.test"])
        self.wait_log(r"to=<r@implicit\.test>, relay=implicit\.test\[127\.0\.0\.1\]")

    def test_cname_is_followed(self):
        self.dns.answer("alias.test", "MX", ["alias.test. 300 IN CNAME real.test."])
        self.dns.mx("real.test", (10, "mx.real.test"))
        self.dns.addr("mx.real.test", "127.0.0.1")
        self.start()
        self.e.send("", ["r@alias.test"], BODY)
        self.sink.wait_messages(1)
        self.wait_log(r"to=<r@alias\.test>, relay=mx\.real\.test\[127\.0\.0\.1\]")

    def test_truncated_udp_answer_is_asked_again_over_tcp(self):
        self.dns.truncated("big.test", "MX", ["big.test. 300 IN MX 10 mx.big.test."])
        self.dns.addr("mx.big.test", "127.0.0.1")
        self.start()
        self.e.send("", ["r@big.test"], BODY)
        self.sink.wait_messages(1)
        self.wait_log(r"truncated answer for big\.test, asking .* over TCP")

    def test_relay_host_by_name_is_resolved_by_the_resolver(self):
        self.dns.addr("smarthost.relay.test", "127.0.0.1")
        self.start(extra='domain "byname.test" {\n\trelay via '
                   '"smarthost.relay.test:SINKPORT"\n}\n')
        self.e.send("", ["r@byname.test"], BODY)
        self.sink.wait_messages(1)
        self.wait_log(r"to=<r@byname\.test>, relay=smarthost\.relay\.test\[127\.0\.0\.1\]")


class DNSFailureTests(DNSCase):

    def test_null_mx_fails_for_good_with_5_1_10(self):
        self.dns.mx("nullmx.test", (0, "."))
        self.start()
        self.e.send("", ["r@nullmx.test"], BODY)
        self.wait_log(r"to=<r@nullmx\.test>, relay=none, delay=[\d.]+, "
                      r"dsn=5\.1\.10, status=bounced \(5\.1\.10 nullmx\.test accepts no mail")
        time.sleep(2.5)       # past `retry max`: no second attempt
        self.assertEqual(len(self.deliverd_lines("r@nullmx.test")), 1)
        self.assertEqual(self.sink.connections, 0)

    def test_nxdomain_fails_for_good_with_5_1_2(self):
        self.dns.nxdomain("nowhere.test", "MX", "test")
        self.start()
        self.e.send("", ["r@nowhere.test"], BODY)
        self.wait_log(r"to=<r@nowhere\.test>, relay=none, delay=[\d.]+, "
                      r"dsn=5\.1\.2, status=bounced \(5\.1\.2 domain nowhere\.test "
                      r"does not exist")
        time.sleep(2.5)
        self.assertEqual(len(self.deliverd_lines("r@nowhere.test")), 1)

    def test_servfail_is_temporary_and_retried(self):
        self.dns.servfail("broken.test", "MX")
        self.start()
        self.e.send("", ["r@broken.test"], BODY)
        self.wait_log(r"to=<r@broken\.test>, relay=none, delay=[\d.]+, dsn=4\.4\.3, "
                      r"status=deferred \(4\.4\.3 MX lookup of broken\.test failed: "
                      r"SERVFAIL from 127\.0\.0\.1")
        # Deferred, then tried again: never bounced.
        wait_until(lambda: len(self.deliverd_lines("r@broken.test")) >= 2, 15,
                   what="a second attempt")
        self.assertNotIn("status=bounced", "\n".join(self.deliverd_lines("r@broken.test")))

    def test_dns_timeout_is_temporary(self):
        # Nothing scripted for silent.test: the server never answers.
        self.start()
        self.e.send("", ["r@silent.test"], BODY)
        self.wait_log(r"to=<r@silent\.test>, relay=none, delay=[\d.]+, dsn=4\.4\.3, "
                      r"status=deferred \(4\.4\.3 MX lookup of silent\.test failed: "
                      r"timeout \(127\.0\.0\.1")

    def test_mx_host_without_address_fails_for_good(self):
        self.dns.mx("noaddr.test", (10, "mx.noaddr.test"))
        self.dns.nxdomain("mx.noaddr.test", "A", "noaddr.test")
        self.dns.nxdomain("mx.noaddr.test", "AAAA", "noaddr.test")
        self.start()
        self.e.send("", ["r@noaddr.test"], BODY)
        self.wait_log(r"to=<r@noaddr\.test>, .*dsn=5\.4\.4, status=bounced")


class DNSControlTests(DNSCase):

    def test_empathctl_dns_commands(self):
        self.dns.mx("ctl.test", (10, "mx.ctl.test"))
        self.dns.addr("mx.ctl.test", "127.0.0.1")
        self.start(extra='domain "override.test" {\n\trelay via "127.0.0.1:2525"\n'
                   "\ttls required\n\trate-limit 5/s burst 2\n}\n"
                   'domain "B\u00fccher.test" {\n\ttls none\n}\n')
        self.e.send("", ["r@ctl.test"], BODY)
        self.sink.wait_messages(1)

        r = self.e.ctl("dns", "list-cache")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"servers: 127.0.0.1:{self.dns.port}", r.stdout)
        self.assertRegex(r.stdout, r"ctl\.test +MX +ok +300 +\d+ +10 mx\.ctl\.test")
        self.assertRegex(r.stdout, r"mx\.ctl\.test +A +ok +300 +\d+ +127\.0\.0\.1")
        self.assertRegex(r.stdout, r"mx\.ctl\.test +AAAA +nodata ")

        r = self.e.ctl("-j", "dns", "list-cache")
        self.assertEqual(r.returncode, 0, r.stderr)
        obj = json.loads(r.stdout)
        self.assertEqual(obj["servers"], [f"127.0.0.1:{self.dns.port}"])
        mx = [x for x in obj["entries"] if x["name"] == "ctl.test" and x["type"] == "MX"]
        self.assertEqual(mx[0]["data"], "10 mx.ctl.test")
        self.assertLessEqual(mx[0]["expires_in"], 300)

        r = self.e.ctl("dns", "refresh", "ctl.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"ctl\.test: 3 cached record sets dropped; route now: "
                         rf"MX: mx\.ctl\.test\[127\.0\.0\.1\]:{self.sink.port}")

        r = self.e.ctl("dns", "refresh", "bad domain!")
        self.assertNotEqual(r.returncode, 0)

        r = self.e.ctl("dns", "list-overrides")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"override\.test +127\.0\.0\.1:2525 +required +5/s burst 2")
        self.assertRegex(r.stdout, rf"sink\.test +127\.0\.0\.1:{self.sink.port}")
        # The domain as the configuration spells it, not its A-label.
        self.assertRegex(r.stdout, r"B\u00fccher\.test +MX +none")
        self.assertNotIn("xn--", r.stdout)
        r = self.e.ctl("-j", "dns", "list-overrides")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn({"domain": "B\u00fccher.test", "relay": "", "tls": "none",
                       "rate": ""}, json.loads(r.stdout))

        r = self.e.ctl("dns", "clear-cache")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^[1-9]\d* cached record sets dropped")
        r = self.e.ctl("dns", "list-cache")
        self.assertIn("(the cache is empty)", r.stdout)
        self.assertRegex(self.e.log(), r"command=dns clear-cache result=ok")


if __name__ == "__main__":
    unittest.main()
