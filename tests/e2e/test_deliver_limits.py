# SPDX-License-Identifier: ISC
"""A next hop's recipient limit costs no retry interval (RFC 5321
4.5.3.1.10): recipients refused with "452 4.5.3 Too many recipients" go
at once in another transaction on the same connection, with and without
PIPELINING; a transaction that gets none accepted is an ordinary attempt
(no loop); a connection lost before the follow-up hands them back as
postponed, due again at once without an attempt counted."""

import json
import time
import unittest

from harness import EmpathTestCase, wait_until

SENDER = "sender@client.test"
# Any ordinary deferral would wait an hour: quick delivery proves none.
SLOW_RETRY = "delivery {\n\tretry initial 1h max 4h\n\tmax-attempts 25\n}\n"
BODY = b"Subject: many\r\n\r\nto many recipients\r\n"
NO_PIPELINING = ("8BITMIME", "SIZE 104857600")


class LimitTests(EmpathTestCase):

    def start(self, **sink_kw):
        self.sink = self.start_sink(**sink_kw)
        self.e = self.empath(self.sink, extra=SLOW_RETRY)
        return self.sink, self.e

    def queue(self):
        r = self.e.ctl("--json", "queue", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["messages"]

    def txn_commands(self):
        return [c.split(":", 1)[0].split(" ")[0].upper() for c in self.sink.commands
                if c.upper().startswith(("MAIL", "RCPT", "DATA"))]

    def five_in_three(self, **sink_kw):
        sink, e = self.start(max_rcpts=2, **sink_kw)
        rcpts = [f"r{i}@sink.test" for i in range(5)]
        t0 = time.monotonic()
        e.send(SENDER, rcpts, BODY)
        msgs = sink.wait_rcpts(rcpts, timeout=15)
        took = time.monotonic() - t0
        self.assertLess(took, 10, "the follow-ups waited for a retry")
        self.assertEqual(len(msgs), 3, msgs)
        self.assertEqual([len(m.rcpts) for m in msgs], [2, 2, 1])
        self.assertEqual(sorted(r for m in msgs for r in m.rcpts), rcpts)
        # One connection carried all three transactions.
        self.assertEqual(sink.connections, 1)
        self.assertEqual(len({m.peer for m in msgs}), 1)
        for m in msgs:
            self.assertEqual(m.mail_from, SENDER)
        for r in rcpts:
            wait_until(lambda r=r: f"to=<{r}>" in self.e.log() and
                       "status=sent" in [l for l in self.e.log().splitlines()
                                         if f"to=<{r}>" in l and "deliverd" in l][-1],
                       10, what=f"{r} logged as sent")
        self.assertNotIn("status=deferred", self.e.log())
        self.assertIn("over the limit of", self.e.log())
        # Nothing left: no recipient was deferred, no attempt pending.
        wait_until(lambda: self.queue() == [], 10, what="an empty queue")
        return msgs

    def test_pipelined_limit_takes_three_transactions_on_one_connection(self):
        self.five_in_three()
        # Pipelined: every RCPT of a group went out, the ones past the
        # limit were refused and sent again in the next transaction.
        self.assertEqual(sum(1 for c in self.txn_commands() if c == "RCPT"), 5 + 3 + 1)
        self.assertEqual(sum(1 for c in self.txn_commands() if c == "MAIL"), 3)

    def test_limit_without_pipelining_stops_at_the_first_452(self):
        self.five_in_three(extensions=NO_PIPELINING)
        # One command at a time: after the first 452 the rest wait for
        # the next transaction rather than be refused one by one.
        self.assertEqual(self.txn_commands(),
                         ["MAIL", "RCPT", "RCPT", "RCPT", "DATA",
                          "MAIL", "RCPT", "RCPT", "RCPT", "DATA",
                          "MAIL", "RCPT", "DATA"])

    def test_plain_452_too_many_recipients_is_a_limit_too(self):
        sink, e = self.start()
        # No enhanced status code, the RFC 5321 4.5.3.1.10 text.
        sink.rcpt_reply("p2@sink.test", 452, "Too many recipients", times=1)
        rcpts = ["p1@sink.test", "p2@sink.test", "p3@sink.test"]
        e.send(SENDER, rcpts, BODY)
        msgs = sink.wait_rcpts(rcpts, timeout=10)
        self.assertEqual([m.rcpts for m in msgs],
                         [["p1@sink.test", "p3@sink.test"], ["p2@sink.test"]])
        self.assertEqual(sink.connections, 1)

    def test_other_452_is_an_ordinary_deferral(self):
        sink, e = self.start()
        sink.rcpt_reply("full@sink.test", 452, "4.2.2 mailbox full")
        e.send(SENDER, ["ok@sink.test", "full@sink.test"], BODY)
        sink.wait_rcpts(["ok@sink.test"])

        def deferred():
            q = self.queue()
            return q if q and q[0]["recipients"].get("deferred") == 1 else None
        (row,) = wait_until(deferred, 15, what="full@ deferred")
        view = json.loads(e.ctl("--json", "queue", "view", row["id"]).stdout)
        (rc,) = [r for r in view["recipients"] if r["address"] == "full@sink.test"]
        self.assertEqual(rc["attempts"], 1)
        self.assertIn("4.2.2", rc["last_error"])
        time.sleep(1)
        self.assertEqual(sink.rcpt_attempts["full@sink.test"], 1)
        self.assertEqual(len(sink.messages), 1)

    def test_no_recipient_accepted_is_an_ordinary_attempt(self):
        sink, e = self.start(max_rcpts=0)
        e.send(SENDER, ["a@sink.test", "b@sink.test"], BODY)

        def deferred():
            q = self.queue()
            return q if q and q[0]["recipients"].get("deferred") == 2 else None
        (row,) = wait_until(deferred, 15, what="both recipients deferred")
        r = e.ctl("--json", "queue", "view", row["id"])
        view = json.loads(r.stdout)
        for rc in view["recipients"]:
            self.assertEqual(rc["state"], "deferred")
            self.assertEqual(rc["attempts"], 1)
            self.assertIn("452 4.5.3", rc["last_error"])
        time.sleep(1.5)
        # Tried once, not again and again.
        self.assertEqual(sink.rcpt_attempts, {"a@sink.test": 1, "b@sink.test": 1})
        self.assertEqual(sink.messages, [])

    def test_connection_lost_before_the_follow_up_costs_no_attempt(self):
        sink, e = self.start(max_rcpts=2)
        # The first MAIL passes, the follow-up's MAIL loses the connection.
        sink.drop("mail", times=1, after=1)
        rcpts = ["x0@sink.test", "x1@sink.test", "x2@sink.test"]
        t0 = time.monotonic()
        e.send(SENDER, rcpts, BODY)
        msgs = sink.wait_rcpts(rcpts, timeout=15)
        self.assertLess(time.monotonic() - t0, 10,
                        "the recipient waited for a retry interval")
        self.assertEqual([len(m.rcpts) for m in msgs], [2, 1])
        self.assertEqual(sink.connections, 2)
        wait_until(lambda: self.queue() == [], 10, what="an empty queue")


if __name__ == "__main__":
    unittest.main()
