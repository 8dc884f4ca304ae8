#!/usr/bin/env bash
# Broadcast and multicast over the ring (issue 11): frames a member's host
# writes into its TAP to the Ethernet broadcast address or to a multicast
# group reach every ring member (or, for a routable group, every member
# whose host joined it) exactly once, along a tree over the overlay, not
# only the member's directly linked peers.
#
#                  core (natlab.sh): 192.0.2.1 198.51.100.1 203.0.113.1
#   +------+------+-- ... --+-------+--------+--------+--------+
#   p1     p2     p3        p10     fcr      prr      pr2r     syr
#   .21    .22    .23       .30     .11      .12      .15      .13   (192.0.2 / 198.51.100)
#  (seed)                           |        |        |        |
#                                   fc       pr       pr2      sy
#                                 full cone  port-restricted   symmetric
#                                   (hosts 192.168.X.2 behind their routers)
#
#   14 members, virtual LAN 100.64.0.0/10 (pN: 100.64.11.N, fc .11, pr .12,
#   pr2 .13, sy .14), every
#   member on the documented defaults (wildcard listen 0.0.0.0:42424, the
#   default timers, broadcast_rate/broadcast_burst), joining through p1.
#
# Counting happens at the TAP: an AF_PACKET socket on every member's TAP
# (one bcast_probe.py sniff process, which opens each socket inside the
# member's namespace) records every tagged UDP frame written into the TAP
# by the daemon, with the kernel's arrival time (packet types
# PACKET_OUTGOING and PACKET_LOOPBACK, the host's own sending, are left
# out), so "exactly once" is about the frames the daemon writes, not what
# an application sees. The sender itself must get none of its own frames
# back. The sender logs when it sent each datagram: the delays printed are
# sending -> a receiver's TAP.
#
# After every member has ring.joined and the ring is consistent:
# a) UDP broadcasts from members behind NATs: pr sends to the LAN's
#    broadcast address (the TAP's brd, 100.127.255.255), sy to
#    255.255.255.255; every other member's TAP gets each datagram once.
# b) UDP multicast to 239.255.1.2, a group five members' hosts joined
#    (IP_ADD_MEMBERSHIP on the TAP; their kernels send IGMP reports): once
#    each of their status lists the group, those five get every datagram
#    once and nobody else gets any; after one of them leaves (membership
#    dropped, its status no longer lists the group) it gets nothing while
#    the other four still get every datagram once.
# c) mDNS: a member asks 224.0.0.251:5353 for <name>.local (A); a responder
#    on a member the asker has no link with (either way, per status links)
#    answers by multicast; the asker gets the answer. (Should the two get a
#    link while the responder starts, another pair is picked; 3 tries.)
# d) 50 broadcasts a second for 10 s from fc: every other member's TAP gets
#    all 500, none twice.
# Throughout: status counters bcast_out (sender) and bcast_in (receivers)
# grow at least by what was sent and counted; bcast_bad stays 0.
#
# Prints per-member counts, delays and counter growth. ~70 s on an idle
# machine. Environment (besides lib.sh's):
# JOIN_S (default 60), RING_S (default 60), DELIVER_S (default 15: how long
# a case waits for the last frame).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/natlab.sh
. "$(dirname "$0")/natlab.sh"

PORT=42424                    # the documented default listen port
JOIN_S=${JOIN_S:-60}
RING_S=${RING_S:-60}
DELIVER_S=${DELIVER_S:-15}
SETTLE_S=1                    # after the last expected frame: late duplicates?
GROUP=239.255.1.2 GPORT=5002 BPORT=5001
PROBE="$(cd "$(dirname "$0")" && pwd)/bcast_probe.py"
# -S: no site packages (start-up in half the time); no __pycache__ anywhere
PY=(python3 -S -B "$PROBE")
export PYTHONDONTWRITEBYTECODE=1
PUB=(p1 p2 p3 p4 p5 p6 p7 p8 p9 p10)
NATS=(fc pr pr2 sy)
ALL=("${PUB[@]}" "${NATS[@]}")
declare -A VIPN=([fc]=11 [pr]=12 [pr2]=13 [sy]=14)
for i in $(seq 10); do VIPN[p$i]=$i; done
vip() { printf '100.64.11.%s' "${VIPN[$1]}"; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }
without() { local x=$1 y; shift; for y in "$@"; do [ "$y" = "$x" ] || printf '%s\n' "$y"; done; }

