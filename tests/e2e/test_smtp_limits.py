# SPDX-License-Identifier: ISC
"""smtpd against hostile and broken clients: the SMTP smuggling payloads
(no second message can ever be queued), the state-aware timeouts (421
4.4.2), connection limits in total and per address (421 4.7.0), errors
per session, line limits, and memory that does not grow with what a
client sends."""

import socket
import time
import unittest

from harness import proc_status, wait_until
from smtptest import SmtpCase, free_port6, ipv6_loopback

# Each sequence is followed by a complete second transaction: if the
# sequence ended the data, that transaction would run.
SMUGGLE = {
    "<LF>.<LF>": b"\n.\n",
    "<LF>.<CR><LF>": b"\n.\r\n",
    "<CR><LF>.<LF>": b"\r\n.\n",
    "<CR>.<CR><LF>": b"\r.\r\n",
    "bare <CR>": b"\r\n.\r",
}
INJECTED = (b"MAIL FROM:<evil@sink.test>\r\nRCPT TO:<evil@sink.test>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nsmuggled message\r\n")


class SmugglingTests(SmtpCase):

    def test_no_payload_ends_the_data(self):
        sink = self.start_sink()
        e = self.empath(sink)
        for name, seq in SMUGGLE.items():
            with self.subTest(payload=name):
                c = self.connect(e)
                self.expect(c, "EHLO client.test", 250)
                self.transaction(c, "victim@sink.test", ["victim@sink.test"])
                self.expect(c, "DATA", 354)
                c.send(b"Subject: carrier\r\n\r\nbody" + seq + INJECTED)
                self.assertTrue(c.nothing_pending(0.5),
                                f"{name} ended the data: smtpd answered early")
                c.send(b"\r\n.\r\n")
                code, text = c.reply()
                self.assertEqual(code, 550, f"{name}: {code} {text}")
                self.assertTrue(text[0].startswith("5.6.0"), text)
                self.assertTrue(c.nothing_pending(0.5),
                                f"{name}: more than one reply to one DATA")
                self.expect(c, "QUIT", 221)
        # A clean message last: once it has arrived, nothing else will.
        e.send("clean@sink.test", ["clean@sink.test"], b"Subject: clean\r\n\r\nok\r\n")
        sink.wait_messages(1)
        time.sleep(0.5)
        self.assertEqual([m.mail_from for m in sink.messages], ["clean@sink.test"])
        self.assertFalse(any(b"smuggled" in m.data for m in sink.messages))


    def test_nul_refused_in_data_and_bdat(self):
        sink = self.start_sink()
        e = self.empath(sink)
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        # DATA: refused at the terminator, what follows the NUL is content.
        self.transaction(c, "nul@sink.test", ["nul@sink.test"])
        self.expect(c, "DATA", 354)
        c.send(b"Subject: nul\r\n\r\na\0b\r\n" + INJECTED + b".\r\n")
        code, text = c.reply()
        self.assertEqual(code, 550, text)
        self.assertTrue(text[0].startswith("5.6.0") and "NUL" in text[0], text)
        self.assertTrue(c.nothing_pending(0.3), "more than one reply to DATA")
        # BDAT: the chunk fails the transaction; the next chunk gets 503.
        self.transaction(c, "nul@sink.test", ["nul@sink.test"])
        chunk = b"Subject: nul\r\n\r\n\0\r\n"
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk + b"BDAT 6 LAST\r\nQUIT\r\n")
        code, text = c.reply()
        self.assertEqual(code, 550, text)
        self.assertTrue(text[0].startswith("5.6.0") and "NUL" in text[0], text)
        self.assertEqual(c.reply()[0], 503)
        self.expect(c, "QUIT", 221)
        e.send("clean@sink.test", ["clean@sink.test"], b"Subject: clean\r\n\r\nok\r\n")
        sink.wait_messages(1)
        time.sleep(0.5)
        self.assertEqual([m.mail_from for m in sink.messages], ["clean@sink.test"])

    def test_folded_first_line_refused_in_data_and_bdat(self):
        # SP or HT first would continue our Received: field (RFC 5322
        # section 2.2.3): refused at the end of the data, nothing queued.
        sink = self.start_sink()
        e = self.empath(sink)
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.transaction(c, "fold@sink.test", ["fold@sink.test"])
        self.expect(c, "DATA", 354)
        c.send(b" from trusted.example\r\nSubject: fold\r\n\r\nx\r\n"
               + INJECTED + b".\r\n")
        self.assertEqual(c.reply(), (550, [
            "5.6.0 Error: message begins with a folded line"]))
        self.assertTrue(c.nothing_pending(0.3), "more than one reply to DATA")
        self.transaction(c, "fold@sink.test", ["fold@sink.test"])
        chunk = b"\tfrom trusted.example\r\n\r\nx\r\n"
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk + b"BDAT 6 LAST\r\nQUIT\r\n")
        self.assertEqual(c.reply(), (550, [
            "5.6.0 Error: message begins with a folded line"]))
        self.assertEqual(c.reply()[0], 503)
        self.expect(c, "QUIT", 221)
        # Folding later in the client's header goes through.
        e.send("clean@sink.test", ["clean@sink.test"],
               b"Subject: clean\r\n\tfolded\r\n\r\nok\r\n")
        sink.wait_messages(1)
        time.sleep(0.5)
        self.assertEqual([m.mail_from for m in sink.messages], ["clean@sink.test"])
        self.assertIn(b"\r\nSubject: clean\r\n\tfolded\r\n", sink.messages[0].data)

