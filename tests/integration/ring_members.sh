#!/usr/bin/env bash
# Acceptance test of the overlay: a group of N (default 12) members that know
# only one bootstrap address form one Chord ring, reach each other over the
# virtual LAN, survive a crash, and a restarted member rejoins from its peer
# cache while the bootstrap node is down.
#
#                 bridge 198.51.100.0/24 (namespace sw)
#     +--------+--------+--------+-- ... --+
#     m1       m2       m3       m4        m12     198.51.100.N, 100.64.12.N/10
#   (bootstrap: the others have `bootstrap = 198.51.100.1:PORT`, no [peer])
#   Every member listens on the documented default wildcard address
#   (`listen = 0.0.0.0:PORT`): host candidates come from its interfaces.
#
# Every member has a state directory (LMDB store: DHT records + peer cache).
#
# 1. start all members; wait until every `status --json` has ring.joined and
#    the ring is consistent: the successor pointers, sorted by ID, form one
#    cycle through all N IDs and each member's first successor names it as
#    its predecessor.
# 2. ping matrix: every member pings every other member's virtual IP (N*(N-1)
#    ordered pairs, one job per source in parallel, bounded retries for the
#    first ping of a pair: ARP is answered from the DHT, the first frame goes
#    over the overlay, a direct link opens on demand). Afterwards a member
#    has a `direct` link to a member that is not its ring neighbour, and,
#    all members being on one switch, every member has an established
#    direct link to every other member it pinged (nothing rides relays or
#    the overlay for good).
# 3. SIGKILL one member (M_KILL): another member still resolves its VIP
#    through the DHT (records live on replicas; the answer must come from
#    the DHT, not from a stale link), and the N-1 others form a consistent
#    ring again.
# 4. SIGTERM the bootstrap member, SIGTERM one more member (M_RESTART) and
#    restart it with the same config and state dir while the bootstrap is
#    still down. First the others must close the ring (graceful leave;
#    its time is reported, with a warning when it takes the 40 s link
#    timeout). The restarted member rejoins from its peer cache (it loaded
#    remembered endpoints, ring.joined, consistent ring of the live members)
#    and pings other members.
#
# Prints the figures: join time, ping matrix time, repair time, rejoin time.
#
# Environment (besides lib.sh's): N (members, default 12, >= 6),
# JOIN_S (default 60), PING_S (default 110, whole matrix), REPAIR_S
# (default 90), LEAVE_S (default 60; 0 = restart at once without waiting
# for the graceful-leave repair), LEAVE_STRICT=1 (fail when that repair
# takes more than 10 s instead of warning), REJOIN_S (default 60).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51912
N=${N:-12}
JOIN_S=${JOIN_S:-60}
PING_S=${PING_S:-110}
REPAIR_S=${REPAIR_S:-90}
REJOIN_S=${REJOIN_S:-60}
LEAVE_S=${LEAVE_S:-60}
NET=198.51.100
VNET=100.64.12
M_KILL=m$((N / 2 + 1))     # crashed member (not the bootstrap)
M_RESTART=m$((N - 1))     # stopped and restarted member
[ "$N" -ge 6 ] || { echo "ring_members: N must be >= 6" >&2; exit 2; }

t_init ring_members
t_need sort awk

