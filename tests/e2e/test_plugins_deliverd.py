# SPDX-License-Identifier: ISC
"""Plugins in deliverd, end to end: the test plugin
tests/plugins/deliverd_events.c (built into build/tests/plugins) is
configured with `plugin-dir` and `plugin`; deliverd loads it before its
sandbox, and its events (DNS lookup, attempt, success, failure) land as
lines in a file it opened in init:

    event id domain host code meta:key=value attempt=N rcpts=a,b
        address=A tls=V reply=TEXT

A plugin that cannot start stops Empath at start-up."""

import os
import re
import shutil
import tempfile
import unittest

from dns_server import TestDNS
from harness import BUILD, EmpathTestCase, wait_until
import test_deliver_tls as tlsutil

PLUGIN = os.path.join(BUILD, "tests", "plugins", "deliverd_events.so")
BODY = b"Subject: plugins\r\n\r\nwatched by a plugin\r\n"


@unittest.skipUnless(os.path.exists(PLUGIN), f"{PLUGIN} is not built")
class DeliverdPluginTests(EmpathTestCase):
    users = {}           # empath() arguments: who the daemons run as

    def setUp(self):
        super().setUp()
        self.dns = TestDNS(self.tmp)
        self.addCleanup(self.dns.close)
        # A directory of our own the daemons' user can read: the build
        # tree may not be.
        self.plugdir = os.path.join(self.tmp, "plugins")
        os.mkdir(self.plugdir, 0o755)
        shutil.copy2(PLUGIN, self.plugdir)
        os.chmod(os.path.join(self.plugdir, "deliverd_events.so"), 0o755)
        self.events = os.path.join(self.tmp, "events")

    def start(self, events_path=None, **sink_kw):
        self.sink = self.start_sink(**sink_kw)
        self.dns.start()
        conf = (self.dns.resolver_config() + "\n"
                f"delivery {{ mx-port {self.sink.port} "
                "mx-allow { 127.0.0.0/8 } }\n"
                f'plugin-dir "{self.plugdir}"\n'
                f'plugin "deliverd_events" {{ args "{events_path or self.events}" '
                '"score" }\n')
        return conf

    def lines(self, event):
        try:
            with open(self.events) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        return [l for l in text.splitlines() if l.startswith(event + " ")]

    def wait_event(self, event, n=1, timeout=30):
        return wait_until(lambda: len(self.lines(event)) >= n and self.lines(event),
                          timeout, what=f"{n} {event} event(s) in {self.events}")

    def test_events_of_a_delivery(self):
        self.dns.mx("events.test", (10, "mx.events.test"))
        self.dns.addr("mx.events.test", "127.0.0.1")
        conf = self.start()
        self.e = self.empath(self.sink, extra=conf, **self.users)
        self.e.send("alice@client.test", ["r@events.test"], BODY)
        (msg,) = self.sink.wait_messages(1)
        self.assertEqual(msg.rcpts, ["r@events.test"])
        (ok,) = self.wait_event("success")
        (dns,) = self.lines("dns")
        (att,) = self.lines("attempt")
        self.assertEqual(self.lines("failure"), [])
        self.assertRegex(dns, r"^dns [0-9A-Z]{26} events\.test - 0 meta:score=- "
                              r"attempt=1 rcpts=r@events\.test address=- tls=- "
                              r"reply=MX mx\.events\.test\(10\) \[127\.0\.0\.1\]$")
        msgid = dns.split()[1]
        self.assertRegex(att, rf"^attempt {msgid} events\.test mx\.events\.test 250 "
                              r"meta:score=- attempt=1 rcpts=r@events\.test "
                              r"address=127\.0\.0\.1 ")
        self.assertRegex(ok, rf"^success {msgid} events\.test mx\.events\.test 250 "
                             r"meta:score=- attempt=1 rcpts=r@events\.test "
                             r"address=127\.0\.0\.1 tls=- reply=")
        # The order they happened in.
        with open(self.events) as f:
            order = [l.split()[0] for l in f.read().splitlines()]
        self.assertEqual(order, ["dns", "attempt", "success"])
        # The log says it was loaded, by deliverd.
        self.assertRegex(self.e.log(), r"plugin deliverd_events 1 loaded")
        # At the stop fini runs and the plugin is unloaded inside the
        # sandbox: deliverd still exits cleanly.
        self.assertEqual(self.e.stop(), 0)
        log = self.e.log()
        if "LeakSanitizer has encountered a fatal error" in log:
            # A sanitizer build run as root: LeakSanitizer cannot inspect
            # a daemon that dropped its privileges and aborts at its exit,
            # after fini ran. Any other end is still a failure.
            self.assertNotRegex(log, r"deliverd \(pid \d+\) (killed by signal "
                                     r"(?!6\n)|exited with)")
        else:
            self.assertRegex(log, r"deliverd \(pid \d+\) exited\n")
            self.assertNotRegex(log, r"deliverd \(pid \d+\) (killed|exited with)")

    def test_deferred_then_delivered(self):
        self.dns.mx("grey.test", (10, "mx.grey.test"))
        self.dns.addr("mx.grey.test", "127.0.0.1")
        conf = self.start()
        self.sink.rcpt_reply("r@grey.test", 451, "4.7.1 greylisted, try later",
                             times=1)
        self.e = self.empath(self.sink, extra=conf, **self.users)
        self.e.send("alice@client.test", ["r@grey.test"], BODY)
        self.sink.wait_messages(1)
        (fail,) = self.wait_event("failure")
        (ok,) = self.wait_event("success")
        self.assertRegex(fail, r"^failure \S+ grey\.test mx\.grey\.test 451 "
                               r"meta:score=- attempt=1 rcpts=r@grey\.test "
                               r".* reply=4\.7\.1 greylisted, try later$")
        # The retry: the same message, its second attempt.
        self.assertEqual(ok.split()[1], fail.split()[1])
        self.assertIn(" attempt=2 ", ok)

    @unittest.skipIf(tlsutil.OPENSSL is None, "the openssl command is not installed")
    def test_tls_of_the_connection(self):
        certs = tempfile.mkdtemp(prefix="e2e.certs.", dir="/tmp")
        self.addCleanup(shutil.rmtree, certs, True)
        os.chmod(certs, 0o755)
        tlsutil.make_certificates(certs)
        self.dns.mx("tls.test", (10, "mx.tls.test"))
        self.dns.addr("mx.tls.test", "127.0.0.1")
        # Opportunistic TLS (the default) with a self-signed certificate.
        conf = self.start(tls_context=tlsutil.server_context(certs, "self"))
        self.e = self.empath(self.sink, extra=conf, **self.users)
        self.e.send("alice@client.test", ["r@tls.test"], BODY)
        (msg,) = self.sink.wait_messages(1)
        self.assertTrue(msg.tls)
        (ok,) = self.wait_event("success")
        (att,) = self.lines("attempt")
        self.assertRegex(ok, r" tls=TLSv1\.[23] reply=")
        self.assertRegex(att, r" tls=TLSv1\.[23] reply=250")
        self.assertRegex(self.lines("dns")[0], r" tls=- ")

    def test_plugin_that_cannot_start_stops_empath(self):
        # init cannot open its file: empath-master, which loads and
        # initialises every plugin before it starts a daemon, exits with
        # status 1 naming the statement; no daemon ever runs it.
        conf = self.start(events_path=os.path.join(self.tmp, "no", "such", "x"))
        e = self.empath(self.sink, extra=conf, start=False, **self.users)
        with self.assertRaises(AssertionError):
            e.start(timeout=10)
        self.assertEqual(e.master.wait(10), 1)
        with open(e.conf) as f:
            line = next(n for n, l in enumerate(f.read().splitlines(), 1)
                        if l.startswith('plugin "deliverd_events"'))
        self.assertIn(f'{e.conf}:{line}: plugin "deliverd_events": init failed',
                      e.log())
        self.assertNotRegex(e.log(), r"started (smtpd|queued|deliverd)")
        self.assertFalse(os.path.exists(self.events))


@unittest.skipUnless(os.geteuid() == 0, "needs root: the master drops privileges only as root")
class DeliverdPluginPrivilegedTests(DeliverdPluginTests):
    """The same with a root master: deliverd loads the plugin as root,
    then chroots and becomes `user`; the plugin writes through the file
    it opened in init."""
    privileged = True
    users = {"user": "nobody", "queue_user": "daemon"}


if __name__ == "__main__":
    unittest.main()
