#!/usr/bin/env bash
# Handshakes under a flood (issue 10, finding 6), real daemons in namespaces:
#
#                    bridge (namespace sw) 192.0.2.0/24
#   +-----------+-----------+-----------+-----------+
#   s .5        a .1        b .2        c .3        f .66
#   bootstrap   iperf3      the victim  joins       flooder: junk HS_INITs
#   + relay     client      iperf3 srv  during the  with a valid mac1 from
#                                       flood       spoofed 198.51.100.0/24
#                                                   sources, to b's port
#
# c and b cannot reach each other directly (blackhole routes), so c's
# session to b is carried: routed over the overlay, then through s as a
# relay. The script measures
#   (a) whether c, started while b is flooded, gets its carried handshake
#       to b done (ping over the virtual LAN) and how long it takes;
#   (b) iperf3 TCP throughput a -> b over their existing direct link in
#       three conditions, interleaved, REPEATS times each (medians):
#         none     no flood;
#         closed   the same flood aimed at a closed port of b (b's kernel
#                  takes it and answers port-unreachable; the daemon sees
#                  nothing): what the flood costs the machine anyway (the
#                  flooder and the kernel's receive path share the two
#                  cores with iperf3 and the daemons; on the Internet the
#                  flooder would be elsewhere);
#         daemon   the flood at b's ringlan port;
#       "kept" is daemon / none and daemon / closed;
#   (c) the rate the flooder achieved (the machine may not keep up), b's
#       counters (cookie replies, INITs shed) and CPU, steal and load.
#
#   sudo RL_BUILD=build bench/hs_flood.sh [PPS] [IPERF_S] [REPEATS]
#
# PPS defaults to 100000, IPERF_S to 10, REPEATS to 3. Installs what it
# needs (scripts/deps.sh --bench; RL_NO_DEPS=1 skips). Everything it creates
# is deleted on exit (tests/integration/lib.sh). Results go to stdout.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"

PPS=${1:-100000}
IPERF_S=${2:-10}
REPEATS=${3:-3}
[ "${RL_NO_DEPS:-0}" = 1 ] || "$(dirname "$0")/../scripts/deps.sh" --bench
PORT=51930
JOIN_S=${JOIN_S:-60}
FLOOD_BIN=${FLOOD_BIN:-$RL_BUILD/hs_flood_gen}
VS=100.64.9.1 VA=100.64.9.2 VB=100.64.9.3 VC=100.64.9.4

t_init hs_flood
t_need iperf3 nproc
[ -x "$FLOOD_BIN" ] || t_fail "no flooder at $FLOOD_BIN (build first)"

t_ns sw; t_bridge sw br
for n in s a b c f; do t_ns $n; done
t_attach sw br s 192.0.2.5/24
t_attach sw br a 192.0.2.1/24
t_attach sw br b 192.0.2.2/24
t_attach sw br c 192.0.2.3/24
t_attach sw br f 192.0.2.66/24
# b answers the spoofed sources toward f (which drops what it gets): the
# cookie replies leave b as they would on the Internet
t_in b ip route add 198.51.100.0/24 via 192.0.2.66
t_in b sysctl -qw net.ipv4.conf.all.rp_filter=0
# no direct path between b and c
t_in b ip route add blackhole 192.0.2.3/32
t_in c ip route add blackhole 192.0.2.2/32
t_reach a 192.0.2.2
t_reach c 192.0.2.5

t_group g
t_member g s $VS/10; t_member g a $VA/10; t_member g b $VB/10; t_member g c $VC/10
t_config s g 0.0.0.0:$PORT
for n in a b c; do
  T_CONF_EXTRA="bootstrap = 192.0.2.5:$PORT" t_config $n g 0.0.0.0:$PORT
done
t_up s s; t_up a a; t_up b b
t_wait_link 30 a $VB
wait_until 20 t_ping a $VB 3 || t_fail "a cannot ping b" a b
[ "$(t_field a $VB .path)" = direct ] || t_fail "a -> b is not direct" a

ip netns exec "$(t_nsname b)" iperf3 -s -B $VB -p 5201 >"$T_DIR/iperf3-server.log" 2>&1 &
T_PIDS+=("$!")
wait_until 5 t_in a bash -c "exec 3<>/dev/tcp/$VB/5201" 2>/dev/null || true

# iperf3 -c from a; prints Mbit/s received
iperf() {
  t_in a iperf3 -c $VB -p 5201 -t "$IPERF_S" -J >"$T_DIR/iperf3-$1.json" 2>&1 ||
    { cat "$T_DIR/iperf3-$1.json" >&2; t_fail "iperf3 ($1)" a b; }
  jq -r '.end.sum_received.bits_per_second / 1e6 | . * 10 | round / 10' "$T_DIR/iperf3-$1.json"
}
# CPU seconds (user + system) a PID has used so far
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
counters() { status_json b | jq -c '.counters | {udp_in, hs_cookie, hs_cookie_unsent, hs_cookie_routed, hs_shed, hs_refused}'; }

