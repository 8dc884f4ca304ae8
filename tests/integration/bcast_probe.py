#!/usr/bin/env python3
"""Probes for tests/integration/broadcast.sh (LAN broadcast and multicast).

usage:
  bcast_probe.py sniff OUTDIR MAX_S NAME:NETNS:IFACE...
      Counts, at the TAPs, the tagged frames the daemons wrote into them:
      one AF_PACKET socket on each IFACE, opened inside network namespace
      NETNS (/run/netns/NETNS, setns(2)), so one process watches every
      member; into OUTDIR/cap.NAME one line "TAG SEQ PKTTYPE SRC DST MS" per
      IPv4/UDP frame whose payload starts with "RLBC " and whose packet type
      is not PACKET_OUTGOING (written by the host's kernel, i.e. sent) nor
      PACKET_LOOPBACK (the kernel's local copy of a broadcast or multicast
      it sends itself, which never leaves the host); MS: the kernel's time
      of arrival (SO_TIMESTAMPNS), Unix milliseconds (one clock for every
      namespace). Prints "ready" once
      every socket is bound, "drops NAME K" when NAME's socket lost K frames
      (a full receive buffer: the count would be wrong); exits after MAX_S
      seconds or on SIGTERM.
  bcast_probe.py send IFACE DST PORT TAG COUNT RATE [LOG]
      Sends COUNT UDP datagrams "RLBC TAG SEQ" (SEQ 0..COUNT-1) from IFACE's
      address to DST:PORT (broadcast or multicast), paced at RATE per
      second on an absolute schedule. Prints "sent N in S s"; LOG gets one
      line "SEQ MS" per datagram (MS as for sniff: when it was sent).
  bcast_probe.py join IFACE GROUP MAX_S
      Joins GROUP on IFACE (the kernel then sends IGMP reports into the
      TAP), prints "joined", holds until SIGTERM or MAX_S, then drops the
      membership (the kernel reports the leave) and prints "left".
  bcast_probe.py mdns-respond IFACE NAME ADDR MAX_S
      A tiny mDNS responder: answers A queries for NAME.local with ADDR,
      by multicast to 224.0.0.251:5353 (RFC 6762 5, 6). Logs every query.
  bcast_probe.py mdns-query IFACE NAME TIMEOUT_S
      Asks 224.0.0.251:5353 for NAME.local (A) once a second until an
      answer arrives; prints "answer NAME.local ADDR from SRC after S s,
      K queries" and exits 0, or exits 1 after TIMEOUT_S.
"""
import ctypes
import os
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
PACKET_LOOPBACK = 5
MAGIC = b"RLBC "
MDNS_GROUP = "224.0.0.251"
MDNS_PORT = 5353
LIBC = ctypes.CDLL(None, use_errno=True)

stop = False


def on_term(_sig, _frm):
    global stop
    stop = True


def mreqn(group, ifname):
    return struct.pack("4s4si", socket.inet_aton(group), socket.inet_aton("0.0.0.0"),
                       socket.if_nametoindex(ifname))


def udp_sock(ifname, bind_port=0, ttl=1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn("0.0.0.0", ifname))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    s.bind(("0.0.0.0", bind_port))
    return s


def say(*a):
    print(*a, flush=True)


# ------------------------------------------------------------------ sniff
def parse_tagged(frame):
    """(tag, seq, src, dst) of a tagged IPv4/UDP frame, else None."""
    if len(frame) < 14:
        return None
    off, etype = 12, struct.unpack_from(">H", frame, 12)[0]
    while etype in (0x8100, 0x88A8) and len(frame) >= off + 6:
        off += 4
        etype = struct.unpack_from(">H", frame, off)[0]
    off += 2
    if etype != 0x0800 or len(frame) < off + 20:
        return None
    ihl = (frame[off] & 0x0F) * 4
    if frame[off + 9] != 17 or struct.unpack_from(">H", frame, off + 6)[0] & 0x3FFF:
        return None  # not UDP, or a fragment
    src = socket.inet_ntoa(frame[off + 12:off + 16])
    dst = socket.inet_ntoa(frame[off + 16:off + 20])
    pay = frame[off + ihl + 8:]
    if not pay.startswith(MAGIC):
        return None
    parts = pay[len(MAGIC):].split(b" ")
    if len(parts) < 2:
        return None
    return parts[0].decode(errors="replace"), parts[1].decode(errors="replace"), src, dst


