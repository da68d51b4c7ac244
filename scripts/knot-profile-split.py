#!/usr/bin/env python3
# scripts/knot-profile-split.py - the per-answer split of scripts/knot-profile:
#
#   knot-profile-split.py SCRIPT_TXT ANSWERS SAMPLE_HZ
#
# SCRIPT_TXT is `perf script -F comm,ip,sym,dso` of a `perf record -g -C 0`
# (cpu-clock at SAMPLE_HZ) taken while the client had ANSWERS answered.
# Each sample of knotd (any of its threads: "knotd", "knotd:udp...") and of
# vb's NAPI thread ("napi/vb-...") is put in one category by its call chain
# (leaf first), and each category printed as ns per answer: the sample
# period times its samples over ANSWERS.  Samples of anything else on CPU0
# (idle, other tenants) are counted as "other tasks" and left out of the
# totals.  The categories are coarse on purpose: the question is which
# layer pays, not which function.
import collections
import re
import sys

FRAME = re.compile(r'\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)$')

# kernel entry points of knotd's syscalls, first match in the chain wins
SYSCALLS = [
    ('__sys_sendto', 'AF_XDP kick (sendto)'),
    ('__x64_sys_sendto', 'AF_XDP kick (sendto)'),
    ('__sys_sendmmsg', 'UDP send (sendmmsg/sendmsg)'),
    ('__x64_sys_sendmsg', 'UDP send (sendmmsg/sendmsg)'),
    ('__x64_sys_sendmmsg', 'UDP send (sendmmsg/sendmsg)'),
    ('___sys_sendmsg', 'UDP send (sendmmsg/sendmsg)'),
    ('____sys_sendmsg', 'UDP send (sendmmsg/sendmsg)'),
    ('udp_sendmsg', 'UDP send (sendmmsg/sendmsg)'),
    ('xsk_sendmsg', 'AF_XDP kick (sendto)'),
    ('__sys_recvmmsg', 'receive syscalls'),
    ('__x64_sys_recvmmsg', 'receive syscalls'),
    ('do_recvmmsg', 'receive syscalls'),
    ('___sys_recvmsg', 'receive syscalls'),
    ('____sys_recvmsg', 'receive syscalls'),
    ('udp_recvmsg', 'receive syscalls'),
    ('__x64_sys_recvmsg', 'receive syscalls'),
    ('__x64_sys_recvfrom', 'receive syscalls'),
    ('__sys_recvfrom', 'receive syscalls'),
    ('do_epoll_wait', 'epoll_wait/poll'),
    ('__x64_sys_epoll_wait', 'epoll_wait/poll'),
    ('__x64_sys_epoll_pwait', 'epoll_wait/poll'),
    ('do_sys_poll', 'epoll_wait/poll'),
]
# vb's receive work, first match in the chain (leaf first) wins
VB = [
    ('bpf_prog_', "XDP program (the shim's)"),
    ('skb_pp_cow_data', 'veth: copy of the skb into a page-pool page for XDP'),
    ('xdp_do_redirect', 'redirect into the AF_XDP rx ring (copy)'),
    ('xdp_do_flush', 'AF_XDP rx flush, wake-up of the reader'),
    ('__xsk_map_flush', 'AF_XDP rx flush, wake-up of the reader'),
    ('udp_queue_rcv', 'IP/UDP delivery to the socket, wake-up of the reader'),
    ('ip_list_rcv', 'IP/UDP delivery to the socket, wake-up of the reader'),
    ('ip_rcv', 'IP/UDP delivery to the socket, wake-up of the reader'),
    ('gro_receive', 'GRO'),
    ('napi_gro', 'GRO'),
    ('skb_defer_free_flush', 'skb frees'),
    ('napi_consume_skb', 'skb frees'),
    ('consume_skb', 'skb frees'),
    ('kfree_skb', 'skb frees'),
    ('page_pool', 'page pool'),
]


def knotd_cat(frames):
    sym, dso = frames[0]
    if 'kernel' not in dso:
        if 'libxskshim' in dso:
            return "shim's user code"
        return "knotd's own code (libknot, libc, ...)"
    syms = [s for s, _ in frames]
    for key, name in SYSCALLS:
        if any(s.startswith(key) for s in syms):
            if name.endswith('(sendto)') or name.startswith('UDP send'):
                if '__napi_schedule' in syms[:3]:
                    return name + ': wake-up of the peer\'s NAPI thread'
            return name
    if any('softirq' in s or s.startswith('sysvec_') for s in syms):
        return 'interrupts, softirq (skb frees of the peer, IPIs)'
    if any(s.startswith('exit_to_user_mode') or s.startswith('irqentry_exit') for s in syms):
        return 'preemption at return to user'
    return 'other kernel'


def vb_cat(frames):
    syms = [s for s, _ in frames]
    for key, name in VB:
        if any(s.startswith(key) for s in syms):
            return name
    return 'other (veth poll, NAPI loop)'


def main():
    path, answers, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    if answers <= 0:
        print('knot-profile-split: no answers counted')
        return 1
    per = 1e9 / hz / answers   # ns per answer of one sample
    cats = {'knotd': collections.Counter(), 'vb': collections.Counter()}
    other = collections.Counter()
    comm, frames = None, []

    def flush():
        if comm is None or not frames:
            return
        if comm.startswith('knotd'):
            cats['knotd'][knotd_cat(frames)] += 1
        elif comm.startswith('napi/vb'):
            cats['vb'][vb_cat(frames)] += 1
        else:
            other[comm] += 1

    for line in open(path, errors='replace'):
        line = line.rstrip('\n')
        if not line.strip():
            flush()
            comm, frames = None, []
        elif line[0] in ' \t':
            m = FRAME.match(line)
            if m:
                frames.append((re.sub(r'\+0x[0-9a-f]+$', '', m.group(1)), m.group(2)))
        else:
            flush()
            comm, frames = line.split()[0], []
    flush()
    total = 0.0
    for who, title in (('knotd', "knotd (its UDP worker and other threads)"), ('vb', "vb's NAPI thread (the queries' receive)")):
        t = sum(cats[who].values()) * per
        total += t
        print('%-72s %6.0f ns/answer' % (title, t))
        for name, n in cats[who].most_common():
            print('    %-68s %6.0f' % (name, n * per))
    print('%-72s %6.0f ns/answer' % ('knotd + vb', total))
    idle = other.pop('swapper', 0)
    print('CPU0 idle %.0f%% of the samples; other tasks on CPU0 (not counted above): %s' %
          (100.0 * idle / max(1, idle + sum(other.values()) + sum(sum(c.values()) for c in cats.values())),
           ', '.join('%s %d' % kv for kv in other.most_common(5)) or 'none'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
