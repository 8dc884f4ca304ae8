#!/usr/bin/env bash
# ringlan demo: a virtual LAN of six members in network namespaces on this
# machine, three of them behind NAT routers, that find each other through the
# ring and its DHT from ONE bootstrap address (no peer lists). Run as root on
# Debian 12:
#
#   sudo ./scripts/demo.sh
#
# It installs the build dependencies (scripts/deps.sh), builds ringlan
# (scripts/build.sh build), then builds this small internet:
#
#                 "internet" 192.0.2.0/24 (a bridge in namespace <p>sw)
#   +----------+----------+----------+------------------+------------------+
#   |          |          |          |                  |                  |
# alice      bob        dave     router rc          router re          router rf
# .1 (boot-  .2         .4       .11 cone NAT       .12 cone NAT       .13 symmetric NAT
#  strap)                          |                  |                  |
#                                carol 198.51.100.2  erin 198.51.101.2  frank 198.51.102.2
#
# Cone = nftables masquerade that keeps ports and drops unsolicited input (the
# common home router); symmetric = masquerade fully-random (a new port per
# destination). Every member's config names only alice's address as
# `bootstrap`. Then: ring status, a DHT lookup, a ping between every pair of
# members over the virtual LAN 100.64.0.0/10, each link's path, and a UDP
# broadcast that reaches every member once over the ring's broadcast tree:
#   direct  - UDP straight to the peer (punched through NATs when needed),
#   relay   - through a member both are linked to (cone <-> symmetric,
#             symmetric <-> symmetric cannot punch),
#   overlay - end to end over the ring while neither is ready yet.
# Everything is torn down at the end (also on Ctrl-C or failure). Nothing
# leaves the machine. RL_DEMO_KEEP_UP=1 keeps the LAN up until you press Enter.
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
NODES=(alice bob dave carol erin frank)
declare -A VIP=([alice]=100.64.0.1 [bob]=100.64.0.2 [carol]=100.64.0.3 [dave]=100.64.0.4
                [erin]=100.64.0.5 [frank]=100.64.0.6)
declare -A NS=([alice]=a [bob]=b [dave]=d [carol]=c [erin]=e [frank]=f)
declare -A LISTEN=([alice]=192.0.2.1 [bob]=192.0.2.2 [dave]=192.0.2.4 [carol]=198.51.100.2
                   [erin]=198.51.101.2 [frank]=198.51.102.2)
declare -A SITE=([alice]=public [bob]=public [dave]=public [carol]="cone NAT"
                 [erin]="cone NAT" [frank]="symmetric NAT")

step "Network: a public bridge, three public members, three NAT sites"
t_ns sw; t_bridge sw br
t_ns a; t_attach sw br a 192.0.2.1/24
t_ns b; t_attach sw br b 192.0.2.2/24
t_ns d; t_attach sw br d 192.0.2.4/24
t_nat_site sw br rc c 192.0.2.11/24 198.51.100
t_nat_site sw br re e 192.0.2.12/24 198.51.101
t_nat_site sw br rf f 192.0.2.13/24 198.51.102 symmetric
for n in "${NODES[@]}"; do printf '  %-6s %-15s %s\n' "$n" "${LISTEN[$n]}" "${SITE[$n]}"; done

step "Keys and certificates (ringlan group init / keygen / group sign)"
t_group lan demo-lan
for n in "${NODES[@]}"; do t_member lan "$n" "${VIP[$n]}/10"; done
echo "  group demo-lan; members certified for ${VIP[*]}"
"$RL_BIN" cert show "$T_DIR/frank.cert" --group "$T_DIR/lan.pub" | sed 's/^/  /' || true

step "Starting the daemons: every config has only 'bootstrap = 192.0.2.1:$PORT'"
for n in "${NODES[@]}"; do
  if [ "$n" = alice ]; then T_CONF_EXTRA="" t_config "$n" lan "0.0.0.0:$PORT"
  else T_CONF_EXTRA="bootstrap = 192.0.2.1:$PORT" t_config "$n" lan "0.0.0.0:$PORT"; fi
done
sed 's/^/  /' "$T_DIR/frank.conf"
t0=$(date +%s%N)
for n in "${NODES[@]}"; do t_up "$n" "${NS[$n]}"; done
joined() { status_json "$1" | jq -e '.ring.joined == true' >/dev/null; }
for n in "${NODES[@]}"; do wait_until 30 joined "$n" || t_fail "$n did not join the ring" "${NODES[@]}"; done
echo "all six joined the ring after $(( ($(date +%s%N) - t0) / 1000000 )) ms"

step "The ring (successor / predecessor of each member) and what NAT each sees"
# joined != settled: give every member a successor and a predecessor first
ring_settled() {
  local n
  for n in "$@"; do
    status_json "$n" | jq -e '(.ring.successors[0] // "") != "" and (.ring.predecessor // "") != ""' \
      >/dev/null || return 1
  done
}
wait_until 20 ring_settled "${NODES[@]}" || echo "  (the ring is still settling)"
declare -A NAME_OF
for n in "${NODES[@]}"; do
  id=$(status_json "$n" | jq -r '.id // empty') || id=""
  [ -z "$id" ] || NAME_OF[$id]=$n
