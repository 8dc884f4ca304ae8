#!/usr/bin/env bash
# Members that know only a bootstrap node find each other through the
# overlay: five nodes on one bridge, node 1 is the seed (no peers), nodes
# 2..5 have `bootstrap = 192.0.2.1:PORT` and no [peer] at all.
#
#          bridge 192.0.2.0/24 (namespace sw)
#     +--------+--------+--------+--------+
#     n1       n2       n3       n4       n5      192.0.2.N, 100.64.2.N
#   (seed)
#
# Checks: every node joins (has at least one link); the ring converges
# (each node's first successor / predecessor are its neighbours in ID order);
# members that were never
# told about each other ping each other over the virtual LAN (the address is
# resolved through the DHT, frames go over the overlay or an on-demand link),
# 0% loss once they reach each other.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51903
N=5
JOIN_S=${JOIN_S:-30}

t_init overlay_join
t_ns sw; t_bridge sw br
t_group lan
for i in $(seq $N); do
  t_ns "n$i"; t_attach sw br "n$i" "192.0.2.$i/24"
  t_member lan "n$i" "100.64.2.$i/10"
  if [ "$i" = 1 ]; then T_CONF_EXTRA=""; else T_CONF_EXTRA="bootstrap = 192.0.2.1:$PORT"; fi
  t_config "n$i" lan "0.0.0.0:$PORT"
done
T_CONF_EXTRA=""
t_reach n5 192.0.2.1

for i in $(seq $N); do t_up "n$i" "n$i"; done

has_links() { status_json "$1" | jq -e '[.links[]? | select((.last_handshake_s | type) == "number")] | length > 0' >/dev/null; }
for i in $(seq $N); do
  wait_until "$JOIN_S" has_links "n$i" || t_fail "n$i has no link after $JOIN_S s" "n$i" n1
done
t_check_alive n1 n2 n3 n4 n5
t_log "all $N nodes have links"

# The ring converges: every node has joined, its first successor is the next
# overlay ID clockwise and its predecessor the previous one.
ring_ok() {
  local i ids js
  ids=$(for i in $(seq $N); do status_json "n$i" | jq -r .id || return 1; done | sort)
  [ "$(printf '%s\n' "$ids" | grep -c .)" = "$N" ] || return 1
  for i in $(seq $N); do
    js=$(status_json "n$i") || return 1
    printf '%s\n' "$js" | jq -e --argjson ids "$(printf '%s\n' "$ids" | jq -R . | jq -s .)" '
      .id as $me | ($ids | index($me)) as $k | ($ids | length) as $n
      | .ring.joined == true
        and .ring.successors[0] == $ids[($k + 1) % $n]
        and .ring.predecessor == $ids[($k + $n - 1) % $n]' >/dev/null || return 1
  done
}
wait_until "$JOIN_S" ring_ok || {
  for i in $(seq $N); do status_json "n$i" | jq -c '{id, ring}' >&2 || true; done
  t_fail "the ring did not converge (successor/predecessor) within $JOIN_S s"
}
t_log "ring converged: successors and predecessors consistent"

# pairs that only share the seed
for pair in "2 5" "5 2" "3 4" "4 3" "2 3" "5 1" "1 4"; do
  from=n${pair% *} to=100.64.2.${pair#* }
  wait_until "$JOIN_S" t_in "$from" ping -n -c1 -W1 "$to" ||
    t_fail "$from cannot reach $to over the virtual LAN within $JOIN_S s" "$from" "n${pair#* }" n1
  t_ping "$from" "$to" 5 || { cat "$T_DIR/ping.log" >&2; t_fail "ping $from -> $to lost packets" "$from" "n${pair#* }"; }
done
t_check_alive n1 n2 n3 n4 n5
