# SPDX-License-Identifier: ISC
"""empathctl over the control socket, `empath-master -n`, and the
privilege drop when the master starts as root."""

import glob
import json
import os
import pwd
import re
import signal
import subprocess
import unittest

from harness import (BUILD, DAEMONS, REPO, EmpathTestCase, config_text, pid_alive,
                     proc_status, wait_until)
from smtptest import make_cert


class ControlTests(EmpathTestCase):

    def test_empathctl_system_ping_prints_pong(self):
        e = self.empath()
        r = e.ctl("system", "ping")
        self.assertEqual(r.returncode, 0, f"stdout={r.stdout!r} stderr={r.stderr!r}")
        self.assertIn("pong", r.stdout.lower())

    def test_empathctl_system_status_shows_the_four_daemons(self):
        e = self.empath()
        pids = e.daemon_pids()
        r = e.ctl("system", "status")
        self.assertEqual(r.returncode, 0, f"stdout={r.stdout!r} stderr={r.stderr!r}")
        lines = r.stdout.splitlines()
        for name in DAEMONS:
            mine = [l for l in lines if re.search(rf"\b{name}\b", l)]
            self.assertTrue(mine, f"no line for {name} in:\n{r.stdout}")
            self.assertTrue(any(re.search(rf"\b{pids[name]}\b", l) for l in mine),
                            f"{name}'s pid {pids[name]} not shown in:\n{r.stdout}")
        self.assertRegex(r.stdout, r"(?im)^version\b")
        self.assertRegex(r.stdout, r"(?im)^uptime\b")
        self.assertRegex(r.stdout, r"(?im)^queue\b")

    def test_empathctl_json_status_matches_the_processes(self):
        e = self.empath()
        pids = e.daemon_pids()
        r = e.ctl("--json", "system", "status")
        self.assertEqual(r.returncode, 0, f"stdout={r.stdout!r} stderr={r.stderr!r}")
        doc = json.loads(r.stdout)
        got = {d["name"]: d["pid"] for d in doc["daemons"]}
        self.assertEqual({n: got.get(n) for n in DAEMONS}, pids)
        self.assertTrue(all(d["running"] for d in doc["daemons"]), doc)

    def test_status_reports_a_restarted_daemon(self):
        e = self.empath()
        old = e.daemon_pids()["deliverd"]
        os.kill(old, signal.SIGKILL)
        new = e.wait_daemon_restart("deliverd", old)

        def shown():
            r = e.ctl("--json", "system", "status")
            if r.returncode != 0:
                return None
            rows = {d["name"]: d for d in json.loads(r.stdout)["daemons"]}
            row = rows.get("deliverd", {})
            return row if row.get("pid") == new and row.get("running") else None
        row = wait_until(shown, 10, interval=0.2, what="status to show the new deliverd")
        self.assertGreaterEqual(row["restarts"], 1)

    def test_status_exits_non_zero_while_a_daemon_is_down(self):
        e = self.empath()
        self.assertEqual(e.ctl("system", "status").returncode, 0)
        # Each kill makes the master wait longer before the restart
        # (backoff): kill until a status falls in such a gap.
        down = None
        for _ in range(8):
            old = e.daemon_pids().get("deliverd")
            if old:
                os.kill(old, signal.SIGKILL)
            while True:
                r = e.ctl("--json", "system", "status")
                if r.returncode != 0:
                    down = r
                    break
                pid = e.daemon_pids().get("deliverd")
                if pid and pid != old and pid_alive(pid):
                    break       # restarted before we looked: again
            if down:
                break
        self.assertIsNotNone(down, "never saw deliverd down")
        self.assertEqual(down.returncode, 1, down.stderr)
        self.assertIn("deliverd is not running", down.stderr)
        rows = {d["name"]: d for d in json.loads(down.stdout)["daemons"]}
        self.assertFalse(rows["deliverd"]["running"], rows)
        # Once it runs again, the status is good again.
        wait_until(lambda: e.ctl("system", "status").returncode == 0, 60,
                   interval=0.2, what="status to exit 0 after the restart")

    def test_ctld_killed_is_restarted_and_answers(self):
        e = self.empath()
        old = e.daemon_pids()["ctld"]
        os.kill(old, signal.SIGKILL)
        e.wait_daemon_restart("ctld", old)
        wait_until(lambda: e.ctl("system", "ping").returncode == 0, 10, interval=0.2,
                   what="ping to work after ctld's restart")

    def test_empathctl_without_a_daemon_fails_cleanly(self):
        e = self.empath(start=False)
        r = e.ctl("system", "ping")
        self.assertEqual(r.returncode, 1, f"stdout={r.stdout!r} stderr={r.stderr!r}")
        self.assertTrue(r.stderr.startswith("empathctl: "), r.stderr)


