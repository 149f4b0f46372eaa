# SPDX-License-Identifier: ISC
"""Plugin supervision by empath-master (empath-master(8), empath-plugin(3)
CRASH ISOLATION): a plugin that does not load keeps Empath from starting;
a plugin that crashes takes down only its daemon, which the master
restarts; after 5 crashes within 60 s the plugin is disabled in that
daemon, logged at err, shown by `empathctl plugin list` and `system
status`, and mail flows without it. The test plugin crashy
(tests/plugins/crashy.c) writes through NULL in validate_rcpt when the
recipient starts with "crash"."""

import json
import os
import re
import socket
import subprocess
import time
import unittest

from harness import (BUILD, EmpathTestCase, RawSMTP, SINK_DOMAIN, pid_alive,
                     wait_until)

PLUGIN_DIR = os.path.join(BUILD, "tests", "plugins")
CRASH_LIMIT = 5


def plugin_conf(*names):
    return "\n".join([f'plugin-dir "{PLUGIN_DIR}"']
                     + [f'plugin "{n}"' for n in names])


class StartupRefusalTests(EmpathTestCase):
    """Empath never starts half-loaded."""

    def test_missing_plugin_stops_the_master_with_file_line(self):
        e = self.empath(start=False, extra=plugin_conf("crashy", "nosuchplugin"))
        with open(e.conf) as f:
            lines = f.read().splitlines()
        line = next(i for i, t in enumerate(lines, 1)
                    if t == 'plugin "nosuchplugin"')
        r = subprocess.run(
            [os.path.join(e.bin, "empath-master"), "-d", "-f", e.conf],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            errors="replace", timeout=30, cwd=e.tmp,
            **e.identity.popen_kwargs())
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f'{e.conf}:{line}: plugin "nosuchplugin"', r.stderr)
        # No daemon was started, no socket bound: nothing answers SMTP.
        self.assertNotIn("started smtpd", r.stderr)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", e.port), timeout=1).close()

    def test_good_plugins_start(self):
        e = self.empath(extra=plugin_conf("crashy"))
        r = e.ctl("--json", "plugin", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = json.loads(r.stdout)
        self.assertIsInstance(rows, list)
        for row in rows:
            self.assertEqual(set(row), {"daemon", "name", "version",
                                        "hook_calls", "event_calls",
                                        "slow_calls", "disabled"})
            self.assertFalse(row["disabled"])


class CrashSupervisionTests(EmpathTestCase):

    def crash_once(self, e):
        """One session whose RCPT crashes smtpd: the connection drops and
        the master starts a new smtpd; queued and deliverd keep running."""
        before = e.daemon_pids()
        c = RawSMTP(e.port)
        try:
            self.assertEqual(c.greeting[0], 220)
            self.assertEqual(c.cmd("EHLO client.test")[0], 250)
            self.assertEqual(c.cmd("MAIL FROM:<a@client.test>")[0], 250)
            try:
                code = c.cmd(f"RCPT TO:<crash@{SINK_DOMAIN}>")[0]
            except (OSError, EOFError, AssertionError):
                code = None
        finally:
            c.close()
        if code is not None:
            return False
        e.wait_daemon_restart("smtpd", before["smtpd"])
        after = e.daemon_pids()
        self.assertEqual(after["queued"], before["queued"])
        self.assertEqual(after["deliverd"], before["deliverd"])
        wait_until(e._greets, what="smtpd to greet again")
        return True

    def plugin_rows(self, e):
        r = e.ctl("--json", "plugin", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        return [x for x in json.loads(r.stdout) if x["name"] == "crashy"]

    def test_crashing_plugin_restarts_smtpd_then_is_disabled(self):
        sink = self.start_sink()
        e = self.empath(sink, extra=plugin_conf("crashy"))
        # Its NULL write is the point: a sanitizer build reports it.
        e.expected_report_sources = ("tests/plugins/crashy.c:",)
        self.assertTrue(self.crash_once(e), "RCPT crash@ was answered: "
                        "smtpd did not run crashy's validate_rcpt")
        # Another session's mail is accepted and delivered meanwhile.
        refused = e.send("a@client.test", [f"ok1@{SINK_DOMAIN}"],
                         b"Subject: one\r\n\r\nafter a crash\r\n", retry_for=10)
        self.assertEqual(refused, {})
        sink.wait_rcpts([f"ok1@{SINK_DOMAIN}"])
        self.assertNotRegex(e.log(), r"error: plugin crashy crashed")
        # Loaded, not disabled, its calls counted (the daemons report
        # at most once a second).
        wait_until(lambda: any(x["daemon"] == "smtpd" and not x["disabled"]
                               and x["hook_calls"] >= 1 and x["version"] == "1.0"
                               for x in self.plugin_rows(e)),
                   what="plugin list to show crashy loaded with its calls")
        for _ in range(CRASH_LIMIT - 1):
            self.assertTrue(self.crash_once(e))
        wait_until(lambda: re.search(
            r"error: plugin crashy crashed smtpd 5 times within 60 s", e.log()),
            what="the err line that disables crashy")
        wait_until(lambda: any(x["daemon"] == "smtpd" and x["disabled"]
                               for x in self.plugin_rows(e)),
                   what="plugin list to show crashy disabled in smtpd")
        r = e.ctl("system", "status")
        self.assertIn("plugin crashy disabled in smtpd", r.stdout)
        # Disabled: the recipient that crashed it is now accepted, and
        # the mail flows.
        pid = e.daemon_pids()["smtpd"]
        refused = e.send("a@client.test", [f"crash2@{SINK_DOMAIN}"],
                         b"Subject: two\r\n\r\nwithout the plugin\r\n",
                         retry_for=10)
        self.assertEqual(refused, {})
        sink.wait_rcpts([f"crash2@{SINK_DOMAIN}"])
        self.assertEqual(e.daemon_pids()["smtpd"], pid)
        self.assertTrue(pid_alive(pid))


if __name__ == "__main__":
    unittest.main()
