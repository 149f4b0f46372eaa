# SPDX-License-Identifier: ISC
"""A full spool: new messages are refused with 452 4.3.1 (at DATA, or at
the end of the data when the room ran out while it was written), nothing
half-written stays behind, and reception resumes by itself when room comes
back. The spool is a small tmpfs, so this needs root (as in CI)."""

import os
import smtplib
import subprocess
import unittest

from harness import EmpathTestCase, RawSMTP, wait_until

SENDER = "sender@sink.test"
SPOOL_SIZE = 16 * 1024 * 1024
MAX_MSG = 2 * 1024 * 1024        # also the room queued keeps free


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@unittest.skipUnless(os.geteuid() == 0,
                     "needs root to mount a small tmpfs as the spool")
class FullDiskTests(EmpathTestCase):

    def setUp(self):
        super().setUp()
        self.sink = self.start_sink()
        self.sink.rcpt_reply("keep@sink.test", 451, "4.3.0 not now")
        self.e = self.empath(self.sink, start=False,
                             listen_opts=(f"max-message-size {MAX_MSG}",),
                             extra="delivery {\n\tretry initial 1h max 4h\n}\n")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            f"size={SPOOL_SIZE},mode=0700,uid={self.identity.uid},"
                            f"gid={self.identity.gid}", "tmpfs", self.e.spool],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs: {r.stderr.strip()}")
        self.addCleanup(self.unmount)
        self.filler = os.path.join(self.e.spool, "filler")
        self.e.start()

    def unmount(self):
        # Before the harness's cleanup: nothing may hold the mount.
        self.e.stop()
        self.e.kill_all()
        subprocess.run(["umount", "-l", self.e.spool], capture_output=True)

    def fill(self, leave):
        """Take the room of the spool but `leave` bytes."""
        if os.path.exists(self.filler):
            os.unlink(self.filler)
        want = free_bytes(self.e.spool) - leave
        with open(self.filler, "wb") as f:
            while want > 0:
                n = min(want, 1 << 20)
                f.write(b"\0" * n)
                want -= n
            f.flush()
            os.fsync(f.fileno())

    def files(self, d):
        return sorted(os.listdir(os.path.join(self.e.spool, d)))

    def half_written(self):
        """Files of incoming/ with content: the pool of ready files that
        queued keeps there is empty (nothing was delivered, so no file
        was recycled)."""
        d = os.path.join(self.e.spool, "incoming")
        return [f for f in os.listdir(d) if os.path.getsize(os.path.join(d, f))]

    def message(self, size, tag):
        head = f"Subject: {tag}\r\n\r\n".encode()
        line = b"x" * 998 + b"\r\n"
        return head + line * ((size - len(head)) // len(line))

    def test_full_spool_refuses_with_452_and_recovers(self):
        e = self.e
        e.send(SENDER, ["keep@sink.test"], self.message(10000, "before"))
        wait_until(lambda: len(self.files("queue")) == 1, 10, what="a queued file")
        before = self.files("queue")

        # 1. Less room than a message may take: refused at DATA.
        self.fill(MAX_MSG // 2)
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            e.send(SENDER, ["keep@sink.test"], self.message(1000, "refused"))
        self.assertEqual(cm.exception.smtp_code, 452)
        self.assertIn(b"4.3.1", cm.exception.smtp_error)
        self.assertRegex(e.log(), r"spool .*: less than \d+ KiB free, refusing")

        # 2. Room runs out while two messages are written: the second one
        #    gets 452 4.3.1 at the end of its data, and leaves nothing.
        self.fill(MAX_MSG + MAX_MSG // 4)
        a, b = RawSMTP(e.port), RawSMTP(e.port)
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        for c in (a, b):
            self.assertEqual(c.cmd("EHLO client.test")[0], 250)
            self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<keep@sink.test>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
        big = self.message(MAX_MSG - 64 * 1024, "big")
        a.send(big + b".\r\n")
        code_a, _ = a.reply()
        b.send(big + b".\r\n")
        code_b, text_b = b.reply()
        self.assertEqual(code_a, 250)
        self.assertEqual(code_b, 452, text_b)
        self.assertTrue(any("4.3.1" in t for t in text_b), text_b)
        a.cmd("QUIT")
        b.cmd("QUIT")
        # smtpd rolls the refused message back; queued removes its file.
        wait_until(lambda: self.half_written() == [], 5,
                   what="no half-written file left in incoming/")
        self.assertEqual(len(self.files("queue")), len(before) + 1)
        r = e.ctl("--json", "queue", "stats")
        self.assertIn('"messages":2', r.stdout)

        # 3. Room again: reception resumes by itself.
        os.unlink(self.filler)
        e.send(SENDER, ["keep@sink.test"], self.message(10000, "after"))
        wait_until(lambda: len(self.files("queue")) == len(before) + 2, 10,
                   what="the message after the disk was freed")
        self.assertEqual(self.half_written(), [])


if __name__ == "__main__":
    unittest.main()
