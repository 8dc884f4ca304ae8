#!/usr/bin/env bash
# Failure detection and recovery of a static link, with short timers
# (keepalive_s = 1, link_timeout_s = 4):
#
#   ns a  192.0.2.1/24 ----veth---- 192.0.2.2/24  ns b
#   100.64.3.1/10                                 100.64.3.2/10
#
# 1. b crashes (SIGKILL, no goodbye): a declares the link dead within
#    link_timeout_s (+ slack); b restarts: the link and ping come back.
# 2. the underlay goes down for longer than link_timeout_s (veth down): both
#    sides drop the link; when it comes back both re-dial their static peer
#    and ping works again, without restarting anything.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51904
VA=100.64.3.1 VB=100.64.3.2
TIMEOUT_S=4

t_init link_failure
t_ns a; t_ns b
t_veth a 192.0.2.1/24 b 192.0.2.2/24
A_IF=$T_IF1
t_reach a 192.0.2.2

t_group lan
t_member lan a $VA/10
t_member lan b $VB/10
T_CONF_EXTRA=$(printf 'keepalive_s = 1\nlink_timeout_s = %s' $TIMEOUT_S)
t_config a lan 0.0.0.0:$PORT 192.0.2.2:$PORT
t_config b lan 0.0.0.0:$PORT 192.0.2.1:$PORT
T_CONF_EXTRA=""

# established NODE PEER_VIP: an established link (state, if reported, says so)
established() {
  t_link "$1" "$2" | jq -e '((.last_handshake_s | type) == "number")
                            and ((.state // "established") == "established")' >/dev/null
}
not_established() { ! established "$1" "$2"; }
ping_ok() { wait_until 10 t_in "$1" ping -n -c1 -W1 "$2" && t_ping "$1" "$2" 3; }

t_up a a; t_up b b
t_wait_link 20 a $VB; t_wait_link 20 b $VA
ping_ok a $VB || t_fail "a cannot ping b" a b
t_log "link up, ping ok"

# ---------------------------------------------------------------- 1. crash
t_crash b
wait_until $((TIMEOUT_S + 4)) not_established a $VB ||
  t_fail "a still shows an established link to b $((TIMEOUT_S + 4)) s after b crashed: $(t_link a $VB | jq -c '{state, last_handshake_s, rx_packets}')" a
t_log "a noticed b's crash"
t_up b b
t_wait_link 20 b $VA
wait_until 20 established a $VB || t_fail "a does not re-establish the link after b restarted" a b
ping_ok a $VB || t_fail "after b's restart a cannot ping b" a b
ping_ok b $VA || t_fail "after b's restart b cannot ping a" a b
t_log "b restarted: link and ping back"

# ---------------------------------------------------------------- 2. outage
t_in a ip link set "$A_IF" down
both_dead() { not_established a $VB && not_established b $VA; }
wait_until $((TIMEOUT_S + 4)) both_dead ||
  t_fail "links still established $((TIMEOUT_S + 4)) s into an underlay outage" a b
t_log "outage: both sides dropped the link"
t_in a ip link set "$A_IF" up
t_reach a 192.0.2.2 10
wait_until 30 established a $VB || t_fail "a does not re-dial b after the outage" a b
wait_until 30 established b $VA || t_fail "b does not re-dial a after the outage" a b
ping_ok a $VB || t_fail "after the outage a cannot ping b" a b
ping_ok b $VA || t_fail "after the outage b cannot ping a" a b
t_check_alive a b
t_log "outage over: links and ping back without restarts"
