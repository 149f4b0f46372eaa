# SPDX-License-Identifier: ISC
"""queued does not believe smtpd: a network process gets only empty files,
so it can never queue another message's bytes; the size queued stores is
the one it measures; the arrival time is its own clock; the receptions an
smtpd may hold open are bounded, and released when its channel goes.

smtpd is made to misbehave with its test-only fault switch
(EMPATH_TEST_FAULT, smtpd/queue_client.c): the faults apply to messages
whose sender begins with "fault", so one instance carries both kinds."""

import json
import os
import re
import signal
import smtplib
import time
import unittest
from unittest import mock

from harness import EmpathTestCase, wait_until

NORMAL_FROM = "alice@client.test"
FAULT_FROM = "fault@client.test"
# The same length, so that every message file has the same size.
NORMAL_RCPT = "normal@sink.test"
VICTIM_RCPT = "victim@sink.test"
SLOW_RETRY = "delivery {\n\tretry initial 1h max 4h\n\tmax-attempts 25\n}\n"
QUEUED_AS = re.compile(r"queued as ([0-9A-HJKMNP-TV-Z]{26})")


def content(tag, size=3000):
    """A message of exactly `size` octets whose every line names `tag`."""
    head = f"Subject: {tag}\r\n\r\n".encode()
    line = f"{tag} {'x' * 60}\r\n".encode()
    body = head
    while len(body) + len(line) <= size:
        body += line
    return body + b"." * (size - len(body) - 2) + b"\r\n"


