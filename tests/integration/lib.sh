# shellcheck shell=bash
# Helpers for ringlan integration tests in network namespaces. Source it:
#
#   . "$(dirname "$0")/lib.sh"
#   t_init two_nodes                 # prefix, temp dir, cleanup trap
#   t_ns a; t_ns b                   # namespaces  ${T_P}a, ${T_P}b
#   t_veth a 192.0.2.1/24 b 192.0.2.2/24
#   t_group g1                       # group key g1.key / g1.pub
#   t_member g1 a 100.64.0.1/10      # a.key a.pub a.cert, signed by g1
#   t_config a g1 192.0.2.1:51820 192.0.2.2:51820   # a.conf
#   t_up a a                         # node a in namespace a
#   wait_until 20 t_link_up a 100.64.0.2 || t_fail "no link"
#
# Everything a test creates is named with a short prefix that is unique per
# run (T_P, 6 characters), so interface names stay <= 15 characters and two
# runs never touch each other. Nothing is created in the root namespace:
# veths are created directly inside their namespaces and bridges live in a
# "switch" namespace, so deleting our namespaces deletes every interface we
# made. The EXIT/INT/TERM trap kills only the PIDs this test started (they
# are our children, so their PIDs cannot be reused before we reap them) and
# deletes every namespace we created, also when the test fails.
#
# Addresses: underlay in documentation ranges (192.0.2.0/24, 198.51.100.0/24,
# 203.0.113.0/24), virtual LAN in 100.64.0.0/10.
#
# Environment:
#   RL_BIN    the ringlan binary (default: $RL_BUILD/ringlan, $RL_BUILD
#             defaulting to <repo>/build)
#   T_KEEP=1  keep the temp dir (keys, configs, daemon logs) after the run
#   T_KEEP_ON_FAIL=1  keep it only when the test fails
#   T_QUIET=1 less chatter
#   T_LOG_LEVEL=debug  every daemon's log_level (default: the daemon's, info)
#
# Every daemon must exit 0 on SIGTERM, and a sanitizer report in any daemon
# log fails the test (so RL_BUILD=build-asan checks the daemon under ASan).

T_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RL_BUILD=${RL_BUILD:-$T_REPO/build}
RL_BIN=${RL_BIN:-$RL_BUILD/ringlan}

T_NAME=""                 # test name, for messages
T_P=""                    # unique name prefix of this run
T_DIR=""                  # temp dir: keys, certs, configs, logs
T_NS=()                   # namespaces we created (full names)
T_PIDS=()                 # background processes we started and not yet reaped
T_LAST_RC=0               # exit status of the last process t_stop_pid reaped
T_START=$(date +%s)
declare -A T_NODE_NS=()   # node -> full namespace name
declare -A T_NODE_PID=()  # node -> daemon PID (while running)
declare -A T_NODE_GEN=()  # node -> how many times it was started (log suffix)

t_log() { [ "${T_QUIET:-0}" = 1 ] || printf '[%s %3ss] %s\n' "${T_NAME:-test}" "$(( $(date +%s) - T_START ))" "$*" >&2; }
t_say() { printf '[%s %3ss] %s\n' "${T_NAME:-test}" "$(( $(date +%s) - T_START ))" "$*" >&2; }