CLONE_NEWNET = 0x40000000
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
SOL_PACKET, PACKET_STATISTICS = 263, 6
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
CMSG_TS = socket.CMSG_SPACE(16)


def arrival_ms(anc):
    """The kernel's receive time of a frame (SO_TIMESTAMPNS), Unix ms; now
    when the kernel gave none."""
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack("qq", data[:16])
            return sec * 1000 + nsec / 1e6
    return time.time() * 1000


def drops(s):
    """Frames the socket dropped (full buffer) since the last call."""
    return struct.unpack("II", s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))[1]


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if LIBC.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns %s: %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


def sniff(outdir, max_s, specs):
    socks = {}
    home_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        for spec in specs:
            name, netns, ifname = spec.split(":")
            setns("/run/netns/" + netns)
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            # (FORCE: past net.core.rmem_max, we are root)
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            s.bind((ifname, ETH_P_ALL))
            s.setblocking(False)
            socks[s] = (name, open(os.path.join(outdir, "cap." + name), "a", buffering=1))
    finally:
        if LIBC.setns(home_fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back")
        os.close(home_fd)
    say("ready: %d interfaces" % len(socks))
    end = time.monotonic() + max_s
    for s in socks:
        drops(s)  # (counted from here)
    next_check = 0
    while not stop and time.monotonic() < end:
        if time.monotonic() >= next_check:
            next_check = time.monotonic() + 1
            for s, (name, _f) in socks.items():
                k = drops(s)
                if k:
                    say("drops %s %d" % (name, k))
        try:
            ready, _, _ = select.select(list(socks), [], [], 0.5)
        except InterruptedError:
            continue
        for s in ready:
            f = socks[s][1]
            while True:
                try:
                    frame, anc, _fl, addr = s.recvmsg(65535, CMSG_TS)
                except (BlockingIOError, InterruptedError):
                    break
                if addr[2] in (PACKET_OUTGOING, PACKET_LOOPBACK):
                    continue
                t = parse_tagged(frame)
                if t:
                    f.write("%s %s %d %s %s %.1f\n" % (t[0], t[1], addr[2], t[2], t[3],
                                                      arrival_ms(anc)))
    for _name, f in socks.values():
        f.close()


# ------------------------------------------------------------------ send
def send(ifname, dst, port, tag, count, rate, log):
    s = udp_sock(ifname)
    times = []
    t0 = time.monotonic()
    for i in range(count):
        due = t0 + i / rate
        d = due - time.monotonic()
        if d > 0:
            time.sleep(d)
        times.append(time.time() * 1000)
        s.sendto(MAGIC + ("%s %d" % (tag, i)).encode(), (dst, port))
    say("sent %d in %.2f s" % (count, time.monotonic() - t0))
    if log:
        with open(log, "w") as f:
            f.writelines("%d %.1f\n" % (i, t) for i, t in enumerate(times))


# ------------------------------------------------------------------ join
def join(ifname, group, max_s):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn(group, ifname))
    say("joined %s on %s" % (group, ifname))
    end = time.monotonic() + max_s
    while not stop and time.monotonic() < end:
        time.sleep(0.1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, mreqn(group, ifname))
    s.close()
    say("left %s" % group)


# ------------------------------------------------------------------ mDNS
def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def read_name(msg, off):
    """(lower-case dotted name, offset after it); follows compression."""
    labels, after, hops = [], None, 0
    while off < len(msg) and hops < 32:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if after is None:
                after = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            hops += 1
            continue
        if n == 0:
            off += 1
            break
        labels.append(msg[off + 1:off + 1 + n].decode(errors="replace").lower())
        off += 1 + n
    return ".".join(labels), (after if after is not None else off)


