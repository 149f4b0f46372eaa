# SPDX-License-Identifier: ISC
"""empath-sendmail end to end (empath-sendmail(8)), run as the test's
unprivileged user with -C: with Empath down (no socket, or nobody
listening) the message lands in the drop directory, byte for byte in the
format of lib/dropfile.h, unless smtpd or queued would refuse it; against
a stand-in SMTP server on the submission socket (a Python server on a Unix
socket) the SMTP it speaks, the exit statuses of refusals, temporary
refusals, lost connections and a full backlog that are temporary failures
(never a drop file), and -bs relaying; with the real
empath-master running, -bp, -q, mailq and newaliases, and a message
submitted through the real smtpd when it serves the submission socket."""

import os
import pwd
import re
import socket
import time
import shutil
import socketserver
import stat
import struct
import subprocess
import threading

from harness import HOSTNAME, SINK_DOMAIN, EmpathTestCase, wait_until

HEX32 = re.compile(r"^[0-9a-f]{32}$")
ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
EX_USAGE, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL, EX_NOPERM = 64, 65, 67, 75, 77


class FakeSubmit:
    """An SMTP server on a Unix socket standing in for smtpd's submission
    listener. Replies are scripted: `mail`, `data`, `end` (strings) and
    `rcpt` (a function of the address); each session's envelope and raw
    DATA bytes (still dot-stuffed) are kept in `sessions`."""

    def __init__(self, path):
        self.path = path
        self.greet = "220 fake.local ESMTP"
        self.ehlo = ["250-fake.local", "250-8BITMIME", "250-SIZE 10000000",
                     "250 DSN"]
        self.mail = "250 2.1.0 Ok"
        self.rcpt = lambda addr: "250 2.1.5 Ok"
        self.data = "354 End data with <CR><LF>.<CR><LF>"
        self.end = "250 2.0.0 Ok: queued"
        self.sessions = []
        self.lock = threading.Lock()
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                s = {"lines": [], "mail": None, "rcpts": [], "data": None}
                # The client's group IDs (real, effective, saved, file
                # system) while connected, from the kernel.
                pid = struct.unpack("3i", self.request.getsockopt(
                    socket.SOL_SOCKET, socket.SO_PEERCRED,
                    struct.calcsize("3i")))[0]
                try:
                    with open(f"/proc/{pid}/status") as st:
                        s["gids"] = next(
                            [int(x) for x in l.split()[1:]]
                            for l in st if l.startswith("Gid:"))
                except OSError:
                    s["gids"] = None
                with owner.lock:
                    owner.sessions.append(s)

                def say(text):
                    self.wfile.write(text.encode() + b"\r\n")
                    self.wfile.flush()

                say(owner.greet)
                if not owner.greet.startswith("220"):
                    self.rfile.readline()       # QUIT
                    return
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
                    s["lines"].append(cmd)
                    verb = cmd[:4].upper()
                    if verb == "EHLO":
                        say("\r\n".join(owner.ehlo))
                    elif verb == "MAIL":
                        s["mail"] = cmd
                        say(owner.mail)
                    elif verb == "RCPT":
                        addr = re.search(r"<([^>]*)>", cmd).group(1)
                        reply = owner.rcpt(addr)
                        if reply.startswith("2"):
                            s["rcpts"].append(cmd)
                        say(reply)
                    elif verb == "DATA":
                        say(owner.data)
                        if not owner.data.startswith("354"):
                            continue
                        data = b""
                        while True:
                            l = self.rfile.readline()
                            if not l:
                                return
                            if l == b".\r\n":
                                break
                            data += l
                        s["data"] = data
                        if owner.end is None:
                            return          # the connection lost
                        say(owner.end)
                    elif verb == "QUIT":
                        say("221 2.0.0 Bye")
                        return
                    else:
                        say("502 5.5.2 what")

        self.server = socketserver.ThreadingUnixStreamServer(path, Handler)
        self.server.daemon_threads = True
        os.chmod(path, 0o666)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


