#!/usr/bin/env bash
# The merge train against today's serial merge, measured in the same run.
#
# Each configuration gets its own nats-server (loopback, JetStream in a
# temporary directory), a git repository holding a small C project whose
# one step is `sh -c 'sleep T && make test'`, orch-router, orch-scheduler
# (scheduler.merge_train on), orch-verifier replicas of one worker each,
# four simulated backend agents and two simulated reviewers (agent-sim,
# which approves). N requirements (20) each add their own file; in the
# "breaking" runs, one change in five breaks the build together with the
# change before it: both define the same function (agent-sim's metadata
# "sim_clash"), so each builds alone and the two together fail at link time
# ("multiple definition"); the one that reaches the base second is sent back
# and its author's retry leaves the function out.
#
# Configurations:
#   serial      today's serial merge: one verifier with one worker and
#               scheduler.train_ahead 1, so each change is merged alone,
#               after a build of exactly the tree the base will hold, and
#               the next change waits for it
#   train-N     the merge train as shipped (train_ahead 4) with N verifier
#               replicas of one worker each (N = 1, 2, 4)
#   ... clean   the same without breaking pairs
#
# Figures, per configuration:
#   seconds     from the first approval (the scheduler's first "merge train"
#               line: the first approved change entering the train) to the
#               last base move (the verifier's last "base moved" line)
#   builds      verifications plus candidate builds (the verifiers' logs),
#               per merged change
#   broken      commits of the base's first-parent history, from the
#               initial commit to the final base, that fail `make test`
#               when built afresh after the run (must be 0)
#
#   bench/bench_train.sh [T] [N]          (T: the step's sleep, 2 s; N: 20)
# Environment: ORCH_BIN_DIR (build-rel), BENCH_TRAIN_LIMIT (600 s per
# configuration), BENCH_TRAIN_CONFIGS (the names above, space separated),
# BENCH_TRAIN_KEEP (a directory each configuration's logs and repository
# are copied into).
# Exits 1 when a configuration does not merge everything in time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
T=${1:-2}
N=${2:-20}
bin=${ORCH_BIN_DIR:-$root/build-rel}
limit=${BENCH_TRAIN_LIMIT:-600}
configs=${BENCH_TRAIN_CONFIGS:-serial train-1 train-2 train-4 train-4-clean}
case "$T" in *[!0-9.]*|'') echo "bench_train: T must be a number of seconds" >&2; exit 2 ;; esac
case "$N" in *[!0-9]*|'') echo "bench_train: N must be a whole number" >&2; exit 2 ;; esac
for b in nats-server "$bin/orch-router" "$bin/orch-scheduler" "$bin/orch-verifier" "$bin/agent-sim" "$bin/orchctl"; do
  command -v "$b" >/dev/null || { echo "bench_train: $b is missing (build first, or set ORCH_BIN_DIR)" >&2; exit 2; }
done

top=$(mktemp -d)
pids=()
# Stops what the current configuration started: services first, the
# server last, each by its own id; a process that does not stop in 5 s is
# killed.
stop_all() {
  local i p
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    p=${pids[$i]}
    kill -TERM "$p" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
}
trap 'stop_all; rm -rf "$top"' EXIT
trap 'exit 130' INT TERM

free_port() {
  local p
  for _ in $(seq 100); do
    p=$(( 20000 + RANDOM % 20000 ))
    (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "bench_train: no free port" >&2
  return 1
}

# ISO time of a log line (2026-12-07T17:20:01.123Z ...) as seconds.
stamp_s() {
  local t=${1%%Z*}
  echo "$(date -u -d "${t%.*}" +%s).${t##*.}"
}

# The project: main.c, a Makefile linking every features/*.c, and a
# projects file whose one step sleeps T seconds, then builds and tests.
make_project() {
  local d=$1 repo=$1/repo
  mkdir -p "$repo/features"
  cp examples/demo-project/Makefile examples/demo-project/main.c "$repo/"
  : > "$repo/features/.keep"
  git init -q -b main "$repo"
  git -C "$repo" add -A
  git -C "$repo" -c user.email=bench@orchestrator.local -c user.name=bench commit -q -m "bench project"
  git -C "$repo" config receive.denyCurrentBranch updateInstead
  cat > "$d/projects.json" <<JSON
{"projects": {"demo": {"repo": "$repo", "base": "main", "steps": [
  {"name": "build", "command": ["sh", "-c", "sleep $T && make test"], "timeout_s": 120}]}}}
JSON
}

# The requirements as intake JSON: BR-01..BR-N, each its own file; with
# breaking pairs, BR-(5k-1) and BR-(5k) define the same function.
make_requirements() {
  local breaking=$1 i sep=
  echo "["
  for i in $(seq 1 "$N"); do
    local id meta=
    id=$(printf 'BR-%02d' "$i")
    if [ "$breaking" = 1 ]; then
      if [ $((i % 5)) -eq 0 ]; then meta=", \"sim_clash\": \"shared_$i\""; fi
      if [ $((i % 5)) -eq 4 ] && [ "$i" -lt "$N" ]; then meta=", \"sim_clash\": \"shared_$((i + 1))\""; fi
    fi
    printf '%s{"id": "%s", "title": "Bench change %d", "assignedAgent": "backend", "priority": "MEDIUM",
  "estimatedTokens": 400, "files": ["features/%s.c"], "metadata": {"requestedBy": "bench"%s}}\n' \
      "$sep" "$id" "$i" "$id" "$meta"
    sep=,
  done
  echo "]"
}