# t_fail MSG [NODE...]: print MSG and the tail of the daemon logs (of the
# nodes named, or of every node when none is named) and exit 1.
t_fail() {
  local msg=$1 n f; shift
  printf '\nFAIL [%s]: %s\n' "${T_NAME:-test}" "$msg" >&2
  local nodes=("$@")
  [ ${#nodes[@]} -gt 0 ] || nodes=("${!T_NODE_NS[@]}")
  # Every running member's view of the ring, one line each (IDs cut to 8).
  printf -- '---- ring views (id: pred < id < successors)\n' >&2
  for n in "${!T_NODE_NS[@]}"; do
    t_alive "$n" 2>/dev/null || continue
    status_json "$n" 2>/dev/null | jq -r --arg n "$n" '"\($n) \(.id[0:8]) joined=\(.ring.joined): \((.ring.predecessor // "-")[0:8]) < \(.id[0:8]) < \([(.ring.successors // [])[][0:8]] | join(" "))"' >&2 ||
      echo "$n (no answer to status)" >&2
  done
  for n in "${nodes[@]}"; do
    if t_alive "$n"; then
      printf -- '---- %s: ring and links in status --json\n' "$n" >&2
      if status_json "$n" >"$T_DIR/.fail.status" 2>/dev/null; then
        jq -c '{id: .id[0:8], ring: (.ring // {} | {joined, pred: (.predecessor // "")[0:8],
                succ: [(.successors // [])[][0:8]]})}' "$T_DIR/.fail.status" >&2 || true
        jq -c '.links[]?' "$T_DIR/.fail.status" >&2 || true
      else
        echo "(no answer to status)" >&2
      fi
    fi
    for f in "$T_DIR/$n".log*; do
      [ -f "$f" ] || continue
      printf -- '---- %s (last 40 lines)\n' "${f##*/}" >&2
      tail -n 40 "$f" >&2
    done
  done
  exit 1
}

# t_need CMD...: fail early and clearly when a tool is missing.
t_need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || { echo "missing tool: $c (run ./scripts/deps.sh)" >&2; exit 1; }
  done
}

# t_init NAME: checks prerequisites, picks the prefix, makes the temp dir and
# installs the cleanup trap. Call before creating anything.
t_init() {
  T_NAME=$1
  [ "$(id -u)" = 0 ] || { echo "$T_NAME: needs root (network namespaces)" >&2; exit 1; }
  t_need ip jq ping timeout
  [ -x "$RL_BIN" ] || { echo "$T_NAME: no ringlan binary at $RL_BIN (build first or set RL_BIN)" >&2; exit 1; }
  [ -c /dev/net/tun ] || { echo "$T_NAME: /dev/net/tun missing" >&2; exit 1; }
  local i cand
  for i in 1 2 3 4 5 6 7 8; do
    cand=r$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-5)
    # unique: no namespace or root-namespace interface already uses it
    if ! ip netns list 2>/dev/null | awk '{print $1}' | grep -q "^$cand" &&
       ! ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -q "^$cand"; then
      T_P=$cand; break
    fi
  done
  [ -n "$T_P" ] || { echo "$T_NAME: could not pick a unique prefix" >&2; exit 1; }
  T_DIR=$(mktemp -d -t "ringlan-$T_NAME.XXXXXX")
  trap t_cleanup EXIT
  trap 't_say "interrupted"; exit 130' INT
  trap 't_say "terminated"; exit 143' TERM
  t_log "prefix $T_P, files in $T_DIR, binary $RL_BIN"
}

# Stops one PID we started: SIGTERM, up to 5 s, then SIGKILL; reaps it and
# leaves its exit status in T_LAST_RC.
t_stop_pid() {
  local pid=$1 i
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
      # a zombie still answers kill -0; check the state too
      [ -r "/proc/$pid/stat" ] || break
      [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
      sleep 0.1
    done
    if [ -r "/proc/$pid/stat" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
      t_say "PID $pid ignored SIGTERM for 5 s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  T_LAST_RC=0
  wait "$pid" 2>/dev/null || T_LAST_RC=$?
  local keep=() p
  for p in "${T_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  T_PIDS=("${keep[@]}")
}

t_cleanup() {
  local rc=$? p ns i n
  trap - EXIT INT TERM
  set +e
  # newest first: daemons stop before the services they use (e.g. a member
  # removes its port mapping before the test's miniupnpd goes away); each
  # daemon must exit 0 on SIGTERM
  local -A daemon_of=()
  for n in "${!T_NODE_PID[@]}"; do daemon_of[${T_NODE_PID[$n]}]=$n; done
  local pids=("${T_PIDS[@]}")
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[$i]}
    [ -n "$p" ] || continue
    t_stop_pid "$p"
    n=${daemon_of[$p]:-}
    if [ -n "$n" ] && [ "$T_LAST_RC" != 0 ] && [ $rc = 0 ]; then
      t_say "FAIL: daemon $n exited with status $T_LAST_RC on SIGTERM"; rc=1
    fi
  done
  # sanitizer reports (ASan/UBSan builds: RL_BUILD=build-asan)
  local san="ERROR: (Address|Leak)Sanitizer|runtime error:"
  if [ -n "$T_DIR" ] && [ $rc = 0 ] && grep -qE "$san" "$T_DIR"/*.log* 2>/dev/null; then
    while IFS= read -r p; do
      t_say "FAIL: sanitizer report in ${p##*/}:"; grep -m5 -A15 -E "$san" "$p" >&2
    done < <(grep -lE "$san" "$T_DIR"/*.log*)
    rc=1
  fi
  for ((i = ${#T_NS[@]} - 1; i >= 0; i--)); do
    ns=${T_NS[$i]}
    ip netns del "$ns" 2>/dev/null
  done
  # nothing should be in the root namespace, but if a half-done command left
  # an interface with our (unique) prefix there, remove it
  if [ -n "$T_P" ]; then
    for p in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$T_P"); do
      ip link del "$p" 2>/dev/null
    done
    if ip netns list 2>/dev/null | awk '{print $1}' | grep -q "^$T_P"; then
      t_say "WARNING: namespaces with prefix $T_P still exist"
    fi
  fi
  if [ -n "$T_DIR" ] && [ -d "$T_DIR" ]; then
    if [ "${T_KEEP:-0}" = 1 ] || { [ $rc != 0 ] && [ "${T_KEEP_ON_FAIL:-0}" = 1 ]; }; then
      t_say "kept $T_DIR"
    else
      rm -rf "$T_DIR"
    fi
  fi
  if [ $rc = 0 ]; then t_say "PASS ($(( $(date +%s) - T_START )) s)"; else t_say "exit $rc"; fi
  exit $rc
}

# wait_until DEADLINE_S CMD...: runs CMD every 0.2 s until it succeeds
# (return 0) or DEADLINE_S seconds have passed (return 1). CMD's output is
# discarded.
wait_until() {
  local deadline=$(( $(date +%s%N) + $1 * 1000000000 )); shift
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$(date +%s%N)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# ------------------------------------------------------------------ topology
t_nsname() { printf '%s%s' "$T_P" "$1"; }

# t_ns NAME: creates namespace ${T_P}NAME with lo up.
t_ns() {
  local ns; ns=$(t_nsname "$1")
  ip netns add "$ns" || t_fail "ip netns add $ns"
  T_NS+=("$ns")
  ip -n "$ns" link set lo up
}

# t_in NAME CMD...: runs CMD inside namespace NAME.
t_in() { local ns; ns=$(t_nsname "$1"); shift; ip netns exec "$ns" "$@"; }

# t_veth NS1 ADDR1 NS2 ADDR2: a veth pair NS1 <-> NS2 (ADDR = a.b.c.d/len, or
# "-" for none). Interface names: ${T_P}NS1-NS2-style, shortened to 15 chars.
# Sets T_IF1/T_IF2 to the names used.
t_veth() {
  local a=$1 aa=$2 b=$3 ba=$4 ia ib
  ia=$(printf '%.15s' "$T_P$a$b"); ib=$(printf '%.15s' "$T_P$b$a")
  [ "$ia" != "$ib" ] || ib=${ib:0:14}x
  ip link add "$ia" netns "$(t_nsname "$a")" type veth peer name "$ib" netns "$(t_nsname "$b")" ||
    t_fail "veth $ia/$ib"
  [ "$aa" = - ] || ip -n "$(t_nsname "$a")" addr add "$aa" dev "$ia"
  [ "$ba" = - ] || ip -n "$(t_nsname "$b")" addr add "$ba" dev "$ib"
  ip -n "$(t_nsname "$a")" link set "$ia" up
  ip -n "$(t_nsname "$b")" link set "$ib" up
  # shellcheck disable=SC2034  # results for the caller
  T_IF1=$ia T_IF2=$ib
}

# t_bridge SW BR: a bridge BR inside namespace SW (create SW with t_ns).
t_bridge() {
  local ns; ns=$(t_nsname "$1")
  ip -n "$ns" link add "$T_P$2" type bridge || t_fail "bridge $T_P$2"
  ip -n "$ns" link set "$T_P$2" up
}

# t_attach SW BR NS ADDR: connects namespace NS to bridge BR (in SW) with a
# veth; NS's end gets ADDR ("-" for none). Sets T_IF to NS's interface name.
t_attach() {
  local sw=$1 br=$2 n=$3 addr=$4 isw in
  isw=$(printf '%.15s' "$T_P$br$n"); in=$(printf '%.15s' "${T_P}e$n")
  ip link add "$isw" netns "$(t_nsname "$sw")" type veth peer name "$in" netns "$(t_nsname "$n")" ||
    t_fail "veth $isw/$in"
  ip -n "$(t_nsname "$sw")" link set "$isw" master "$T_P$br"
  ip -n "$(t_nsname "$sw")" link set "$isw" up
  [ "$addr" = - ] || ip -n "$(t_nsname "$n")" addr add "$addr" dev "$in"
  ip -n "$(t_nsname "$n")" link set "$in" up
  T_IF=$in
}

# t_reach FROM ADDR [DEADLINE_S]: waits until FROM pings ADDR (underlay).
t_reach() {
  wait_until "${3:-5}" t_in "$1" ping -n -c1 -W1 "$2" || t_fail "underlay: $1 cannot reach $2"
}

# ------------------------------------------------------------------ keys, certs
# t_group G [NAME]: group key pair $T_DIR/G.key, $T_DIR/G.pub (name NAME,
# default G).
t_group() {
  local g=$1 name=${2:-$1}
  "$RL_BIN" group init --name "$name" --out "$T_DIR/$g.key" >"$T_DIR/$g.init.log" 2>&1 ||
    { cat "$T_DIR/$g.init.log" >&2; t_fail "ringlan group init $name"; }
  [ -s "$T_DIR/$g.pub" ] || t_fail "group init did not write $g.pub next to $g.key"
}

# t_member G NODE VIP/PFX: node key NODE.key/NODE.pub and certificate NODE.cert
# for VIP/PFX signed by group G.
t_member() {
  local g=$1 n=$2 ip=$3
  "$RL_BIN" keygen --out "$T_DIR/$n.key" >"$T_DIR/$n.keygen.log" 2>&1 ||
    { cat "$T_DIR/$n.keygen.log" >&2; t_fail "ringlan keygen for $n"; }
  [ -s "$T_DIR/$n.pub" ] || t_fail "keygen did not write $n.pub next to $n.key"
  "$RL_BIN" group sign --group-key "$T_DIR/$g.key" --pub "$T_DIR/$n.pub" --ip "$ip" \
    --days 1 --out "$T_DIR/$n.cert" >"$T_DIR/$n.sign.log" 2>&1 ||
    { cat "$T_DIR/$n.sign.log" >&2; t_fail "ringlan group sign for $n ($ip)"; }
}

# t_config NODE G LISTEN [PEER_ENDPOINT...]: writes $T_DIR/NODE.conf. The TAP
# is ${T_P}tNODE (NODE truncated), the control socket $T_DIR/NODE.sock, the
# state dir $T_DIR/NODE.state. Extra [node] lines can be appended by setting
# T_CONF_EXTRA (one "key = value" per line) before the call.
t_config() {
  local n=$1 g=$2 listen=$3 p; shift 3
  {
    echo "# ringlan config for integration test $T_NAME, node $n"
    echo "[node]"
    echo "key = $T_DIR/$n.key"
    echo "cert = $T_DIR/$n.cert"
    echo "group = $T_DIR/$g.pub"
    echo "listen = $listen"
    echo "tap = $(t_tapname "$n")"
    echo "control = $T_DIR/$n.sock"
    echo "state = $T_DIR/$n.state"
    [ -z "${T_LOG_LEVEL:-}" ] || echo "log_level = $T_LOG_LEVEL"
    [ -z "${T_CONF_EXTRA:-}" ] || printf '%s\n' "$T_CONF_EXTRA"
    for p in "$@"; do
      echo
      echo "[peer]"
      echo "endpoint = $p"
    done
  } >"$T_DIR/$n.conf"
  mkdir -p "$T_DIR/$n.state"
}
t_tapname() { printf '%.15s' "${T_P}t$1"; }

# t_ring_member G NODE VIP/PFX LISTEN [BOOT_ADDR:PORT]: key, certificate and
# config of a member that joins through BOOT (none: it is the bootstrap
# node itself); extra [node] lines from T_CONF_EXTRA as for t_config.
t_ring_member() {
  local g=$1 n=$2 ip=$3 listen=$4 boot=${5:-} extra=${T_CONF_EXTRA:-}
  t_member "$g" "$n" "$ip"
  [ -z "$boot" ] || T_CONF_EXTRA="bootstrap = $boot${extra:+
$extra}"
  t_config "$n" "$g" "$listen"
  T_CONF_EXTRA=$extra
}

# ------------------------------------------------------------------ daemons
# t_up NODE NS: starts `ringlan up` for NODE inside namespace NS in the
# background; log in $T_DIR/NODE.log (NODE.log.1, .2, ... for restarts).
t_up() {
  local n=$1 ns log gen
  ns=$(t_nsname "$2")
  gen=${T_NODE_GEN[$n]:-0}
  log=$T_DIR/$n.log; [ "$gen" = 0 ] || log=$T_DIR/$n.log.$gen
  T_NODE_GEN[$n]=$((gen + 1))
  T_NODE_NS[$n]=$ns
  ip netns exec "$ns" "$RL_BIN" up --config "$T_DIR/$n.conf" >"$log" 2>&1 </dev/null &
  T_NODE_PID[$n]=$!
  T_PIDS+=("$!")
  t_log "started $n in $ns (pid $!)"
}

# t_down NODE: stops NODE's daemon (SIGTERM, SIGKILL after 5 s).
t_down() {
  local n=$1 pid=${T_NODE_PID[$1]:-}
  [ -n "$pid" ] || return 0
  t_stop_pid "$pid"
  unset "T_NODE_PID[$n]"
  [ "$T_LAST_RC" = 0 ] || t_fail "daemon $n exited with status $T_LAST_RC on SIGTERM" "$n"
  t_log "stopped $n (pid $pid)"
}

# t_crash NODE: SIGKILL to NODE's daemon (a crash: no goodbye messages).
t_crash() {
  local n=$1 pid=${T_NODE_PID[$1]:-}
  [ -n "$pid" ] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${T_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  T_PIDS=("${keep[@]}")
  unset "T_NODE_PID[$n]"
  t_log "killed $n (SIGKILL, pid $pid)"
}

# t_alive NODE: true while NODE's daemon runs.
t_alive() {
  local pid=${T_NODE_PID[$1]:-}
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] && [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ]
}

# t_check_alive NODE...: fails the test if a daemon died.
t_check_alive() {
  local n
  for n in "$@"; do t_alive "$n" || t_fail "daemon $n is not running" "$n"; done
}

# status_json NODE: `ringlan status --json` of NODE (through its control
# socket, run inside its namespace). Fails (non-zero) if it does not answer
# with valid JSON.
status_json() {
  local n=$1 out
  out=$(ip netns exec "${T_NODE_NS[$n]}" timeout 5 "$RL_BIN" status --json \
        --control "$T_DIR/$n.sock" 2>/dev/null) || return 1
  printf '%s\n' "$out" | jq -e . 2>/dev/null
}

# t_all_joined NODE...: every NODE's status says ring.joined.
t_all_joined() {
  local n
  for n in "$@"; do
    status_json "$n" | jq -e '.ring.joined == true' >/dev/null || return 1
  done
}

# t_link NODE PEER_VIP: prints NODE's link object to the member whose virtual
# IP is PEER_VIP (without prefix); fails if there is none.
# Prefers an established link over one still handshaking or retiring.
t_link() {
  status_json "$1" | jq -e --arg v "$2" \
    '[.links[]? | select((.peer_vip // "" | split("/")[0]) == $v)]
     | (map(select(.state == "established")) + .) | first'
}

# t_link_up NODE PEER_VIP: NODE has a link to PEER_VIP with a completed
# handshake (last_handshake_s is a number).
t_link_up() {
  t_link "$1" "$2" | jq -e '(.last_handshake_s | type) == "number"' >/dev/null
}

# t_field NODE PEER_VIP JQ_PATH: one field of that link (raw), e.g. .rx_bytes
t_field() { t_link "$1" "$2" | jq -r "$3"; }

# t_wait_link DEADLINE_S NODE PEER_VIP: waits for the link, fails the test if
# it does not come up.
t_wait_link() {
  wait_until "$1" t_link_up "$2" "$3" ||
    { status_json "$2" >&2 || true; t_fail "no link from $2 to $3 within $1 s" "$2"; }
}

# t_ping FROM DST COUNT: pings over the virtual LAN from node FROM; succeeds
# only with 0% loss. Output in $T_DIR/ping.log.
t_ping() {
  local n=$1 dst=$2 count=$3
  ip netns exec "${T_NODE_NS[$n]}" ping -n -q -c "$count" -i 0.2 -W 2 -w $((count + 5)) "$dst" \
    >"$T_DIR/ping.log" 2>&1
  local rc=$?
  grep -q ' 0% packet loss' "$T_DIR/ping.log" && [ $rc = 0 ]
}

# t_tap_ready NODE: the TAP of NODE exists, is up and has the node's VIP.
t_tap_ready() {
  local vip=$2
  ip -n "${T_NODE_NS[$1]}" -4 addr show dev "$(t_tapname "$1")" 2>/dev/null | grep -q "inet $vip/"
}

# t_nat_site SW BR R H WAN_ADDR/PFX LAN24: a home site. Router namespace R
# (WAN interface on bridge BR in SW with WAN_ADDR) and host namespace H behind
# it on LAN24.2/24 (router LAN24.1, H's default route). The router masquerades
# the LAN behind WAN_ADDR and forwards only replies inbound (port-restricted
# cone: endpoint-independent mapping, address+port-dependent filtering), and
# drops unsolicited input to itself, as home routers do.
# Example: t_nat_site sw br r c 192.0.2.3/24 198.51.100
# An optional 7th argument "symmetric" makes the mapping endpoint-dependent
# (masquerade fully-random: a new public port per destination).
t_nat_site() {
  local sw=$1 br=$2 r=$3 h=$4 wan=$5 lan=$6 kind=${7:-cone} wif lif masq=masquerade
  [ "$kind" = symmetric ] && masq="masquerade fully-random"
  t_ns "$r"; t_ns "$h"
  t_attach "$sw" "$br" "$r" "$wan"; wif=$T_IF
  t_veth "$r" "$lan.1/24" "$h" "$lan.2/24"; lif=$T_IF1
  t_in "$h" ip route add default via "$lan.1"
  # (not sysctl(8): procps may be missing on a minimal system)
  t_in "$r" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward' || t_fail "ip_forward in $(t_nsname "$r")"
  t_home_router_nft "$r" "$wif" "$lif" "$lan" "$masq"
}

# t_home_router_nft R WIF LIF LAN24 MASQ: the rules of a home router in
# namespace R: MASQ ("masquerade" or "masquerade fully-random") of LAN24.0/24
# out of WIF, only replies forwarded inbound, and nothing unsolicited reaches
# the router itself. (An accepting router lets a peer's early punch create a
# conntrack entry that gives our own outgoing flow a different port: see the
# shared NAT notes.)
t_home_router_nft() {
  local r=$1 wif=$2 lif=$3 lan=$4 masq=$5
  t_in "$r" nft -f - <<NFT || t_fail "nftables NAT setup in $(t_nsname "$r")"
table ip nat {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "$wif" ip saddr $lan.0/24 $masq; }
}
table ip filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "$lif" oifname "$wif" accept
  }
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname "lo" accept
    iifname "$lif" accept
  }
}
NFT
}