done
# member name of an overlay ID ("-" for none yet: the ring may still settle;
# an empty key would be an error for a bash associative array)
name_of() { if [ -z "$1" ]; then echo -; else echo "${NAME_OF[$1]:-?}"; fi; }
for n in "${NODES[@]}"; do
  js=$(status_json "$n") || js='{}'
  succ=$(jq -r '.ring.successors[0] // ""' <<<"$js"); pred=$(jq -r '.ring.predecessor // ""' <<<"$js")
  printf '  %-6s id %.12s  successor %-6s predecessor %-6s nat %s\n' "$n" "$(jq -r .id <<<"$js")" \
    "$(name_of "$succ")" "$(name_of "$pred")" "$(jq -r '.nat.class' <<<"$js")"
done

step "A DHT lookup: carol asks the ring who has ${VIP[frank]} (no link between them yet)"
t_in c "$RL_BIN" lookup "${VIP[frank]}" --control "$T_DIR/carol.sock" | sed 's/^/  /' || true

step "Pinging every member from every member over the virtual LAN"
fail=0
for from in "${NODES[@]}"; do
  for to in "${NODES[@]}"; do
    [ "$from" = "$to" ] && continue
    # The first frame waits for ARP (answered from the DHT) and goes over the
    # ring at once while a direct link is punched; give it a moment.
    wait_until 15 t_in "${NS[$from]}" ping -n -c1 -W1 "${VIP[$to]}" || true
  done
done
sleep_until_paths() { # relays take over after 5 s without a direct link
  local from to p
  for from in "${NODES[@]}"; do for to in "${NODES[@]}"; do
    [ "$from" = "$to" ] && continue
    p=$(t_link "$from" "${VIP[$to]}" 2>/dev/null | jq -r .path) || return 1
    [ "$p" = overlay ] && return 1
  done; done
  return 0
}
wait_until 30 sleep_until_paths || true
printf '  %-6s -> %-6s %-22s %-8s %s\n' from to result path "(via)"
for from in "${NODES[@]}"; do
  for to in "${NODES[@]}"; do
    [ "$from" = "$to" ] && continue
    res=$(t_in "${NS[$from]}" ping -n -q -c 3 -i 0.2 -W 2 -w 8 "${VIP[$to]}" 2>&1 |
          awk '/packet loss/{loss=$6} /rtt/{split($4,a,"/"); avg=a[2]} END{printf "%s loss %s ms", loss, avg}' || true)
    lk=$(t_link "$from" "${VIP[$to]}" 2>/dev/null || echo '{}')
    path=$(jq -r '.path // "-"' <<<"$lk" || echo -); via=$(jq -r '.relay // ""' <<<"$lk" || true)
    printf '  %-6s -> %-6s %-22s %-8s %s\n' "$from" "$to" "$res" "$path" "${via:+($(name_of "$via"))}"
    case $res in "0% loss"*) ;; *) fail=1 ;; esac
  done
done

step "A broadcast: frank (symmetric NAT) sends one UDP datagram to the LAN's broadcast address"
# It goes to every member once over the ring's broadcast tree, signed by
# frank and checked by each member (docs/protocol.md, "LAN broadcast
# pieces"), whether or not they hold a link to frank.
bc_in() { status_json "$1" | jq -r '.broadcast.frames_in // 0'; }
declare -A BC0
for n in "${NODES[@]}"; do BC0[$n]=$(bc_in "$n" || echo 0); done
t_in f python3 -S -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1); s.sendto(b"hello, LAN", ("100.127.255.255", 9))' || true
sleep 1
for n in "${NODES[@]}"; do
  [ "$n" = frank ] && continue
  printf '  %-6s broadcast frames written to its TAP: +%s\n' "$n" $(( $(bc_in "$n" || echo 0) - ${BC0[$n]} ))
done
t_in f "$RL_BIN" subring list --control "$T_DIR/frank.sock" 2>&1 | sed 's/^/  /' || true

step "ringlan status of frank (behind the symmetric NAT)"
t_in f "$RL_BIN" status --control "$T_DIR/frank.sock" 2>&1 | sed 's/^/  /' || true

if [ $fail != 0 ]; then
  for n in "${NODES[@]}"; do echo "--- $n"; status_json "$n" | jq -c '{links: [.links[] | {peer_vip, endpoint, path, state, relay}], counters}' || true; done
  t_fail "some pings lost packets" "${NODES[@]}"
fi

if [ "${RL_DEMO_KEEP_UP:-0}" = 1 ] && [ -t 0 ]; then
  echo
  read -r -p "LAN is up. Press Enter to tear down. " _
fi
step "Tearing down"
