# SPDX-License-Identifier: ISC
"""smtpd and TLS on the wire: STARTTLS with smtplib and swaks, commands
pipelined after STARTTLS never executed, `tls required` (530 before
STARTTLS) for submission, `tls implicit` (SMTPS, port 465 style), and the
Received: header of a message that came over TLS."""

import smtplib
import socket
import subprocess
import unittest

from harness import swaks_path, split_received
from smtptest import SmtpCase, client_context, free_port, make_cert, tls_line


class StartTlsTests(SmtpCase):

    def setUp(self):
        super().setUp()
        self.cert, self.key = make_cert(self)

    def test_starttls_with_smtplib_and_received_header(self):
        sink = self.start_sink()
        e = self.empath(sink, listen_opts=[tls_line(self.cert, self.key)])
        with smtplib.SMTP("127.0.0.1", e.port, local_hostname="client.test",
                          timeout=20) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"), s.esmtp_features)
            s.starttls(context=client_context())
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"),
                             "STARTTLS offered again inside TLS")
            self.assertEqual(s.sock.version()[:4], "TLSv")
            s.sendmail("tls@sink.test", ["tls@sink.test"],
                       b"Subject: over TLS\r\n\r\nbody\r\n")
        (msg,) = sink.wait_messages(1)
        trace, rest = split_received(msg.data)
        text = trace.decode()
        self.assertIn("with ESMTPS id", text)
        self.assertRegex(text, r"\(using TLSv1\.[23] with cipher [A-Z0-9_-]+ "
                         r"\(\d+ bits\)\)")
        self.assertEqual(rest, b"Subject: over TLS\r\n\r\nbody\r\n")

    def test_pipelined_after_starttls_is_discarded(self):
        sink = self.start_sink()
        e = self.empath(sink, listen_opts=[tls_line(self.cert, self.key)])
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        # The classic STARTTLS command injection: commands in the same
        # packet as STARTTLS must not be executed after the handshake.
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@sink.test>\r\n"
               b"RCPT TO:<evil@sink.test>\r\n")
        code, text = c.reply()
        self.assertEqual(code, 220, text)
        self.assertEqual(c.buf, b"", "a reply to an injected command in plain text")
        c.start_tls()
        self.assertTrue(c.nothing_pending(0.5),
                        "replies to commands injected before the handshake")
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "DATA", 503, "DATA with an injected MAIL/RCPT")
        self.expect(c, "RCPT TO:<x@sink.test>", 503, "RCPT with an injected MAIL")
        self.expect(c, "QUIT", 221)
        self.assertEqual(sink.messages, [])

    def test_session_starts_over_after_starttls(self):
        e = self.empath(listen_opts=[tls_line(self.cert, self.key)])
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "STARTTLS", 220)
        c.start_tls()
        self.expect(c, "MAIL FROM:<a@sink.test>", 503, "MAIL before a new EHLO")
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "STARTTLS", 503, "STARTTLS inside TLS")
        self.expect(c, "MAIL FROM:<a@sink.test>", 250)

    def test_swaks_starttls(self):
        swaks = swaks_path()
        if swaks is None:
            self.skipTest("swaks is not installed (scripts/deps.sh installs it)")
        sink = self.start_sink()
        e = self.empath(sink, listen_opts=[tls_line(self.cert, self.key)])
        r = subprocess.run([swaks, "-s", "127.0.0.1", "-p", str(e.port), "-tls",
                            "--ehlo", "client.test", "-f", "swaks@sink.test",
                            "-t", "swaks@sink.test", "--pipeline"],
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("TLS started", r.stdout)
        (msg,) = sink.wait_messages(1)
        self.assertIn(b"with ESMTPS", msg.data)

    def test_failed_handshake_does_not_hurt(self):
        e = self.empath(listen_opts=[tls_line(self.cert, self.key)])
        smtpd = e.daemon_pids()["smtpd"]
        c = self.connect(e)
        self.expect(c, "STARTTLS", 220)
        c.send(b"this is not a TLS client hello\r\n" * 4)
        with self.assertRaises((ConnectionError, OSError)):
            c.reply()
        c2 = self.connect(e)
        self.expect(c2, "EHLO client.test", 250)
        self.assertEqual(e.daemon_pids().get("smtpd"), smtpd, "smtpd died")


class SubmissionTests(SmtpCase):
    """`tls required` (port 587 style) and `tls implicit` (port 465)."""

    def setUp(self):
        super().setUp()
        self.cert, self.key = make_cert(self)

    def smtps(self, sink=None):
        """An instance with an implicit-TLS listener besides the plain
        one the harness watches; returns (instance, SMTPS port)."""
        port = free_port()
        extra = (f"listen on 127.0.0.1 port {port} {{\n"
                 f"\t{tls_line(self.cert, self.key, 'implicit')}\n}}\n")
        return self.empath(sink, extra=extra), port

    def test_tls_required_before_mail(self):
        sink = self.start_sink()
        e = self.empath(sink, listen_opts=[tls_line(self.cert, self.key, "required")])
        c = self.connect(e)
        code, lines = self.expect(c, "EHLO client.test", 250)
        self.assertIn("STARTTLS", lines)
        code, text = self.expect(c, "MAIL FROM:<a@sink.test>", 530)
        self.assertTrue(text[0].startswith("5.7.0"), text)
        self.expect(c, "RCPT TO:<a@sink.test>", 503)
        self.expect(c, "STARTTLS", 220)
        c.start_tls()
        self.expect(c, "EHLO client.test", 250)
        self.transaction(c, "sub@sink.test", ["sub@sink.test"])
        self.expect(c, "DATA", 354)
        c.send(b"Subject: submitted\r\n\r\nx\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        sink.wait_messages(1)

    def test_implicit_tls_with_smtplib(self):
        sink = self.start_sink()
        e, port = self.smtps(sink)
        with smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="client.test",
                              context=client_context(), timeout=20) as s:
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"), s.esmtp_features)
            s.sendmail("smtps@sink.test", ["smtps@sink.test"],
                       b"Subject: smtps\r\n\r\nx\r\n")
        (msg,) = sink.wait_messages(1)
        self.assertIn(b"with ESMTPS", msg.data)

    def test_implicit_tls_refuses_plain_text(self):
        e, port = self.smtps()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.settimeout(3)
            s.sendall(b"EHLO plain.test\r\n")
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionError, OSError):
                pass
        # At most a TLS alert, never an SMTP reply in plain text.
        self.assertNotIn(b"220", data)
        self.assertNotIn(b"250", data)

    def test_swaks_implicit_tls(self):
        swaks = swaks_path()
        if swaks is None:
            self.skipTest("swaks is not installed (scripts/deps.sh installs it)")
        sink = self.start_sink()
        e, port = self.smtps(sink)
        r = subprocess.run([swaks, "-s", "127.0.0.1", "-p", str(port), "--tlsc",
                            "--ehlo", "client.test", "-f", "smtps@sink.test",
                            "-t", "smtps@sink.test"],
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        sink.wait_messages(1)


if __name__ == "__main__":
    unittest.main()
