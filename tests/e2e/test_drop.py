# SPDX-License-Identifier: ISC
"""The offline drop directory, end to end (empath-queued(8), FILES): the
master makes SPOOL/drop (mode 1730); a drop file written while the
master is stopped (in the format of lib/dropfile.h, by hand here) is
delivered once it starts, with the Received: field that records the uid
of its owner on top and CRLF line ends, and the drop file goes. As root:
the drop-group may create files there and not list them; a file of
`nobody` with another user's sender goes to corrupt/, one with
nobody@HOSTNAME is delivered, and one of a user deleted meanwhile goes
to corrupt/ (queued asks the master who owns a file at each scan)."""

import grp
import os
import pwd
import re
import secrets
import shutil
import stat
import subprocess
import time
import unittest

from dns_server import TestDNS
from harness import HOSTNAME, EmpathTestCase, split_received, wait_until

ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
DOMAIN = "drop.test"
BODY = (b"Subject: dropped\n"
        b"Message-ID: <drop@" + HOSTNAME.encode() + b">\n"
        b"\n"
        b"written while empath was down\n"
        b"a bare CR\r"
        b"and CRLF\r\n")
BODY_CRLF = (b"Subject: dropped\r\n"
             b"Message-ID: <drop@" + HOSTNAME.encode() + b">\r\n"
             b"\r\n"
             b"written while empath was down\r\n"
             b"a bare CR\r\n"
             b"and CRLF\r\n")


def drop_text(sender, rcpts, body=BODY):
    env = "EMPATH-DROP 1\n" + f"S {sender}\n" + "".join(f"R {r}\n" for r in rcpts) + "\n"
    return env.encode() + body


def drop_group(user):
    """A group user is not in, to be the drop group."""
    for name in ("users", "mail", "staff", "adm"):
        try:
            g = grp.getgrnam(name)
        except KeyError:
            continue
        if g.gr_gid not in (0, user.pw_gid) and user.pw_name not in g.gr_mem:
            return g
    raise unittest.SkipTest("no group to be the drop group")


class DropCase(EmpathTestCase):

    def routed(self):
        """A sink reached through the test DNS server: the MX of DOMAIN."""
        dns = TestDNS(self.tmp)
        self.addCleanup(dns.close)
        dns.mx(DOMAIN, (10, "mx." + DOMAIN))
        dns.addr("mx." + DOMAIN, "127.0.0.1")
        sink = self.start_sink()
        dns.start()
        conf = (dns.resolver_config() + "\n"
                f"delivery {{ mx-port {sink.port} mx-allow {{ 127.0.0.0/8 }} }}\n")
        return sink, conf

    def drop_dir(self, e):
        return os.path.join(e.spool, "drop")

    def write_drop(self, e, text, owner=None):
        """A final-named drop file, written as the writer does (a dot
        file renamed), owned by owner (a uid) when given."""
        name = secrets.token_hex(16)
        tmp = os.path.join(self.drop_dir(e), "." + name)
        with open(tmp, "wb") as f:
            f.write(text)
        if owner is not None:
            os.chown(tmp, owner, -1)
        os.rename(tmp, os.path.join(self.drop_dir(e), name))
        return name

    def assertDropDelivered(self, e, msg, name, uid, sender, rcpt):
        self.assertEqual(msg.mail_from, sender)
        self.assertEqual(msg.rcpts, [rcpt])
        trace, rest = split_received(msg.data)
        self.assertTrue(trace.startswith(
            f"Received: by {HOSTNAME} (Empath, from userid {uid})\r\n".encode()),
            trace)
        self.assertEqual(rest, BODY_CRLF)
        wait_until(lambda: not os.path.exists(os.path.join(self.drop_dir(e), name)),
                   what="the drop file to go")
        self.assertRegex(e.log(), rf"drop: {name} from uid {uid} queued as {ULID} "
                         r"\(1 recipient\)")

    def assertQuarantined(self, e, name, what, log_re):
        """The drop file name goes to corrupt/, out of drop/, and the log
        says log_re."""
        corrupt = os.path.join(e.spool, "corrupt", "drop-" + name)
        wait_until(lambda: os.path.exists(corrupt), what=what)
        self.assertFalse(os.path.exists(os.path.join(self.drop_dir(e), name)))
        self.assertRegex(e.log(), log_re)


class DropTest(DropCase):
    """As whoever runs the tests (the unprivileged mode of the harness)."""

    def test_drop_file_is_delivered_at_start(self):
        sink, conf = self.routed()
        e = self.empath(sink, extra=conf)
        st = os.stat(self.drop_dir(e))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o1730)
        self.assertEqual(st.st_uid, self.identity.uid)
        self.assertEqual(e.stop(), 0)

        sender = f"{self.identity.name}@{HOSTNAME}"
        rcpt = f"r{secrets.token_hex(3)}@{DOMAIN}"
        name = self.write_drop(e, drop_text(sender, [rcpt]),
                               owner=self.identity.uid if self.identity.root else None)
        e.start()
        (msg,) = sink.wait_messages(1)
        self.assertDropDelivered(e, msg, name, self.identity.uid, sender, rcpt)


