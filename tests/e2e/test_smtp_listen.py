# SPDX-License-Identifier: ISC
"""Several `listen` blocks at once, each with its own options: a plain
one, an IPv6 one on ::1, a `tls required` submission one and a
`tls implicit` one, all served by one smtpd; and the per-listener limits
staying apart."""

import smtplib
import socket
import unittest

from smtptest import (SmtpCase, client_context, free_port, free_port6,
                      ipv6_loopback, make_cert, tls_line)


class ListenerTests(SmtpCase):

    def test_four_listeners_one_smtpd(self):
        if not ipv6_loopback():
            self.skipTest("no IPv6 loopback on this machine")
        cert, key = make_cert(self)
        sink = self.start_sink()
        p6, psub, psmtps = free_port6(), free_port(), free_port()
        extra = "\n".join([
            f"listen on ::1 port {p6} {{ max-message-size 20K }}",
            f"listen on 127.0.0.1 port {psub} {{",
            f"\t{tls_line(cert, key, 'required')}",
            "\tmax-recipients 1",
            "}",
            f"listen on 127.0.0.1 port {psmtps} {{",
            f"\t{tls_line(cert, key, 'implicit')}",
            "}",
        ])
        e = self.empath(sink, extra=extra)

        # IPv6: its own size limit, the client written as an IPv6 literal.
        c6 = self.connect(e, port=p6, host="::1")
        code, lines = self.expect(c6, "EHLO client.test", 250)
        self.assertIn("SIZE 20480", lines)
        self.assertNotIn("STARTTLS", lines)
        self.transaction(c6, "six@sink.test", ["six@sink.test"])
        self.expect(c6, "DATA", 354)
        c6.send(b"Subject: over IPv6\r\n\r\nx\r\n.\r\n")
        self.assertEqual(c6.reply()[0], 250)

        # Submission: STARTTLS first, then one recipient only.
        cs = self.connect(e, port=psub)
        self.expect(cs, "EHLO client.test", 250)
        self.expect(cs, "MAIL FROM:<sub@sink.test>", 530)
        self.expect(cs, "STARTTLS", 220)
        cs.start_tls()
        self.expect(cs, "EHLO client.test", 250)
        self.expect(cs, "MAIL FROM:<sub@sink.test>", 250)
        self.expect(cs, "RCPT TO:<sub@sink.test>", 250)
        code, text = self.expect(cs, "RCPT TO:<sub2@sink.test>", 452)
        self.assertTrue(text[0].startswith("4.5.3"), text)
        self.expect(cs, "DATA", 354)
        cs.send(b"Subject: submitted\r\n\r\nx\r\n.\r\n")
        self.assertEqual(cs.reply()[0], 250)

        # SMTPS.
        with smtplib.SMTP_SSL("127.0.0.1", psmtps, local_hostname="client.test",
                              context=client_context(), timeout=20) as s:
            s.sendmail("smtps@sink.test", ["smtps@sink.test"],
                       b"Subject: smtps\r\n\r\nx\r\n")

        # The plain listener the harness made is unaffected by the others.
        c = self.connect(e)
        code, lines = self.expect(c, "EHLO client.test", 250)
        self.assertIn("SIZE 36700160", lines)

        msgs = {m.mail_from: m for m in sink.wait_messages(3)}
        self.assertIn(b"[IPv6:::1]", msgs["six@sink.test"].data)
        self.assertIn(b"with ESMTPS", msgs["sub@sink.test"].data)
        self.assertIn(b"with ESMTPS", msgs["smtps@sink.test"].data)
        self.assertNotIn(b"ESMTPS", msgs["six@sink.test"].data)

    def test_per_address_limit_is_per_listener(self):
        port2 = free_port()
        e = self.empath(listen_opts=["max-connections-per-ip 1"],
                        extra=f"listen on 127.0.0.1 port {port2} "
                              "{ max-connections-per-ip 1 }")
        a = self.connect(e)
        b = self.connect(e, port=port2)
        with socket.create_connection(("127.0.0.1", e.port), timeout=5) as s:
            self.assertTrue(s.recv(512).startswith(b"421 4.7.0"))
        self.expect(a, "NOOP", 250)
        self.expect(b, "NOOP", 250)

    def test_bad_certificate_is_a_startup_error(self):
        bad = f"{self.tmp}/missing.pem"
        e = self.empath(start=False, listen_opts=[tls_line(bad, bad)])
        with self.assertRaises(AssertionError):
            e.start(timeout=3)
        self.assertIn("cannot load", e.log())


if __name__ == "__main__":
    unittest.main()
