# SPDX-License-Identifier: ISC
"""Start-up recovery of the queue (empath-queued(8), RECOVERY): inflight
recipients are due again, unfinished receptions go, a message whose file
is missing is failed and its sender told, orphan files are quarantined,
interrupted removals finish, an unreadable index stops queued without
touching a file, and one queued at a time owns a spool."""

import os
import re
import shutil
import signal
import sqlite3
import time
import unittest

from harness import Empath, EmpathTestCase, RawSMTP, pid_alive, wait_until

SENDER = "sender@sink.test"
SLOW_RETRY = "delivery {\n\tretry initial 1h max 4h\n}\n"
ULID_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
IDS = ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "01BX5ZZKBKACTAV9WEVGEMMVRZ",
       "01CQKR3XWZVBE5RM3N4TB1A9QJ", "01DXF6DT00CX9QNNW7PNXQ3YR8"]


def write(path, data=b"Subject: left behind\r\n\r\nbody\r\n"):
    with open(path, "wb") as f:
        f.write(data)


class RecoveryTests(EmpathTestCase):

    def queued_ids(self, e):
        db = sqlite3.connect(os.path.join(e.spool, "queue.db"))
        try:
            return [r[0] for r in db.execute("SELECT id FROM messages")]
        finally:
            db.close()

    def test_recovery_puts_the_spool_back_in_order(self):
        sink = self.start_sink()
        sink.rcpt_reply("slow@sink.test", 451, "4.3.0 not now")
        e = self.empath(sink, extra=SLOW_RETRY)
        e.send(SENDER, ["slow@sink.test"], b"Subject: lost file\r\n\r\nx\r\n")
        e.send(SENDER, ["slow@sink.test"], b"Subject: kept\r\n\r\ny\r\n")
        wait_until(lambda: len(os.listdir(os.path.join(e.spool, "queue"))) == 2, 10,
                   what="two queued files")
        wait_until(lambda: sink.rcpt_attempts.get("slow@sink.test", 0) >= 2, 10,
                   what="both messages to be tried once")
        self.assertEqual(e.stop(), 0)
        lost, kept = sorted(self.queued_ids(e))
        q, inc, cor = (os.path.join(e.spool, d) for d in ("queue", "incoming", "corrupt"))
        os.unlink(os.path.join(q, lost))                 # a file lost
        write(os.path.join(q, IDS[0]))                   # a file without a row
        write(os.path.join(q, "not-a-message-id"))       # junk
        write(os.path.join(inc, IDS[1]))                 # an unfinished reception
        write(os.path.join(q, IDS[2]))                   # a removal cut short
        db = sqlite3.connect(os.path.join(e.spool, "queue.db"))
        db.execute("INSERT INTO removed (id) VALUES (?)", (IDS[2],))
        db.commit()
        db.close()
        for p in (inc, q):
            os.chown(p, e.identity.uid, e.identity.gid) if e.identity.root else None
            for f in os.listdir(p):
                e.identity.chown(os.path.join(p, f))
        sink.clear_rules()
        e.start()

        # The lost message: failed, its sender told; the other one kept.
        n = wait_until(lambda: [m for m in sink.messages if m.mail_from == ""], 15,
                       what="a notice about the lost message")[0]
        self.assertIn(lost, n.data.decode())
        self.assertIn("lost from the queue", n.data.decode())
        self.assertIn("Action: failed", n.data.decode())
        log = e.log()
        self.assertRegex(log, rf"{lost}: recovery: message file queue/{lost} is missing")
        self.assertEqual(sorted(os.listdir(cor)), sorted([IDS[0], "not-a-message-id"]))
        # incoming/ holds only queued's pool of ready files now.
        self.assertNotIn(IDS[1], os.listdir(inc))
        self.assertFalse(os.path.exists(os.path.join(q, IDS[2])), "removal not finished")
        self.assertRegex(log, r"recovery: .*1 unfinished receptions removed \(0 of "
                         r"them indexed\), 1 removals finished, 1 messages with a "
                         r"missing file failed, "
                         r"2 orphan files quarantined")
        self.assertEqual(self.queued_ids(e), [kept])
        self.assertTrue(os.path.exists(os.path.join(q, kept)))

    def test_a_row_whose_file_never_left_incoming_goes_without_a_notice(self):
        """The one sync before a 250 covers the rename into queue/ and the
        row; a power failure during it can keep the row but not the
        rename. That message was never acknowledged: recovery drops the
        row and the file, and tells nobody (the client tries again)."""
        sink = self.start_sink()
        sink.rcpt_reply("slow@sink.test", 451, "4.3.0 not now")
        e = self.empath(sink, extra=SLOW_RETRY)
        e.send(SENDER, ["slow@sink.test"], b"Subject: unacked\r\n\r\nx\r\n")
        wait_until(lambda: sink.rcpt_attempts.get("slow@sink.test", 0) >= 1, 10,
                   what="the message to be tried once")
        self.assertEqual(e.stop(), 0)
        (mid,) = self.queued_ids(e)
        q, inc = (os.path.join(e.spool, d) for d in ("queue", "incoming"))
        os.rename(os.path.join(q, mid), os.path.join(inc, mid))
        sink.clear_rules()
        e.start()
        # The summary line of this second start comes after the
        # per-message one: wait for both (the first start wrote a summary
        # of its own).
        wait_until(lambda: f"{mid}: recovery: never acknowledged" in e.log()
                   and e.log().count("unfinished receptions removed") >= 2, 15,
                   what="recovery to drop the unacknowledged row")
        log = e.log()
        self.assertRegex(log, r"1 unfinished receptions removed \(1 of them indexed\)")
        self.assertNotRegex(log, rf"{mid}: recovery: message file .* is missing")
        self.assertEqual(self.queued_ids(e), [])
        self.assertNotIn(mid, os.listdir(inc))
        time.sleep(0.5)
        self.assertEqual([m for m in sink.messages if m.mail_from == ""], [],
                         "no notice for a message never acknowledged")

    def test_a_crash_leaves_no_pool_file_and_no_open_reception(self):
        """queued keeps ready files in incoming/ under names of its own and
        renames one to its message id when smtpd gets it: after a crash,
        recovery removes both kinds, counts only the reception, and the
        new pool is made afresh (nothing of the old one is leaked)."""
        sink = self.start_sink()
        e = self.empath(sink)
        inc = os.path.join(e.spool, "incoming")
        e.send(SENDER, ["first@sink.test"], b"Subject: first\r\n\r\nx\r\n")
        sink.wait_rcpts(["first@sink.test"])
        c = RawSMTP(e.port)
        self.addCleanup(c.close)
        self.assertEqual(c.cmd("EHLO client.test")[0], 250)
        self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<open@sink.test>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: never finished\r\n\r\nhalf")
        names = os.listdir(inc)
        (held,) = [n for n in names if ULID_RE.fullmatch(n)]
        pool = [n for n in names if n != held]
        self.assertTrue(pool, "no ready file in incoming/")
        self.assertTrue(all(n.startswith("POOL") for n in pool), pool)
        # A file made again has a new change time even if its inode is reused.
        before = {(os.stat(os.path.join(inc, n)).st_ino,
                   os.stat(os.path.join(inc, n)).st_ctime_ns) for n in names}
        old = e.daemon_pids()["queued"]
        os.kill(old, signal.SIGKILL)
        e.wait_daemon_restart("queued", old)
        wait_until(lambda: len(re.findall(r"recovery: \d+ inflight", e.log())) == 2,
                   10, what="the recovery of the new queued")
        self.assertRegex(e.log(), r"recovery: .*, 1 unfinished receptions removed")
        self.assertRegex(e.log(), rf"{held}: removed unfinished incoming message")
        self.assertRegex(e.log(), r"recovery: removed incoming/POOL\d+, an unused "
                         r"file of the pool")
        wait_until(lambda: os.listdir(inc), 10, what="a new pool")
        names = os.listdir(inc)
        self.assertNotIn(held, names)
        self.assertTrue(all(n.startswith("POOL") for n in names), names)
        after = {(os.stat(os.path.join(inc, n)).st_ino,
                  os.stat(os.path.join(inc, n)).st_ctime_ns) for n in names}
        self.assertEqual(before & after, set(), "a file of the old pool survived")
        c.close()
        e.send(SENDER, ["later@sink.test"], b"Subject: later\r\n\r\ny\r\n",
               retry_for=10)
        sink.wait_rcpts(["later@sink.test"])

    def test_inflight_recipients_are_due_again_after_a_crash(self):
        sink = self.start_sink()
        sink.data_delay(30, times=1)      # the first delivery hangs in DATA
        e = self.empath(sink)
        e.send(SENDER, ["once@sink.test"], b"Subject: inflight\r\n\r\nx\r\n")
        self.assertTrue(sink.in_data.wait(15), "delivery never reached DATA")
        db = sqlite3.connect(os.path.join(e.spool, "queue.db"))
        states = [r[0] for r in db.execute("SELECT state FROM recipients")]
        db.close()
        self.assertEqual(states, [1], "recipient not inflight during delivery")
        e.kill_all()
        wait_until(lambda: not any(pid_alive(p) for p in e.known_pids), 5,
                   what="every process to die")
        e.start()
        (m,) = sink.wait_messages(1, timeout=20)
        self.assertIn(b"Subject: inflight", m.data)
        self.assertRegex(e.log(), r"recovery: 1 inflight recipients queued again")

    def test_unreadable_database_stops_queued_and_touches_nothing(self):
        sink = self.start_sink()
        e = self.empath(sink, start=False)
        for d in ("queue", "incoming", "corrupt"):
            os.mkdir(os.path.join(e.spool, d), 0o700)
            e.identity.chown(os.path.join(e.spool, d))
        junk = b"SQLite format 3\0" + b"\xa5" * 8000
        files = {os.path.join(e.spool, "queue.db"): junk,
                 os.path.join(e.spool, "queue", IDS[0]): b"Subject: a\r\n\r\nkeep me\r\n",
                 os.path.join(e.spool, "incoming", IDS[1]): b"Subject: b\r\n\r\nand me\r\n"}
        for p, data in files.items():
            write(p, data)
            e.identity.chown(p)
        try:
            e.start(timeout=4)
        except AssertionError:
            pass          # queued keeps failing: it may never be seen running
        wait_until(lambda: "queue database unusable" in e.log(), 15,
                   what="queued's error about the database")
        time.sleep(1)
        log = e.log()
        self.assertRegex(log, r"queue database unusable: .*queue\.db.*message files "
                         r"are left untouched")
        for p, data in files.items():
            with open(p, "rb") as f:
                self.assertEqual(f.read(), data, f"{p} was changed")
        self.assertEqual(os.listdir(os.path.join(e.spool, "corrupt")), [])
        self.assertNotRegex(log, r"recovery:")

    def test_one_queued_per_spool(self):
        sink = self.start_sink()
        a = self.empath(sink)
        # A second system on the same spool (other port and socket).
        b = self.empath(sink, start=False)
        with open(b.conf) as f:
            conf = f.read().replace(f'spool "{b.spool}"', f'spool "{a.spool}"')
        with open(b.conf, "w") as f:
            f.write(conf)
        b.spool = a.spool
        b.start()
        wait_until(lambda: "locked by another empath-queued" in b.log(), 10,
                   what="the second queued to wait for the lock")
        self.assertNotIn("queue ready", b.log())
        # The first one still works, alone.
        a.send(SENDER, ["first@sink.test"], b"Subject: a\r\n\r\nfrom a\r\n")
        sink.wait_rcpts(["first@sink.test"])
        self.assertEqual(a.stop(), 0)
        wait_until(lambda: "queue ready" in b.log(), 15,
                   what="the second queued to take over the spool")
        self.assertRegex(b.log(), r"lock taken after \d+ ms")
        b.send(SENDER, ["second@sink.test"], b"Subject: b\r\n\r\nfrom b\r\n",
               retry_for=10)
        sink.wait_rcpts(["second@sink.test"])


if __name__ == "__main__":
    unittest.main()
