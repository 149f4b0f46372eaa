# SPDX-License-Identifier: ISC
"""Local submission over the master's AF_UNIX socket, end to end with the
real binaries (doc/architecture.md, "Local submission"): the socket is
made 0666 beside the control socket and served by smtpd; the client's
uid comes from the kernel (SO_PEERCRED), relaying is allowed where the
TCP listener refuses it, a user may only give their own sender
(trusted users any), and the message starts with a Received: field that
names the uid. Run as root, a child that becomes `nobody` plays the
ordinary local user, and a user made with useradd(8) shows that the
login name is the one the password database gives now (the master asks
getpwuid_r(3) for each session): renamed, the old address is refused at
once, without a restart."""

import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
import unittest

from dns_server import TestDNS
from harness import (BUILD, HOSTNAME, EmpathTestCase, RawSMTP, pid_alive,
                     wait_until)
from smtptest import make_cert, tls_line
from test_startup_checks import start_master

ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
REMOTE = "remote.test"          # neither accepted nor inside relay from
NOBODY = 65534
# A uid no entry of the password database has (checked in the test).
STRANGER = 54321


class LocalSMTP(RawSMTP):
    """RawSMTP over the submission socket."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.buf = b""
        self.greeting = self.reply()


def _client(path, items):
    """Connect to path, send each item ("RAW:" items without reading a
    reply, the others as command lines): the replies, greeting first."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    buf = b""

    def reply():
        nonlocal buf
        lines = []
        while True:
            while b"\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    return [0, lines + ["<closed>"]]
                buf += chunk
            line, _, buf = buf.partition(b"\r\n")
            line = line.decode("utf-8", "replace")
            lines.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return [int(line[:3]), lines]
    out = [reply()]
    for item in items:
        if item.startswith("RAW:"):
            s.sendall(item[4:].encode())
            continue
        s.sendall(item.encode() + b"\r\n")
        out.append(reply())
    s.close()
    return out