t_init broadcast
t_need python3 awk
[ -r "$PROBE" ] || t_fail "missing $PROBE"

# ---------------------------------------------------------------- bed
nl_core
for i in $(seq 10); do nl_public "p$i" "192.0.2.$((20 + i))"; done
nl_site fc fullcone 198.51.100.11 11
nl_site pr prc 198.51.100.12 12
nl_site pr2 prc 198.51.100.15 15
nl_site sy sym 198.51.100.13 13
nl_selfcheck fc pr pr2 sy

t_group lan
for n in "${ALL[@]}"; do
  boot=""; [ "$n" = p1 ] || boot=192.0.2.21:$PORT
  t_ring_member lan "$n" "$(vip "$n")/10" "0.0.0.0:$PORT" "$boot"
done
t0=$(ms_now)
for n in "${ALL[@]}"; do t_up "$n" "$n"; done

# ---------------------------------------------------------------- helpers
# ring_ok NODE...: every member joined, and the successor pointers sorted by
# ID form one cycle in which each first successor names its predecessor.
# Problems in $T_DIR/ring.why.
ring_ok() {
  local n js
  : >"$T_DIR/ring.json"
  for n in "$@"; do
    js=$(status_json "$n") || { echo "$n: no status --json answer" >"$T_DIR/ring.why"; return 1; }
    printf '%s\n' "$js" | jq -c --arg n "$n" '{n: $n, id, joined: (.ring.joined // false),
        succ: (.ring.successors[0] // null), pred: (.ring.predecessor // null)}' >>"$T_DIR/ring.json"
  done
  jq -r -s '(map({key: .id, value: .}) | from_entries) as $by
    | sort_by(.id) as $r | ($r | length) as $k
    | [ range(0; $k) as $i | $r[$i] as $a | $r[($i + 1) % $k] as $b
        | (if $a.joined then empty else "\($a.n) not joined" end),
          (if $a.succ == $b.id then empty else "\($a.n): successor is \($by[$a.succ // ""].n // "?"), expected \($b.n)" end),
          (if $b.pred == $a.id then empty else "\($b.n): predecessor is \($by[$b.pred // ""].n // "?"), expected \($a.n)" end)
      ] | if length == 0 then "ok" else .[] end' "$T_DIR/ring.json" >"$T_DIR/ring.why"
  [ "$(cat "$T_DIR/ring.why")" = ok ]
}

# snap FILE: bcast_out, bcast_in, bcast_bad of every member, one line each
# (the members asked in parallel; each call ends within status_json's 5 s).
snap() {
  local n pids=() p
  for n in "${ALL[@]}"; do
    { status_json "$n" 2>/dev/null | jq -r '.counters | "\(.bcast_out // "-") \(.bcast_in // "-") \(.bcast_bad // "-")"' \
        >"$1.$n" 2>/dev/null || echo "- - -" >"$1.$n"; } &
    pids+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  for n in "${ALL[@]}"; do echo "$n $(cat "$1.$n")"; rm -f "$1.$n"; done >"$1"
}
# delta BEFORE AFTER NODE FIELD(2 out, 3 in, 4 bad): after - before, or "-".
delta() {
  awk -v n="$3" -v f="$4" 'FNR == NR { if ($1 == n) b = $f; next }
    $1 == n { if (b ~ /^[0-9]+$/ && $f ~ /^[0-9]+$/) print $f - b; else print "-" }' "$1" "$2"
}

# mc_groups NODE: the groups NODE's host joined, per status --json
# (multicast.groups: [{group, vlan}]).
mc_groups() {
  status_json "$1" | jq -r '.multicast.groups[]? | .group'
}
has_group() { mc_groups "$1" | grep -qx "$2"; }
lacks_group() { status_json "$1" >/dev/null && ! has_group "$1" "$2"; }

# counts TAG [SENTLOG]: one line per member, "NODE FRAMES DISTINCT" of TAG
# at its TAP (one awk over every capture); with the sender's log ("SEQ MS"
# per datagram) a last line "delay MAX_MS MEAN_MS K": the slowest and the
# mean time from sending a datagram to a receiver's TAP, over the K first
# copies received.
counts() {
  local n files=()
  for n in "${ALL[@]}"; do files+=("$T_DIR/cap.$n"); done
  awk -v tag="$1" -v sent="${2:-}" '
    BEGIN {
      if (sent != "") while ((getline l < sent) > 0) { split(l, a, " "); st[a[1]] = a[2] }
      for (i = 1; i < ARGC; i++) { n = ARGV[i]; sub(/.*\/cap\./, "", n); name[ARGV[i]] = n; order[i] = n }
    }
    $1 == tag {
      n = name[FILENAME]; fr[n]++
      if (!seen[n, $2]++) {
        d[n]++
        if ($2 in st) { x = $6 - st[$2]; if (k == 0 || x > mx) mx = x; sum += x; k++ }
      }
    }
    END {
      for (i = 1; i < ARGC; i++) print order[i], fr[order[i]] + 0, d[order[i]] + 0
      if (sent != "") printf "delay %.0f %.0f %d\n", mx, (k ? sum / k : 0), k
    }' "${files[@]}"
}
# all_have TAG N NODE...: every NODE's TAP got N distinct frames of TAG.
all_have() {
  local tag=$1 want=$2; shift 2
  counts "$tag" | awk -v want="$want" -v list=" $* " '
    index(list, " " $1 " ") && $3 < want { short = 1 } END { exit short }'
}

# send NODE DST PORT TAG COUNT RATE: tagged datagrams from NODE's TAP;
# the send times in $T_DIR/sent.TAG, the sender's summary in SENT_OUT.
send() {
  local n=$1
  SENT_OUT=$(t_in "$n" timeout 60 "${PY[@]}" send "$(t_tapname "$n")" "$2" "$3" "$4" "$5" "$6" \
             "$T_DIR/sent.$4" 2>&1) || t_fail "sending from $n to $2 failed: $SENT_OUT" "$n"
  t_log "$n -> $2:$3 tag $4: $SENT_OUT"
}

# expect TAG COUNT SENDER RECEIVERS -- OTHERS: waits (DELIVER_S) until each
# receiver has COUNT distinct frames of TAG, then SETTLE_S more for late
# copies; each receiver must have exactly COUNT frames (no duplicates), the
# sender and OTHERS none. Prints the counts; sets EXP_FIG to the delays
# (sending to a receiver's TAP: slowest, mean).
expect() {
  local tag=$1 want=$2 sender=$3 n rx=() others=() bad=() line tf td k0 mx=- mean=- k=0
  shift 3
  while [ $# -gt 0 ] && [ "$1" != -- ]; do rx+=("$1"); shift; done
  [ $# -eq 0 ] || shift
  others=("$@")
  wait_until "$DELIVER_S" all_have "$tag" "$want" "${rx[@]}" || true
  sleep "$SETTLE_S"
  local -A F=() D=()
  while read -r n tf td k0; do
    if [ "$n" = delay ]; then mx=$tf mean=$td k=$k0; else F[$n]=$tf D[$n]=$td; fi
  done < <(counts "$tag" "$T_DIR/sent.$tag")
  line=""
  for n in "${rx[@]}"; do
    line+=" $n:${F[$n]}"
    if [ "${D[$n]}" != "$want" ]; then bad+=("$n got ${D[$n]} of $want datagrams")
    elif [ "${F[$n]}" != "$want" ]; then bad+=("$n got $((F[$n] - want)) duplicate frame(s) (${F[$n]} frames for $want datagrams)")
    fi
  done
  line+=" |"
  for n in "$sender" "${others[@]}"; do
    line+=" $n:${F[$n]}"
    [ "${F[$n]}" = 0 ] || bad+=("$n got ${F[$n]} frame(s) it must not get ($([ "$n" = "$sender" ] && echo "its own" || echo "not a receiver"))")
  done
  EXP_FIG="delay sending -> TAP max $mx ms, mean $mean ms over $k"
  t_say "  tag $tag, $want sent by $sender; frames per member (receivers | sender, others):$line; $EXP_FIG"
  if [ ${#bad[@]} -gt 0 ]; then
    printf '  %s\n' "${bad[@]}" >&2
    for n in "${rx[@]}" "$sender"; do
      echo "  $n: $(status_json "$n" | jq -c '{broadcast, tap_queue_drops: .counters.tap_queue_drops}')" >&2
    done
    if grep -q '^drops' "$T_DIR/sniff.log"; then
      echo "  the sniffer lost frames (test bed overloaded; counts unreliable):" >&2
      grep '^drops' "$T_DIR/sniff.log" | sed 's/^/    /' >&2
    fi
    # the duplicated sequence numbers per receiver
    for n in "${rx[@]}"; do
      awk -v t="$tag" '$1 == t { c[$2]++ } END { for (s in c) if (c[s] > 1) printf "%s ", s }' "$T_DIR/cap.$n" |
        sed "s/^./  $n duplicated seqs: &/" >&2
    done
    return 1
  fi
}

# counters_grew BEFORE AFTER "SENDER=SENT..." "TAG..." RECEIVER...: each
# sender's bcast_out grew by at least what it sent, each receiver's bcast_in
# by at least the frames of the TAGs its TAP got.
counters_grew() {
  local b=$1 a=$2 senders=$3 tags=$4 n d got sn tag why=(); shift 4
  for sn in $senders; do
    d=$(delta "$b" "$a" "${sn%=*}" 2)
    [ "$d" != - ] && [ "$d" -ge "${sn#*=}" ] || why+=("${sn%=*}: bcast_out grew by $d, sent ${sn#*=}")
  done
  : >"$T_DIR/counts.now"
  for tag in $tags; do counts "$tag" >>"$T_DIR/counts.now"; done
  for n in "$@"; do
    d=$(delta "$b" "$a" "$n" 3)
    got=$(awk -v n="$n" '$1 == n { s += $2 } END { print s + 0 }' "$T_DIR/counts.now")
    [ "$d" != - ] && [ "$d" -ge "$got" ] || why+=("$n: bcast_in grew by $d, its TAP got $got")
  done
  [ ${#why[@]} = 0 ] || { printf '  %s\n' "${why[@]}" >&2; return 1; }
}

# ---------------------------------------------------------------- join
wait_until "$JOIN_S" t_all_joined "${ALL[@]}" || {
  t_check_alive "${ALL[@]}"
  for n in "${ALL[@]}"; do t_all_joined "$n" || echo "  $n: not joined" >&2; done
  t_fail "not all ${#ALL[@]} members joined within $JOIN_S s"
}
t_joined=$(ms_now)
wait_until "$RING_S" ring_ok "${ALL[@]}" ||
  { sed 's/^/  /' "$T_DIR/ring.why" >&2; t_fail "ring of ${#ALL[@]} not consistent within $RING_S s of joining"; }
t_ring=$(ms_now)
for n in "${ALL[@]}"; do
  wait_until 10 t_tap_ready "$n" "$(vip "$n")" || t_fail "TAP of $n has no address $(vip "$n")" "$n"
done
JOIN_FIG="${#ALL[@]} joined after $(secs "$t0" "$t_joined") s, ring consistent after $(secs "$t0" "$t_ring") s"
t_say "join: $JOIN_FIG"
# `ringlan subring list --json` on a member behind the symmetric NAT: the
# group's ring, joined, with a size estimate of the 14 (within a factor 2).
SUBR=$(ip netns exec "${T_NODE_NS[sy]}" timeout 8 "$RL_BIN" subring list --json --control "$T_DIR/sy.sock") ||
  t_fail "ringlan subring list failed on sy" sy
jq -e --argjson n "${#ALL[@]}" '.subrings[0] | .kind == "group" and .joined == true and
      .size_estimate >= ($n / 2) and .size_estimate <= ($n * 2)' <<<"$SUBR" >/dev/null ||
  t_fail "subring list on sy: $SUBR" sy
t_say "subring list on sy: $(jq -c '.subrings[0]' <<<"$SUBR")"
LANBC=$(ip -n "$(t_nsname pr)" -4 -o addr show dev "$(t_tapname pr)" | awk '{for (i = 1; i < NF; i++) if ($i == "brd") print $(i + 1)}')
[ "$LANBC" = 100.127.255.255 ] || t_fail "pr's TAP has broadcast address '${LANBC}', expected 100.127.255.255 (the /10's)"

# One sniffer process for every TAP, for the whole test (it opens a socket
# inside each member's namespace; it runs in the core namespace). Helpers
# get 30 s to start: python3 takes seconds on a loaded machine.
specs=()
for n in "${ALL[@]}"; do
  : >"$T_DIR/cap.$n"
  specs+=("$n:$(t_nsname "$n"):$(t_tapname "$n")")
done
nl_bg core "$T_DIR/sniff.log" "${PY[@]}" sniff "$T_DIR" 900 "${specs[@]}"
wait_until 30 grep -q '^ready' "$T_DIR/sniff.log" || t_fail "the TAP sniffer did not start within 30 s: $(cat "$T_DIR/sniff.log")"
snap "$T_DIR/ctr.0"
FIGS=()

# ---------------------------------------------------------------- a) broadcast from behind NATs
t_say "a) UDP broadcast from members behind NATs"
send pr "$LANBC" "$BPORT" a1 3 5
mapfile -t R < <(without pr "${ALL[@]}")
expect a1 3 pr "${R[@]}" -- || t_fail "a) broadcast to $LANBC from pr (port-restricted NAT) not delivered exactly once to every member"
FIGS+=("a) $LANBC from pr: 3 x ${#R[@]} members once; $EXP_FIG")
send sy 255.255.255.255 "$BPORT" a2 3 5
mapfile -t R < <(without sy "${ALL[@]}")
expect a2 3 sy "${R[@]}" -- || t_fail "a) broadcast to 255.255.255.255 from sy (symmetric NAT) not delivered exactly once to every member"
FIGS+=("a) 255.255.255.255 from sy: 3 x ${#R[@]} members once; $EXP_FIG")

# ---------------------------------------------------------------- b) multicast group
t_say "b) UDP multicast to $GROUP, joined by five members' hosts"
JOINERS=(p3 p7 fc pr2 sy) LEAVER=fc MSENDER=p5
NONJ=()
for n in "${ALL[@]}"; do
  case " ${JOINERS[*]} $MSENDER " in *" $n "*) ;; *) NONJ+=("$n") ;; esac
done
declare -A JPID=()
for n in "${JOINERS[@]}"; do
  nl_bg "$n" "$T_DIR/join.$n.log" "${PY[@]}" join "$(t_tapname "$n")" "$GROUP" 600
  JPID[$n]=$NL_PID
done
tj=$(ms_now)
for n in "${JOINERS[@]}"; do
  wait_until 30 grep -q joined "$T_DIR/join.$n.log" || t_fail "b) join on $n failed: $(cat "$T_DIR/join.$n.log")"
  wait_until 15 has_group "$n" "$GROUP" ||
    t_fail "b) $n's host joined $GROUP but its status multicast.groups says: $(mc_groups "$n" | tr '\n' ' ')" "$n"
done
tg=$(ms_now)
t_say "  all five statuses list $GROUP $(secs "$tj" "$tg") s after the joins"
# No warm-up: every member's tree copy reaches every member, and a member
# writes it to its TAP when its own table (the one status lists) has the
# group, so the first datagram after the statuses list it must arrive.
snap "$T_DIR/ctr.b0"
counters_grew "$T_DIR/ctr.0" "$T_DIR/ctr.b0" "pr=3 sy=3" "a1 a2" "${ALL[@]}" ||
  t_fail "a) status counters bcast_out / bcast_in do not account for the broadcasts"
send "$MSENDER" "$GROUP" "$GPORT" b1 20 10
expect b1 20 "$MSENDER" "${JOINERS[@]}" -- "${NONJ[@]}" ||
  t_fail "b) multicast to $GROUP: not exactly once to the five joined members and nothing to the others"
FIGS+=("b) $GROUP from $MSENDER: 20 x 5 joined once, 0 at ${#NONJ[@]} others; $EXP_FIG")
# leave
tl=$(ms_now)
t_stop_pid "${JPID[$LEAVER]}"
grep -q '^left' "$T_DIR/join.$LEAVER.log" || t_fail "b) the joiner on $LEAVER did not drop its membership: $(cat "$T_DIR/join.$LEAVER.log")"
wait_until 15 lacks_group "$LEAVER" "$GROUP" ||
  t_fail "b) $LEAVER's host left $GROUP but its status still lists it after 15 s" "$LEAVER"
t_say "  $LEAVER's status dropped $GROUP $(secs "$tl" "$(ms_now)") s after the leave; multicast: $(status_json "$LEAVER" | jq -c '.multicast // {}')"
mapfile -t STAY < <(without "$LEAVER" "${JOINERS[@]}")
send "$MSENDER" "$GROUP" "$GPORT" b2 20 10
expect b2 20 "$MSENDER" "${STAY[@]}" -- "$LEAVER" "${NONJ[@]}" ||
  t_fail "b) after $LEAVER left $GROUP: not exactly once to the four still joined, or something reached $LEAVER or a non-member"
FIGS+=("b) after $LEAVER left: 20 x 4 once, 0 at $LEAVER; $EXP_FIG")
snap "$T_DIR/ctr.b1"
counters_grew "$T_DIR/ctr.b0" "$T_DIR/ctr.b1" "$MSENDER=40" "b1 b2" "${JOINERS[@]}" ||
  t_fail "b) status counters bcast_out / bcast_in do not account for the multicast datagrams"
j=$(status_json "$LEAVER" | jq -r '(.multicast // {}) | "\(.joins // "-") \(.leaves // "-")"')
if ! { [ "${j% *}" != - ] && [ "${j% *}" -ge 1 ] && [ "${j#* }" != - ] && [ "${j#* }" -ge 1 ]; }; then
  t_fail "b) $LEAVER's multicast joins/leaves are '$j', expected at least 1 and 1"
fi

# ---------------------------------------------------------------- c) mDNS
t_say "c) mDNS query answered by a member without a link to the asker"
# links_of NODE: the overlay IDs NODE holds a link to, in any state (a
# handshake in progress names the ID it dials).
links_of() { status_json "$1" | jq -r '[.links[]? | .peer_id | select(. != "")] | unique | .[]'; }
declare -A NID=()
while read -r n id; do NID[$n]=$id; done < <(jq -r '"\(.n) \(.id)"' "$T_DIR/ring.json")
# pick_pair: ASK and RESP, neither with a link to the other (NAT'd askers
# first); PAIR="ASK RESP".
pick_pair() {
  local a b
  for a in "${ALL[@]}"; do links_of "$a" >"$T_DIR/links.$a" || return 1; done
  for a in sy pr pr2 fc "${PUB[@]}"; do
    for b in "${ALL[@]}"; do
      [ "$a" != "$b" ] || continue
      grep -qx "${NID[$b]}" "$T_DIR/links.$a" && continue
      grep -qx "${NID[$a]}" "$T_DIR/links.$b" && continue
      PAIR="$a $b"; return 0
    done
  done
  return 1
}
unlinked() { ! links_of "$1" | grep -qx "${NID[$2]}" && ! links_of "$2" | grep -qx "${NID[$1]}"; }
# The ring's maintenance may open a link between the two while the
# responder starts: then pick again (three tries).
tries=0 out=""
while :; do
  tries=$((tries + 1))
  PAIR=""
  wait_until 30 pick_pair ||
    t_fail "c) every pair of the ${#ALL[@]} members has a link; no member without a link to another (bed too small?)"
  ASK=${PAIR% *} RESP=${PAIR#* }
  NAME="rl-$T_P-$RESP"
  t_say "  $ASK asks for $NAME.local; $RESP ($(vip "$RESP")) answers; links of $ASK: $(wc -l <"$T_DIR/links.$ASK"), of $RESP: $(wc -l <"$T_DIR/links.$RESP"), none between them"
  nl_bg "$RESP" "$T_DIR/mdns.$RESP.log" "${PY[@]}" mdns-respond "$(t_tapname "$RESP")" "$NAME" "$(vip "$RESP")" 300
  RPID=$NL_PID
  wait_until 30 grep -q '^responder' "$T_DIR/mdns.$RESP.log" || t_fail "c) mDNS responder on $RESP did not start: $(cat "$T_DIR/mdns.$RESP.log")"
  unlinked "$ASK" "$RESP" && break
  t_stop_pid "$RPID"
  [ $tries -lt 3 ] || t_fail "c) three pairs without a link gained one before the query"
  t_say "  $ASK and $RESP got a link meanwhile; pick again"
done
out=$(t_in "$ASK" timeout 40 "${PY[@]}" mdns-query "$(t_tapname "$ASK")" "$NAME" 20 2>&1) || {
  echo "  responder log: $(tr '\n' ';' <"$T_DIR/mdns.$RESP.log")" >&2
  t_fail "c) $ASK got no mDNS answer for $NAME.local from $RESP: $out" "$ASK" "$RESP"
}
t_stop_pid "$RPID"
echo "$out" | grep -q "^answer $NAME.local $(vip "$RESP") " ||
  t_fail "c) wrong mDNS answer: $out (expected $(vip "$RESP"))"
# still no link: the query and the answer can only have taken the tree
unlinked "$ASK" "$RESP" || t_say "  (note: $ASK and $RESP have a link after the answer)"
t_say "  $out; responder saw $(grep -c '^query' "$T_DIR/mdns.$RESP.log") queries"
FIGS+=("c) $ASK found $NAME.local (no link to $RESP): ${out#answer }")

# ---------------------------------------------------------------- d) 50/s for 10 s
t_say "d) 500 broadcasts, 50 a second, from fc"
mapfile -t R < <(without fc "${ALL[@]}")
snap "$T_DIR/ctr.d0"
send fc "$LANBC" "$BPORT" d 500 50
expect d 500 fc "${R[@]}" -- || t_fail "d) 500 broadcasts from fc at 50/s not delivered exactly once to every member"
snap "$T_DIR/ctr.d1"
counters_grew "$T_DIR/ctr.d0" "$T_DIR/ctr.d1" fc=500 d "${R[@]}" ||
  t_fail "d) status counters bcast_out / bcast_in do not account for the 500 broadcasts"
FIGS+=("d) 500 from fc ($SENT_OUT): all 500 once at ${#R[@]} members; $EXP_FIG")

# ---------------------------------------------------------------- end
# one line NODE:OUT/IN/BAD per member, one line the sum of bcast_bad ("-"
# when a counter is missing)
{ read -r table; read -r badsum; } < <(awk 'FNR == NR { o[$1] = $2; i[$1] = $3; next }
  { t = t " " $1 ":" ($2 - o[$1]) "/" ($3 - i[$1]) "/" $4
    if ($4 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/ || o[$1] !~ /^[0-9]+$/) miss = 1; else bad += $4 }
  END { print t; print (miss ? "-" : bad + 0) }' "$T_DIR/ctr.0" "$T_DIR/ctr.d1")
t_say "counters during the cases (bcast_out/bcast_in growth, bcast_bad): $table"
t_check_alive "${ALL[@]}"
[ "$badsum" != - ] || t_fail "a member's status has no bcast_out/bcast_in/bcast_bad counter: $table"
[ "$badsum" = 0 ] || t_fail "bcast_bad is $badsum in total (honest members only sent honest frames)"
t_say "figures: join: $JOIN_FIG"
for f in "${FIGS[@]}"; do t_say "  $f"; done
