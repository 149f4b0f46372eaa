# SPDX-License-Identifier: ISC
"""UTF-8 stays UTF-8 where Empath shows text: an SMTPUTF8 message
(RFC 6531) from jörg@bücher.test appears as written in `empathctl queue
list` and `queue view` (text and -j), in the text log and in the JSON
log; a next hop's reply text keeps its UTF-8 too. What could move a
cursor or break a line (an ESC in EHLO, in a reply) and octets that are
not UTF-8 are written as \\xHH (text) or \\u00XX / U+FFFD (JSON), never
raw (lib/textesc.c)."""

import json
import os
import re
import socket
import subprocess
import threading
import unittest

from harness import EmpathTestCase, RawSMTP, wait_until

SENDER = "jörg@bücher.test"
RCPT = "renée@bücher.test"
# The next hop's refusal: UTF-8 and an ANSI colour sequence.
REFUSAL = "450 4.2.1 Postfach von jörg\x1b[31m voll"
REFUSAL_SHOWN = r"450 4.2.1 Postfach von jörg\x1b[31m voll"
QUEUED_RE = re.compile(r"queued as ([0-9A-HJKMNP-TV-Z]{26})")


class Utf8Hop:
    """A next hop that offers SMTPUTF8 and refuses every recipient for
    now with REFUSAL, sent as UTF-8 (tests/e2e/sink.py replies in ASCII
    only). One connection at a time is plenty here."""

    def __init__(self):
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.rcpts = []
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    self._session(conn)
                except OSError:
                    pass

    def _session(self, conn):
        conn.sendall(b"220 hop.test ESMTP\r\n")
        buf = b""
        while True:
            while b"\r\n" not in buf:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
            line, _, buf = buf.partition(b"\r\n")
            verb = line[:4].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-hop.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb == b"RCPT":
                self.rcpts.append(line.decode("utf-8", "replace"))
                conn.sendall(REFUSAL.encode("utf-8") + b"\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 ok\r\n")

    def close(self):
        self.stop = True
        self.srv.close()


