# SPDX-License-Identifier: ISC
"""A real DNS server on loopback for deliverd's end-to-end tests:
ldns-testns (from ldnsutils) serving canned answers from a data file that
this module writes. Each answer is scripted per (name, type): records, an
rcode (NXDOMAIN, SERVFAIL, ...), a truncated UDP answer with the full one
over TCP, or no answer at all (a question nobody scripted times out).

Only loopback is ever involved: the tests point `resolver` at
127.0.0.1:PORT, and the records they serve name 127.0.0.1 and ::1.
"""

import os
import re
import shutil
import socket
import subprocess
import time

TESTNS = shutil.which("ldns-testns")
SOA = "{zone}. 300 IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 60"


def ipv6_loopback():
    """True when [::1] can be bound here (some containers lack IPv6)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class TestDNS:
    """Canned answers served by ldns-testns on 127.0.0.1 (UDP and TCP)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.entries = []
        self.proc = None
        self.port = None
        self.logpath = os.path.join(tmp, "dns.log")

    # --- scripting (before start)
    def answer(self, name, qtype, records=(), rcode="NOERROR", authority=(),
               transport=None, tc=False):
        """The answer to (name, qtype): records in zone-file syntax
        (owner TTL IN TYPE DATA); transport "UDP"/"TCP" restricts the
        match; tc sets the TC flag."""
        self.entries.append(dict(name=name.rstrip(".") + ".", qtype=qtype,
                                 records=list(records), rcode=rcode,
                                 authority=list(authority),
                                 transport=transport, tc=tc))

    def mx(self, domain, *prefs_hosts, ttl=300):
        """MX records: mx("d.test", (10, "mx1.d.test"), (20, "mx2.d.test"));
        host "." makes a null MX."""
        self.answer(domain, "MX", [
            f"{domain}. {ttl} IN MX {p} {h if h == '.' else h.rstrip('.') + '.'}"
            for p, h in prefs_hosts])

    def addr(self, host, *ips, ttl=300):
        """A and AAAA answers for host; the type without addresses gets
        an empty (no data) answer."""
        v4 = [ip for ip in ips if ":" not in ip]
        v6 = [ip for ip in ips if ":" in ip]
        zone = host.split(".", 1)[-1]
        for qtype, lst in (("A", v4), ("AAAA", v6)):
            if lst:
                self.answer(host, qtype, [f"{host}. {ttl} IN {qtype} {ip}" for ip in lst])
            else:
                self.nodata(host, qtype, zone)

    def nodata(self, name, qtype, zone=None):
        zone = zone or name.split(".", 1)[-1]
        self.answer(name, qtype, authority=[SOA.format(zone=zone)])

    def nxdomain(self, name, qtype, zone=None):
        zone = zone or name.split(".", 1)[-1]
        self.answer(name, qtype, rcode="NXDOMAIN", authority=[SOA.format(zone=zone)])

    def servfail(self, name, qtype):
        self.answer(name, qtype, rcode="SERVFAIL")

    def truncated(self, name, qtype, records):
        """A truncated, empty answer over UDP and the records over TCP."""
        self.answer(name, qtype, transport="UDP", tc=True)
        self.answer(name, qtype, records, transport="TCP")

    # --- the server
    def datafile(self):
        out = ["; written by tests/e2e/dns_server.py", "$TTL 300"]
        for e in self.entries:
            match = "MATCH opcode qtype qname" + (f" {e['transport']}" if e["transport"] else "")
            flags = "QR RD RA AA" + (" TC" if e["tc"] else "")
            out += ["ENTRY_BEGIN", match, "ADJUST copy_id",
                    f"REPLY {flags} {e['rcode']}",
                    "SECTION QUESTION", f"{e['name']} IN {e['qtype']}",
                    "SECTION ANSWER", *e["records"],
                    "SECTION AUTHORITY", *e["authority"],
                    "ENTRY_END"]
        return "\n".join(out) + "\n"

    def start(self, timeout=10.0, tries=5):
        if TESTNS is None:
            raise unittest_skip("ldns-testns is not installed (apt-get install ldnsutils)")
        path = os.path.join(self.tmp, "dns.data")
        with open(path, "w") as f:
            f.write(self.datafile())
        # -r picks one random port and gives up when it is taken (for
        # UDP or TCP): try again with another.
        for attempt in range(tries):
            if self._start_once(path, timeout):
                return self
        raise AssertionError(f"ldns-testns did not start:\n{self.log()}")

    def _start_once(self, path, timeout):
        log = open(self.logpath, "wb")
        try:
            self.proc = subprocess.Popen([TESTNS, "-r", path], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            with open(self.logpath, "rb") as f:
                m = re.search(rb"Listening on port (\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return True
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                return False
            time.sleep(0.02)

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def resolver_config(self, timeout="1s", attempts=1):
        return (f'resolver "127.0.0.1" port {self.port} {{ timeout {timeout} '
                f"attempts {attempts} cache-min-ttl 0 }}")


def unittest_skip(msg):
    import unittest
    return unittest.SkipTest(msg)
