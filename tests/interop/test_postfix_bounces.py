# SPDX-License-Identifier: ISC
"""Non-delivery notices (RFC 3464) across the two MTAs: Empath's notice
for a recipient Postfix refuses travels back through Postfix, and
Postfix's notice for a message Empath relayed comes back through Empath."""

import email
import email.policy
import re
import unittest

from pflab import PF_HOSTNAME, PostfixLab, split_trace, unique

HOSTNAME = "test.empath.local"


class PostfixBounceTest(PostfixLab):

    def test_empath_bounce_for_postfix_550_returns_through_postfix(self):
        # Postfix refuses nouser@rj.test at RCPT with 550 5.1.1; Empath
        # sends its notice to the sender, whose domain is behind Postfix.
        sender = unique("alice") + "@pf.test"
        subject = unique("subj")
        msg = (f"From: {sender}\r\nTo: nouser@rj.test\r\nSubject: {subject}\r\n"
               "Message-ID: <" + subject + "@pf.test>\r\n\r\nhello?\r\n").encode()
        self.to_empath(sender, ["nouser@rj.test"], msg)
        self.wait_empath_log(r"to=<nouser@rj\.test>, .*status=bounced")
        (notice,) = self.sink_messages(sender)
        self.assertEqual(notice.mail_from, "")
        self.assertEqual(notice.helo, PF_HOSTNAME, "the notice did not come through Postfix")
        traces, rest = split_trace(notice.data)
        self.assertIn(f"by {PF_HOSTNAME} (Postfix)", traces[0])
        self.assertIn(f"from {HOSTNAME} ", traces[0])
        text = rest.decode("utf-8", "replace")
        self.assertRegex(text, r"(?i)Content-Type: multipart/report; *report-type=\"?delivery-status")
        self.assertRegex(text, r"(?im)^Final-Recipient: rfc822; ?nouser@rj\.test")
        self.assertRegex(text, r"(?im)^Action: failed")
        self.assertRegex(text, r"(?im)^Status: 5\.1\.1")
        self.assertIn("no such user here", text)
        self.assertIn(f"Subject: {subject}", text, "the notice lacks the original headers")

    def test_postfix_bounce_of_a_relayed_message_comes_back_through_empath(self):
        # Empath relays to Postfix, whose next hop refuses the recipient
        # after Postfix took the message: Postfix's notice goes to the
        # sender through its relayhost, Empath, and on to the sink.
        sender = unique("bob") + "@sink.test"
        rcpt = unique("gone") + "@pf.test"
        subject = unique("subj")
        self.sink.rcpt_reply(rcpt, 550, "5.1.1 mailbox unavailable")
        msg = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
               "Message-ID: <" + subject + "@sink.test>\r\n\r\nhello?\r\n").encode()
        self.to_empath(sender, [rcpt], msg)
        self.wait_empath_log(rf"to=<{re.escape(rcpt)}>, relay=127\.0\.0\.1.*status=sent")
        (notice,) = self.sink_messages(sender)
        self.assertEqual(notice.mail_from, "")
        self.assertEqual(notice.helo, HOSTNAME, "the notice did not come through Empath")
        traces, rest = split_trace(notice.data)
        self.assertIn(f"by {HOSTNAME} (Empath)", traces[0])
        self.assertIn(f"from {PF_HOSTNAME} ", traces[0])
        text = rest.decode("utf-8", "replace")
        self.assertRegex(text, rf"(?im)^Reporting-MTA: dns; ?{re.escape(PF_HOSTNAME)}")
        self.assertRegex(text, rf"(?im)^Final-Recipient: rfc822; ?{re.escape(rcpt)}")
        self.assertRegex(text, r"(?im)^Action: failed")
        self.assertIn("mailbox unavailable", text)
        self.assertIn(f"Subject: {subject}", text)
        self.wait_empath_log(rf"to=<{re.escape(sender)}>, .*status=sent")


    def test_postfix_bounce_with_ret_hdrs_and_envid(self):
        # RFC 3461: Empath passes NOTIFY=FAILURE, RET=HDRS and ENVID on
        # to Postfix; Postfix's next hop refuses the recipient after
        # Postfix took the message, so Postfix's notice (back through
        # Empath) names the ENVID and returns the headers only.
        sender = unique("carol") + "@sink.test"
        rcpt = unique("nobody") + "@pf.test"
        subject = unique("subj")
        envid = "xyz-" + unique("env")
        secret = unique("BODYMARKER")
        self.sink.rcpt_reply(rcpt, 550, "5.1.1 mailbox unavailable")
        msg = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
               f"Message-ID: <{subject}@sink.test>\r\n\r\n{secret}\r\n").encode()
        self.to_empath(sender, [rcpt], msg, mail_options=["RET=HDRS", f"ENVID={envid}"],
                       rcpt_options=["NOTIFY=FAILURE"])
        self.wait_empath_log(rf"to=<{re.escape(rcpt)}>, relay=127\.0\.0\.1.*status=sent")
        (notice,) = self.sink_messages(sender)
        self.assertEqual(notice.mail_from, "")
        self.assertEqual(notice.helo, HOSTNAME, "the notice did not come through Empath")
        _, rest = split_trace(notice.data)
        report = email.message_from_bytes(rest, policy=email.policy.default)
        self.assertEqual(report.get_content_type(), "multipart/report")
        self.assertEqual(report.get_param("report-type"), "delivery-status")
        types = [p.get_content_type() for p in report.iter_parts()]
        self.assertEqual(types, ["text/plain", "message/delivery-status",
                                 "text/rfc822-headers"])
        status = rest.decode("utf-8", "replace")
        self.assertRegex(status, rf"(?im)^Reporting-MTA: dns; ?{re.escape(PF_HOSTNAME)}")
        self.assertRegex(status, rf"(?im)^Original-Envelope-Id: {re.escape(envid)}\r?$")
        self.assertRegex(status, rf"(?im)^Final-Recipient: rfc822; ?{re.escape(rcpt)}")
        self.assertRegex(status, r"(?im)^Action: failed")
        self.assertRegex(status, r"(?im)^Status: 5\.1\.1")
        headers = list(report.iter_parts())[2].get_content()
        self.assertIn(f"Subject: {subject}", headers)
        self.assertNotIn(secret.encode(), notice.data, "RET=HDRS, yet the body came back")


if __name__ == "__main__":
    unittest.main()