class Utf8OutputTests(EmpathTestCase):

    def start(self, json_log=False):
        self.hop = Utf8Hop()
        self.addCleanup(self.hop.close)
        extra = (
            'domain "bücher.test" {\n'
            "\taccept\n"
            f'\trelay via "127.0.0.1:{self.hop.port}"\n'
            "}\n"
            # Retried in an hour: the message stays in the queue.
            "delivery { retry initial 1h max 4h }\n")
        if json_log:
            extra += "log { format json }\n"
        self.e = self.empath(extra=extra)
        return self.e

    def raw_log(self):
        with open(self.e.logpath, "rb") as f:
            return f.read()

    def ctl(self, *args):
        """empathctl's output as bytes, decoded strictly: UTF-8 or fail."""
        r = subprocess.run(
            [os.path.join(self.e.bin, "empathctl"), "-s", self.e.control, *args],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
            **self.e.identity.popen_kwargs())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(b"\x1b", r.stdout)
        return r.stdout.decode("utf-8")

    def submit(self):
        """A client with an ESC in its EHLO, then a UTF-8 envelope; one
        RCPT of octets that are not UTF-8 is refused on the way. Returns
        the queue id."""
        c = RawSMTP(self.e.port)
        self.addCleanup(c.close)
        code, _ = c.cmd("EHLO a\x1bb")
        if code != 250:
            self.assertEqual(c.cmd("EHLO client.test")[0], 250)
        self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}> SMTPUTF8")[0], 250)
        c.send(b"RCPT TO:<\xff\xfe\x85@b\xc3\xbccher.test>\r\n")
        code, _ = c.reply()
        self.assertGreaterEqual(code, 500)
        self.assertEqual(c.cmd(f"RCPT TO:<{RCPT}>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("From: <jörg@bücher.test>\r\nSubject: Grüße\r\n\r\nHallo\r\n.\r\n"
               .encode("utf-8"))
        code, text = c.reply()
        self.assertEqual(code, 250, text)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        m = QUEUED_RE.search(text[0])
        self.assertIsNotNone(m, text)
        return m.group(1)

    def wait_deferred(self, mid):
        """Until the queue holds the first attempt's result."""
        def stored():
            obj = json.loads(self.ctl("-j", "queue", "view", mid))
            return obj["recipients"][0]["last_error"] != ""
        wait_until(stored, 20, what="the first attempt's result in the queue")
        wait_until(lambda: any(RCPT.encode() in l and b"deferred" in l
                               for l in self.raw_log().splitlines()), 10,
                   what="the deferral in the log")
        self.assertEqual(self.hop.rcpts, [f"RCPT TO:<{RCPT}>"])

    def check_clean(self, raw):
        """The whole log is UTF-8 with no control but the line end."""
        text = raw.decode("utf-8")          # raises on an undecodable octet
        bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or
               0x7f <= ord(c) <= 0x9f]
        self.assertEqual(bad, [])
        return text

    def check_queue(self, mid):
        out = self.ctl("queue", "list")
        self.assertRegex(out, rf"{mid} .* <{re.escape(SENDER)}>\n")
        obj = json.loads(self.ctl("-j", "queue", "list"))
        (msg,) = obj["messages"]
        self.assertEqual((msg["id"], msg["sender"]), (mid, SENDER))

        out = self.ctl("queue", "view", mid)
        self.assertIn(f"sender: <{SENDER}>\n", out)
        self.assertIn(f"  <{RCPT}> deferred", out)
        self.assertIn(f"    last error: {REFUSAL_SHOWN}\n", out)
        self.assertIn("Subject: Grüße", out)
        obj = json.loads(self.ctl("-j", "queue", "view", mid))
        self.assertEqual(obj["sender"], SENDER)
        self.assertTrue(obj["smtputf8"])
        (r,) = obj["recipients"]
        self.assertEqual(r["address"], RCPT)
        self.assertEqual(r["last_error"], REFUSAL_SHOWN)
        self.assertIn("Subject: Grüße", obj["headers"])

    def test_text_log_and_empathctl(self):
        self.start()
        mid = self.submit()
        self.wait_deferred(mid)
        self.check_queue(mid)
        raw = self.raw_log()
        self.assertNotIn(b"\x1b", raw)
        self.assertNotIn(b"\xff", raw)
        text = self.check_clean(raw)
        self.assertRegex(text, rf"{mid}: from=<{re.escape(SENDER)}>")
        self.assertRegex(text, rf"{mid}: to=<{re.escape(RCPT)}>, .*status=deferred "
                               rf"\({re.escape(REFUSAL_SHOWN)}\)")
        # The client's bytes, escaped (the debug trace of each command).
        self.assertIn(r"< EHLO a\x1bb", text)
        self.assertIn(r"< RCPT TO:<\xff\xfe\x85@bücher.test>", text)

    def test_json_log(self):
        self.start(json_log=True)
        mid = self.submit()
        self.wait_deferred(mid)
        self.check_queue(mid)
        raw = self.raw_log()
        self.assertNotIn(b"\x1b", raw)
        self.assertNotIn(b"\xff", raw)
        self.check_clean(raw)
        recs = [json.loads(l) for l in raw.decode("utf-8").splitlines()
                if l.startswith("{")]
        self.assertTrue(recs)
        values = [v for r in recs for v in r.values() if isinstance(v, str)]
        self.assertTrue(any(SENDER in v for v in values), "no record names " + SENDER)
        (rec,) = [r for r in recs if r.get("to") == RCPT]
        # deliverd escaped the reply's ESC already: a backslash in JSON.
        self.assertTrue(any(REFUSAL_SHOWN in v for v in rec.values()
                            if isinstance(v, str)), rec)
        # The same text as in the text log: smtpd's trace escaped the
        # client's ESC and undecodable octets as \xHH already, so JSON
        # holds a backslash there, and the UTF-8 as it is.
        for cmd in (r"EHLO a\x1bb", r"RCPT TO:<\xff\xfe\x85@bücher.test>"):
            self.assertTrue(any(v.endswith(": < " + cmd) for v in values), cmd)


if __name__ == "__main__":
    unittest.main()