class SendmailCase(EmpathTestCase):

    def setUp(self):
        super().setUp()
        self.e = self.empath(start=False)
        self.sock = os.path.join(self.tmp, "submit.sock")  # beside control
        self.drop = os.path.join(self.e.spool, "drop")
        pw = pwd.getpwuid(self.identity.uid)
        self.login = pw.pw_name
        self.me = f"{pw.pw_name}@{HOSTNAME}"

    @property
    def prog(self):
        return os.path.join(self.identity.bindir, "empath-sendmail")

    def make_drop(self):
        os.mkdir(self.drop, 0o700)
        self.identity.chown(self.drop)

    def fake(self):
        f = FakeSubmit(self.sock)
        self.addCleanup(f.close)
        return f

    def sendmail(self, *args, data=b"", argv0=None, prog=None):
        """Run empath-sendmail -C conf ARGS as the test's user."""
        prog = prog or self.prog
        return subprocess.run(
            [argv0 or prog, "-C", self.e.conf, *args], executable=prog,
            input=data, capture_output=True, timeout=30,
            **self.identity.popen_kwargs())

    def drop_files(self):
        try:
            return sorted(os.listdir(self.drop))
        except FileNotFoundError:
            return []


class DropTest(SendmailCase):
    """Empath down: the drop directory takes the message."""

    def test_master_down_writes_the_drop_file(self):
        self.make_drop()
        msg = b"Subject: offline\nTo: Someone <rcpt@sink.test>\n\nline one\n.\nnot read\n"
        r = self.sendmail("rcpt@sink.test", "local", data=msg)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((r.stdout, r.stderr), (b"", b""))   # silent
        (name,) = self.drop_files()
        self.assertRegex(name, HEX32)
        path = os.path.join(self.drop, name)
        st = os.lstat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o644)
        self.assertEqual(st.st_uid, self.identity.uid)
        with open(path, "rb") as f:
            content = f.read()
        head = (b"EMPATH-DROP 1\nS " + self.me.encode() + b"\n"
                b"R rcpt@sink.test\nR local@" + HOSTNAME.encode() + b"\n\n")
        self.assertTrue(content.startswith(head), content[:200])
        body = content[len(head):]
        # The user's header, then the added fields, then the body up to
        # the lone dot (no -i); LF line ends kept, not dot-stuffed.
        m = re.fullmatch(
            rb"Subject: offline\nTo: Someone <rcpt@sink\.test>\n"
            rb"From: [^\n]*<?" + re.escape(self.me.encode()) + rb">?\n"
            rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000\n"
            rb"Message-ID: <" + ULID.encode() + rb"@" + re.escape(HOSTNAME.encode()) +
            rb">\n\nline one\n", body)
        self.assertIsNotNone(m, body)

    def test_t_and_i_and_null_sender(self):
        self.make_drop()
        msg = (b"To: a@sink.test, Group: b@sink.test, \"c d\"@sink.test;\r\n"
               b"Cc: e@sink.test (E)\r\nBcc: hidden@sink.test\r\n"
               b"From: Me <me@elsewhere.test>\r\n\r\n.\r\n..\r\nend\r\n")
        r = self.sendmail("-t", "-i", "-f", "<>", "x@sink.test", data=msg)
        self.assertEqual(r.returncode, 0, r.stderr)
        (name,) = self.drop_files()
        with open(os.path.join(self.drop, name), "rb") as f:
            content = f.read()
        env, _, body = content.partition(b"\n\n")
        self.assertEqual(env.split(b"\n"), [
            b"EMPATH-DROP 1", b"S ", b"R x@sink.test", b"R a@sink.test",
            b"R b@sink.test", b"R \"c d\"@sink.test", b"R e@sink.test",
            b"R hidden@sink.test"])
        self.assertNotIn(b"hidden", body)
        self.assertTrue(body.startswith(b"To: a@sink.test"), body)
        self.assertIn(b"From: Me <me@elsewhere.test>\r\n", body)
        self.assertEqual(body.count(b"From:"), 1)
        self.assertTrue(body.endswith(b"\r\n\r\n.\r\n..\r\nend\r\n"), body)

    def test_no_drop_directory_is_tempfail(self):
        r = self.sendmail("rcpt@sink.test", data=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, EX_TEMPFAIL, r.stderr)
        self.assertIn(b"could not be left", r.stderr)

    def test_foreign_sender_refused_before_dropping(self):
        self.make_drop()
        if self.identity.uid == 0:
            self.skipTest("root is a trusted user")
        r = self.sendmail("-f", "root@" + HOSTNAME, "rcpt@sink.test",
                          data=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, EX_NOPERM, r.stderr)
        self.assertIn(b"not owned by user " + self.login.encode(), r.stderr)
        self.assertEqual(self.drop_files(), [])

    def test_usage_and_data_errors(self):
        self.make_drop()
        cases = [
            (("-x", "a@sink.test"), EX_USAGE),
            (("-bd",), EX_USAGE),
            ((), EX_USAGE),                         # no recipient
            (("-N", "sometimes", "a@sink.test"), EX_USAGE),
            (("-oi", "--", "-oi"), EX_USAGE),       # an address, refused
            (("a@",), EX_USAGE),
            (("-F", "a\nb", "a@sink.test"), EX_USAGE),
            (("-t",), EX_USAGE),                    # no recipient in the header
        ]
        for args, code in cases:
            with self.subTest(args=args):
                r = self.sendmail(*args, data=b"Subject: x\n\nx\n")
                self.assertEqual(r.returncode, code, r.stderr)
                self.assertTrue(r.stderr)
        # At most 1000 recipients (the limit of a drop file too).
        many = [f"r{i}@sink.test" for i in range(1001)]
        r = self.sendmail(*many, data=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, EX_USAGE, r.stderr)
        self.assertIn(b"more than 1000 recipients", r.stderr)
        r = self.sendmail("-t", data=b"To: " + b",\n\t".join(
            m.encode() for m in many) + b"\n\nx\n")
        self.assertEqual(r.returncode, EX_USAGE, r.stderr)
        r = self.sendmail("-t", data=b"To: <broken@sink.test\n\nx\n")
        self.assertEqual(r.returncode, EX_DATAERR, r.stderr)
        self.assertEqual(self.drop_files(), [])

    def test_too_large(self):
        self.make_drop()
        # The limit of the first listener.
        with open(self.e.conf) as f:
            text = f.read()
        text = text.replace("\ttimeout command", "\tmax-message-size 1K\n\ttimeout command", 1)
        with open(self.e.conf, "w") as f:
            f.write(text)
        r = self.sendmail("a@sink.test", data=b"Subject: x\n\n" + b"x" * 2000)
        self.assertEqual(r.returncode, EX_DATAERR, r.stderr)
        self.assertIn(b"too large", r.stderr)
        self.assertEqual(self.drop_files(), [])
        r = self.sendmail("a@sink.test", data=b"Subject: x\n\n" + b"x" * 500)
        self.assertEqual(r.returncode, 0, r.stderr)

    def set_max_size(self, size):
        with open(self.e.conf) as f:
            text = f.read()
        text = text.replace("\ttimeout command",
                            f"\tmax-message-size {size}\n\ttimeout command", 1)
        with open(self.e.conf, "w") as f:
            f.write(text)

    def test_what_queued_would_quarantine_is_refused(self):
        """Nothing goes into the drop directory that queued would move
        to corrupt/ (then the mail would be lost with exit 0)."""
        self.make_drop()
        self.set_max_size("2K")
        long_line = b"Subject: x\n\n" + b"y" * 999 + b"\n"
        cases = [
            # RFC 5322 2.1.1: at most 998 octets a line, its end apart.
            ((), long_line, EX_DATAERR, b"line 3 is 999 octets"),
            ((), long_line.replace(b"\n", b"\r\n"), EX_DATAERR, b"998"),
            ((), b"Subject: x\n\na\0b\n", EX_DATAERR, b"NUL"),
            # 1612 octets read, but more than 2K with CRLF line ends and
            # the added header fields.
            ((), b"Subject: x\n\n" + b"x\n" * 800, EX_DATAERR,
             b"too large"),
            # Addresses as queued reads them (dropfile_parse).
            (("a..b@sink.test",), b"Subject: x\n\nx\n", EX_USAGE,
             b"<a..b@sink.test>"),
            (("-t",), b"To: ok@sink.test, a..b@sink.test\n\nx\n",
             EX_DATAERR, b"<a..b@sink.test>"),
        ]
        for args, data, code, why in cases:
            with self.subTest(args=args, data=data[:40]):
                r = self.sendmail(*(args or ("a@sink.test",)), data=data)
                self.assertEqual(r.returncode, code, r.stderr)
                self.assertIn(why, r.stderr)
                self.assertEqual(self.drop_files(), [])
        # A long -F name makes a From: line too long.
        r = self.sendmail("-F", "N" * 1000, "a@sink.test", data=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, EX_DATAERR, r.stderr)
        self.assertIn(b"-F", r.stderr)
        self.assertEqual(self.drop_files(), [])
        # A long Bcc: line is never sent: fine.
        r = self.sendmail("-t", data=b"To: a@sink.test\nBcc: " + b", ".join(
            f"b{i}@sink.test".encode() for i in range(100)) + b"\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        (name,) = self.drop_files()
        os.unlink(os.path.join(self.drop, name))
        # 998 octets, and a message just under the limit with CRLF: fine.
        r = self.sendmail("a@sink.test", data=b"Subject: x\n\n" + b"y" * 998 + b"\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.sendmail("a@sink.test", data=b"Subject: x\n\n" + b"x\n" * 150)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.drop_files()), 2)

    def test_socket_nobody_listens_on_drops(self):
        """A socket left behind by a stopped Empath (ECONNREFUSED) is
        Empath not running: the drop directory takes the message."""
        self.make_drop()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.bind(self.sock)
        os.chmod(self.sock, 0o666)
        r = self.sendmail("a@sink.test", data=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.drop_files()), 1)

    def test_newaliases_and_bs_when_down(self):
        link = os.path.join(self.tmp, "newaliases")
        os.symlink(self.prog, link)
        r = self.sendmail(argv0=link, prog=link)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"no aliases", r.stderr)
        r = self.sendmail("-bi")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.sendmail("-bs", data=b"EHLO x\r\nQUIT\r\n")
        self.assertEqual(r.returncode, EX_TEMPFAIL, r.stderr)
        self.assertEqual(r.stdout, b"421 4.3.2 Empath is not running\r\n")


