# SPDX-License-Identifier: ISC
"""End-to-end test harness for Empath (Python 3.11 standard library only).

Starts the real binaries of a build ($EMPATH_BUILD, default ./build)
unprivileged in a temporary directory, on free loopback ports, and talks to
them with real clients; outgoing mail goes to a real SMTP sink server
(sink.py). Every process started is stopped in the test's
cleanup, and a test fails if any daemon's log shows an ASan/UBSan report.

When the tests run as root (CI on a fresh machine), the system is started
as the user `nobody` from a copy of the binaries in a world-readable
directory, so that it really runs unprivileged; EmpathTestCase can also
start it as root to test the privilege drop itself.
"""

import atexit
import os
import pwd
import re
import select
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from sink import DEFAULT_WAIT, SINK_DOMAIN, Sink

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("EMPATH_BUILD") or os.path.join(REPO, "build"))
DAEMONS = ("smtpd", "queued", "deliverd", "ctld")
HOSTNAME = "test.empath.local"
# Reports that make a test fail when they appear in a daemon's log.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
KEEP = os.environ.get("EMPATH_E2E_KEEP") == "1"   # keep temp dirs for debugging


# --------------------------------------------------------------------------
# small utilities

def wait_until(pred, timeout=DEFAULT_WAIT, interval=0.05, what="condition"):
    """Poll pred() until it returns a true value (returned) or time out."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


_ports_given = set()
_ports_lock = threading.Lock()


def free_port():
    """A loopback TCP port that is free now and not handed out before."""
    with _ports_lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _ports_given:
                _ports_given.add(port)
                return port
    raise RuntimeError("no free port")


def proc_stat(pid):
    """(state, ppid, pgrp) of a process, or None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after
    # the last ')'.
    rest = data[data.rfind(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2])


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def proc_title(pid):
    """A daemon's name from its process title (`empath: queued`), its
    argv[0] (`.../empath-queued`) or its comm; None if not an Empath one."""
    texts = []
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            texts.append(f.read().replace(b"\0", b" ").decode("utf-8", "replace"))
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            texts.append(f.read().decode("utf-8", "replace"))
    except OSError:
        pass
    for t in texts:
        m = re.search(r"empath: *(smtpd|queued|deliverd|ctld)\b", t)
        if m:
            return m.group(1)
    for t in texts:
        m = re.search(r"(?:^|/)empath-(smtpd|queued|deliverd|ctld)\b", t)
        if m:
            return m.group(1)
    return None


def children(ppid):
    """Pids of the live processes whose parent is ppid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st and st[1] == ppid and st[0] not in ("Z", "X"):
            out.append(int(d))
    return out


def proc_status(pid):
    """/proc/PID/status as a dict of strings."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


# --------------------------------------------------------------------------
# who runs the system

class Identity:
    """The user the system under test runs as, and where its binaries are."""

    def __init__(self, privileged=False):
        self.root = os.geteuid() == 0
        if self.root and not privileged:
            pw = pwd.getpwnam("nobody")
            self.uid, self.gid, self.name = pw.pw_uid, pw.pw_gid, pw.pw_name
            self.bindir = _unprivileged_bindir()
        else:
            pw = pwd.getpwuid(os.geteuid())
            self.uid, self.gid, self.name = pw.pw_uid, pw.pw_gid, pw.pw_name
            self.bindir = BUILD
        self.privileged = self.root and privileged

    def popen_kwargs(self):
        """Arguments that make subprocess.Popen start a process as us."""
        if self.root and self.uid != 0:
            return {"user": self.uid, "group": self.gid, "extra_groups": []}
        return {}

    def chown(self, path):
        if self.root and self.uid != 0:
            os.chown(path, self.uid, self.gid)


_bindir = None


def _unprivileged_bindir():
    """As root, the build tree may sit in a directory `nobody` cannot
    enter (/root): copy the programs once into a world-readable temporary
    directory (the master finds its daemons beside itself)."""
    global _bindir
    if _bindir is None:
        d = tempfile.mkdtemp(prefix="empath-e2e-bin.", dir="/tmp")
        os.chmod(d, 0o755)
        for name in os.listdir(BUILD):
            src = os.path.join(BUILD, name)
            if (name.startswith("empath") and os.path.isfile(src)
                    and os.access(src, os.X_OK)):
                shutil.copy2(src, os.path.join(d, name))
                os.chmod(os.path.join(d, name), 0o755)
        _bindir = d
        atexit.register(shutil.rmtree, d, True)
    return _bindir


