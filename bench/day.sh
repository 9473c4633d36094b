#!/usr/bin/env bash
# A simulated day: N requirements (500) with dependencies and budgets
# through the whole suite (run.sh, headless) with near-instant simulated
# agents; prints the wall time and the CPU seconds of each service.
#   bench/day.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
out=$(mktemp -d)
{
  echo "# Simulated day"
  echo
  echo "## Phase 1 - Day"
  types=(backend frontend database documentation)
  for i in $(seq 1 "$n"); do
    echo
    echo "### DAY-$i: Simulated requirement $i"
    echo "- Status: Pending"
    echo "- Agent: ${types[$((i % 4))]}"
    echo "- Estimated tokens: 400"
    # about two earlier dependencies each
    if [ "$i" -gt 2 ]; then echo "- Depends on: DAY-$(( (i * 7) % (i - 1) + 1 )), DAY-$(( (i * 13) % (i - 1) + 1 ))"; fi
  done
} > "$out/day.md"
ORCH_DEMO_ROADMAP="$out/day.md" ORCH_DEMO_WORK_MS=0 ORCH_DEMO_TIMEOUT=900 ORCH_DEMO_VERIFIERS=2 \
ORCH_DEMO_DIR="$out/var" ORCH_PORT=${ORCH_PORT:-14777} ORCH_SCHEDULER_WINDOW=50 \
  bash scripts/run.sh --headless | grep -E "^== summary|^requirements:|^throughput|^cpu|^first-time|^tokens"
# each verifier logs its mean overhead per verification when it stops
grep -h "mean overhead" "$out"/var/log/verifier-*.log | sed -E 's/.*\] ?/verifier: /' || true
rm -rf "$out"
