#!/usr/bin/env bash
# The daemon drops root after start-up (docs/security.md, "Privileges and
# files"): two members configured with `user = NAME`, a system user this
# test creates (unique name, deleted on exit).
#
#   ns a  192.0.2.1/24 ----veth---- 192.0.2.2/24  ns b
#   100.64.0.1/10                                 100.64.0.2/10
#
# Checks, for each daemon (and again after b restarts): /proc/PID/status has
# the user's uid and gid (real, effective, saved, fs), no capability in any
# set (CapInh/CapPrm/CapEff/CapBnd/CapAmb all 0) and NoNewPrivs 1; the state
# directory and the store's files belong to the user; the link comes up and
# ping works both ways; `ringlan status` over the control socket answers;
# SIGHUP reloads the peers (config and peer key files read as the user);
# SIGTERM exits 0 and removes the control socket (its directory was created
# by the daemon and handed to the user); a restart comes back the same way.
# Also: a node key readable by group is refused at start-up with the fix in
# the message; a symbolic link where the store's file should be is refused
# (root never follows it); a store left by a root daemon becomes the user's.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51931
VA=100.64.0.1 VB=100.64.0.2
LINK_S=${LINK_S:-20}

t_init priv_drop
t_need useradd userdel getent

# ---------------------------------------------------------------- the user
TUSER="rlt-$T_P"
TUSER_MADE=0
# Daemons run as TUSER: stop them (each must exit 0 on SIGTERM) before the
# account goes, then the usual cleanup.
priv_cleanup() {
  local rc=$? n
  set +e
  for n in "${!T_NODE_PID[@]}"; do
    t_stop_pid "${T_NODE_PID[$n]}"
    if [ "$T_LAST_RC" != 0 ] && [ $rc = 0 ]; then
      t_say "FAIL: daemon $n exited with status $T_LAST_RC on SIGTERM"; rc=1
    fi
    unset "T_NODE_PID[$n]"
  done
  if [ "$TUSER_MADE" = 1 ]; then
    userdel "$TUSER" 2>/dev/null || t_say "WARNING: userdel $TUSER failed"
    getent group "$TUSER" >/dev/null 2>&1 && groupdel "$TUSER" 2>/dev/null
    getent passwd "$TUSER" >/dev/null 2>&1 && t_say "WARNING: user $TUSER still exists"
  fi
  (exit $rc)
  t_cleanup
}
trap priv_cleanup EXIT

! getent passwd "$TUSER" >/dev/null || t_fail "user $TUSER exists already"
useradd --system --no-create-home --shell /usr/sbin/nologin --user-group "$TUSER" ||
  t_fail "useradd $TUSER"
TUSER_MADE=1
TUID=$(id -u "$TUSER") TGID=$(id -g "$TUSER")
t_log "user $TUSER: uid $TUID gid $TGID"

# ---------------------------------------------------------------- topology
t_ns a; t_ns b
t_veth a 192.0.2.1/24 b 192.0.2.2/24
t_reach a 192.0.2.2

t_group lab
t_member lab a $VA/10
t_member lab b $VB/10
T_CONF_EXTRA="user = $TUSER"
t_config a lab 0.0.0.0:$PORT 192.0.2.2:$PORT
t_config b lab 0.0.0.0:$PORT 192.0.2.1:$PORT
T_CONF_EXTRA=""
# The control socket in a directory the daemon creates (and hands to the
# user, so it can remove the socket at exit).
for n in a b; do
  sed -i "s|^control = .*|control = $T_DIR/run-$n/$n.sock|" "$T_DIR/$n.conf"
done
# SIGHUP re-reads the config as the user: it must reach it (the keys stay
# 0600 root: they are read once, as root, at start-up).
chmod 755 "$T_DIR"
chmod 644 "$T_DIR"/a.conf "$T_DIR"/b.conf

