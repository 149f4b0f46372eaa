# SPDX-License-Identifier: ISC
"""A configuration without `hostname`: empath-master takes the first line
of /etc/mailname when it is a valid host name, else gethostname(3), and
every daemon uses that one name: smtpd's greeting, EHLO reply and
Received: field, deliverd's EHLO to the next hop, queued's Reporting-MTA
and postmaster address in a failure notice.

The tests never depend on what this machine's /etc/mailname holds: the
first checks that the daemons agree with each other and with the rule
applied to whatever is there; the second (root, a mount namespace with an
overlay on /etc) gives the master an /etc/mailname of the test's own."""

import email
import os
import re
import shutil
import socket
import subprocess
import unittest

from harness import BUILD, EmpathTestCase, wait_until

SENDER = "sender@sink.test"
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_RE = re.compile(rf"{LABEL}(?:\.{LABEL})*")
TEST_NAME = "mx.mailname-e2e.test"


def expected_default():
    """The rule of empath.conf(5) applied to this machine."""
    try:
        with open("/etc/mailname", "rb") as f:
            first = f.read(256).split(b"\n", 1)[0]
        if first.endswith(b"\r"):
            first = first[:-1]
        name = first.decode("ascii")
        if len(name) <= 253 and HOST_RE.fullmatch(name):
            return name
    except (OSError, UnicodeDecodeError):
        pass
    return socket.gethostname()


def drop_hostname(e):
    """The instance's configuration without its hostname line."""
    with open(e.conf) as f:
        lines = [l for l in f if not l.startswith("hostname ")]
    with open(e.conf, "w") as f:
        f.writelines(lines)


class NamesMixin:

    def names_used(self, e, sink):
        """The names smtpd, deliverd and queued used, in that order of
        checks; every one is compared by the caller."""
        c = socket.create_connection(("127.0.0.1", e.port), timeout=10)
        f = c.makefile("rb")
        greeting = f.readline().decode()
        c.sendall(b"EHLO client.test\r\n")
        ehlo = f.readline().decode()
        c.sendall(b"QUIT\r\n")
        c.close()
        m = re.fullmatch(r"220 (\S+) ESMTP Empath\r\n", greeting)
        self.assertTrue(m, greeting)
        names = {"greeting": m.group(1)}
        m = re.fullmatch(r"250[- ](\S+)\r\n", ehlo)
        self.assertTrue(m, ehlo)
        names["ehlo reply"] = m.group(1)

        sink.rcpt_reply("bad@sink.test", 550, "5.1.1 no such user")
        e.send(SENDER, ["good@sink.test", "bad@sink.test"],
               b"Subject: names\r\n\r\nbody\r\n")
        good = wait_until(lambda: [m for m in sink.messages
                                   if m.rcpts == ["good@sink.test"]], 30,
                          what="the message at the sink")[0]
        names["deliverd EHLO"] = good.helo
        received = email.message_from_bytes(good.data)["Received"]
        m = re.search(r"\bby (\S+)", " ".join(received.split()))
        self.assertTrue(m, received)
        names["Received by"] = m.group(1)

        notice = wait_until(lambda: [m for m in sink.messages
                                     if m.mail_from == ""], 30,
                            what="the failure notice")[0]
        text = notice.data.decode("utf-8", "replace")
        m = re.search(r"^Reporting-MTA: dns; (\S+)\r$", text, re.M)
        self.assertTrue(m, text[:2000])
        names["Reporting-MTA"] = m.group(1)
        m = re.search(r"^From: .*postmaster@([^>\s]+)", text, re.M)
        self.assertTrue(m, text[:2000])
        names["postmaster"] = m.group(1)
        return names


class MailnameTests(NamesMixin, EmpathTestCase):

    def test_daemons_agree_without_hostname(self):
        sink = self.start_sink()
        e = self.empath(sink, start=False)
        drop_hostname(e)
        e.start()
        want = expected_default()
        names = self.names_used(e, sink)
        self.assertEqual(names, dict.fromkeys(names, want))


@unittest.skipUnless(os.geteuid() == 0, "needs root: a mount namespace")
class MailnameFileTests(NamesMixin, EmpathTestCase):

    privileged = True

    def test_etc_mailname_is_used(self):
        up = os.path.join(self.tmp, "etc-upper")
        work = os.path.join(self.tmp, "etc-work")
        os.mkdir(up)
        os.mkdir(work)
        with open(os.path.join(up, "mailname"), "w") as f:
            f.write(TEST_NAME + "\r\n")
        mount = (f"mount -t overlay overlay -o lowerdir=/etc,upperdir={up},"
                 f"workdir={work} /etc")
        probe = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             f"{mount} && cat /etc/mailname"],
            capture_output=True, text=True, timeout=20)
        if probe.returncode != 0 or probe.stdout.strip() != TEST_NAME:
            self.skipTest(f"no overlay mount on /etc here: {probe.stderr.strip()}")
        shutil.rmtree(work)
        os.mkdir(work)
        # The master (root) in a namespace of its own, /etc/mailname the
        # test's; it still runs the daemons from the build directory.
        wrap = os.path.join(self.tmp, "bin")
        os.mkdir(wrap)
        with open(os.path.join(wrap, "empath-master"), "w") as f:
            f.write("#!/bin/sh\n"
                    "exec unshare --mount --propagation private sh -c "
                    f"'{mount} && exec \"$0\" \"$@\"' "
                    f"{os.path.join(BUILD, 'empath-master')} \"$@\"\n")
        os.chmod(os.path.join(wrap, "empath-master"), 0o755)
        self.identity.bindir = wrap
        sink = self.start_sink()
        e = self.empath(sink, start=False, user="nobody", queue_user="daemon")
        drop_hostname(e)
        e.start()
        names = self.names_used(e, sink)
        self.assertEqual(names, dict.fromkeys(names, TEST_NAME))


if __name__ == "__main__":
    unittest.main()
