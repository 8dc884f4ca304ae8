#!/usr/bin/env bash
# LAN anti-spoofing (issue 10, finding 3): a member writes spoofed frames
# into its own TAP device; its daemon carries them to the others, whose
# node core must drop them (and count them) before their kernels see them.
#
#                 switch (bridge)
#        .-------------+-------------.
#   ns a 192.0.2.1   ns b 192.0.2.2   ns c 192.0.2.3
#   100.64.0.1       100.64.0.2       100.64.0.3
#   (lies)           (victim)         (whose addresses a claims)
#
# Default wildcard listen (0.0.0.0:PORT), static peers in a full mesh.
# b first talks to c over IPv4 and IPv6 link-local, so b's neighbour table
# has entries for c that a could overwrite. Then a injects, 5 times each
# (tests/integration/lan_spoof_inject.py, AF_PACKET on a's TAP):
#   - ARP with a VID 0 priority tag and with 802.1ad+802.1Q tags claiming
#     c's virtual IP at a's MAC (a reply to b, a broadcast request);
#   - an IPv6 router advertisement (default router, prefix fd00:5::/64);
#   - an ICMPv6 redirect to b;
#   - neighbour advertisements (override) claiming c's link-local address.
# Checks: in b and c, no neighbour entry for c's (resp. b's) addresses
# points at a's MAC, no default or fd00:5::/64 route, no fd00:5:: address,
# no redirect in the route cache; the frames refused as spoofed
# (frame_spoofed, and bcast_bad for those that came over the broadcast
# tree) grew at b by at least the frames addressed to it, and at c by the
# broadcast/multicast ones; the TAP
# sysctls are accept_ra = 0, accept_redirects = 0; afterwards b still pings
# c over IPv4 and IPv6 link-local, and a over IPv4, a pings b's link-local,
# and no honest frame was ever counted as spoofed (frame_spoofed 0 at a,
# and at b and c before the attack).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51931
VA=100.64.0.1 VB=100.64.0.2 VC=100.64.0.3
LINK_S=${LINK_S:-20}
ROUNDS=5

t_init lan_spoof
t_need python3

# ---------------------------------------------------------------- topology
t_ns sw; t_bridge sw br
t_ns a; t_attach sw br a 192.0.2.1/24
t_ns b; t_attach sw br b 192.0.2.2/24
t_ns c; t_attach sw br c 192.0.2.3/24
t_reach a 192.0.2.2; t_reach a 192.0.2.3; t_reach b 192.0.2.3

t_group lab
t_member lab a $VA/10
t_member lab b $VB/10
t_member lab c $VC/10
t_config a lab 0.0.0.0:$PORT 192.0.2.2:$PORT 192.0.2.3:$PORT
t_config b lab 0.0.0.0:$PORT 192.0.2.1:$PORT 192.0.2.3:$PORT
t_config c lab 0.0.0.0:$PORT 192.0.2.1:$PORT 192.0.2.2:$PORT

t_up a a; t_up b b; t_up c c
t_wait_link "$LINK_S" a $VB; t_wait_link "$LINK_S" a $VC
t_wait_link "$LINK_S" b $VC; t_wait_link "$LINK_S" b $VA
t_wait_link "$LINK_S" c $VA; t_wait_link "$LINK_S" c $VB
declare -A VIP=([a]=$VA [b]=$VB [c]=$VC)
for n in a b c; do
  wait_until 5 t_tap_ready "$n" "${VIP[$n]}" ||
    t_fail "TAP $(t_tapname "$n") in $n has no address ${VIP[$n]}" "$n"
done
t_log "links a-b, a-c, b-c up"

tap_mac() { t_in "$1" cat "/sys/class/net/$(t_tapname "$1")/address"; }
# link-local address of node $1's TAP, once it is no longer tentative
tap_ll() {
  t_in "$1" ip -6 -o addr show dev "$(t_tapname "$1")" scope link |
    grep -v tentative | awk '{print $4}' | cut -d/ -f1 | head -1
}
ll_ready() { [ -n "$(tap_ll "$1")" ]; }
# Frames refused as spoofed: unicast ones on the link (frame_spoofed),
# broadcast/multicast ones off the overlay's broadcast tree (bcast_bad,
# node/core/lan_bcast.c), which carries every group frame once the ring
# has formed.
spoofed() { status_json "$1" | jq -e '.counters.frame_spoofed + .counters.bcast_bad'; }

