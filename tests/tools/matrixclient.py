#!/usr/bin/env python3
"""matrixclient.py - small UDP protocol clients for tests/t_matrix.sh.

    matrixclient.py MODE ADDR PORT COUNT [ARG] [--src A,B,...] [--ready SECS]

Sends COUNT requests one at a time (each waits up to 1 s for its answer, no
retries) and checks every answer.  Modes:

    echo      payload "mx SEQ <random>" (ARG: size, default 64), the same bytes back
    dns       an A query for ARG (default www.example.), same id, RCODE 0, an A record
    stun      RFC 5389 Binding Request, Binding Success with the same transaction id
              and an XOR-MAPPED-ADDRESS equal to the client's own address and port
    memcache  memcached UDP protocol (8-byte frame header): one "set", then
              COUNT-1 "get"s of that key, each answered with its value
    ntp       NTP mode 3, a mode 4 answer whose origin is the request's transmit stamp
    syslog    COUNT RFC 3164 lines "<14>... mx-TAG SEQ" (ARG: TAG); nothing comes back,
              so every one counts as answered once sent (the test greps the log)
    sip       SIP OPTIONS request, a "SIP/2.0 200" answer with the same Call-ID
    collectd  COUNT collectd network-protocol packets, host "mx-TAG" (ARG: TAG), plugin
              "mx", type "gauge", type instance "vSEQ" (one series each: collectd's
              dispatch threads may reorder updates of one series), value SEQ; nothing
              comes back (the test counts the rows collectd's csv plugin wrote)

--src spreads requests over several local source addresses (ntpd rate-limits
per address).  --ready SECS first repeats one request (not counted) until it
is answered or SECS pass: a daemon that binds before its event loop runs.
Prints one line:  matrixclient: mode=M sent=N answered=A bad=B
Exit status 0 iff every request was answered correctly.
"""
import os
import socket
import struct
import sys
import time


def dns_query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def dns_check(req, ans):
    if len(ans) < 12 or ans[:2] != req[:2]:
        return False
    flags, qd, an = struct.unpack("!HHH", ans[2:8])
    return bool(flags & 0x8000) and (flags & 0xF) == 0 and an >= 1


STUN_MAGIC = 0x2112A442


def stun_req(_seq):
    txid = os.urandom(12)
    return struct.pack("!HHI", 0x0001, 0, STUN_MAGIC) + txid


def stun_check(req, ans, local):
    if len(ans) < 20:
        return False
    typ, length, magic = struct.unpack("!HHI", ans[:8])
    if typ != 0x0101 or magic != STUN_MAGIC or ans[8:20] != req[8:20]:
        return False
    off = 20
    while off + 4 <= 20 + length and off + 4 <= len(ans):
        at, al = struct.unpack("!HH", ans[off:off + 4])
        val = ans[off + 4:off + 4 + al]
        if at == 0x0020 and al >= 8 and val[1] == 1:
            port = struct.unpack("!H", val[2:4])[0] ^ (STUN_MAGIC >> 16)
            ip = struct.unpack("!I", val[4:8])[0] ^ STUN_MAGIC
            return (socket.inet_ntoa(struct.pack("!I", ip)), port) == local[:2]
        off += 4 + ((al + 3) & ~3)
    return False


NTP_EPOCH = 2208988800


def ntp_req(_seq):
    t = time.time()
    xmt = ((int(t) + NTP_EPOCH) << 32) | int((t % 1) * 2**32)
    return struct.pack("!BBbbII4sQQQQ", (4 << 3) | 3, 0, 6, -20, 0, 0, b"\0" * 4, 0, 0, 0, xmt)


def ntp_check(req, ans):
    if len(ans) < 48:
        return False
    return (ans[0] & 7) == 4 and ans[24:32] == req[40:48]


def mc_frame(rid, body):
    return struct.pack("!HHHH", rid, 0, 1, 0) + body


