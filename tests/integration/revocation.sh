#!/usr/bin/env bash
# Revocation (docs/security.md, "Revocation (finding 4)"): a member revoked
# by the group key is cut off everywhere, for good, and its virtual IP can
# be issued to a new member.
#
#                 bridge 198.51.100.0/24 (namespace sw)
#     +--------+--------+-- ... --+--------+
#     m1       m2       m3        m12      m13 (joins in step 5)
#   198.51.100.N, VIP 100.64.13.N/10; m1 is the bootstrap node of the
#   others; every member listens on the documented default wildcard address
#   with a state directory (LMDB). The victim is m7 (100.64.13.7).
#
# 1. start m1..m12, wait until all joined; m7 pings every other member and
#    every other member pings m7 (so sessions with m7 exist everywhere).
# 2. `ringlan group revoke --cert m7.cert` (group key holder, offline), then
#    `ringlan revoke m7.rev` on m3 only. Within 60 s (REVOKE_S) every other
#    member reports the revocation (status counters.revoked) and holds no
#    established link to m7; pings m7 -> m2 and m2 -> m7 fail; `ringlan
#    lookup <m7's ID>` on m11 answers the revocation (the DHT copy).
# 3. m7 restarts with its (valid, not expired) certificate: it cannot
#    rejoin; after 30 s nobody holds a link to it, pings still fail.
# 4. m5 restarts: the revocation comes back from its LMDB store at once
#    (counters.revoked = 1 in its first status).
# 5. m13, a new key certified for m7's old VIP 100.64.13.7, with
#    `revoked = m7.rev` in its config (offline use), joins: m2 and m10 ping
#    100.64.13.7 and reach m13, m4 resolves the VIP to m13's overlay ID.
#
# Prints the figure: time from `ringlan revoke` until no member holds a
# session with m7.
#
# Environment (besides lib.sh's): JOIN_S (default 60), REVOKE_S (default 60).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51913
N=12
JOIN_S=${JOIN_S:-60}
REVOKE_S=${REVOKE_S:-60}
NET=198.51.100
VNET=100.64.13
VICTIM=m7
REVOKER=m3

t_init revocation
t_need awk

vip() { printf '%s.%s' "$VNET" "${1#m}"; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }
without() { local x=$1 y; shift; for y in "$@"; do [ "$y" = "$x" ] || printf '%s\n' "$y"; done; }
ctl() { local n=$1; shift; ip netns exec "${T_NODE_NS[$n]}" timeout 8 "$RL_BIN" "$@" --control "$T_DIR/$n.sock"; }

# ---------------------------------------------------------------- topology
t_ns sw; t_bridge sw br
t_group ring
ALL=()
for i in $(seq $((N + 1))); do
  n=m$i
  t_ns "$n"; t_attach sw br "$n" "$NET.$i/24"
  [ "$i" -gt "$N" ] && continue   # m13: key and cert in step 5
  ALL+=("$n")
  boot=""; [ "$i" = 1 ] || boot=$NET.1:$PORT
  t_ring_member ring "$n" "$(vip "$n")/10" "0.0.0.0:$PORT" "$boot"
done
t_reach "m$N" "$NET.1"
OTHERS=(); while read -r n; do OTHERS+=("$n"); done < <(without "$VICTIM" "${ALL[@]}")

all_joined() { t_all_joined "$@"; }
# has_link NODE VIP: NODE holds an established link to the member at VIP.
has_link() {
  status_json "$1" | jq -e --arg v "$2" \
    '[.links[]? | select((.peer_vip // "" | split("/")[0]) == $v and .state == "established")]
     | length > 0' >/dev/null
}
ping_once() { ip netns exec "${T_NODE_NS[$1]}" ping -n -q -c1 -W2 "$2" >/dev/null 2>&1; }
ping_tries() { # SRC DST: up to 5 tries (ARP from the DHT, link on demand)
  local t
  for t in 1 2 3 4 5; do ping_once "$1" "$2" && return 0; done
  return 1
}
# no_ping SRC DST: 3 pings, none answered
no_ping() { ! ip netns exec "${T_NODE_NS[$1]}" ping -n -q -c3 -i0.5 -W1 "$2" >/dev/null 2>&1; }

