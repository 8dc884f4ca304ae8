#!/usr/bin/env bash
# Every pair of NAT classes: one ringlan member per site of the test bed
# (natlab.sh, built once for all pairs), one public bootstrap member in the
# core. For every pair it pings over the virtual LAN, records which path the
# pinging member's status shows (direct / overlay / relay ...), and prints
# a table (also in $T_DIR/pairs.tsv; T_KEEP=1 keeps it).
#
#                                core
#   +-------+-------+-------+-------+-------+-------+-------+-------+
#  boot    pub     fcr     prr     pr2r    syr     sy2r    upr     blr
#  .0.2.5  .0.2.10  |       |       |       |       |       |       |
#  (seed)  (e)     fc (a)  pr (b)  pr2 (b) sy (c)  sy2 (c) up (d)  bl (f)
#
# (b) port-restricted cone: two ordinary home routers without port mapping;
# (c) symmetric; (d) miniupnpd, up asks it for a mapping; (f) blocks all UDP:
# bl reaches the group over TCP only (TCP links to the members that accept
# TCP from outside, relays for the rest).
#
# Members listen on the documented default, the wildcard 0.0.0.0:PORT
# (LISTEN=host binds each member's own address instead, for diagnosis).
#
# What must pass (the test fails on anything else):
#  - every member joins (a link to boot) and up gets its UPnP mapping;
#  - every pair pings PING_MIN/10 (default 10: all echo replies);
#  - EXPECT_DIRECT: a direct link for the pairs RFC 4787 lets punch without
#    guessing ports: the public member with anyone, the full cone with
#    anyone, and the two port-restricted cones (simultaneous punching);
#    port-restricted <-> symmetric by birthday probing (docs/nat.md); the
#    public member and bl over TCP;
#  - EXPECT_RELAY: symmetric <-> symmetric through a relay, and bl with the
#    members that accept no TCP from outside (its only way);
# Recorded only: the paths of the pairs with up (its mapped port admits
# anyone, the core does not always try it first).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/natlab.sh
. "$(dirname "$0")/natlab.sh"

PORT=51920
JOIN_S=${JOIN_S:-40}
PING_S=${PING_S:-20}
PING_MIN=${PING_MIN:-10}
DIRECT_S=${DIRECT_S:-30} # relay -> direct upgrade (retries back off from 5 s)
RELAY_S=${RELAY_S:-15}   # overlay -> relay (relay_after 5 s, then a tick)
LISTEN=${LISTEN:-wildcard}
MEMBERS=(pub fc pr pr2 sy sy2 up bl)
declare -A VIP=([boot]=100.64.4.1 [pub]=100.64.4.2 [fc]=100.64.4.3 [pr]=100.64.4.4
                [sy]=100.64.4.5 [up]=100.64.4.6 [pr2]=100.64.4.7 [sy2]=100.64.4.8
                [bl]=100.64.4.9)
# Unordered pairs, "a b" with a before b in MEMBERS.
EXPECT_DIRECT=("pub fc" "pub pr" "pub pr2" "pub sy" "pub sy2" "pub up"
               "fc pr" "fc pr2" "fc sy" "fc sy2" "fc up" "pr pr2"
               "pr sy" "pr sy2" "pr2 sy" "pr2 sy2" "pub bl")
EXPECT_RELAY=("sy sy2" "fc bl" "pr bl" "pr2 bl" "sy bl" "sy2 bl")
EXPECT_NOT_OVERLAY=()

t_init nat_pairs
t_need miniupnpd conntrack
nl_core
nl_public boot 192.0.2.5
nl_sites_standard

t_group lan
NO_PM=$'[nat]\nupnp = no\nnatpmp = no'
listen_of() { if [ "$LISTEN" = host ]; then echo "${NL_HOST[$1]}:$PORT"; else echo "0.0.0.0:$PORT"; fi; }
t_member lan boot "${VIP[boot]}/10"
T_CONF_EXTRA=$NO_PM t_config boot lan "$(listen_of boot)"
for m in "${MEMBERS[@]}"; do
  t_member lan "$m" "${VIP[$m]}/10"
  nat=$NO_PM; [ "$m" = up ] && nat=$'[nat]\nupnp = yes\nnatpmp = no'
  T_CONF_EXTRA=$'bootstrap = 192.0.2.5:'$PORT$'\n'$nat t_config $m lan "$(listen_of $m)"
done
t_up boot boot
for m in "${MEMBERS[@]}"; do t_up $m $m; done

has_links() { status_json "$1" | jq -e '[.links[]? | select((.last_handshake_s | type) == "number")] | length > 0' >/dev/null; }
for m in "${MEMBERS[@]}"; do
  wait_until "$JOIN_S" has_links $m || t_fail "$m did not join within $JOIN_S s" $m boot
done
wait_until 30 grep -q "port mapping up: 203.0.113.14:$PORT" "$T_DIR/up.log" || t_fail "up got no mapping" up
t_log "all members joined; up has its mapping"

