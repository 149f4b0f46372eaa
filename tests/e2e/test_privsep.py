# SPDX-License-Identifier: ISC
"""Privilege separation when the master starts as root: queued runs as
queue-user, smtpd, deliverd and ctld as user, each chrooted; the spool is
queue-user's alone (0700 directories, 0600 files) so user cannot read a
queued message; and the root master never follows a link planted in the
spool or beside the control socket (it refuses to start and changes
nothing outside).

Users: `nobody` (user) and `daemon` (queue-user), both present on a fresh
Debian 12."""

import grp
import os
import pwd
import subprocess
import unittest

from harness import EmpathTestCase, free_port, proc_status, wait_until

USER, QUEUE_USER = "nobody", "daemon"


class NoSink:
    """A next hop nobody listens on: messages stay in the queue."""

    def __init__(self):
        self.port = free_port()


def has_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def as_user(name, code):
    """Run Python code as user name (a fresh process, its groups only)."""
    pw = pwd.getpwnam(name)
    return subprocess.run(["python3", "-c", code], capture_output=True, text=True,
                          timeout=20, user=pw.pw_uid, group=pw.pw_gid,
                          extra_groups=[], stdin=subprocess.DEVNULL)


@unittest.skipUnless(os.geteuid() == 0, "needs root: the master drops privileges only as root")
class PrivsepTests(EmpathTestCase):
    privileged = True

    def test_queued_alone_runs_as_queue_user_and_owns_the_spool(self):
        nobody, queue = pwd.getpwnam(USER), pwd.getpwnam(QUEUE_USER)
        e = self.empath(NoSink(), start=False, user=USER, queue_user=QUEUE_USER)
        os.rmdir(e.spool)
        e.start()
        pids = e.daemon_pids()
        wait_until(lambda: all(proc_status(p)["Uid"].split()[0] != "0"
                               for p in pids.values()), 10,
                   what="every daemon to leave uid 0")
        for name, pid in pids.items():
            want = queue if name == "queued" else nobody
            self.assertEqual(set(proc_status(pid)["Uid"].split()), {str(want.pw_uid)},
                             name)
            root = os.readlink(f"/proc/{pid}/root")
            if name == "queued":
                self.assertEqual(root, os.path.realpath(e.spool))
            else:
                self.assertNotEqual(root, "/", f"{name} is not chrooted")
                self.assertFalse(os.listdir(f"/proc/{pid}/root"),
                                 f"{name}'s root {root} is not empty")
        # A message stays queued (its next hop does not answer).
        e.send("sender@sink.test", ["held@sink.test"],
               b"Subject: held\r\n\r\nsecret body\r\n")
        files = []
        wait_until(lambda: os.listdir(os.path.join(e.spool, "queue")), 10,
                   what="a message file in the queue")
        for top, dirs, names in os.walk(e.spool):
            for d in dirs:
                st = os.lstat(os.path.join(top, d))
                self.assertEqual(st.st_uid, queue.pw_uid, f"{top}/{d} owner")
                # drop/: its group may create files there, nothing more.
                want = 0o1730 if (top, d) == (e.spool, "drop") else 0o700
                self.assertEqual(st.st_mode & 0o7777, want, f"{top}/{d} mode")
            for n in names:
                p = os.path.join(top, n)
                st = os.lstat(p)
                self.assertEqual(st.st_uid, queue.pw_uid, f"{p} owner")
                self.assertEqual(st.st_mode & 0o077, 0, f"{p} mode {st.st_mode:o}")
                files.append(p)
        self.assertTrue(any("/queue/" in p for p in files), files)
        self.assertTrue(any(p.endswith("queue.db") for p in files), files)
        # user (what smtpd, deliverd and ctld run as) can read none of it,
        # nor list the spool.
        code = ("import sys\nbad = []\nfor p in sys.argv[1:]:\n"
                "    try:\n        open(p, 'rb').close(); bad.append(p)\n"
                "    except PermissionError:\n        pass\nprint(bad)\n")
        r = subprocess.run(["python3", "-c", code, e.spool + "/queue", *files],
                           capture_output=True, text=True, timeout=20,
                           user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[],
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.stdout.strip(), "[]", r.stderr)
        r = as_user(USER, f"import os; os.listdir({e.spool!r})")
        self.assertIn("PermissionError", r.stderr)
        # Nor can smtpd reach it through its own root.
        smtpd_root = f"/proc/{pids['smtpd']}/root"
        self.assertFalse(os.path.exists(os.path.join(smtpd_root, e.spool.lstrip("/"))))