class TimeoutTests(SmtpCase):

    def test_every_timeout_ends_with_421(self):
        e = self.empath(listen_opts=[
            "timeout command 1s data-init 1s data-block 1s "
            "data-termination 2s connection 3s"])
        sessions = {}

        def open_session(name, to_data):
            c = self.connect(e)
            self.expect(c, "EHLO client.test", 250)
            if to_data:
                self.transaction(c, "t@sink.test", ["t@sink.test"])
                self.expect(c, "DATA", 354)
            sessions[name] = c
            return c

        t0 = time.monotonic()
        open_session("command", False)
        open_session("data-init", True)
        open_session("data-block", True).send(b"Subject: x\r\n")
        term = open_session("data-termination", True)
        conn = open_session("connection", False)
        ended = {}
        for c in sessions.values():
            c.sock.settimeout(0.05)
        while len(ended) < len(sessions) and time.monotonic() - t0 < 8:
            # Keep two sessions busy: they must end by the total bounds.
            if "data-termination" not in ended:
                try:
                    term.send(b"drip\r\n")
                except OSError:
                    pass
            if "connection" not in ended:
                try:
                    conn.send(b"NOOP\r\n")
                except OSError:
                    pass
            for name, c in sessions.items():
                if name in ended:
                    continue
                try:
                    while True:
                        code, text = c.reply()
                        if code == 421:
                            ended[name] = (time.monotonic() - t0, text)
                            break
                except (socket.timeout, TimeoutError):
                    pass
                except (ConnectionError, OSError):
                    ended[name] = (time.monotonic() - t0, ["closed without 421"])
            time.sleep(0.3)
        for name in sessions:
            self.assertIn(name, ended, f"{name}: no 421 within 8s")
            self.assertTrue(ended[name][1][0].startswith("4.4.2"),
                            f"{name}: {ended[name]}")
        # Each ended by its own bound, not a later one.
        self.assertLess(ended["command"][0], 2.5)
        self.assertLess(ended["data-init"][0], 2.5)
        self.assertLess(ended["data-block"][0], 2.5)
        self.assertGreater(ended["data-termination"][0], 1.5)
        self.assertLess(ended["data-termination"][0], 3.5)
        self.assertGreater(ended["connection"][0], 2.5)


    def test_refused_bdat_chunk_bounded_by_data_termination(self):
        e = self.empath(listen_opts=["max-message-size 1M",
                                     "timeout data-block 30s data-termination 1s"])
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.transaction(c, "t@sink.test", ["t@sink.test"])
        # Refused by its announced size; its bytes would be discarded
        # for ever if they kept trickling in.
        c.send(b"BDAT 999999999999 LAST\r\n")
        t0 = time.monotonic()
        c.sock.settimeout(0.2)
        reply = None
        while reply is None and time.monotonic() - t0 < 8:
            try:
                c.send(b"x")
            except OSError:
                break
            try:
                reply = c.reply()
            except (socket.timeout, TimeoutError):
                pass
        elapsed = time.monotonic() - t0
        self.assertIsNotNone(reply, "no reply while the chunk trickled")
        code, text = reply
        self.assertEqual(code, 421, text)
        self.assertTrue(text[0].startswith("4.4.2"), text)
        self.assertGreater(elapsed, 0.8)
        self.assertLess(elapsed, 5)
        c.sock.settimeout(5)
        with self.assertRaises(ConnectionError):
            c.reply()