# paths FROM VIP: the paths of FROM's established links to VIP, e.g. "direct,overlay".
paths() {
  status_json "$1" | jq -r --arg v "$2" '[.links[]? | select((.peer_vip // "" | split("/")[0]) == $v
    and ((.last_handshake_s | type) == "number")) | .path] | unique | join(",")'
}

# ping_count FROM VIP: echo replies out of 10 (prints the number).
ping_count() {
  ip netns exec "${T_NODE_NS[$1]}" ping -n -q -c 10 -i 0.2 -W 2 -w 15 "$2" 2>/dev/null |
    awk '/packets transmitted/ {print $4; exit}'
}
in_list() { local x=$1 e; shift; for e in "$@"; do [ "$e" = "$x" ] && return 0; done; return 1; }

has_path() { [[ ",$(paths "$1" "$2" || true)," == *,$3,* ]]; }
relayed_or_direct() { has_path "$1" "$2" relay || has_path "$1" "$2" direct; }

# counters NODE: what a lookup, a punch or the routed-message caps did.
counters() {
  status_json "$1" | jq -c '.counters | {arp_answered, resolve_failed, connects_on_demand,
    punches_sent, punches_received, routed_unsigned, routed_bad_origin, punches_capped,
    gets_capped, punch_links_capped, cands_refused, routed_replayed, ov_dials_capped,
    bday_over_budget}' 2>/dev/null || echo "(no status)"
}

fails=0
printf 'from\tto\treplies\tpaths\texpect\n' >"$T_DIR/pairs.tsv"
for ((i = 0; i < ${#MEMBERS[@]}; i++)); do
  for ((j = i + 1; j < ${#MEMBERS[@]}; j++)); do
    a=${MEMBERS[$i]} b=${MEMBERS[$j]} got=0 expect=ping
    in_list "$a $b" "${EXPECT_DIRECT[@]}" && expect=direct
    in_list "$a $b" "${EXPECT_RELAY[@]}" && expect=relay
    in_list "$a $b" "${EXPECT_NOT_OVERLAY[@]}" && expect=relay/direct
    if wait_until "$PING_S" t_in $a ping -n -c1 -W1 "${VIP[$b]}"; then
      got=$(ping_count $a "${VIP[$b]}"); got=${got:-0}
    fi
    # A punchable pair may ride a relay first (punching needs both reflexive
    # addresses, learned in the first seconds) and upgrade in the
    # background; a relay is chosen 5 s after the end-to-end session is up.
    # Wait for those, bounded (not when the pair does not ping at all: it
    # fails anyway, and the suite's time matters).
    [ "$got" -gt 0 ] || expect="$expect(no ping)"
    case $expect in
    direct) wait_until "$DIRECT_S" has_path $a "${VIP[$b]}" direct || true ;;
    relay) wait_until "$RELAY_S" has_path $a "${VIP[$b]}" relay || true ;;
    relay/direct) wait_until "$RELAY_S" relayed_or_direct $a "${VIP[$b]}" || true ;;
    esac
    p=$(paths $a "${VIP[$b]}" || true)
    printf '%s\t%s\t%s/10\t%s\t%s\n' $a $b "$got" "${p:--}" "$expect" >>"$T_DIR/pairs.tsv"
    why=""
    expect=${expect%(no ping)}
    if [ "$got" -lt "$PING_MIN" ]; then why="$got/10 echo replies"
    elif [ $expect = direct ] && [[ ",$p," != *,direct,* ]]; then why="expected a direct link"
    elif [ $expect = relay ] && [[ ",$p," != *,relay,* ]]; then why="expected a relay"
    elif [ $expect = relay/direct ] && [[ ",$p," != *,relay,* && ",$p," != *,direct,* ]]; then
      why="expected a relay or a direct link"
    fi
    if [ -n "$why" ]; then
      t_say "FAIL $a -> $b: $why, paths: ${p:--}"; fails=$((fails + 1))
      for n in $a $b; do t_say "  $n: $(counters $n)"; done
    fi
  done
done
column -t "$T_DIR/pairs.tsv" >&2 || cat "$T_DIR/pairs.tsv" >&2
# Legitimate traffic must never hit the routed-message caps, the replay
# cache, the ring-link dial budget or the birthday budget, nor fail an
# origin check (docs/security.md, finding 2): said here, checked below.
capped=0
for m in boot "${MEMBERS[@]}"; do
  c=$(counters $m); t_log "$m: $c"
  k=$(printf '%s' "$c" | jq '(.routed_bad_origin // 0) + (.punches_capped // 0) + (.gets_capped // 0) +
    (.punch_links_capped // 0) + (.routed_replayed // 0) + (.ov_dials_capped // 0) +
    (.bday_over_budget // 0)' 2>/dev/null || echo 0)
  capped=$((capped + k))
done
t_check_alive boot "${MEMBERS[@]}"
[ $fails = 0 ] || t_fail "$fails pair(s) below what this commit supports (see the table)"
[ "$capped" = 0 ] || t_fail "legitimate messages dropped by an origin check, the replay cache or a budget: $capped (counters above)"
