# SPDX-License-Identifier: ISC
"""The outside world of scripts/package-check.sh, run in its network
namespace: a DNS server (ldns-testns) on 127.0.0.1:53 answering for the
test domain (MX to a host with a public test address) and an SMTP sink
on that address, port 25, storing each message as a file in OUTDIR:
envelope lines, a blank line, the data. Runs until killed; writes
OUTDIR/ready once both serve.

    python3 package-check-servers.py OUTDIR DOMAIN ADDRESS
"""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
from dns_server import TESTNS, TestDNS  # noqa: E402
from sink import Sink  # noqa: E402


class FileSink(Sink):
    count = 0

    def _store(self, msg):
        FileSink.count += 1
        head = (f"X-Helo: {msg.helo}\nX-Mail-From: {msg.mail_from}\n"
                + "".join(f"X-Rcpt-To: {r}\n" for r in msg.rcpts) + "\n")
        tmp = os.path.join(self.outdir, f".{FileSink.count}.tmp")
        with open(tmp, "wb") as f:
            f.write(head.encode() + msg.data)
        os.rename(tmp, os.path.join(self.outdir, f"{FileSink.count}.eml"))
        super()._store(msg)


def main():
    outdir, domain, addr = sys.argv[1:4]
    if TESTNS is None:
        sys.exit("ldns-testns not found (apt-get install ldnsutils)")
    dns = TestDNS(outdir)
    mx = f"mx.{domain}"
    dns.mx(domain, (10, mx))
    dns.addr(mx, addr)
    dns.nodata(f"_25._tcp.{mx}", "TLSA", zone=domain)
    data = os.path.join(outdir, "dns.data")
    with open(data, "w") as f:
        f.write(dns.datafile())
    log = open(os.path.join(outdir, "dns.log"), "wb")
    proc = subprocess.Popen([TESTNS, "-p", "53", data], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT)
    FileSink.outdir = outdir
    sink = FileSink(hostname=mx, host=addr, port=25)

    def stop(signo, frame):
        proc.terminate()
        sink.close()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    deadline = time.monotonic() + 10
    while b"Listening on port" not in open(os.path.join(outdir, "dns.log"), "rb").read():
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit("ldns-testns did not start")
        time.sleep(0.05)
    open(os.path.join(outdir, "ready"), "w").close()
    while proc.poll() is None:
        time.sleep(0.5)
    sys.exit("ldns-testns exited")


if __name__ == "__main__":
    main()
