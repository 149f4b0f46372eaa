# SPDX-License-Identifier: ISC
"""STARTTLS in deliverd under each `tls` policy, against sinks that offer
STARTTLS with certificates made at test time by the openssl CLI: one
self-signed, one signed by a test CA that deliverd trusts (SSL_CERT_FILE,
read when its TLS context is made). MX and relay names come from a test
DNS server on loopback, so the certificate is checked against them."""

import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

from dns_server import TestDNS
from harness import EmpathTestCase, wait_until

BODY = b"Subject: tls\r\n\r\nover TLS or not\r\n"
OPENSSL = shutil.which("openssl")


def _run(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, stdin=subprocess.DEVNULL,
                   capture_output=True)


def make_certificates(d):
    """self.pem/self.key: self-signed for mx.tls.test; ca.pem signs
    ca-srv.pem/ca-srv.key for mx.ca.test."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _run("req", "-x509", *ec, "-keyout", "self.key", "-out", "self.pem", "-days", "2",
         "-subj", "/CN=mx.tls.test", "-addext", "subjectAltName=DNS:mx.tls.test", cwd=d)
    _run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=Empath Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _run("req", "-new", *ec, "-keyout", "ca-srv.key", "-out", "ca-srv.csr",
         "-subj", "/CN=mx.ca.test", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:mx.ca.test\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    _run("x509", "-req", "-in", "ca-srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "ca-srv.pem", "-days", "2", "-extfile", "ext.cnf",
         cwd=d)
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)


def server_context(d, stem):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, f"{stem}.pem"), os.path.join(d, f"{stem}.key"))
    return ctx


@unittest.skipIf(OPENSSL is None, "the openssl command is not installed")
class TLSPolicyTests(EmpathTestCase):

    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="e2e.certs.", dir="/tmp")
        os.chmod(cls.certs, 0o755)
        make_certificates(cls.certs)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs, ignore_errors=True)

    def setUp(self):
        super().setUp()
        # self-signed (MX of every policy domain), CA-signed, and plain.
        self.selfsink = self.start_sink(tls_context=server_context(self.certs, "self"))
        self.casink = self.start_sink(tls_context=server_context(self.certs, "ca-srv"))
        self.plain = self.start_sink()
        self.dns = TestDNS(self.tmp)
        self.addCleanup(self.dns.close)
        for dom in ("none", "opp", "req", "reqinv"):
            self.dns.mx(f"{dom}.test", (10, "mx.tls.test"))
        self.dns.addr("mx.tls.test", "127.0.0.1")
        self.dns.addr("mx.ca.test", "127.0.0.1")
        self.dns.addr("wrong.ca.test", "127.0.0.1")
        self.dns.start()
        extra = "\n".join([
            self.dns.resolver_config(),
            f"delivery {{ mx-port {self.selfsink.port} mx-allow 127.0.0.0/8 }}",
            'domain "none.test" { tls none }',
            'domain "opp.test" { tls opportunistic }',
            'domain "req.test" { tls required }',
            'domain "reqinv.test" { tls required accept-invalid-certs yes }',
            f'domain "ca.test" {{ relay via "mx.ca.test:{self.casink.port}" tls required }}',
            f'domain "wrongname.test" {{ relay via "wrong.ca.test:{self.casink.port}" '
            "tls required }",
            f'domain "notls.test" {{ relay via "127.0.0.1:{self.plain.port}" tls required }}',
            "",
        ])
        # deliverd reads its CA store from here when it makes the context.
        old = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = os.path.join(self.certs, "ca.pem")
        try:
            self.e = self.empath(self.plain, extra=extra)
        finally:
            if old is None:
                del os.environ["SSL_CERT_FILE"]
            else:
                os.environ["SSL_CERT_FILE"] = old

    def wait_log(self, pattern, timeout=20):
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.e.log()), timeout,
                          what=f"/{pattern}/ in the log")

    def test_policy_none_never_sends_starttls(self):
        self.e.send("", ["r@none.test"], BODY)
        (msg,) = self.selfsink.wait_messages(1)
        self.assertFalse(msg.tls)
        self.assertNotIn("STARTTLS", self.selfsink.commands)

    def test_opportunistic_uses_tls_with_an_untrusted_certificate(self):
        self.e.send("", ["r@opp.test"], BODY)
        (msg,) = self.selfsink.wait_messages(1)
        self.assertTrue(msg.tls, "the message did not come over TLS")
        self.wait_log(r"Untrusted TLS connection established to "
                      r"mx\.tls\.test\[127\.0\.0\.1\]:\d+: TLSv1\.[23]")

    def test_opportunistic_without_starttls_goes_plain(self):
        # sink.test (the harness's domain) relays to the plain sink;
        # the global policy is opportunistic.
        self.e.send("", ["r@sink.test"], BODY)
        (msg,) = self.plain.wait_messages(1)
        self.assertFalse(msg.tls)

    def test_required_refuses_a_self_signed_certificate(self):
        self.e.send("", ["r@req.test"], BODY)
        self.wait_log(r"to=<r@req\.test>, relay=mx\.tls\.test\[127\.0\.0\.1\]:\d+, "
                      r"delay=[\d.]+, dsn=4\.7\.5, status=deferred \(4\.7\.5 TLS handshake "
                      r"with mx\.tls\.test\[127\.0\.0\.1\]:\d+ failed: certificate "
                      r"verification failed")
        self.assertEqual(self.selfsink.messages, [])

    def test_required_with_accept_invalid_certs_delivers_and_warns(self):
        self.e.send("", ["r@reqinv.test"], BODY)
        (msg,) = self.selfsink.wait_messages(1)
        self.assertTrue(msg.tls)
        self.wait_log(r"warn: \w+: certificate verification is off for "
                      r"mx\.tls\.test\[127\.0\.0\.1\]:\d+ \(accept-invalid-certs\)")
        self.assertIn("domain reqinv.test: accept-invalid-certs", self.e.log())

    def test_required_verifies_against_the_ca_and_the_host_name(self):
        self.e.send("", ["r@ca.test"], BODY)
        (msg,) = self.casink.wait_messages(1)
        self.assertTrue(msg.tls)
        self.wait_log(r"Trusted TLS connection established to mx\.ca\.test\[127\.0\.0\.1\]")

    def test_required_refuses_a_certificate_for_another_name(self):
        self.e.send("", ["r@wrongname.test"], BODY)
        self.wait_log(r"to=<r@wrongname\.test>, .*status=deferred \(4\.7\.5 TLS handshake "
                      r"with wrong\.ca\.test\[127\.0\.0\.1\]:\d+ failed: certificate "
                      r"verification failed")
        self.assertEqual(self.casink.messages, [])

    def test_required_without_starttls_offered_is_deferred(self):
        self.e.send("", ["r@notls.test"], BODY)
        self.wait_log(r"to=<r@notls\.test>, .*dsn=4\.7\.4, status=deferred \(4\.7\.4 TLS "
                      r"is required, but 127\.0\.0\.1\[127\.0\.0\.1\]:\d+ does not offer "
                      r"STARTTLS\)")
        time.sleep(0.3)
        self.assertEqual(self.plain.messages, [])


if __name__ == "__main__":
    unittest.main()
