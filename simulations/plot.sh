#!/usr/bin/env bash
# Plots the output of ringlan-sim runs with gnuplot (Debian: gnuplot-nox).
#
#   simulations/plot.sh DIR                 one run: plots into DIR/plots/
#   simulations/plot.sh --compare OUT DIR…  several runs (e.g. the same
#                                           scenario at several N): OUT/
#
# One run: hops_cdf, join_time_cdf, lookups_over_time (failure fraction per
# 10 s bin against nodes up), bytes_per_node (control traffic per node per
# second over time), link_types (links.csv, node model only),
# direct_time_cdf (flows.csv, node model only), path_latency_cdf (frames.csv:
# frame latency by direct / relay / overlay path, node model only), each as .png and .svg. Compare: path_length_vs_n (mean hops and 0.5*log2 N against N),
# lookup_failure (failure fraction per run), memory_per_node (perf.json),
# bcast_vs_n (broadcasts: transmissions / (N - 1), coverage, mean and max
# depth against log2 N). One run with bcasts.csv: bcast_over_time
# (coverage of each broadcast and its deepest delivery against send time).
# Also ring_over_time (snapshots.csv ring consistency, e.g. for partitions).
# Plots a metric only when its file has data, and says which it skipped.
set -euo pipefail

command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not found (apt install gnuplot-nox)" >&2; exit 1; }

render() { # name, plot commands (gnuplot), output dir
  local name=$1 cmds=$2 out=$3
  gnuplot <<EOF
set datafile separator ","
set key top left
set grid
set terminal pngcairo size 900,600
set output "$out/$name.png"
$cmds
set terminal svg size 900,600
set output "$out/$name.svg"
replot
EOF
  echo "wrote $out/$name.png $out/$name.svg"
}

json_num() { # file key -> first number after "key": (flat, no jq needed)
  grep -o "\"$2\":[-0-9.e]*" "$1" | head -1 | cut -d: -f2
}

