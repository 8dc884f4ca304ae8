#!/usr/bin/env bash
# A member behind a NAT reaches two public members through static [peer]
# entries; the public members answer to the NAT's mapped address and keep
# the link (and the NAT binding) alive.
#
#        bridge 192.0.2.0/24 (namespace sw)
#     +--------------+--------------+
#     a 192.0.2.1    b 192.0.2.2    r 192.0.2.3 (masquerade, replies only)
#     100.64.1.1     100.64.1.2     | 198.51.100.1
#                                   c 198.51.100.2, 100.64.1.3
#
# a and b list each other; c lists a and b; nobody lists c (it is not
# reachable from outside). Checks: the NAT drops unsolicited input; links
# c<->a, c<->b come up; a sees c at 192.0.2.3 (the NAT), path direct; ping
# in every direction with 0% loss, including a -> c (only possible through
# c's NAT binding).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51902
VA=100.64.1.1 VB=100.64.1.2 VC=100.64.1.3

t_init nat_static
t_need nft

t_ns sw; t_bridge sw br
t_ns a; t_attach sw br a 192.0.2.1/24
t_ns b; t_attach sw br b 192.0.2.2/24
t_nat_site sw br r c 192.0.2.3/24 198.51.100
t_reach a 192.0.2.2
t_reach c 192.0.2.1
# the NAT must not let unsolicited traffic in, even with a route to the LAN
t_in a ip route add 198.51.100.0/24 via 192.0.2.3
if t_in a ping -n -c2 -i 0.3 -W1 198.51.100.2 >/dev/null 2>&1; then t_fail "the NAT forwards unsolicited input"; fi
t_in a ip route del 198.51.100.0/24 via 192.0.2.3

t_group lan
t_member lan a $VA/10
t_member lan b $VB/10
t_member lan c $VC/10
t_config a lan 0.0.0.0:$PORT 192.0.2.2:$PORT
t_config b lan 0.0.0.0:$PORT 192.0.2.1:$PORT
t_config c lan 0.0.0.0:$PORT 192.0.2.1:$PORT 192.0.2.2:$PORT

t_up a a; t_up b b; t_up c c
t_wait_link 20 a $VB
t_wait_link 20 c $VA
t_wait_link 20 c $VB
t_wait_link 20 a $VC
t_wait_link 20 b $VC
t_check_alive a b c

for n in a b; do
  l=$(t_link $n $VC) || t_fail "$n lost its link to c" $n
  printf '%s\n' "$l" | jq -e '(.endpoint | startswith("192.0.2.3:")) and .path == "direct"' >/dev/null ||
    t_fail "$n's link to c should be direct via the NAT 192.0.2.3: $(printf '%s' "$l" | jq -c '{endpoint, path}')" $n
done
t_log "a sees c at $(t_field a $VC .endpoint)"

for pair in "c $VA" "c $VB" "a $VC" "b $VC" "a $VB"; do
  from=${pair%% *} to=${pair#* }
  wait_until 10 t_in "$from" ping -n -c1 -W1 "$to" || t_fail "$from cannot ping $to" a b c
  t_ping "$from" "$to" 5 || { cat "$T_DIR/ping.log" >&2; t_fail "ping $from -> $to lost packets" a b c; }
done
t_check_alive a b c
t_log "all pings through the NAT: 0% loss"
