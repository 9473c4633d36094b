#!/usr/bin/env bash
# Runs every test: a normal build, then the same tests under AddressSanitizer
# and UndefinedBehaviorSanitizer. Each integration test starts its own
# nats-server on a free loopback port. The deployment (label deploy: Docker,
# tests/deploy/deploy.sh) and real-Matrix (label matrix: Synapse) tests run
# once, in the normal build: they test containers and a homeserver, not our
# memory use. A Release build with the tests is built, not run. Every cmocka
# case is a ctest test of its own (tests/CMakeLists.txt).
# Usage: CTEST_ARGS="-R test_overlap" scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh --test

jobs=$(nproc 2>/dev/null || echo 2)
status=0

# Configures and builds $1 with the cmake arguments that follow. A failed
# build shows the compiler's errors and returns 1: its ctest must not run
# on what an earlier build left.
build() {
  local dir=$1; shift
  echo "== $dir: configure and build"
  mkdir -p "$dir"
  cmake -S . -B "$dir" "$@" >"$dir/configure.log" 2>&1 || {
    cat "$dir/configure.log"; echo "== $dir: configure FAILED" >&2; return 1; }
  cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1 || {
    grep -E -B2 -A3 "error|Error" "$dir/build.log" || tail -40 "$dir/build.log"
    echo "== $dir: build FAILED (whole log: $dir/build.log)" >&2; return 1; }
}

run() {
  local dir=$1 exclude=$2; shift 2
  build "$dir" -DCMAKE_BUILD_TYPE=Debug "$@" || return 1
  echo "== $dir: ctest"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" ${exclude:+-LE "$exclude"} ${CTEST_ARGS:-})
}

# The normal build runs against Debian 12's nats-server (2.9.10), the
# sanitizer build against the newest release Debian has (sid), so every test
# runs on both an old and a current server.
echo "== nats-server $(nats-server --version | grep -Eo '[0-9.]+$') for the normal build"
run build "" || status=1
# Release (-O3) with the tests, built and not run: -O3 warns where -O0 and
# -O2 do not (-Werror=maybe-uninitialized), and the benchmarks build so.
build build-release -DCMAKE_BUILD_TYPE=Release -DORCH_TESTS=ON || status=1
current=$(bash scripts/nats-current.sh sid) || { echo "== could not fetch a current nats-server" >&2; exit 1; }
echo "== nats-server $("$current/nats-server" --version | grep -Eo '[0-9.]+$') for the sanitizer build"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0   # third-party leaks only
PATH="$current:$PATH" run build-asan '^(deploy|matrix)$' -DORCH_SANITIZE=ON || status=1

echo "== fuzzing: every target, ${ORCH_FUZZ_RUNS:-100000} runs with a fixed seed (scripts/fuzz.sh SECONDS to explore)"
ORCH_FUZZ_RUNS=${ORCH_FUZZ_RUNS:-100000} bash scripts/fuzz.sh || status=1

if [ $status -eq 0 ]; then
  echo "== all tests passed (normal and sanitizer builds, fuzzing)"
else
  echo "== some tests FAILED" >&2
fi
exit $status
