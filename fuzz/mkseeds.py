#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Writes the seed corpora of fuzz/corpus/<target>/ for the harnesses whose
inputs are binary (channel frames, payloads, DNS packets, the per-daemon
message lists of fuzz_daemon.h). Run it again after a payload layout in
lib/proto.h changes: python3 fuzz/mkseeds.py"""
import struct, os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
C = os.path.join(HERE, 'corpus')
def u32(v): return struct.pack('<I', v)
def u64(v): return struct.pack('<Q', v)
def s(x):
    if isinstance(x, str): x = x.encode()
    return u32(len(x)) + x + b'\0'
ULID = '01HGZ8Y2K3M4N5P6Q7R8S9T0VW'
def env(nr=1, orcpt=False, dom='example.net'):
    b = s(ULID) + s('alice@example.org') + s('client.example') + s('192.0.2.1') + s('unknown') + s('8BITMIME') + s('') + u32(0) + u32(0) + u64(1234) + u64(1700000000) + u32(nr)
    for i in range(nr):
        b += u64(i + 1) + s('rcpt%d@%s' % (i, dom)) + s('rfc822;rcpt%d@%s' % (i, dom) if orcpt else '') + u32(6 if orcpt else 0) + u32(0) + u32(0)
    return b
def frame(t, payload=b'', peerid=0, flags=0):
    return struct.pack('<HHIII', t, flags, 16 + len(payload), peerid, 1234) + payload
def rec(b, fd=False):
    return bytes([1 if fd else 0]) + struct.pack('<H', len(b)) + b
def w(name, fn, data):
    d = os.path.join(C, name); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, fn), 'wb').write(data)
HELLO = frame(1, u32(1))
if __name__ == '__main__':
    # envelope
    w('envelope', 'one_rcpt', env(1))
    w('envelope', 'three_rcpt_orcpt', env(3, True))
    w('envelope', 'null_sender', env(1).replace(s('alice@example.org'), s(''), 1))
    # channel
    w('channel', 'hello_only', rec(HELLO))
    w('channel', 'hello_msgs', rec(HELLO) + rec(frame(30)) + rec(frame(31, s(ULID), 7, 1), True) + rec(frame(33, env(2), 8)))
    w('channel', 'split_frame', rec(HELLO + frame(36, s(ULID))[:9]) + rec(frame(36, s(ULID))[9:]))
    w('channel', 'fd_missing', rec(HELLO) + rec(frame(50, env(1), 2, 1)))
    # reply
    w('reply', 'banner', b'220 mx.example.org ESMTP ready\r\n')
    w('reply', 'ehlo', b'250-mx.example.org hello\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n')
    w('reply', 'multiline_esc', b'550-5.1.1 no such user\r\n550-5.1.1 really\r\n550 5.1.1 bye\r\n')
    w('reply', 'tempfail', b'451 4.3.0 try later\r\n421 closing\r\n')
    # config
    etc = os.path.join(HERE, '..', 'etc')
    for f in os.listdir(etc):
        p = os.path.join(etc, f)
        if os.path.isfile(p) and os.path.getsize(p) < 20000:
            w('config', f, open(p, 'rb').read())

def dname(n):
    b = b''
    for l in n.split('.'):
        if l: b += bytes([len(l)]) + l.encode()
    return b + b'\0'
def rr(name, t, rdata, ttl=300):
    return dname(name) + struct.pack('>HHIH', t, 1, ttl, len(rdata)) + rdata
def pkt(qname, qt, answers=(), auth=(), rcode=0, qid=0x4242, flags=0x8180):
    h = struct.pack('>HHHHHH', qid, flags | rcode, 1, len(answers), len(auth), 0)
    return h + dname(qname) + struct.pack('>HH', qt, 1) + b''.join(answers) + b''.join(auth)
def sel(t, ni): return bytes([t | (ni << 2)])
if __name__ == '__main__':
    MX, A, AAAA, CNAME, SOA = 15, 1, 28, 5, 6
    w('dns', 'mx', sel(0, 0) + pkt('example.org', MX, [rr('example.org', MX, struct.pack('>H', 10) + dname('mx1.example.org')), rr('example.org', MX, struct.pack('>H', 20) + dname('mx2.example.org'))]))
    w('dns', 'a', sel(1, 1) + pkt('mx.example.org', A, [rr('mx.example.org', A, bytes([192, 0, 2, 25]))]))
    w('dns', 'aaaa', sel(2, 1) + pkt('mx.example.org', AAAA, [rr('mx.example.org', AAAA, bytes(15) + b'\1')]))
    w('dns', 'cname_chain', sel(1, 2) + pkt('a.b.example', A, [rr('a.b.example', CNAME, dname('c.example')), rr('c.example', A, bytes([192, 0, 2, 7]))]))
    w('dns', 'cname_dangling', sel(0, 2) + pkt('a.b.example', MX, [rr('a.b.example', CNAME, dname('c.example'))]))
    soa = dname('ns.example') + dname('host.example') + struct.pack('>IIIII', 1, 3600, 600, 86400, 60)
    w('dns', 'nxdomain_soa', sel(0, 3) + pkt('x', MX, [], [rr('x', SOA, soa)], rcode=3))
    w('dns', 'null_mx', sel(0, 0) + pkt('example.org', MX, [rr('example.org', MX, b'\0\0\0')]))
    # compression pointer in an answer
    p = pkt('example.org', MX)
    w('dns', 'mx_compressed', sel(0, 0) + p[:6] + b'\0\1' + p[8:] + b'\xc0\x0c' + struct.pack('>HHIH', MX, 1, 60, 7) + b'\0\5' + b'\2mx\xc0\x0c')

def dm(peer, tidx, payload=b'', peerid=1, fd=False, raw=None):
    b = bytes([peer | (0x80 if fd else 0)])
    b += bytes([0xff]) + struct.pack('<H', raw) if raw is not None else bytes([tidx])
    return b + u32(peerid) + struct.pack('<H', len(payload)) + payload
def env_dom(dom, nr=1):
    return env(nr, dom=dom)
if __name__ == '__main__':
    w('deliverd', 'job', dm(0, 0, env_dom('relay.example'), 5, True))
    w('deliverd', 'job_mx', dm(0, 0, env_dom('example.org', 2), 6, True))
    w('deliverd', 'job_nofd', dm(0, 0, env(1), 7))
    w('deliverd', 'status', dm(0, 1) + dm(1, 0, b'', 9))
    w('deliverd', 'dns_ctl', dm(1, 1) + dm(1, 2) + dm(1, 3, s('example.org')) + dm(1, 4))
    w('deliverd', 'master', dm(2, 0, u32(1) + u32(0), 1, True) + dm(2, 1, u32(2), 1, True) + dm(2, 1, u32(4), 1, True) + dm(1, 0))
if __name__ == '__main__':
    w('smtpd', 'create_ok', dm(1, 0) + dm(0, 0, s(ULID), 1, True))
    w('smtpd', 'create_fail', dm(1, 0) + dm(0, 1, u32(452) + s('4.3.1 queue full'), 1))
    w('smtpd', 'commit_ok', dm(2, 0) + dm(0, 2, s(ULID), 1))
    w('smtpd', 'commit_fail', dm(2, 0) + dm(1, 0) + dm(0, 3, u32(554) + s('5.6.0 no'), 1) + dm(0, 0, s(ULID), 2, True))
    w('smtpd', 'stray', dm(0, 0, s(ULID), 77, True) + dm(0, 2, s(ULID), 3) + dm(3, 0, u32(1) + u32(0), 1, True))
def counts(): return u32(5) + b''.join(u64(i) for i in range(5))
QLIST = u32(1) + s(ULID) + s('a@example.org') + u64(1234) + u64(1700000000) + u64(0) + counts() + u32(0)
QVIEW = s(ULID) + s('a@example.org') + s('helo') + s('192.0.2.1') + s('unknown') + s('8BITMIME') + s('') + u32(0) + u32(0) + u64(10) + u64(1700000000) + u32(1) + u64(1) + s('b@example.net') + s('') + u32(0) + u32(2) + u32(1) + u64(1700000100) + u64(1700000000) + s('451 try later') + s('mx.example.net') + u32(0) + s('Subject: x\r\n') + u32(0)
QSTATS = u64(1) + u64(2) + u32(0) + u64(30) + counts() + u32(1) + s('example.net') + counts() + u64(1) + u64(100) + u32(0) + b''.join(u64(i) for i in range(6))
DLIST = u32(1) + s('127.0.0.1:53') + u32(1) + s('example.org') + s('MX') + s('ok') + u32(300) + u32(200) + s('10 mx.example.org') + u32(0)
DOVR = u32(1) + s('relay.example') + s('127.0.0.1') + u32(25) + s('') + s('10/s burst 5')
PROCS = u64(1700000000) + u32(2) + u32(1) + u32(100) + u64(1700000001) + u32(0) + u32(2) + u32(101) + u64(1700000001) + u32(3)
if __name__ == '__main__':
    w('ctld', 'ping', dm(0, 0, b'', 1))
    w('ctld', 'status', dm(3, 0, PROCS) + dm(0, 1, b'', 2) + dm(1, 0, u64(3) + u64(4) + u32(1) + u32(0) + u64(4), 1))
    w('ctld', 'queue_list', dm(0, 2, u32(0xffffffff) + s('') + u32(10), 3) + dm(1, 1, QLIST, 1))
    w('ctld', 'queue_view', dm(0, 3, s(ULID), 4) + dm(1, 2, QVIEW, 1))
    w('ctld', 'queue_ops', dm(0, 4, s(ULID), 5) + dm(0, 6, b'', 6) + dm(1, 4, u64(1) + s('deleted'), 1) + dm(1, 5, u32(1) + s('not found'), 2))
    w('ctld', 'queue_stats', dm(0, 9, b'', 7) + dm(1, 3, QSTATS, 1))
    w('ctld', 'dns', dm(0, 10, b'', 8) + dm(2, 1, DLIST, 1) + dm(0, 12, s('example.org'), 9) + dm(2, 3, u64(2) + s('10 mx.example.org'), 2) + dm(0, 13, b'', 10) + dm(2, 2, DOVR, 3))
    w('ctld', 'dns_fail', dm(0, 11, b'', 8) + dm(2, 4, s('busy'), 1))
    # authorisation modes (fuzz_ctld.c): bits 4-6 of the first byte
    w('ctld', 'auth_token_sent', dm(0x30, 9, b'', 7) + dm(1, 3, QSTATS, 1))
    w('ctld', 'auth_token_missing', dm(0x10, 1, b'', 2) + dm(0, 0, b'', 3))
    w('ctld', 'auth_token_wrong', dm(0x10, 14, s('not-the-token'), 0) + dm(0, 10, b'', 8))
    w('ctld', 'auth_twice', dm(0, 14, s('fuzz-token'), 0) + dm(0, 14, s('fuzz-token'), 0) + dm(0, 0, b'', 1))
    w('ctld', 'auth_refused', dm(0x40, 2, u32(0xffffffff) + s('') + u32(10), 3) + dm(0, 0, b'', 4))
def ec(sel, payload, json=False, t=0): return bytes([sel | (0x10 if json else 0), t]) + payload
STATUS = s('0.1') + u64(100) + u64(3) + u64(4) + u32(2) + s('smtpd') + u32(100) + u32(1) + u32(0) + s('queued') + u32(0) + u32(0) + u32(2)
if __name__ == '__main__':
    w('empathctl', 'pong', ec(0, s('0.1')))
    w('empathctl', 'status_json', ec(1, STATUS, True))
    w('empathctl', 'list', ec(2, QLIST))
    w('empathctl', 'list_json', ec(3, QLIST, True))
    w('empathctl', 'view', ec(4, QVIEW))
    w('empathctl', 'view_json', ec(4, QVIEW, True))
    w('empathctl', 'ok', ec(5, u64(3) + s('3 deleted')))
    w('empathctl', 'stats', ec(6, QSTATS, True))
    w('empathctl', 'dns_list', ec(7, DLIST))
    w('empathctl', 'dns_ok', ec(8, u64(2) + s('10 mx.example.org'), True))
    w('empathctl', 'dns_overrides', ec(9, DOVR))
    w('empathctl', 'error', ec(2, s('queued is down'), False, 1))
def dres(*rc): return s(ULID) + u32(len(rc)) + b''.join(u64(i) + u32(st) + s('mx.example.net') + s(d) for i, st, d in rc)
if __name__ == '__main__':
    w('queued', 'create_commit', dm(0, 0, b'', 1) + dm(0, 1, env(2), 2) + dm(0, 2, s(ULID), 0))
    w('queued', 'result', dm(1, 0, dres((1, 3, '250 2.0.0 ok'), (2, 2, '451 4.3.0 later')), 1))
    w('queued', 'result_fail_postpone', dm(1, 0, dres((1, 4, '550 5.1.1 no such user'), (2, 0x10 | (30 << 16), '4.3.2 busy')), 1) + dm(1, 1, u32(0) + u32(0), 0))
    w('queued', 'ctl_read', dm(2, 0, b'', 1) + dm(2, 1, u32(0xffffffff) + s('') + u32(10), 2) + dm(2, 2, s(ULID), 3) + dm(2, 8, b'', 4))
    w('queued', 'ctl_ops', dm(2, 5, b'', 1) + dm(2, 6, b'', 2) + dm(2, 3, s(ULID), 3) + dm(2, 4, s(ULID), 4) + dm(2, 7, b'', 5))
MSGF = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: fuzz\r\n\r\nbody\r\n"
def env_alias(nr=2):
    return env(nr).replace(s(ULID), s('0' * 26), 1).replace(u64(1234), u64(len(MSGF)), 1)
if __name__ == '__main__':
    w('queued', 'create_commit', dm(0, 0, b'', 1) + dm(0, 1, env_alias(), 2))
    w('queued', 'create_rollback', dm(0, 0, b'', 1) + dm(0, 0, b'', 2) + dm(0, 2, s('0' * 26), 0) + dm(0, 1, env_alias(1), 3))
