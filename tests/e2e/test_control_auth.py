# SPDX-License-Identifier: ISC
"""Who may use the control socket: bearer tokens checked against the
configured SHA-256 hashes, and peer credentials (root, the owner, the
members of the control group) checked by ctld whatever the socket's mode."""

import grp
import hashlib
import os
import subprocess
import unittest

from harness import EmpathTestCase, _unprivileged_bindir

TOKEN = "s3cr3t-Token-for-the-e2e-test"
OTHER = "another-token-entirely"


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def token_block(*tokens):
    return "control {\n" + "".join(f'\ttoken-hash "{sha(t)}"\n' for t in tokens) + "}\n"


class TokenTests(EmpathTestCase):

    def ctl_env(self, e, env, *args):
        """empathctl as the system's user with extra environment."""
        full = dict(os.environ, **env)
        return subprocess.run(
            [os.path.join(e.bin, "empathctl"), "-s", e.control, *args],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=10, text=True,
            errors="replace", env=full, **e.identity.popen_kwargs())

    def test_commands_need_a_valid_token_when_hashes_are_configured(self):
        e = self.empath(extra=token_block(OTHER, TOKEN))
        r = e.ctl("queue", "stats")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("permission denied", r.stderr)
        self.assertIn("token is required", r.stderr)

        r = e.ctl("--token", "wrong-token", "queue", "freeze")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("permission denied: invalid token", r.stderr)

        r = e.ctl("--token", TOKEN, "queue", "stats")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.ctl_env(e, {"EMPATHCTL_TOKEN": TOKEN}, "system", "status")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.ctl_env(e, {"EMPATHCTL_TOKEN": OTHER}, "queue", "freeze")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = e.ctl("--token", OTHER, "queue", "unfreeze")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # --token wins over the environment.
        r = self.ctl_env(e, {"EMPATHCTL_TOKEN": "wrong"}, "--token", TOKEN,
                         "queue", "stats")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Ping stays open, to tell that the control plane answers.
        self.assertEqual(e.ctl("system", "ping").returncode, 0)

        log = e.log()
        self.assertRegex(log, r"token=none command=queue stats result=denied")
        self.assertRegex(log, r"token=invalid command=queue freeze result=denied")
        self.assertRegex(log, rf"token=#2:{sha(TOKEN)[:8]} command=queue stats result=ok")
        self.assertRegex(log, rf"token=#1:{sha(OTHER)[:8]} command=queue freeze result=ok")
        for secret in (TOKEN, OTHER, "wrong-token"):
            self.assertNotIn(secret, log, "a token reached the log")
        self.assertNotIn(sha(TOKEN), log, "a whole hash reached the log")

    def test_without_hashes_no_token_is_needed(self):
        e = self.empath()
        r = e.ctl("queue", "stats")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = e.ctl("--token", TOKEN, "queue", "stats")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(e.log(), r"token=unchecked command=queue stats result=ok")
        self.assertNotIn(TOKEN, e.log())

    def test_an_oversized_token_is_a_usage_error(self):
        e = self.empath(start=False)
        r = e.ctl("--token", "x" * 300, "system", "ping")
        self.assertEqual(r.returncode, 64, r.stdout + r.stderr)

    def token_file(self, e, name, content, mode=0o600):
        path = os.path.join(e.tmp, name)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)
        e.identity.chown(path)
        return path

    def ctl_stdin(self, e, data, *args):
        return subprocess.run(
            [os.path.join(e.bin, "empathctl"), "-s", e.control, *args],
            input=data, capture_output=True, timeout=10, text=True,
            errors="replace", **e.identity.popen_kwargs())

    def test_token_file_is_read_and_checked(self):
        e = self.empath(extra=token_block(TOKEN))
        # The first line is the token; its line end and what follows are not.
        good = self.token_file(e, "good", TOKEN + "\r\nsecond line\n")
        r = e.ctl("--token-file", good, "queue", "stats")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("warning", r.stderr)
        # Without a line end at all.
        bare = self.token_file(e, "bare", TOKEN)
        r = e.ctl("--token-file", bare, "queue", "stats")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # "-" is standard input.
        r = self.ctl_stdin(e, TOKEN + "\n", "--token-file", "-", "queue", "stats")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # The file wins over the environment.
        r = self.ctl_env(e, {"EMPATHCTL_TOKEN": "wrong"}, "--token-file", good,
                         "queue", "stats")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        wrong = self.token_file(e, "wrong", "wrong-token\n")
        r = e.ctl("--token-file", wrong, "queue", "freeze")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("permission denied: invalid token", r.stderr)
        r = self.ctl_env(e, {"EMPATHCTL_TOKEN": TOKEN}, "--token-file", wrong,
                         "queue", "freeze")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

        # A file others may read still works, with a warning.
        loose = self.token_file(e, "loose", TOKEN + "\n", mode=0o644)
        r = e.ctl("--token-file", loose, "queue", "stats")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("warning: token file", r.stderr)
        self.assertIn("group or others", r.stderr)
        for secret in (TOKEN, "wrong-token"):
            self.assertNotIn(secret, e.log(), "a token reached the log")

    def test_token_file_usage_errors(self):
        e = self.empath(start=False)
        missing = os.path.join(e.tmp, "no-such-token")
        r = e.ctl("--token-file", missing, "system", "ping")
        self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
        self.assertIn(f"cannot open token file {missing}", r.stderr)
        self.assertIn("No such file or directory", r.stderr)
        empty = self.token_file(e, "empty", "\nTOKEN\n")
        r = e.ctl("--token-file", empty, "system", "ping")
        self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
        self.assertIn("the first line is empty", r.stderr)
        long = self.token_file(e, "long", "x" * 300 + "\n")
        r = e.ctl("--token-file", long, "system", "ping")
        self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
        self.assertIn("longer than the limit", r.stderr)
        r = e.ctl("--token", TOKEN, "--token-file", long, "system", "ping")
        self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
        self.assertIn("exclusive", r.stderr)


