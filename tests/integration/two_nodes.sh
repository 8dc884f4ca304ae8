#!/usr/bin/env bash
# Two members of one group in two namespaces joined by a veth, plus a third
# node certified by another group:
#
#   ns a  192.0.2.1/24 ----veth---- 192.0.2.2/24  ns b
#   100.64.0.1/10                                 100.64.0.2/10
#     | 203.0.113.1/24
#     veth
#     | 203.0.113.2/24
#   ns c  100.64.0.3/10  (certificate from group "other": must be refused)
#
# Checks: link comes up both ways; ping both ways with 0% loss; status --json
# fields (peer_vip, endpoint, path "direct", cipher, key_id, rtt_ms, counters
# that grow with the ping); restart of b gives a new handshake and working
# ping; c never gets a link, cannot ping or be pinged, and a logs the refusal.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51901
VA=100.64.0.1 VB=100.64.0.2 VC=100.64.0.3
LINK_S=${LINK_S:-20}     # deadline for a link to come up

t_init two_nodes

# ---------------------------------------------------------------- topology
t_ns a; t_ns b; t_ns c
t_veth a 192.0.2.1/24 b 192.0.2.2/24
t_veth a 203.0.113.1/24 c 203.0.113.2/24
# c reaches a's underlay address 192.0.2.1 through the second veth
t_in c ip route add 192.0.2.1/32 via 203.0.113.1
t_reach a 192.0.2.2
t_reach c 192.0.2.1

# ---------------------------------------------------------------- keys
t_group lab
t_group evil lab        # another group key that even uses the same name
t_member lab a $VA/10
t_member lab b $VB/10
t_member evil c $VC/10

t_config a lab 0.0.0.0:$PORT 192.0.2.2:$PORT 203.0.113.2:$PORT
t_config b lab 0.0.0.0:$PORT 192.0.2.1:$PORT
t_config c evil 0.0.0.0:$PORT 192.0.2.1:$PORT

# ---------------------------------------------------------------- link up
t_up a a
t_up b b
t_wait_link "$LINK_S" a $VB
t_wait_link "$LINK_S" b $VA
t_check_alive a b
t_log "link a <-> b up"

wait_until 5 t_tap_ready a $VA || t_fail "TAP $(t_tapname a) in a has no address $VA" a
wait_until 5 t_tap_ready b $VB || t_fail "TAP $(t_tapname b) in b has no address $VB" b

