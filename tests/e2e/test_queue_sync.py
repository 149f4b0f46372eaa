# SPDX-License-Identifier: ISC
"""Syncs per message for a lone client: one SMTP session sending message
after message pays one file-system sync per message in all (the 250 waits
for one sync that covers the file and its index row; the removal after a
delivery rides on a later sync), as queued counts them (queue stats)."""

import json
import os
import time
import unittest

from harness import EmpathTestCase, wait_until

SENDER = "sender@sink.test"
SLOW_RETRY = "delivery {\n\tretry initial 1h max 4h\n}\n"
N = 30


class LoneSessionSyncTests(EmpathTestCase):

    def stats(self, e):
        r = e.ctl("--json", "queue", "stats")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def send_in_one_session(self, e, rcpt):
        with e.smtp() as s:
            s.ehlo()
            for i in range(N):
                refused = s.sendmail(SENDER, [rcpt],
                                     f"Subject: {i}\r\n\r\nbody {i}\r\n".encode())
                self.assertEqual(refused, {})

    def queue_files(self, e):
        return [f for f in os.listdir(os.path.join(e.spool, "queue"))
                if len(f) == 26]

    def test_deferred_messages_cost_one_sync_each(self):
        sink = self.start_sink()
        sink.rcpt_reply("later@sink.test", 451, "4.3.0 not now")
        e = self.empath(sink, extra=SLOW_RETRY)
        before = self.stats(e)
        self.send_in_one_session(e, "later@sink.test")
        after = self.stats(e)
        accepted = after["accepted"] - before["accepted"]
        syncs = after["syncs"] - before["syncs"]
        self.assertEqual(accepted, N)
        # Two per message before: one for the file, one for the row.
        self.assertLessEqual(syncs, N + N // 5,
                             f"{syncs} syncs for {accepted} messages")
        self.assertEqual(len(self.queue_files(e)), N)

    def test_delivered_messages_cost_one_sync_each_and_still_go(self):
        sink = self.start_sink()
        e = self.empath(sink)
        before = self.stats(e)
        self.send_in_one_session(e, "now@sink.test")
        sink.wait_messages(N)
        # The removal of the last ones rides on no later 250: a sync of
        # their own comes anyway, and their files go.
        wait_until(lambda: self.queue_files(e) == [], 10,
                   what="the delivered messages' files to go")
        wait_until(lambda: self.stats(e)["messages"] == 0, 10,
                   what="the queue to empty")
        time.sleep(0.5)
        after = self.stats(e)
        syncs = after["syncs"] - before["syncs"]
        self.assertEqual(after["accepted"] - before["accepted"], N)
        # Three per message before: the file, the row, the removal.
        self.assertLessEqual(syncs, N + N // 5,
                             f"{syncs} syncs for {N} delivered messages")


if __name__ == "__main__":
    unittest.main()