@unittest.skipUnless(os.geteuid() == 0, "needs root: files of another user")
class PrivilegedDropTest(DropCase):
    """The master as root, the daemons as nobody and daemon, the drop
    group an existing one: what a user of that group may do, and the
    owner of a file deciding which sender it may have."""

    privileged = True

    def assertOwned(self, path, uid, gid, mode):
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (uid, gid, mode))

    def as_nobody(self, nobody, code, args, text, groups):
        """python3 -c code args as nobody, in the extra groups, text on its
        standard input."""
        return subprocess.run(["python3", "-c", code] + args, input=text,
                              capture_output=True, timeout=20, user=nobody.pw_uid,
                              group=nobody.pw_gid, extra_groups=groups)

    def test_group_drops_and_owner_decides_the_sender(self):
        sink, conf = self.routed()
        nobody = pwd.getpwnam("nobody")
        queue = pwd.getpwnam("daemon")
        group = drop_group(nobody)
        e = self.empath(sink, user="nobody", queue_user="daemon",
                        extra=conf + f'local-submission {{ drop-group "{group.gr_name}" }}\n')
        self.assertOwned(self.drop_dir(e), queue.pw_uid, group.gr_gid, 0o1730)
        # The spool may be crossed by the group, nothing more.
        self.assertOwned(e.spool, queue.pw_uid, group.gr_gid, 0o710)
        self.assertEqual(e.stop(), 0)

        # A member of the group creates a file, as empath-sendmail does,
        # and can neither list the directory nor enter the queue.
        good = secrets.token_hex(16)
        rcpt = f"g{secrets.token_hex(3)}@{DOMAIN}"
        sender = f"nobody@{HOSTNAME}"
        code = ("import os, sys\n"
                "d, name, text = sys.argv[1], sys.argv[2], sys.stdin.buffer.read()\n"
                "fd = os.open(os.path.join(d, '.' + name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)\n"
                "os.write(fd, text); os.fsync(fd); os.close(fd)\n"
                "os.rename(os.path.join(d, '.' + name), os.path.join(d, name))\n"
                "for p in (d, os.path.join(os.path.dirname(d), 'queue')):\n"
                "    try:\n        os.listdir(p); print('listed', p)\n"
                "    except PermissionError:\n        pass\n")
        r = self.as_nobody(nobody, code, [self.drop_dir(e), good],
                           drop_text(sender, [rcpt]), [group.gr_gid])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"")
        # Without the group, not even that.
        r = self.as_nobody(nobody, code, [self.drop_dir(e), secrets.token_hex(16)],
                           b"x", [])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"PermissionError", r.stderr)

        forged = self.write_drop(e, drop_text(f"root@{HOSTNAME}", [f"f@{DOMAIN}"]),
                                 owner=nobody.pw_uid)
        e.start()
        (msg,) = sink.wait_messages(1)
        self.assertDropDelivered(e, msg, good, nobody.pw_uid, sender, rcpt)
        self.assertQuarantined(e, forged, "the forged file in corrupt/",
                               rf"warn: drop: {forged} from uid {nobody.pw_uid}: "
                               r"sender <root@[^>]*> not owned by user nobody")
        # Nothing else goes out.
        time.sleep(1)
        self.assertEqual(len(sink.wait_messages(1)), 1)

    @unittest.skipUnless(shutil.which("useradd") and shutil.which("userdel"),
                         "needs useradd and userdel")
    def test_file_of_a_deleted_user_goes_to_corrupt(self):
        sink, conf = self.routed()
        name = "empd" + secrets.token_hex(4)
        subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name],
                       check=True, capture_output=True, timeout=30)
        self.addCleanup(subprocess.run, ["userdel", name], capture_output=True,
                        timeout=30)
        uid = pwd.getpwnam(name).pw_uid
        e = self.empath(sink, user="nobody", queue_user="daemon", extra=conf)
        self.assertEqual(e.stop(), 0)
        gone = self.write_drop(e, drop_text(f"{name}@{HOSTNAME}", [f"d@{DOMAIN}"]),
                               owner=uid)
        subprocess.run(["userdel", name], check=True, capture_output=True,
                       timeout=30)
        e.start()
        self.assertQuarantined(e, gone, "the file in corrupt/",
                               rf"warn: drop: {gone} from uid {uid}: no user "
                               rf"has uid {uid} now")
        time.sleep(0.5)
        self.assertEqual(sink.messages, [])


if __name__ == "__main__":
    unittest.main()
