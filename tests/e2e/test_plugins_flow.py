# SPDX-License-Identifier: ISC
"""Plugins across the daemons, end to end, with the real binaries
(empath-plugin(3)): the three example plugins (plugins/, built into
build/plugins) together on one message from RCPT to its delivery;
metadata set in smtpd read in queued and deliverd after a deferral and a
restart of queued (tests/plugins/meta_probe.c); a plugin built for
another API version refused at start and by `empath-master -n`."""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import unittest

from dns_server import TestDNS
from harness import BUILD, REPO, EmpathTestCase, RawSMTP, SINK_DOMAIN, wait_until

EXAMPLES = os.path.join(BUILD, "plugins")
TEST_PLUGINS = os.path.join(BUILD, "tests", "plugins")
ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
HEX32 = r"[0-9a-f]{32}"


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class PluginFlowCase(EmpathTestCase):

    def plugin_dir(self, *paths):
        """A directory of our own holding copies of the plugins: the
        daemons' user may not enter the build tree."""
        d = os.path.join(self.tmp, "plugins")
        os.makedirs(d, 0o755, exist_ok=True)
        for p in paths:
            if not os.path.exists(p):
                self.fail(f"{p} is not built")
            dst = os.path.join(d, os.path.basename(p))
            shutil.copy2(p, dst)
            os.chmod(dst, 0o755)
        return d


