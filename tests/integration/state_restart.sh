#!/usr/bin/env bash
# Persistent state: a member that joined through a bootstrap node remembers
# the endpoints of its links in its state directory (LMDB) and, restarted
# with no bootstrap and no [peer] at all, finds the group again.
#
#          bridge 192.0.2.0/24 (namespace sw)
#     +-----------+-----------+
#     n1          n2          n3          192.0.2.N, 100.64.4.N
#   (seed)   bootstrap n1  bootstrap n1, later: nothing but its state dir
#
# Checks: n3 joins and pings n2; n3 stops (SIGTERM), its config loses the
# bootstrap line; restarted, n3 reports remembered endpoints, links again
# within the deadline and pings n1 and n2 (and n2 pings it).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51905
JOIN_S=${JOIN_S:-30}

t_init state_restart
t_ns sw; t_bridge sw br
t_group lan
for i in 1 2 3; do
  t_ns "n$i"; t_attach sw br "n$i" "192.0.2.$i/24"
  t_member lan "n$i" "100.64.4.$i/10"
done
t_config n1 lan 0.0.0.0:$PORT
T_CONF_EXTRA="bootstrap = 192.0.2.1:$PORT"
t_config n2 lan 0.0.0.0:$PORT
t_config n3 lan 0.0.0.0:$PORT
T_CONF_EXTRA=""
t_reach n3 192.0.2.1

has_links() { status_json "$1" | jq -e '[.links[]? | select((.last_handshake_s | type) == "number")] | length > 0' >/dev/null; }
ping_ok() { wait_until "$JOIN_S" t_in "$1" ping -n -c1 -W1 "$2" && t_ping "$1" "$2" 3; }

for i in 1 2 3; do t_up "n$i" "n$i"; done
for i in 1 2 3; do wait_until "$JOIN_S" has_links "n$i" || t_fail "n$i has no link" "n$i" n1; done
ping_ok n3 100.64.4.2 || t_fail "n3 cannot ping n2" n3 n2 n1
t_log "joined through the seed; n3 pings n2"

# restart n3 with neither bootstrap nor peers: only its state dir
t_down n3
[ -n "$(ls -A "$T_DIR/n3.state")" ] || t_fail "n3 left nothing in its state dir $T_DIR/n3.state" n3
t_config n3 lan 0.0.0.0:$PORT
grep -q bootstrap "$T_DIR/n3.conf" && t_fail "test bug: n3.conf still has a bootstrap line"
t_up n3 n3
wait_until "$JOIN_S" has_links n3 || t_fail "restarted n3 (state only) found nobody within $JOIN_S s" n3
ping_ok n3 100.64.4.2 || t_fail "restarted n3 cannot ping n2" n3 n2
ping_ok n3 100.64.4.1 || t_fail "restarted n3 cannot ping n1" n3 n1
ping_ok n2 100.64.4.3 || t_fail "n2 cannot ping the restarted n3" n2 n3
t_log "restarted from its state dir alone: links and ping back"

# and the restarted daemon says it loaded remembered endpoints (loose match
# on its start-up line "state: DIR, N record(s), M remembered endpoint(s)")
grep -Eq '[1-9][0-9]* remembered endpoint' "$T_DIR/n3.log.1" ||
  t_fail "restarted n3 does not report remembered endpoints from its state dir" n3
t_check_alive n1 n2 n3
