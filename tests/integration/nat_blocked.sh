#!/usr/bin/env bash
# A member on a site that blocks UDP (issue 9, item 5): it reaches the whole
# LAN through TCP links to the members that accept TCP (every member listens
# on TCP at its `listen` address by default, docs/config.md), which relay
# for it toward the members it cannot dial (docs/protocol.md, "TCP").
#
#                              core (natlab.sh)
#      +-------------+-------------+-----------------+------------------+
#     boot          pub           cnr                blr
#   192.0.2.5     192.0.2.10    198.51.100.12      198.51.100.16
#   (bootstrap)   (public)        | port-restr.      | masquerade, drops ALL UDP
#                               cn 192.168.12.2    bl 192.168.16.2
#
# Every member uses the documented defaults: listen = 0.0.0.0:42424 (TCP on
# the same port), bootstrap = 192.0.2.5:42424 (UDP; bl falls back to TCP at
# the same address after 3 unanswered handshake tries). Port mapping is off
# (no IGD in this bed).
#
# Checks (the test fails on any):
#  1. every member joins (an established link), bl over TCP only: each of
#     its direct links has a tcp: endpoint, and its router dropped UDP;
#  2. the four members form one consistent Chord ring;
#  3. bl pings every other member 10/10 and every other member pings bl
#     10/10 (after a first echo within PING_S: paths are set up on demand);
#  4. bl and cn (which accepts no TCP from outside its NAT) end on a relay
#     through a public member, both ways, within RELAY_S (overlay routing
#     carries them until then).
# Recorded ($T_DIR/pairs.tsv, printed): the path of each pair with bl.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/natlab.sh
. "$(dirname "$0")/natlab.sh"

PORT=42424 # the default
JOIN_S=${JOIN_S:-40}
RING_S=${RING_S:-60}
RELAY_S=${RELAY_S:-30}
PING_S=${PING_S:-30}
MEMBERS=(boot pub cn bl)
declare -A VIP=([boot]=100.64.6.1 [pub]=100.64.6.2 [cn]=100.64.6.3 [bl]=100.64.6.4)

# nb_blocked_site NAME WAN_IP X: router NAMEr (WAN_IP) and host NAME
# (192.168.X.2) behind it; the router masquerades TCP (and ICMP) like a
# home router and drops every UDP packet in both directions, as campus and
# corporate firewalls that allow only web traffic do. (A site class of its
# own here: natlab.sh's classes all pass UDP.)
nb_blocked_site() {
  local s=$1 wan=$2 lan="192.168.$3" r="${1}r" wif lif
  t_ns "$r"; t_ns "$s"
  nl_wan "$r" "$wan"; wif=$NL_IF
  t_veth "$r" "$lan.1/24" "$s" "$lan.2/24"; lif=$T_IF1
  t_in "$s" ip route add default via "$lan.1"
  nl_sysctl "$r" "net.ipv4.ip_forward" 1
  # shellcheck disable=SC2034  # NL_* are natlab.sh's tables
  NL_KIND[$s]=blocked NL_WAN[$s]=$wan NL_HOST[$s]=$lan.2
  t_in "$r" nft -f - <<NFT || t_fail "nftables (UDP-blocking site) in $(t_nsname "$r")"
table ip nat {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "$wif" ip saddr $lan.0/24 masquerade; }
}
table ip filter {
  counter udp_dropped { }
  chain forward {
    type filter hook forward priority filter; policy drop;
    meta l4proto udp counter name udp_dropped drop
    ct state established,related accept
    iifname "$lif" oifname "$wif" accept
  }
  chain input {
    type filter hook input priority filter; policy drop;
    meta l4proto udp drop
    ct state established,related accept
    iifname "lo" accept
    iifname "$lif" accept
  }
}
NFT
}

udp_dropped() {
  t_in blr nft list counter ip filter udp_dropped | awk '/packets/ {print $2; exit}'
}

t_init nat_blocked
nl_core
nl_public boot 192.0.2.5
nl_public pub 192.0.2.10
nl_site cn prc 198.51.100.12 12
nb_blocked_site bl 198.51.100.16 16

t_group lan
NO_PM=$'[nat]\nupnp = no\nnatpmp = no'
[ "${NB_DEBUG:-0}" = 1 ] && NO_PM=$'log_level = debug\n'$NO_PM # (post-mortems)
for m in "${MEMBERS[@]}"; do
  t_member lan "$m" "${VIP[$m]}/10"
  boot=$'bootstrap = 192.0.2.5:'$PORT$'\n'; [ "$m" = boot ] && boot=
  T_CONF_EXTRA=$boot$NO_PM t_config "$m" lan "0.0.0.0:$PORT"
done
for m in "${MEMBERS[@]}"; do t_up "$m" "$m"; done

