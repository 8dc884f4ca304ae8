#!/usr/bin/env bash
# Every pair of NAT classes: one ringlan member per site of the test bed
# (natlab.sh), one public bootstrap member in the core. For every pair it
# records whether ping works over the virtual LAN and which path the
# pinging member's status shows (direct / overlay / relay ...), and prints
# a table (also in $T_DIR/pairs.tsv; T_KEEP=1 keeps it).
#
#                     core
#   +--------+--------+--------+--------+--------+
#  boot     pub      fcr      prr      syr      upr (miniupnpd)
#  .0.2.5   .0.2.10   |        |        |        |
#  (seed)   (e)      fc (a)   pr (b)   sy (c)   up (d, upnp = yes)
#
# What must pass at this commit (EXPECT below; the test fails only on these),
# as seen on the commit that added this test (several runs):
#  - every member joins (a link to boot) and up gets its UPnP mapping;
#  - every pair with the public member pub pings with 0% loss over a
#    *direct* link (the NATed side dials pub; replies pass its NAT).
# Recorded only ("info"), to be tightened as the node core's reflexive
# addresses, candidate choice, hole punching and relays land (move pairs
# into EXPECT then). Seen at this commit:
#  - pairs with up (UPnP mapping): direct when the dialling side used up's
#    DHT NODE record (mapped candidate first); but members also dial the
#    listen address from the overlay's node descriptor (192.168.14.2, not
#    reachable) and retry it, so pr->up, sy->up fail in some runs, fc->up
#    mostly works (up dials fc's full-cone binding);
#  - fc<->pr, fc<->sy: sometimes over the overlay, often not at all;
#    pr<->sy: no ping (nobody publishes a reachable candidate yet; pr<->sy
#    and fc<->sy need a relay or birthday probing: docs/nat.md,
#    /work/shared/nat/notes.md).
# A pair recorded as "info" that passes is printed as such (not a failure).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/natlab.sh
. "$(dirname "$0")/natlab.sh"

PORT=51920
JOIN_S=${JOIN_S:-40}
PING_S=${PING_S:-20}
MEMBERS=(pub fc pr sy up)
declare -A VIP=([boot]=100.64.4.1 [pub]=100.64.4.2 [fc]=100.64.4.3 [pr]=100.64.4.4
                [sy]=100.64.4.5 [up]=100.64.4.6)
# Pairs that must ping over a direct link now (unordered, "a b" with a
# before b in MEMBERS); every other pair is info only.
EXPECT=("pub fc" "pub pr" "pub sy" "pub up")

t_init nat_pairs
t_need miniupnpd conntrack
nl_core
nl_public boot 192.0.2.5
nl_public pub 192.0.2.10
nl_site fc fullcone 198.51.100.11 11
nl_site pr prc 198.51.100.12 12
nl_site sy sym 198.51.100.13 13
nl_site up upnp 203.0.113.14 14
nl_selfcheck pub fc pr sy up

t_group lan
NO_PM=$'[nat]\nupnp = no\nnatpmp = no'
t_member lan boot ${VIP[boot]}/10
T_CONF_EXTRA=$NO_PM t_config boot lan 192.0.2.5:$PORT
for m in "${MEMBERS[@]}"; do
  t_member lan $m "${VIP[$m]}/10"
  nat=$NO_PM; [ $m = up ] && nat=$'[nat]\nupnp = yes\nnatpmp = no'
  T_CONF_EXTRA=$'bootstrap = 192.0.2.5:'$PORT$'\n'$nat t_config $m lan "${NL_HOST[$m]}:$PORT"
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

fails=0
printf 'from\tto\tping\tpaths\texpect\n' >"$T_DIR/pairs.tsv"
for ((i = 0; i < ${#MEMBERS[@]}; i++)); do
  for ((j = i + 1; j < ${#MEMBERS[@]}; j++)); do
    a=${MEMBERS[$i]} b=${MEMBERS[$j]} ping=no expect=info
    for e in "${EXPECT[@]}"; do [ "$e" = "$a $b" ] && expect=ping+direct; done
    # info pairs get a shorter wait: they are expected to fail today
    wait_s=$PING_S; [ $expect = info ] && wait_s=$(( PING_S / 2 ))
    if wait_until "$wait_s" t_in $a ping -n -c1 -W1 "${VIP[$b]}" && t_ping $a "${VIP[$b]}" 5; then
      ping=yes
    fi
    p=$(paths $a "${VIP[$b]}" || true)
    printf '%s\t%s\t%s\t%s\t%s\n' $a $b $ping "${p:--}" "$expect" >>"$T_DIR/pairs.tsv"
    if [ $expect = info ]; then
      [ $ping = no ] || t_say "note: $a -> $b pings now (paths ${p:--}); consider moving it into EXPECT"
    elif [ $ping != yes ]; then
      t_say "FAIL $a -> $b: no ping"; fails=$((fails + 1))
    elif [[ ",$p," != *,direct,* ]]; then
      t_say "FAIL $a -> $b: expected a direct link, paths: ${p:--}"; fails=$((fails + 1))
    fi
  done
done
column -t "$T_DIR/pairs.tsv" >&2 || cat "$T_DIR/pairs.tsv" >&2
t_check_alive boot "${MEMBERS[@]}"
[ $fails = 0 ] || t_fail "$fails pair(s) below what this commit supports (see the table)"
