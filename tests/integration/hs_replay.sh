#!/usr/bin/env bash
# Replayed handshakes have no effect (issue 10, finding 1), with real
# daemons and an attacker that captured a member's HS_INIT on the wire:
#
#                  bridge (namespace sw) 192.0.2.0/24
#   +----------------+----------------+
#   a .1             c .3             x .9, also 203.0.113.9
#   initiator        victim           attacker: captures on c's side of
#   (bootstraps to c)                 the wire, replays from 203.0.113.9:9
#
# Defaults: wildcard listen, the default port and timers.
#   1. x captures a's first HS_INIT to c (AF_PACKET in c's namespace).
#   2. While the a-c session is up, x replays it 5 times from
#      203.0.113.9:9: c answers nothing there, its link to a keeps its
#      endpoint and its keys (pings go on), counters.hs_replay grows.
#   3. a leaves; once c has freed its link to a, x replays it again: c
#      opens no link, answers nothing there, counts the replays. (On
#      b782428 c made an "established" link to a at 203.0.113.9:9 and sent
#      its HS_RESP there.)
#   4. a comes back: a fresh handshake works (the table refuses only
#      what is not newer).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51820 # the default port (docs/config.md)
VA=100.64.11.1 VC=100.64.11.3
TOOL=$(dirname "$0")/hs_replay_tool.py

t_init hs_replay
t_need python3 jq

t_ns sw; t_bridge sw br
for n in a c x; do t_ns $n; done
t_attach sw br a 192.0.2.1/24
t_attach sw br c 192.0.2.3/24; IF_C=$T_IF
t_attach sw br x 192.0.2.9/24; IF_X=$T_IF
t_in x ip addr add 203.0.113.9/32 dev "$IF_X"
t_in c ip route add 203.0.113.9/32 via 192.0.2.9
t_reach a 192.0.2.3
t_reach c 192.0.2.9

t_group g
t_member g a $VA/10; t_member g c $VC/10
t_config c g 0.0.0.0:$PORT
T_CONF_EXTRA="bootstrap = 192.0.2.3:$PORT" t_config a g 0.0.0.0:$PORT

t_up c c
wait_until 5 status_json c >/dev/null || t_fail "c does not answer" c
# 1. capture before a starts
t_in c python3 "$TOOL" capture "$IF_C" $PORT "$T_DIR/init.bin" 30 >"$T_DIR/capture.log" 2>&1 &
CAP=$!
T_PIDS+=("$CAP")
wait_until 10 grep -q ready "$T_DIR/capture.log" || t_fail "the capture did not start"
t_up a a
t_wait_link 20 c $VA
t_wait_link 20 a $VC
wait "$CAP" || { cat "$T_DIR/capture.log" >&2; t_fail "no HS_INIT captured"; }
t_stop_pid "$CAP" 2>/dev/null || true
t_log "$(cat "$T_DIR/capture.log")"
wait_until 10 t_ping a $VC 2 || t_fail "a cannot ping c" a c

counter() { status_json c | jq -r ".counters.$1"; }
links_at_x() { status_json c | jq '[.links[] | select(.endpoint | startswith("203.0.113.9"))] | length'; }
replay() { t_in x python3 "$TOOL" replay "$T_DIR/init.bin" 203.0.113.9 9 192.0.2.3 $PORT 5 2 |
           sed -n 's/^replies //p'; }

# 2. replay while the session is up
r0=$(counter hs_replay)
hs0=$(t_field c $VA .handshakes)
got=$(replay)
r1=$(counter hs_replay)
t_log "live session: c sent $got datagrams to the attacker, hs_replay $r0 -> $r1"
[ "$got" = 0 ] || t_fail "c answered the replayed HS_INIT ($got datagrams to 203.0.113.9:9)" c
[ "$r1" -ge $((r0 + 5)) ] || t_fail "c counted $((r1 - r0)) of 5 replays" c
[ "$(t_field c $VA .endpoint)" = 192.0.2.1:$PORT ] ||
  t_fail "c's link to a moved to $(t_field c $VA .endpoint)" c
[ "$(t_field c $VA .handshakes)" = "$hs0" ] || t_fail "the replay counted as a handshake" c
[ "$(links_at_x)" = 0 ] || t_fail "c has a link at the attacker's address" c
t_ping a $VC 5 || t_fail "a -> c pings fail after the replay (keys lost?)" a c
t_ping c $VA 5 || t_fail "c -> a pings fail after the replay (keys lost?)" a c

# 3. a leaves; c frees its link; replay again
t_down a
gone() { [ "$(status_json c | jq --arg v $VA '[.links[] | select(.peer_vip == $v)] | length')" = 0 ]; }
wait_until 60 gone || t_fail "c still has a link to a 60 s after a left" c
r2=$(counter hs_replay)
got=$(replay)
sleep 1
r3=$(counter hs_replay)
t_log "link freed: c sent $got datagrams to the attacker, hs_replay $r2 -> $r3"
[ "$got" = 0 ] || t_fail "c answered the replayed HS_INIT after the link was freed ($got datagrams)" c
[ "$(links_at_x)" = 0 ] || t_fail "c opened a link to a at the attacker's address" c
gone || t_fail "c has a link to a again after the replay" c
[ "$r3" -ge $((r2 + 5)) ] || t_fail "c counted $((r3 - r2)) of 5 replays after the link was freed" c

# 4. the genuine member comes back
t_up a a
t_wait_link 20 c $VA
wait_until 10 t_ping a $VC 3 || t_fail "a cannot ping c after coming back" a c
t_say "all checks passed"
