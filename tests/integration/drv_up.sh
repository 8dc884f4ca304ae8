#!/usr/bin/env bash
# Integration test of the daemon driver and its control socket (root):
#   ringlan up: start-up errors (exit 1 + message), the start-up line, the
#   TAP device (MAC, MTU, address, up), control socket (mode 0600, status,
#   status --json, peers, lookup, unknown request, second daemon refused),
#   SIGHUP reload, SIGTERM -> exit 0 with socket and TAP removed; two
#   nodes in two namespaces joined by a veth pair pinging over the overlay;
#   a restart without [peer] finding the other node through the LMDB state.
# Everything runs in namespaces named rldrv<pid>*; the daemons are killed
# by PID; the trap removes namespaces and files. Addresses: 192.0.2.0/24
# for the "public" side, 100.64.0.0/10 for the virtual LAN.
# 'cond && ok || bad' is safe here: ok() always succeeds.
# shellcheck disable=SC2015
set -uo pipefail

RL_BUILD=${RL_BUILD:-./build}
BIN=$(realpath "$RL_BUILD/ringlan" 2>/dev/null || true)
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "drv_up: no ringlan binary at $RL_BUILD/ringlan" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "drv_up: needs root (network namespaces, TAP devices)" >&2
  exit 1
fi
NS=rldrv$$
TMP=$(mktemp -d /tmp/rl-drv-up.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for n in "${NS}a" "${NS}b"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP" || exit 1

fails=0
checks=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
has() {
  if grep -Eq -- "$2" "$1"; then ok; else
    bad "${3:-$1} lacks /$2/"; sed 's/^/  | /' "$1" >&2
  fi
}
# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.1
  done
}
# run WANT_RC cmd...: ringlan with args, output in out.txt / err.txt.
run() {
  local want=$1; shift
  "$BIN" "$@" >out.txt 2>err.txt
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else
    bad "ringlan $* -> exit $rc, want $want"; sed 's/^/  stderr: /' err.txt >&2
  fi
}

echo "== identities"
"$BIN" group init --name lab --out group.key >/dev/null 2>&1 || bad "group init"
for n in a b; do
  "$BIN" keygen --out $n.key >$n.id 2>/dev/null || bad "keygen $n"
done
"$BIN" group sign --group-key group.key --pub a.pub --ip 100.64.0.2/10 --out a.cert \
  >/dev/null 2>&1 || bad "sign a"
"$BIN" group sign --group-key group.key --pub b.pub --ip 100.64.0.3/10 --out b.cert \
  >/dev/null 2>&1 || bad "sign b"
id_a=$(cat a.id)

ip netns add "${NS}a" && ip netns add "${NS}b" || { bad "netns add"; exit 1; }
ip link add "${NS}x" type veth peer name "${NS}y" || { bad "veth"; exit 1; }
ip link set "${NS}x" netns "${NS}a" && ip link set "${NS}y" netns "${NS}b"
ip -n "${NS}a" addr add 192.0.2.1/24 dev "${NS}x"
ip -n "${NS}b" addr add 192.0.2.2/24 dev "${NS}y"
for s in a b; do ip -n "${NS}$s" link set lo up; done
ip -n "${NS}a" link set "${NS}x" up
ip -n "${NS}b" link set "${NS}y" up