# ---------------------------------------------------------------- status fields
# check_status NODE OWN_VIP PEER_VIP PEER_ENDPOINT
check_status() {
  local n=$1 own=$2 peer=$3 ep=$4 js
  js=$(status_json "$n") || t_fail "status --json of $n failed or is not JSON" "$n"
  printf '%s\n' "$js" | jq -e --arg own "$own" --arg tap "$(t_tapname "$n")" '
      (.id | type == "string" and length > 0)
      and ((.vip // "") | split("/")[0] == $own)
      and (.tap == $tap)
      and (.links | type == "array")
      and (.ring | type == "object")' >/dev/null ||
    { printf '%s\n' "$js" >&2; t_fail "$n: status top-level fields (id, vip=$own, tap, links, ring) wrong"; }
  printf '%s\n' "$js" | jq -e --arg peer "$peer" --arg ep "$ep" '
      first(.links[] | select((.peer_vip // "" | split("/")[0]) == $peer))
      | (.peer_id | type == "string" and length > 0)
        and (.endpoint == $ep)
        and (.path == "direct")
        and (.cipher | type == "string" and test("aes-256-gcm|chacha20-poly1305"; "i"))
        and (.key_id | type == "number" and . >= 0 and . <= 7)
        and (.rtt_ms | type == "number" and . >= 0 and . < 1000)
        and (.rx_bytes | type == "number" and . > 0)
        and (.tx_bytes | type == "number" and . > 0)
        and (.last_handshake_s | type == "number" and . >= 0)' >/dev/null ||
    { printf '%s\n' "$js" >&2; t_fail "$n: link to $peer: expected peer_id, endpoint=$ep, path=direct, cipher AES-256-GCM/ChaCha20-Poly1305, key_id 0..7, rtt_ms, rx/tx_bytes > 0, last_handshake_s"; }
}
check_status a $VA $VB 192.0.2.2:$PORT
check_status b $VB $VA 192.0.2.1:$PORT
t_log "status fields ok: $(t_link a $VB | jq -c '{peer_vip, endpoint, path, cipher, key_id, rtt_ms}')"

# ---------------------------------------------------------------- ping
# The first frames may wait for ARP; warm up, then demand 0% loss.
wait_until 10 t_in a ping -n -c1 -W1 $VB || t_fail "a cannot ping $VB at all" a b
if ! rx0=$(t_field a $VB .rx_bytes) || ! tx0=$(t_field a $VB .tx_bytes); then t_fail "a: no counters for b" a; fi
t_ping a $VB 10 || { cat "$T_DIR/ping.log" >&2; t_fail "ping a -> b lost packets" a b; }
t_ping b $VA 10 || { cat "$T_DIR/ping.log" >&2; t_fail "ping b -> a lost packets" a b; }
if ! rx1=$(t_field a $VB .rx_bytes) || ! tx1=$(t_field a $VB .tx_bytes); then t_fail "a: link to b vanished after ping" a; fi
# 20 echo requests + 20 replies through a's link: >= 20 packets of 84 bytes
# (IP; 98 as Ethernet frames, more as datagrams) in each direction
if [ $((rx1 - rx0)) -lt 1680 ] || [ $((tx1 - tx0)) -lt 1680 ]; then
  t_fail "a's counters for b did not grow with 40 pings: rx $rx0 -> $rx1, tx $tx0 -> $tx1" a
fi
t_log "ping both ways 0% loss; a's link to b: rx +$((rx1 - rx0)) B, tx +$((tx1 - tx0)) B"

# ---------------------------------------------------------------- restart b
# Let the first handshake age, so a new one is recognisable by its age.
# (last_handshake_s may be fractional: compare in jq)
hs_age_at_least() { t_link a $VB | jq -e --argjson s "$1" '.last_handshake_s >= $s' >/dev/null; }
hs_age_below() { t_link a $VB | jq -e --argjson s "$1" '.last_handshake_s < $s' >/dev/null; }
wait_until 10 hs_age_at_least 3 ||
  t_fail "a's last_handshake_s for b does not grow (now $(t_field a $VB .last_handshake_s || echo none))" a
t_down b
t_up b b
t_wait_link "$LINK_S" b $VA
wait_until "$LINK_S" hs_age_below 3 ||
  t_fail "after b restarted, a shows no new handshake with b (last_handshake_s $(t_field a $VB .last_handshake_s || echo none))" a b
wait_until 10 t_in b ping -n -c1 -W1 $VA || t_fail "after restart b cannot ping $VA" a b
t_ping a $VB 5 || { cat "$T_DIR/ping.log" >&2; t_fail "after restart: ping a -> b lost packets" a b; }
t_ping b $VA 5 || { cat "$T_DIR/ping.log" >&2; t_fail "after restart: ping b -> a lost packets" a b; }
t_check_alive a b
t_log "restart of b: new handshake, ping works again"

# ---------------------------------------------------------------- foreign group
t_up c c
REFUSAL='refus|foreign|another group|EFOREIGN'
refusal_logged() { grep -Eiq "$REFUSAL" "$T_DIR/a.log"; }
# c sends handshakes to a (and a to c); a must refuse c's certificate
wait_until 15 refusal_logged ||
  t_fail "a's log does not mention refusing c (grep -Ei '$REFUSAL')" a c
t_check_alive a b c
if t_in c ping -n -q -c 3 -i 0.3 -W 1 -w 4 $VA >/dev/null 2>&1; then t_fail "c (other group) can ping a" a c; fi
if t_in a ping -n -q -c 3 -i 0.3 -W 1 -w 4 $VC >/dev/null 2>&1; then t_fail "a can ping c (other group)" a c; fi
if t_in b ping -n -q -c 2 -i 0.3 -W 1 -w 3 $VC >/dev/null 2>&1; then t_fail "b can ping c (other group)" b c; fi
if t_link a $VC >/dev/null 2>&1; then t_fail "a lists a link to c (other group): $(t_link a $VC | jq -c .)" a c; fi
if t_link b $VC >/dev/null 2>&1; then t_fail "b lists a link to c (other group)" b c; fi
if st=$(status_json c 2>/dev/null) && printf '%s\n' "$st" |
     jq -e --arg v $VA 'any(.links[]?; (.peer_vip // "" | split("/")[0]) == $v
                              and ((.last_handshake_s | type) == "number"))' >/dev/null; then
  t_fail "c shows an established link to a" a c
fi
t_log "c (other group) refused: $(grep -Eim1 "$REFUSAL" "$T_DIR/a.log")"

# a <-> b unaffected
t_ping a $VB 3 || t_fail "a -> b broken after c's attempts" a b
t_check_alive a b c
t_log "all checks passed"
