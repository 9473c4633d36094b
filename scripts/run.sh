#!/usr/bin/env bash
# The whole suite on this machine, visibly: a local nats-server with
# JetStream (data under var/) and the users and permissions of
# deploy/nats.conf (each service and agent type logs in as itself, with a
# password scripts/creds.sh made at the first start and keeps in var/creds,
# mode 0600), the four services, the Host Listener starting
# simulated agents, a demo git project the verifier really builds and tests,
# and the sample roadmap of 20 requirements (dependencies, a file overlap, a
# broken build that gets fixed, a transient error, a review asking for
# changes, a stuck agent). The dashboard shows live until every requirement
# is COMPLETE or ESCALATED; then a summary. Ctrl-C stops everything cleanly.
#
#   scripts/run.sh              the demo, interactive
#   scripts/run.sh --headless   no live screen; exit 0 only if all completed
#   scripts/run.sh --repo PATH [--roadmap FILE] [--agent ...] [--headless]
#                               the suite with real agents on your own git
#                               repository: works on a bare copy under
#                               var/repos/<name>/ (your working tree is only read),
#                               detects its build and test steps (Makefile,
#                               CMake+ctest, npm, cargo, go, pytest), writes
#                               the settings to var/repos/<name>/orchestrator.json
#                               (project and steps, the CLI, model and number
#                               of each agent type, token budgets per day,
#                               review policy, web port, headless time-out;
#                               edit it, the next run reuses it and resumes
#                               where the last one stopped), imports the
#                               roadmap; Ctrl-C stops and shows the merged
#                               commits and how to fetch them (README.md,
#                               "Use it on your repository"; the agents are
#                               claude unless --agent says otherwise)
#   scripts/run.sh --repo PATH --plan   says what the run would use (layout,
#                               steps, agents, where) and starts nothing
#   scripts/run.sh --agent claude   real coding agents instead of simulated
#                                   ones (claude, codex, or per type:
#                                   backend=claude,frontend=codex); with your
#                                   own API key, on examples/agents-roadmap.md;
#                                   approved work is merged into the demo
#                                   repository's main by the release agent
#
# Environment: ORCH_PORT (4222), ORCH_WEB_PORT (8080-8099), ORCH_DEMO_DIR (var), ORCH_DEMO_TIMEOUT (300 s),
# ORCH_DEMO_ROUTERS / ORCH_DEMO_VERIFIERS (replicas, 1), ORCH_DEMO_INITIAL
# (agents per type at start, "backend=2,..."; one each), ORCH_BIN_DIR (use
# binaries built elsewhere instead of building), ORCH_MATRIX_HOMESERVER /
# ORCH_MATRIX_ROOM / ORCH_MATRIX_TOKEN to send alerts to Matrix too.
# With --agent: ANTHROPIC_API_KEY (claude) or OPENAI_API_KEY (codex), named
# in the agents' settings so their CLIs get them; ORCH_AGENT_MODEL, ORCH_AGENT_CHEAP_MODEL
# (claude-haiku-4-5 for claude), ORCH_AGENT_TIMEOUT_S (900), ORCH_AGENT_CLI_DIR
# (var/npm/node_modules/.bin), ANTHROPIC_BASE_URL / CODEX_HOME for another
# endpoint.
# With --repo: ORCH_DEMO_DIR is the parent of repos/<name>/; ORCH_DEMO_TIMEOUT
# (headless_timeout_s of the settings, 3600) bounds --headless.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

headless=0
agents=
repo=
roadmap=
plan=0
while [ $# -gt 0 ]; do
  case "$1" in
    --headless) headless=1 ;;
    --agent) agents="${2:-}"; shift
      [ -n "$agents" ] || { echo "run.sh: --agent needs claude, codex or TYPE=PRESET,..." >&2; exit 2; } ;;
    --repo) repo="${2:-}"; shift
      [ -n "$repo" ] || { echo "run.sh: --repo needs the path of a git repository" >&2; exit 2; } ;;
    --roadmap) roadmap="${2:-}"; shift
      [ -n "$roadmap" ] || { echo "run.sh: --roadmap needs a file" >&2; exit 2; } ;;
    --plan) plan=1 ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

[ -z "$roadmap" ] || [ -n "$repo" ] || { echo "run.sh: --roadmap goes with --repo (the demo's roadmap: ORCH_DEMO_ROADMAP)" >&2; exit 2; }
demo_root=${ORCH_DEMO_DIR:-$root/var}
if [ -n "$repo" ]; then
  # Your repository (scripts/lib/repo.sh): what it needs is checked here,
  # before anything starts; the agents of the settings unless --agent.
  command -v node >/dev/null ||
    { echo "run.sh: --repo needs node (apt-get install nodejs npm, or scripts/install-agent-clis.sh)" >&2; exit 2; }
  . scripts/lib/repo.sh
  repo_plan "$repo" "$roadmap" "$demo_root"
  [ -n "$agents" ] || agents=$(repo_agent_spec)
  [ -n "$agents" ] || agents=claude
