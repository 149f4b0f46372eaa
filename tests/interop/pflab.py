# SPDX-License-Identifier: ISC
"""Interoperability tests against a real Postfix (Python 3.11 standard
library, plus Debian's postfix package).

One lab per test class: a Postfix instance of its own (its own main.cf and
master.cf, queue and data directories, all in a temporary directory, only
on loopback ports; never the system's Postfix service), an Empath started
by tests/e2e/harness.py, a test DNS server, and a Python SMTP sink
(tests/e2e/sink.py) where mail leaves the lab. Addresses:

  *@sink.test      Empath delivers to the sink; Postfix's default route
                   (relayhost) is Empath, so its bounces and DSNs for
                   *@sink.test senders come back through Empath.
  tls@sink.test    Postfix relays to Empath over verified STARTTLS.
  *@pf.test        Empath relays to Postfix's plain smtpd, which relays
                   on to the sink.
  *@pftls.test     Empath relays over verified STARTTLS (tls required,
                   host name mx.pf.test) to Postfix, then to the sink.
  *@pf8.test       Postfix's smtpd there does not announce 8BITMIME.
  *@pflim.test     Postfix's smtpd there takes 2 recipients per message.
  *@bücher.test    Empath relays to Postfix's plain smtpd (SMTPUTF8), then
                   to the sink; Postfix knows both spellings of the domain.
  *@müller.test    Postfix's smtpd there runs with smtputf8_enable=no;
                   then to the sink (as xn--mller-kva.test).
  *@vm.test        Postfix delivers into a Maildir (final delivery).
  *@rj.test        Postfix refuses nouser@rj.test with 550 at RCPT.

Postfix needs root (it drops to its own users); the classes skip when not
run as root or when /usr/sbin/postfix is missing.
"""

import os
import pwd
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import harness  # noqa: E402  (tests/e2e on the path first)
from dns_server import TestDNS  # noqa: E402
from harness import BUILD, Empath, Identity, wait_until  # noqa: E402
from sink import Sink  # noqa: E402

POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"
OPENSSL = shutil.which("openssl")
PF_HOSTNAME = "pf.interop.test"
# Postfix relays both spellings of these domains to the sink.
IDN_DOMAINS = ("bücher.test", "xn--bcher-kva.test", "müller.test", "xn--mller-kva.test")
WAIT = 20.0        # seconds for anything that should happen at once


def skip_reason():
    """Why the Postfix tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "Postfix interop tests need root (postfix start drops to its own users)"
    if not os.access(POSTFIX, os.X_OK):
        return f"{POSTFIX} is missing (scripts/deps.sh installs Debian's postfix)"
    if OPENSSL is None:
        return "the openssl command is not installed"
    return None


# --------------------------------------------------------------------------
# certificates

def _openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, stdin=subprocess.DEVNULL,
                   capture_output=True)


def make_certificates(d):
    """ca.pem (a test CA) signs srv.pem/srv.key, valid for localhost,
    mx.pf.test and 127.0.0.1: Postfix verifies Empath as [localhost],
    Empath verifies Postfix as mx.pf.test. World-readable (the key too:
    Empath's smtpd reads it as the unprivileged test user)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=Empath Interop Test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-new", *ec, "-keyout", "srv.key", "-out", "srv.csr",
             "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,DNS:mx.pf.test,IP:127.0.0.1\n"
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf",
             cwd=d)
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)


# --------------------------------------------------------------------------
# Postfix