@unittest.skipUnless(os.geteuid() == 0, "needs root: only a root master follows links")
class PlantedLinkTests(EmpathTestCase):
    """Each link the queue's user or the daemons' user could plant: the
    master refuses to start with a clear error and changes nothing
    outside the spool."""

    privileged = True

    def setUp(self):
        super().setUp()
        self.queue = pwd.getpwnam(QUEUE_USER)
        # What a planted link points at: root's, outside the spool.
        self.victim = os.path.join(self.tmp, "victim")
        os.mkdir(self.victim, 0o751)
        self.victim_file = os.path.join(self.victim, "file")
        with open(self.victim_file, "w") as f:
            f.write("root's\n")
        os.chmod(self.victim_file, 0o640)

    def snapshot(self):
        out = {}
        for p in (self.victim, self.victim_file):
            st = os.lstat(p)
            out[p] = (st.st_uid, st.st_gid, st.st_mode)
        return out

    def prepared(self):
        """An instance whose spool the master made before (owned by the
        queue's user, with its four directories)."""
        e = self.empath(start=False, user=USER, queue_user=QUEUE_USER)
        for d in ("", "incoming", "queue", "corrupt", "drop"):
            p = os.path.join(e.spool, d)
            os.makedirs(p, 0o700, exist_ok=True)
            os.chown(p, self.queue.pw_uid, self.queue.pw_gid)
        return e

    def assertRefused(self, e, pattern):
        before = self.snapshot()
        r = subprocess.run([os.path.join(e.bin, "empath-master"), "-d", "-f", e.conf],
                           capture_output=True, text=True, timeout=30, cwd=e.tmp,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, pattern)
        self.assertEqual(self.snapshot(), before, "something outside the spool changed")

    def test_spool_directories_planted_as_links(self):
        for d in ("incoming", "queue", "corrupt", "drop"):
            with self.subTest(d):
                e = self.prepared()
                p = os.path.join(e.spool, d)
                os.rmdir(p)
                os.symlink(self.victim, p)
                os.lchown(p, self.queue.pw_uid, self.queue.pw_gid)
                self.assertRefused(e, rf"spool: .*/{d} is a symbolic link: refusing")

    def test_spool_itself_a_link(self):
        e = self.prepared()
        real = e.spool + ".real"
        os.rename(e.spool, real)
        os.symlink(self.victim, e.spool)
        self.assertRefused(e, r"spool: .*/spool is a symbolic link")

    def test_spool_parent_writable_by_the_daemon_user(self):
        e = self.prepared()
        parent = os.path.join(self.tmp, "parent")
        os.mkdir(parent, 0o755)
        os.chown(parent, pwd.getpwnam(USER).pw_uid, 0)
        os.rename(e.spool, os.path.join(parent, "spool"))
        with open(e.conf) as f:
            text = f.read()
        with open(e.conf, "w") as f:
            f.write(text.replace(f'spool "{e.spool}"',
                                 f'spool "{os.path.join(parent, "spool")}"'))
        self.assertRefused(e, r"spool: .*/parent is owned by another user")

    def test_control_socket_planted_as_a_link(self):
        e = self.prepared()
        os.symlink(self.victim_file, e.control)
        self.assertRefused(e, r"control socket .* is a symbolic link")
        self.assertTrue(os.path.islink(e.control))

    def test_control_socket_directory_open_to_others(self):
        e = self.prepared()
        d = os.path.join(self.tmp, "run")
        os.mkdir(d)
        os.chmod(d, 0o777)
        with open(e.conf) as f:
            text = f.read()
        with open(e.conf, "w") as f:
            f.write(text.replace(f'socket "{e.control}"',
                                 f'socket "{os.path.join(d, "control.sock")}"'))
        self.assertRefused(e, r"control socket: .*/run must be owned by root and "
                              r"not writable by group or others")

    def test_user_and_queue_user_the_same_refused_at_start(self):
        e = self.empath(start=False, user=USER, queue_user=USER)
        self.assertRefused(e, r"user \"%s\" and queue-user \"%s\" have the "
                              r"same uid" % (USER, USER))

    def test_spool_directory_of_a_stranger_not_taken(self):
        stranger = 54321          # no user of the three the master knows
        for d in ("", "queue"):
            with self.subTest(d or "spool"):
                e = self.prepared()
                p = os.path.join(e.spool, d)
                os.chown(p, stranger, stranger)
                self.assertRefused(e, r"belongs to uid %d, neither root nor the "
                                      r"user or queue-user" % stranger)
                self.assertEqual(os.stat(p).st_uid, stranger)

    def test_spool_directory_of_root_or_user_is_taken(self):
        e = self.prepared()
        os.chown(os.path.join(e.spool, "queue"), 0, 0)
        os.chown(os.path.join(e.spool, "corrupt"), pwd.getpwnam(USER).pw_uid, 0)
        e.start()
        for d in ("queue", "corrupt"):
            self.assertEqual(os.stat(os.path.join(e.spool, d)).st_uid,
                             self.queue.pw_uid)

    def test_a_good_spool_is_taken_without_following_anything(self):
        # The counter-test: the same prepared spool, no link, starts.
        e = self.prepared()
        e.start()
        st = os.stat(e.spool)
        # 0710 when the drop group exists: its members may cross it.
        self.assertEqual((st.st_uid, st.st_mode & 0o777),
                         (self.queue.pw_uid, 0o710 if has_group("_empathdrop") else 0o700))


if __name__ == "__main__":
    unittest.main()