fi

# Real agents: which preset each type runs, and whether its CLI and key are
# there. Nothing is started before everything needed is known to be there.
agent_types=(backend frontend database documentation review release)
declare -A preset_of=()
if [ -n "$agents" ]; then
  default_preset=
  IFS=, read -ra parts <<<"$agents"
  for part in "${parts[@]}"; do
    case "$part" in
      *=*) preset_of[${part%%=*}]=${part#*=} ;;
      *) default_preset=$part ;;
    esac
  done
  [ -n "$default_preset" ] || default_preset=${preset_of[backend]:-claude}
  for t in "${agent_types[@]}"; do preset_of[$t]=${preset_of[$t]:-$default_preset}; done
  cli_dir=${ORCH_AGENT_CLI_DIR:-$root/var/npm/node_modules/.bin}
  agent_path="$cli_dir:/usr/local/bin:/usr/bin:/bin"
  missing=0
  for p in $(printf '%s\n' "${preset_of[@]}" | sort -u); do
    case "$p" in
      claude)
        if ! PATH="$agent_path" command -v claude >/dev/null; then
          echo "run.sh: --agent claude needs Claude Code ('claude' is not in $cli_dir nor in /usr/local/bin, /usr/bin, /bin): run scripts/install-agent-clis.sh (installs it into var/npm), or scripts/install-agent-clis.sh DIR and export ORCH_AGENT_CLI_DIR=DIR/node_modules/.bin" >&2; missing=1
        fi
        if [ -z "${ANTHROPIC_API_KEY:-}${ANTHROPIC_AUTH_TOKEN:-}" ]; then
          echo "run.sh: --agent claude needs your Anthropic API key: export ANTHROPIC_API_KEY=... (real tokens: see README.md for what a requirement costs)" >&2; missing=1
        fi ;;
      codex)
        if ! PATH="$agent_path" command -v codex >/dev/null; then
          echo "run.sh: --agent codex needs Codex ('codex' is not in $cli_dir nor in /usr/local/bin, /usr/bin, /bin): run scripts/install-agent-clis.sh (installs it into var/npm), or scripts/install-agent-clis.sh DIR and export ORCH_AGENT_CLI_DIR=DIR/node_modules/.bin" >&2; missing=1
        fi
        if [ -z "${OPENAI_API_KEY:-}${CODEX_HOME:-}" ]; then
          echo "run.sh: --agent codex needs your OpenAI API key: export OPENAI_API_KEY=... (or CODEX_HOME with a config.toml naming a provider)" >&2; missing=1
        fi ;;
      *) echo "run.sh: unknown agent '$p': claude or codex here (docs/agents.md shows gemini and any command)" >&2; missing=1 ;;
    esac
  done
  [ $missing -eq 0 ] || exit 2
fi
if [ $plan -eq 1 ]; then
  [ -n "$repo" ] || { echo "run.sh: --plan goes with --repo" >&2; exit 2; }
  repo_show_plan "$agents"
  exit 0
fi

if [ -z "${ORCH_BIN_DIR:-}" ]; then
  bash scripts/bootstrap.sh
  echo "== building (release)"
  cmake -S . -B build-run -DCMAKE_BUILD_TYPE=Release -DORCH_TESTS=OFF >/dev/null
  cmake --build build-run -j"$(nproc)" >/dev/null
  bin="$root/build-run"
else
  bin="$ORCH_BIN_DIR"
fi

demo=$demo_root
port=${ORCH_PORT:-4222}
timeout=${ORCH_DEMO_TIMEOUT:-300}
if [ -n "$repo" ]; then
  demo=$repo_state
  timeout=${ORCH_DEMO_TIMEOUT:-${S[headless_timeout_s]:-3600}}
  [ -n "${ORCH_WEB_PORT:-}" ] || [ -z "${S[web_port]:-}" ] || ORCH_WEB_PORT=${S[web_port]}
fi
if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
  echo "run.sh: port $port is taken; set ORCH_PORT to another" >&2
  exit 1
fi
# The web dashboard: ORCH_WEB_PORT when set, else the first free of 8080-8099.
for web_port in ${ORCH_WEB_PORT:-$(seq 8080 8099)}; do
  (exec 3<>/dev/tcp/127.0.0.1/"$web_port") 2>/dev/null || break
