#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each (default 20), starting from the
# seed corpus in tests/fuzz/corpus/<target>/ when there is one.
#
#   ./scripts/fuzz.sh [SECONDS] [BUILD_DIR]     (BUILD_DIR default build-fuzz)
#   ./scripts/fuzz.sh BUILD_DIR SECONDS         (older argument order, still read)
#
# Builds BUILD_DIR with clang and -DRL_FUZZ=ON when it holds no target. Prints
# one line per target: name, seconds, executions, corpus size, result; and a
# total. A crashing input is kept in fuzz-artifacts/<target>/ (the run fails):
# turn it into a unit test (docs/security.md, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."
secs=20
dir=build-fuzz
for a in "$@"; do
  if [[ $a =~ ^[0-9]+$ ]]; then secs=$a; else dir=$a; fi
done
if ! compgen -G "$dir/fuzz_*" >/dev/null; then
  CC=clang ./scripts/build.sh "$dir" -DRL_FUZZ=ON -DRL_TESTS=OFF
fi
fail=0
total_runs=0
total_secs=0
printf '%-20s %6s %12s %7s  %s\n' target seconds executions corpus result
for bin in "$dir"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  work=$(mktemp -d)
  seeds=tests/fuzz/corpus/$name
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null || true
  art=fuzz-artifacts/$name
  mkdir -p "$art"
  t0=$(date +%s)
  result=ok
  if ! "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$art/" -print_final_stats=1 "$work" >"$work.log" 2>&1; then
    result=FAIL
    fail=1
  fi
  t1=$(date +%s)
  runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work.log" | tail -1)
  runs=${runs:-0}
  corpus=$(find "$work" -maxdepth 1 -type f | wc -l)
  printf '%-20s %6d %12d %7d  %s\n' "$name" $((t1 - t0)) "$runs" "$corpus" "$result"
  if [ $result = FAIL ]; then
    tail -40 "$work.log"
    echo "   crash input kept in $art/"
  else
    rmdir "$art" 2>/dev/null || true
  fi
  total_runs=$((total_runs + runs))
  total_secs=$((total_secs + t1 - t0))
  rm -rf "$work" "$work.log"
done
rmdir fuzz-artifacts 2>/dev/null || true
printf '%-20s %6d %12d\n' total "$total_secs" "$total_runs"
exit $fail