# --------------------------------------------------------------------------
# configuration

def config_text(*, port, spool, control_socket, user, sink_port=None,
                relay_from=("127.0.0.1/32",), hostname=HOSTNAME, listen_opts=(),
                extra="", queue_user=None):
    """An Empath configuration for a test. relay_from None omits the
    `relay from` line; listen_opts are more lines in the listen block."""
    lines = [
        "# written by tests/e2e/harness.py",
        f'hostname "{hostname}"',
        f'user "{user}"',
        *([f'queue-user "{queue_user}"'] if queue_user else []),
        f'spool "{spool}"',
        "",
        f"listen on 127.0.0.1 port {port} {{",
        "\ttimeout command 30s data-init 30s data-block 30s data-termination 30s",
        *("\t" + o for o in listen_opts),
        "}",
        "",
    ]
    if relay_from is not None:
        lines += ["relay from { " + ", ".join(relay_from) + " }", ""]
    if sink_port is not None:
        lines += [
            f'domain "{SINK_DOMAIN}" {{',
            "\taccept",
            f'\trelay via "127.0.0.1:{sink_port}"',
            "}",
            "",
        ]
    lines += [
        "delivery {",
        "\tretry initial 1s max 2s",
        "\tmax-attempts 5",
        "}",
        "",
        "control {",
        f'\tsocket "{control_socket}"',
        "}",
        "",
        "log {",
        "\ttarget stderr",
        "\tlevel debug",
        "}",
    ]
    if extra:
        lines += ["", extra]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# the system under test