done
if (exec 3<>/dev/tcp/127.0.0.1/"$web_port") 2>/dev/null; then
  echo "run.sh: port $web_port is taken; set ORCH_WEB_PORT to a free one" >&2
  exit 1
fi
# A fresh demo each time; the identities (creds/), installed CLIs (npm/) and
# the runs on your repositories (repos/: the next run resumes from them) stay.
if [ -z "$repo" ] && [ -d "$demo" ]; then
  find "$demo" -mindepth 1 -maxdepth 1 ! -name creds ! -name npm ! -name repos -exec rm -rf {} +
fi
mkdir -p "$demo/log/agents" "$demo/nats" "$demo/agents"
export ORCH_NATS_URL="nats://127.0.0.1:$port"
# Every process logs in as its own identity: a --config file per identity
# (creds/<identity>.json), never a password on a command line or in the
# environment the agents inherit; orchctl as operator (ctl below).
creds="$demo/creds"
bash scripts/creds.sh "$creds"
ctl() {
  ORCH_NATS_USER=operator ORCH_NATS_PASSWORD="$(head -n1 "$creds/operator.pass")" "$bin/orchctl" "$@"
}

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "== stopping"
  # Services first (they finish and ack what they hold), the server last.
  for ((i=${#pids[@]}-1; i>=1; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for ((i=${#pids[@]}-1; i>=1; i--)); do wait "${pids[$i]}" 2>/dev/null || true; done
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[0]}" 2>/dev/null && wait "${pids[0]}" 2>/dev/null || true
  echo "== stopped; logs in $demo/log/"
  [ -z "$repo" ] || repo_report
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

if [ -n "$repo" ]; then
  repo_prepare "$agents" "$web_port"
  project=${S[project.name]}
  repo_export_scheduler
  echo "== $repo_src: ${S[project.layout]}"
  echo "   working on the copy $demo/repo.git, base branch ${S[project.base]}; settings $repo_settings"
  [ $repo_resume -eq 0 ] || echo "   resuming from the state in $demo/nats"
else
project=demo
# The demo project, as a git repository the agents push branches to.
git init -q -b main "$demo/demo-repo"
cp -r examples/demo-project/. "$demo/demo-repo/"
git -C "$demo/demo-repo" add -A
git -C "$demo/demo-repo" -c user.email=demo@orchestrator.local -c user.name=demo commit -q -m "demo project"
# Approved work is merged into main by pushing to it: the repository's own
# checkout follows (it is clean: nobody works in it).
git -C "$demo/demo-repo" config receive.denyCurrentBranch updateInstead
cat > "$demo/projects.json" <<JSON
{"projects": {"demo": {"repo": "$demo/demo-repo", "base": "main", "steps": [
  {"name": "build", "command": ["make"], "timeout_s": 120},
  {"name": "test", "command": ["make", "test"], "timeout_s": 120}]}}}
JSON
if [ -n "$agents" ]; then
  cp "${ORCH_DEMO_ROADMAP:-examples/agents-roadmap.md}" "$demo/roadmap.md"
else
  cp "${ORCH_DEMO_ROADMAP:-examples/roadmap.md}" "$demo/roadmap.md"
fi
fi

# deploy/nats.conf's accounts, users and permissions as shipped, on loopback
{
  printf 'listen: 127.0.0.1:%s\nserver_name: orch_demo\njetstream { store_dir: "%s" }\n' "$port" "$demo/nats"
  sed -n '/^accounts {/,$p' deploy/nats.conf
} > "$demo/nats.conf"
# The passwords deploy/nats.conf reads, in nats-server's environment only.
( set -a; . "$creds/server.env"; set +a; exec nats-server -c "$demo/nats.conf" ) >"$demo/log/nats-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
echo "== nats-server on $ORCH_NATS_URL (JetStream store $demo/nats)"

# Demo timings: minutes become seconds.
export ORCH_MONITOR_STALE_MS=8000 ORCH_MONITOR_KILL_MS=14000 ORCH_MONITOR_GROUP_WAIT_MS=2000
export ORCH_MONITOR_SERVICES=orch-router,orch-scheduler,orch-verifier
export ORCH_SCHEDULER_BACKOFF_BASE_MS=2000 ORCH_SCHEDULER_SPAWN_COOLDOWN_S=20
export ORCH_VERIFIER_PROJECTS_FILE="$demo/projects.json" ORCH_VERIFIER_WORK_ROOT="$demo/work"

names=(nats-server)
start() { # name instance (the name is also the identity)
  ORCH_SERVICE_INSTANCE="$2" "$bin/orch-$1" --config "$creds/$1.json" >"$demo/log/$2.log" 2>&1 &
  pids+=($!)
  names+=("$2")
  echo "   started orch-$1 $2 (log $demo/log/$2.log)"
}
for i in $(seq "${ORCH_DEMO_ROUTERS:-1}"); do start router "router-$i"; done
start scheduler scheduler-1
for i in $(seq "${ORCH_DEMO_VERIFIERS:-1}"); do start verifier "verifier-$i"; done
ORCH_WEB_PORT=$web_port start monitor monitor-1

if [ -n "$agents" ] && printf '%s\n' "${preset_of[@]}" | grep -qx codex && [ -z "${CODEX_HOME:-}" ]; then
  # Codex with the key in OPENAI_API_KEY: a provider that reads it, in a
  # Codex home of the demo's own (your ~/.codex is left alone).
  export CODEX_HOME="$demo/codex-home"
  mkdir -p "$CODEX_HOME"
  cat > "$CODEX_HOME/config.toml" <<TOML
model_provider = "openai-api-key"
[model_providers.openai-api-key]
name = "OpenAI (API key)"
base_url = "https://api.openai.com/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
TOML
fi
if [ -n "$agents" ]; then
  # One orch-agent settings file per type (config/agents.sample.json
  # explains each key). The CLI gets only the variables named in env.
  for t in "${agent_types[@]}"; do
    pass=$(head -n1 "$creds/agent-$t.pass")
    case "${preset_of[$t]}" in
      claude) model=${ORCH_AGENT_MODEL:-}; cheap=${ORCH_AGENT_CHEAP_MODEL:-claude-haiku-4-5} ;;
      *) model=${ORCH_AGENT_MODEL:-}; cheap=${ORCH_AGENT_CHEAP_MODEL:-} ;;
    esac
    agent_timeout=${ORCH_AGENT_TIMEOUT_S:-900}
    if [ -n "$repo" ]; then # the settings' models, unless the environment names one
      model=${ORCH_AGENT_MODEL:-${S[agents.$t.model]:-}}
      cheap=${ORCH_AGENT_CHEAP_MODEL:-${S[agents.$t.cheap_model]:-}}
      agent_timeout=${ORCH_AGENT_TIMEOUT_S:-${S[agent_timeout_s]:-900}}
    fi
    review_prompt=
    if [ -n "$repo" ] && [ -n "${S[review.prompt_file]:-}" ]; then # the team's own review instructions
      case "${S[review.prompt_file]}" in *'"'*|*'\'*) echo "run.sh: review.prompt_file: no quotes or backslashes, please" >&2; exit 2 ;; esac
      review_prompt=", \"review_prompt_file\": \"${S[review.prompt_file]}\""
    fi
    (umask 077; cat > "$demo/agents/$t.json") <<JSON
{"nats": {"user": "agent-$t", "password": "$pass"},
 "agent": {"preset": "${preset_of[$t]}", "project": "$project", "projects_file": "$demo/projects.json",
  "workdir": "$demo/agents", "path": "$agent_path", "timeout_s": $agent_timeout,
  "heartbeat_ms": 2000, "model": "$model", "cheap_model": "$cheap"$review_prompt,
  "env": ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "CLAUDE_CODE_MAX_RETRIES",
          "OPENAI_API_KEY", "CODEX_HOME"]}}
