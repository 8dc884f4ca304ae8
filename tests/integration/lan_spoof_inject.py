#!/usr/bin/env python3
"""Writes spoofed frames into a TAP device (AF_PACKET raw socket), as a
misbehaving member's kernel would: they go to the member's ringlan daemon,
which sends them over its links. Used by tests/integration/lan_spoof.sh.

usage: lan_spoof_inject.py IFACE OWN_MAC VICTIM_MAC OTHER_MAC VICTIM_VIP OTHER_VIP ROUNDS

OWN_MAC is the TAP's MAC (the frames' Ethernet source, so they pass the MAC
check and meet the address checks), VICTIM the member that must not be
fooled, OTHER the member whose addresses are claimed. Prints one line per
frame kind and the number of frames that reach the victim per round.
"""
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip4(s):
    return socket.inet_aton(s)


def link_local(m):
    """fe80::/64 + modified EUI-64 of MAC m (what the TAP gets)."""
    return (b"\xfe\x80" + b"\x00" * 6 + bytes([m[0] ^ 2]) + m[1:3] + b"\xff\xfe" + m[3:6])


def eth(dst, src, ethertype, tags=()):
    h = dst + src
    for tpid in tags:
        h += struct.pack(">HH", tpid, 0)  # PCP 0, VID 0: a priority tag
    return h + struct.pack(">H", ethertype)


def arp(op, sha, spa, tha, tpa):
    return struct.pack(">HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv6_icmp(src, dst, icmp):
    """IPv6 header (hop limit 255, as ND requires) + ICMPv6 with a valid checksum."""
    pseudo = src + dst + struct.pack(">I", len(icmp)) + b"\x00\x00\x00\x3a"
    c = csum(pseudo + icmp[:2] + b"\x00\x00" + icmp[4:])
    icmp = icmp[:2] + struct.pack(">H", c) + icmp[4:]
    return struct.pack(">IHBB", 0x60000000, len(icmp), 58, 255) + src + dst + icmp


def main():
    ifname, own, victim, other = sys.argv[1], mac(sys.argv[2]), mac(sys.argv[3]), mac(sys.argv[4])
    vvip, ovip, rounds = ip4(sys.argv[5]), ip4(sys.argv[6]), int(sys.argv[7])
    own_ll, victim_ll, other_ll = link_local(own), link_local(victim), link_local(other)
    all_nodes = b"\xff\x02" + b"\x00" * 13 + b"\x01"
    mc_all = bytes([0x33, 0x33, 0, 0, 0, 1])
    bcast = b"\xff" * 6
    pfx = b"\xfd\x00\x00\x05" + b"\x00" * 12  # fd00:5::/64

    ra = (struct.pack(">BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
          + bytes([1, 1]) + own  # source link-layer address
          + struct.pack(">BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + pfx)
    redirect = (struct.pack(">BBHI", 137, 0, 0, 0) + own_ll + pfx[:15] + b"\x09"
                + bytes([2, 1]) + own)
    na_other = (struct.pack(">BBHI", 136, 0, 0, 0x20000000) + other_ll  # override
                + bytes([2, 1]) + own)
    frames = [
        ("vlan0 ARP reply: OTHER's VIP at OWN MAC, to VICTIM",
         eth(victim, own, 0x0806, (0x8100,)) + arp(2, own, ovip, victim, vvip)),
        ("vlan0 ARP request: who has VICTIM, tell OTHER's VIP at OWN MAC (broadcast)",
         eth(bcast, own, 0x0806, (0x8100,)) + arp(1, own, ovip, b"\x00" * 6, vvip)),
        ("802.1ad+802.1Q ARP reply: OTHER's VIP at OWN MAC, to VICTIM",
         eth(victim, own, 0x0806, (0x88A8, 0x8100)) + arp(2, own, ovip, victim, vvip)),
        ("IPv6 router advertisement: default router + prefix fd00:5::/64 (all nodes)",
         eth(mc_all, own, 0x86DD) + ipv6_icmp(own_ll, all_nodes, ra)),
        ("ICMPv6 redirect: fd00:5::9 via OWN, to VICTIM",
         eth(victim, own, 0x86DD) + ipv6_icmp(own_ll, victim_ll, redirect)),
        ("ICMPv6 NA (override): OTHER's link-local at OWN MAC (all nodes)",
         eth(mc_all, own, 0x86DD) + ipv6_icmp(own_ll, all_nodes, na_other)),
        ("ICMPv6 NA (override): OTHER's link-local at OWN MAC, to VICTIM",
         eth(victim, own, 0x86DD) + ipv6_icmp(own_ll, victim_ll, na_other)),
    ]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    for name, _ in frames:
        print("inject:", name)
    for r in range(rounds):
        for _, f in frames:
            s.send(f.ljust(60, b"\x00") if len(f) < 60 else f)
        time.sleep(0.2)
    s.close()
    print("frames_per_round", len(frames))


if __name__ == "__main__":
    main()
