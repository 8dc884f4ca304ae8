#!/usr/bin/env bash
# A member behind a NAT router without UPnP/NAT-PMP is stopped (SIGTERM)
# right after its link comes up, while its port-mapping attempt (UPnP
# discovery) is still running: it must exit 0, promptly (within 5 s).
#
#     a 192.0.2.1 --- bridge --- r 192.0.2.3 (masquerade, no IGD) --- c 198.51.100.2
#
# Three rounds (restart c each time). Regression test for: the driver gives
# up the port-mapping removal after 3 s, logs "stopped", then the process
# waits in libuv's thread-pool teardown for the blocked worker and crashes
# (SIGSEGV, exit 139) or ignores SIGTERM.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=51906
t_init shutdown_early
t_need nft
t_ns sw; t_bridge sw br
t_ns a; t_attach sw br a 192.0.2.1/24
t_nat_site sw br r c 192.0.2.3/24 198.51.100
t_reach c 192.0.2.1
t_group lan
t_member lan a 100.64.5.1/10
t_member lan c 100.64.5.3/10
t_config a lan 0.0.0.0:$PORT
t_config c lan 0.0.0.0:$PORT 192.0.2.1:$PORT
t_up a a
for round in 1 2 3; do
  t_up c c
  t_wait_link 20 c 100.64.5.1
  start=$(date +%s%N)
  t_down c      # SIGTERM; fails the test unless the exit status is 0
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$ms" -lt 5000 ] || t_fail "round $round: c needed $ms ms to stop after SIGTERM" c
  t_log "round $round: c stopped cleanly in $ms ms"
done
t_check_alive a
