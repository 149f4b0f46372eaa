# SPDX-License-Identifier: ISC
"""Empath delivers to a real Postfix: plain and over STARTTLS verified
against a test CA, with the DSN parameters (RFC 3461) passed on, an 8-bit
body converted for a server without 8BITMIME (RFC 6152), and a server that
takes fewer recipients per message than Empath has (452, RFC 5321 section
4.5.3.1.10)."""

import email
import email.policy
import glob
import os
import re
import time
import unittest

from pflab import PF_HOSTNAME, PostfixLab, split_trace, unique, wait_until

HOSTNAME = "test.empath.local"


def message(rcpt, subject, body, headers=""):
    return (f"From: sender@sink.test\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
            f"Date: Sun, 06 Dec 2026 01:00:00 +0000\r\n"
            f"Message-ID: <{subject}.{rcpt}>\r\n{headers}\r\n").encode() + body


TRICKY = (b"first line\r\n.\r\n..two dots\r\n.leading dot\r\ntrailing space  \r\n"
          b"\ttab line\r\n" + b"y" * 900 + b"\r\n\r\nlast\r\n")


class EmpathToPostfixTest(PostfixLab):

    def assert_through_postfix(self, got, msg, tls=False):
        """got (at the sink, from Postfix) is msg with Postfix's and
        Empath's Received: fields on top."""
        traces, rest = split_trace(got.data)
        self.assertEqual(rest, msg, "the body changed on the way Empath -> Postfix")
        self.assertEqual(len(traces), 2, traces)
        self.assertIn(f"by {PF_HOSTNAME} (Postfix) with ESMTP{'S' if tls else ''} ", traces[0])
        self.assertIn(f"from {HOSTNAME} ", traces[0])
        self.assertIn(f"by {HOSTNAME} (Empath)", traces[1])
        return traces

    def test_plain_relay_keeps_the_bytes(self):
        rcpt = unique("plain") + "@pf.test"
        msg = message(rcpt, "plain", TRICKY)
        self.to_empath("sender@sink.test", [rcpt], msg)
        (got,) = self.sink_messages(rcpt)
        self.assertEqual(got.mail_from, "sender@sink.test")
        self.assertEqual(got.helo, PF_HOSTNAME)
        traces = self.assert_through_postfix(got, msg)
        self.assertNotIn("using TLS", traces[0])
        self.wait_empath_log(rf"to=<{re.escape(rcpt)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                             rf"{self.pf_ports['plain']}, .*status=sent")

    def test_starttls_required_verified_against_the_ca(self):
        rcpt = unique("tls") + "@pftls.test"
        msg = message(rcpt, "tls", b"to Postfix over verified TLS\r\n")
        self.to_empath("sender@sink.test", [rcpt], msg)
        (got,) = self.sink_messages(rcpt)
        traces = self.assert_through_postfix(got, msg, tls=True)
        self.assertRegex(traces[0], r"\(using TLSv1\.[23] with cipher ")
        self.wait_empath_log(r"Trusted TLS connection established to "
                             rf"mx\.pf\.test\[127\.0\.0\.1\]:{self.pf_ports['tls']}")
        self.postfix.wait_log(r"TLS connection established from \S+\[127\.0\.0\.1\]: "
                              r"TLSv1\.[23]")

    def test_notify_success_gets_postfix_delivered_dsn_not_empath_relayed(self):
        # Postfix delivers into a mailbox and, asked by NOTIFY=SUCCESS,
        # returns a "delivered" DSN with the ENVID (RFC 3464); Empath
        # passed the request on to a DSN-capable server, so it sends no
        # "relayed" notice of its own (RFC 3461 section 6.2.3).
        sender = unique("dsnsender") + "@sink.test"
        envid = "ENV-" + unique("e")
        msg = message("env@vm.test", "dsn", b"please confirm\r\n")
        self.to_empath(sender, ["env@vm.test"], msg,
                       mail_options=["RET=HDRS", f"ENVID={envid}"],
                       rcpt_options=["NOTIFY=SUCCESS", "ORCPT=rfc822;env@vm.test"])
        self.postfix.wait_log(r"to=<env@vm\.test>, relay=virtual, .*status=sent \(delivered")
        files = glob.glob(os.path.join(self.postfix.vmail, "vm", "env", "new", "*"))
        with open(max(files, key=os.path.getmtime), "rb") as f:
            stored = f.read()
        self.assertTrue(stored.endswith(msg.replace(b"\r\n", b"\n")),
                        "the mailbox copy differs from the message sent")
        def delivered_dsn():
            with self.sink.cond:
                ms = [m for m in self.sink.messages if sender in m.rcpts]
            return [m for m in ms
                    if re.search(rb"(?im)^Action: delivered", m.data)
                    and f"Original-Envelope-Id: {envid}".encode() in m.data
                    and re.search(rb"(?im)^Reporting-MTA: dns; ?" +
                                  re.escape(PF_HOSTNAME.encode()), m.data)]
        try:
            wait_until(delivered_dsn, 15, interval=0.1,
                       what="Postfix's delivered DSN with the ENVID at the sink")
        except AssertionError as e:
            got = [m.data[:600] for m in self.sink.messages if sender in m.rcpts]
            raise AssertionError(f"{e}; the sender got: {got}") from None
        time.sleep(1.0)      # a relayed notice from Empath would be here by now
        relayed = [m for m in self.sink_messages(sender)
                   if re.search(rb"(?im)^Action: relayed", m.data)]
        self.assertEqual(relayed, [], "Empath sent a relayed notice")

    def test_notify_never_reaches_postfix(self):
        # Postfix's next hop refuses the recipient after Postfix took it
        # from Empath; with NOTIFY=NEVER passed on, Postfix bounces nothing.
        sender = unique("never") + "@sink.test"
        rcpt = unique("gone") + "@pf.test"
        self.sink.rcpt_reply(rcpt, 550, "5.1.1 no such mailbox")
        self.to_empath(sender, [rcpt], message(rcpt, "never", b"no news\r\n"),
                       rcpt_options=["NOTIFY=NEVER"])
        self.wait_empath_log(rf"to=<{re.escape(rcpt)}>, relay=127\.0\.0\.1.*status=sent")
        m = self.postfix.wait_log(rf"(\w+): to=<{re.escape(rcpt)}>, .*status=bounced")
        qid = m.group(1)
        self.postfix.wait_log(rf"{qid}: removed")
        self.assertIsNone(re.search(rf"{qid}: sender non-delivery notification",
                                    self.postfix.log()),
                          "Postfix bounced although the sender asked NOTIFY=NEVER")

    def test_8bit_body_is_converted_for_a_server_without_8bitmime(self):
        rcpt = unique("eight") + "@pf8.test"
        text = "Grüße aus Köln – ünïcödé ✓\r\n" * 3 + "=equals and a tab\there\r\n"
        msg = message(rcpt, "8bit", text.encode(),
                      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: 8bit\r\n")
        self.to_empath("sender@sink.test", [rcpt], msg, mail_options=["BODY=8BITMIME"])
        (got,) = self.sink_messages(rcpt)
        self.assertTrue(all(b < 0x80 for b in got.data),
                        "8-bit bytes reached a server that did not announce 8BITMIME")
        _, rest = split_trace(got.data)
        parsed = email.message_from_bytes(rest, policy=email.policy.default)
        self.assertEqual(parsed["Content-Transfer-Encoding"].lower(), "quoted-printable")
        self.assertEqual(parsed["Subject"], "8bit")
        self.assertEqual(parsed.get_payload(decode=True), text.encode())

    def test_452_too_many_recipients_delivers_all_at_once(self):
        # Postfix takes 2 recipients per message (452 4.5.3 for more);
        # Empath sends the rest in further transactions at once, not
        # after a retry interval (10 minutes here).
        rcpts = [unique(f"lim{i}") + "@pflim.test" for i in range(5)]
        sender = unique("limits") + "@sink.test"
        msg = message("many@pflim.test", "limits", b"five recipients\r\n")
        start = time.monotonic()
        self.to_empath(sender, rcpts, msg)
        for r in rcpts:
            (got,) = self.sink_messages(r, timeout=15, fail_fast=False)
            traces, rest = split_trace(got.data)
            self.assertEqual(rest, msg)
        self.assertLess(time.monotonic() - start, 15)
        # Postfix queued it as three messages of 2, 2 and 1 recipients:
        # its limit did apply, and Empath went on in new transactions.
        pat = re.compile(r"from=<%s>, size=\d+, nrcpt=(\d+)" % re.escape(sender))
        self.postfix.wait_log(pat.pattern)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            counts = sorted(int(n) for n in pat.findall(self.postfix.log()))
            if sum(counts) >= 5:
                break
            time.sleep(0.1)
        self.assertEqual(counts, [1, 2, 2])

    def test_smtputf8_recipient_to_postfix_with_smtputf8(self):
        # RFC 6531: Postfix offers SMTPUTF8, so Empath passes the UTF-8
        # address as it is, with SMTPUTF8 on MAIL; Postfix passes both on.
        sender = unique("utf8s") + "@sink.test"
        rcpt = unique("jörg") + "@bücher.test"
        msg = message(rcpt, "utf8", "Grüße an Jörg\r\n".encode(),
                      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: 8bit\r\n")
        self.to_empath(sender, [rcpt], msg, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        (got,) = self.sink_messages(rcpt)
        self.assertEqual(got.rcpts, [rcpt], "the UTF-8 address did not arrive as it is")
        self.assertEqual(got.mail_from, sender)
        traces, rest = split_trace(got.data)
        self.assertEqual(rest, msg, "the message changed on the way Empath -> Postfix")
        # Postfix's smtpd names the protocol UTF8SMTP only when the
        # client's MAIL carried SMTPUTF8.
        self.assertIn(f"by {PF_HOSTNAME} (Postfix) with UTF8SMTP ", traces[0])
        self.assertIn(f"from {HOSTNAME} ", traces[0])
        mails = [c for c in self.sink_commands("MAIL FROM:") if f"<{sender}>" in c]
        self.assertEqual(len(mails), 1, mails)
        self.assertRegex(mails[0], r"(?i) SMTPUTF8( |$)")
        self.postfix.wait_log(rf"to=<{re.escape(rcpt)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                              rf"{self.sink.port}, .*status=sent")
        self.wait_empath_log(rf"to=<{re.escape(rcpt)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                             rf"{self.pf_ports['plain']}, .*status=sent")

    def test_no_smtputf8_next_hop_gets_the_a_label_domain(self):
        # Postfix's smtpd here runs with smtputf8_enable=no. An ASCII
        # local part needs no SMTPUTF8: its domain goes as the A-label
        # (RFC 6531 section 3.2, RFC 5890), without SMTPUTF8 on MAIL.
        sender = unique("idn") + "@sink.test"
        local = unique("user")
        msg = message("undisclosed-recipients:;", "alabel", b"to the A-label\r\n")
        self.to_empath(sender, [f"{local}@müller.test"], msg, mail_options=["SMTPUTF8"])
        alabel = f"{local}@xn--mller-kva.test"
        (got,) = self.sink_messages(alabel)
        self.assertEqual(got.rcpts, [alabel])
        self.assertEqual(got.mail_from, sender)
        traces, rest = split_trace(got.data)
        self.assertEqual(rest, msg)
        self.assertIn(f"by {PF_HOSTNAME} (Postfix) with ESMTP ", traces[0])
        self.postfix.wait_log(rf"to=<{re.escape(alabel)}>, relay=127\.0\.0\.1.*status=sent")
        self.wait_empath_log(rf"to=<{re.escape(local)}@müller\.test>, relay=127\.0\.0\.1"
                             rf"\[127\.0\.0\.1\]:{self.pf_ports['ascii']}, .*status=sent")

    def test_no_smtputf8_next_hop_utf8_local_part_bounces_5_6_7(self):
        # A UTF-8 local part cannot be written in ASCII: the recipient
        # fails with 5.6.7 (RFC 6531 section 3.2) and the sender gets an
        # RFC 6533 notice; Postfix never hears of it.
        sender = unique("idnbad") + "@sink.test"
        bad = unique("jörg") + "@müller.test"
        self.to_empath(sender, [bad], message("undisclosed-recipients:;", "utf8local",
                                              b"cannot go\r\n"),
                       mail_options=["SMTPUTF8"])
        self.wait_empath_log(rf"to=<{re.escape(bad)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                             rf"{self.pf_ports['ascii']}, .*dsn=5\.6\.7, status=bounced")
        (notice,) = self.sink_messages(sender)
        self.assertEqual(notice.mail_from, "")
        text = notice.data.decode("utf-8", "replace")
        self.assertRegex(text, r"(?i)Content-Type: multipart/report; *report-type=\"?"
                               r"global-delivery-status")
        self.assertRegex(text, r"(?im)^Status: 5\.6\.7")
        self.assertRegex(text, r"(?im)^Action: failed")
        self.assertRegex(text, rf"(?im)^Final-Recipient: utf-8; ?{re.escape(bad)}")
        self.assertNotIn(bad.split("@")[0], self.postfix.log())

    def test_no_smtputf8_next_hop_ascii_local_part_goes_beside_a_utf8_one(self):
        # One message, two recipients in one domain behind a server
        # without SMTPUTF8: only the UTF-8 local part needs the extension
        # (RFC 6531 section 3.2), so the ASCII one goes as the A-label and
        # only the other fails with 5.6.7.
        sender = unique("idnmix") + "@sink.test"
        local = unique("user")
        bad = unique("jörg") + "@müller.test"
        msg = message("undisclosed-recipients:;", "mixed", b"one of two\r\n")
        self.to_empath(sender, [f"{local}@müller.test", bad], msg,
                       mail_options=["SMTPUTF8"])
        alabel = f"{local}@xn--mller-kva.test"
        (got,) = self.sink_messages(alabel)
        self.assertEqual(got.rcpts, [alabel])
        self.wait_empath_log(rf"to=<{re.escape(bad)}>, .*dsn=5\.6\.7, status=bounced")
        notices = [m for m in self.sink_messages(sender) if m.mail_from == ""]
        self.assertEqual(len(notices), 1, notices)
        text = notices[0].data.decode("utf-8", "replace")
        self.assertRegex(text, rf"(?im)^Final-Recipient: utf-8; ?{re.escape(bad)}")
        self.assertNotRegex(text, rf"(?im)^Final-Recipient: .*{re.escape(local)}@",
                            "the ASCII recipient was bounced too")


if __name__ == "__main__":
    unittest.main()