# run_config NAME VERIFIERS AHEAD BREAKING: prints one row of the table.
failed=0
run_config() {
  local name=$1 nver=$2 ahead=$3 breaking=$4 d port url i
  d="$top/$name"
  mkdir -p "$d/log" "$d/nats" "$d/agents" "$d/work"
  port=$(free_port)
  url="nats://127.0.0.1:$port"
  make_project "$d"
  make_requirements "$breaking" > "$d/requirements.json"

  nats-server -a 127.0.0.1 -p "$port" -js -sd "$d/nats" >"$d/log/nats-server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  # every process of this configuration: these settings on top of ours
  svc() { # log-name program args...
    local log=$1; shift
    (
      export ORCH_NATS_URL=$url ORCH_LOG_LEVEL=info ORCH_JETSTREAM_REPLICAS=1
      export ORCH_VERIFIER_PROJECTS_FILE="$d/projects.json" ORCH_VERIFIER_WORK_ROOT="$d/work" ORCH_VERIFIER_WORKERS=1
      export ORCH_SCHEDULER_MERGE_TRAIN=true ORCH_SCHEDULER_TRAIN_AHEAD=$ahead ORCH_SCHEDULER_WINDOW=50
      export ORCH_SCHEDULER_BACKOFF_BASE_MS=200 ORCH_SCHEDULER_BACKOFF_MAX_MS=1000 ORCH_SCHEDULER_SPAWN_DEPTH=100000
      export ORCH_BUDGET_TOTAL=1000000000000 ORCH_BUDGET_BACKEND=1000000000000 ORCH_BUDGET_REVIEW=1000000000000
      exec "$@"
    ) >"$d/log/$log.log" 2>&1 &
    pids+=($!)
  }
  ORCH_SERVICE_INSTANCE=router-1 svc router "$bin/orch-router"
  ORCH_SERVICE_INSTANCE=scheduler-1 svc scheduler "$bin/orch-scheduler"
  for i in $(seq "$nver"); do ORCH_SERVICE_INSTANCE="verifier-$i" svc "verifier-$i" "$bin/orch-verifier"; done
  ctl() { ORCH_NATS_URL=$url "$bin/orchctl" "$@"; }
  # the services provision their streams and the scheduler takes its lease
  for _ in $(seq 100); do
    [ "$(ctl services --json 2>/dev/null | grep -c '"type"' || true)" -ge $((2 + nver)) ] && break
    sleep 0.2
  done
  sleep 1
  # the agents once the scheduler made their consumers
  for i in 1 2 3 4; do
    svc "backend-$i" "$bin/agent-sim" --type backend --instance "backend-$i" --repo "$d/repo" \
      --workdir "$d/agents" --work-ms 0 --heartbeat-ms 20
  done
  for i in 1 2; do
    svc "review-$i" "$bin/agent-sim" --type review --instance "review-$i" --work-ms 0 --heartbeat-ms 20
  done
  for _ in $(seq 100); do
    [ "$(cat "$d"/log/backend-*.log "$d"/log/review-*.log | grep -c 'ready for' || true)" -ge 6 ] && break
    sleep 0.2
  done
  ctl submit "$d/requirements.json" > "$d/log/submit.log" 2>&1 || {
    echo "bench_train: $name: submit failed: $(tail -3 "$d/log/submit.log")" >&2; failed=1; stop_all; return; }

  local deadline=$(( $(date +%s) + limit )) line total done_n complete=0 finished=0
  while [ "$(date +%s)" -lt "$deadline" ]; do
    line=$(ctl summary 2>/dev/null | head -1 || true)
    total=$(echo "$line" | sed -n 's/requirements: \([0-9]*\).*/\1/p')
    done_n=$(echo "$line" | sed -n 's/.*complete \([0-9]*\), escalated \([0-9]*\), rejected \([0-9]*\).*/\1 \2 \3/p')
    if [ -n "$total" ] && [ -n "$done_n" ]; then
      read -r complete esc rej <<<"$done_n"
      if [ "$total" -ge "$N" ] && [ $((complete + esc + rej)) -ge "$total" ]; then finished=1; break; fi
    fi
    sleep 0.5
  done
  stop_all

  local first last secs builds verifs cands per broken=0 commits c wt
  first=$(grep -m1 -E 'merge train demo: ' "$d/log/scheduler.log" | awk '{print $1}' || true)
  last=$(cat "$d"/log/verifier-*.log | grep -E 'train demo: base moved from' | awk '{print $1}' | sort | tail -1 || true)
  verifs=$(cat "$d"/log/verifier-*.log | grep -cE '\] ?verifying [^ ]+ attempt' || true)
  cands=$(cat "$d"/log/verifier-*.log | grep -cE 'train demo: building candidate' || true)
  builds=$((verifs + cands))
  if [ -n "$first" ] && [ -n "$last" ]; then
    secs=$(awk -v a="$(stamp_s "$first")" -v b="$(stamp_s "$last")" 'BEGIN { printf "%.1f", b - a }')
  else
    secs=-
  fi
  per=$(awk -v b="$builds" -v m="$complete" 'BEGIN { if (m > 0) printf "%.2f", b / m; else print "-" }')

  # every commit the base went through, built afresh
  wt="$d/check"
  git -C "$d/repo" worktree add -q --detach "$wt" main
  commits=$(git -C "$d/repo" rev-list --first-parent main)
  for c in $commits; do
    git -C "$wt" checkout -q --detach "$c"
    git -C "$wt" clean -qfdx
    if ! (cd "$wt" && make -s test >/dev/null 2>&1); then
      broken=$((broken + 1))
      echo "bench_train: $name: base commit $c does not build" >&2
    fi
  done
  git -C "$d/repo" worktree remove --force "$wt"

  printf '%-16s %9s %8d %7d %11d %9s %7d %7s\n' "$name" "$secs" "$complete" "$builds" "$cands" "$per" \
    "$broken" "$(echo "$commits" | wc -w)"
  echo "$name $secs $per $broken" >> "$top/figures"
  if [ "$finished" != 1 ] || [ "$complete" -lt "$N" ]; then
    echo "bench_train: $name: $complete of $N merged after ${limit} s (summary: $line); logs were in $d" >&2
    failed=1
  fi
  [ "$broken" -eq 0 ] || failed=1
  [ -n "${BENCH_TRAIN_KEEP:-}" ] && cp -r "$d" "$BENCH_TRAIN_KEEP/" || true
  rm -rf "$d"
}