def sanitized(pid):
    """Under ASan freed memory sits in a quarantine: RSS says little."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return "libasan" in f.read()
    except OSError:
        return False


class LimitTests(SmtpCase):

    def test_connections_per_address(self):
        e = self.empath(listen_opts=["max-connections-per-ip 2"])
        a, b = self.connect(e), self.connect(e)
        with socket.create_connection(("127.0.0.1", e.port), timeout=5) as s:
            data = s.recv(512)
            self.assertTrue(data.startswith(b"421 4.7.0 "), data)
            self.assertEqual(s.recv(512), b"", "the refused connection stays open")
        a.cmd("QUIT")
        a.close()
        time.sleep(0.2)
        c = self.connect(e)
        self.expect(c, "NOOP", 250)
        self.expect(b, "NOOP", 250)

    def test_connections_per_address_ipv6(self):
        if not ipv6_loopback():
            self.skipTest("no IPv6 loopback on this machine")
        p6 = free_port6()
        e = self.empath(extra=f"listen on ::1 port {p6} "
                              "{ max-connections-per-ip 2 }")
        a = self.connect(e, port=p6, host="::1")
        self.connect(e, port=p6, host="::1")
        with socket.create_connection(("::1", p6), timeout=5) as s:
            data = s.recv(512)
            self.assertTrue(data.startswith(b"421 4.7.0 "), data)
        closed = e.log().count(": closed")
        a.cmd("QUIT")
        a.close()
        wait_until(lambda: e.log().count(": closed") > closed,
                   what="the session closed")
        c = self.connect(e, port=p6, host="::1")
        self.expect(c, "NOOP", 250)

    def test_connections_in_total(self):
        e = self.empath(listen_opts=["max-connections 2"])
        self.connect(e)
        self.connect(e)
        with socket.create_connection(("127.0.0.1", e.port), timeout=5) as s:
            self.assertTrue(s.recv(512).startswith(b"421 4.7.0 "))

    def test_errors_per_session(self):
        e = self.empath(listen_opts=["max-errors 3"])
        c = self.connect(e)
        self.expect(c, "BAD1", 500)
        self.expect(c, "MAIL FROM:<a@sink.test>", 503)
        c.send(b"BAD3\r\nNOOP\r\n")
        self.assertEqual(c.reply()[0], 500)
        code, text = c.reply()
        self.assertEqual(code, 421, text)
        with self.assertRaises(ConnectionError):
            c.reply()

    def test_command_line_limit(self):
        e = self.empath()
        c = self.connect(e)
        self.expect(c, "NOOP " + "x" * 505, 250, "a 512-octet line")
        self.expect(c, "NOOP " + "x" * 506, 500, "a 513-octet line")
        self.expect(c, "NOOP", 250, "the session goes on")

    def test_memory_does_not_follow_the_client(self):
        e = self.empath(listen_opts=["max-message-size 1M"])
        pid = e.daemon_pids()["smtpd"]

        def rss():
            return int(proc_status(pid)["VmRSS"].split()[0])

        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        before = rss()
        # 8 MB of one command line, then 8 MB of one DATA line.
        chunk = b"y" * 65536
        for _ in range(128):
            c.send(chunk)
        c.send(b"\r\n")
        self.assertEqual(c.reply()[0], 500)
        self.transaction(c, "m@sink.test", ["m@sink.test"])
        self.expect(c, "DATA", 354)
        for _ in range(128):
            c.send(chunk)
        c.send(b"\r\n.\r\n")
        code, text = c.reply()
        self.assertIn(code, (550, 552), text)
        grown = rss() - before
        if not sanitized(pid):
            self.assertLess(grown, 2048, f"smtpd grew by {grown} KiB")
        self.expect(c, "QUIT", 221)

    def test_bdat_chunk_size_does_not_allocate(self):
        e = self.empath(listen_opts=["max-message-size 1M"])
        pid = e.daemon_pids()["smtpd"]
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.transaction(c, "m@sink.test", ["m@sink.test"])
        before = int(proc_status(pid)["VmRSS"].split()[0])
        # A huge announced chunk: refused, its bytes discarded as they come.
        c.send(b"BDAT 99999999999999999 LAST\r\n" + b"z" * 1000000)
        time.sleep(0.3)
        after = int(proc_status(pid)["VmRSS"].split()[0])
        if not sanitized(pid):
            self.assertLess(after - before, 2048)
        self.assertEqual(e.daemon_pids().get("smtpd"), pid)


if __name__ == "__main__":
    unittest.main()