STRANGER = 43210          # a uid and gid in no group and with no name


@unittest.skipUnless(os.geteuid() == 0, "needs root: runs empathctl as other users")
class PeerCredentialTests(EmpathTestCase):
    """The socket is opened to everyone (mode 0666) so that ctld's own
    check is what refuses; the control group is the system user's."""

    def open_socket(self, e):
        os.chmod(e.control, 0o666)
        self.group = self.identity.gid if not self.privileged else \
            grp.getgrnam("nogroup").gr_gid

    def ctl_as(self, e, uid, gid, groups, *args):
        return subprocess.run(
            [os.path.join(_unprivileged_bindir(), "empathctl"), "-s", e.control, *args],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=10, text=True,
            errors="replace", user=uid, group=gid, extra_groups=groups)

    def check(self, e):
        self.open_socket(e)
        # A stranger may ping, and nothing else.
        r = self.ctl_as(e, STRANGER, STRANGER, [], "system", "ping")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for cmd in (["queue", "freeze"], ["queue", "list"], ["system", "status"],
                    ["dns", "clear-cache"]):
            with self.subTest(cmd=cmd):
                r = self.ctl_as(e, STRANGER, STRANGER, [], *cmd)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn(f"permission denied: uid {STRANGER}", r.stderr)
                self.assertEqual(r.stdout, "")
        self.assertRegex(e.log(), rf"uid={STRANGER} .*command=queue freeze result=denied")
        # A member by its supplementary groups, and by its primary group.
        r = self.ctl_as(e, STRANGER + 1, STRANGER + 1, [self.group], "queue", "freeze")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.ctl_as(e, STRANGER + 2, self.group, [], "queue", "unfreeze")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Root.
        r = self.ctl_as(e, 0, 0, [], "system", "status")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_only_root_owner_and_group_may_use_the_socket(self):
        e = self.empath()
        self.check(e)
        # The owner (the user the system runs as) too.
        r = e.ctl("queue", "stats")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


@unittest.skipUnless(os.geteuid() == 0, "needs root: the master drops privileges only as root")
class PrivilegedPeerCredentialTests(PeerCredentialTests):
    privileged = True

    def test_only_root_owner_and_group_may_use_the_socket(self):
        e = self.empath(user="nobody", queue_user="daemon")
        self.check(e)
        # nobody is in the control group (its primary group, nogroup), and
        # named in the audit line although ctld is chrooted.
        r = self.ctl_as(e, "nobody", "nogroup", [], "queue", "stats")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(e.log(), r"user=nobody .*command=queue stats result=ok")
        self.assertRegex(e.log(), rf"uid={STRANGER} user={STRANGER} ")


if __name__ == "__main__":
    unittest.main()
