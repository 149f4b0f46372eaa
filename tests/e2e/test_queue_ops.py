# SPDX-License-Identifier: ISC
"""Queue operations end to end: empathctl -> ctld -> queued and back, for
list, view, delete, retry, freeze, unfreeze, process-now and stats, in text
and JSON; ids are checked at every hop, answers are bounded, every command
leaves an audit line."""

import json
import os
import re
import socket
import struct
import threading
import time
import unittest

from harness import EmpathTestCase, wait_until

SENDER = "sender@sink.test"
# Deferred recipients stay deferred for the length of a test.
SLOW_RETRY = "delivery {\n\tretry initial 1h max 4h\n\tmax-attempts 25\n}\n"
ULID_RE = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")

# proto.h message types used by the raw client below.
MSG_HELLO, CTL_ERROR = 1, 104
CTL_QUEUE_LIST, CTL_QUEUE_VIEW, CTL_QUEUE_DELETE = 110, 112, 114


class RawControl:
    """A minimal client of the control socket speaking the channel framing
    (lib/channel.h): 16-byte header, HELLO first."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.send(MSG_HELLO, 0, struct.pack("=I", 1))
        self.buf = b""

    def send(self, mtype, peerid, payload=b""):
        self.s.sendall(struct.pack("=HHIII", mtype, 0, 16 + len(payload), peerid,
                                   os.getpid()) + payload)

    def recv(self):
        while True:
            if len(self.buf) >= 16:
                mtype, _, length, peerid, _ = struct.unpack("=HHIII", self.buf[:16])
                if len(self.buf) >= length:
                    payload, self.buf = self.buf[16:length], self.buf[length:]
                    if mtype != MSG_HELLO:
                        return mtype, peerid, payload
                    continue
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("control socket closed")
            self.buf += chunk

    def close(self):
        self.s.close()


def wire_str(s):
    b = s.encode()
    return struct.pack("=I", len(b)) + b + b"\0"


def ulid_ms(mid):
    """The time in a ULID: its first 10 characters, Crockford base32, ms."""
    ms = 0
    for ch in mid[:10]:
        ms = ms * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(ch)
    return ms


def error_text(payload):
    (n,) = struct.unpack("=I", payload[:4])
    return payload[4:4 + n].decode()


class QueueOpsTests(EmpathTestCase):

    def start(self, extra=SLOW_RETRY):
        sink = self.start_sink()
        e = self.empath(sink, extra=extra)
        return sink, e

    def ctl_ok(self, e, *args):
        r = e.ctl(*args)
        self.assertEqual(r.returncode, 0, f"empathctl {' '.join(args)}: "
                         f"stdout={r.stdout!r} stderr={r.stderr!r}")
        return r.stdout

    def ctl_json(self, e, *args):
        return json.loads(self.ctl_ok(e, "--json", *args))

    def deferred_message(self, e, sink, rcpt="slow@sink.test", subject="slow"):
        """Send a message whose recipient is deferred; its queue id."""
        sink.rcpt_reply(rcpt, 451, "4.3.0 not now")
        before = set(m["id"] for m in self.ctl_json(e, "queue", "list")["messages"])
        e.send(SENDER, [rcpt], f"Subject: {subject}\r\n\r\nwaiting\r\n".encode())

        def new_deferred():
            for m in self.ctl_json(e, "queue", "list", "--status=deferred")["messages"]:
                if m["id"] not in before:
                    return m["id"]
            return None
        return wait_until(new_deferred, 15, interval=0.1,
                          what=f"a deferred message for {rcpt}")

    def test_list_and_view_show_the_queue(self):
        sink, e = self.start()
        mid = self.deferred_message(e, sink)
        e.send(SENDER, ["fast@sink.test"], b"Subject: fast\r\n\r\ngone\r\n")
        sink.wait_rcpts(["fast@sink.test"])

        text = self.ctl_ok(e, "queue", "list")
        self.assertIn(mid, text)
        self.assertIn(f"<{SENDER}>", text)
        self.assertRegex(text, r"(?m)^1 message\b")
        doc = self.ctl_json(e, "queue", "list")
        wait_until(lambda: len(self.ctl_json(e, "queue", "list")["messages"]) == 1, 10,
                   what="the delivered message to leave the queue")
        (row,) = self.ctl_json(e, "queue", "list")["messages"]
        self.assertEqual(row["id"], mid)
        self.assertEqual(row["sender"], SENDER)
        self.assertEqual(row["recipients"]["deferred"], 1)
        self.assertGreater(row["next_attempt"], time.time() + 1800)
        self.assertFalse(doc["truncated"])
        # Filters by state.
        self.assertEqual(self.ctl_json(e, "queue", "list", "--status=failed")["messages"], [])
        self.assertEqual(len(self.ctl_json(e, "queue", "list", "--status",
                                           "deferred")["messages"]), 1)

        v = self.ctl_json(e, "queue", "view", mid)
        self.assertEqual(v["id"], mid)
        self.assertEqual(v["sender"], SENDER)
        self.assertEqual(v["helo"], "client.test")
        self.assertEqual(v["client_addr"], "127.0.0.1")
        (r,) = v["recipients"]
        self.assertEqual(r["address"], "slow@sink.test")
        self.assertEqual(r["state"], "deferred")
        self.assertEqual(r["attempts"], 1)
        self.assertIn("451", r["last_error"])
        self.assertIn("127.0.0.1", r["last_host"])
        self.assertIsNotNone(r["next_attempt"])
        self.assertIsNotNone(r["last_attempt"])
        self.assertIn("Subject: slow", v["headers"])
        self.assertIn("Received: from client.test", v["headers"])
        self.assertFalse(v["headers_truncated"])
        text = self.ctl_ok(e, "queue", "view", mid)
        self.assertRegex(text, r"<slow@sink.test> deferred, attempts 1")
        self.assertIn("last error: 451", text)

    def test_list_is_in_arrival_order_after_files_were_recycled(self):
        """queued makes (and recycles) message files ahead of time; the id
        must still be given when the message arrives: messages sent one
        after the other get increasing ids whose time lies between their
        DATA and their 250, and queue list shows them in that order."""
        sink, e = self.start()
        # Three messages delivered: their files go back to the pool, wiped.
        fast = [f"fast{i}@sink.test" for i in range(3)]
        for r in fast:
            e.send(SENDER, [r], b"Subject: fast\r\n\r\ngone\r\n")
        sink.wait_rcpts(fast)
        wait_until(lambda: self.ctl_json(e, "queue", "list")["messages"] == [], 10,
                   what="the delivered messages to leave the queue")
        wait_until(lambda: len(re.findall(r"pool: \S+ is the wiped file of",
                                          e.log())) >= 3, 10,
                   what="the files of the delivered messages to be recycled")
        slow = [f"slow{i}@sink.test" for i in range(3)]
        for r in slow:
            sink.rcpt_reply(r, 451, "4.3.0 not now")
        sent = []                              # (id, before DATA, after 250)
        with e.smtp() as s:
            s.ehlo()
            for r in slow:
                time.sleep(0.02)
                self.assertEqual(s.mail(SENDER)[0], 250)
                self.assertEqual(s.rcpt(r)[0], 250)
                t0 = time.time()
                code, reply = s.data(f"Subject: {r}\r\n\r\nwait\r\n".encode())
                t1 = time.time()
                self.assertEqual(code, 250, reply)
                m = ULID_RE.search(reply.decode())
                self.assertIsNotNone(m, reply)
                sent.append((m.group(0), t0, t1))
        ids = [mid for mid, _, _ in sent]
        for mid in ids:
            self.assertRegex(e.log(), rf"pool: {mid} is the wiped file of [0-9A-Z]{{26}}")
        self.assertEqual(ids, sorted(set(ids)), "ids not increasing in sending order")
        for mid, t0, t1 in sent:
            ms = ulid_ms(mid)
            self.assertTrue(int(t0 * 1000) <= ms <= int(t1 * 1000),
                            f"{mid}: id made at {ms}, the message arrived between "
                            f"{int(t0 * 1000)} and {int(t1 * 1000)}")
        rows = {m["id"]: m for m in self.ctl_json(e, "queue", "list")["messages"]}
        self.assertEqual([mid for mid in rows if mid in ids], ids)
        for mid, t0, t1 in sent:
            self.assertTrue(int(t0) <= rows[mid]["created"] <= int(t1) + 1,
                            f"{mid}: arrival {rows[mid]['created']}, sent at {t0:.3f}")
        text = self.ctl_ok(e, "queue", "list")
        self.assertEqual([mid for mid in ULID_RE.findall(text) if mid in ids], ids)

    def test_ids_are_checked_at_every_hop(self):
        sink, e = self.start()
        # empathctl refuses a malformed id itself (usage error).
        for bad in ("../../queue.db", "01ARZ3NDEKTSV4RRFFQ69G5FA", "x" * 26):
            r = e.ctl("queue", "view", bad)
            self.assertEqual(r.returncode, 64, f"{bad}: {r.stdout!r} {r.stderr!r}")
        # A well-formed id that is not queued: a clean failure.
        r = e.ctl("queue", "view", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("no such message", r.stderr)
        r = e.ctl("queue", "delete", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
        self.assertEqual(r.returncode, 1, r.stdout)
        # A client that skips empathctl's checks meets ctld's.
        c = RawControl(e.control)
        self.addCleanup(c.close)
        for i, (mtype, payload) in enumerate([
                (CTL_QUEUE_VIEW, wire_str("../../../etc/passwd")),
                (CTL_QUEUE_DELETE, wire_str("01ARZ3NDEKTSV4RRFFQ69G5FA/")),
                (CTL_QUEUE_VIEW, wire_str("01ARZ3NDEKTSV4RRFFQ69G5FAV") + b"x"),
                (CTL_QUEUE_LIST, struct.pack("=I", 99) + wire_str("") + struct.pack("=I", 10)),
                (CTL_QUEUE_LIST, struct.pack("=I", 0xffffffff) + wire_str("") +
                 struct.pack("=I", 100000))]):
            c.send(mtype, 100 + i, payload)
            rtype, peerid, reply = c.recv()
            self.assertEqual((rtype, peerid), (CTL_ERROR, 100 + i), error_text(reply))
        self.assertRegex(e.log(), r"command=queue view result=malformed")

    def test_list_is_paged(self):
        sink, e = self.start()
        ids = sorted(self.deferred_message(e, sink, rcpt=f"slow{i}@sink.test")
                     for i in range(5))
        doc = self.ctl_json(e, "queue", "list", "--limit=2")
        self.assertEqual([m["id"] for m in doc["messages"]], ids[:2])
        self.assertTrue(doc["truncated"])
        self.assertEqual(doc["next"], ids[1])
        doc = self.ctl_json(e, "queue", "list", "--limit=2", f"--after={doc['next']}")
        self.assertEqual([m["id"] for m in doc["messages"]], ids[2:4])
        doc = self.ctl_json(e, "queue", "list", "--limit=2", f"--after={doc['next']}")
        self.assertEqual([m["id"] for m in doc["messages"]], ids[4:])
        self.assertFalse(doc["truncated"])
        text = self.ctl_ok(e, "queue", "list", "--limit=3")
        self.assertIn(f"--after={ids[2]}", text)
        self.assertIn("truncated", text)
        r = e.ctl("queue", "list", "--limit=0")
        self.assertEqual(r.returncode, 64)

    def test_a_full_page_is_capped_and_marked(self):
        sink, e = self.start(extra="")
        self.ctl_ok(e, "queue", "freeze")
        # Long senders make a page of several hundred KiB.
        sender = "sender@" + ".".join(["x" * 60] * 3) + ".sink.test"
        threads = [threading.Thread(target=lambda k=k: [
            e.send(sender, [f"r{k}-{i}@sink.test"], b"Subject: x\r\n\r\nx\r\n")
            for i in range(101)]) for k in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        doc = self.ctl_json(e, "queue", "list", "--limit=1000")
        self.assertEqual(len(doc["messages"]), 1000)
        self.assertTrue(doc["truncated"])
        self.assertEqual(doc["messages"][0]["sender"], sender)
        rest = self.ctl_json(e, "queue", "list", "--limit=1000", f"--after={doc['next']}")
        self.assertEqual(len(rest["messages"]), 10)
        self.assertFalse(rest["truncated"])
        self.assertEqual(self.ctl_json(e, "queue", "stats")["messages"], 1010)

    def test_delete_removes_message_and_file(self):
        sink, e = self.start()
        mid = self.deferred_message(e, sink)
        path = os.path.join(e.spool, "queue", mid)
        self.assertTrue(os.path.exists(path))
        doc = self.ctl_json(e, "queue", "delete", mid)
        self.assertTrue(doc["ok"])
        self.assertEqual(doc["count"], 1)
        self.assertEqual(self.ctl_json(e, "queue", "list")["messages"], [])
        wait_until(lambda: not os.path.exists(path), 10, what=f"{path} to be removed")
        r = e.ctl("queue", "view", mid)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(e.log(), rf"command=queue delete {mid} result=ok")
        # Nothing is delivered later, even when the recipient would accept.
        sink.clear_rules()
        self.ctl_ok(e, "queue", "process-now")
        time.sleep(1.5)
        self.assertEqual(sink.messages, [])

    def test_retry_makes_one_message_due_now(self):
        sink, e = self.start()
        mid = self.deferred_message(e, sink)
        other = self.deferred_message(e, sink, rcpt="other@sink.test")
        sink.clear_rules()
        time.sleep(1)
        self.assertEqual(sink.messages, [], "retried before its time")
        doc = self.ctl_json(e, "queue", "retry", mid)
        self.assertEqual(doc["count"], 1)
        sink.wait_rcpts(["slow@sink.test"], timeout=10)
        time.sleep(0.5)
        self.assertNotIn("other@sink.test", sink.delivered_rcpts())
        ids = [m["id"] for m in self.ctl_json(e, "queue", "list")["messages"]]
        self.assertEqual(ids, [other])

    def test_process_now_makes_every_message_due(self):
        sink, e = self.start()
        self.deferred_message(e, sink, rcpt="a@sink.test")
        self.deferred_message(e, sink, rcpt="b@sink.test")
        sink.clear_rules()
        doc = self.ctl_json(e, "queue", "process-now")
        self.assertEqual(doc["count"], 2)
        sink.wait_rcpts(["a@sink.test", "b@sink.test"], timeout=10)
        wait_until(lambda: self.ctl_json(e, "queue", "list")["messages"] == [], 10,
                   what="the queue to empty")

    def test_freeze_stops_delivery_not_reception(self):
        sink, e = self.start(extra="")
        self.assertIn("frozen", self.ctl_ok(e, "queue", "freeze"))
        self.assertTrue(self.ctl_json(e, "queue", "stats")["frozen"])
        e.send(SENDER, ["cold@sink.test"], b"Subject: frozen\r\n\r\nwait\r\n")
        time.sleep(2)
        self.assertEqual(sink.messages, [], "delivered while frozen")
        (row,) = self.ctl_json(e, "queue", "list")["messages"]
        self.assertEqual(row["recipients"]["queued"], 1)
        # The flag is kept across a restart of queued.
        old = e.daemon_pids()["queued"]
        os.kill(old, 9)
        e.wait_daemon_restart("queued", old)
        wait_until(lambda: e.ctl("--json", "queue", "stats").returncode == 0, 10,
                   what="queued to answer again")
        self.assertTrue(self.ctl_json(e, "queue", "stats")["frozen"])
        time.sleep(1.5)
        self.assertEqual(sink.messages, [], "delivered while frozen, after a restart")
        doc = self.ctl_json(e, "queue", "unfreeze")
        self.assertTrue(doc["ok"])
        sink.wait_rcpts(["cold@sink.test"], timeout=10)
        self.assertFalse(self.ctl_json(e, "queue", "stats")["frozen"])
        self.assertRegex(e.log(), r"command=queue freeze result=ok")
        self.assertRegex(e.log(), r"command=queue unfreeze result=ok")

    def test_stats_counts_by_state_and_domain(self):
        sink, e = self.start()
        self.deferred_message(e, sink, rcpt="a@sink.test")
        self.deferred_message(e, sink, rcpt="b@sink.test")
        time.sleep(1.1)
        s = self.ctl_json(e, "queue", "stats")
        self.assertEqual(s["messages"], 2)
        self.assertEqual(s["recipients"], 2)
        self.assertEqual(s["by_state"]["deferred"], 2)
        self.assertGreaterEqual(s["oldest_age"], 1)
        self.assertEqual(s["domains"], [{"domain": "sink.test", "recipients": {
            "queued": 0, "inflight": 0, "deferred": 2, "delivered": 0, "failed": 0}}])
        self.assertFalse(s["domains_truncated"])
        self.assertFalse(s["frozen"])
        self.assertGreaterEqual(s["accepted"], 2)
        self.assertGreater(s["syncs"], 0)
        self.assertGreater(s["sync_rounds"], 0)
        text = self.ctl_ok(e, "queue", "stats")
        self.assertRegex(text, r"(?m)^messages: 2$")
        self.assertRegex(text, r"(?m)^\s+sink\.test\s+0\s+0\s+2\s+0\s+0$")
        self.assertIn("syncs", text)
        # --watch refreshes, --count bounds it.
        t0 = time.monotonic()
        r = e.ctl("queue", "stats", "--watch", "--interval=1", "--count=3", timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(re.findall(r"(?m)^messages: 2$", r.stdout)), 3)
        self.assertGreaterEqual(time.monotonic() - t0, 2)
        r = e.ctl("--json", "queue", "stats", "--watch", "--interval", "1", "--count", "2",
                  timeout=20)
        self.assertEqual([json.loads(l)["messages"] for l in r.stdout.splitlines()], [2, 2])

    def test_jobs_go_out_no_faster_than_deliverd_takes_them(self):
        sink = self.start_sink()
        sink.data_delay(1.5, times=None)      # every delivery is slow
        e = self.empath(sink, extra="delivery {\n\tconcurrency 2 per-domain 2\n}\n")
        for i in range(6):
            e.send(SENDER, [f"r{i}@sink.test"], f"Subject: {i}\r\n\r\nx\r\n".encode())
        peak_jobs = peak_inflight = 0
        deadline = time.monotonic() + 30
        while len(sink.messages) < 6 and time.monotonic() < deadline:
            s = self.ctl_json(e, "queue", "stats")
            peak_jobs = max(peak_jobs, s["jobs_in_flight"])
            peak_inflight = max(peak_inflight, s["by_state"]["inflight"])
            time.sleep(0.1)
        self.assertEqual(len(sink.messages), 6)
        self.assertEqual(peak_jobs, 2, "jobs in flight beyond deliverd's concurrency")
        self.assertEqual(peak_inflight, 2)

    def test_operations_when_queued_is_down_fail_cleanly(self):
        sink, e = self.start()
        qpid = e.daemon_pids()["queued"]
        os.kill(qpid, 19)       # SIGSTOP: it cannot answer
        self.addCleanup(lambda: os.kill(qpid, 18))
        t0 = time.monotonic()
        r = e.ctl("queue", "stats", timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("did not answer", r.stderr)
        self.assertLess(time.monotonic() - t0, 12)
        os.kill(qpid, 18)
        wait_until(lambda: e.ctl("queue", "stats").returncode == 0, 10,
                   what="stats to work again")
        self.assertRegex(e.log(), r"command=queue stats result=unavailable")


if __name__ == "__main__":
    unittest.main()
