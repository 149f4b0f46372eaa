# SPDX-License-Identifier: ISC
"""The system call filter of each daemon, end to end: a daemon made to
attempt a forbidden call (through the test-only fault switch,
EMPATH_TEST_SYSCALL + SIGUSR2, see lib/sandbox.c) dies of SIGSYS, the
master logs it and restarts it, and mail still flows; a daemon cannot
signal a sibling that runs as the same user."""

import os
import re
import signal
import unittest

from harness import DAEMONS, EmpathTestCase, pid_alive, wait_until

SIGSYS = int(signal.SIGSYS)


class SandboxTests(EmpathTestCase):

    def start_with_fault_switch(self, sink):
        """Empath whose daemons arm the fault switch on a file of this
        test's directory."""
        self.fault_file = os.path.join(self.tmp, "fault")
        with open(self.fault_file, "w"):
            pass
        os.chmod(self.fault_file, 0o644)
        saved = os.environ.get("EMPATH_TEST_SYSCALL")
        os.environ["EMPATH_TEST_SYSCALL"] = self.fault_file
        try:
            e = self.empath(sink)
        finally:
            if saved is None:
                del os.environ["EMPATH_TEST_SYSCALL"]
            else:
                os.environ["EMPATH_TEST_SYSCALL"] = saved
        return e

    def armed(self, e, name, pid):
        """Wait until daemon `name` (pid) has its filter and its switch."""
        wait_until(lambda: re.search(
            rf"{name}\[{pid}\]: info: test fault switch armed", e.log()),
            10, what=f"{name} (pid {pid}) to arm the fault switch")

    def sanitizer_build(self, e):
        return "wider list of a sanitizer build" in e.log()

    def fault(self, e, name, action):
        """Make daemon `name` attempt `action`; wait for the master to log
        its death by SIGSYS and to restart it. Returns the new pid."""
        pid = e.daemon_pids()[name]
        self.armed(e, name, pid)
        with open(self.fault_file, "w") as f:
            f.write(f"{name} {action}\n")
        os.kill(pid, signal.SIGUSR2)
        wait_until(lambda: f"{name} (pid {pid}) killed by signal {SIGSYS}" in e.log(),
                   10, what=f"the master to log {name}'s death by SIGSYS")
        new = e.wait_daemon_restart(name, pid)
        self.armed(e, name, new)
        self.assertIn(f"{name}[{pid}]: info: test fault: attempting {action}", e.log())
        self.assertNotIn("was not stopped by the filter", e.log())
        return new

    def assertMailFlows(self, e, sink, tag):
        body = f"Subject: {tag}\r\n\r\nafter the restart\r\n".encode()
        e.send("sender@sink.test", [f"{tag}@sink.test"], body, retry_for=15)
        msgs = sink.wait_messages(1)
        self.assertDeliveredExactly(msgs[-1].data, body)

    def test_execve_kills_each_daemon_which_is_restarted_and_mail_flows(self):
        sink = self.start_sink()
        e = self.start_with_fault_switch(sink)
        for name in DAEMONS:
            with self.subTest(name):
                self.fault(e, name, "execve")
        self.assertMailFlows(e, sink, "execve")

    def test_opening_a_file_kills_smtpd_and_deliverd(self):
        sink = self.start_sink()
        e = self.start_with_fault_switch(sink)
        wait_until(lambda: "system call filter in place" in e.log(), 10,
                   what="a filter in place")
        if self.sanitizer_build(e):
            self.skipTest("sanitizer builds allow open (the runtimes need it)")
        for name in ("smtpd", "deliverd"):
            with self.subTest(name):
                self.fault(e, name, "openat")
        self.assertMailFlows(e, sink, "openat")

    def test_daemons_are_not_dumpable(self):
        # A non-dumpable process's /proc files belong to root: no sibling
        # of the same uid can ptrace it or read its memory.
        sink = self.start_sink()
        e = self.start_with_fault_switch(sink)
        for name, pid in e.daemon_pids().items():
            with self.subTest(name):
                self.armed(e, name, pid)
                uid = int(open(f"/proc/{pid}/status").read()
                          .split("\nUid:")[1].split()[0])
                self.assertNotEqual(uid, 0, f"{name} runs as root")
                self.assertEqual(os.stat(f"/proc/{pid}/environ").st_uid, 0,
                                 f"{name} is dumpable")

    def test_a_daemon_cannot_signal_a_sibling(self):
        sink = self.start_sink()
        e = self.start_with_fault_switch(sink)
        for killer, victim in (("smtpd", "queued"), ("ctld", "deliverd")):
            with self.subTest(f"{killer} kills {victim}"):
                target = e.daemon_pids()[victim]
                self.armed(e, victim, target)
                self.fault(e, killer, f"kill {target}")
                self.assertTrue(pid_alive(target), f"{victim} was killed")
                self.assertEqual(e.daemon_pids()[victim], target,
                                 f"{victim} was restarted")
                self.assertNotIn(f"{victim}[{target}]: info: stopping on signal",
                                 e.log())
        self.assertMailFlows(e, sink, "sibling")


@unittest.skipUnless(os.geteuid() == 0, "needs root: the master drops privileges only as root")
class PrivilegedSandboxTests(SandboxTests):
    """The same after the real privilege drop and chroot."""
    privileged = True

    def empath(self, sink=None, start=True, **kw):
        kw.setdefault("user", "nobody")
        kw.setdefault("queue_user", "daemon")
        e = super().empath(sink, start=False, **kw)
        os.rmdir(e.spool)   # the master creates it, owned by the user
        if start:
            e.start()
        return e

    # One case is enough here: the others do not depend on the drop.
    test_opening_a_file_kills_smtpd_and_deliverd = None
    test_a_daemon_cannot_signal_a_sibling = None


if __name__ == "__main__":
    unittest.main()
