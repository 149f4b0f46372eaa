# SPDX-License-Identifier: ISC
"""Daemons die, the master restarts them, and no accepted message is lost;
SIGTERM stops the whole system cleanly."""

import os
import signal
import subprocess
import time
import unittest

from harness import DAEMONS, EmpathTestCase, RawSMTP, pid_alive, wait_until

SENDER = "sender@sink.test"


class RestartTests(EmpathTestCase):

    def test_queued_killed_while_idle_is_restarted_and_delivers(self):
        sink = self.start_sink()
        e = self.empath(sink)
        before = e.daemon_pids()
        old = before["queued"]
        os.kill(old, signal.SIGKILL)
        new = e.wait_daemon_restart("queued", old)
        self.assertNotEqual(new, old)
        body = b"Subject: after restart\r\n\r\nqueued was restarted\r\n"
        e.send(SENDER, ["after@sink.test"], body, retry_for=15)
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, body)
        after = e.daemon_pids()
        for name in ("smtpd", "deliverd", "ctld"):
            self.assertEqual(after.get(name), before[name],
                             f"{name} was restarted too (peers must survive)")

    def test_deliverd_killed_during_delivery_message_arrives_later(self):
        sink = self.start_sink()
        sink.data_delay(30, times=1)   # hold the first reply to the final dot
        e = self.empath(sink)
        body = b"Subject: interrupted\r\n\r\ndeliverd died while sending this\r\n"
        e.send(SENDER, ["slow@sink.test"], body)
        self.assertTrue(sink.in_data.wait(30), "deliverd never reached the end of DATA")
        old = e.daemon_pids()["deliverd"]
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: sink.aborted >= 1, 10,
                   what="the sink to see the killed deliverd's connection close")
        e.wait_daemon_restart("deliverd", old)
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, body)
        time.sleep(1)
        self.assertEqual(len(sink.messages), 1, "delivered more than once")

    def test_smtpd_killed_is_restarted_and_accepts_mail(self):
        sink = self.start_sink()
        e = self.empath(sink)
        old = e.daemon_pids()["smtpd"]
        os.kill(old, signal.SIGKILL)
        e.wait_daemon_restart("smtpd", old)
        body = b"Subject: smtpd restarted\r\n\r\nhello again\r\n"
        e.send(SENDER, ["again@sink.test"], body, retry_for=15)
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, body)

    def test_accepted_message_survives_a_clean_restart(self):
        sink = self.start_sink()
        sink.rcpt_reply("keep@sink.test", 451, "4.3.0 not now")
        e = self.empath(sink)
        body = b"Subject: durable\r\n\r\nkept across a restart\r\n"
        e.send(SENDER, ["keep@sink.test"], body)
        wait_until(lambda: sink.rcpt_attempts.get("keep@sink.test", 0) >= 1,
                   what="a first (refused) delivery attempt")
        self.assertEqual(e.stop(), 0, "empath-master exit status on SIGTERM")
        self.assertEqual(sink.messages, [])
        sink.clear_rules()
        e.start()
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, body)

    def test_accepted_message_survives_sigkill_of_every_process(self):
        sink = self.start_sink()
        sink.rcpt_reply("crash@sink.test", 451, "4.3.0 not now")
        e = self.empath(sink)
        body = b"Subject: crash\r\n\r\nkept across a crash\r\n"
        e.send(SENDER, ["crash@sink.test"], body)
        e.kill_all()   # master and daemons, SIGKILL, no chance to clean up
        wait_until(lambda: not any(pid_alive(p) for p in e.known_pids), 5,
                   what="every process to die")
        sink.clear_rules()
        e.start()
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, body)


class StopTests(EmpathTestCase):

    def _stop_and_check(self, e, deadline=10.0):
        pids = e.daemon_pids()
        self.assertEqual(set(pids), set(DAEMONS))
        t0 = time.monotonic()
        e.master.send_signal(signal.SIGTERM)
        try:
            rc = e.master.wait(deadline)
        except subprocess.TimeoutExpired:
            self.fail(f"empath-master still running {deadline:g}s after SIGTERM")
        self.assertEqual(rc, 0, "empath-master exit status after SIGTERM")
        left = max(0.1, deadline - (time.monotonic() - t0))
        wait_until(lambda: not any(pid_alive(p) for p in pids.values()), left,
                   what=f"every daemon to exit ({pids})")
        return time.monotonic() - t0

    def test_sigterm_stops_every_process_with_status_0(self):
        sink = self.start_sink()
        e = self.empath(sink)
        e.send(SENDER, ["before-stop@sink.test"], b"Subject: x\r\n\r\nx\r\n")
        sink.wait_messages(1)
        self._stop_and_check(e)

    def test_sigterm_with_an_open_session_stops_within_10s(self):
        sink = self.start_sink()
        e = self.empath(sink)
        c = RawSMTP(e.port)
        self.addCleanup(c.close)
        self.assertEqual(c.cmd("EHLO client.test")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<sender@sink.test>")[0], 250)
        self._stop_and_check(e)
        # The client is told (421) or disconnected; it must not hang open.
        try:
            code, _ = c.reply()
            self.assertEqual(code, 421)
        except (ConnectionError, OSError):
            pass


if __name__ == "__main__":
    unittest.main()
