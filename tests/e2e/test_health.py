# SPDX-License-Identifier: ISC
"""The health endpoint served by ctld: its answers, its refusals, and
that idle connections from a hostile client neither starve the probes
nor flood the log."""

import json
import socket
import time
import unittest

from harness import EmpathTestCase, free_port, wait_until

GENEROUS = 20.0     # seconds: a bound on waiting, not a measurement


def http(port, request, timeout=GENEROUS, host="127.0.0.1"):
    """Send a raw request, return (status code, headers text, body)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head.decode("latin-1"), body


class HealthTests(EmpathTestCase):

    def start_with_health(self, host="127.0.0.1"):
        port = free_port()
        e = self.empath(extra=f"health listen on {host} port {port}")
        wait_until(lambda: self._answers(port, host), 10, interval=0.1,
                   what="the health endpoint to answer")
        return e, port

    @staticmethod
    def _answers(port, host="127.0.0.1"):
        try:
            return http(port, b"GET /health/live HTTP/1.0\r\n\r\n", timeout=2,
                        host=host)[0] == 200
        except OSError:
            return False

    def test_live_answers_200_with_json(self):
        _, port = self.start_with_health()
        status, _, body = http(port, b"GET /health/live HTTP/1.0\r\nHost: x\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"status": "live"})

    def test_ready_reports_the_daemons(self):
        _, port = self.start_with_health()
        status, _, body = http(port, b"GET /health/ready?verbose=1 HTTP/1.1\r\n\r\n")
        doc = json.loads(body)
        self.assertIn(status, (200, 503))
        self.assertEqual(set(doc["daemons"]), {"smtpd", "queued", "deliverd", "ctld"})

    def test_malformed_and_other_requests_are_refused(self):
        _, port = self.start_with_health()
        cases = [
            (b"POST /health/live HTTP/1.0\r\n\r\n", 405),
            (b"GET /nothing HTTP/1.0\r\n\r\n", 404),
            (b"GET health HTTP/1.0\r\n\r\n", 400),
            (b"GET /health/live SPDY/3\r\n\r\n", 400),
            (b"GET /health/live HTTP/1.0\r\nX: a\x00b\r\n\r\n", 400),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", 400),
            (b"GET /health/live HTTP/1.0\r\nX: " + b"a" * 9000, 400),
        ]
        for request, want in cases:
            with self.subTest(request=request[:40]):
                self.assertEqual(http(port, request)[0], want)

    def test_idle_connections_do_not_starve_the_probe_and_are_closed(self):
        e, port = self.start_with_health()
        idle = []
        try:
            for _ in range(200):
                s = socket.create_connection(("127.0.0.1", port), timeout=GENEROUS)
                idle.append(s)
            # While all 200 are held open, a probe is still answered.
            status, _, body = http(port, b"GET /health/live HTTP/1.0\r\n\r\n")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body), {"status": "live"})
            # Every idle connection is closed by the server: at once to
            # make room, or when the deadline for a request head passes.
            deadline = time.monotonic() + 3 * GENEROUS
            for s in idle:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    self.assertEqual(s.recv(1), b"", "data on an idle connection")
                except ConnectionResetError:
                    pass
                except socket.timeout:
                    self.fail("an idle connection was never closed")
        finally:
            for s in idle:
                s.close()
        # Once they are gone, probes go on being answered.
        self.assertEqual(http(port, b"GET /health/live HTTP/1.0\r\n\r\n")[0], 200)
        lines = [l for l in e.log().splitlines() if "health" in l]
        self.assertLess(len(lines), 20, "one log line per connection:\n" +
                        "\n".join(lines[:40]))

    def per_address_cap(self, host):
        """Past 8 waiting connections from one client, its oldest is
        closed to make room for the next one."""
        e, port = self.start_with_health(host)
        idle = []
        try:
            for _ in range(9):
                idle.append(socket.create_connection((host, port), timeout=GENEROUS))
            # A probe from the same client, accepted after the 9th: once
            # it is answered, the 9th has made ctld close the 1st (and the
            # probe the 2nd).
            status, _, _ = http(port, b"GET /health/live HTTP/1.0\r\n\r\n",
                                host=host)
            self.assertEqual(status, 200)
            closed = []
            for s in idle:
                s.setblocking(False)     # what is there now, no waiting
                try:
                    closed.append(s.recv(1) == b"")
                except BlockingIOError:
                    closed.append(False)
                except ConnectionResetError:
                    closed.append(True)
            # The oldest first; the earlier probe may still have been
            # counted when these arrived, so a third may be gone too.
            self.assertEqual(closed, sorted(closed, reverse=True), closed)
            self.assertTrue(closed[0] and closed[1], closed)
            self.assertFalse(any(closed[3:]), closed)
        finally:
            for s in idle:
                s.close()

    def test_per_address_cap_over_ipv4(self):
        self.per_address_cap("127.0.0.1")

    @unittest.skipUnless(socket.has_ipv6, "no IPv6")
    def test_per_address_cap_over_ipv6(self):
        # An IPv6 client is counted by its /64 (::1 is the only loopback
        # address, so the /64 itself is shown by the unit test of
        # sa_client_key).
        self.per_address_cap("::1")


if __name__ == "__main__":
    unittest.main()