conf() { # conf NAME IP PEER_IP [extra lines]
  printf '[node]\nkey = %s.key\ncert = %s.cert\ngroup = group.pub\nlisten = %s:42424\n' \
    "$1" "$1" "$2"
  printf 'tap = rl%s%s\ncontrol = run/%s.sock\nlog_level = debug\n' "$1" $$ "$1"
  printf '[peer]\nendpoint = %s:42424\n' "$3"
  [ $# -gt 3 ] && printf '%s\n' "$4"
  return 0
}
conf a 192.0.2.1 192.0.2.2 "pubkey = b.pub" >a.conf
sed -i 's/^log_level = debug$/&\nstate = state_a/' a.conf
# a again without [peer]: it must find b through its remembered endpoints.
sed '/^\[peer\]/,$d' a.conf >a-nopeer.conf
conf b 192.0.2.2 192.0.2.1 >b.conf

echo "== start-up errors exit 1 with a reason"
printf '[node]\nkey = a.key\nlisen = 1\n' >bad.conf
run 1 up --config bad.conf
has err.txt "bad.conf: line 3: unknown key 'lisen' in \[node\]"
sed 's/^key = a.key/key = nope.key/' a.conf >nokey.conf
run 1 up --config nokey.conf
has err.txt "nope.key: no such file"
sed 's/^cert = a.cert/cert = b.cert/' a.conf >mismatch.conf
run 1 up --config mismatch.conf
has err.txt "b.cert: the certificate was issued for another node key"
run 1 up --config missing.conf
has err.txt "missing.conf: cannot read: no such file"
run 2 up
[ ! -e run/a.sock ] && ok || bad "a failed start left run/a.sock behind"

echo "== node a up"
ip netns exec "${NS}a" "$BIN" up --config a.conf >a.out 2>a.err &
pa=$!; PIDS+=("$pa")
wait_for 5 test -S run/a.sock && ok || bad "control socket run/a.sock did not appear"
wait_for 5 grep -q '^ringlan up:' a.out && ok || bad "no start-up line"
has a.out "^ringlan up: node $id_a vip 100.64.0.2/10 tap rla$$ \(mac [0-9a-f:]{17}, mtu 1426\) listen 192.0.2.1:42424"
[ "$(stat -c %a run/a.sock)" = 600 ] && ok || bad "run/a.sock mode $(stat -c %a run/a.sock)"
ip -n "${NS}a" -o link show "rla$$" >link.txt 2>&1
has link.txt "mtu 1426"
has link.txt "[,<]UP[,>]"
mac=$(sed -n 's/.*(mac \([0-9a-f:]*\),.*/\1/p' a.out)
has link.txt "link/ether $mac"
ip -n "${NS}a" -o addr show "rla$$" >addr.txt 2>&1
has addr.txt "inet 100.64.0.2/10"

echo "== control socket"
run 0 status --control run/a.sock
has out.txt "$id_a"
run 0 status --json --config a.conf
has out.txt "\"id\":\"$id_a\""
has out.txt '"links":\['
run 0 peers --control run/a.sock
run 0 peers --json --control run/a.sock
run 2 lookup --control run/a.sock
run 1 status --control run/none.sock
has err.txt "no ringlan daemon at run/none.sock"
timeout 5 python3 -c 'import socket,sys
s = socket.socket(socket.AF_UNIX); s.connect("run/a.sock"); s.sendall(b"bogus\n")
sys.stdout.write(s.makefile().read())' >raw.txt
has raw.txt '^ERR$'
has raw.txt "unknown request 'bogus'"

echo "== a second daemon on the same control socket is refused"
run 1 up --config a.conf
has err.txt "another ringlan daemon is listening there"
[ -S run/a.sock ] && ok || bad "the refused daemon removed the live socket"

echo "== node b up; a pings b over the overlay"
ip netns exec "${NS}b" "$BIN" up --config b.conf >b.out 2>b.err &
pb=$!; PIDS+=("$pb")
wait_for 5 test -S run/b.sock && ok || bad "run/b.sock did not appear"
wait_for 10 ip netns exec "${NS}a" ping -c 1 -W 1 100.64.0.3 && ok || bad "a cannot ping b"
run 0 status --json --control run/a.sock
has out.txt '"peer_vip":"100.64.0.3"'
run 0 lookup 100.64.0.3 --control run/a.sock
has out.txt '"found": true'
run 0 lookup --json 100.64.0.2 --control run/a.sock
has out.txt '"found":true'

echo "== SIGHUP reloads the peers"
kill -HUP "$pa"
wait_for 5 grep -q 'SIGHUP: 1 static peer' a.err && ok || bad "no SIGHUP reload log"
kill -0 "$pa" 2>/dev/null && ok || bad "a died on SIGHUP"
cp a.conf a.conf.good
printf '[peer]\nendpoint = nowhere\n' >>a.conf
kill -HUP "$pa"
wait_for 5 grep -q 'SIGHUP: keeping the old peers: .*a.conf: line [0-9]*: bad value for .endpoint.' a.err &&
  ok || bad "a broken config on SIGHUP was not reported"
mv a.conf.good a.conf
kill -0 "$pa" 2>/dev/null && ok || bad "a died on SIGHUP with a broken config"

echo "== SIGTERM: exit 0, socket and TAP gone"
kill -TERM "$pa"
wait "$pa"; rc_a=$?
PIDS=("$pb")
[ "$rc_a" -eq 0 ] && ok || bad "a exited $rc_a after SIGTERM, want 0"
has a.err 'SIGTERM: leaving the overlay'
[ ! -e run/a.sock ] && ok || bad "run/a.sock left behind"
ip -n "${NS}a" link show "rla$$" >/dev/null 2>&1 && bad "TAP rla$$ still exists" || ok
[ -s state_a/dht.mdb ] && ok || bad "no LMDB store in state_a/"

echo "== restart a without [peer]: the state's remembered endpoint finds b"
ip netns exec "${NS}a" "$BIN" up --config a-nopeer.conf >a2.out 2>a2.err &
pa=$!; PIDS+=("$pa")
wait_for 5 grep -q 'remembered endpoint' a2.err && ok || bad "state not loaded"
has a2.err 'state: .*state_a, [0-9]+ record\(s\), [1-9][0-9]* remembered endpoint\(s\)'
wait_for 10 ip netns exec "${NS}a" ping -c 1 -W 1 100.64.0.3 && ok || bad "a cannot ping b after restart"

kill -TERM "$pa" "$pb"
wait "$pa"; rc_a=$?
wait "$pb"; rc_b=$?
PIDS=()
[ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 0 ] && ok || bad "exit codes a=$rc_a b=$rc_b, want 0"
[ ! -e run/a.sock ] && [ ! -e run/b.sock ] && ok || bad "control sockets left behind"

echo "drv_up: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