class StandInTest(SendmailCase):
    """A Python SMTP server on the submission socket."""

    def test_submission_dialogue(self):
        f = self.fake()
        self.make_drop()
        msg = (b"Subject: \xc3\xa9t\xc3\xa9\nBcc: secret@sink.test\n\n"
               b".leading dot\nbare LF\r\nCRLF\n")
        r = self.sendmail("-i", "-N", "failure,delay", "-R", "hdrs", "-F",
                          "Test User", "a@sink.test", "B <b@sink.test>",
                          data=msg)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.drop_files(), [])
        (s,) = f.sessions
        self.assertEqual(s["lines"][0], "EHLO localhost")
        self.assertRegex(s["mail"], rf"^MAIL FROM:<{re.escape(self.me)}> "
                         r"BODY=8BITMIME RET=HDRS SIZE=\d+$")
        self.assertEqual(s["rcpts"], ["RCPT TO:<a@sink.test> NOTIFY=FAILURE,DELAY",
                                      "RCPT TO:<b@sink.test> NOTIFY=FAILURE,DELAY"])
        data = s["data"]
        self.assertNotIn(b"secret", data)
        self.assertNotIn(b"\n", data.replace(b"\r\n", b""))   # CRLF only
        self.assertIn(b"\r\nFrom: Test User <" + self.me.encode() + b">\r\n", data)
        self.assertRegex(data, rb"\r\nMessage-ID: <" + ULID.encode() + rb"@")
        self.assertTrue(data.endswith(b"\r\n\r\n..leading dot\r\nbare LF\r\nCRLF\r\n"), data)
        self.assertEqual(s["lines"][-1], "QUIT")

    def test_callers_command_lines(self):
        """As cron, mutt and PHP's mail() call sendmail."""
        f = self.fake()
        msg = b"Subject: job\n\noutput\n.\nmore\n"
        calls = [
            (("-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"),
             [f"RCPT TO:<root@{HOSTNAME}>"], b"From: CronDaemon <"),
            (("-oem", "-oi", "--", "a@sink.test", "b@sink.test"),
             ["RCPT TO:<a@sink.test>", "RCPT TO:<b@sink.test>"], b"From: "),
            (("-t", "-i"), [], b"From: "),
        ]
        for i, (args, rcpts, frm) in enumerate(calls):
            with self.subTest(args=args):
                data = msg if args[0] != "-t" else b"To: php@sink.test\n" + msg
                r = self.sendmail(*args, data=data)
                self.assertEqual(r.returncode, 0, r.stderr)
                s = f.sessions[i]
                self.assertEqual(s["rcpts"], rcpts or ["RCPT TO:<php@sink.test>"])
                self.assertIn(b"\r\n" + frm, s["data"])
                # -i: the lone dot is text, sent stuffed.
                self.assertTrue(s["data"].endswith(b"output\r\n..\r\nmore\r\n"))
        self.assertIn("BODY=8BITMIME", f.sessions[0]["mail"])

    def test_verbose_shows_the_dialogue(self):
        self.fake()
        r = self.sendmail("-v", "a@sink.test", data=b"Subject: v\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b">>> MAIL FROM:<", r.stderr)
        self.assertIn(b"<<< 250 2.0.0 Ok: queued", r.stderr)

    def test_some_recipients_refused(self):
        f = self.fake()
        f.rcpt = lambda a: "550 5.1.1 no such user" if a.startswith("bad") else "250 Ok"
        r = self.sendmail("good@sink.test", "bad@sink.test", data=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, EX_NOUSER, r.stderr)
        self.assertIn(b"<bad@sink.test>: 550 5.1.1 no such user", r.stderr)
        self.assertIsNotNone(f.sessions[0]["data"])    # the good one got it
        f.rcpt = lambda a: "550 5.1.1 no"
        r = self.sendmail("bad@sink.test", data=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, EX_NOUSER, r.stderr)
        self.assertIsNone(f.sessions[1]["data"])

    def test_sender_refused(self):
        f = self.fake()
        f.mail = "553 5.7.1 <x@y>: sender address not owned by user nobody"
        r = self.sendmail("-f", "x@y.test", "a@sink.test", data=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, EX_NOPERM, r.stderr)
        self.assertIn(b"not owned", r.stderr)

    def test_message_refused(self):
        f = self.fake()
        f.end = "554 5.7.1 content refused"
        r = self.sendmail("a@sink.test", data=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, EX_DATAERR, r.stderr)

    def test_temporary_refusal_is_tempfail(self):
        """A 4xx (every session taken, a user smtpd does not know yet)
        is for the caller to retry: a drop file would reach queued
        without smtpd's plugins and limits."""
        self.make_drop()
        reply = "451 4.7.1 unknown local user uid 1234 (known after smtpd restarts)"
        for where in ("greet", "mail", "rcpt", "end"):
            with self.subTest(where=where):
                f = self.fake()
                if where == "greet":
                    f.greet = "421 4.3.2 too many local sessions"
                elif where == "rcpt":
                    f.rcpt = lambda a: reply
                else:
                    setattr(f, where, reply)
                r = self.sendmail("a@sink.test", data=b"Subject: later\n\nx\n")
                self.assertEqual(r.returncode, EX_TEMPFAIL, r.stderr)
                self.assertIn(b"try again later: 4", r.stderr)
                self.assertEqual(self.drop_files(), [])
                f.close()

    def test_connection_lost_is_tempfail(self):
        f = self.fake()
        self.make_drop()
        f.end = None
        r = self.sendmail("a@sink.test", data=b"Subject: lost\n\nx\n")
        self.assertEqual(r.returncode, EX_TEMPFAIL, r.stderr)
        self.assertIn(b"connection lost after the end of the message", r.stderr)
        self.assertEqual(self.drop_files(), [])

    def test_refused_before_anything_is_sent(self):
        f = self.fake()
        r = self.sendmail("a@sink.test", data=b"Subject: x\n\n" + b"y" * 1000 + b"\n")
        self.assertEqual(r.returncode, EX_DATAERR, r.stderr)
        r = self.sendmail("ok@sink.test", "x..y@sink.test", data=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, EX_USAGE, r.stderr)
        self.assertIn(b"<x..y@sink.test>", r.stderr)
        self.assertEqual(f.sessions, [])

    def test_full_backlog_is_tempfail(self):
        """A listener that accepts nothing (smtpd restarting) with its
        backlog full: empath-sendmail gives up after 10 seconds with
        EX_TEMPFAIL, never blocks in connect() nor writes a drop file."""
        self.make_drop()
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(srv.close)
        srv.bind(self.sock)
        os.chmod(self.sock, 0o666)
        srv.listen(0)
        clients = []
        while len(clients) < 64:
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(self.sock)
            except BlockingIOError:
                c.close()
                break
            clients.append(c)
            self.addCleanup(c.close)
        t0 = time.monotonic()
        r = self.sendmail("a@sink.test", data=b"Subject: x\n\nx\n")
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, EX_TEMPFAIL, r.stderr)
        self.assertIn(b"try again later", r.stderr)
        self.assertGreaterEqual(took, 9.5)
        self.assertLess(took, 20)
        self.assertEqual(self.drop_files(), [])

    def test_bs_relays_both_ways(self):
        f = self.fake()
        r = self.sendmail("-bs", data=b"EHLO client\r\nMAIL FROM:<a@b>\r\nQUIT\r\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout,
                         b"220 fake.local ESMTP\r\n" +
                         b"\r\n".join(x.encode() for x in f.ehlo) + b"\r\n"
                         b"250 2.1.0 Ok\r\n221 2.0.0 Bye\r\n")
        self.assertEqual(f.sessions[0]["lines"],
                         ["EHLO client", "MAIL FROM:<a@b>", "QUIT"])