class QueueTrustTests(EmpathTestCase):

    def start(self, faults, extra="", **kw):
        """A sink and an instance whose smtpd runs with these faults (the
        master passes its environment on to every daemon it starts)."""
        sink = self.start_sink()
        with mock.patch.dict(os.environ, {"EMPATH_TEST_FAULT": faults}):
            e = self.empath(sink, extra=extra, **kw)
        self.assertIn("test faults on", e.log())
        return sink, e

    def submit(self, e, sender, rcpt, data):
        """One message over its own connection: (code, text) of the reply
        to its content, or of the DATA command when that was refused."""
        with e.smtp() as s:
            s.ehlo()
            s.mail(sender)
            s.rcpt(rcpt)
            try:
                code, text = s.data(data)
            except smtplib.SMTPDataError as err:
                code, text = err.smtp_code, err.smtp_error
            return code, text.decode("utf-8", "replace")

    def queue_json(self, e, *args):
        r = e.ctl("--json", "queue", *args)
        self.assertEqual(r.returncode, 0, f"queue {args}: {r.stderr}")
        return json.loads(r.stdout)

    def recycled(self, e):
        """Pool files made from the files of finished messages:
        {old message id: new id}."""
        return {old: new for new, old in re.findall(
            r"pool: ([0-9A-Z]{26}) is the wiped file of ([0-9A-Z]{26})", e.log())}

    def deliver_normal_and_recycle(self, e, sink, n=6):
        """n normal messages, delivered and removed, their files back in
        the pool; returns their contents."""
        sent = {}
        for i in range(n):
            data = content(f"normal-{i}")
            code, text = self.submit(e, NORMAL_FROM, NORMAL_RCPT, data)
            self.assertEqual(code, 250, text)
            sent[QUEUED_AS.search(text).group(1)] = data
        wait_until(lambda: len(sink.messages) == n, 20, what="the normal messages")
        wait_until(lambda: set(sent) <= set(self.recycled(e)), 20,
                   what="the files of the delivered messages to be recycled")
        for m in sink.messages:
            self.assertDeliveredExactly(m.data, sent[re.search(
                rb"id ([0-9A-Z]{26})", m.data).group(1).decode()])
        return sent

    def assertTookTheFilesOf(self, e, sent, ids):
        """Every file of the messages `sent` went to one of `ids`."""
        reused = self.recycled(e)
        for old in sent:
            self.assertIn(reused[old], ids, f"the file of {old}")
            self.assertRegex(e.log(), rf"{reused[old]}: created for request "
                             r"\d+ \(a recycled file\)")

    # The pool hands out its newest files first; the rounds that recycled
    # the normal files may have topped the pool up with as many new ones
    # on top of some of them: twice as many faulty messages take them all.
    FAULTY = 12

    def test_size_claimed_over_what_was_written_is_refused(self):
        """smtpd writes nothing into recycled files and claims the size of
        the message before: with the old content left there, queued would
        queue that message again, to the fault's recipient. The files are
        empty, the sizes differ, the commits are refused."""
        sink, e = self.start("write-nothing,claim-previous-size")
        sent = self.deliver_normal_and_recycle(e, sink)
        size = len(next(iter(sent.values())))
        for i in range(self.FAULTY):
            code, text = self.submit(e, FAULT_FROM, VICTIM_RCPT, content(f"fault-{i}"))
            self.assertEqual(code, 451, text)
        refused = re.findall(r"([0-9A-Z]{26}): commit refused: smtpd says (\d+) "
                             r"octets, it wrote 0 ", e.log())
        self.assertEqual(len(refused), self.FAULTY, e.log()[-3000:])
        # Every recycled file went to one of them, claiming about its old
        # size: had it kept its content, that would be queued.
        self.assertTookTheFilesOf(e, sent, set(i for i, _ in refused))
        for _, claimed in refused:
            self.assertAlmostEqual(int(claimed), size, delta=200)
        self.assertEqual(self.queue_json(e, "list")["messages"], [])
        self.assertEqual(self.queue_json(e, "stats")["accepted"], 6)
        # Nothing reached the victim; the normal mail still flows.
        code, text = self.submit(e, NORMAL_FROM, NORMAL_RCPT, content("after"))
        self.assertEqual(code, 250, text)
        wait_until(lambda: len(sink.messages) == 7, 20, what="the last message")
        self.assertEqual([m for m in sink.messages if VICTIM_RCPT in m.rcpts], [])

    def test_what_smtpd_did_not_write_is_empty(self):
        """smtpd writes nothing and says so: the message queued is what it
        wrote, nothing, never the previous content of its recycled file."""
        sink, e = self.start("write-nothing", extra=SLOW_RETRY)
        sent = self.deliver_normal_and_recycle(e, sink)
        # Kept in the queue: their files are not recycled under the test.
        sink.rcpt_reply(VICTIM_RCPT, 451, "4.3.0 not now")
        ids = []
        for i in range(self.FAULTY):
            code, text = self.submit(e, FAULT_FROM, VICTIM_RCPT, content(f"fault-{i}"))
            self.assertEqual(code, 250, text)
            ids.append(QUEUED_AS.search(text).group(1))
        self.assertTookTheFilesOf(e, sent, set(ids))
        for mid in ids:
            self.assertRegex(e.log(), rf"{mid}: from=<{FAULT_FROM}>, size=0,")
            self.assertEqual(os.path.getsize(os.path.join(e.spool, "queue", mid)), 0)
            self.assertEqual(self.queue_json(e, "view", mid)["size"], 0)

    def test_what_smtpd_skipped_holds_nothing_of_the_old_message(self):
        """smtpd moves the offset of a recycled file to the old message's
        size without writing and claims that size: the size matches where
        its writes ended, so the message is queued, but what it skipped
        reads as zeros, not as the message the file held before. (In a new
        file, the offset is past the end: refused.)"""
        sink, e = self.start("write-nothing,seek-previous-size,"
                             "claim-previous-size", extra=SLOW_RETRY)
        sent = self.deliver_normal_and_recycle(e, sink)
        sink.rcpt_reply(VICTIM_RCPT, 451, "4.3.0 not now")   # stay queued
        ids = []
        for i in range(self.FAULTY):
            code, text = self.submit(e, FAULT_FROM, VICTIM_RCPT, content(f"fault-{i}"))
            if code == 250:
                ids.append(QUEUED_AS.search(text).group(1))
            else:
                # A new, empty file: it does not reach that far.
                self.assertEqual(code, 451, text)
        # The recycled files are all the same size: each went to one of the
        # messages accepted.
        self.assertTookTheFilesOf(e, sent, set(ids))
        size = len(next(iter(sent.values())))
        for mid in ids:
            with open(os.path.join(e.spool, "queue", mid), "rb") as f:
                data = f.read()
            self.assertAlmostEqual(len(data), size, delta=200)
            self.assertEqual(data.count(0), len(data),
                             f"{mid} holds {data[:80]!r}...")
            self.assertEqual(self.queue_json(e, "view", mid)["size"], len(data))

    def test_receptions_held_open_are_capped_and_freed_with_the_channel(self):
        """An smtpd that opens receptions and never ends them gets no more
        than four per connection its listeners allow; they are rolled back
        when its channel goes."""
        sink, e = self.start("hold", listen_opts=("max-connections 2",))
        for i in range(8):
            code, text = self.submit(e, FAULT_FROM, VICTIM_RCPT, content(f"held-{i}"))
            self.assertEqual(code, 451, text)
        held = re.findall(r"test fault: ([0-9A-Z]{26}) left open in queued", e.log())
        self.assertEqual(len(held), 8)
        incoming = os.path.join(e.spool, "incoming")
        for mid in held:
            self.assertTrue(os.path.exists(os.path.join(incoming, mid)), mid)
        # Over the cap: refused at DATA, whoever sends; one warning.
        for sender in (FAULT_FROM, NORMAL_FROM, NORMAL_FROM):
            code, text = self.submit(e, sender, NORMAL_RCPT, content("over"))
            self.assertEqual(code, 451, text)
            self.assertIn("Too many messages being received", text)
        warnings = re.findall(r"smtpd holds 8 receptions open, the most allowed",
                              e.log())
        self.assertEqual(len(warnings), 1)
        # smtpd dies: its receptions are rolled back, their files removed.
        old = e.daemon_pids()["smtpd"]
        os.kill(old, signal.SIGKILL)
        e.wait_daemon_restart("smtpd", old)
        for mid in held:
            wait_until(lambda: re.search(rf"{mid}: rolled back \(", e.log()), 10,
                       what=f"{mid} to be rolled back")
            self.assertFalse(os.path.exists(os.path.join(incoming, mid)), mid)
        e.send(NORMAL_FROM, [NORMAL_RCPT], content("later"), retry_for=10)
        sink.wait_rcpts([NORMAL_RCPT])
        self.assertEqual([m for m in sink.messages if VICTIM_RCPT in m.rcpts], [])

    def test_arrival_time_is_queueds_clock(self):
        """smtpd says the message arrived in 1990: queued stores its own
        time, which is what the queue shows."""
        sink, e = self.start("arrival-1990", extra=SLOW_RETRY)
        sink.rcpt_reply(VICTIM_RCPT, 451, "4.3.0 not now")
        before = time.time()
        code, text = self.submit(e, FAULT_FROM, VICTIM_RCPT, content("old"))
        after = time.time()
        self.assertEqual(code, 250, text)
        mid = QUEUED_AS.search(text).group(1)
        view = self.queue_json(e, "view", mid)
        self.assertGreaterEqual(view["created"], int(before) - 1)
        self.assertLessEqual(view["created"], after + 1)
        (row,) = [m for m in self.queue_json(e, "list")["messages"] if m["id"] == mid]
        self.assertEqual(row["created"], view["created"])
        self.assertNotIn("1990", e.ctl("queue", "view", mid).stdout)


if __name__ == "__main__":
    unittest.main()
