# SPDX-License-Identifier: ISC
"""What keeps the system from starting is found early and never leaves
clients hanging: `empath-master -n` loads the TLS certificates and keys
(and checks each key matches), checks the users and the control group
(as root) and the spool's and control socket's directories; at run time a
daemon that keeps failing at start-up makes the master close the sockets
it serves (clients are refused at once) and open them again when it
starts."""

import errno
import json
import os
import re
import shutil
import socket
import subprocess
import unittest
from unittest import mock

from harness import EmpathTestCase, config_text, free_port, wait_until
from smtptest import make_cert, tls_line


class CheckOnlyTests(EmpathTestCase):

    def write_conf(self, *, user=None, queue_user=None, spool=None, listen_opts=(),
                   extra=""):
        path = os.path.join(self.tmp, "check.conf")
        with open(path, "w") as f:
            f.write(config_text(port=free_port(),
                                spool=spool or os.path.join(self.tmp, "spool"),
                                control_socket=os.path.join(self.tmp, "control.sock"),
                                user=user or self.identity.name, queue_user=queue_user,
                                listen_opts=listen_opts, extra=extra))
        return path

    def master_n(self, path, as_root=False):
        kw = {} if as_root else self.identity.popen_kwargs()
        return subprocess.run([os.path.join(self.identity.bindir, "empath-master"),
                               "-n", "-f", path],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=20, **kw)

    def assertFails(self, r, pattern):
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        self.assertRegex(out, pattern)
        self.assertIn("configuration has errors", out)

    def test_check_passes_with_a_good_certificate(self):
        cert, key = make_cert(self)
        r = self.master_n(self.write_conf(listen_opts=[tls_line(cert, key)]))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_check_fails_on_a_missing_certificate_with_file_line(self):
        cert, key = make_cert(self)
        os.unlink(cert)
        path = self.write_conf(listen_opts=[tls_line(cert, key)])
        r = self.master_n(path)
        with open(path) as f:
            line = next(i for i, l in enumerate(f, 1) if "tls certificate" in l)
        self.assertFails(r, rf"(?m)^{re.escape(path)}:{line}: listener 127\.0\.0\.1 "
                            rf"port \d+: cannot load certificate.*{re.escape(cert)}")

    def test_check_fails_on_a_key_that_does_not_match(self):
        cert, _ = make_cert(self, "one")
        _, key = make_cert(self, "two")
        path = self.write_conf(listen_opts=[tls_line(cert, key)])
        self.assertFails(self.master_n(path), r"cannot load key: .*key values mismatch|key does not match")

    def test_check_fails_when_the_spool_parent_is_missing(self):
        spool = os.path.join(self.tmp, "no", "such", "spool")
        self.assertFails(self.master_n(self.write_conf(spool=spool)),
                         r"spool: .*/no does not exist")

    def test_check_fails_on_a_symlinked_spool(self):
        target = os.path.join(self.tmp, "elsewhere")
        os.mkdir(target, 0o700)
        self.identity.chown(target)
        spool = os.path.join(self.tmp, "spool")
        os.symlink(target, spool)
        self.assertFails(self.master_n(self.write_conf(spool=spool)),
                         r"spool: .*/spool is a symbolic link")

    @unittest.skipUnless(os.geteuid() == 0, "users are checked only as root")
    def test_check_as_root_fails_on_unknown_users_and_group(self):
        root_tmp = self.root_dir()
        cases = {
            "user": (dict(user="nosuchuser-empath", queue_user="daemon"),
                     r'user "nosuchuser-empath" does not exist'),
            "queue-user": (dict(user="nobody", queue_user="nosuchqueue-empath"),
                           r'queue-user "nosuchqueue-empath" does not exist'),
            "same user": (dict(user="nobody", queue_user="nobody"),
                          r'user "nobody" and queue-user "nobody" are the same'),
            "root": (dict(user="root", queue_user="daemon"), r'user "root" is root'),
            "group": (dict(user="nobody", queue_user="daemon",
                           extra='control {\n\tgroup "nosuchgroup-empath"\n}'),
                      r'control group "nosuchgroup-empath" does not exist'),
        }
        for what, (kw, pattern) in cases.items():
            with self.subTest(what):
                path = self.write_conf(spool=os.path.join(root_tmp, "spool"), **kw)
                self.assertFails(self.master_n(path, as_root=True), pattern)
        path = self.write_conf(spool=os.path.join(root_tmp, "spool"), user="nobody",
                               queue_user="daemon")
        r = self.master_n(path, as_root=True)
        # (The test's directories belong to the unprivileged test user, which
        # -n refuses to root; the users themselves pass.)
        self.assertNotRegex(r.stdout + r.stderr, r"does not exist|is root|same uid")

    def root_dir(self):
        d = os.path.join(self.tmp, "root")
        os.mkdir(d, 0o755)
        return d