# cumulative steal and total jiffies of the machine
cpu_stat() { awk '/^cpu /{t=0; for (i=2; i<=NF; i++) t+=$i; print $9, t}' /proc/stat; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
flood() { # PORT SECONDS: starts the flooder (its PID in FPID)
  ip netns exec "$(t_nsname f)" "$FLOOD_BIN" "$T_DIR/g.pub" 192.0.2.2 "$1" "$PPS" "$2" \
    198.51.100.0 >"$T_DIR/flood-$1.log" 2>&1 &
  FPID=$!
  T_PIDS+=("$FPID")
}

t_say "flood: $PPS pps of junk HS_INITs at 192.0.2.2:$PORT; c joins"
# (ip netns exec execs the flooder: $! is its PID, SIGTERM reaches it)
flood $PORT $((JOIN_S + 10))
sleep 2

# (a) c joins now; its session to b is carried (overlay, then relay)
t_up c c
t0=$(date +%s.%N)
joined=no
if wait_until "$JOIN_S" t_ping c $VB 1; then
  joined=yes
fi
t1=$(date +%s.%N)
join_s=$(echo "$t1 - $t0" | bc)
c_path=$(t_field c $VB .path 2>/dev/null || echo none)
t_stop_pid "$FPID"
join_rate=$(grep '^sent' "$T_DIR/flood-$PORT.log" || echo "?")

# (b) throughput, the three conditions interleaved
declare -A res cpu_b
achieved=()
c0=$(counters)
read -r st0 tot0 < <(cpu_stat)
for r in $(seq 1 "$REPEATS"); do
  for cond in none closed daemon; do
    t_say "round $r/$REPEATS: iperf3 a -> b for $IPERF_S s, flood: $cond"
    fport=$([ "$cond" = closed ] && echo $((PORT + 7)) || echo $PORT)
    [ "$cond" = none ] || { flood "$fport" $((IPERF_S + 4)); sleep 1; }
    u0=$(cpu_s "${T_NODE_PID[b]}")
    res[$cond]+="$(iperf "$cond-$r") "
    u1=$(cpu_s "${T_NODE_PID[b]}")
    cpu_b[$cond]+="$(echo "$u1 - $u0" | bc) "
    if [ "$cond" != none ]; then
      t_stop_pid "$FPID"
      achieved+=("$(sed -n 's/^sent .* = \([0-9]*\) pps.*/\1/p' "$T_DIR/flood-$fport.log")")
    fi
  done
done
read -r st1 tot1 < <(cpu_stat)
c1=$(counters)
med() { tr ' ' '\n' <<<"${res[$1]}" | grep . | median; }
medcpu() { tr ' ' '\n' <<<"${cpu_b[$1]}" | grep . | median; }
none=$(med none) closed=$(med closed) daemon=$(med daemon)
steal=$(echo "scale=1; 100 * ($st1 - $st0) / ($tot1 - $tot0)" | bc)

printf '\n== handshakes under a flood (bench/hs_flood.sh, %s cores, %s) ==\n' "$(nproc)" "$(date -u +%FT%TZ)"
printf 'flooder asked     %s pps of valid-mac1 junk HS_INITs (spoofed 198.51.100.0/24)\n' "$PPS"
printf 'flooder achieved  %s pps (each throughput round: %s)\n' \
  "$(printf '%s\n' "${achieved[@]}" | median)" "${achieved[*]}"
printf 'carried handshake c -> b during the flood: %s after %.1f s (path %s; flooder %s)\n' \
  "$joined" "$join_s" "$c_path" "$join_rate"
printf 'iperf3 a -> b, Mbit/s, median of %s x %s s (each run):\n' "$REPEATS" "$IPERF_S"
printf '  no flood            %8s   (%s)\n' "$none" "${res[none]}"
printf '  flood, closed port  %8s   (%s)\n' "$closed" "${res[closed]}"
printf '  flood, ringlan port %8s   (%s)\n' "$daemon" "${res[daemon]}"
printf 'kept              %s %% of no flood, %s %% of the closed-port flood\n' \
  "$(echo "scale=1; 100 * $daemon / $none" | bc)" "$(echo "scale=1; 100 * $daemon / $closed" | bc)"
printf 'b daemon CPU s per run (median): no flood %s, closed port %s, ringlan port %s\n' \
  "$(medcpu none)" "$(medcpu closed)" "$(medcpu daemon)"
printf 'machine           steal %s %% during the rounds, load average %s\n' "$steal" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'b counters before %s\n' "$c0"
printf 'b counters after  %s\n' "$c1"
[ "$joined" = yes ] || t_fail "c could not reach b during the flood" b c s