JSON
  done
  listener_command="$bin/orch-agent,--type,{type},--instance,{instance},--config,$demo/agents/{type}.json"
  what="one orch-agent per type ($(for t in "${agent_types[@]}"; do printf '%s=%s ' "$t" "${preset_of[$t]}"; done))"
else
  listener_command="$bin/agent-sim,--type,{type},--instance,{instance},--config,$creds/agent-{type}.json,--repo,$demo/demo-repo,--workdir,$demo/agents,--work-ms,${ORCH_DEMO_WORK_MS:-1500}"
  what="one simulated agent per type"
fi
initial=database=1,backend=1,frontend=1,documentation=1,review=1,release=1
[ -z "$repo" ] || initial=$(repo_initial)
ORCH_SERVICE_INSTANCE=host-listener-1 \
ORCH_LISTENER_COMMAND="$listener_command" \
ORCH_LISTENER_INITIAL="${ORCH_DEMO_INITIAL:-$initial}" \
ORCH_LISTENER_MAX_PER_TYPE=3 ORCH_LISTENER_LOG_DIR="$demo/log/agents" \
  "$bin/orch-host-listener" --config "$creds/hostlistener.json" >"$demo/log/host-listener.log" 2>&1 &
pids+=($!)
names+=(host-listener)
echo "   started the Host Listener with $what"

