#!/usr/bin/env bash
# Sets up and runs every ringlan test (Debian 12, as root):
#   1. unit tests (cmocka, ctest) in a normal build;
#   2. the same under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. every fuzz target for a short bounded run (libFuzzer, clang);
#   4. integration tests in network namespaces (tests/integration/*.sh).
# RL_QUICK=1 skips 2 and 3 (for local iteration).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
start=$(date +%s)
fail=0

echo "== build"
./scripts/build.sh build
echo "== unit tests"
ctest --test-dir build --output-on-failure -j2 || fail=1

if [ "${RL_QUICK:-0}" != 1 ]; then
  echo "== unit tests under ASan+UBSan"
  CC=clang ./scripts/build.sh build-asan -DRL_SANITIZE=ON
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j2 -LE sim-slow || fail=1

  echo "== fuzz targets (short runs)"
  CC=clang ./scripts/build.sh build-fuzz -DRL_FUZZ=ON -DRL_TESTS=OFF
  ./scripts/fuzz.sh build-fuzz "${RL_FUZZ_SECONDS:-20}" || fail=1
fi

echo "== integration tests"
for t in tests/integration/*.sh; do
  [ -e "$t" ] || continue
  case $t in */lib.sh | */natlab.sh) continue ;; esac   # sourced helpers, not tests
  echo "-- $t"
  if RL_BUILD="$PWD/build" timeout 600 bash "$t"; then
    echo "PASS $t"
  else
    echo "FAIL $t"
    fail=1
  fi
done

echo "== done in $(( $(date +%s) - start )) s"
exit $fail