vip() { printf '%s.%s' "$VNET" "${1#m}"; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

# ---------------------------------------------------------------- topology
t_ns sw; t_bridge sw br
t_group ring
ALL=()
for i in $(seq "$N"); do
  n=m$i; ALL+=("$n")
  t_ns "$n"; t_attach sw br "$n" "$NET.$i/24"
  boot=""; [ "$i" = 1 ] || boot=$NET.1:$PORT
  t_ring_member ring "$n" "$(vip "$n")/10" "0.0.0.0:$PORT" "$boot"
done
t_reach "m$N" "$NET.1"

# ---------------------------------------------------------------- helpers
# ring_state NODE...: one compact JSON line per node into $T_DIR/ring.json
# (name, id, joined, first successor, predecessor, successors, shortcuts).
ring_state() {
  local n js
  : >"$T_DIR/ring.json"
  for n in "$@"; do
    js=$(status_json "$n") || { echo "$n: no status --json answer" >"$T_DIR/ring.why"; return 1; }
    printf '%s\n' "$js" | jq -c --arg n "$n" '{n: $n, id, joined: (.ring.joined // false),
        succ: (.ring.successors[0] // null), pred: (.ring.predecessor // null),
        succs: (.ring.successors // []), shortcuts: (.ring.shortcuts // [])}' \
      >>"$T_DIR/ring.json"
  done
}

# ring_ok NODE...: the live members NODE... form one consistent ring.
# Expected order: the IDs sorted (equal-length lower-case hex, so string
# order is numeric order). For each member a (in that order) with next
# member b: a is joined, a's first successor is b, b's predecessor is a; and
# explicitly, whoever a names as first successor names a as predecessor.
# Problems go to $T_DIR/ring.why.
ring_ok() {
  ring_state "$@" || return 1
  # a trace of every view checked, for post-mortems (T_KEEP=1)
  { echo "# $(date +%T.%N | cut -c1-12)"; cat "$T_DIR/ring.json"; } >>"$T_DIR/ring.trace"
  jq -r -s '
    (map({key: .id, value: .}) | from_entries) as $by
    | sort_by(.id) as $r | ($r | length) as $k
    | [ range(0; $k) as $i | $r[$i] as $a | $r[($i + 1) % $k] as $b
        | (if $a.joined then empty else "\($a.n): ring.joined is false" end),
          (if $a.succ == $b.id then empty
           else "\($a.n): first successor \($a.succ // "none" | .[0:8]) (\($by[$a.succ // ""].n // "not a live member")), expected \($b.n) \($b.id[0:8])" end),
          (if $b.pred == $a.id then empty
           else "\($b.n): predecessor \($b.pred // "none" | .[0:8]) (\($by[$b.pred // ""].n // "not a live member")), expected \($a.n) \($a.id[0:8])" end),
          (if $a.succ != null and $by[$a.succ] != null and $by[$a.succ].pred != $a.id
           then "\($a.n): its successor \($by[$a.succ].n) names \($by[$a.succ].pred // "none" | .[0:8]) as predecessor" else empty end)
      ] | if length == 0 then "ok" else .[] end' "$T_DIR/ring.json" >"$T_DIR/ring.why"
  [ "$(cat "$T_DIR/ring.why")" = ok ]
}

# ring_fail MSG NODE...: failure with the ring problems and every member's
# ring view.
ring_fail() {
  local msg=$1; shift
  {
    echo "ring problems:"; sed 's/^/  /' "$T_DIR/ring.why"
    echo "ring views (id, first successor, predecessor; 8 hex digits):"
    jq -r '"  \(.n): \(.id[0:8]) succ \(.succ // "-" | .[0:8]) pred \(.pred // "-" | .[0:8]) joined \(.joined)"' \
      "$T_DIR/ring.json" 2>/dev/null || true
  } >&2
  t_fail "$msg" "$@"
}

# wait_ring DEADLINE_S NODE...: wait_until ring_ok, logging what is still
# wrong every 10 s (to see what a slow repair waits for).
wait_ring() {
  local deadline=$(( $(date +%s) + $1 )) next=$(( $(date +%s) + 10 )); shift
  while :; do
    ring_ok "$@" && return 0
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    if [ "$(date +%s)" -ge "$next" ]; then
      t_log "ring not yet consistent: $(tr '\n' ';' <"$T_DIR/ring.why")"
      next=$(( $(date +%s) + 10 ))
    fi
    sleep 0.2
  done
}

# without NODE LIST...: LIST minus NODE
without() { local x=$1 y; shift; for y in "$@"; do [ "$y" = "$x" ] || printf '%s\n' "$y"; done; }

# ---------------------------------------------------------------- 1. join
t0=$(ms_now)
for n in "${ALL[@]}"; do t_up "$n" "$n"; done
all_joined() { t_all_joined "$@"; }
if ! wait_until "$JOIN_S" all_joined "${ALL[@]}"; then
  t_check_alive "${ALL[@]}"
  ring_state "${ALL[@]}" || true
  echo "members not joined: $(jq -r 'select(.joined | not) | .n' "$T_DIR/ring.json" 2>/dev/null | tr '\n' ' ')" >"$T_DIR/ring.why"
  ring_fail "not every member has ring.joined within $JOIN_S s"
fi
t_joined=$(ms_now)
wait_ring "$JOIN_S" "${ALL[@]}" || ring_fail "ring of $N members not consistent within $JOIN_S s of joining"
t_ring=$(ms_now)
t_check_alive "${ALL[@]}"
JOIN_FIG="all $N joined after $(secs "$t0" "$t_joined") s, ring consistent after $(secs "$t0" "$t_ring") s"
t_say "join: $JOIN_FIG"
t_log "ring order: $(jq -r -s 'sort_by(.id) | map("\(.n)(\(.id[0:6]))") | join(" -> ")' "$T_DIR/ring.json")"
for n in "${ALL[@]}"; do wait_until 5 t_tap_ready "$n" "$(vip "$n")" || t_fail "TAP of $n has no address $(vip "$n")" "$n"; done

# ---------------------------------------------------------------- 2. ping matrix
# ping_row SRC: SRC pings every other member once; the first ping of a pair
# may wait for ARP (DHT lookup) and link setup, so up to 5 tries of 2 s.
# One line per pair: "SRC DST ok|FAIL TRIES".
ping_row() {
  local s=$1 d try res
  for d in "${ALL[@]}"; do
    [ "$d" != "$s" ] || continue
    res=FAIL
    for try in 1 2 3 4 5; do
      if ip netns exec "${T_NODE_NS[$s]}" ping -n -q -c1 -W2 "$(vip "$d")" >/dev/null 2>&1; then
        res=ok; break
      fi
    done
    echo "$s $d $res $try"
  done >"$T_DIR/pm.$s"
}
t0=$(ms_now)
rows=()
for n in "${ALL[@]}"; do
  ping_row "$n" &
  rows+=("$!"); T_PIDS+=("$!")
done
# a row takes at most (N-1) * 5 * 2 s; PING_S bounds the whole matrix
deadline=$(( $(date +%s) + PING_S ))
for p in "${rows[@]}"; do
  while [ -r "/proc/$p/stat" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] &&
        [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.2
  done
done
for p in "${rows[@]}"; do t_stop_pid "$p"; done
t_pm=$(ms_now)
cat "$T_DIR"/pm.m* >"$T_DIR/pm.all" 2>/dev/null || true
pairs=$(wc -l <"$T_DIR/pm.all")
okpairs=$(awk '$3 == "ok"' "$T_DIR/pm.all" | wc -l)
retried=$(awk '$3 == "ok" && $4 > 1' "$T_DIR/pm.all" | wc -l)
maxtry=$(awk '$3 == "ok" && $4 > m { m = $4 } END { print m + 0 }' "$T_DIR/pm.all")
PING_FIG="$okpairs/$((N * (N - 1))) pairs ok in $(secs "$t0" "$t_pm") s ($retried needed a retry, at most $maxtry tries)"
t_say "ping matrix: $PING_FIG"
if [ "$okpairs" != $((N * (N - 1))) ]; then
  echo "failed or missing pairs:" >&2
  awk '$3 != "ok" { print "  " $1 " -> " $2 " (" $4 " tries)" }' "$T_DIR/pm.all" >&2
  [ "$pairs" = $((N * (N - 1))) ] || echo "  only $pairs of $((N * (N - 1))) pairs finished within $PING_S s" >&2
  # what the failing sources know of the address (ARP from the DHT) and why
  for s in $(awk '$3 != "ok" { print $1 }' "$T_DIR/pm.all" | sort -u); do
    echo "$s counters: $(status_json "$s" | jq -c '.counters | {arp_answered, resolve_failed,
      resolve_full, tap_no_route, connects_on_demand, e2e_in, e2e_bad, ov_send_no_link}')" >&2
    echo "$s neighbours: $(ip -n "${T_NODE_NS[$s]}" neigh show dev "$(t_tapname "$s")" | tr '\n' ';')" >&2
  done
  t_fail "ping matrix: $okpairs of $((N * (N - 1))) pairs reachable"
fi
t_check_alive "${ALL[@]}"

# A pair (s, t) that are not ring neighbours of each other in either
# direction (not in successors, predecessor or shortcuts), so no overlay
# maintenance opened their link: after the pings s must have a direct link
# to t (opened on demand).
ring_state "${ALL[@]}" || t_fail "status --json failed after the ping matrix"
pair=$(jq -r -s '
  . as $all
  | [ $all[] as $s | $all[] as $t
      | select($s.n != $t.n)
      | select(([$s.succs[], $s.pred, $s.shortcuts[]] | index($t.id)) == null)
      | select(([$t.succs[], $t.pred, $t.shortcuts[]] | index($s.id)) == null)
      | "\($s.n) \($t.n)" ] | first // ""' "$T_DIR/ring.json")
if [ -z "$pair" ]; then
  # with few members, fingers may cover everyone: fall back to "not a
  # successor and not the predecessor"
  pair=$(jq -r -s '. as $all | [ $all[] as $s | $all[] as $t | select($s.n != $t.n)
      | select(([$s.succs[], $s.pred] | index($t.id)) == null) | "\($s.n) \($t.n)" ] | first // ""' "$T_DIR/ring.json")
fi
[ -n "$pair" ] || t_fail "no pair of non-neighbour members found (ring views in $T_DIR/ring.json)"
ps=${pair% *} pt=${pair#* }
direct_link() {
  t_link "$1" "$2" | jq -e '.path == "direct" and ((.last_handshake_s | type) == "number")' >/dev/null
}
wait_until 15 direct_link "$ps" "$(vip "$pt")" ||
  { t_link "$ps" "$(vip "$pt")" >&2 || echo "$ps has no link to $(vip "$pt")" >&2
    t_fail "$ps (pinged non-neighbour $pt) has no direct link to it" "$ps" "$pt"; }
# On one switch every pair that exchanged frames must end on a direct link
# (punching is trivial here; a pair left on a relay or the overlay means a
# member could not be dialled, e.g. no host candidate for a wildcard listen).
direct_peers() {
  status_json "$1" | jq -r '[.links[]? | select(.path == "direct" and .state == "established")
                            | .peer_vip | split("/")[0]] | unique | .[]'
}
all_direct() {
  local n d
  : >"$T_DIR/direct.why"
  for n in "${ALL[@]}"; do
    direct_peers "$n" >"$T_DIR/direct.$n" || { echo "$n: no status" >>"$T_DIR/direct.why"; continue; }
    for d in "${ALL[@]}"; do
      [ "$d" != "$n" ] || continue
      grep -qx "$(vip "$d")" "$T_DIR/direct.$n" || echo "$n -> $d" >>"$T_DIR/direct.why"
    done
  done
  [ ! -s "$T_DIR/direct.why" ]
}
if ! wait_until 20 all_direct; then
  all_direct || true
  echo "pairs without an established direct link after the ping matrix:" >&2
  sed 's/^/  /' "$T_DIR/direct.why" >&2
  t_fail "$(wc -l <"$T_DIR/direct.why") of $((N * (N - 1))) member->member pairs on one switch have no direct link"
fi
t_say "direct link $ps -> $pt (non-neighbours) present; all $((N * (N - 1))) member->member links are direct"

# ---------------------------------------------------------------- 3. crash
kill_pid=${T_NODE_PID[$M_KILL]}
# reap it; bash's "Killed" job notice is noise here
{ kill -KILL "$kill_pid"; t_stop_pid "$kill_pid"; } 2>/dev/null
unset "T_NODE_PID[$M_KILL]"
t_say "SIGKILLed $M_KILL (pid $kill_pid, vip $(vip "$M_KILL"))"
t0=$(ms_now)
LIVE=(); while read -r n; do LIVE+=("$n"); done < <(without "$M_KILL" "${ALL[@]}")
# the querying member: the one opposite the victim in the ring would be
# ideal, any live non-bootstrap member works
ASKER=m2; [ "$ASKER" != "$M_KILL" ] || ASKER=m3
# found:true from the DHT; an answer from a link (source "link") only means
# the asker has not yet noticed that the link is dead, so keep asking.
dht_found() {
  local out
  out=$(ip netns exec "${T_NODE_NS[$1]}" timeout 8 "$RL_BIN" lookup "$2" --json --control "$T_DIR/$1.sock" 2>&1) || true
  printf '%s\n' "$out" >"$T_DIR/lookup.last"
  printf '%s\n' "$out" | jq -e '.found == true and .source == "dht"' >/dev/null
}
lookup_ok=""; ring_ok_at=""
deadline=$(( $(date +%s) + REPAIR_S )) next_log=$(( $(date +%s) + 10 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  if [ -z "$lookup_ok" ] && dht_found "$ASKER" "$(vip "$M_KILL")"; then lookup_ok=$(ms_now); fi
  if [ -z "$ring_ok_at" ]; then
    if ring_ok "${LIVE[@]}"; then
      ring_ok_at=$(ms_now)
    elif [ "$(date +%s)" -ge "$next_log" ]; then
      t_log "ring not yet consistent: $(tr '\n' ';' <"$T_DIR/ring.why")"
      next_log=$(( $(date +%s) + 10 ))
    fi
  fi
  [ -z "$lookup_ok" ] || [ -z "$ring_ok_at" ] || break
  sleep 0.5
done
t_check_alive "${LIVE[@]}"
[ -n "$ring_ok_at" ] || ring_fail "the $((N - 1)) members left after SIGKILL of $M_KILL do not form a consistent ring within $REPAIR_S s" "${LIVE[@]}"
if [ -z "$lookup_ok" ]; then
  echo "last answer to 'lookup $(vip "$M_KILL")' on $ASKER: $(cat "$T_DIR/lookup.last")" >&2
  t_fail "$ASKER cannot resolve crashed $M_KILL's VIP through the DHT within $REPAIR_S s" "$ASKER"
fi
# the ring stays consistent (not a momentary state)
ring_ok "${LIVE[@]}" || ring_fail "ring inconsistent again after repair" "${LIVE[@]}"
REPAIR_FIG="ring of $((N - 1)) consistent $(secs "$t0" "$ring_ok_at") s after SIGKILL, $ASKER resolved $(vip "$M_KILL") from the DHT after $(secs "$t0" "$lookup_ok") s"
t_say "repair: $REPAIR_FIG"
t_log "lookup answer: $(cat "$T_DIR/lookup.last")"

# ---------------------------------------------------------------- 4. restart without bootstrap
t_down m1
t_down "$M_RESTART"
LIVE2=(); while read -r n; do LIVE2+=("$n"); done < <(without m1 "${LIVE[@]}")
OTHERS=(); while read -r n; do OTHERS+=("$n"); done < <(without "$M_RESTART" "${LIVE2[@]}")
t_check_alive "${OTHERS[@]}"
# Both left gracefully (overlay LEAVE to predecessor and successor): the
# others should close the ring at once; a member that keeps a departed one
# as successor only drops it when the link times out (40 s). Reported, not
# fatal unless it exceeds LEAVE_S.
# LEAVE_S=0 skips this wait: the member restarts right away (the others
# may then still be repairing).
if [ "$LEAVE_S" = 0 ]; then
  LEAVE_FIG="not waited for (LEAVE_S=0)"
else
  t0=$(ms_now)
  wait_ring "$LEAVE_S" "${OTHERS[@]}" ||
    ring_fail "ring of the ${#OTHERS[@]} members left after SIGTERM of m1 and $M_RESTART not consistent within $LEAVE_S s" "${OTHERS[@]}"
  t_leave=$(ms_now)
  LEAVE_FIG="ring of ${#OTHERS[@]} consistent $(secs "$t0" "$t_leave") s after SIGTERM of m1 and $M_RESTART"
  t_say "graceful leave: $LEAVE_FIG"
  if [ $((t_leave - t0)) -gt 10000 ]; then
    # known core problem (see the branch report): the leaving member's
    # predecessor sometimes keeps it as first successor until the link
    # times out
    [ "${LEAVE_STRICT:-0}" = 0 ] ||
      t_fail "graceful leave took $(secs "$t0" "$t_leave") s (LEAVE_STRICT=1: more than 10 s fails)" "${OTHERS[@]}"
    t_say "WARNING: slow repair after a graceful leave: a departed member stayed a successor until its link timed out (set LEAVE_STRICT=1 to fail on this)"
  fi
fi
[ -n "$(ls -A "$T_DIR/$M_RESTART.state" 2>/dev/null)" ] || t_fail "$M_RESTART's state dir $T_DIR/$M_RESTART.state is empty"
t0=$(ms_now)
t_up "$M_RESTART" "$M_RESTART"
t_alive m1 && t_fail "bootstrap m1 is still running"
wait_until "$REJOIN_S" all_joined "$M_RESTART" ||
  { t_check_alive "$M_RESTART"; t_fail "restarted $M_RESTART (bootstrap down) not joined within $REJOIN_S s" "$M_RESTART"; }
t_rejoined=$(ms_now)
# the daemon reports what its store held at start: it must have remembered
# endpoints (the peer cache), since the bootstrap node is down
rlog=$T_DIR/$M_RESTART.log.1
cached=$(sed -n 's/.*state: .*, \([0-9]*\) remembered endpoint(s).*/\1/p' "$rlog" | head -n1)
[ "${cached:-0}" -gt 0 ] ||
  t_fail "restarted $M_RESTART did not load remembered endpoints from its state dir ($(grep -m1 'state:' "$rlog" || echo 'no state line'))" "$M_RESTART"
wait_ring "$REJOIN_S" "${LIVE2[@]}" ||
  ring_fail "ring of the ${#LIVE2[@]} live members not consistent within $REJOIN_S s after $M_RESTART restarted" "${LIVE2[@]}"
t_ring=$(ms_now)
# ping the member that is farthest in the list from it and one neighbour
for d in m2 "${OTHERS[$(( ${#OTHERS[@]} / 2 ))]}"; do
  [ "$d" != "$M_RESTART" ] || continue
  wait_until 20 t_in "$M_RESTART" ping -n -c1 -W2 "$(vip "$d")" ||
    t_fail "restarted $M_RESTART cannot ping $d ($(vip "$d"))" "$M_RESTART" "$d"
done
t_check_alive "${LIVE2[@]}"
REJOIN_FIG="$M_RESTART ($cached remembered endpoints) rejoined without bootstrap after $(secs "$t0" "$t_rejoined") s, ring of ${#LIVE2[@]} consistent after $(secs "$t0" "$t_ring") s"
t_say "rejoin: $REJOIN_FIG"

# Joining, repair and rejoin never ran into the budget of handshakes toward
# addresses that never answered (node/core/node_dial.c, docs/security.md
# finding 2): every endpoint the ring asked for was dialled.
capped=0
for n in "${LIVE2[@]}"; do
  k=$(status_json "$n" | jq '.counters.ov_dials_capped // 0' 2>/dev/null) || k=0
  capped=$((capped + ${k:-0}))
done
t_say "ring-link endpoints not dialled for the dial budget: $capped"
[ "$capped" = 0 ] || t_fail "$capped ring-link endpoints were not dialled (dial budget)"

t_say "figures: join: $JOIN_FIG; ping matrix: $PING_FIG; repair: $REPAIR_FIG; graceful leave: $LEAVE_FIG; rejoin: $REJOIN_FIG"
