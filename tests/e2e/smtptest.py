# SPDX-License-Identifier: ISC
"""Helpers for smtpd's end-to-end tests (tests/e2e/test_smtp*.py): a test
certificate made with openssl(1) at test time (never a key in the tree),
listener configuration snippets, and a raw SMTP client that can switch to
TLS in the middle of a conversation."""

import os
import shutil
import socket
import ssl
import subprocess
import unittest

from harness import EmpathTestCase, RawSMTP, free_port


def make_cert(test, name="mx"):
    """A self-signed certificate and key in the test's directory, readable
    by the user the system runs as. Returns (cert, key) paths."""
    if shutil.which("openssl") is None:
        raise unittest.SkipTest("openssl(1) is not installed")
    cert = os.path.join(test.tmp, f"{name}.crt")
    key = os.path.join(test.tmp, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=test.empath.local",
                    "-addext", "subjectAltName=DNS:test.empath.local"],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    for p in (cert, key):
        test.identity.chown(p)
    return cert, key


def tls_line(cert, key, mode=""):
    return f'tls certificate "{cert}" key "{key}"' + (f" {mode}" if mode else "")


def client_context():
    """A client context that accepts the self-signed test certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def ipv6_loopback():
    """True when ::1 can be bound here."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port6():
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind(("::1", 0))
        return s.getsockname()[1]


class TlsSMTP(RawSMTP):
    """RawSMTP that can start TLS (after a 220 to STARTTLS, or at once for
    implicit TLS) and connect to any host and port."""

    def __init__(self, port, host="127.0.0.1", implicit=False, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        if implicit:
            self.start_tls()
        self.greeting = self.reply()

    def start_tls(self):
        # Nothing read in plain text may be taken as a TLS reply.
        assert not self.buf, f"plain text buffered before TLS: {self.buf!r}"
        self.sock = client_context().wrap_socket(self.sock)
        return self.sock.version(), self.sock.cipher()


class SmtpCase(EmpathTestCase):
    """EmpathTestCase with raw-conversation helpers."""

    def connect(self, e, port=None, host="127.0.0.1", implicit=False):
        c = TlsSMTP(port or e.port, host=host, implicit=implicit)
        self.addCleanup(c.close)
        self.assertEqual(c.greeting[0], 220, f"greeting {c.greeting}")
        return c

    def expect(self, c, line, codes, what=None):
        code, text = c.cmd(line)
        if isinstance(codes, int):
            codes = (codes,)
        self.assertIn(code, codes, f"{what or line!r}: got {code} {text}")
        return code, text

    def transaction(self, c, sender="sender@sink.test", rcpts=("rcpt@sink.test",)):
        self.expect(c, f"MAIL FROM:<{sender}>", 250)
        for r in rcpts:
            self.expect(c, f"RCPT TO:<{r}>", 250)

    def queued_files(self, e):
        """Message files in the spool's queue (whatever their state)."""
        q = os.path.join(e.spool, "queue")
        out = []
        for root, _, files in os.walk(q):
            out += [os.path.join(root, f) for f in files]
        return out


__all__ = ["make_cert", "tls_line", "client_context", "ipv6_loopback",
           "free_port6", "free_port", "TlsSMTP", "SmtpCase"]