for _ in $(seq 100); do
  n=$(ctl services --json 2>/dev/null | grep -c '"type"' || true)
  [ "$n" -ge 5 ] && break
  sleep 0.2
done
echo "== services:"
ctl services
echo "== live dashboard: http://127.0.0.1:$web_port/  (Prometheus: http://127.0.0.1:$web_port/metrics)"
sleep 1 # the scheduler and the monitor take their leases

if [ -n "$repo" ] && [ $repo_resume -eq 1 ]; then
  # Resuming: the statuses the suite kept are written back first, so only
  # what it has never seen (still Pending or New) goes in.
  echo "== resuming; new items of $demo/roadmap.md, if any, go in"
  ctl roadmap sync "$demo/roadmap.md" >/dev/null || true
  ctl roadmap import "$demo/roadmap.md" || echo "   (the items it knows already are refused: nothing is done twice)"
else
  echo "== importing $demo/roadmap.md"
  ctl roadmap import "$demo/roadmap.md"
fi
started=$(date +%s)

if [ $headless -eq 0 ]; then
  ctl dashboard --watch --until-done &
  watcher=$!
  trap 'kill $watcher 2>/dev/null; stop_all; exit 130' INT
  trap 'kill $watcher 2>/dev/null; stop_all; exit 143' TERM
else
  watcher=
fi
deadline=$((started + timeout))
while true; do
  line=$(ctl summary 2>/dev/null | head -1 || true)
  [ $headless -eq 1 ] && echo "   $(date +%T) $line"
  total=$(echo "$line" | sed -n 's/requirements: \([0-9]*\).*/\1/p')
  # done: COMPLETE + ESCALATED + REJECTED, by the scheduler's counts
  done_n=$(echo "$line" | sed -n 's/.*complete \([0-9]*\), escalated \([0-9]*\), rejected \([0-9]*\).*/\1 \2 \3/p')
  if [ -n "$total" ] && [ -n "$done_n" ]; then
    set -- $done_n
    [ $(( $1 + $2 + $3 )) -ge "$total" ] && [ "$total" -gt 0 ] && break
  fi
  if [ "$(date +%s)" -ge $deadline ]; then echo "run.sh: not done after ${timeout} s" >&2; break; fi
  sleep 3
done
[ -n "$watcher" ] && { wait "$watcher" 2>/dev/null || true; }
if [ -n "$repo" ]; then
  : # COMPLETE is merged by the merge train (or the release agent) already
elif [ -n "$agents" ]; then
  # Approved work is merged after its requirement is complete: wait until
  # every complete requirement is merged (a refused merge goes back to its
  # author and comes round again).
  want=$({ ctl summary --json 2>/dev/null || true; } | { grep -o '"status":[[:space:]]*"COMPLETE"' || true; } | wc -l)
  while [ "$(date +%s)" -lt $deadline ]; do
    got=$(cat "$demo"/log/agents/release-*.log 2>/dev/null | grep -cE 'REQ-[^ ]*: merged' || true)
    [ "$got" -ge "$want" ] && break
    sleep 1
  done
  echo "== main of the demo repository"
  git -C "$demo/demo-repo" log --oneline --first-parent -n 20 main
fi
elapsed=$(( $(date +%s) - started ))

echo
echo "== final dashboard"
ctl dashboard || true
ctl roadmap sync "$demo/roadmap.md" || true
ctl summary --json > "$demo/summary.json" || true
echo "== summary ($elapsed s)"
ctl summary || true
field() { sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\([0-9]*\).*/\1/p" "$demo/summary.json" | head -1; }
complete=$(field complete)
total=$(field total)
if [ -n "$complete" ] && [ "$elapsed" -gt 0 ]; then
  echo "throughput: $complete requirements in $elapsed s ($(( complete * 60 / elapsed )) per minute)"
fi
for i in "${!pids[@]}"; do
  if [ -r "/proc/${pids[$i]}/stat" ]; then
    awk -v n="${names[$i]}" -v hz="$(getconf CLK_TCK)" '{printf "cpu %-16s %.2f s\n", n, ($14 + $15) / hz}' "/proc/${pids[$i]}/stat"
  fi
done
echo "statuses written back to $demo/roadmap.md; full summary in $demo/summary.json"
if [ $headless -eq 1 ]; then
  [ -n "$total" ] && [ "$complete" = "$total" ] || exit 1
else
  echo "== Ctrl-C to stop (the suite keeps running for you to look around)"
  while true; do sleep 1; done
fi