one_run() {
  local d=$1 out=$1/plots tmp
  mkdir -p "$out"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  # hop-count CDF of successful lookups
  if [ -s "$d/lookups.csv" ] && awk -F, 'NR>1 && $8=="ok"{f=1} END{exit !f}' "$d/lookups.csv"; then
    awk -F, 'NR>1 && $8=="ok"{c[$6]++; n++} END{for(h in c) print h","c[h]/n}' "$d/lookups.csv" |
      sort -t, -k1,1n | awk -F, '{s+=$2; print $1","s}' >"$tmp/hops.csv"
    render hops_cdf "set xlabel 'hops'; set ylabel 'CDF'; set yrange [0:1.05]
plot '$tmp/hops.csv' using 1:2 with steps lw 2 title 'lookup hops (ok lookups)'" "$out"
    # failure fraction per 10 s of issue time, against nodes up
    awk -F, 'NR>1 && $8!="unfinished"{b=int($2/10)*10; n[b]++; if($8!="ok") f[b]++}
             END{for(b in n) print b","(f[b]+0)/n[b]","n[b]}' "$d/lookups.csv" | sort -t, -k1,1n >"$tmp/fail.csv"
    render lookups_over_time "set xlabel 'virtual time (s)'; set ylabel 'failed lookups (fraction)'
set y2label 'nodes up'; set y2tics; set ytics nomirror; set yrange [0:1.05]; set y2range [0:*]
set key top right
plot '$tmp/fail.csv' using 1:2 with linespoints title 'failed (timeout/wrong/no route)', \
     '$d/snapshots.csv' using 1:2 axes x1y2 with lines title 'nodes up'" "$out"
  else
    echo "skip hops_cdf, lookups_over_time: no successful lookups in $d/lookups.csv"
  fi
  if [ -s "$d/joins.csv" ] && [ "$(wc -l <"$d/joins.csv")" -gt 1 ]; then
    awk -F, 'NR>1{print $3}' "$d/joins.csv" | sort -g | awk '{a[NR]=$1} END{for(i=1;i<=NR;i++) print a[i]","i/NR}' >"$tmp/join.csv"
    render join_time_cdf "set xlabel 'join time (s, up -> joined the ring)'; set ylabel 'CDF'
set logscale x; set yrange [0:1.05]
plot '$tmp/join.csv' using 1:2 with steps lw 2 title 'join time'" "$out"
  else
    echo "skip join_time_cdf: no joins in $d/joins.csv"
  fi
  if [ -s "$d/snapshots.csv" ] && awk -F, 'NR>1 && $4!=""{f=1} END{exit !f}' "$d/snapshots.csv"; then
    render ring_over_time "set xlabel 'virtual time (s)'; set ylabel 'ring consistency'; set yrange [0:1.05]
set y2label 'nodes up'; set y2tics; set ytics nomirror; set y2range [0:*]; set key bottom right
plot '$d/snapshots.csv' using 1:4 with lines lw 2 title 'joined nodes with the true successor', \
     '' using 1:2 axes x1y2 with lines title 'nodes up'" "$out"
  fi
  if [ -s "$d/snapshots.csv" ] && [ "$(wc -l <"$d/snapshots.csv")" -gt 2 ]; then
    render bytes_per_node "set xlabel 'virtual time (s)'; set ylabel 'bytes sent per node per second'
plot '$d/snapshots.csv' using 1:6 with lines lw 2 title 'all traffic (interval average)'" "$out"
  fi
  if [ -s "$d/flows.csv" ] && awk -F, 'NR>1 && $9=="direct"{f=1} END{exit !f}' "$d/flows.csv"; then
    # CDF over all flows (no_direct flows never reach 1), split by whether
    # the destination is public or behind a NAT
    for k in public natted; do
      awk -F, -v k="$k" 'NR>1 && (($6=="public")==(k=="public")){n++; if($9=="direct") print $8} END{print "N",n}' \
        "$d/flows.csv" | sort -g | awk '/^N/{n=$2; next} {a[++m]=$1} END{for(i=1;i<=m;i++) print a[i]","i/n}' >"$tmp/direct_$k.csv"
    done
    render direct_time_cdf "set xlabel 'first ARP -> direct link (s); links that already existed are drawn at 0.01 s'; set ylabel 'fraction of flows'
set yrange [0:1.05]; set logscale x; set xrange [0.01:*]
plot '$tmp/direct_public.csv' using (\$1 > 0.01 ? \$1 : 0.01):2 with steps lw 2 title 'to public nodes', \
     '$tmp/direct_natted.csv' using (\$1 > 0.01 ? \$1 : 0.01):2 with steps lw 2 title 'to NATed nodes'" "$out"
  else
    echo "skip direct_time_cdf: no direct flows in $d/flows.csv"
  fi
  if [ -s "$d/frames.csv" ] && [ "$(wc -l <"$d/frames.csv")" -gt 1 ]; then
    # one-way frame latency CDF per path the source used (path_latency)
    local cmd="" p
    for p in direct relay overlay pending; do
      awk -F, -v p="$p" 'NR>1 && $3==p{print $4}' "$d/frames.csv" | sort -g |
        awk '{a[NR]=$1} END{for(i=1;i<=NR;i++) print a[i]","i/NR}' >"$tmp/lat_$p.csv"
      [ -s "$tmp/lat_$p.csv" ] || continue
      cmd="$cmd${cmd:+, }'$tmp/lat_$p.csv' using 1:2 with steps lw 2 title '$p'"
    done
    render path_latency_cdf "set xlabel 'one-way frame latency, TAP to TAP (ms)'; set ylabel 'CDF'
set yrange [0:1.05]; set logscale x; set key bottom right
plot $cmd" "$out"
  else
    echo "skip path_latency_cdf: no frames.csv (metric path_latency, node model)"
  fi
  if [ -s "$d/bcasts.csv" ] && [ "$(wc -l <"$d/bcasts.csv")" -gt 1 ]; then
    # coverage = delivered / members; finished broadcasts only
    awk -F, 'NR>1 && $15!="unfinished" && $4>0 {print $2","$5/$4","$13}' "$d/bcasts.csv" >"$tmp/bc.csv"
    render bcast_over_time "set xlabel 'send time (virtual s)'; set ylabel 'coverage (delivered / members)'
set y2label 'deepest delivery (hops)'; set y2tics; set ytics nomirror; set yrange [0:1.05]; set y2range [0:*]
set key bottom right
plot '$tmp/bc.csv' using 1:2 with points pt 7 ps 0.5 title 'coverage', \
     '' using 1:3 axes x1y2 with points pt 1 ps 0.5 title 'max depth'" "$out"
  else
    echo "skip bcast_over_time: no bcasts.csv (metric bcast, overlay model)"
  fi
  if [ -s "$d/links.csv" ] && [ "$(wc -l <"$d/links.csv")" -gt 1 ]; then
    render link_types "set xlabel 'virtual time (s)'; set ylabel 'established link ends'
plot '$d/links.csv' using 1:3 with lines lw 2 title 'direct', '' using 1:4 with lines lw 2 title 'relay', \
     '' using 1:5 with lines lw 2 title 'overlay'" "$out"
  else
    echo "skip link_types: no links.csv (the model does not report link paths)"
  fi
}