class SetgidTest(SendmailCase):
    """Installed setgid to a drop group (as Debian does with
    dpkg-statoverride), the program still gives the group up for good
    with -C, before it connects or writes anything."""
    DROP_GID = 54321     # a group the test's user is not in

    def setgid_copy(self):
        if os.geteuid() != 0 or self.identity.uid == 0:
            self.skipTest("needs root, and a test user who is not")
        prog = os.path.join(self.tmp, "sendmail-setgid")
        shutil.copy2(self.prog, prog)
        os.chown(prog, 0, self.DROP_GID)
        os.chmod(prog, 0o2755)
        if os.statvfs(prog).f_flag & os.ST_NOSUID:
            self.skipTest(f"{self.tmp} is mounted nosuid")
        self.assertEqual(os.stat(prog).st_mode & 0o7777, 0o2755)
        return prog

    def test_group_given_up_with_C(self):
        prog = self.setgid_copy()
        f = self.fake()
        g = self.identity.gid
        r = self.sendmail("a@sink.test", data=b"Subject: x\n\nx\n", prog=prog)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.sendmail("-bs", data=b"QUIT\r\n", prog=prog)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([s["gids"] for s in f.sessions], [[g, g, g, g]] * 2)

    def test_drop_directory_of_the_group_refused_with_C(self):
        prog = self.setgid_copy()
        # The drop directory as the master makes it: only the group may
        # create files. With -C the group is gone: nothing is written.
        os.mkdir(self.drop)
        os.chown(self.drop, 0, self.DROP_GID)
        os.chmod(self.drop, 0o1730)
        os.chmod(self.e.spool, 0o711)
        r = self.sendmail("a@sink.test", data=b"Subject: x\n\nx\n", prog=prog)
        self.assertEqual(r.returncode, EX_TEMPFAIL, r.stderr)
        self.assertIn(b"Permission denied", r.stderr)
        self.assertEqual(os.listdir(self.drop), [])