def start_master(e):
    """Start e's master without waiting for SMTP to answer."""
    with open(e.logpath, "ab") as log:
        e.master = subprocess.Popen(
            [os.path.join(e.bin, "empath-master"), "-d", "-f", e.conf],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=e.tmp,
            start_new_session=True, **e.identity.popen_kwargs())
    e.known_pids.add(e.master.pid)


class DaemonFailingAtStartTests(EmpathTestCase):
    """smtpd cannot load its certificate (removed after the configuration
    was written): after five failures in a row the master closes the SMTP
    socket and logs why at err; when the certificate is back, smtpd starts
    at the next try and the socket is open again."""

    def test_smtp_socket_closed_while_smtpd_cannot_start_and_reopened(self):
        cert, key = make_cert(self)
        saved = cert + ".saved"
        shutil.copy2(cert, saved)
        os.unlink(cert)
        e = self.empath(start=False, listen_opts=[tls_line(cert, key)])
        start_master(e)
        wait_until(lambda: "smtpd failed 5 times in a row at start-up" in e.log(), 30,
                   interval=0.2, what="the master to give up on smtpd")
        self.assertRegex(e.log(), r"(?m)error: smtpd failed 5 times in a row at "
                                  r"start-up: SMTP listening sockets refuse clients")
        self.assertTrue(e.running(), "the master must keep running")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", e.port), timeout=5).close()
        # The port stays the master's while smtpd is down: nobody else
        # can bind it and keep the master from listening again.
        other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with self.assertRaises(OSError) as cm:
                other.bind(("127.0.0.1", e.port))
            self.assertEqual(cm.exception.errno, errno.EADDRINUSE)
        finally:
            other.close()
        # ctld reports smtpd down meanwhile.
        r = e.ctl("--json", "system", "status")
        if r.returncode == 0 and r.stdout.strip().startswith("{"):
            rows = {d["name"]: d for d in json.loads(r.stdout)["daemons"]}
            self.assertFalse(rows["smtpd"]["running"], rows["smtpd"])
        # The certificate comes back: the next try (at the longest backoff)
        # starts smtpd on a socket opened again.
        shutil.copy2(saved, cert)
        self.identity.chown(cert)
        wait_until(e._greets, 75, interval=0.5, what="smtpd to start again")
        self.assertIn("smtpd is up again", e.log())
        self.assertIn("listening again for SMTP", e.log())


class DaemonEnvironmentTests(EmpathTestCase):
    """The daemons get only what the master chooses of its environment:
    the test fault switches only when it was started with -T."""

    def test_fault_switch_not_passed_without_test_option(self):
        sink = self.start_sink()
        with mock.patch.dict(os.environ, {"EMPATH_TEST_FAULT": "write-nothing"}):
            e = self.empath(sink, start=False)
            e.test_switches = False
            e.start()
        with e.smtp() as s:
            s.ehlo()
            s.mail("fault@client.test")
            s.rcpt("normal@sink.test")
            code, text = s.data(b"Subject: stored\r\n\r\nstored normally\r\n")
        self.assertEqual(code, 250, text)
        self.assertNotIn("test faults on", e.log())

    def test_fault_switch_passed_with_test_option(self):
        with mock.patch.dict(os.environ, {"EMPATH_TEST_FAULT": "write-nothing"}):
            e = self.empath()
        self.assertIn("test faults on", e.log())


if __name__ == "__main__":
    unittest.main()