class Postfix:
    """One Postfix instance in DIR: DIR/conf (main.cf, master.cf, maps),
    DIR/queue, DIR/data, DIR/vmail, and its log in DIR/postfix.log.
    main: main.cf settings over the defaults below; services: (port,
    {smtpd -o settings}) for each listener, or a master.cf line as is;
    maps: file name -> contents, written into DIR/conf."""

    def __init__(self, d, main, services, maps):
        self.dir = d
        self.conf = os.path.join(d, "conf")
        self.queue = os.path.join(d, "queue")
        self.data = os.path.join(d, "data")
        self.vmail = os.path.join(d, "vmail")
        self.logpath = os.path.join(d, "postfix.log")
        self.ports = []
        os.makedirs(self.conf, 0o755)
        os.mkdir(self.queue, 0o755)
        os.mkdir(self.data, 0o700)
        os.mkdir(self.vmail, 0o700)
        shutil.chown(self.data, "postfix", "postfix")
        nobody = pwd.getpwnam("nobody")
        os.chown(self.vmail, nobody.pw_uid, nobody.pw_gid)
        settings = {
            "compatibility_level": "3.6",
            "config_directory": self.conf,
            "queue_directory": self.queue,
            "data_directory": self.data,
            "maillog_file": self.logpath,
            "maillog_file_prefixes": os.path.dirname(d),
            "myhostname": PF_HOSTNAME,
            "mydomain": "interop.test",
            "myorigin": PF_HOSTNAME,
            "mydestination": "",
            "local_recipient_maps": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtputf8_enable": "yes",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            # Retry soon, and give up on a dead peer soon: tests wait for
            # seconds, not minutes.
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "smtp_connect_timeout": "5s",
            "smtp_helo_timeout": "10s",
            "virtual_mailbox_base": self.vmail,
            "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}",
            "smtpd_tls_loglevel": "1",
            "smtp_tls_loglevel": "1",
        }
        settings.update(main)
        for name, text in maps.items():
            with open(os.path.join(self.conf, name), "w", encoding="utf-8") as f:
                f.write(text)
        with open(os.path.join(self.conf, "main.cf"), "w", encoding="utf-8") as f:
            f.write("# written by tests/interop/pflab.py\n")
            f.writelines(f"{k} = {v}\n" for k, v in settings.items())
        lines = ["# written by tests/interop/pflab.py"]
        for svc in services:
            if isinstance(svc, str):        # a master.cf line as is
                lines.append(svc)
                continue
            port, opts = svc
            self.ports.append(port)
            lines.append(f"127.0.0.1:{port} inet n - n - - smtpd " + " ".join(
                f"-o {k}={v}" for k, v in opts.items()))
        lines += [
            # service type private unpriv chroot wakeup maxproc command
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "tlsmgr unix - - n 1000? 1 tlsmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "virtual unix - n n - - virtual",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def _run(self, *args, timeout=60):
        return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", timeout=timeout)

    def start(self, timeout=30.0):
        r = self._run(POSTFIX, "-c", self.conf, "start")
        if r.returncode != 0:
            raise AssertionError(f"postfix -c {self.conf} start failed ({r.returncode}):"
                                 f"\n{r.stdout}{r.stderr}\n{self.log()}")
        for port in self.ports:
            wait_until(lambda: _greets(port), timeout, interval=0.1,
                       what=f"Postfix's smtpd on 127.0.0.1:{port}")
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.master_pid()
        self._run(POSTFIX, "-c", self.conf, "stop")
        if pid is None:
            return
        try:
            wait_until(lambda: not harness.pid_alive(pid), 10, interval=0.1,
                       what="Postfix's master to exit")
        except AssertionError:
            # Ours alone (the pid from our own queue directory).
            self._run(POSTFIX, "-c", self.conf, "abort")

    def flush(self):
        """Attempt every queued message now (postqueue -f)."""
        self._run(POSTQUEUE, "-c", self.conf, "-f")

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=WAIT):
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log()), timeout, interval=0.1,
                          what=f"/{pattern}/ in Postfix's log {self.logpath}")


def _greets(port):
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=2)
    except (OSError, smtplib.SMTPException):
        return False
    try:
        s.quit()
    except (OSError, smtplib.SMTPException):
        pass
    return True


# --------------------------------------------------------------------------
# the lab

