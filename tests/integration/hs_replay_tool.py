#!/usr/bin/env python3
"""Captures and replays ringlan handshakes, as an attacker on the path
would. Used by tests/integration/hs_replay.sh.

usage:
  hs_replay_tool.py capture IFACE PORT OUT_FILE SECONDS
      Prints "ready" once it listens, then waits (at most SECONDS) for the
      first UDP datagram to PORT on IFACE
      whose first byte is an HS_INIT (0xA0..0xA7) and writes its payload to
      OUT_FILE (AF_PACKET raw socket: sees what arrives, takes nothing away).
  replay FILE SRC_IP SRC_PORT DST_IP DST_PORT COUNT LISTEN_S
      Sends FILE's bytes COUNT times from SRC_IP:SRC_PORT (an address of
      this namespace) to DST_IP:DST_PORT, then listens LISTEN_S seconds on
      that source and prints "replies N" (what the victim sent back to the
      attacker's address).
"""
import select
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800


def capture(iface, port, out, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    s.bind((iface, 0))
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print("capture: no HS_INIT within %s s" % seconds, file=sys.stderr)
            return 1
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        frame = s.recv(65535)
        if len(frame) < 14 + 20 + 8 or struct.unpack(">H", frame[12:14])[0] != ETH_P_IP:
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17 or len(ip) < ihl + 8:
            continue
        udp = ip[ihl:]
        dport = struct.unpack(">H", udp[2:4])[0]
        payload = udp[8:struct.unpack(">H", udp[4:6])[0]]
        if dport == port and payload and (payload[0] & 0xF8) == 0xA0:
            with open(out, "wb") as f:
                f.write(payload)
            print("captured HS_INIT of %d bytes from %s" % (len(payload), socket.inet_ntoa(ip[12:16])))
            return 0


def replay(path, src_ip, src_port, dst_ip, dst_port, count, listen_s):
    with open(path, "rb") as f:
        pkt = f.read()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src_ip, src_port))
    for _ in range(count):
        s.sendto(pkt, (dst_ip, dst_port))
        time.sleep(0.05)
    replies = 0
    deadline = time.monotonic() + listen_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if r:
            s.recv(65535)
            replies += 1
    print("replies %d" % replies)
    return 0


def main(argv):
    if len(argv) == 6 and argv[1] == "capture":
        return capture(argv[2], int(argv[3]), argv[4], float(argv[5]))
    if len(argv) == 9 and argv[1] == "replay":
        return replay(argv[2], argv[3], int(argv[4]), argv[5], int(argv[6]), int(argv[7]),
                      float(argv[8]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