ctl() { local n=$1; shift; ip netns exec "${T_NODE_NS[$n]}" timeout 5 "$RL_BIN" "$@" --control "$T_DIR/run-$n/$n.sock"; }
st_json() { ctl "$1" status --json 2>/dev/null | jq -e .; }
link_up() {
  st_json "$1" | jq -e --arg v "$2" 'any(.links[]?; (.peer_vip // "" | split("/")[0]) == $v
                                      and ((.last_handshake_s | type) == "number"))' >/dev/null
}
pid_of() { printf '%s' "${T_NODE_PID[$1]}"; }

# check_dropped NODE: the daemon's credentials and capabilities.
check_dropped() {
  local n=$1 pid f
  pid=$(pid_of "$n")
  f=/proc/$pid/status
  [ -r "$f" ] || t_fail "$n: no $f" "$n"
  awk -v u="$TUID" '$1 == "Uid:" { exit !($2 == u && $3 == u && $4 == u && $5 == u) }' "$f" ||
    t_fail "$n: Uid is not $TUID everywhere: $(grep '^Uid:' "$f")" "$n"
  awk -v g="$TGID" '$1 == "Gid:" { exit !($2 == g && $3 == g && $4 == g && $5 == g) }' "$f" ||
    t_fail "$n: Gid is not $TGID everywhere: $(grep '^Gid:' "$f")" "$n"
  local c
  for c in CapInh CapPrm CapEff CapBnd CapAmb; do
    grep -Eq "^$c:[[:space:]]+0+$" "$f" || t_fail "$n: $c not 0: $(grep "^$c:" "$f")" "$n"
  done
  grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$f" || t_fail "$n: NoNewPrivs not set" "$n"
  grep -Eq "^Groups:[[:space:]]*($TGID)?[[:space:]]*$" "$f" ||
    t_fail "$n: supplementary groups are not the user's: $(grep '^Groups:' "$f")" "$n"
  [ "$(stat -c %u "$T_DIR/$n.state")" = "$TUID" ] || t_fail "$n: state dir not owned by $TUSER" "$n"
  [ "$(stat -c %u "$T_DIR/$n.state/dht.mdb")" = "$TUID" ] || t_fail "$n: dht.mdb not owned by $TUSER" "$n"
  [ "$(stat -c %u "$T_DIR/run-$n/$n.sock")" = "$TUID" ] || t_fail "$n: control socket not owned by $TUSER" "$n"
  t_log "$n (pid $pid): uid/gid $TUID/$TGID, no capabilities, NoNewPrivs"
}

# ---------------------------------------------------------------- a key readable by group is refused
cp -p "$T_DIR/a.key" "$T_DIR/loose.key"
chmod 640 "$T_DIR/loose.key"
sed "s|^key = .*|key = $T_DIR/loose.key|" "$T_DIR/a.conf" >"$T_DIR/loose.conf"
if t_in a "$RL_BIN" up --config "$T_DIR/loose.conf" >"$T_DIR/loose.log" 2>&1 </dev/null; then
  t_fail "a daemon started with a node key of mode 0640"
fi
grep -q "loose.key: permissions 0640 are too open.*chmod 600 $T_DIR/loose.key" "$T_DIR/loose.log" ||
  { cat "$T_DIR/loose.log" >&2; t_fail "no clear refusal of the 0640 key"; }
t_log "node key of mode 0640 refused: $(head -c 160 "$T_DIR/loose.log")"

# ---------------------------------------------------------------- a link in the state dir is refused
# (a daemon that ran as the user could have put it there for root to follow)
mkdir "$T_DIR/evil.state"
echo "root's file" >"$T_DIR/victim"
ln -s "$T_DIR/victim" "$T_DIR/evil.state/dht.mdb"
sed "s|^state = .*|state = $T_DIR/evil.state|" "$T_DIR/a.conf" >"$T_DIR/evil.conf"
if t_in a "$RL_BIN" up --config "$T_DIR/evil.conf" >"$T_DIR/evil.log" 2>&1 </dev/null; then
  t_fail "a daemon started with a symbolic link as its store file"