class PostfixLab(unittest.TestCase):
    """Base class: setUpClass builds the lab described at the top."""

    sink_extensions = ("8BITMIME", "PIPELINING", "SIZE 104857600", "DSN", "SMTPUTF8",
                       "ENHANCEDSTATUSCODES")

    @classmethod
    def setUpClass(cls):
        reason = skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        if not os.access(os.path.join(BUILD, "empath-master"), os.X_OK):
            raise AssertionError(f"{BUILD}/empath-master is not built")
        cls._stack = []
        try:
            cls._build()
        except BaseException:
            cls._teardown(failed=True)
            raise

    @classmethod
    def _build(cls):
        cls.identity = Identity()
        cls.tmp = tempfile.mkdtemp(prefix=f"ip.{cls.__name__[:16]}.", dir="/tmp")
        os.chmod(cls.tmp, 0o755)
        cls._stack.append(lambda: harness.KEEP or shutil.rmtree(cls.tmp, ignore_errors=True))
        cls.certs = os.path.join(cls.tmp, "certs")
        os.mkdir(cls.certs, 0o755)
        make_certificates(cls.certs)
        cls.ca = os.path.join(cls.certs, "ca.pem")
        cls.cert = os.path.join(cls.certs, "srv.pem")
        cls.key = os.path.join(cls.certs, "srv.key")

        cls.sink = Sink(extensions=cls.sink_extensions)
        cls._stack.append(cls.sink.close)

        cls.dns = TestDNS(cls.tmp)
        cls.dns.addr("mx.pf.test", "127.0.0.1")
        cls.dns.start()
        cls._stack.append(cls.dns.close)

        pf = {name: harness.free_port() for name in ("plain", "tls", "7bit", "lim",
                                                     "ascii")}
        cls.pf_ports = pf
        edir = os.path.join(cls.tmp, "empath")
        os.mkdir(edir, 0o755)
        cls.identity.chown(edir)
        extra = "\n".join([
            cls.dns.resolver_config(),
            # Everything without a domain block goes to the sink; the
            # retry interval is long, so a message delivered within
            # seconds was not retried.
            "delivery {",
            f'\trelay via "127.0.0.1:{cls.sink.port}"',
            "\tretry initial 10m max 20m",
            "}",
            f'domain "pf.test" {{ relay via "127.0.0.1:{pf["plain"]}" }}',
            f'domain "vm.test" {{ relay via "127.0.0.1:{pf["plain"]}" }}',
            f'domain "rj.test" {{ relay via "127.0.0.1:{pf["plain"]}" }}',
            f'domain "pftls.test" {{ relay via "mx.pf.test:{pf["tls"]}" tls required }}',
            f'domain "pf8.test" {{ relay via "127.0.0.1:{pf["7bit"]}" }}',
            f'domain "pflim.test" {{ relay via "127.0.0.1:{pf["lim"]}" }}',
            f'domain "bücher.test" {{ relay via "127.0.0.1:{pf["plain"]}" }}',
            f'domain "müller.test" {{ relay via "127.0.0.1:{pf["ascii"]}" }}',
        ])
        cls.empath = Empath(edir, cls.identity, sink_port=cls.sink.port, extra=extra,
                            listen_opts=(f'tls certificate "{cls.cert}" key "{cls.key}"',))
        cls._stack.append(cls._stop_empath)

        to_sink = f"smtp:[127.0.0.1]:{cls.sink.port}"
        maps = {
            "transport": "".join(f"{d} {to_sink}\n" for d in
                                 ("pf.test", "pftls.test", "pf8.test", "pflim.test") +
                                 IDN_DOMAINS) +
            f"tls@sink.test smtpv:[localhost]:{cls.empath.port}\n",
            "vmailbox": "user@vm.test vm/user/\nenv@vm.test vm/env/\n",
            "access": "nouser@rj.test 550 5.1.1 <nouser@rj.test>: no such user here\n",
        }
        conf = os.path.join(cls.tmp, "pf", "conf")
        main = {
            "relayhost": f"[127.0.0.1]:{cls.empath.port}",
            "transport_maps": f"texthash:{conf}/transport",
            "relay_domains": " ".join(("pf.test pftls.test pf8.test pflim.test rj.test",)
                                      + IDN_DOMAINS),
            "virtual_mailbox_domains": "vm.test",
            "virtual_mailbox_maps": f"texthash:{conf}/vmailbox",
            "smtpd_recipient_restrictions":
                f"check_recipient_access texthash:{conf}/access, permit_mynetworks, "
                "reject_unauth_destination",
        }
        tls_in = {"smtpd_tls_security_level": "may", "smtpd_tls_cert_file": cls.cert,
                  "smtpd_tls_key_file": cls.key, "smtpd_tls_received_header": "yes"}
        services = [(pf["plain"], {}), (pf["tls"], tls_in),
                    (pf["7bit"], {"smtpd_discard_ehlo_keywords": "8bitmime"}),
                    (pf["lim"], {"smtpd_recipient_limit": "2"}),
                    (pf["ascii"], {"smtputf8_enable": "no"}),
                    # The client that relays to Empath over verified TLS.
                    "smtpv unix - - n - - smtp -o smtp_tls_security_level=verify "
                    f"-o smtp_tls_CAfile={cls.ca} -o smtp_tls_verify_cert_match=hostname"]
        cls.postfix = Postfix(os.path.join(cls.tmp, "pf"), main, services, maps)
        cls._stack.append(cls.postfix.stop)
        cls.postfix.start()

        # deliverd reads its CA store from SSL_CERT_FILE when it makes
        # its TLS context: trust the test CA only.
        old = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = cls.ca
        try:
            cls.empath.start()
        finally:
            if old is None:
                del os.environ["SSL_CERT_FILE"]
            else:
                os.environ["SSL_CERT_FILE"] = old

    @classmethod
    def _stop_empath(cls):
        e = cls.empath
        if e.running():
            e.stop()
        e.kill_all()
        reports = e.sanitizer_reports()
        if reports:
            raise AssertionError(f"{e.logpath}: sanitizer reports {reports}")

    @classmethod
    def _teardown(cls, failed=False):
        errors = []
        if failed or getattr(cls, "_failures", False):
            for what in ("empath", "postfix"):
                obj = getattr(cls, what, None)
                if obj is not None:
                    sys.stderr.write(f"\n---- {cls.__name__}: {obj.logpath} ----\n"
                                     f"{harness._tail(obj.log(), 150)}\n")
        while cls._stack:
            try:
                cls._stack.pop()()
            except Exception as e:        # keep cleaning up
                errors.append(str(e))
        if errors:
            raise AssertionError("; ".join(errors))

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    def run(self, result=None):
        result = super().run(result)
        if result is not None and (result.failures or result.errors):
            if any(t is self for t, _ in result.failures + result.errors):
                type(self)._failures = True
        return result

    # --- helpers
    def submit(self, port, mail_from, rcpts, data, mail_options=(), rcpt_options=(),
               helo="client.test"):
        """Send one message over SMTP to 127.0.0.1:port; every RCPT must be
        accepted. Returns the text of the reply to the final dot."""
        with smtplib.SMTP("127.0.0.1", port, local_hostname=helo, timeout=30) as s:
            s.ehlo()
            code, text = s.mail(mail_from, list(mail_options))
            self.assertEqual(code, 250, f"MAIL FROM:<{mail_from}>: {code} {text!r}")
            for r in rcpts:
                code, text = s.rcpt(r, list(rcpt_options))
                self.assertEqual(code, 250, f"RCPT TO:<{r}>: {code} {text!r}")
            code, text = s.data(data)
            self.assertEqual(code, 250, f"end of data: {code} {text!r}")
            return text.decode("utf-8", "replace")

    def to_postfix(self, *args, **kw):
        return self.submit(self.pf_ports["plain"], *args, **kw)

    def to_empath(self, *args, **kw):
        return self.submit(self.empath.port, *args, **kw)

    def sink_messages(self, rcpt, n=1, timeout=WAIT, fail_fast=True):
        """The sink's messages to rcpt, once there are at least n. Fails
        at once when Postfix or Empath logs that it bounced or deferred
        rcpt (unless fail_fast is false: a deferral may be followed by
        an immediate retry)."""
        rx = re.compile(rf"\w+: to=<{re.escape(rcpt)}>, .*status=(bounced|deferred).*")

        def got():
            with self.sink.cond:
                ms = [m for m in self.sink.messages
                      if rcpt.lower() in (r.lower() for r in m.rcpts)]
            if len(ms) >= n:
                return ms
            for who, obj in (("Postfix", self.postfix), ("Empath", self.empath)):
                m = rx.search(obj.log()) if fail_fast else None
                if m:
                    raise AssertionError(f"no message to <{rcpt}> at the sink: {who} "
                                         f"logged {m.group(0)}")
            return None
        try:
            return wait_until(got, timeout, interval=0.1,
                              what=f"{n} message(s) to <{rcpt}> at the sink")
        except AssertionError as e:
            if "timed out" not in str(e):
                raise
            said = [ln for obj in (self.empath, self.postfix)
                    for ln in obj.log().splitlines() if f"to=<{rcpt}>" in ln]
            raise AssertionError(f"{e}; the logs say:\n" + "\n".join(said[-6:])) from None

    def sink_commands(self, prefix):
        with self.sink.cond:
            return [c for c in self.sink.commands if c.upper().startswith(prefix.upper())]

    def wait_empath_log(self, pattern, timeout=WAIT):
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.empath.log()), timeout, interval=0.1,
                          what=f"/{pattern}/ in Empath's log")


def split_trace(data):
    """(list of leading Received: fields, the rest) of a message."""
    fields = []
    while data.startswith(b"Received:"):
        pos = 0
        while True:
            end = data.find(b"\r\n", pos)
            if end < 0:
                raise AssertionError("Received: without CRLF")
            pos = end + 2
            if data[pos:pos + 1] not in (b" ", b"\t"):
                break
        fields.append(data[:pos].decode("utf-8", "replace"))
        data = data[pos:]
    return fields, data


def unique(tag):
    """A local part no other test uses."""
    unique.n += 1
    return f"{tag}{unique.n}x{os.getpid() % 1000}"


unique.n = 0