def main():
    args = sys.argv[1:]
    src, ready = [], 0.0
    if "--src" in args:
        i = args.index("--src")
        src = args[i + 1].split(",")
        del args[i:i + 2]
    if "--ready" in args:
        i = args.index("--ready")
        ready = float(args[i + 1])
        del args[i:i + 2]
    mode, addr, port, count = args[0], args[1], int(args[2]), int(args[3])
    arg = args[4] if len(args) > 4 else None
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    socks = []
    for a in (src or [None]):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if a:
            s.bind((a, 0))
        s.connect((addr, port))
        s.settimeout(1.0)
        socks.append(s)
    key = "mx%d" % os.getpid()
    val = os.urandom(8).hex()
    size = int(arg) if (mode == "echo" and arg) else 64

    FIRE = ("syslog", "collectd")   # nothing comes back
    t0 = int(time.time()) - count - 10
    def make(seq):
        if mode == "echo":
            p = ("mx %d " % seq).encode()
            return p + os.urandom(max(0, size - len(p))).hex().encode()[:max(0, size - len(p))]
        if mode == "dns":
            return dns_query(seq & 0xFFFF, arg or "www.example.")
        if mode == "stun":
            return stun_req(seq)
        if mode == "ntp":
            return ntp_req(seq)
        if mode == "memcache":
            if seq == 0:
                return mc_frame(seq, ("set %s 0 0 %d\r\n%s\r\n" % (key, len(val), val)).encode())
            return mc_frame(seq & 0xFFFF, ("get %s\r\n" % key).encode())
        if mode == "syslog":
            return ("<14>%s mxhost mx-%s: %d\n" % (time.strftime("%b %d %H:%M:%S"), arg or "mx", seq)).encode()
        if mode == "sip":
            lp = socks[0].getsockname()[1]
            return ("OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bKmx%d\r\n"
                    "Max-Forwards: 70\r\nFrom: <sip:mx@%s>;tag=mx%d\r\nTo: <sip:%s>\r\n"
                    "Call-ID: mx-%d-%s\r\nCSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n"
                    % (addr, port, socks[0].getsockname()[0], lp, seq, socks[0].getsockname()[0], seq, addr,
                       seq, os.urandom(4).hex(), seq + 1)).encode()
        if mode == "collectd":
            def sp(t, v):
                b = v.encode() + b"\0"
                return struct.pack("!HH", t, 4 + len(b)) + b
            p = sp(0, "mx-" + (arg or "mx")) + struct.pack("!HHQ", 1, 12, t0 + seq) + \
                struct.pack("!HHQ", 7, 12, 10) + sp(2, "mx") + sp(4, "gauge") + sp(5, "v%d" % seq)
            return p + struct.pack("!HHH", 6, 15, 1) + b"\x01" + struct.pack("<d", float(seq))
        raise SystemExit("matrixclient: unknown mode " + mode)

    def check(seq, s, req, ans):
        if mode == "echo":
            return ans == req
        if mode == "dns":
            return dns_check(req, ans)
        if mode == "stun":
            return stun_check(req, ans, s.getsockname())
        if mode == "ntp":
            return ntp_check(req, ans)
        if mode == "sip":
            cid = [l for l in req.split(b"\r\n") if l.startswith(b"Call-ID:")][0]
            return ans.startswith(b"SIP/2.0 200") and cid in ans.split(b"\r\n")
        if mode == "memcache":
            if ans[:2] != req[:2]:
                return False
            body = ans[8:]
            if seq == 0:
                return body == b"STORED\r\n"
            return body == ("VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (key, len(val), val)).encode()
        return False

    def exchange(seq, s):
        req = make(seq)
        s.send(req)
        if mode in FIRE:
            return 1
        try:
            while True:
                ans = s.recv(65535)
                if mode in ("dns", "memcache", "ntp", "stun", "echo", "sip") and not check(seq, s, req, ans):
                    # a late answer to an earlier request: keep waiting for ours
                    if mode == "dns" and ans[:2] != req[:2]:
                        continue
                    if mode == "memcache" and ans[:2] != req[:2]:
                        continue
                    return -1
                return 1
        except socket.timeout:
            return 0

    if ready > 0 and mode not in FIRE:
        end = time.time() + ready
        while time.time() < end:
            if exchange(0, socks[0]) == 1:
                break
        else:
            print("matrixclient: mode=%s not ready after %gs" % (mode, ready))
    sent = answered = bad = 0
    for seq in range(count):
        s = socks[seq % len(socks)]
        r = exchange(seq, s)
        sent += 1
        if r == 1:
            answered += 1
        elif r < 0:
            bad += 1
        if mode in FIRE and seq % 32 == 31:
            time.sleep(0.005)
    print("matrixclient: mode=%s sent=%d answered=%d bad=%d" % (mode, sent, answered, bad))
    return 0 if answered == count else 1


if __name__ == "__main__":
    sys.exit(main())
