# SPDX-License-Identifier: ISC
"""empathctl's command line: each command parses its own options with
getopt_long; an unknown option, a missing argument or operand is a usage
error (exit 64, EX_USAGE) with one line saying what and the command's
usage line, and --help prints that usage line and exits 0. None of this
needs a running Empath: the socket given does not exist, so a command
that got past its parser fails with 1 (cannot connect) instead."""

import json
import os
import subprocess
import unittest

from harness import BUILD, EmpathTestCase
from test_queue_ops import CTL_ERROR, RawControl, error_text

EX_USAGE = 64
GOOD_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

# Every command, with operands that make a valid call.
COMMANDS = [
    (["system", "ping"], []),
    (["system", "status"], []),
    (["queue", "list"], []),
    (["queue", "view"], [GOOD_ID]),
    (["queue", "delete"], [GOOD_ID]),
    (["queue", "retry"], [GOOD_ID]),
    (["queue", "freeze"], []),
    (["queue", "unfreeze"], []),
    (["queue", "process-now"], []),
    (["queue", "stats"], []),
    (["dns", "list-cache"], []),
    (["dns", "clear-cache"], []),
    (["dns", "refresh"], ["example.org"]),
    (["dns", "list-overrides"], []),
]


class OptionTests(unittest.TestCase):

    def ctl(self, *args):
        env = dict(os.environ)
        env.pop("EMPATH_CONTROL_SOCKET", None)
        env.pop("EMPATHCTL_TOKEN", None)
        return subprocess.run(
            [os.path.join(BUILD, "empathctl"), "-s", "/nonexistent/ctl.sock", *args],
            capture_output=True, text=True, timeout=10, env=env)

    def assert_usage(self, r, *needles):
        self.assertEqual(r.returncode, EX_USAGE, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 2, r.stderr)
        for n in needles:
            self.assertIn(n, lines[0])
        self.assertTrue(lines[1].startswith("usage: empathctl"), r.stderr)

    def test_valid_calls_get_past_the_parser(self):
        for cmd, operands in COMMANDS:
            for extra in ([], ["-j"], ["--json"]):
                with self.subTest(cmd=cmd, extra=extra):
                    r = self.ctl(*cmd, *extra, *operands)
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertIn("cannot connect", r.stderr)

    def test_unknown_options_are_usage_errors(self):
        for cmd, operands in COMMANDS:
            for bad in ("--bogus", "-x", "--bogus=1"):
                with self.subTest(cmd=cmd, bad=bad):
                    r = self.ctl(*cmd, bad, *operands)
                    self.assert_usage(r, " ".join(cmd), "unknown option",
                                      bad.split("=")[0])

    def test_help_prints_the_usage_line(self):
        for cmd, _ in COMMANDS:
            for h in ("-h", "--help"):
                with self.subTest(cmd=cmd, h=h):
                    r = self.ctl(*cmd, h)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(r.stderr, "")
                    self.assertRegex(r.stdout, r"^usage: empathctl .*"
                                     + " ".join(cmd) + r"\b.*\n$")

    def test_missing_option_arguments(self):
        for cmd, opt in ((["queue", "list"], "--status"),
                         (["queue", "list"], "--limit"),
                         (["queue", "list"], "--after"),
                         (["queue", "stats"], "--interval"),
                         (["queue", "stats"], "--count")):
            with self.subTest(opt=opt):
                r = self.ctl(*cmd, opt)
                self.assert_usage(r, " ".join(cmd), opt, "needs an argument")

    def test_missing_and_extra_operands(self):
        for cmd, operands in COMMANDS:
            with self.subTest(cmd=cmd):
                if operands:
                    r = self.ctl(*cmd)
                    self.assert_usage(r, " ".join(cmd), "is needed")
                r = self.ctl(*cmd, *operands, "surplus")
                self.assert_usage(r, " ".join(cmd), "unexpected argument surplus")

    def test_option_values_both_forms_and_checked(self):
        for args in (["--limit", "5"], ["--limit=5"], ["--status", "deferred"],
                     [f"--after={GOOD_ID}"], ["--after", GOOD_ID]):
            with self.subTest(args=args):
                r = self.ctl("queue", "list", *args)
                self.assertEqual(r.returncode, 1, r.stderr)
        for args, needle in ((["--limit=0"], "--limit"), (["--limit", "1001"], "--limit"),
                             (["--status=nope"], "unknown state"),
                             (["--after=xyz"], "not a message id")):
            with self.subTest(args=args):
                self.assert_usage(self.ctl("queue", "list", *args), needle)
        self.assert_usage(self.ctl("queue", "stats", "--watch", "--interval=0"),
                          "--interval")
        self.assert_usage(self.ctl("queue", "view", "../../etc"), "not a message id")
        self.assert_usage(self.ctl("dns", "refresh", "a b"), "domain")

    def test_unknown_commands_are_usage_errors(self):
        for args in (["queue", "frob"], ["dns", "frob"], ["system", "frob"], ["frob"]):
            with self.subTest(args=args):
                r = self.ctl(*args)
                self.assertEqual(r.returncode, EX_USAGE, r.stderr)
                self.assertIn("unknown command frob", r.stderr)


# proto_msgs.h: ctld's own requests to queued and deliverd, the daemons'
# failure answers, answer types it relays, numbers no longer in use, and
# two commands of the table.
D_STATUS_REQ, Q_STATUS_REQ, Q_OP_FAIL, D_DNS_FAIL = 52, 70, 92, 67
RETIRED = (62, 80, 84, 86)
CTL_PING, CTL_PONG, CTL_QUEUE_FREEZE, CTL_QUEUE_OK = 100, 101, 116, 119


class DispatchTests(EmpathTestCase):
    """ctld answers only the types of its command table: the daemons'
    own request and answer types are not commands, however well formed,
    and a command's payload is checked before anything is forwarded."""

    def test_only_table_types_are_commands(self):
        e = self.empath()
        c = RawControl(e.control)
        self.addCleanup(c.close)
        for i, mtype in enumerate((Q_STATUS_REQ, D_STATUS_REQ, Q_OP_FAIL,
                                   D_DNS_FAIL, *RETIRED, CTL_QUEUE_OK,
                                   CTL_PONG, 0xffff)):
            c.send(mtype, 10 + i)
            rtype, peerid, reply = c.recv()
            self.assertEqual((rtype, peerid), (CTL_ERROR, 10 + i))
            self.assertEqual(error_text(reply), "unknown command")
        self.assertRegex(e.log(), rf"command=unknown\({Q_STATUS_REQ}\) result=error")
        # What was once the freeze request went nowhere: the queue is not
        # frozen.
        r = e.ctl("--json", "queue", "stats")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(json.loads(r.stdout)["frozen"])
        # A command with a payload it does not take is refused by ctld.
        c.send(CTL_QUEUE_FREEZE, 30, b"x")
        rtype, peerid, reply = c.recv()
        self.assertEqual((rtype, peerid), (CTL_ERROR, 30))
        self.assertEqual(error_text(reply), "malformed request")
        self.assertRegex(e.log(), r"command=queue freeze result=malformed")
        # The same command well formed is forwarded and relayed.
        c.send(CTL_QUEUE_FREEZE, 31)
        rtype, peerid, _ = c.recv()
        self.assertEqual((rtype, peerid), (CTL_QUEUE_OK, 31))
        c.send(CTL_PING, 32)
        self.assertEqual(c.recv()[:2], (CTL_PONG, 32))


if __name__ == "__main__":
    unittest.main()