MA=$(tap_mac a) MB=$(tap_mac b) MC=$(tap_mac c)
for n in a b c; do wait_until 10 ll_ready "$n" || t_fail "$n: no usable IPv6 link-local address on its TAP" "$n"; done
LLA=$(tap_ll a) LLB=$(tap_ll b) LLC=$(tap_ll c)
TB=$(t_tapname b) TC=$(t_tapname c)
t_log "MACs a $MA b $MB c $MC; link-local a $LLA b $LLB c $LLC"

# The driver set the TAP's sysctls before bringing it up.
for n in a b c; do
  tap=$(t_tapname "$n")
  for k in ipv6/conf/$tap/accept_ra ipv6/conf/$tap/accept_redirects ipv4/conf/$tap/accept_redirects; do
    v=$(t_in "$n" cat "/proc/sys/net/$k")
    [ "$v" = 0 ] || t_fail "$n: /proc/sys/net/$k is $v, expected 0" "$n"
  done
done

# ---------------------------------------------------------------- honest traffic first
# b and c learn each other (and a) over IPv4 and IPv6 link-local.
wait_until 10 t_in b ping -n -c1 -W1 $VC || t_fail "b cannot ping c ($VC)" b c
wait_until 10 t_in b ping -n -c1 -W1 $VA || t_fail "b cannot ping a ($VA)" a b
wait_until 10 t_in c ping -n -c1 -W1 $VB || t_fail "c cannot ping b ($VB)" b c
wait_until 10 t_in b ping -6 -n -c1 -W1 "$LLC%$TB" || t_fail "b cannot ping c's link-local $LLC" b c
wait_until 10 t_in c ping -6 -n -c1 -W1 "$LLB%$TC" || t_fail "c cannot ping b's link-local $LLB" b c

# neigh_mac NODE DEV ADDR: the MAC NODE's kernel has for ADDR ("" for none)
neigh_mac() {
  t_in "$1" ip -o neigh show dev "$2" to "$3" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}' | head -1
}
[ "$(neigh_mac b "$TB" $VC)" = "$MC" ] || t_fail "b's ARP entry for $VC is '$(neigh_mac b "$TB" $VC)', expected c's $MC" b
[ "$(neigh_mac b "$TB" "$LLC")" = "$MC" ] || t_fail "b's ND entry for $LLC is '$(neigh_mac b "$TB" "$LLC")', expected c's $MC" b
[ "$(neigh_mac c "$TC" "$LLB")" = "$MB" ] || t_fail "c's ND entry for $LLB is '$(neigh_mac c "$TC" "$LLB")', expected b's $MB" c

snapshot() {   # snapshot NODE: routes, addresses, route cache (IPv6 and IPv4)
  local tap; tap=$(t_tapname "$1")
  t_in "$1" ip -6 route show table all | grep -v '^local\|^multicast\|^anycast' | sort
  t_in "$1" ip -6 -o addr show dev "$tap" | awk '{print $4}' | sort
  t_in "$1" ip -6 route show cache 2>/dev/null | sort
  t_in "$1" ip -4 route show table all | sort
}
snapshot b >"$T_DIR/b.before"; snapshot c >"$T_DIR/c.before"
SB0=$(spoofed b) || t_fail "b: no frame_spoofed counter" b
SC0=$(spoofed c) || t_fail "c: no frame_spoofed counter" c
SA0=$(spoofed a) || t_fail "a: no frame_spoofed counter" a
# What the members' kernels sent so far (ARP, DAD, router solicitations,
# MLD reports, ND, pings) is honest: none of it may have been dropped.
[ "$SA0" = 0 ] && [ "$SB0" = 0 ] && [ "$SC0" = 0 ] ||
  t_fail "honest traffic counted as spoofed before the attack: frame_spoofed a $SA0, b $SB0, c $SC0" a b c

