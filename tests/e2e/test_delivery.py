# SPDX-License-Identifier: ISC
"""Messages go in through smtpd and come out at a real SMTP sink, intact."""

import collections
import hashlib
import random
import subprocess
import time
import unittest

from harness import EmpathTestCase, split_received, swaks_path

SENDER = "sender@sink.test"

# Lines that exercise dot-stuffing on both sides (smtplib -> smtpd, and
# deliverd -> sink), empty lines, whitespace and a long line.
TRICKY = (
    b"From: Sender <sender@sink.test>\r\n"
    b"To: Rcpt <rcpt@sink.test>\r\n"
    b"Subject: byte for byte\r\n"
    b"Message-ID: <e2e-byte-for-byte@client.test>\r\n"
    b"\r\n"
    b"first line\r\n"
    b".a line that starts with a dot\r\n"
    b"..two dots\r\n"
    b".\r\n"
    b" .\r\n"
    b"\r\n"
    b"\r\n"
    b"trailing spaces   \r\n"
    b"\ttab at the start\r\n"
    + b"long " * 180 + b"end\r\n"
    + b"x" * 998 + b"\r\n"          # the longest line RFC 5321 allows
    b"...\r\n"
    b".\r\n"
    b"last line\r\n"
)


def big_message(size, seed=42):
    """Deterministic ASCII message of at least `size` bytes, with lines of
    every length up to 990, some starting with dots, some empty."""
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_!?"
    parts = [b"From: sender@sink.test\r\nTo: big@sink.test\r\nSubject: big\r\n\r\n"]
    total = len(parts[0])
    while total < size:
        kind = rng.random()
        if kind < 0.05:
            line = b""
        elif kind < 0.15:
            line = b"." * rng.randint(1, 3) + rng.choice(alphabet).encode() * rng.randint(0, 40)
        else:
            line = "".join(rng.choices(alphabet, k=rng.randint(1, 990))).encode()
        parts.append(line + b"\r\n")
        total += len(line) + 2
    return b"".join(parts)


class DeliveryTests(EmpathTestCase):

    def test_message_arrives_byte_for_byte(self):
        sink = self.start_sink()
        e = self.empath(sink)
        refused = e.send(SENDER, ["rcpt@sink.test"], TRICKY)
        self.assertEqual(refused, {})
        (msg,) = sink.wait_messages(1)
        self.assertEqual(msg.mail_from, SENDER)
        self.assertEqual(msg.rcpts, ["rcpt@sink.test"])
        self.assertDeliveredExactly(msg.data, TRICKY)
        self.assertEqual(sink.violations, [], "deliverd broke SMTP line rules")

    def test_five_mib_message_arrives_intact(self):
        sink = self.start_sink()
        e = self.empath(sink)
        original = big_message(5 * 1024 * 1024)
        e.send(SENDER, ["big@sink.test"], original)
        (msg,) = sink.wait_messages(1, timeout=60)
        _, rest = split_received(msg.data)
        self.assertEqual(len(rest), len(original))
        self.assertEqual(hashlib.sha256(rest).hexdigest(),
                         hashlib.sha256(original).hexdigest())

    def test_ten_recipients_in_one_transaction_all_arrive(self):
        sink = self.start_sink()
        e = self.empath(sink)
        rcpts = [f"r{i}@sink.test" for i in range(10)]
        body = b"Subject: ten\r\n\r\nto ten recipients\r\n"
        self.assertEqual(e.send(SENDER, rcpts, body), {})
        sink.wait_rcpts(rcpts)
        time.sleep(0.5)   # give a duplicate the chance to show up
        counts = collections.Counter(r.lower() for r in sink.delivered_rcpts())
        self.assertEqual(counts, collections.Counter(rcpts), "each recipient exactly once")
        for msg in sink.messages:
            self.assertEqual(msg.mail_from, SENDER)
            self.assertDeliveredExactly(msg.data, body)

    def test_several_messages_in_one_session(self):
        sink = self.start_sink()
        e = self.empath(sink)
        bodies = [f"Subject: n{i}\r\n\r\nmessage {i}\r\n".encode() for i in range(3)]
        with e.smtp() as s:
            s.ehlo()
            for i, b in enumerate(bodies):
                self.assertEqual(s.sendmail(SENDER, [f"s{i}@sink.test"], b), {})
        msgs = sink.wait_messages(3)
        got = sorted(split_received(m.data)[1] for m in msgs)
        self.assertEqual(got, sorted(bodies))

    def test_null_sender_is_accepted_and_delivered(self):
        sink = self.start_sink()
        e = self.empath(sink)
        body = b"Subject: bounce-like\r\n\r\nnull sender\r\n"
        e.send("", ["postmaster@sink.test"], body)
        (msg,) = sink.wait_messages(1)
        self.assertEqual(msg.mail_from, "")

    def test_temporary_failure_at_the_sink_is_retried(self):
        sink = self.start_sink()
        sink.rcpt_reply("later@sink.test", 451, "4.3.0 try again later", times=2)
        e = self.empath(sink)
        body = b"Subject: retry\r\n\r\nretried\r\n"
        e.send(SENDER, ["later@sink.test"], body)
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, body)
        self.assertEqual(sink.rcpt_attempts["later@sink.test"], 3)

    def test_permanent_failure_is_not_retried(self):
        sink = self.start_sink()
        sink.rcpt_reply("bad@sink.test", 550, "5.1.1 no such user")
        e = self.empath(sink)
        body = b"Subject: partial\r\n\r\none good, one bad\r\n"
        # Null sender: no bounce either way, so the sink sees only this.
        e.send("", ["good@sink.test", "bad@sink.test"], body)
        (msg,) = sink.wait_messages(1)
        self.assertEqual(msg.rcpts, ["good@sink.test"])
        time.sleep(4)   # twice `retry max`: a retry would have come by now
        self.assertEqual(sink.rcpt_attempts.get("bad@sink.test"), 1,
                         "a 5xx recipient was tried again")
        self.assertEqual(sink.rcpt_attempts.get("good@sink.test"), 1,
                         "a delivered recipient was tried again")
        self.assertEqual(len(sink.messages), 1)

    def test_connection_dropped_after_data_is_retried(self):
        sink = self.start_sink()
        sink.drop("dot", times=1)   # whole message read, then no reply
        e = self.empath(sink)
        body = b"Subject: dropped\r\n\r\nthe first copy was never acknowledged\r\n"
        e.send(SENDER, ["drop@sink.test"], body)
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, body)
        self.assertGreaterEqual(sink.connections, 2)

    def test_swaks_message_arrives(self):
        swaks = swaks_path()
        if not swaks:
            self.skipTest("swaks is not installed (apt-get install swaks)")
        sink = self.start_sink()
        e = self.empath(sink)
        r = subprocess.run(
            [swaks, "--server", "127.0.0.1", "--port", str(e.port),
             "--helo", "swaks.client.test", "--from", SENDER, "--to", "swaks@sink.test",
             "--header", "Subject: from swaks", "--body", "hello from swaks",
             "--timeout", "30"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, f"swaks failed:\n{r.stdout}\n{r.stderr}")
        self.assertRegex(r.stdout, r"<[-~] +250 .*queued as [0-9A-HJKMNP-TV-Z]{26}")
        (msg,) = sink.wait_messages(1)
        self.assertEqual(msg.rcpts, ["swaks@sink.test"])
        _, rest = split_received(msg.data)
        self.assertIn(b"Subject: from swaks\r\n", rest)
        self.assertIn(b"\r\n\r\nhello from swaks\r\n", rest)


if __name__ == "__main__":
    unittest.main()