def as_user(uid, path, items):
    """_client(path, items) in a child process of uid (and group nobody):
    the kernel's SO_PEERCRED then names that uid."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(uid)
            data = json.dumps(_client(path, items)).encode()
            os.write(wfd, data)
            status = 0
        except BaseException as e:          # noqa: BLE001: reported below
            os.write(wfd, b"ERROR " + repr(e).encode())
        finally:
            os._exit(status)
    os.close(wfd)
    chunks = []
    with os.fdopen(rfd, "rb") as f:
        chunks.append(f.read())
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    if status != 0:
        raise AssertionError(f"child as uid {uid} failed: {data!r}")
    return [(code, text) for code, text in json.loads(data)]


def cmd_or_closed(c, line):
    """The reply code to line, or "closed". A reply already sent is read
    even when the server closed before line could be sent (on AF_UNIX
    that write fails at once, on TCP only later)."""
    try:
        c.send(line + "\r\n")
    except OSError:
        pass
    try:
        return c.reply()[0]
    except (ConnectionError, OSError):
        return "closed"


def until_closed(c, lines):
    """The reply code to each line, or "closed", until the session ends
    (closed, or a 421)."""
    out = []
    for line in lines:
        out.append(cmd_or_closed(c, line))
        if out[-1] in ("closed", 421):
            break
    return out


def transaction(sender, rcpt, body):
    """The items of as_user() for EHLO and one whole message, then QUIT."""
    return ["EHLO localhost", f"MAIL FROM:<{sender}>", f"RCPT TO:<{rcpt}>",
            "DATA", "RAW:" + body.decode(), ".", "QUIT"]


def message(subject):
    return (f"Subject: {subject}\r\nFrom: someone\r\n\r\nbody of {subject}\r\n"
            ).encode()


class LocalSubmissionTest(EmpathTestCase):

    def setUp(self):
        super().setUp()
        self.dns = TestDNS(self.tmp)
        self.addCleanup(self.dns.close)
        self.dns.mx(REMOTE, (10, "mx." + REMOTE))
        self.dns.addr("mx." + REMOTE, "127.0.0.1")
        self.sink = self.start_sink()
        self.dns.start()
        me = pwd.getpwuid(os.getuid()).pw_name
        # root is trusted by default; another user running the tests is
        # made trusted so that the first test means the same.
        trusted = ("" if os.getuid() == 0 else
                   f'local-submission {{ trusted-users {{ "{me}" }} }}\n')
        # relay from: an address the tests never come from, so that the
        # TCP listener refuses to relay.
        self.e = self.empath(
            self.sink, relay_from=("192.0.2.0/24",),
            extra=(self.dns.resolver_config() + "\n" + trusted +
                   f"delivery {{ mx-port {self.sink.port} "
                   "mx-allow { 127.0.0.0/8 } }\n"))
        self.sock = os.path.join(self.e.tmp, "submit.sock")

    def local(self):
        c = LocalSMTP(self.sock)
        self.addCleanup(c.close)
        return c

    def start_data(self, c, sender, rcpt, ehlo=False):
        """[EHLO,] MAIL, RCPT and DATA on c, each accepted."""
        if ehlo:
            self.assertEqual(c.cmd("EHLO localhost")[0], 250)
        self.assertEqual(c.cmd(f"MAIL FROM:<{sender}>")[0], 250)
        self.assertEqual(c.cmd(f"RCPT TO:<{rcpt}>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)

    def send_local(self, c, sender, rcpt, body):
        """A whole transaction on c; returns the queue id."""
        self.start_data(c, sender, rcpt)
        c.send(body + b".\r\n")
        code, text = c.reply()
        self.assertEqual(code, 250, text)
        return re.search(ULID, text[0]).group(0)

    def assertCodes(self, replies, codes):
        self.assertEqual([c for c, _ in replies], codes, replies)

    def assertLikeTcp(self, lines, greeting):
        """The reply codes to lines (after the greeting's, with greeting)
        until the session ends are the same on the local socket as on
        the TCP listener; the local ones."""
        def codes(c):
            return ([c.greeting[0]] if greeting else []) + until_closed(c, lines)
        t = RawSMTP(self.e.port)
        self.addCleanup(t.close)
        tcp = codes(t)
        loc = codes(self.local())
        self.assertEqual(loc, tcp)
        return loc

    def assertLocalReceived(self, data, uid, msgid, body):
        """data is exactly the local Received: field of uid, then body."""
        m = re.match(rb"Received: by (\S+) \(Empath, from userid (\d+)\)\r\n"
                     rb"\twith (E?SMTP) id (" + ULID.encode() + rb"); "
                     rb"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} "
                     rb"\d\d:\d\d:\d\d [+-]\d{4}\r\n", data)
        self.assertIsNotNone(m, data[:300])
        self.assertEqual(m.group(1).decode(), HOSTNAME)
        self.assertEqual(int(m.group(2)), uid)
        self.assertEqual(m.group(3), b"ESMTP")
        self.assertEqual(m.group(4).decode(), msgid)
        self.assertEqual(data[m.end():], body)

    def test_socket_beside_control_socket_mode_0666(self):
        st = os.lstat(self.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o666)
        self.assertEqual(os.path.dirname(self.sock),
                         os.path.dirname(self.e.control))
        self.assertRegex(self.e.log(), r"master\[\d+\]: info: submission socket "
                         + re.escape(self.sock))

    def test_own_uid_relays_with_local_received(self):
        uid = os.getuid()
        # Trusted (root by default): any sender.
        sender = "anyone@elsewhere.test"
        c = self.local()
        self.assertEqual(c.greeting[0], 220)
        code, ehlo = c.cmd("EHLO localhost")
        self.assertEqual(code, 250)
        # No STARTTLS on the local socket (nor does it have a certificate).
        self.assertNotIn("STARTTLS", ehlo)
        self.assertEqual(c.cmd("STARTTLS")[0], 502)
        body = message("local relay")
        rcpt = "user@" + REMOTE
        msgid = self.send_local(c, sender, rcpt, body)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        (msg,) = self.sink.wait_messages(1)
        self.assertEqual((msg.mail_from, msg.rcpts), (sender, [rcpt]))
        self.assertLocalReceived(msg.data, uid, msgid, body)
        log = self.e.log()
        self.assertRegex(log, rf"smtpd\[\d+\]: info: session \d+: local "
                         rf"connection from uid {uid}\n")
        self.assertRegex(log, rf"smtpd\[\d+\]: info: session \d+: uid {uid} is "
                         + re.escape(pwd.getpwuid(uid).pw_name) + "\n")
        self.assertRegex(log, rf"message {msgid} queued from=<{re.escape(sender)}>")

        # The TCP listener, from outside relay from, still refuses.
        t = RawSMTP(self.e.port)
        self.addCleanup(t.close)
        self.assertEqual(t.cmd("EHLO client.test")[0], 250)
        self.assertEqual(t.cmd(f"MAIL FROM:<{sender}>")[0], 250)
        self.assertEqual(t.cmd(f"RCPT TO:<{rcpt}>"),
                         (554, [f"5.7.1 <{rcpt}>: relaying denied"]))

    @unittest.skipUnless(os.getuid() == 0,
                         "needs root to run a client as another user")
    def test_ordinary_user_sender_rule(self):
        self.assertEqual(pwd.getpwuid(NOBODY).pw_name, "nobody")
        own = f"nobody@{HOSTNAME.upper()}"       # the domain in any case
        rcpt = "someone@" + REMOTE
        forged = [f"root@{HOSTNAME}", f"nobodyx@{HOSTNAME}", "nobody@host.evil",
                  f"nobody@{HOSTNAME}.evil", "nobody@", "anyone@elsewhere.test"]
        items = ["EHLO localhost"]
        for f in forged:
            items += [f"MAIL FROM:<{f}>"]
        body = message("as nobody")
        items += [f"MAIL FROM:<{own}>", f"RCPT TO:<{rcpt}>", "DATA",
                  "RAW:" + body.decode(), ".", "MAIL FROM:<>", "RSET", "QUIT"]
        replies = as_user(NOBODY, self.sock, items)
        self.assertEqual(replies[0][0], 220)
        self.assertEqual(replies[1][0], 250)
        got = replies[2:2 + len(forged)]
        for f, (code, text) in zip(forged, got):
            with self.subTest(sender=f):
                # "nobody@" is no address at all: refused as syntax.
                if f == "nobody@":
                    self.assertEqual(code, 501, text)
                    continue
                self.assertEqual((code, text), (553, [
                    f"5.7.1 <{f}>: sender address not owned by user nobody"]))
        rest = replies[2 + len(forged):]
        self.assertCodes(rest, [250, 250, 354, 250, 250, 250, 221])
        msgid = re.search(ULID, rest[3][1][0]).group(0)
        (msg,) = self.sink.wait_messages(1)
        self.assertEqual((msg.mail_from, msg.rcpts), (own, [rcpt]))
        self.assertLocalReceived(msg.data, NOBODY, msgid, body)
        self.assertRegex(self.e.log(), r"sender <root@" + re.escape(HOSTNAME) +
                         r"> refused: not owned by local user nobody "
                         rf"\(uid {NOBODY}\)")

    @unittest.skipUnless(os.getuid() == 0,
                         "needs root to run a client as another user")
    def test_null_sender_and_unknown_uid(self):
        with self.assertRaises(KeyError):
            pwd.getpwuid(STRANGER)
        body = message("bounce-like")
        rcpt = "postmaster@" + REMOTE
        replies = as_user(NOBODY, self.sock, transaction("", rcpt, body))
        self.assertCodes(replies, [220, 250, 250, 250, 354, 250, 221])
        (msg,) = self.sink.wait_messages(1)
        self.assertEqual(msg.mail_from, "")
        self.assertIn(f"from userid {NOBODY})".encode(), msg.data.split(b"\r\n")[0])
        # A uid smtpd does not know: told to come back, not refused; the
        # null sender is still fine.
        replies = as_user(STRANGER, self.sock, [
            "EHLO localhost", f"MAIL FROM:<x@{HOSTNAME}>", "MAIL FROM:<>", "QUIT"])
        self.assertEqual(replies[2], (451, [f"4.7.1 unknown local user (uid {STRANGER})"]))
        self.assertEqual([replies[3][0], replies[4][0]], [250, 221])

    @unittest.skipUnless(os.getuid() == 0 and shutil.which("useradd") and
                         shutil.which("usermod") and shutil.which("userdel"),
                         "needs root and useradd, usermod, userdel")
    def test_renamed_user_counts_at_once(self):
        """useradd, a message; usermod -l: the old name's address is
        refused at once and the new one taken, nothing restarted."""
        old = "empt" + secrets.token_hex(4)
        new = old + "r"
        subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", old],
                       check=True, capture_output=True, timeout=30)
        for name in (new, old):
            self.addCleanup(subprocess.run, ["userdel", name],
                            capture_output=True, timeout=30)
        uid = pwd.getpwnam(old).pw_uid
        pids = self.e.daemon_pids()
        rcpt = "someone@" + REMOTE
        body = message("as a new user")
        replies = as_user(uid, self.sock, transaction(f"{old}@{HOSTNAME}", rcpt, body))
        self.assertCodes(replies, [220, 250, 250, 250, 354, 250, 221])
        (msg,) = self.sink.wait_messages(1)
        self.assertEqual(msg.mail_from, f"{old}@{HOSTNAME}")
        self.assertIn(f"from userid {uid})".encode(), msg.data.split(b"\r\n")[0])

        subprocess.run(["usermod", "-l", new, old], check=True,
                       capture_output=True, timeout=30)
        replies = as_user(uid, self.sock, [
            "EHLO localhost", f"MAIL FROM:<{old}@{HOSTNAME}>",
            f"MAIL FROM:<{new}@{HOSTNAME}>", "QUIT"])
        self.assertEqual(replies[2], (553, [
            f"5.7.1 <{old}@{HOSTNAME}>: sender address not owned by user {new}"]))
        self.assertEqual([replies[3][0], replies[4][0]], [250, 221], replies)
        # Deleted: nobody's uid now; told to come back, not refused.
        subprocess.run(["userdel", new], check=True, capture_output=True,
                       timeout=30)
        replies = as_user(uid, self.sock, [
            "EHLO localhost", f"MAIL FROM:<{new}@{HOSTNAME}>", "QUIT"])
        self.assertEqual(replies[2], (451, [f"4.7.1 unknown local user (uid {uid})"]))
        self.assertEqual(self.e.daemon_pids(), pids)

    def test_hostile_client_as_on_tcp(self):
        """Garbage, an overlong line, a 1 MB line, too many errors: the
        same replies as the TCP listener gives (same defaults but for
        max-errors, which is the default 10 on both here)."""
        script = ["EHLO localhost", "\x01\x02garbage", "MAIL FROM:<a@b",
                  "RCPT TO:<x@y>", "DATA", "X" * 2000, "X" * (1 << 20),
                  "HELP", "NOOP", "RSET", "VRFY root", "BDAT x"]
        self.assertIn(500, self.assertLikeTcp(script, greeting=True))
        # Errors are counted alike: the tenth ends the session with 421.
        self.assertIn(421, self.assertLikeTcp(["BOGUS"] * 12, greeting=False))

    def test_max_hops_applies(self):
        """A local message with more Received: fields than max-hops (the
        default 100) is a loop like any other (our own field not counted,
        as on TCP)."""
        c = self.local()
        self.start_data(c, f"root@{HOSTNAME}", "user@" + REMOTE, ehlo=True)
        c.send(b"Received: by hop.test; Thu, 1 Jan 2026 00:00:00 +0000\r\n" * 101
               + b"\r\nloop\r\n.\r\n")
        code, text = c.reply()
        self.assertEqual(code, 554, text)
        self.assertTrue(text[0].startswith("5.4.6 "), text)
        # 100 are still fine.
        msgid = self.send_local(
            c, f"root@{HOSTNAME}", "user@" + REMOTE,
            b"Received: by hop.test; Thu, 1 Jan 2026 00:00:00 +0000\r\n" * 100
            + b"\r\nnot yet a loop\r\n")
        (msg,) = self.sink.wait_messages(1)
        self.assertIn(msgid.encode(), msg.data.split(b"\r\n\r\n")[0])

    def test_content_cannot_fold_into_received(self):
        """SP or HT first would continue our Received: field (RFC 5322
        section 2.2.3): refused in DATA and BDAT, nothing queued; folding
        later in the client's header is its own business."""
        uid = os.getuid()
        rcpt = "user@" + REMOTE
        forged = b"\t(Empath, from userid 0)\r\nSubject: forged\r\n\r\nx\r\n"
        c = self.local()
        self.start_data(c, f"root@{HOSTNAME}", rcpt, ehlo=True)
        c.send(forged + b".\r\n")
        self.assertEqual(c.reply(), (550, [
            "5.6.0 Error: message begins with a folded line"]))
        self.assertEqual(c.cmd(f"MAIL FROM:<root@{HOSTNAME}>")[0], 250)
        self.assertEqual(c.cmd(f"RCPT TO:<{rcpt}>")[0], 250)
        chunk = b" " + forged[1:]
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        self.assertEqual(c.reply(), (550, [
            "5.6.0 Error: message begins with a folded line"]))
        body = b"Subject: folded\r\n later\r\n\r\n body\r\n"
        msgid = self.send_local(c, f"root@{HOSTNAME}", rcpt, body)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        (msg,) = self.sink.wait_messages(1)
        self.assertLocalReceived(msg.data, uid, msgid, body)
        time.sleep(0.5)
        self.assertEqual(len(self.sink.messages), 1)
        self.assertEqual(len(re.findall(r"refused \(begins with a folded line\)",
                                        self.e.log())), 2)

    def test_socket_kept_across_smtpd_restart(self):
        """smtpd killed: the master keeps the socket (same inode); a
        client that connects meanwhile waits in the backlog and is greeted
        by the next smtpd."""
        before = os.lstat(self.sock).st_ino
        old = self.e.daemon_pids()["smtpd"]
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: not pid_alive(old), what="smtpd to die")
        c = self.local()
        self.e.wait_daemon_restart("smtpd", old)
        self.assertEqual(c.greeting[0], 220)
        self.assertEqual(c.cmd("EHLO localhost")[0], 250)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertEqual(os.lstat(self.sock).st_ino, before)