# ---------------------------------------------------------------- the attack
t_in a python3 "$(dirname "$0")/lan_spoof_inject.py" "$(t_tapname a)" "$MA" "$MB" "$MC" \
  $VB $VC $ROUNDS >"$T_DIR/inject.log" 2>&1 ||
  { cat "$T_DIR/inject.log" >&2; t_fail "injecting frames into a's TAP failed" a; }
sed 's/^/    /' "$T_DIR/inject.log" >&2
sleep 2   # let every frame arrive (the links are on one switch: milliseconds)

# ---------------------------------------------------------------- nothing changed
# Every check runs; all that failed are listed together.
BAD=()
for n in b c; do
  tap=$(t_tapname "$n")
  while read -r line; do
    case "$line" in *"lladdr $MA"*)
      addr=${line%% *}
      [ "$addr" = "$VA" ] || [ "$addr" = "$LLA" ] ||
        BAD+=("$n's neighbour table maps $addr to a's MAC: $line");;
    esac
  done < <(t_in "$n" ip neigh show dev "$tap")   # IPv4 and IPv6
  snapshot "$n" >"$T_DIR/$n.after"
  diff -u "$T_DIR/$n.before" "$T_DIR/$n.after" >"$T_DIR/$n.diff" ||
    BAD+=("$n's routes, addresses or route cache changed: $(grep '^[-+][^-+]' "$T_DIR/$n.diff" | tr '\n' ';')")
done
[ "$(neigh_mac b "$TB" $VC)" = "$MC" ] || BAD+=("b's ARP entry for $VC is now '$(neigh_mac b "$TB" $VC)', not c's $MC")
[ "$(neigh_mac b "$TB" "$LLC")" = "$MC" ] || BAD+=("b's ND entry for $LLC is now '$(neigh_mac b "$TB" "$LLC")', not c's $MC")
[ "$(neigh_mac c "$TC" "$LLB")" = "$MB" ] || BAD+=("c's ND entry for $LLB is now '$(neigh_mac c "$TC" "$LLB")', not b's $MB")
if [ ${#BAD[@]} -gt 0 ]; then
  printf '  %s\n' "${BAD[@]}" >&2
  t_fail "a's spoofed frames changed ${#BAD[@]} thing(s) at b or c (listed above)" b c
fi

# Every frame reaches b (7 per round: 4 to it, 3 broadcast/multicast) and
# c gets the broadcast/multicast ones (3 per round); all are counted.
SB1=$(spoofed b) || t_fail "b: no frame_spoofed counter" b
SC1=$(spoofed c) || t_fail "c: no frame_spoofed counter" c
[ $((SB1 - SB0)) -ge $((7 * ROUNDS)) ] || t_fail "b's frame_spoofed grew by $((SB1 - SB0)), expected >= $((7 * ROUNDS))" b
[ $((SC1 - SC0)) -ge $((3 * ROUNDS)) ] || t_fail "c's frame_spoofed grew by $((SC1 - SC0)), expected >= $((3 * ROUNDS))" c
t_log "refused as spoofed (frame_spoofed + bcast_bad): b +$((SB1 - SB0)), c +$((SC1 - SC0)); no neighbour entry, route or address changed"

# ---------------------------------------------------------------- honest traffic still flows
t_ping b $VC 5 || { cat "$T_DIR/ping.log" >&2; t_fail "b -> c lost packets after the attack" b c; }
t_ping b $VA 5 || { cat "$T_DIR/ping.log" >&2; t_fail "b -> a lost packets after the attack" a b; }
t_in b ping -6 -n -q -c 3 -i 0.2 -W 1 "$LLC%$TB" >/dev/null || t_fail "b cannot ping c's link-local after the attack" b c
t_in a ping -6 -n -q -c 3 -i 0.2 -W 1 "$LLB%$(t_tapname a)" >/dev/null || t_fail "a cannot ping b's link-local (honest IPv6 from a dropped?)" a b
SA1=$(spoofed a) || t_fail "a: no frame_spoofed counter" a
[ "$SA1" = 0 ] || t_fail "a dropped $SA1 frame(s) from b or c as spoofed" a
t_check_alive a b c
t_log "all checks passed"
