# SPDX-License-Identifier: ISC
"""A real SMTP server for Empath's end-to-end tests to deliver to
(Python 3.11 standard library only): it stores every message with its
envelope and the exact bytes received (dot-stuffing undone), and can be
scripted to refuse recipients, hold or refuse the end of data, or drop the
connection at a chosen stage."""

import re
import select
import socket
import socketserver
import threading
import time

SINK_DOMAIN = "sink.test"
DEFAULT_WAIT = 30.0


class SinkMessage:
    def __init__(self, helo, mail_from, rcpts, data, peer):
        self.helo = helo
        self.mail_from = mail_from
        self.rcpts = rcpts
        self.data = data            # exact bytes, dot-stuffing undone
        self.peer = peer
        self.time = time.monotonic()
        self.tls = False            # received after STARTTLS

    def __repr__(self):
        return (f"<SinkMessage from={self.mail_from!r} rcpts={self.rcpts!r} "
                f"{len(self.data)} bytes>")


class Sink:
    """A threaded SMTP server on 127.0.0.1:PORT.

    Behaviour can be scripted before or during a test:
      rcpt_reply(addr, code, text, times)  reply to RCPT TO:<addr>
      data_reply(code, text, times)        reply after the final dot
      data_delay(seconds, times)           hold the reply to the final dot;
                                           if the client disconnects
                                           meanwhile the message is dropped
                                           (counted in `aborted`)
      drop(stage, times, after)            close the connection at a stage:
                                           connect, ehlo, mail, rcpt, data, dot
                                           (after: let that many pass first)
    max_rcpts (constructor): recipients per transaction; past it RCPT gets
    "452 4.5.3 Too many recipients" (RFC 5321 4.5.3.1.10).
    `times` None means for ever. Everything received is in `messages`,
    every command line in `commands`, protocol violations by the client
    (bare LF, a line without CRLF) in `violations`.
    """

    def __init__(self, hostname=SINK_DOMAIN,
                 extensions=("8BITMIME", "PIPELINING", "SIZE 104857600"),
                 host="127.0.0.1", port=0, tls_context=None, max_rcpts=None):
        """host/port: where to listen ("::1" for IPv6); tls_context: an
        ssl.SSLContext for the server side makes the sink offer STARTTLS."""
        self.hostname = hostname
        self.extensions = list(extensions)
        self.cond = threading.Condition()
        self.messages = []
        self.commands = []
        self.violations = []
        self.rcpt_attempts = {}      # lower-cased address -> RCPT count
        self.connections = 0
        self.aborted = 0
        self.in_data = threading.Event()   # set while a DATA reply is held
        self._rcpt_rules = []
        self._data_rules = []
        self._drops = {}
        self._socks = set()
        self.tls_context = tls_context
        self.max_rcpts = max_rcpts
        self._drop_after = {}
        self.server = (_SinkServer6 if ":" in host else _SinkServer)(
            (host, port), _SinkHandler)
        self.server.sink = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       name=f"sink:{self.port}", daemon=True)
        self.thread.start()

    # --- scripting
    def rcpt_reply(self, addr, code, text, times=None):
        with self.cond:
            self._rcpt_rules.append([addr.lower(), code, text, times])

    def data_reply(self, code, text, times=1):
        with self.cond:
            self._data_rules.append({"code": code, "text": text, "delay": 0, "times": times})

    def data_delay(self, seconds, times=1):
        with self.cond:
            self._data_rules.append({"code": 250, "text": "2.0.0 Ok", "delay": seconds,
                                     "times": times})

    def drop(self, stage, times=1, after=0):
        with self.cond:
            self._drops[stage] = times
            self._drop_after[stage] = after

    def clear_rules(self):
        with self.cond:
            self._rcpt_rules.clear()
            self._data_rules.clear()
            self._drops.clear()
            self._drop_after.clear()

    def _take_drop(self, stage):
        with self.cond:
            if self._drop_after.get(stage, 0) > 0 and stage in self._drops:
                self._drop_after[stage] -= 1
                return False
            n = self._drops.get(stage, 0)
            if n is None:
                return True
            if n > 0:
                self._drops[stage] = n - 1
                return True
            return False

    def _rcpt_rule(self, addr):
        with self.cond:
            self.rcpt_attempts[addr.lower()] = self.rcpt_attempts.get(addr.lower(), 0) + 1
            for rule in self._rcpt_rules:
                if rule[0] == addr.lower() and (rule[3] is None or rule[3] > 0):
                    if rule[3] is not None:
                        rule[3] -= 1
                    return rule[1], rule[2]
        return 250, "2.1.5 Ok"

    def _data_rule(self):
        with self.cond:
            for rule in self._data_rules:
                if rule["times"] is None or rule["times"] > 0:
                    if rule["times"] is not None:
                        rule["times"] -= 1
                    return rule
        return {"code": 250, "text": "2.0.0 Ok", "delay": 0}

    def _store(self, msg):
        with self.cond:
            self.messages.append(msg)
            self.cond.notify_all()

    # --- waiting
    def wait_messages(self, n, timeout=DEFAULT_WAIT):
        """Wait until at least n messages arrived; returns all of them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"sink: {len(self.messages)} of {n} messages arrived within "
                        f"{timeout:g}s (connections: {self.connections}, "
                        f"last commands: {self.commands[-8:]})")
                self.cond.wait(min(left, 0.2))
            return list(self.messages)

    def delivered_rcpts(self):
        with self.cond:
            return [r for m in self.messages for r in m.rcpts]

    def wait_rcpts(self, rcpts, timeout=DEFAULT_WAIT):
        """Wait until every address in rcpts has been delivered."""
        want = {r.lower() for r in rcpts}
        deadline = time.monotonic() + timeout
        with self.cond:
            while not want <= {r.lower() for r in self.delivered_rcpts()}:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"sink: no delivery to {sorted(want)} within {timeout:g}s "
                        f"(have {sorted(set(self.delivered_rcpts()))})")
                self.cond.wait(min(left, 0.2))
            return list(self.messages)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        with self.cond:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(5)


class _SinkServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128


class _SinkServer6(_SinkServer):
    address_family = socket.AF_INET6


class _ClientGone(Exception):
    pass


class _SinkHandler(socketserver.BaseRequestHandler):
    MAX_LINE = 1 << 16

    def handle(self):
        sink = self.server.sink
        conn = self.request
        conn.settimeout(60)
        with sink.cond:
            sink.connections += 1
            sink._socks.add(conn)
        try:
            self._session(sink, conn)
        except (_ClientGone, OSError):
            pass
        finally:
            with sink.cond:
                sink._socks.discard(conn)

    def _send(self, text):
        self.request.sendall(text.encode("ascii") + b"\r\n")

    def _readline(self):
        line = self.rfile.readline(self.MAX_LINE)
        if not line:
            raise _ClientGone()
        return line

    def _session(self, sink, conn):
        self.rfile = conn.makefile("rb")
        peer = "%s:%d" % conn.getpeername()[:2]
        if sink._take_drop("connect"):
            return
        self._send(f"220 {sink.hostname} ESMTP test sink")
        helo = None
        tls = False
        mail = None
        rcpts = []
        while True:
            raw = self._readline()
            if not raw.endswith(b"\r\n"):
                sink.violations.append(("command without CRLF", raw[:100]))
                self._send("500 5.5.2 line must end with CRLF")
                continue
            line = raw[:-2].decode("utf-8", "replace")
            with sink.cond:
                sink.commands.append(line)
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb):].strip()
            if verb in ("EHLO", "HELO"):
                if sink._take_drop("ehlo"):
                    return
                helo, mail, rcpts = arg, None, []
                if verb == "HELO":
                    self._send(f"250 {sink.hostname}")
                else:
                    lines = [sink.hostname] + sink.extensions
                    if sink.tls_context is not None and not tls:
                        lines.append("STARTTLS")
                    for i, t in enumerate(lines):
                        self._send(("250 " if i == len(lines) - 1 else "250-") + t)
            elif verb == "MAIL":
                m = re.match(r"(?i)FROM:\s*<([^>]*)>", arg)
                if helo is None or mail is not None:
                    self._send("503 5.5.1 bad sequence of commands")
                elif not m:
                    self._send("501 5.5.4 syntax: MAIL FROM:<address>")
                elif sink._take_drop("mail"):
                    return
                else:
                    mail, rcpts = m.group(1), []
                    self._send("250 2.1.0 Ok")
            elif verb == "RCPT":
                m = re.match(r"(?i)TO:\s*<([^>]+)>", arg)
                if mail is None:
                    self._send("503 5.5.1 need MAIL first")
                elif not m:
                    self._send("501 5.5.4 syntax: RCPT TO:<address>")
                elif sink._take_drop("rcpt"):
                    return
                elif sink.max_rcpts is not None and len(rcpts) >= sink.max_rcpts:
                    with sink.cond:
                        sink.rcpt_attempts[m.group(1).lower()] = \
                            sink.rcpt_attempts.get(m.group(1).lower(), 0) + 1
                    self._send("452 4.5.3 Too many recipients")
                else:
                    code, text = sink._rcpt_rule(m.group(1))
                    if code == 250:
                        rcpts.append(m.group(1))
                    self._send(f"{code} {text}")
            elif verb == "DATA":
                if mail is None or not rcpts:
                    self._send("503 5.5.1 need MAIL and RCPT first")
                    continue
                if sink._take_drop("data"):
                    return
                self._send("354 end data with <CR><LF>.<CR><LF>")
                data = self._read_data(sink)
                if sink._take_drop("dot"):
                    return
                rule = sink._data_rule()
                if rule["delay"]:
                    self._hold(sink, conn, rule["delay"])
                msg = SinkMessage(helo, mail, rcpts, data, peer)
                msg.tls = tls
                self._send(f"{rule['code']} {rule['text']}")
                if rule["code"] == 250:
                    sink._store(msg)
                mail, rcpts = None, []
            elif verb == "RSET":
                mail, rcpts = None, []
                self._send("250 2.0.0 Ok")
            elif verb == "STARTTLS" and sink.tls_context is not None and not tls:
                self._send("220 2.0.0 ready to start TLS")
                # RFC 3207: a new session; a failed handshake ends it.
                conn = sink.tls_context.wrap_socket(conn, server_side=True)
                self.request = conn
                self.rfile = conn.makefile("rb")
                tls, helo, mail, rcpts = True, None, None, []
            elif verb == "NOOP":
                self._send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self._send("221 2.0.0 Bye")
                return
            else:
                self._send("500 5.5.2 command unrecognized")

    def _read_data(self, sink):
        buf = bytearray()
        at_line_start = True
        while True:
            chunk = self._readline()
            if at_line_start and chunk == b".\r\n":
                return bytes(buf)
            if at_line_start and chunk.startswith(b"."):
                chunk = chunk[1:]              # undo dot-stuffing
            if chunk.endswith(b"\n") and not chunk.endswith(b"\r\n"):
                sink.violations.append(("bare LF in DATA", chunk[-100:]))
            buf += chunk
            at_line_start = chunk.endswith(b"\r\n")

    def _hold(self, sink, conn, seconds):
        """Hold the reply to the final dot; give up the message when the
        client goes away meanwhile (it never saw our 250)."""
        sink.in_data.set()
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                r, _, _ = select.select([conn], [], [], 0.05)
                if not r:
                    continue
                try:
                    peek = conn.recv(1, socket.MSG_PEEK)
                except OSError:
                    peek = b""
                if peek == b"":
                    with sink.cond:
                        sink.aborted += 1
                        sink.cond.notify_all()
                    raise _ClientGone()
                time.sleep(0.05)     # early bytes (pipelined QUIT): keep holding
        finally:
            sink.in_data.clear()