class LocalPluginPeerTest(EmpathTestCase):
    """The plugins see a local session's peer address as "local"
    (empath-plugin(3)); the event-log example writes it out."""

    def test_connect_event_peer_is_local(self):
        pdir = os.path.join(self.tmp, "plugins")
        os.makedirs(pdir, 0o755)
        src = os.path.join(BUILD, "plugins", "event-log.so")
        if not os.path.exists(src):
            self.fail(f"{src} is not built")
        shutil.copy2(src, pdir)
        os.chmod(os.path.join(pdir, "event-log.so"), 0o755)
        events = os.path.join(self.tmp, "events.json")
        e = self.empath(extra=f'plugin-dir "{pdir}"\n'
                        f'plugin "event-log" {{ args "{events}" }}\n')
        c = LocalSMTP(os.path.join(e.tmp, "submit.sock"))
        self.addCleanup(c.close)
        self.assertEqual(c.cmd("EHLO localhost")[0], 250)
        self.assertEqual(c.cmd("BOGUS")[0], 500)
        self.assertEqual(c.cmd("QUIT")[0], 221)

        def rows():
            try:
                with open(events, encoding="utf-8") as f:
                    text = f.read()
            except FileNotFoundError:
                return None
            got = [json.loads(line) for line in
                   text[:text.rfind("\n") + 1].splitlines()]
            return [r for r in got if r["event"] == "smtp_error" and
                    r.get("helo") == "localhost"] or None
        (err,) = wait_until(rows, what="the smtp_error event of the local session")
        self.assertEqual(err["peer"], "local")


