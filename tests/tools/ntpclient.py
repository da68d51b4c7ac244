#!/usr/bin/env python3
"""ntpclient.py - a small NTP (mode 3) client for xskshim's chrony test.

    ntpclient.py ADDR COUNT [INTERVAL_MS]

Sends COUNT client requests to ADDR port 123, one at a time (each waits up
to 1 s for its answer), and checks every answer: mode 4 (server), the
origin timestamp equal to the request's transmit timestamp, a non-zero
stratum, and the server's receive (T2) and transmit (T3) timestamps in
order with the client's send (T1) and receive (T4) times - the two ends
share one clock here - within 2 ms.  Prints one line:

    ntpclient: requests=N answered=A bad=B rx_delay_us_median=M rx_delay_us_p90=P

rx_delay is T2 - T1: how long after sending the server stamped the request
as received.  Exit status 0 iff every request was answered and none was bad.
"""
import socket
import statistics
import struct
import sys
import time

NTP_EPOCH = 2208988800
FMT = "!BBbbII4sQQQQ"


def to_ntp(t):
    return ((int(t) + NTP_EPOCH) << 32) | int((t % 1) * 2**32)


def from_ntp(v):
    return (v >> 32) - NTP_EPOCH + (v & 0xFFFFFFFF) / 2**32


def main():
    addr, count = sys.argv[1], int(sys.argv[2])
    interval = (int(sys.argv[3]) if len(sys.argv) > 3 else 10) / 1000.0
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    answered = bad = 0
    delays = []
    for _ in range(count):
        t1 = time.time()
        xmt = to_ntp(t1)
        s.sendto(struct.pack(FMT, 0x23, 0, 0, 0, 0, 0, b"\0" * 4, 0, 0, 0, xmt), (addr, 123))
        try:
            while True:
                data = s.recv(512)
                if len(data) >= 48:
                    f = struct.unpack(FMT, data[:48])
                    if f[8] == xmt:
                        break
        except socket.timeout:
            continue
        t4 = time.time()
        answered += 1
        mode, stratum, t2, t3 = f[0] & 7, f[1], from_ntp(f[9]), from_ntp(f[10])
        if mode != 4 or stratum == 0 or not (t1 - 0.002 <= t2 <= t3 + 1e-6 <= t4 + 0.002):
            bad += 1
            print("ntpclient: bad answer: mode %d stratum %d t2-t1 %.6f t3-t2 %.6f t4-t3 %.6f"
                  % (mode, stratum, t2 - t1, t3 - t2, t4 - t3), file=sys.stderr)
        delays.append((t2 - t1) * 1e6)
        time.sleep(interval)
    med = statistics.median(delays) if delays else -1
    p90 = sorted(delays)[int(len(delays) * 0.9)] if delays else -1
    print("ntpclient: requests=%d answered=%d bad=%d rx_delay_us_median=%.1f rx_delay_us_p90=%.1f"
          % (count, answered, bad, med, p90))
    return 0 if answered == count and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
