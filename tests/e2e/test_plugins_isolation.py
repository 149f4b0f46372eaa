# SPDX-License-Identifier: ISC
"""empath-master checks every plugin before it starts the daemons (as -n
does), but in a child process: a plugin's init that ignores SIGCHLD and
leaves a descriptor open (tests/plugins/sticky.c) changes nothing in the
long-lived master. It still reaps and restarts a killed daemon, and
holds no descriptor of the plugin's file."""

import os
import signal
import subprocess
import unittest

from harness import BUILD, EmpathTestCase

PLUGIN_DIR = os.path.join(BUILD, "tests", "plugins")


class PluginCheckIsolationTests(EmpathTestCase):

    def sticky(self, start=True, more=""):
        marker = os.path.join(self.tmp, "sticky-marker")
        extra = (f'plugin-dir "{PLUGIN_DIR}"\n'
                 f'plugin "sticky" {{ args "{marker}"{more} }}')
        return self.empath(start=start, extra=extra), marker

    def master(self, e, *flags):
        return subprocess.run(
            [os.path.join(e.bin, "empath-master"), *flags, "-f", e.conf],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            errors="replace", timeout=30, cwd=e.tmp,
            **e.identity.popen_kwargs())

    def open_files(self, pid):
        out = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
        return out

    def test_plugin_init_leaves_nothing_in_the_master(self):
        e, marker = self.sticky()
        # The plugin ran (queued loads it too: the file exists).
        self.assertTrue(os.path.exists(marker))
        self.assertNotIn(marker, self.open_files(e.master.pid))
        # SIGCHLD is still handled: a killed daemon is reaped, restarted.
        before = e.daemon_pids()
        os.kill(before["smtpd"], signal.SIGKILL)
        e.wait_daemon_restart("smtpd", before["smtpd"])
        # Not a zombie left behind either: the master reaped it.
        st = f"/proc/{before['smtpd']}/status"
        self.assertFalse(os.path.exists(st) and
                         "zombie" in open(st).read())

    def test_check_only_accepts_the_plugin(self):
        e, marker = self.sticky(start=False)
        r = self.master(e, "-n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration OK", r.stderr)
        self.assertTrue(os.path.exists(marker))

    def test_plugin_killing_the_check_stops_the_start(self):
        e, _ = self.sticky(start=False, more=' "abort"')
        for flags in (["-n"], ["-d"]):
            r = self.master(e, *flags)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("plugin check: killed by signal 6", r.stderr)
            self.assertNotIn("started smtpd", r.stderr)


if __name__ == "__main__":
    unittest.main()