echo "merge train: $N changes, step 'sleep $T && make test', 4 agents; 1 in 5 breaks together with another (clean: none)"
echo "serial = 1 verifier x 1 worker, train_ahead 1 (each change merged alone after its own build); train-N = N verifiers x 1 worker, train_ahead 4"
printf '%-16s %9s %8s %7s %11s %9s %7s %7s\n' configuration seconds merged builds candidates per-merge broken commits
for cfg in $configs; do
  case "$cfg" in
    serial) run_config serial 1 1 1 ;;
    serial-clean) run_config serial-clean 1 1 0 ;;
    train-[0-9]*-clean) n=${cfg#train-}; run_config "$cfg" "${n%-clean}" 4 0 ;;
    train-[0-9]*) run_config "$cfg" "${cfg#train-}" 4 1 ;;
    *) echo "bench_train: unknown configuration $cfg" >&2; exit 2 ;;
  esac
done

# ratios against the serial runs of the same kind
fig() { awk -v n="$1" -v k="$2" '$1 == n { print $k }' "$top/figures"; }
for cfg in $configs; do
  case "$cfg" in
    train-*-clean) base=serial-clean ;;
    train-*) base=serial ;;
    *) continue ;;
  esac
  s=$(fig "$base" 2); t=$(fig "$cfg" 2)
  if [ -n "$s" ] && [ -n "$t" ] && [ "$s" != - ] && [ "$t" != - ]; then
    echo "ratio $base / $cfg time: $(awk -v s="$s" -v t="$t" 'BEGIN { printf "%.2f", s / t }')x"
  fi
done
for cfg in $configs; do
  echo "time $cfg: $(fig "$cfg" 2) s, builds per merged change $(fig "$cfg" 3), broken base commits $(fig "$cfg" 4)"
done
c4=$(fig train-4-clean 3)
if [ -n "$c4" ]; then echo "builds per merged change, train-4 clean: $c4 (target at most 1.3)"; fi
r4=$(awk -v s="$(fig serial 2)" -v t="$(fig train-4 2)" 'BEGIN { if (s > 0 && t > 0) printf "%.2f", s / t }')
if [ -n "$r4" ]; then echo "train-4 against serial: ${r4}x faster (target at least 3x)"; fi
exit $failed