def mdns_sock(ifname):
    s = udp_sock(ifname, MDNS_PORT, ttl=255)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn(MDNS_GROUP, ifname))
    s.settimeout(0.2)
    return s


def mdns_respond(ifname, name, addr, max_s):
    fq = name.lower() + ".local"
    s = mdns_sock(ifname)
    say("responder for %s on %s" % (fq, ifname))
    end = time.monotonic() + max_s
    while not stop and time.monotonic() < end:
        try:
            msg, src = s.recvfrom(9000)
        except (socket.timeout, InterruptedError):
            continue
        if len(msg) < 12:
            continue
        _id, flags, qd = struct.unpack_from(">HHH", msg, 0)
        if flags & 0x8000 or qd == 0:
            continue  # a response, or no question
        off, match = 12, False
        for _ in range(qd):
            q, off = read_name(msg, off)
            if off + 4 > len(msg):
                break
            qtype = struct.unpack_from(">H", msg, off)[0]
            off += 4
            if q == fq and qtype in (1, 255):
                match = True
        say("query from %s:%d for %s: %s" % (src[0], src[1], fq, "answer" if match else "ignored"))
        if match:
            ans = (struct.pack(">HHHHHH", 0, 0x8400, 0, 1, 0, 0) + dns_name(fq) +
                   struct.pack(">HHIH", 1, 0x8001, 120, 4) + socket.inet_aton(addr))
            s.sendto(ans, (MDNS_GROUP, MDNS_PORT))


def mdns_query(ifname, name, timeout_s):
    fq = name.lower() + ".local"
    s = mdns_sock(ifname)
    q = struct.pack(">HHHHHH", 0, 0, 1, 0, 0, 0) + dns_name(fq) + struct.pack(">HH", 1, 1)
    t0 = time.monotonic()
    next_q, sent = t0, 0
    while not stop and time.monotonic() - t0 < timeout_s:
        if time.monotonic() >= next_q:
            s.sendto(q, (MDNS_GROUP, MDNS_PORT))
            sent += 1
            next_q += 1.0
        try:
            msg, src = s.recvfrom(9000)
        except (socket.timeout, InterruptedError):
            continue
        if len(msg) < 12:
            continue
        _id, flags, qd, an = struct.unpack_from(">HHHH", msg, 0)
        if not flags & 0x8000:
            continue
        off = 12
        for _ in range(qd):
            _q, off = read_name(msg, off)
            off += 4
        for _ in range(an):
            rn, off = read_name(msg, off)
            if off + 10 > len(msg):
                break
            rtype, _cls, _ttl, rdlen = struct.unpack_from(">HHIH", msg, off)
            off += 10
            if rn == fq and rtype == 1 and rdlen == 4:
                say("answer %s %s from %s after %.2f s, %d queries" %
                    (fq, socket.inet_ntoa(msg[off:off + 4]), src[0], time.monotonic() - t0, sent))
                return 0
            off += rdlen
    say("no answer for %s within %s s (%d queries)" % (fq, timeout_s, sent))
    return 1


def main(argv):
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    cmd, a = (argv[1] if len(argv) > 1 else ""), argv[2:]
    if cmd == "sniff" and len(a) >= 3:
        sniff(a[0], float(a[1]), a[2:])
    elif cmd == "send" and len(a) in (6, 7):
        send(a[0], a[1], int(a[2]), a[3], int(a[4]), float(a[5]), a[6] if len(a) == 7 else "")
    elif cmd == "join" and len(a) == 3:
        join(a[0], a[1], float(a[2]))
    elif cmd == "mdns-respond" and len(a) == 4:
        mdns_respond(a[0], a[1], a[2], float(a[3]))
    elif cmd == "mdns-query" and len(a) == 3:
        return mdns_query(a[0], a[1], float(a[2]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
