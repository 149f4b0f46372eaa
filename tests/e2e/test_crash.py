# SPDX-License-Identifier: ISC
"""Durability under fire: 50 SMTP clients send without pause while queued,
smtpd, deliverd and the master are killed with SIGKILL at random moments,
many times, the master restarted each time. At the end every message that
got a 250 has reached the sink at least once, none reached it cut short,
and the number that reached it more than once is reported."""

import hashlib
import os
import random
import re
import signal
import smtplib
import socket
import sys
import threading
import time
import unittest

from harness import EmpathTestCase, pid_alive, split_received, wait_until

SENDERS = 50
KILL_PHASE = float(os.environ.get("EMPATH_CRASH_SECONDS", "30"))
DRAIN_TIMEOUT = 60.0
PACE = 0.15                      # s between two messages of one client
# Killed at random; the master a little less often (a restart costs more).
VICTIMS = (["queued"] * 7 + ["smtpd"] * 5 + ["deliverd"] * 5 + ["master"] * 3)
LINE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
BODY_RE = re.compile(rb"\r\n\r\n(?P<body>.*)X-Body-Sha256: (?P<sha>[0-9a-f]{64})\r\n"
                     rb"END (?P<tok>[0-9a-f]{16})\r\n\Z", re.S)


def make_message(token, rng):
    lines = "".join("".join(rng.choice(LINE_CHARS) for _ in range(rng.randint(1, 76)))
                    + "\r\n" for _ in range(rng.randint(1, 120)))
    body = lines.encode()
    digest = hashlib.sha256(body).hexdigest()
    return (f"Subject: crash {token}\r\nX-Crash-Id: {token}\r\n\r\n".encode() + body
            + f"X-Body-Sha256: {digest}\r\nEND {token}\r\n".encode())


class Load:
    """SENDERS threads sending one message after another; `accepted` holds
    the tokens of the messages that got a 250."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.accepted = set()
        self.attempts = 0
        self.errors = 0
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(SENDERS)]

    def start(self):
        for t in self.threads:
            t.start()

    def run(self, i):
        rng = random.Random(i * 7919 + int(time.time()))
        while not self.stop.is_set():
            token = "%016x" % rng.getrandbits(64)
            data = make_message(token, rng)
            with self.lock:
                self.attempts += 1
            try:
                with smtplib.SMTP("127.0.0.1", self.port, local_hostname="crash.test",
                                  timeout=10) as s:
                    s.sendmail("sender@sink.test", [f"r{i}@sink.test"], data)
                with self.lock:
                    self.accepted.add(token)
                # A pace the test sink can drain (it is slower than Empath).
                time.sleep(PACE)
            except (smtplib.SMTPException, OSError):
                with self.lock:
                    self.errors += 1
                time.sleep(0.05)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(20)


class CrashTests(EmpathTestCase):

    def kill_master_and_restart(self, e):
        old = e.daemon_pids()
        os.kill(e.master.pid, signal.SIGKILL)
        e.master.wait(5)
        # Its daemons notice (parent death, channel closed) and exit; the
        # new master may overlap with them: queued's spool lock and the
        # master's bind retry are what make that safe.
        e.start(timeout=20)
        return old

    def test_no_accepted_message_is_lost(self):
        sink = self.start_sink()
        e = self.empath(sink, extra="delivery {\n\tmax-attempts 1000\n"
                        "\tretry initial 1s max 2s\n}\nlog {\n\tlevel info\n}\n")
        load = Load(e.port)
        load.start()
        rng = random.Random()
        kills = {"queued": 0, "smtpd": 0, "deliverd": 0, "master": 0}
        deadline = time.monotonic() + KILL_PHASE
        try:
            while time.monotonic() < deadline:
                time.sleep(rng.uniform(0.2, 1.5))
                victim = rng.choice(VICTIMS)
                if victim == "master":
                    self.kill_master_and_restart(e)
                else:
                    pid = e.daemon_pids().get(victim)
                    if pid is None:
                        continue          # being restarted right now
                    os.kill(pid, signal.SIGKILL)
                kills[victim] += 1
            # The last crash is the master's: the new one starts every
            # daemon at once (no restart backoff left from earlier kills),
            # which keeps the drain below bounded.
            self.kill_master_and_restart(e)
            kills["master"] += 1
        finally:
            load.finish()
        if not e.running():
            e.start(timeout=20)
        accepted = set(load.accepted)
        self.assertGreater(len(accepted), 200, f"too little got through: {load.attempts} "
                           f"tries, {load.errors} errors")

        def delivered():
            with sink.cond:
                return list(sink.messages)

        def all_arrived():
            got = {m for m in (self.token(x) for x in delivered()) if m}
            return accepted <= got
        t0 = time.monotonic()
        try:
            wait_until(all_arrived, DRAIN_TIMEOUT, interval=0.5,
                       what="every accepted message at the sink")
        finally:
            drain = time.monotonic() - t0
            msgs = delivered()
            counts = {}
            for m in msgs:
                tok = self.check_complete(m.data)
                counts[tok] = counts.get(tok, 0) + 1
            lost = sorted(accepted - set(counts))
            dups = sum(c - 1 for c in counts.values() if c > 1)
            corrupt = os.path.join(e.spool, "corrupt")
            quarantined = len(os.listdir(corrupt)) if os.path.isdir(corrupt) else 0
            report = (f"crash test: {sum(kills.values())} kills {kills}, {load.attempts} "
                      f"sessions, {len(accepted)} accepted (250), {len(msgs)} "
                      f"deliveries of {len(counts)} messages, {len(lost)} lost, "
                      f"{dups} duplicates, {len(set(counts) - accepted)} delivered "
                      f"without a 250 seen, {quarantined} files quarantined; "
                      f"drained in {drain:.1f}s")
            sys.stderr.write("\n" + report + "\n")
        self.assertEqual(lost, [], report)
        self.assertGreaterEqual(sum(kills.values()), 12, report)

    def test_new_master_waits_for_the_port_of_a_dying_smtpd(self):
        """A master started while the SMTP port is still held (the smtpd
        of a killed master not gone yet) retries the bind, bounded."""
        sink = self.start_sink()
        e = self.empath(sink, start=False)
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", e.port))
        holder.listen(1)
        timer = threading.Timer(2.0, holder.close)
        timer.start()
        self.addCleanup(timer.cancel)
        t0 = time.monotonic()
        e.start(timeout=15)
        self.assertGreaterEqual(time.monotonic() - t0, 1.5)
        self.assertRegex(e.log(), r"SMTP port on 127\.0\.0\.1 is in use .*retrying")
        e.send("sender@sink.test", ["late@sink.test"], b"Subject: late\r\n\r\nx\r\n")
        sink.wait_rcpts(["late@sink.test"])

    def token(self, m):
        mo = re.search(rb"X-Crash-Id: ([0-9a-f]{16})", m.data)
        return mo.group(1).decode() if mo else None

    def check_complete(self, data):
        """The delivered message is the whole message: its own trace
        header, then headers and body with the end marker and the hash of
        the body; returns its token."""
        _, rest = split_received(data)
        mo = BODY_RE.search(rest)
        self.assertIsNotNone(mo, f"cut short or altered: ...{rest[-200:]!r}")
        self.assertEqual(hashlib.sha256(mo.group("body")).hexdigest(),
                         mo.group("sha").decode(), "body altered")
        tok = mo.group("tok").decode()
        self.assertIn(f"X-Crash-Id: {tok}\r\n".encode(), rest[:200])
        return tok


if __name__ == "__main__":
    unittest.main()