# 1. joined; bl over TCP only
has_links() { status_json "$1" | jq -e '[.links[]? | select(.state == "established")] | length > 0' >/dev/null; }
for m in "${MEMBERS[@]}"; do
  wait_until "$JOIN_S" has_links "$m" || t_fail "$m did not join within $JOIN_S s" "$m" boot
done
t_log "all members joined"
tcp_mode() { status_json "$1" | jq -e '.nat.tcp_mode == true' >/dev/null; }
wait_until 5 tcp_mode bl || t_fail "bl is not in TCP mode" bl # (set on the next NAT tick)
udp_direct=$(status_json bl | jq -r '[.links[]? | select(.path == "direct" and .state == "established"
  and (.endpoint | startswith("tcp:") | not)) | .endpoint] | join(" ")')
[ -z "$udp_direct" ] || t_fail "bl has established UDP links despite the blocked site: $udp_direct" bl
dropped=$(udp_dropped); dropped=${dropped:-0}
[ "$dropped" -gt 0 ] || t_fail "blr dropped no UDP: the site does not block it (or bl sent none)"
t_log "bl: TCP mode, no UDP link; blr dropped $dropped UDP packets"

# 2. one consistent ring (IDs sorted: each member's first successor is the
# next, whose predecessor is this one)
ring_ok() {
  local m
  for m in "${MEMBERS[@]}"; do
    status_json "$m" | jq -c --arg n "$m" '{n: $n, id, joined: (.ring.joined // false),
      succ: (.ring.successors[0] // null), pred: (.ring.predecessor // null)}' || return 1
  done >"$T_DIR/ring.json"
  jq -r -s 'sort_by(.id) as $r | ($r | length) as $k
    | [range(0; $k) as $i | $r[$i] as $a | $r[($i + 1) % $k] as $b
       | select(($a.joined | not) or $a.succ != $b.id or $b.pred != $a.id)
       | "\($a.n) -> \($b.n): joined \($a.joined), succ \($a.succ // "-" | .[0:8]), next pred \($b.pred // "-" | .[0:8])"]
    | if length == 0 then "ok" else .[] end' "$T_DIR/ring.json" >"$T_DIR/ring.why"
  [ "$(cat "$T_DIR/ring.why")" = ok ]
}
wait_until "$RING_S" ring_ok ||
  { cat "$T_DIR/ring.why" >&2; status_json bl >"$T_DIR/bl.status.json" || true; t_fail "no consistent ring within $RING_S s" "${MEMBERS[@]}"; }
t_log "ring consistent (${#MEMBERS[@]} members)"

# 3. pings both ways, 10/10
paths() {
  status_json "$1" | jq -r --arg v "$2" '[.links[]? | select((.peer_vip // "" | split("/")[0]) == $v
    and .state == "established") | "\(.path)@\(.endpoint)"] | unique | join(",")'
}
ping_count() {
  ip netns exec "${T_NODE_NS[$1]}" ping -n -q -c 10 -i 0.2 -W 2 -w 15 "$2" 2>/dev/null |
    awk '/packets transmitted/ {print $4; exit}'
}
fails=0
printf 'from\tto\treplies\tpaths(from)\n' >"$T_DIR/pairs.tsv"
for m in boot pub cn; do
  for pair in "bl $m" "$m bl"; do
    read -r a b <<<"$pair"
    got=0
    if wait_until "$PING_S" t_in "$a" ping -n -c1 -W1 "${VIP[$b]}"; then
      got=$(ping_count "$a" "${VIP[$b]}"); got=${got:-0}
    fi
    p=$(paths "$a" "${VIP[$b]}" || true)
    printf '%s\t%s\t%s/10\t%s\n' "$a" "$b" "$got" "${p:--}" >>"$T_DIR/pairs.tsv"
    if [ "$got" -ne 10 ]; then
      t_say "FAIL $a -> $b: $got/10 echo replies (paths: ${p:--})"; fails=$((fails + 1))
    fi
  done
done
column -t -s $'\t' "$T_DIR/pairs.tsv" >&2 2>/dev/null || cat "$T_DIR/pairs.tsv" >&2
t_check_alive "${MEMBERS[@]}"
[ "$fails" = 0 ] || t_fail "$fails of 6 directions with bl did not answer 10/10" "${MEMBERS[@]}"
t_log "bl <-> every member: 10/10 both ways"

# 4. bl <-> cn relayed
relayed() { [[ ",$(paths "$1" "$2" || true)," == *,relay@* ]]; }
for pair in "bl cn" "cn bl"; do
  read -r a b <<<"$pair"
  wait_until "$RELAY_S" relayed "$a" "${VIP[$b]}" ||
    t_fail "$a -> $b not relayed within $RELAY_S s (paths: $(paths "$a" "${VIP[$b]}" || true))" "$a" "$b"
done
t_log "bl <-> cn relayed ($(status_json bl | jq -r --arg v "${VIP[cn]}" '.links[]? | select(.peer_vip == $v and .path == "relay") | .relay[0:8]' | head -1))"
