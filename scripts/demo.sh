#!/usr/bin/env bash
# ringlan demo: a virtual LAN of four members in network namespaces on this
# machine, one of them behind a NAT, one that knows only a bootstrap node. Run as root on Debian 12:
#
#   sudo ./scripts/demo.sh
#
# It installs the build dependencies (scripts/deps.sh), builds ringlan
# (scripts/build.sh build), then:
#
#              "internet" 192.0.2.0/24 (a bridge in namespace <p>sw)
#        +---------------+---------------+-------------------+
#        |               |               |                   | 192.0.2.3 (WAN)
#     alice 192.0.2.1  bob 192.0.2.2   dave 192.0.2.4      router: nftables masquerade,
#     100.64.0.1       100.64.0.2      100.64.0.4            drops unsolicited input
#                                                            | 198.51.100.1 (LAN)
#                                                          carol 198.51.100.2
#                                                          100.64.0.3 (behind the NAT)
#
# alice and bob list each other as [peer]; carol lists alice and bob (she can
# reach them, they cannot reach her until she has sent them a packet); dave
# has no [peer] at all, only `bootstrap = alice`: he joins the ring and finds
# the others through the DHT. Then every member pings every other over the
# virtual LAN 100.64.0.0/10 and each node's `ringlan status` is printed. Everything is torn down at the end
# (also on Ctrl-C or failure). Nothing leaves the machine.
#
# RL_DEMO_KEEP_UP=1 keeps the LAN up until you press Enter (to look around:
# `ip netns exec <ns> bash`).
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Installing dependencies (scripts/deps.sh)"
./scripts/deps.sh
step "Building (scripts/build.sh build)"
./scripts/build.sh build
RL_BIN=$PWD/build/ringlan

. tests/integration/lib.sh
T_QUIET=1
t_init demo

PORT=51820
declare -A VIP=([alice]=100.64.0.1 [bob]=100.64.0.2 [carol]=100.64.0.3 [dave]=100.64.0.4)
NODES=(alice bob carol dave)

step "Network: namespaces ${T_P}sw (switch), ${T_P}a, ${T_P}b, ${T_P}d, ${T_P}r (NAT router), ${T_P}c"
t_ns sw; t_bridge sw br
t_ns a; t_attach sw br a 192.0.2.1/24
t_ns b; t_attach sw br b 192.0.2.2/24
t_ns d; t_attach sw br d 192.0.2.4/24
t_nat_site sw br r c 192.0.2.3/24 198.51.100
t_reach a 192.0.2.2
t_reach c 192.0.2.1
echo "alice 192.0.2.1, bob 192.0.2.2, dave 192.0.2.4 public; carol 198.51.100.2 behind the NAT at 192.0.2.3"

step "Keys and certificates (ringlan group init / keygen / group sign)"
t_group lan demo-lan
for n in "${NODES[@]}"; do
  t_member lan "$n" "${VIP[$n]}/10"
  echo "  $n: key $n.key, certificate for ${VIP[$n]}/10"
done
echo
"$RL_BIN" cert show "$T_DIR/carol.cert" --group "$T_DIR/lan.pub" | sed 's/^/  /' || true

t_config alice lan 192.0.2.1:$PORT 192.0.2.2:$PORT
t_config bob lan 192.0.2.2:$PORT 192.0.2.1:$PORT
t_config carol lan 198.51.100.2:$PORT 192.0.2.1:$PORT 192.0.2.2:$PORT
T_CONF_EXTRA="bootstrap = 192.0.2.1:$PORT"
t_config dave lan 192.0.2.4:$PORT
T_CONF_EXTRA=""
echo "  alice <-> bob static peers; carol -> alice, bob; dave: bootstrap = alice only"
step "Starting the daemons (ringlan up)"
t_up alice a; t_up bob b; t_up carol c; t_up dave d
for n in "${NODES[@]}"; do echo "  $n: pid ${T_NODE_PID[$n]}, log $T_DIR/$n.log"; done
t0=$(date +%s%N)
for pair in "alice bob" "bob alice" "carol alice" "carol bob" "alice carol" "bob carol" "dave alice"; do
  t_wait_link 30 "${pair% *}" "${VIP[${pair#* }]}"
done
echo "static links and dave's bootstrap link up after $(( ($(date +%s%N) - t0) / 1000000 )) ms"

step "Pinging over the virtual LAN"
fail=0
for from in "${NODES[@]}"; do
  for to in "${NODES[@]}"; do
    [ "$from" = "$to" ] && continue
    # the first frame waits for ARP (and, for dave, a DHT lookup and maybe a
    # hole punch); give it a moment before counting
    wait_until 15 t_in "${from:0:1}" ping -n -c1 -W1 "${VIP[$to]}" || true
    res=$(t_in "${from:0:1}" ping -n -q -c 3 -i 0.2 -W 2 -w 8 "${VIP[$to]}" 2>&1 |
          awk '/packet loss/{loss=$6} /rtt/{split($4,a,"/"); avg=a[2]} END{printf "%s loss, avg %s ms", loss, avg}')
    printf '  %-5s -> %-5s (%s): %s\n' "$from" "$to" "${VIP[$to]}" "$res"
    case $res in "0% loss"*) ;; *) fail=1 ;; esac
  done
done

step "ringlan status of each node"
for n in "${NODES[@]}"; do
  echo "--- $n"
  t_in "${n:0:1}" "$RL_BIN" status --control "$T_DIR/$n.sock" 2>&1 | sed 's/^/  /' || true
done
echo
echo "How alice sees carol (note the NAT's public address as endpoint):"
t_link alice "${VIP[carol]}" | jq -c '{peer_vip, endpoint, path, cipher, rtt_ms}' | sed 's/^/  /' || true
echo "How dave (bootstrap only) reaches the others:"
status_json dave | jq -c '.links[]? | {peer_vip, endpoint, path}' | sed 's/^/  /' || true
echo "dave's place on the ring:"
status_json dave | jq -c '.ring | {joined, estimated_n, predecessor, successor: .successors[0]}' | sed 's/^/  /' || true

[ $fail = 0 ] || t_fail "some pings lost packets"

if [ "${RL_DEMO_KEEP_UP:-0}" = 1 ] && [ -t 0 ]; then
  echo
  read -r -p "LAN is up (namespaces ${T_P}a ${T_P}b ${T_P}c). Press Enter to tear down. " _
fi
step "Tearing down"