class Empath:
    """One empath-master (and its daemons) in a temporary directory."""

    def __init__(self, tmp, identity, sink_port=None, relay_from=("127.0.0.1/32",),
                 listen_opts=(), extra="", name="empath", user=None, queue_user=None):
        self.tmp = tmp
        self.identity = identity
        self.port = free_port()
        self.spool = os.path.join(tmp, "spool")
        self.control = os.path.join(tmp, "control.sock")
        self.conf = os.path.join(tmp, f"{name}.conf")
        self.logpath = os.path.join(tmp, f"{name}.log")
        self.master = None
        self.known_pids = set()
        self.exit_status = None
        with open(self.conf, "w") as f:
            f.write(config_text(port=self.port, spool=self.spool,
                                control_socket=self.control,
                                user=user or identity.name,
                                sink_port=sink_port, relay_from=relay_from,
                                listen_opts=listen_opts, extra=extra,
                                queue_user=queue_user))
        if not os.path.isdir(self.spool):
            os.mkdir(self.spool, 0o700)
            identity.chown(self.spool)

    @property
    def bin(self):
        return self.identity.bindir

    def start(self, timeout=10.0):
        """Start the master and wait until SMTP answers and all four
        daemons run."""
        assert self.master is None or self.master.poll() is not None
        log = open(self.logpath, "ab")
        log.write(f"==== start {time.strftime('%H:%M:%S')} ====\n".encode())
        log.flush()
        try:
            self.master = subprocess.Popen(
                [os.path.join(self.bin, "empath-master"), "-d", "-f", self.conf]
                # -T: the daemons get the EMPATH_TEST_* fault switches.
                + (["-T"] if getattr(self, "test_switches", True) else []),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.tmp,
                start_new_session=True, **self.identity.popen_kwargs())
        finally:
            log.close()
        self.known_pids.add(self.master.pid)
        self.exit_status = None
        deadline = time.monotonic() + timeout
        while True:
            if self.master.poll() is not None:
                raise AssertionError(
                    f"empath-master exited with status {self.master.returncode} at start")
            if self._greets() and len(self.daemon_pids()) == len(DAEMONS):
                return self
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"empath not ready within {timeout:g}s (daemons seen: "
                    f"{self.daemon_pids()})")
            time.sleep(0.05)

    def _greets(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.settimeout(2)
                data = b""
                while not data.endswith(b"\r\n"):
                    chunk = s.recv(512)
                    if not chunk:
                        return False
                    data += chunk
                ok = data.startswith(b"220")
                try:
                    s.sendall(b"QUIT\r\n")
                    s.recv(512)
                except OSError:
                    pass
                return ok
        except OSError:
            return False

    def running(self):
        return self.master is not None and self.master.poll() is None

    def daemon_pids(self):
        """{name: pid} of the master's live daemons (by process title)."""
        out = {}
        if not self.running():
            return out
        for pid in children(self.master.pid):
            name = proc_title(pid)
            if name:
                out[name] = pid
                self.known_pids.add(pid)
        return out

    def wait_daemon_restart(self, name, old_pid, timeout=15.0):
        """Wait until `name` runs again under a pid other than old_pid."""
        return wait_until(
            lambda: (lambda p: p if p and p != old_pid and pid_alive(p) else None)(
                self.daemon_pids().get(name)),
            timeout, what=f"the master to restart {name} (old pid {old_pid})")

    def stop(self, timeout=10.0):
        """SIGTERM the master; returns its exit status (None on timeout)."""
        if self.master is None:
            return None
        if self.master.poll() is None:
            self.daemon_pids()
            self.master.send_signal(signal.SIGTERM)
            try:
                self.master.wait(timeout)
            except subprocess.TimeoutExpired:
                return None
        self.exit_status = self.master.returncode
        return self.exit_status

    def kill_all(self):
        """Leave nothing behind: SIGKILL the master's process group and
        every daemon pid ever seen."""
        if self.master is not None:
            if self.master.poll() is None:
                self.daemon_pids()
            try:
                os.killpg(self.master.pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in list(self.known_pids):
            if pid_alive(pid) and proc_title(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if self.master is not None:
            try:
                self.master.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # Lines naming one of these are not sanitizer reports of ours: a test
    # that crashes a daemon on purpose (a test plugin's NULL write, which
    # UBSan reports before the daemon dies) lists its source here.
    expected_report_sources = ()

    def sanitizer_reports(self):
        text = "\n".join(l for l in self.log().splitlines()
                         if not any(src in l for src in
                                    self.expected_report_sources))
        return [m for m in SANITIZER_MARKS if m in text]

    # --- tools
    def ctl(self, *args, timeout=10):
        """Run empathctl -s SOCK ARGS as the system's user."""
        return subprocess.run(
            [os.path.join(self.bin, "empathctl"), "-s", self.control, *args],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
            text=True, errors="replace", **self.identity.popen_kwargs())

    def smtp(self, helo="client.test", timeout=30):
        s = smtplib.SMTP("127.0.0.1", self.port, local_hostname=helo, timeout=timeout)
        return s

    def send(self, mail_from, rcpts, data, helo="client.test", retry_for=0.0):
        """Send one message with smtplib; with retry_for > 0, temporary
        (4xx) refusals and dropped connections are retried for that long
        (a daemon is restarting). Returns sendmail's refused dict."""
        deadline = time.monotonic() + retry_for
        while True:
            try:
                with self.smtp(helo=helo) as s:
                    s.ehlo()
                    return s.sendmail(mail_from, rcpts, data)
            except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused,
                    smtplib.SMTPServerDisconnected, ConnectionError) as e:
                code = getattr(e, "smtp_code", None)
                if isinstance(e, smtplib.SMTPRecipientsRefused):
                    codes = [c for c, _ in e.recipients.values()]
                    code = codes[0] if codes and all(400 <= c < 500 for c in codes) else 550
                temporary = code is None or 400 <= code < 500
                if not temporary or time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)


class RawSMTP:
    """A line-level SMTP client for protocol tests (no smtplib niceties)."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.greeting = self.reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"server closed the connection (buffered: {self.buf!r})")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def reply(self):
        """(code, [text lines]) of one possibly multi-line reply."""
        lines = []
        while True:
            line = self._line()
            if len(line) < 3 or not line[:3].isdigit():
                raise AssertionError(f"malformed reply line {line!r}")
            lines.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return int(line[:3]), lines
            if line[3] != "-":
                raise AssertionError(f"malformed reply line {line!r}")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def nothing_pending(self, wait=0.5):
        """True when the server sends nothing within `wait` seconds."""
        if self.buf:
            return False
        r, _, _ = select.select([self.sock], [], [], wait)
        return not r

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------
# the test case base

def split_received(data):
    """Split a delivered message into (trace header block, rest): the
    leading Received: field with its continuation lines."""
    if not data.startswith(b"Received:"):
        raise AssertionError(f"message does not start with Received: {data[:120]!r}")
    pos = 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            raise AssertionError("Received: header without CRLF")
        pos = end + 2
        if data[pos:pos + 1] not in (b" ", b"\t"):
            return data[:pos], data[pos:]


class EmpathTestCase(unittest.TestCase):
    """Base class: a temp directory per test, helpers to start sinks and
    Empath instances, and a cleanup that stops everything, dumps the logs
    when the test failed and fails on sanitizer reports."""

    privileged = False   # subclasses: run the master as root (root only)

    def setUp(self):
        if not os.access(os.path.join(BUILD, "empath-master"), os.X_OK):
            self.fail(f"{BUILD}/empath-master is not built (EMPATH_BUILD={BUILD})")
        self.identity = Identity(privileged=self.privileged)
        # Short: the control socket path must fit in sun_path (108 bytes).
        self.tmp = tempfile.mkdtemp(prefix=f"e2e.{self._testMethodName[5:29]}.",
                                    dir="/tmp")
        os.chmod(self.tmp, 0o755)
        self.identity.chown(self.tmp)
        self.instances = []
        self.sinks = []
        self.addCleanup(self._cleanup)

    def start_sink(self, **kw):
        sink = Sink(**kw)
        self.sinks.append(sink)
        return sink

    def empath(self, sink=None, start=True, **kw):
        """A new Empath routing sink.test to sink, in this test's directory
        (the second and later ones in subdirectories: own spool)."""
        tmp = self.tmp
        if self.instances:
            tmp = os.path.join(self.tmp, f"i{len(self.instances)}")
            os.mkdir(tmp, 0o755)
            self.identity.chown(tmp)
        inst = Empath(tmp, self.identity, sink_port=sink.port if sink else None, **kw)
        self.instances.append(inst)
        if start:
            try:
                inst.start()
            except AssertionError as e:
                raise AssertionError(f"{e}\n--- {inst.logpath}:\n{_tail(inst.log())}") from None
        return inst

    def _failed(self):
        """Has this test (or one of its subtests) failed so far? Asked in a
        cleanup, where unittest's own outcome flag is reset: look at the
        result's lists instead."""
        result = getattr(getattr(self, "_outcome", None), "result", None)
        for test, _ in (getattr(result, "failures", []) + getattr(result, "errors", [])):
            if test is self or getattr(test, "test_case", None) is self:
                return True
        return False

    def _cleanup(self):
        problems = []
        for inst in self.instances:
            status = inst.stop() if inst.running() else None
            inst.kill_all()
            left = [p for p in inst.known_pids if pid_alive(p) and proc_title(p)]
            if left:
                problems.append(f"{inst.conf}: processes left behind: {left}")
            reports = inst.sanitizer_reports()
            if reports:
                problems.append(f"{inst.logpath}: sanitizer reports {reports} "
                                f"(stop status {status})")
        for sink in self.sinks:
            sink.close()
        if self._failed() or problems:
            for inst in self.instances:
                sys.stderr.write(f"\n---- {self.id()}: {inst.logpath} ----\n"
                                 f"{_tail(inst.log(), 200 if not problems else 400)}\n")
        if not KEEP:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if problems:
            raise AssertionError("; ".join(problems))

    # --- assertions
    def assertDeliveredExactly(self, delivered, original, helo="client.test"):
        """delivered == one Received: header (folded or not) + original."""
        trace, rest = split_received(delivered)
        if rest != original:
            i = next((i for i, (a, b) in enumerate(zip(rest, original)) if a != b),
                     min(len(rest), len(original)))
            self.fail(f"delivered body differs from the original at byte {i} "
                      f"(delivered {len(rest)} bytes, sent {len(original)}): "
                      f"got {rest[max(0, i - 40):i + 40]!r}, "
                      f"want {original[max(0, i - 40):i + 40]!r}")
        text = trace.decode("ascii", "replace")
        self.assertIn(HOSTNAME, text, "Received: lacks the `by` host name")
        self.assertIn(helo, text, "Received: lacks the client's HELO name")
        self.assertIn("127.0.0.1", text, "Received: lacks the client's address")
        for line in trace.split(b"\r\n")[:-1]:
            self.assertLessEqual(len(line), 998, "Received: line longer than 998 octets")
        return trace


def _tail(text, n=200):
    lines = text.splitlines()
    if len(lines) > n:
        return f"[... {len(lines) - n} earlier lines]\n" + "\n".join(lines[-n:])
    return "\n".join(lines)


def swaks_path():
    return shutil.which("swaks")
