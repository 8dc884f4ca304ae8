#!/usr/bin/env bash
# Link benchmark: TCP throughput (iperf3, 1 and 4 streams) and ping RTT
# through a two-node ringlan tunnel, side by side with OpenVPN 2.6 (TAP,
# AES-256-GCM) measured in the same run with the same method.
#
#   sudo bench/link.sh [--no-deps] [--no-build] [--out FILE.tsv]
#
# The measuring is done by the shared harness peers.sh (not part of this
# repo; found at $PEERS_SH, ../shared/bench/peers.sh relative to the repo, or
# /work/shared/bench/peers.sh). It builds two namespaces pbA/pbB joined by a
# veth (192.0.2.1/.2) and runs its "custom" peer contract for ringlan: this
# script is called back as
#   --setup  on the host: a throwaway group and two member certificates for
#            the harness's inner addresses 198.51.100.1/24 and .2/24 (the
#            contract fixes those; the real virtual LAN uses 100.64.0.0/10)
#   --peer   inside pbA / pbB: writes a config (tap = $PB_IFNAME, static
#            [peer] = the other side) and execs `ringlan up` in the foreground
# Knobs of peers.sh pass through (PB_T=10 s per iperf3 run, PB_PINGS=50,
# PB_REPEAT=1, PB_KEEP=1 keeps its scratch dir with the daemon logs).
#
# Output: the peers.sh progress on stderr, then a side-by-side table; the raw
# TSV rows (all peers.sh columns: udp64, CPU, RSS, steal, ...) go to --out
# FILE, by default to a temp file whose name is printed at the end.
set -euo pipefail
SELF=$(readlink -f "$0")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
RL_BIN=${RL_BIN:-$REPO/build/ringlan}
PORT_DEFAULT=51900

case ${1:-} in
  --setup)
    # PB_CUSTOM_SETUP: env has PB_SHARED (scratch shared by both sides)
    : "${PB_SHARED:?}"
    "$RL_BIN" group init --name bench --out "$PB_SHARED/group.key"
    i=1
    for s in A B; do
      "$RL_BIN" keygen --out "$PB_SHARED/$s.key"
      "$RL_BIN" group sign --group-key "$PB_SHARED/group.key" --pub "$PB_SHARED/$s.pub" \
        --ip "198.51.100.$i/24" --days 1 --out "$PB_SHARED/$s.cert"
      i=$((i + 1))
    done
    exit 0 ;;
  --peer)
    # custom CMD_A / CMD_B, inside the namespace; env per peers.sh contract
    : "${PB_SIDE:?}" "${PB_WORKDIR:?}" "${PB_SHARED:?}" "${PB_IFNAME:?}"
    conf=$PB_WORKDIR/ringlan.conf
    mkdir -p "$PB_WORKDIR/state"
    cat >"$conf" <<EOF
[node]
key = $PB_SHARED/$PB_SIDE.key
cert = $PB_SHARED/$PB_SIDE.cert
group = $PB_SHARED/group.pub
listen = $PB_UNDER_LOCAL:${PB_PORT:-$PORT_DEFAULT}
tap = $PB_IFNAME
control = $PB_WORKDIR/ctl.sock
state = $PB_WORKDIR/state

[peer]
endpoint = $PB_UNDER_PEER:${PB_PORT:-$PORT_DEFAULT}
EOF
    exec "$RL_BIN" up --config "$conf" ;;
esac

deps=1 build=1 out=""
while [ $# -gt 0 ]; do
  case $1 in
    --no-deps) deps=0 ;;
    --no-build) build=0 ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "link.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "link.sh: run as root" >&2; exit 1; }

PEERS=""
for p in "${PEERS_SH:-}" "$REPO/../shared/bench/peers.sh" /work/shared/bench/peers.sh; do
  [ -n "$p" ] && [ -f "$p" ] && { PEERS=$(readlink -f "$p"); break; }
done
[ -n "$PEERS" ] || { echo "link.sh: peers.sh not found (set PEERS_SH)" >&2; exit 1; }

cd "$REPO"
[ $deps = 0 ] || ./scripts/deps.sh --bench
[ $build = 0 ] || ./scripts/build.sh build
[ -x "$RL_BIN" ] || { echo "link.sh: no ringlan binary at $RL_BIN" >&2; exit 1; }

# libsodium uses AES-256-GCM only with AES-NI + PCLMUL; ringlan then prefers
# it, otherwise ChaCha20-Poly1305 (docs/architecture.md, crypto/dc.h)
if grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo; then
  crypto="own-1RTT-hs+P_DATA_V2-AES-256-GCM"
else
  crypto="own-1RTT-hs+P_DATA_V2-ChaCha20-Poly1305"
fi
tsv=${out:-$(mktemp -t ringlan-link.XXXXXX.tsv)}
: >"$tsv"
export RL_BIN
echo "link.sh: peers.sh = $PEERS, ringlan = $RL_BIN ($("$RL_BIN" --version 2>/dev/null || echo '?'))" >&2
rc=0
PB_CUSTOM_SETUP="exec '$SELF' --setup" PB_LABEL=ringlan PB_LAYER=L2 PB_CRYPTO=$crypto \
  PB_VERSION="$("$RL_BIN" --version 2>/dev/null | tr ' ' '-' || echo ringlan)" PB_TSV="$tsv" \
  "$PEERS" openvpn-tap custom "exec '$SELF' --peer" "exec '$SELF' --peer" >/dev/null \
  2> >(grep --line-buffered -v '^.*peers.sh: line [0-9]*: /proc/[0-9]*/comm: No such file' >&2) || rc=$?
# (that filtered line is harmless noise of the harness: a process it looked
# at exited while it scanned /proc)

echo
echo "Side by side (median ping RTT over the idle tunnel; iperf3 TCP receiver Mbit/s;"
echo "VPN cpu% = both sides' processes during the 1-stream run, 100 = one core):"
awk -F'\t' '
  NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { printf "%-3s %-12s %-22s %-40s %6s %9s %9s %9s %6s %5s %s\n", $c["rep"], $c["peer"], $c["version"],
      $c["crypto"], $c["mtu"], $c["ping_med_ms"], $c["tcp1_mbps"], $c["tcp4_mbps"],
      $c["tcp1_vpn_cpu_pct"], $c["tcp1_steal_pct"], $c["status"] }
  BEGIN { printf "%-3s %-12s %-22s %-40s %6s %9s %9s %9s %6s %5s %s\n", "rep", "peer", "version",
      "crypto", "mtu", "ping_ms", "tcp1_Mbps", "tcp4_Mbps", "cpu%", "st%", "status" }' "$tsv"
echo
echo "raw TSV: $tsv"
# peers.sh reports a failed peer in its status column, not in its exit code
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  $c["status"] != "ok" { bad = 1 } END { exit bad }' "$tsv" || { echo "link.sh: a peer failed (see status)" >&2; rc=1; }
exit $rc
