# SPDX-License-Identifier: ISC
"""Internationalised mail at smtpd, end to end: RFC 3461 ORCPT taken
liberally and stored as RFC 6533 "utf-8;address" when it carries UTF-8
(the xtext a relay like Postfix sends), malformed ORCPTs dropped rather
than refused, and SMTPUTF8 addresses with UTF-8 (IDNA2008) domains,
matched against an A-label `domain` block and traced in Received:."""

import os
import re
import sqlite3
import unittest

from harness import free_port
from smtptest import SmtpCase

QUEUED_RE = re.compile(r"queued as ([0-9A-HJKMNP-TV-Z]{26})")


def held_config(port, domains=()):
    """Every delivery goes to a closed port and is retried in an hour:
    the accepted message stays in the queue to be looked at."""
    lines = []
    for d in domains:
        lines += [f'domain "{d}" {{', "\taccept", "}"]
    lines += ["delivery {", f'\trelay via "127.0.0.1:{port}"',
              "\tretry initial 1h max 4h", "\tmax-attempts 25", "}"]
    return "\n".join(lines) + "\n"


class IntlCase(SmtpCase):
    """The envelope is read from the queue database and the file from
    the spool, with Empath stopped: what was stored, not a rendering of
    it (test_utf8_output covers what empathctl shows)."""

    def send_raw(self, e, c, lines, body=b"Subject: intl\r\n\r\nx\r\n"):
        """EHLO, then each (line, code); DATA; the queue id."""
        self.expect(c, "EHLO client.test", 250)
        for line, code in lines:
            self.expect(c, line, code)
        self.expect(c, "DATA", 354)
        c.send(body + b".\r\n")
        code, text = c.reply()
        self.assertEqual(code, 250, text)
        m = QUEUED_RE.search(text[0])
        self.assertIsNotNone(m, text)
        return m.group(1)

    def in_queue(self, e, mid):
        """The stored envelope of mid: sender, recipients (address and
        ORCPT, in order) and the message's header."""
        # A 250 to DATA means committed (durable) already.
        self.assertEqual(e.stop(), 0)
        db = sqlite3.connect(f"file:{os.path.join(e.spool, 'queue.db')}?mode=ro",
                             uri=True)
        try:
            (sender,) = db.execute("SELECT sender FROM messages WHERE id = ?",
                                   (mid,)).fetchone()
            rcpts = [{"address": a, "orcpt": o} for a, o in db.execute(
                "SELECT addr, orcpt FROM recipients WHERE msgid = ? ORDER BY id",
                (mid,))]
        finally:
            db.close()
        with open(os.path.join(e.spool, "queue", mid), "rb") as f:
            headers = f.read().split(b"\r\n\r\n", 1)[0].decode()
        return {"sender": sender, "recipients": rcpts, "headers": headers}


class OrcptTests(IntlCase):

    def test_xtext_utf8_orcpt_kept_as_utf8_address(self):
        # What Postfix relays for a UTF-8 original recipient: xtext of the
        # UTF-8 octets under the rfc822 type (RFC 3461 §4.2).
        e = self.empath(extra=held_config(free_port()))
        c = self.connect(e)
        mid = self.send_raw(e, c, [
            ("MAIL FROM:<s@example.test>", 250),
            ("RCPT TO:<a@example.test> ORCPT=rfc822;j+C3+B6rg@example.test", 250),
            # Malformed: not UTF-8 once decoded, a control character, no
            # type. Each is dropped; the recipient is accepted.
            ("RCPT TO:<b@example.test> ORCPT=rfc822;j+F6rg@example.test", 250),
            ("RCPT TO:<c@example.test> ORCPT=utf-8;c\\x{0A}@example.test", 250),
            ("RCPT TO:<d@example.test> ORCPT=nonsense", 250),
            # RFC 6533 unitext without SMTPUTF8, and the \x{} escapes.
            ("RCPT TO:<f@example.test> ORCPT=utf-8;f\\x{FC}r@example.test", 250),
            # A duplicate ORCPT stays a syntax error.
            ("RCPT TO:<g@example.test> ORCPT=rfc822;g@x ORCPT=rfc822;h@x", 501),
        ])
        v = self.in_queue(e, mid)
        got = {r["address"]: r["orcpt"] or "" for r in v["recipients"]}
        self.assertEqual(set(got), {"a@example.test", "b@example.test", "c@example.test",
                                    "d@example.test", "f@example.test"})
        self.assertEqual(got["a@example.test"], "utf-8;jörg@example.test")
        self.assertEqual(got["f@example.test"], "utf-8;für@example.test")
        for a in ("b@example.test", "c@example.test", "d@example.test"):
            self.assertEqual(got[a], "", a)
        # One info line per dropped ORCPT, with the session.
        drops = re.findall(r"session \d+: ignoring malformed ORCPT from \[127\.0\.0\.1\]: (.*)",
                           e.log())
        self.assertEqual(len(drops), 3, drops)
        self.assertIn("nonsense", drops[2])

    def test_raw_utf8_orcpt_with_smtputf8(self):
        e = self.empath(extra=held_config(free_port()))
        c = self.connect(e)
        mid = self.send_raw(e, c, [
            ("MAIL FROM:<s@example.test> SMTPUTF8", 250),
            ("RCPT TO:<jörg@example.test> ORCPT=utf-8;jörg@example.test", 250),
        ])
        (r,) = self.in_queue(e, mid)["recipients"]
        self.assertEqual(r["address"], "jörg@example.test")
        self.assertEqual(r["orcpt"], "utf-8;jörg@example.test")