fi
grep -q "evil.state/dht.mdb: .*symbolic link" "$T_DIR/evil.log" ||
  { cat "$T_DIR/evil.log" >&2; t_fail "no clear refusal of the symbolic link in the state dir"; }
[ "$(stat -c %u "$T_DIR/victim")" = 0 ] && [ "$(cat "$T_DIR/victim")" = "root's file" ] ||
  t_fail "the file behind the link was changed"
t_log "symbolic link in the state dir refused: $(head -c 160 "$T_DIR/evil.log")"

# ---------------------------------------------------------------- up, dropped, link
t_up a a
t_up b b
wait_until "$LINK_S" link_up a $VB || t_fail "no link a -> b within $LINK_S s" a b
wait_until "$LINK_S" link_up b $VA || t_fail "no link b -> a within $LINK_S s" a b
t_check_alive a b
check_dropped a
check_dropped b
grep -q "privileges: running as $TUSER (uid $TUID, gid $TGID), no capabilities" "$T_DIR/a.log" ||
  t_fail "a does not log the drop" a
! grep -q "not readable as uid" "$T_DIR/a.log" "$T_DIR/b.log" ||
  t_fail "a daemon warns that SIGHUP cannot read its files" a b

wait_until 10 t_in a ping -n -c1 -W1 $VB || t_fail "a cannot ping $VB at all" a b
t_ping a $VB 5 || { cat "$T_DIR/ping.log" >&2; t_fail "ping a -> b lost packets" a b; }
t_ping b $VA 5 || { cat "$T_DIR/ping.log" >&2; t_fail "ping b -> a lost packets" a b; }
t_log "link up, ping both ways with 0% loss"

# ---------------------------------------------------------------- control socket
out=$(ctl a status) || t_fail "ringlan status (text) through a's control socket failed" a
printf '%s\n' "$out" | grep -q "$VB" || { printf '%s\n' "$out" >&2; t_fail "ringlan status of a does not list b" a; }
st_json b | jq -e --arg v $VB '(.vip // "" | split("/")[0]) == $v' >/dev/null ||
  t_fail "ringlan status --json of b wrong" b
t_log "ringlan status answers through the control socket"

# ---------------------------------------------------------------- SIGHUP
kill -HUP "$(pid_of a)"
wait_until 5 grep -q 'SIGHUP: 1 static peer(s) loaded' "$T_DIR/a.log" ||
  t_fail "a: no SIGHUP reload as $TUSER" a
! grep -q 'SIGHUP: keeping the old peers' "$T_DIR/a.log" || t_fail "a: SIGHUP reload failed" a
t_check_alive a
t_ping a $VB 3 || t_fail "ping a -> b lost packets after SIGHUP" a b
t_log "SIGHUP reload works as $TUSER"

# ---------------------------------------------------------------- restart
t_down b
[ ! -e "$T_DIR/run-b/b.sock" ] || t_fail "b left its control socket behind at exit" b
# as if an older daemon had run as root: the store becomes the user's again
chown -R root:root "$T_DIR/b.state"
t_up b b
wait_until "$LINK_S" link_up b $VA || t_fail "restarted b: no link to a within $LINK_S s" a b
t_check_alive a b
check_dropped b
wait_until 10 t_in b ping -n -c1 -W1 $VA || t_fail "restarted b cannot ping $VA" a b
t_ping b $VA 5 || { cat "$T_DIR/ping.log" >&2; t_fail "after restart: ping b -> a lost packets" a b; }
t_ping a $VB 5 || { cat "$T_DIR/ping.log" >&2; t_fail "after restart: ping a -> b lost packets" a b; }
grep -Eq 'state: .*b.state, [0-9]+ record' "$T_DIR/b.log.1" || t_fail "restarted b did not reopen its store" b
t_log "restart of b: dropped again, store reopened, link and ping back"
t_down a
t_down b
t_log "all checks passed"
