#!/usr/bin/env bash
# Reachability table of ringlan-sim runs (node model, flows.csv from the
# direct_time metric): per pair of NAT classes, how many flows delivered a
# frame at all, how many ended on a direct link, and whether RFC 4787 lets
# that pair punch (without birthday probing; "birthday" = only with it).
#
#   simulations/reach.sh DIR [DIR...]     (several seeds are added up)
#
# Flows the run's end cut short before their first frame arrived (result
# "running") are left out and counted apart.
# The last lines give the totals the issue asks for: flows delivered, the
# share of punchable pairs that ended direct, and the ring consistency of
# each run (summary.json).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: simulations/reach.sh DIR [DIR...]" >&2; exit 2; }
for d in "$@"; do
  [ -r "$d/flows.csv" ] || { echo "reach.sh: $d/flows.csv missing (metric direct_time)" >&2; exit 1; }
done
files=()
rings=()
for d in "$@"; do
  files+=("$d/flows.csv")
  rings+=("$(grep -o '"ring_consistent":[0-9.]*' "$d/summary.json" 2>/dev/null | cut -d: -f2)")
done
# mawk (Debian's default awk) has no asort: rows are sorted by sort(1).
awk -F, '
function rank(c) {
  if (c == "public") return 0; if (c == "full_cone") return 1; if (c == "restricted") return 2
  if (c == "port_restricted") return 3; if (c == "symmetric") return 4; return 5
}
# RFC 4787: what a pair can do with coordinated punching and no relay.
function punch(a, b,   t) {
  if (rank(a) > rank(b)) { t = a; a = b; b = t }
  if (a == "blocked" || b == "blocked") return "no(udp-blocked)"
  if (a == "public" || a == "full_cone" || a == "restricted") return "yes"
  if (a == "port_restricted" && b == "port_restricted") return "yes"
  if (a == "port_restricted" && b == "symmetric") return "birthday"
  return "no"
}
FNR == 1 { next }
{
  a = $5; b = $6
  # cut short by the end of the run, nothing delivered yet: not a sample
  if ($9 == "running" && $7 == "") { cut++; next }
  if (rank(a) > rank(b)) { t = a; a = b; b = t }
  k = rank(a) rank(b) " " a "<->" b
  n[k]++; total++
  if ($7 != "") { dl[k]++; dl_all++ }
  if ($9 == "direct") { dir[k]++; dir_all++ }
  p = punch(a, b); can[k] = p
  if (p == "yes") { pn++; if ($9 == "direct") pd++ }
  if (p == "birthday") { bn++; if ($9 == "direct") bd++ }
}
END {
  for (k in n) printf "R %s %d %d %d %s\n", k, n[k], dl[k] + 0, dir[k] + 0, can[k]
  printf "T flows delivered: %d of %d (not counted: %d cut short by the end of the run before a frame arrived)\n", dl_all, total, cut
  printf "T direct: %d of %d flows (%.1f %%)\n", dir_all, total, total ? 100 * dir_all / total : 0
  printf "T punchable pairs (RFC 4787, no birthday) direct: %d of %d (%.1f %%)\n", pd, pn, pn ? 100 * pd / pn : 0
  printf "T port_restricted<->symmetric (punchable by birthday probing) direct: %d of %d\n", bd, bn
}' "${files[@]}" | sort | awk '
  BEGIN { printf "%-36s %6s %10s %8s  %s\n", "pair", "flows", "delivered", "direct", "punchable" }
  $1 == "R" { printf "%-36s %6d %10d %8d  %s\n", $3, $4, $5, $6, $7; next }
  { sub(/^T /, ""); print }'
echo "ring consistency at the end: ${rings[*]}"
# How the counted flows ended: direct or relayed, over UDP only or with a
# TCP leg (a UDP-blocked member has TCP links only), and the time from the
# first frame to a direct link (p50, p99 over the flows that got one).
awk -F, 'FNR == 1 { next }
$9 == "running" && $7 == "" { next }
{
  tcp = ($5 == "blocked" || $6 == "blocked")
  if ($9 == "direct") { if (tcp) dt++; else du++; t[++nt] = $8 + 0 }
  else if ($7 != "") { if (tcp) rt++; else ru++ }
  else lost++
}
END {
  total = du + dt + ru + rt + lost
  printf "paths: direct %d (%.1f %%), direct over TCP %d (%.1f %%), relayed %d (%.1f %%), relayed with a TCP leg %d (%.1f %%), no frame %d\n",
    du, total ? 100 * du / total : 0, dt, total ? 100 * dt / total : 0,
    ru, total ? 100 * ru / total : 0, rt, total ? 100 * rt / total : 0, lost
  if (nt) {
    # insertion sort (mawk has no asort); a few hundred values
    for (i = 2; i <= nt; i++) { v = t[i]; for (j = i - 1; j > 0 && t[j] > v; j--) t[j + 1] = t[j]; t[j + 1] = v }
    p50 = t[int((nt + 1) / 2)]; k = int(0.99 * nt + 0.999); if (k < 1) k = 1; p99 = t[k]
    printf "first frame -> direct link: p50 %.3f s, p99 %.3f s (%d flows)\n", p50, p99, nt
  }
}' "${files[@]}"