class SubmitSocketWhileSmtpdDownTest(EmpathTestCase):
    """smtpd cannot start (its certificate is missing): once the master
    gives up on it the submission socket is removed, so that a client
    fails at once (sendmail then uses the drop directory) instead of
    waiting for a greeting; it is made again for smtpd's next try."""

    def test_socket_removed_and_made_again(self):
        cert, key = make_cert(self)
        saved = cert + ".saved"
        shutil.copy2(cert, saved)
        os.unlink(cert)
        e = self.empath(start=False, listen_opts=[tls_line(cert, key)])
        sock = os.path.join(e.tmp, "submit.sock")
        start_master(e)
        wait_until(lambda: "smtpd failed 5 times in a row at start-up" in e.log(),
                   30, interval=0.2, what="the master to give up on smtpd")
        self.assertFalse(os.path.lexists(sock), "submission socket left in place")
        with self.assertRaises(FileNotFoundError):
            LocalSMTP(sock)
        shutil.copy2(saved, cert)
        self.identity.chown(cert)
        wait_until(e._greets, 75, interval=0.5, what="smtpd to start again")
        self.assertEqual(stat.S_IMODE(os.lstat(sock).st_mode), 0o666)
        c = LocalSMTP(sock)
        self.addCleanup(c.close)
        self.assertEqual(c.greeting[0], 220)
        self.assertEqual(c.cmd("QUIT")[0], 221)
