#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS (default 10; run longer by hand), first over its seed corpus and
# every saved regression input. With ORCH_FUZZ_RUNS=N (what scripts/test.sh
# sets) each target instead makes exactly N runs from its seed corpus with a
# fixed seed: the same on every machine, so a passing run stays passing. A crash fails the run
# and leaves its input in build-fuzz/crashes/<target>/: copy it into
# tests/fuzz/regressions/<target>/ so that it is replayed from then on.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (apt-get install clang)" >&2; exit 1; }
mkdir -p build-fuzz
CC=clang cmake -S . -B build-fuzz -DORCH_FUZZ=ON -DORCH_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug >build-fuzz/configure.log 2>&1 \
  || { cat build-fuzz/configure.log; exit 1; }
targets=""
for t in intake reports protobuf roadmap config matrix; do targets="$targets --target fuzz_$t"; done
cmake --build build-fuzz -j"$(nproc)" $targets >build-fuzz/build.log 2>&1 || { grep -E "error" build-fuzz/build.log; exit 1; }
status=0
for t in intake reports protobuf roadmap config matrix; do
  corpus=build-fuzz/corpus/$t
  if [ -n "${ORCH_FUZZ_RUNS:-}" ]; then
    rm -rf "$corpus"  # deterministic: the seed corpus only
    limits="-runs=$ORCH_FUZZ_RUNS -seed=1"
  else
    limits="-max_total_time=$secs"
  fi
  mkdir -p "$corpus" "build-fuzz/crashes/$t"
  cp -n tests/fuzz/corpus/$t/* "$corpus/" 2>/dev/null || true
  if [ -d tests/fuzz/regressions/$t ] && ls tests/fuzz/regressions/$t/* >/dev/null 2>&1; then
    build-fuzz/fuzz_$t tests/fuzz/regressions/$t/* >/dev/null 2>&1 || { echo "fuzz_$t: a regression input fails again"; status=1; }
  fi
  if build-fuzz/fuzz_$t "$corpus" $limits -max_len=65536 -rss_limit_mb=2048 \
       -artifact_prefix="build-fuzz/crashes/$t/" >"build-fuzz/fuzz_$t.log" 2>&1; then
    echo "fuzz_$t: $(grep -E 'DONE' "build-fuzz/fuzz_$t.log" | grep -Eo '^#[0-9]+' | tr -d '#') runs, no crash"
  else
    echo "fuzz_$t: CRASH (see build-fuzz/fuzz_$t.log and build-fuzz/crashes/$t/)"
    tail -30 "build-fuzz/fuzz_$t.log"
    status=1
  fi
done
exit $status
