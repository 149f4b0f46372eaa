# SPDX-License-Identifier: ISC
"""Plugins in smtpd end to end: the test plugins smtpd_policy and
smtpd_events (tests/plugins/) loaded by the real empath-smtpd, chrooted
and under its seccomp filter. A plugin's rejection reaches the client
with its code and text (451 for a temporary one, 421 closing the
session); texts the plugin API refuses (CR LF, 8-bit, too long) never
reach the wire; the DATA hook reads the message file as smtpd wrote it
(mapped, not copied); the events come in order; a plugin that cannot be
loaded stops smtpd with the configuration line in the log."""

import os
import unittest

from harness import BUILD, EmpathTestCase, RawSMTP, wait_until

PLUGIN_DIR = os.path.join(BUILD, "tests", "plugins")
BLOCK_TEXT = "5.7.1 <blocked> is not wanted here"


class PluginsSmtpdTest(EmpathTestCase):

    def start_with_plugins(self, sink=None):
        self.policy = os.path.join(self.tmp, "policy.out")
        self.events = os.path.join(self.tmp, "events.out")
        extra = (f'plugin-dir "{PLUGIN_DIR}"\n'
                 f'plugin "smtpd_policy" {{ args "{self.policy}" "{BLOCK_TEXT}" }}\n'
                 f'plugin "smtpd_events" {{ args "{self.events}" }}\n')
        return self.empath(sink=sink, extra=extra)

    def read(self, path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def test_rejections_with_the_plugins_replies(self):
        e = self.start_with_plugins()
        c = RawSMTP(e.port)
        try:
            self.assertEqual(c.cmd("EHLO client.test")[0], 250)
            self.assertEqual(c.cmd("MAIL FROM:<temp@client.test>"),
                             (451, ["4.7.1 greylisted, come back"]))
            self.assertEqual(c.cmd("MAIL FROM:<nice@client.test>"),
                             (250, ["2.1.0 nice sender"]))
            self.assertEqual(c.cmd("RCPT TO:<blocked@sink.test>"),
                             (550, [BLOCK_TEXT]))
            # One generic line where the plugin tried CR LF, 8-bit and an
            # overlong text: nothing of them on the wire.
            c.send("RCPT TO:<hostile@sink.test>\r\nNOOP\r\n")
            self.assertEqual(c.reply(), (554, ["5.7.1 rejected"]))
            self.assertEqual(c.reply(), (250, ["2.0.0 Ok"]))
            self.assertTrue(c.nothing_pending())
            self.assertIn("hostile -1 -1 -1\n", self.read(self.policy))
            # 421 closes the session.
            self.assertEqual(c.cmd("RCPT TO:<bye@sink.test>"),
                             (421, ["4.7.0 enough for today"]))
            with self.assertRaises(ConnectionError):
                c.cmd("NOOP")
        finally:
            c.close()

    def test_data_hook_and_events_in_order(self):
        sink = self.start_sink()
        e = self.start_with_plugins(sink)
        # The start-up probe's connection is over: only ours follows.
        wait_until(lambda: self.read(self.events).endswith("closed 127.0.0.1 -\n"),
                   what="the probe's closed event")
        before = len(self.read(self.events))
        body = "Subject: plugin test\r\n\r\n..dot line\r\nbody\r\n"
        c = RawSMTP(e.port)
        try:
            c.cmd("EHLO client.test")
            self.assertEqual(c.cmd("MAIL FROM:<a@client.test>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<blocked@sink.test>")[0], 550)
            self.assertEqual(c.cmd("RCPT TO:<u@sink.test>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(body + ".\r\n")
            code, text = c.reply()
            self.assertEqual(code, 250, text)
            msgid = text[0].split()[-1]
            self.assertEqual(c.cmd("QUIT")[0], 221)
        finally:
            c.close()
        wait_until(lambda: self.read(self.events)[before:].endswith("closed 127.0.0.1 -\n"),
                   what="the closed event")
        lines = self.read(self.events)[before:].splitlines()
        self.assertEqual(lines[0], "opened 127.0.0.1 ")
        self.assertEqual(lines[1], f"error 127.0.0.1 550 {BLOCK_TEXT}")
        self.assertTrue(lines[2].startswith(
            f"received 127.0.0.1 {msgid} from=a@client.test n=1 first=u@sink.test size="),
            lines[2])
        self.assertEqual(lines[3], "closed 127.0.0.1 -")
        self.assertEqual(len(lines), 4, lines)
        # The DATA hook saw the file as written: our Received: on top,
        # dot-unstuffed, and as many octets as the message delivered.
        data = [l for l in self.read(self.policy).splitlines() if l.startswith("data ")]
        self.assertEqual(len(data), 1, data)
        n = int(data[0].split()[1])
        self.assertTrue(data[0].split(" ", 2)[2].startswith("Received: from client.test"),
                        data[0])
        self.assertIn(f"size={n} octets", lines[2])
        msgs = sink.wait_messages(1)
        delivered = msgs[0].data
        self.assertIn(b"\r\n.dot line\r\nbody\r\n", delivered)
        # deliverd may put the plugin's header field on top (env.headers);
        # the rest is the n octets the hook saw.
        self.assertIn(len(delivered), (n, n + len(f"X-Policy: seen {n} octets\r\n")))

    def test_plugin_that_cannot_load_stops_smtpd(self):
        extra = f'plugin-dir "{PLUGIN_DIR}"\n\nplugin "nosuch"\n'
        e = self.empath(extra=extra, start=False)
        with self.assertRaises(AssertionError):
            e.start(timeout=4)
        with open(e.conf) as f:
            want = f.read().splitlines().index('plugin "nosuch"') + 1
        self.assertRegex(e.log(), rf':{want}: plugin "nosuch"')


if __name__ == "__main__":
    unittest.main()