class RealMasterTest(SendmailCase):
    """The real empath-master (and its control socket) running."""

    def start(self, sink=None):
        self.instances.clear()
        self.e = self.empath(sink)
        return self.e

    def test_mailq_and_q_through_empathctl(self):
        e = self.start()
        r = self.sendmail("-bp")
        self.assertEqual(r.returncode, 0, r.stderr)
        want = e.ctl("queue", "list")
        self.assertEqual(r.stdout.decode(), want.stdout)
        link = os.path.join(self.tmp, "mailq")
        os.symlink(self.prog, link)
        r = self.sendmail(argv0=link, prog=link)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode(), want.stdout)
        r = self.sendmail("-q")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_mailq_without_permission(self):
        if self.identity.uid == 0 or os.geteuid() != 0:
            self.skipTest("needs root to run as a second user")
        e = self.start()
        other = pwd.getpwnam("daemon")
        os.chmod(e.conf, 0o644)
        r = subprocess.run([self.prog, "-C", e.conf, "-bp"], capture_output=True,
                           timeout=30, user=other.pw_uid, group=other.pw_gid,
                           extra_groups=[])
        if os.access(e.control, os.W_OK) and r.returncode == 0:
            self.skipTest("the control socket is open to everyone here")
        self.assertEqual(r.returncode, EX_NOPERM, r.stderr)
        self.assertIn(b"permission denied", r.stderr)

    def test_submission_through_the_real_smtpd(self):
        sink = self.start_sink()
        e = self.start(sink)
        if not os.path.exists(self.sock):
            self.skipTest("build/empath-smtpd does not serve the submission "
                          f"socket yet ({self.sock} absent)")
        r = self.sendmail("-i", f"user@{SINK_DOMAIN}",
                          data=b"Subject: real\n\nthrough smtpd\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.drop_files(), [])
        (msg,) = sink.wait_messages(1)
        self.assertEqual(msg.mail_from, self.me)
        self.assertEqual(msg.rcpts, [f"user@{SINK_DOMAIN}"])
        self.assertRegex(msg.data, rb"^Received: by " + re.escape(HOSTNAME.encode()) +
                         rb" \(Empath, from userid " + str(self.identity.uid).encode() + rb"\)")
        self.assertIn(b"\r\nSubject: real\r\n", msg.data)
        self.assertTrue(msg.data.endswith(b"\r\n\r\nthrough smtpd\r\n"))
        # A first line starting with white space: body, never a
        # continuation of the Received: field smtpd puts on top.
        r = self.sendmail(f"user@{SINK_DOMAIN}", data=b"\tindented\nmore\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        msg = sink.wait_messages(2)[1]
        self.assertRegex(msg.data, rb"^Received: [^\r]*\r\n(\t[^\r]*\r\n)*"
                         rb"From: [^\r]*\r\nDate: [^\r]*\r\n"
                         rb"Message-ID: [^\r]*\r\n\r\n\tindented\r\nmore\r\n$")


if __name__ == "__main__":
    import unittest
    unittest.main()