class ConfigCheckTests(EmpathTestCase):

    def master_n(self, path, cwd=None):
        # As the system's user: -n also checks the spool's and control
        # socket's directories from that user's point of view.
        return subprocess.run([os.path.join(self.identity.bindir, "empath-master"),
                               "-n", "-f", path],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=10, cwd=cwd,
                              **self.identity.popen_kwargs())

    def test_check_of_a_good_file_exits_0(self):
        path = os.path.join(self.tmp, "good.conf")
        with open(path, "w") as f:
            f.write(config_text(port=2525, spool=os.path.join(self.tmp, "spool"),
                                control_socket=os.path.join(self.tmp, "control.sock"),
                                user="nobody", sink_port=2626))
        r = self.master_n(path)
        self.assertEqual(r.returncode, 0, f"stdout={r.stdout!r} stderr={r.stderr!r}")
        self.assertNotRegex(r.stdout + r.stderr, r"(?i)\berror\b")

    def test_check_of_a_bad_file_exits_1_with_file_line_message(self):
        good = 'hostname "x.test"\nspool "/tmp/nowhere"\n'
        cases = {
            "unknown keyword": (good + "frobnicate yes\n", 3),
            "port out of range": (good + "\nlisten on 127.0.0.1 port 70000\n", 4),
            "bad duration": (good + "listen on 127.0.0.1 port 2525 {\n"
                             "\ttimeout command 30x\n}\n", 4),
            "unterminated string": (good + 'user "nobody\n', 3),
            "bad netmask": (good + "relay from { 127.0.0.1/33 }\n", 3),
        }
        for what, (text, line) in cases.items():
            with self.subTest(what):
                path = os.path.join(self.tmp, "bad.conf")
                with open(path, "w") as f:
                    f.write(text)
                r = self.master_n(path)
                out = r.stdout + r.stderr
                self.assertEqual(r.returncode, 1, f"{what}: status {r.returncode}: {out!r}")
                self.assertRegex(out, rf"(?m)^{re.escape(path)}:{line}: \S",
                                 f"{what}: expected {path}:{line}: message")

    def test_shipped_configurations_are_valid(self):
        files = sorted(glob.glob(os.path.join(REPO, "etc", "*.conf")))
        if not files:
            self.skipTest("no etc/*.conf yet")
        # -n loads the certificates: the sample's are made here; the
        # developer configuration's ./run is made in the test directory.
        cert, key = make_cert(self)
        os.mkdir(os.path.join(self.tmp, "run"), 0o755)
        self.identity.chown(os.path.join(self.tmp, "run"))
        for path in files:
            with self.subTest(os.path.basename(path)):
                with open(path) as f:
                    text = f.read()
                text = text.replace('"/etc/empath/cert.pem"', f'"{cert}"')
                text = text.replace('"/etc/empath/key.pem"', f'"{key}"')
                copy = os.path.join(self.tmp, os.path.basename(path))
                with open(copy, "w") as f:
                    f.write(text)
                r = self.master_n(copy, cwd=self.tmp)
                self.assertEqual(r.returncode, 0, f"{path}: {r.stdout}{r.stderr}")


@unittest.skipUnless(os.geteuid() == 0, "needs root: the master drops privileges only as root")
class PrivilegeDropTests(EmpathTestCase):
    privileged = True

    def test_daemons_run_as_the_configured_user_in_a_chroot(self):
        sink = self.start_sink()
        nobody = pwd.getpwnam("nobody")
        queue = pwd.getpwnam("daemon")
        e = self.empath(sink, start=False, user="nobody", queue_user="daemon")
        os.rmdir(e.spool)   # the master creates it, owned by the queue's user
        e.start()
        st = os.stat(e.spool)
        self.assertEqual(st.st_uid, queue.pw_uid, "spool owner")
        self.assertEqual(st.st_mode & 0o007, 0, "spool open to others")
        pids = e.daemon_pids()
        # Each daemon drops privileges when the master says start (M_START),
        # which may come a moment after SMTP already answers.
        wait_until(lambda: all(proc_status(p)["Uid"].split()[0] != "0"
                               for p in pids.values()), 10,
                   what="every daemon to leave uid 0")
        for name, pid in pids.items():
            st = proc_status(pid)
            uids = st["Uid"].split()
            gids = st["Gid"].split()
            pw = queue if name == "queued" else nobody
            self.assertEqual(set(uids), {str(pw.pw_uid)}, f"{name} uids {uids}")
            self.assertEqual(set(gids), {str(pw.pw_gid)}, f"{name} gids {gids}")
            self.assertLessEqual(set(st.get("Groups", "").split()), {str(pw.pw_gid)},
                                 f"{name} kept supplementary groups")
            self.assertEqual(st.get("NoNewPrivs"), "1", f"{name} lacks no_new_privs")
        for name in ("smtpd", "queued", "deliverd", "ctld"):
            root = os.readlink(f"/proc/{pids[name]}/root")
            self.assertNotEqual(root, "/", f"{name} is not chrooted")
        self.assertEqual(os.readlink(f"/proc/{pids['queued']}/root"),
                         os.path.realpath(e.spool), "queued is not chrooted to the spool")
        body = b"Subject: privileged\r\n\r\nthrough dropped daemons\r\n"
        e.send("sender@sink.test", ["priv@sink.test"], body)
        (msg,) = sink.wait_messages(1)
        self.assertDeliveredExactly(msg.data, body)
        r = e.ctl("system", "ping")
        self.assertEqual(r.returncode, 0, r.stderr)
        # Chrooted, ctld still names its callers in the audit lines.
        self.assertRegex(e.log(), r"control: uid=0 user=root .*command=system ping")


if __name__ == "__main__":
    unittest.main()