compare() {
  local out=$1 tmp
  shift
  mkdir -p "$out"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  : >"$tmp/n.csv"
  : >"$tmp/mem.csv"
  : >"$tmp/bc.csv"
  local i=0
  for d in "$@"; do
    local s=$d/summary.json p=$d/perf.json
    [ -s "$s" ] || { echo "skip $d: no summary.json"; continue; }
    local n hm ok tot
    n=$(json_num "$s" nodes)
    hm=$(grep -o '"hops":{[^}]*' "$s" | grep -o '"mean":[0-9.]*' | cut -d: -f2 || true)
    ok=$(json_num "$s" ok || true)
    tot=$(grep -o '"lookups":{[^}]*' "$s" | awk -F'[:,]' '{print $5+$7+$9+$11}' || true)
    [ -n "$hm" ] && echo "$n,$hm" >>"$tmp/n.csv"
    [ -n "$tot" ] && [ "$tot" != 0 ] && echo "$i,$(awk -v o="$ok" -v t="$tot" 'BEGIN{print 1-o/t}'),$(basename "$d")" >>"$tmp/fail.csv"
    [ -s "$p" ] && echo "$n,$(json_num "$p" peak_kb_per_node)" >>"$tmp/mem.csv"
    if grep -q '"bcast":{' "$s"; then
      local b
      b=$(grep -o '"bcast":{.*' "$s")
      echo "$n,$(json_num <(echo "$b") tx_per_member),$(json_num <(echo "$b") coverage),$(grep -o '"depth":{[^}]*' <<<"$b" | grep -o '"mean":[0-9.]*' | cut -d: -f2),$(grep -o '"depth":{[^}]*' <<<"$b" | grep -o '"max":[0-9.]*' | cut -d: -f2)" >>"$tmp/bc.csv"
    fi
    i=$((i + 1))
  done
  if [ -s "$tmp/n.csv" ]; then
    sort -t, -k1,1n "$tmp/n.csv" >"$tmp/ns.csv"
    render path_length_vs_n "set xlabel 'N (nodes)'; set ylabel 'mean lookup hops'; set logscale x
plot '$tmp/ns.csv' using 1:2 with linespoints lw 2 title 'measured', 0.5*log(x)/log(2) lw 2 title '0.5 log2 N (Chord)'" "$out"
  fi
  if [ -s "$tmp/fail.csv" ]; then
    render lookup_failure "set ylabel 'failed lookups (fraction)'; set style fill solid 0.5; set boxwidth 0.6
set yrange [0:*]; set xtics rotate by -30
plot '$tmp/fail.csv' using 1:2:xtic(3) with boxes title 'failure fraction per run'" "$out"
  fi
  if [ -s "$tmp/bc.csv" ]; then
    sort -t, -k1,1n "$tmp/bc.csv" >"$tmp/bcs.csv"
    render bcast_vs_n "set xlabel 'N (members)'; set ylabel 'depth (hops)'; set logscale x
set y2label 'tx / (N - 1), coverage'; set y2tics; set ytics nomirror; set y2range [0:1.1]; set yrange [0:*]
plot '$tmp/bcs.csv' using 1:4 with linespoints lw 2 title 'mean depth', '' using 1:5 with linespoints lw 2 title 'max depth', \
     log(x)/log(2) lw 1 dt 2 title 'log2 N', \
     '' using 1:2 axes x1y2 with linespoints lw 2 title 'tx / (N - 1)', '' using 1:3 axes x1y2 with linespoints lw 2 title 'coverage'" "$out"
  fi
  if [ -s "$tmp/mem.csv" ]; then
    sort -t, -k1,1n "$tmp/mem.csv" >"$tmp/ms.csv"
    render memory_per_node "set xlabel 'N (nodes)'; set ylabel 'peak RSS per node (kB)'; set logscale x
plot '$tmp/ms.csv' using 1:2 with linespoints lw 2 title 'peak RSS growth / N (perf.json)'" "$out"
  fi
}

if [ "${1:-}" = "--compare" ]; then
  [ $# -ge 3 ] || { echo "usage: plot.sh --compare OUT DIR..." >&2; exit 1; }
  shift
  compare "$@"
elif [ $# -eq 1 ]; then
  one_run "$1"
else
  echo "usage: plot.sh DIR | plot.sh --compare OUT DIR..." >&2
  exit 1
fi