# ---------------------------------------------------------------- 1. join, sessions with m7
for n in "${ALL[@]}"; do t_up "$n" "$n"; done
wait_until "$JOIN_S" all_joined "${ALL[@]}" || { t_check_alive "${ALL[@]}"; t_fail "not every member joined within $JOIN_S s"; }
for n in "${ALL[@]}"; do wait_until 10 t_tap_ready "$n" "$(vip "$n")" || t_fail "TAP of $n has no address" "$n"; done
t_say "all $N members joined"
pids=()
for n in "${OTHERS[@]}"; do
  { ping_tries "$VICTIM" "$(vip "$n")" && ping_tries "$n" "$(vip "$VICTIM")" &&
      echo ok >"$T_DIR/pre.$n"; } &
  pids+=("$!"); T_PIDS+=("$!")
done
for p in "${pids[@]}"; do wait "$p" || true; done
for n in "${OTHERS[@]}"; do
  [ -s "$T_DIR/pre.$n" ] || t_fail "before the revocation: $VICTIM <-> $n do not ping each other" "$VICTIM" "$n"
done
with=0
for n in "${OTHERS[@]}"; do has_link "$n" "$(vip "$VICTIM")" && with=$((with + 1)); done
t_say "before: every member pings $VICTIM both ways; $with of ${#OTHERS[@]} hold an established link to it"
[ "$with" -ge $(( ${#OTHERS[@]} / 2 )) ] || t_fail "too few members hold a link to $VICTIM before the revocation ($with)"

# ---------------------------------------------------------------- 2. revoke
VICTIM_ID=$(status_json "$VICTIM" | jq -r .id)
"$RL_BIN" group revoke --group-key "$T_DIR/ring.key" --cert "$T_DIR/$VICTIM.cert" \
  --out "$T_DIR/$VICTIM.rev" >"$T_DIR/revoke.log" 2>&1 || { cat "$T_DIR/revoke.log" >&2; t_fail "ringlan group revoke"; }
t0=$(ms_now)
ctl "$REVOKER" revoke "$T_DIR/$VICTIM.rev" >"$T_DIR/revoke.out" 2>&1 ||
  { cat "$T_DIR/revoke.out" >&2; t_fail "ringlan revoke on $REVOKER" "$REVOKER"; }
jq -e '.new == true' "$T_DIR/revoke.out" >/dev/null || t_fail "ringlan revoke: $(cat "$T_DIR/revoke.out")"
# a second time: known, not new
ctl "$REVOKER" revoke "$T_DIR/$VICTIM.rev" | jq -e '.new == false' >/dev/null || t_fail "second ringlan revoke not reported as known"
cut_off() {
  local n
  : >"$T_DIR/cut.why"
  for n in "${OTHERS[@]}"; do
    status_json "$n" | jq -e '.counters.revoked >= 1' >/dev/null || { echo "$n: not told" >>"$T_DIR/cut.why"; continue; }
    ! has_link "$n" "$(vip "$VICTIM")" || echo "$n: link to $VICTIM" >>"$T_DIR/cut.why"
  done
  [ ! -s "$T_DIR/cut.why" ]
}
if ! wait_until "$REVOKE_S" cut_off; then
  cut_off || true
  sed 's/^/  /' "$T_DIR/cut.why" >&2
  t_fail "$VICTIM not cut off everywhere within $REVOKE_S s"
fi
t_cut=$(ms_now)
# When each member applied it (its log line, ms resolution), not when this
# script's polling saw it.
last=$(for n in "${OTHERS[@]}"; do grep -h -m1 "revoked: .* session(s) closed" "$T_DIR/$n.log"; done |
       awk '{ print $1 }' | sort | tail -n1)
applied_ms=$(( $(date -d "$last" +%s%N) / 1000000 ))
REVOKE_FIG="all ${#OTHERS[@]} members applied the revocation (sessions with $VICTIM closed) within $(secs "$t0" "$applied_ms") s of 'ringlan revoke' on $REVOKER; the script's status polling confirmed it after $(secs "$t0" "$t_cut") s"
t_say "revoke: $REVOKE_FIG"
no_ping "$VICTIM" "$(vip m2)" || t_fail "$VICTIM still pings m2 after the revocation" "$VICTIM"
no_ping m2 "$(vip "$VICTIM")" || t_fail "m2 still pings $VICTIM after the revocation" m2
no_ping m11 "$(vip "$VICTIM")" || t_fail "m11 still pings $VICTIM after the revocation" m11
# The DHT copy: the victim's NODE key now holds its revocation (published by
# the members that learnt it), so a lookup of its ID answers the revocation.
dht_rev() { ctl m11 lookup "$VICTIM_ID" --json 2>/dev/null | jq -e '.record == "revocation"' >/dev/null; }
wait_until 20 dht_rev || t_fail "lookup of $VICTIM's ID does not answer its revocation" m11
t_say "DHT copy: 'ringlan lookup' of $VICTIM's ID on m11 answers its revocation"
t_check_alive "${ALL[@]}"

# ---------------------------------------------------------------- 3. the victim restarts
refused0=$(status_json m1 | jq '.counters.hs_refused')
t_down "$VICTIM"
t_up "$VICTIM" "$VICTIM"
# Observed until the victim has tried its bootstrap m1 three times (each
# refused), not for a fixed time: then it certainly had its chances.
tried3() { [ "$(status_json m1 | jq '.counters.hs_refused')" -ge $((refused0 + 3)) ]; }
wait_until 40 tried3 || t_fail "restarted $VICTIM was not refused 3 times by m1 in 40 s" m1 "$VICTIM"
t_check_alive "${ALL[@]}"
for n in "${OTHERS[@]}"; do
  ! has_link "$n" "$(vip "$VICTIM")" || t_fail "$n holds a link to restarted $VICTIM" "$n" "$VICTIM"
done
status_json "$VICTIM" | jq -e '.ring.joined != true' >/dev/null || t_fail "revoked $VICTIM rejoined the ring" "$VICTIM"
no_ping "$VICTIM" "$(vip m2)" || t_fail "restarted $VICTIM pings m2" "$VICTIM"
no_ping m4 "$(vip "$VICTIM")" || t_fail "m4 pings restarted $VICTIM" m4
refused=$(status_json m1 | jq '.counters.hs_refused')
t_say "restarted $VICTIM stays out (bootstrap m1 refused $((refused - refused0)) of its handshakes)"
[ "$refused" -gt 0 ] || t_fail "bootstrap m1 refused no handshake of restarted $VICTIM" m1

# ---------------------------------------------------------------- 4. persistence
t_down m5
t_up m5 m5
wait_until 10 status_json m5 || t_fail "restarted m5 does not answer" m5
status_json m5 | jq -e '.counters.revoked == 1' >/dev/null || t_fail "restarted m5 did not load the revocation from its store" m5
wait_until "$JOIN_S" all_joined m5 || t_fail "restarted m5 did not rejoin" m5
t_say "restarted m5 loaded the revocation from its LMDB store and rejoined"

# ---------------------------------------------------------------- 5. the VIP goes to a new member
NEW=m13
T_CONF_EXTRA="revoked = $T_DIR/$VICTIM.rev"
t_ring_member ring "$NEW" "$(vip "$VICTIM")/10" "0.0.0.0:$PORT" "$NET.1:$PORT"
T_CONF_EXTRA=""
t_up "$NEW" "$NEW"
wait_until "$JOIN_S" all_joined "$NEW" || { t_check_alive "$NEW"; t_fail "$NEW (VIP $(vip "$VICTIM")) did not join" "$NEW"; }
status_json "$NEW" | jq -e '.counters.revoked == 1' >/dev/null || t_fail "$NEW did not load 'revoked =' from its config" "$NEW"
wait_until 10 t_tap_ready "$NEW" "$(vip "$VICTIM")" || t_fail "TAP of $NEW has no address" "$NEW"
# m2 and m10 may still hold m7's MAC in their kernel neighbour tables,
# even as REACHABLE (the kernel then sends without asking for up to ~50 s:
# reachable time up to 45 s, delay 5 s, probes): set so here, as a member
# that talked to m7 just before. Their node sees frames to a MAC no member
# has, looks up who holds the destination now and announces m13's MAC to
# its kernel (gratuitous ARP, node_dht.c): a ping or two lost, not 50 s.
VICTIM_MAC=$(ip -n "${T_NODE_NS[$VICTIM]}" -j link show dev "$(t_tapname "$VICTIM")" | jq -r '.[0].address')
for s in m2 m10; do
  ip -n "${T_NODE_NS[$s]}" neigh replace "$(vip "$VICTIM")" lladdr "$VICTIM_MAC" nud reachable \
    dev "$(t_tapname "$s")" || t_fail "cannot set $s's neighbour entry"
done
REACH_FIG=""
for s in m2 m10; do
  t0=$(ms_now)
  wait_until 10 ping_once "$s" "$(vip "$VICTIM")" ||
    { ip -n "${T_NODE_NS[$s]}" neigh show >&2
      echo "$NEW's neighbours:" >&2; ip -n "${T_NODE_NS[$NEW]}" neigh show >&2
      # (seen once in CI, 2026-12-02: m2 had an established link to m13
      # that carried keepalives both ways but not the pings; what the
      # counters say next time)
      for c in "$s" "$NEW"; do
        printf '%s counters: ' "$c" >&2
        status_json "$c" | jq -c '.counters | {tap_in, tap_no_route, frame_spoofed,
          pending_overflow, connects_on_demand, resolve_failed, arp_answered, arp_announced, path_holds,
          path_held, path_switches, udp_no_link, hs_replay, revoked, links_refused_full}' >&2 || true
      done
      t_fail "$s cannot ping $(vip "$VICTIM"), now $NEW's" "$s" "$NEW"; }
  has_link "$s" "$(vip "$VICTIM")" || t_fail "$s has no link to $NEW" "$s"
  status_json "$s" | jq -e '.counters.arp_announced >= 1' >/dev/null ||
    t_fail "$s reached $NEW without announcing it to its kernel (the stale entry was not used?)" "$s"
  REACH_FIG="$REACH_FIG $s $(secs "$t0" "$(ms_now)") s;"
done
ping_tries "$NEW" "$(vip m2)" || t_fail "$NEW cannot ping m2" "$NEW"
new_id=$(status_json "$NEW" | jq -r '.id')
ctl m4 lookup "$(vip "$VICTIM")" --json >"$T_DIR/lookup.out" 2>&1 || true
jq -e --arg id "$new_id" '.found == true and .id == $id' "$T_DIR/lookup.out" >/dev/null || {
  # (seen once in a 5-run series, 2026-12-03: "not found" 8 s after m13
  # joined; what every member's DHT holds and did, next time)
  for s in "${ALL[@]}" "$NEW"; do
    t_alive "$s" || continue
    printf '%s dht: ' "$s" >&2
    status_json "$s" | jq -c '[.id[0:8], .dht]' >&2 || true
  done
  t_fail "m4 does not resolve $(vip "$VICTIM") to $NEW: $(cat "$T_DIR/lookup.out")" m4 "$NEW"; }
t_check_alive m1 m2 m3 m4 m5 m6 m8 m9 m10 m11 m12 "$NEW"
t_say "VIP $(vip "$VICTIM") reissued: $NEW reachable from m2 and m10 (stale REACHABLE neighbour entries for m7:$REACH_FIG), resolved by m4"
t_say "figures: revoke: $REVOKE_FIG"