class ExamplePluginsFlowTest(PluginFlowCase):
    """reject-list, correlation-id and event-log on one message, from its
    RCPT in smtpd to its delivery by deliverd."""
    users = {}           # empath() arguments: who the daemons run as

    def test_one_message_through_the_three_examples(self):
        dns = TestDNS(self.tmp)
        self.addCleanup(dns.close)
        dns.mx("flow.test", (10, "mx.flow.test"))
        dns.addr("mx.flow.test", "127.0.0.1")
        sink = self.start_sink()
        dns.start()
        listed = f"listed{secrets.token_hex(3)}@flow.test"
        good = f"good{secrets.token_hex(3)}@flow.test"
        rejects = os.path.join(self.tmp, "reject.list")
        with open(rejects, "w") as f:
            # The domain without regard to case (RFC 5321 section 2.4).
            f.write(f"# refused here\n\n{listed.split('@')[0]}@Flow.TEST  # by name\n")
        os.chmod(rejects, 0o644)
        events = os.path.join(self.tmp, "events.json")
        pdir = self.plugin_dir(*(os.path.join(EXAMPLES, n + ".so") for n in
                                 ("reject-list", "correlation-id", "event-log")))
        conf = (dns.resolver_config() + "\n"
                f"delivery {{ mx-port {sink.port} mx-allow {{ 127.0.0.0/8 }} }}\n"
                f'plugin-dir "{pdir}"\n'
                f'plugin "reject-list" {{ args "{rejects}" }}\n'
                'plugin "correlation-id"\n'
                f'plugin "event-log" {{ args "{events}" "correlation-id" }}\n')
        e = self.empath(sink, extra=conf, **self.users)

        body = (b"Subject: flow\r\nMessage-ID: <flow@client.test>\r\n\r\n"
                b"through three plugins\r\n")
        c = RawSMTP(e.port)
        try:
            self.assertEqual(c.cmd("EHLO client.test")[0], 250)
            self.assertEqual(c.cmd("MAIL FROM:<alice@client.test>")[0], 250)
            # The listed recipient is refused, the other one of the same
            # transaction accepted.
            self.assertEqual(c.cmd(f"RCPT TO:<{listed}>"),
                             (550, [f"5.1.1 <{listed}>: recipient rejected"]))
            self.assertEqual(c.cmd(f"RCPT TO:<{good}>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(body + b".\r\n")
            code, text = c.reply()
            self.assertEqual(code, 250, text)
            msgid = re.search(ULID, text[0]).group(0)
            self.assertEqual(c.cmd("QUIT")[0], 221)
        finally:
            c.close()

        # Delivered to the other recipient alone, with one correlation
        # id on top, written by deliverd above the message as queued.
        (msg,) = sink.wait_messages(1)
        self.assertEqual(msg.rcpts, [good])
        m = re.match(rb"X-Correlation-ID: (" + HEX32.encode() + rb")\r\n", msg.data)
        self.assertIsNotNone(m, msg.data[:200])
        cid = m.group(1).decode()
        head = msg.data.split(b"\r\n\r\n", 1)[0]
        self.assertEqual(len(re.findall(rb"(?im)^X-Correlation-ID:", head)), 1, head)
        self.assertDeliveredExactly(msg.data[m.end():], body)

        # deliverd logged the result with the same id (em_log).
        wait_until(lambda: re.search(
            rf"deliverd\[\d+\]: info: plugin correlation-id: correlation-id={cid} "
            rf"message {msgid} to flow\.test host mx\.flow\.test \[127\.0\.0\.1\] "
            r"attempt 1: delivered, reply 250 ", e.log()),
            what="deliverd's log line with the correlation id")

        # The event log: every line JSON, from the three daemons.
        def done():
            # Whole lines only: one may be being written.
            text = read(events)
            rows = [json.loads(line) for line in
                    text[:text.rfind("\n") + 1].splitlines()]
            err = [r for r in rows if r["event"] == "smtp_error"]
            ends = {(r["event"], r["id"]) for r in rows}
            return (err and ("delivery_success", msgid) in ends and
                    ("connection_closed", err[0]["id"]) in ends and rows)
        rows = wait_until(done, what="the success event and our session's end")
        for row in rows:
            self.assertRegex(row["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # Our session: the one of the 550 (its id is the session's until
        # the message has one); the start-up probes have others.
        (err,) = [r for r in rows if r["event"] == "smtp_error"]
        self.assertEqual((err["reply_code"], err["reply_text"]),
                         (550, f"5.1.1 <{listed}>: recipient rejected"))
        self.assertEqual(err["sender"], "alice@client.test")
        self.assertEqual(err["metadata"], {"correlation-id": cid})
        sid = err["id"]
        session = [r["event"] for r in rows
                   if r["id"] in (sid, msgid) and r["event"] in (
                       "connection_opened", "smtp_error", "message_received",
                       "connection_closed")]
        self.assertEqual(session, ["connection_opened", "smtp_error",
                                   "message_received", "connection_closed"])
        for r in rows:
            if r["id"] == sid:
                self.assertEqual(r["peer"], "127.0.0.1")
        # The message's events, smtpd's, queued's and deliverd's, carry
        # its id, its correlation id and the recipient accepted.
        mine = [r for r in rows if r["id"] == msgid]
        self.assertEqual(sorted(r["event"] for r in mine), sorted(
            ["message_received", "message_queued", "dns_lookup",
             "delivery_attempt", "delivery_success"]))
        for r in mine:
            self.assertEqual(r["metadata"], {"correlation-id": cid}, r)
            self.assertEqual(r["recipients"], [good], r)
            self.assertEqual(r["sender"], "alice@client.test", r)
        # deliverd's, in the order they happened.
        self.assertEqual([r["event"] for r in mine if "delivery" in r],
                         ["dns_lookup", "delivery_attempt", "delivery_success"])
        ok = next(r for r in mine if r["event"] == "delivery_success")
        self.assertEqual(ok["delivery"]["host"], "mx.flow.test")
        self.assertEqual(ok["delivery"]["reply_code"], 250)
        # The listed recipient reached no plugin past smtpd.
        self.assertNotIn(listed, read(events).replace(err["reply_text"], ""))


@unittest.skipUnless(os.geteuid() == 0, "needs root: the master drops privileges only as root")
class ExamplePluginsFlowPrivilegedTest(ExamplePluginsFlowTest):
    """The same with a root master: each daemon opens the event log and
    the list as root, then chroots and drops to its user."""
    privileged = True
    users = {"user": "nobody", "queue_user": "daemon"}


class MetadataAcrossRestartTest(PluginFlowCase):
    """Metadata set by smtpd is persisted by queued with the message:
    deliverd reads it at the first, failed, attempt and, after queued was
    killed and restarted, at the retry; what deliverd sets is not kept."""

    def test_metadata_survives_deferral_and_queued_restart(self):
        sink = self.start_sink()
        local = f"p{secrets.token_hex(4)}"
        rcpt = f"r@{SINK_DOMAIN}"
        sink.rcpt_reply(rcpt, 451, "4.7.1 greylisted, try later", times=1)
        probe = os.path.join(self.tmp, "probe.out")
        pdir = self.plugin_dir(os.path.join(TEST_PLUGINS, "meta_probe.so"))
        # Retries an hour away: only the restart and `queue process-now`
        # bring the second attempt.
        e = self.empath(sink, extra=(
            "delivery {\n\tretry initial 1h max 4h\n}\n"
            f'plugin-dir "{pdir}"\n'
            f'plugin "meta_probe" {{ args "{probe}" }}\n'))

        def lines(event):
            return [l.split() for l in read(probe).splitlines()
                    if l.startswith(event + " ")]

        e.send(f"{local}@client.test", [rcpt], b"Subject: probe\r\n\r\nx\r\n")
        (fail,) = wait_until(lambda: lines("failure"), what="the failed attempt")
        (deferred,) = wait_until(lambda: lines("deferred"),
                                 what="queued's deferred event")
        (queued,) = lines("queued")
        msgid = queued[1]
        self.assertRegex(msgid, f"^{ULID}$")
        # smtpd's value, seen by queued and by deliverd's first attempt.
        value = queued[2]
        self.assertRegex(value, rf"^probe={local}\.\d+$")
        self.assertEqual(fail[:4], ["failure", msgid, value, "attempt=1"])
        self.assertEqual(deferred[:3], ["deferred", msgid, value])
        self.assertEqual(lines("success"), [])

        old = e.daemon_pids()["queued"]
        os.kill(old, signal.SIGKILL)
        new = e.wait_daemon_restart("queued", old)
        sink.clear_rules()
        wait_until(lambda: e.ctl("queue", "process-now").returncode == 0,
                   what="queue process-now to reach the new queued")
        (ok,) = wait_until(lambda: lines("success"), what="the delivery after the restart")
        self.assertEqual(ok[:4], ["success", msgid, value, "attempt=2"])
        # The retry was the restarted queued's: it read the value back
        # from its index.
        wait_until(lambda: re.search(
            rf"queued\[{new}\]: info: {msgid}: to=<{re.escape(rcpt)}>, .*"
            r"attempts=2, status=sent", e.log()), what="the new queued's result line")
        (msg,) = sink.wait_messages(1)
        self.assertEqual(msg.rcpts, [rcpt])
        self.assertEqual(msg.mail_from, f"{local}@client.test")
        # One smtpd value all along: deliverd's own ("deliverd") stayed
        # in its call.
        self.assertNotIn("probe=deliverd", read(probe))


class WrongApiVersionTest(PluginFlowCase):
    """A plugin built for another API version (tests/plugins/badver.c)
    is refused before any daemon starts, naming the statement and the
    versions."""

    def api_version(self):
        with open(os.path.join(REPO, "include", "empath", "empath.h")) as f:
            return int(re.search(r"#define EMPATH_API_VERSION (\d+)", f.read()).group(1))

    def test_badver_refused_at_start_and_by_check(self):
        pdir = self.plugin_dir(os.path.join(TEST_PLUGINS, "badver.so"))
        e = self.empath(start=False, extra=f'plugin-dir "{pdir}"\nplugin "badver"\n')
        with open(e.conf) as f:
            line = f.read().splitlines().index('plugin "badver"') + 1
        want = (rf'{re.escape(e.conf)}:{line}: plugin "badver": '
                rf'{re.escape(pdir)}/badver\.so is built for plugin API version '
                r'(\d+), this Empath has version (\d+)')
        runs = {}
        for mode in (["-d"], ["-n"]):
            r = subprocess.run(
                [os.path.join(e.bin, "empath-master"), *mode, "-f", e.conf],
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                errors="replace", timeout=30, cwd=e.tmp,
                **e.identity.popen_kwargs())
            self.assertEqual(r.returncode, 1, f"{mode}: {r.stderr}")
            m = re.search(want, r.stderr)
            self.assertIsNotNone(m, f"{mode}: {r.stderr}")
            self.assertNotEqual(m.group(1), m.group(2))
            self.assertEqual(int(m.group(2)), self.api_version())
            runs[mode[0]] = r.stderr
        self.assertNotIn("started smtpd", runs["-d"])
        self.assertIn(f"{e.conf}: configuration has errors", runs["-n"])


if __name__ == "__main__":
    unittest.main()