class Smtputf8DomainTests(IntlCase):

    def test_utf8_domain_needs_smtputf8_and_idna2008(self):
        e = self.empath(extra=held_config(free_port()))
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        code, text = self.expect(c, "MAIL FROM:<jörg@bücher.test>", 553)
        self.assertRegex(text[0], r"^5\.6\.7 ")
        # U+2665 is no IDNA2008 character: bad syntax, as today.
        self.expect(c, "MAIL FROM:<a@i♥.test> SMTPUTF8", 501)
        self.expect(c, "MAIL FROM:<jörg@bücher.test> SMTPUTF8", 250)
        code, text = self.expect(c, "RCPT TO:<a@i♥.test>", 553)
        self.assertIn("internationalized domain", text[0])
        self.expect(c, "RSET", 250)
        self.expect(c, "MAIL FROM:<a@example.test>", 250)
        code, text = self.expect(c, "RCPT TO:<jörg@bücher.test>", 553)
        self.assertRegex(text[0], r"^5\.6\.7 ")

    def test_utf8_domain_received_from_relay_client(self):
        e = self.empath(extra=held_config(free_port()))
        c = self.connect(e)
        mid = self.send_raw(e, c, [
            ("MAIL FROM:<jörg@bücher.test> SMTPUTF8", 250),
            ("RCPT TO:<jörg@bücher.test>", 250),
        ], body="Subject: Grüße\r\n\r\nÄpfel\r\n".encode())
        v = self.in_queue(e, mid)
        self.assertEqual(v["sender"], "jörg@bücher.test")
        (r,) = v["recipients"]
        self.assertEqual(r["address"], "jörg@bücher.test")
        # RFC 6531 §4.3 and §3.7.3: UTF8SMTP, and the UTF-8 recipient.
        self.assertRegex(v["headers"], r"with UTF8SMTP id " + mid)
        self.assertIn("\tfor <jörg@bücher.test>; ", v["headers"])
        self.assertIn("Subject: Grüße", v["headers"])

    def test_alabel_domain_block_from_outside_relay(self):
        # The A-label form of the domain matches its block today.
        e = self.empath(relay_from=("192.0.2.0/24",),
                        extra=held_config(free_port(), ["xn--bcher-kva.test"]))
        c = self.connect(e)
        self.expect(c, "EHLO client.test", 250)
        self.expect(c, "MAIL FROM:<a@example.test> SMTPUTF8", 250)
        self.expect(c, "RCPT TO:<a@example.test>", 554)
        self.expect(c, "RCPT TO:<a@xn--bcher-kva.test>", 250)
        # After SMTPUTF8 the refusal may name the address in UTF-8.
        code, text = self.expect(c, "RCPT TO:<jörg@bücher.example>", 554)
        self.assertEqual(text[0], "5.7.1 <jörg@bücher.example>: relaying denied")

    def test_ulabel_recipient_matches_alabel_domain_block(self):
        e = self.empath(relay_from=("192.0.2.0/24",),
                        extra=held_config(free_port(), ["xn--bcher-kva.test"]))
        c = self.connect(e)
        mid = self.send_raw(e, c, [
            ("MAIL FROM:<s@example.test> SMTPUTF8", 250),
            ("RCPT TO:<jörg@bücher.test>", 250),
        ])
        (r,) = self.in_queue(e, mid)["recipients"]
        self.assertEqual(r["address"], "jörg@bücher.test")


if __name__ == "__main__":
    unittest.main()
