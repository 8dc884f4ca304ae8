#!/usr/bin/env bash
# NAT test bed: a relay fails and its pair moves on.
#
#   boot 192.0.2.5, ra 192.0.2.10, rb 192.0.2.11   public members (relays)
#   s1 behind symmetric NAT 198.51.100.13           (a new port per destination)
#   s2 behind symmetric NAT 198.51.100.14
#
# Two symmetric NATs cannot punch, so s1 <-> s2 runs through a relay: one of
# the public members both are linked to, lowest RTT sum first. While s1 pings
# s2 five times a second, the relay in use is killed (SIGKILL: no goodbye).
# The pair must move to another relay (or the overlay) and keep pinging: the
# longest run of lost pings must stay within the failure-detection window
# (unanswered traffic -> probe -> fresh handshake -> dead: about 12 s), and
# every ping after that window must be answered.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"

PORT=51920
JOIN_S=${JOIN_S:-40}
MAX_GAP_S=${MAX_GAP_S:-20}   # longest outage accepted
declare -A VIP=([boot]=100.64.5.1 [ra]=100.64.5.2 [rb]=100.64.5.3 [s1]=100.64.5.4 [s2]=100.64.5.5)
MEMBERS=(boot ra rb s1 s2)

t_init nat_relay_failover
t_need conntrack
nl_core
nl_public boot 192.0.2.5
nl_public ra 192.0.2.10
nl_public rb 192.0.2.11
nl_site s1 sym 198.51.100.13 13
nl_site s2 sym 198.51.100.14 14

t_group lan
NO_PM=$'[nat]\nupnp = no\nnatpmp = no'
for m in "${MEMBERS[@]}"; do t_member lan "$m" "${VIP[$m]}/10"; done
T_CONF_EXTRA=$NO_PM t_config boot lan 192.0.2.5:$PORT
T_CONF_EXTRA=$'bootstrap = 192.0.2.5:'$PORT$'\n'$NO_PM t_config ra lan 192.0.2.10:$PORT
T_CONF_EXTRA=$'bootstrap = 192.0.2.5:'$PORT$'\n'$NO_PM t_config rb lan 192.0.2.11:$PORT
for m in s1 s2; do
  T_CONF_EXTRA=$'bootstrap = 192.0.2.5:'$PORT$'\n'$NO_PM t_config $m lan "${NL_HOST[$m]}:$PORT"
done
for m in "${MEMBERS[@]}"; do t_up $m $m; done

joined() { status_json "$1" | jq -e '.ring.joined == true' >/dev/null; }
for m in "${MEMBERS[@]}"; do wait_until "$JOIN_S" joined $m || t_fail "$m did not join" "${MEMBERS[@]}"; done
declare -A NAME
for m in "${MEMBERS[@]}"; do NAME[$(status_json $m | jq -r .id)]=$m; done

# The pair first: traffic opens the end-to-end session, then a relay.
wait_until 20 t_in s1 ping -n -c1 -W1 "${VIP[s2]}" || t_fail "s1 cannot ping s2 at all" s1 s2
relay_of() { t_link s1 "${VIP[s2]}" | jq -r 'select(.path == "relay") | .relay // empty'; }
relayed() { [ -n "$(relay_of)" ]; }
keep_pinging() { t_in s1 ping -n -c1 -W1 "${VIP[s2]}" >/dev/null 2>&1; relayed; }
wait_until 30 keep_pinging || t_fail "s1 -> s2 never went through a relay: $(t_link s1 "${VIP[s2]}" | jq -c .)" s1 s2
victim=${NAME[$(relay_of)]:-}
[ -n "$victim" ] || t_fail "relay $(relay_of) is not one of our members"
t_log "s1 -> s2 relayed via $victim"

# 150 pings at 0.2 s (30 s); the relay dies 3 s in.
t_in s1 ping -n -i 0.2 -c 150 -W 1 "${VIP[s2]}" >"$T_DIR/ping.log" 2>&1 &
ping_pid=$!
T_PIDS+=("$ping_pid")
sleep 3 # the ping runs meanwhile; this only places the failure in it
kill -KILL "${T_NODE_PID[$victim]}"
t_log "killed $victim (pid ${T_NODE_PID[$victim]}) with SIGKILL"
unset "T_NODE_PID[$victim]"
wait "$ping_pid" || true

# Replies by sequence number: the longest gap, and nothing lost after it.
read -r answered gap_s tail_ok < <(awk '
  /icmp_seq=/ { match($0, /icmp_seq=[0-9]+/); s = substr($0, RSTART + 9, RLENGTH - 9) + 0; got[s] = 1 }
  END {
    n = 0; gap = 0; run = 0; last_gap_end = 0
    for (i = 1; i <= 150; i++) {
      if (got[i]) { n++; if (run > gap) { gap = run; last_gap_end = i } run = 0 } else run++
    }
    if (run > gap) { gap = run; last_gap_end = 151 }
    tail = 1
    for (i = last_gap_end; i <= 150; i++) if (!got[i]) tail = 0
    printf "%d %.1f %d\n", n, gap * 0.2, tail
  }' "$T_DIR/ping.log")
after=$(t_link s1 "${VIP[s2]}" | jq -c '{path, relay}' || echo '{}')
new_relay=$(jq -r '.relay // empty' <<<"$after"); new_relay=${NAME[$new_relay]:-$new_relay}
t_log "after the failure: $answered/150 answered, longest outage ${gap_s} s, path $(jq -r .path <<<"$after") ${new_relay:+via $new_relay}"
awk -v g="$gap_s" -v m="$MAX_GAP_S" 'BEGIN { exit !(g <= m) }' ||
  t_fail "outage of ${gap_s} s exceeds ${MAX_GAP_S} s" s1 s2
[ "$tail_ok" = 1 ] || t_fail "pings were still lost after the outage window" s1 s2
[ "$new_relay" != "$victim" ] || t_fail "the pair still names the dead relay $victim" s1 s2
t_check_alive s1 s2
t_log "PASS"
