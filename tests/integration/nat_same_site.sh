#!/usr/bin/env bash
# Two members behind one NAT router on one LAN (the common lab: hosts on
# 192.168.x.0/24 behind a home or lab router), a public seed outside. With
# the documented defaults ([nat] allow_lan_candidates = same-site, wildcard
# listen) c and d must end with a DIRECT link over their LAN addresses (not
# a relay, not through the router, which does not hairpin) and ping each
# other with 0% loss.
#
#        bridge 192.0.2.0/24 (namespace sw)
#     +--------------+
#     s 192.0.2.1    r 192.0.2.3 (masquerade, replies only)
#     100.64.7.1     | bridge 192.168.7.0/24 (namespace lan), r = .1
#                    +-------------------+
#                    c 192.168.7.2       d 192.168.7.3
#                    100.64.7.2          100.64.7.3
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51907
VS=100.64.7.1 VC=100.64.7.2 VD=100.64.7.3

t_init nat_same_site
t_need nft

t_ns sw; t_bridge sw br
t_ns s; t_attach sw br s 192.0.2.1/24
t_ns r; t_attach sw br r 192.0.2.3/24; wif=$T_IF
t_ns lan; t_bridge lan lbr
t_veth r 192.168.7.1/24 lan -; lif=$T_IF1
ip -n "$(t_nsname lan)" link set "$T_IF2" master "${T_P}lbr"
t_ns c; t_attach lan lbr c 192.168.7.2/24
t_ns d; t_attach lan lbr d 192.168.7.3/24
for h in c d; do t_in "$h" ip route add default via 192.168.7.1; done
t_in r sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward' || t_fail "ip_forward in r"
t_home_router_nft r "$wif" "$lif" 192.168.7 masquerade
t_reach c 192.0.2.1
t_reach d 192.168.7.2

t_group lan
t_member lan s $VS/10
t_member lan c $VC/10
t_member lan d $VD/10
t_config s lan 0.0.0.0:$PORT
t_config c lan 0.0.0.0:$PORT 192.0.2.1:$PORT
t_config d lan 0.0.0.0:$PORT 192.0.2.1:$PORT
! grep -q allow_lan_candidates "$T_DIR"/*.conf 2>/dev/null || t_fail "configs must use the default"

t_up s s; t_up c c; t_up d d
t_wait_link 20 c $VS
t_wait_link 20 d $VS
# lan_direct FROM VIP: FROM has an established direct link to VIP over an
# address on the LAN.
lan_direct() {
  status_json "$1" | jq -e --arg v "$2" '[.links[]? | select((.peer_vip // "" | split("/")[0]) == $v
    and .state == "established" and .path == "direct" and (.endpoint | startswith("192.168.7.")))]
    | length > 0' >/dev/null
}
wait_until 20 t_in c ping -n -c1 -W1 $VD || t_fail "c cannot ping d" c d s
wait_until 20 t_in d ping -n -c1 -W1 $VC || t_fail "d cannot ping c" c d s
for pair in "c $VD" "d $VC"; do
  from=${pair%% *} to=${pair#* }
  wait_until 30 lan_direct "$from" "$to" ||
    t_fail "$from's link to $to should be direct over the LAN: $(t_link "$from" "$to" | jq -c '{endpoint, path, state}')" c d s
  t_log "$from sees $to at $(t_field "$from" "$to" .endpoint), path $(t_field "$from" "$to" .path); reflexive $(status_json "$from" | jq -r '.nat.reflexive // "-"')"
  t_ping "$from" "$to" 10 || { cat "$T_DIR/ping.log" >&2; t_fail "ping $from -> $to lost packets" c d s; }
done
t_check_alive s c d
t_log "c <-> d direct over the LAN, 0% loss"
