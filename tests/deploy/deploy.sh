#!/usr/bin/env bash
# The deployment, for real: deploy/compose.yaml on a Docker engine of this
# machine, scaled (three routers, two verifiers, two schedulers, two
# monitors), with the demo profile's agents and the matrix profile's
# Synapse. The demo roadmap (examples/roadmap.md, as scripts/run.sh runs it)
# goes through the containers to completion while a router, a verifier and
# the scheduler leader are killed with `docker kill` mid-run and started
# again. Then:
#   - the chaos checker (deploy-judge) finds every requirement COMPLETE,
#     none lost or duplicated, and the ledger equal to the agents' reports;
#   - nats-server ran with deploy/nats.conf's users (random passwords) and
#     logged no permission violation;
#   - the Matrix room holds each alert of the ALERTS stream exactly once.
#
# Docker: the engine running, or dockerd started here (and stopped at the
# end, with its iptables chains and bridges removed). Images: debian:bookworm
# and debian:sid pulled, or, where no registry answers, made with debootstrap
# from apt's mirror and imported (tarballs cached in ORCH_DEPLOY_CACHE); then
# deploy/Dockerfile and deploy/synapse/Dockerfile built. Bounded by
# ORCH_DEPLOY_TIMEOUT_S (900); everything it started goes on any exit.
#
# Environment: ORCH_BIN_DIR (build dir: orchctl), DEPLOY_JUDGE (the judge),
# ORCH_SOURCE_DIR, ORCH_DEPLOY_CONTEXT (what the image is built from: the
# source dir), ORCH_DEPLOY_CACHE (ORCH_BIN_DIR/deploy-cache), ORCH_TEST_KEEP=1
# keeps the work directory and the containers' logs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=${ORCH_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
bin=${ORCH_BIN_DIR:?set ORCH_BIN_DIR to the build directory}
judge=${DEPLOY_JUDGE:-$bin/tests/deploy-judge}
context=${ORCH_DEPLOY_CONTEXT:-$src}
cache=${ORCH_DEPLOY_CACHE:-$bin/deploy-cache}
limit=${ORCH_DEPLOY_TIMEOUT_S:-900}
. "$here/lib.sh"

# Debian's client and compose v1 (a newer client earlier on PATH may lack
# the compose plugin).
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)
project=orchdeploy
compose=(docker-compose -p "$project" -f "$src/deploy/compose.yaml" -f "$here/compose.test.yaml"
         --profile demo --profile matrix)
work=$(mktemp -d /tmp/orch-deploy.XXXXXX)
mkdir -p "$cache"
say() { echo "deploy: $*"; }
fail() { echo "deploy: FAIL: $*" >&2; exit 1; }

# --- cleaning up, whatever happens --------------------------------------------

started_dockerd=
dockerd_pid=
watchdog=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$watchdog" ]; then # the watchdog first, then its sleep, which holds our output open
    sleeper=$(pgrep -P "$watchdog" || true)
    kill "$watchdog" 2>/dev/null || true
    [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true
  fi
  if "$DOCKER" info >/dev/null 2>&1; then
    if [ $rc -ne 0 ] || [ -n "${ORCH_TEST_KEEP:-}" ]; then
      timeout 60 "${compose[@]}" logs --no-color >"$work/compose.log" 2>&1 || true
      say "the containers' logs: $work/compose.log"
    fi
    timeout 120 "${compose[@]}" down -v --remove-orphans -t 5 >"$work/down.log" 2>&1 ||
      echo "deploy: compose down failed (see $work/down.log)" >&2
  fi
  if [ -n "$started_dockerd" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$dockerd_pid" 2>/dev/null || true
    # what the engine leaves behind: its iptables chains and rules, bridges
    for t in filter nat; do
      iptables -t "$t" -S 2>/dev/null | grep -E '^-A .*(DOCKER|docker0|br-[0-9a-f]{12})' | sed 's/^-A /-D /' |
        while read -r rule; do eval "iptables -t $t $rule" 2>/dev/null || true; done
      for c in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER; do
        iptables -t "$t" -F "$c" 2>/dev/null && iptables -t "$t" -X "$c" 2>/dev/null || true
      done
    done
    for link in $(ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^(docker0|br-[0-9a-f]{12})$'); do
      ip link del "$link" 2>/dev/null || true
    done
    say "stopped the dockerd it started and removed its network state"
  fi
  if [ $rc -eq 0 ] && [ -z "${ORCH_TEST_KEEP:-}" ]; then rm -rf "$work"; else say "kept $work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# Bounded: past the limit, whatever runs is stopped and the cleanup runs.
( sleep "$limit"; echo "deploy: FAIL: not done after $limit s" >&2; pkill -TERM -P $$; kill -TERM $$ ) 2>/dev/null &
watchdog=$!

# --- the engine ------------------------------------------------------------------

t0=$(now_s)
if ! "$DOCKER" info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || fail "no Docker engine and no dockerd (scripts/bootstrap.sh --test installs docker.io)"
  setsid -f dockerd -p /var/run/docker-orchdeploy.pid >"$work/dockerd.log" 2>&1
  for _ in $(seq 150); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.2; done
  dockerd_pid=$(cat /var/run/docker-orchdeploy.pid 2>/dev/null || true)
  [ -n "$dockerd_pid" ] && started_dockerd=1
  "$DOCKER" info >/dev/null 2>&1 || fail "dockerd did not start (see $work/dockerd.log)"
  say "started dockerd (pid $dockerd_pid) in $(took "$t0") s"
fi
# leftovers of an interrupted run
"${compose[@]}" down -v --remove-orphans -t 1 >/dev/null 2>&1 || true

# --- base images -----------------------------------------------------------------

base_image() { # suite
  local t tar
  "$DOCKER" image inspect "debian:$1" >/dev/null 2>&1 && return 0
  t=$(now_s)
  if timeout 30 "$DOCKER" pull -q "debian:$1" >/dev/null 2>&1; then
    say "pulled debian:$1 in $(took "$t") s"
    return 0
  fi
  tar=$(rootfs_tar "$1" "$cache") || fail "cannot make a $1 base system"
  "$DOCKER" import - "debian:$1" <"$tar" >/dev/null || fail "docker import of $tar failed"
  say "base image debian:$1 from debootstrap ($tar) in $(took "$t") s"
}
t0=$(now_s)
base_image bookworm
base_image sid
if ! "$DOCKER" image inspect debian:bookworm-slim >/dev/null 2>&1 &&
   ! timeout 30 "$DOCKER" pull -q debian:bookworm-slim >/dev/null 2>&1; then
  "$DOCKER" tag debian:bookworm debian:bookworm-slim # minbase is as slim
fi
say "phase base images: $(took "$t0") s"

# --- images ----------------------------------------------------------------------

t0=$(now_s)
build() { # log tag args...
  local log=$1; shift
  "$DOCKER" build "$@" >"$work/$log" 2>&1 || { tail -30 "$work/$log" >&2; fail "docker build $* failed"; }
}
build build-nats.log -f "$context/deploy/Dockerfile" --target nats -t orchestrator-nats:latest "$context"
build build-suite.log -f "$context/deploy/Dockerfile" -t orchestrator:latest "$context"
build build-synapse.log --build-arg APT_CHECK_VALID_UNTIL=false -t orchestrator-synapse:latest "$context/deploy/synapse"
say "phase image build: $(took "$t0") s"

# --- the deployment ----------------------------------------------------------------

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
  done
}
secret() { echo "pw$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"; } # nats-server reads a value that starts with a digit as a number
export ORCH_NATS_PORT ORCH_NATS_MONITOR_PORT ORCH_MATRIX_PORT
ORCH_NATS_PORT=$(free_port) ORCH_NATS_MONITOR_PORT=$(free_port) ORCH_MATRIX_PORT=$(free_port)
for v in ROUTER SCHEDULER VERIFIER MONITOR HOSTLISTENER OPERATOR ADMIN; do export "${v}_PASS=$(secret)"; done
for t in BACKEND FRONTEND DATABASE DOCUMENTATION REVIEW RELEASE; do export "AGENT_${t}_PASS=$(secret)"; done
export SYNAPSE_RC_MESSAGE_PER_SECOND=5 SYNAPSE_RC_MESSAGE_BURST=50

# The demo project as a git repository the agents push to and the verifiers
# clone, owned by the image's user.
orch_uid=$("$DOCKER" run --rm orchestrator:latest id -u)
mkdir -p "$work/repos"
git init -q -b main "$work/repos/demo"
cp -r "$src/examples/demo-project/." "$work/repos/demo/"
git -C "$work/repos/demo" add -A
git -C "$work/repos/demo" -c user.email=demo@orchestrator.local -c user.name=demo commit -q -m "demo project"
# the release agents push their merges to main, which is checked out
git -C "$work/repos/demo" config receive.denyCurrentBranch updateInstead
chown -R "$orch_uid" "$work/repos"
cat >"$work/projects.json" <<'JSON'
{"projects": {"demo": {"repo": "/srv/git/demo", "base": "main", "steps": [
  {"name": "build", "command": ["make"], "timeout_s": 120},
  {"name": "test", "command": ["make", "test"], "timeout_s": 120}]}}}
JSON
chmod 644 "$work/projects.json"
export ORCH_REPOS="$work/repos" ORCH_PROJECTS_FILE="$work/projects.json"

# Synapse first: the monitor needs its user's token and the room.
t0=$(now_s)
"${compose[@]}" up -d --no-build matrix >"$work/up-matrix.log" 2>&1 || { cat "$work/up-matrix.log" >&2; fail "compose up matrix"; }
hs="http://127.0.0.1:$ORCH_MATRIX_PORT"
for _ in $(seq 300); do curl -sf "$hs/_matrix/client/versions" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$hs/_matrix/client/versions" >/dev/null || fail "Synapse does not answer on $hs"
say "phase synapse start: $(took "$t0") s"
token=$("${compose[@]}" exec -T matrix register-user monitor "$(secret)") || fail "cannot register the monitor's Matrix user"
room=$(curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"orchestrator alerts","preset":"private_chat"}' "$hs/_matrix/client/v3/createRoom" | jq -r .room_id)
[ -n "$room" ] && [ "$room" != null ] || fail "cannot create the alerts room"
export ORCH_MATRIX_HOMESERVER=http://matrix:8008 ORCH_MATRIX_ROOM="$room" ORCH_MATRIX_TOKEN="$token"

t0=$(now_s)
"${compose[@]}" up -d --no-build --scale router=3 --scale verifier=2 --scale scheduler=2 --scale monitor=2 \
  >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "compose up"; }
say "phase compose up: $(took "$t0") s"

export ORCH_NATS_URL="nats://127.0.0.1:$ORCH_NATS_PORT" ORCH_NATS_USER=operator ORCH_NATS_PASSWORD="$OPERATOR_PASS"
want="orch-router=3 orch-verifier=2 orch-scheduler=2 orch-monitor=2"
ready=
for _ in $(seq 150); do
  json=$("$bin/orchctl" services --json 2>/dev/null || true)
  ready=1
  for w in $want; do
    n=$(echo "$json" | jq -r --arg s "${w%=*}" '[.. | objects | select(.name? == $s)] | length' 2>/dev/null || echo 0)
    [ "${n:-0}" -ge "${w#*=}" ] || ready=
  done
  [ -n "$ready" ] && break
  sleep 0.2
done
"$bin/orchctl" services || true
[ -n "$ready" ] || fail "not every instance answers (want $want)"
say "every instance answers $(took "$t0") s after compose up"
for _ in $(seq 50); do "$judge" leader scheduler >/dev/null 2>&1 && break; sleep 0.2; done

# --- the demo, with kills ------------------------------------------------------------

cp "$src/examples/roadmap.md" "$work/roadmap.md"
ids=$(awk '/^### /{id=$2; sub(":", "", id)} /^- Status: (Pending|New)/{print id}' "$work/roadmap.md")
"$bin/orchctl" roadmap import "$work/roadmap.md"
t0=$(now_s)
container_of() { # instance (<hostname>-<pid>): the container whose hostname it starts with
  local c
  for c in $("${compose[@]}" ps -q); do
    case "$1" in "$("$DOCKER" inspect -f '{{.Config.Hostname}}' "$c")"-*) echo "$c"; return 0 ;; esac
  done
  return 1
}
killed=
demo_deadline=$(( $(date +%s) + ${ORCH_DEPLOY_DEMO_TIMEOUT_S:-300} ))
counts() { # complete escalated total, from the summary's first line
  "$bin/orchctl" summary 2>/dev/null | head -1 |
    sed -n 's/requirements: \([0-9]*\).*complete \([0-9]*\), escalated \([0-9]*\).*/\2 \3 \1/p'
}
while :; do
  read -r complete escalated total <<<"$(counts)" || true
  if [ -z "$killed" ] && [ "${complete:-0}" -ge 3 ]; then
    leader=$("$judge" leader scheduler) || fail "no scheduler holds the lease"
    leader_c=$(container_of "$leader") || fail "no container for the scheduler leader $leader"
    victims=("$("${compose[@]}" ps -q router | head -1)" "$("${compose[@]}" ps -q verifier | head -1)" "$leader_c")
    "$DOCKER" kill "${victims[@]}" >/dev/null
    say "killed a router, a verifier and the scheduler leader ($leader) with $complete of ${total:-?} complete"
    sleep 1
    "$DOCKER" start "${victims[@]}" >/dev/null
    killed=1
  fi
  [ -n "$total" ] && [ "$total" -gt 0 ] && [ $((complete + escalated)) -ge "$total" ] && break
  [ "$(date +%s)" -lt "$demo_deadline" ] || { finished=no; break; }
  sleep 2
done
say "phase demo run: $(took "$t0") s (${complete:-0} complete, ${escalated:-0} escalated of ${total:-?})"

# --- judging -----------------------------------------------------------------------

# First what nats-server refused: it explains a run that did not finish.
"${compose[@]}" logs --no-color nats >"$work/nats.log" 2>&1
# (the server logs "Publish Violation" and "Subscription Violation"; the
# client is told "Permissions Violation")
violation='(Permissions|Publish|Subscription) Violation'
violations=$(grep -ciE "$violation" "$work/nats.log" || true)
if [ "$violations" -gt 0 ]; then
  grep -iE "$violation" "$work/nats.log" | head -20 >&2 || true
  fail "nats-server logged $violations permission violations (the first above; all in $work/nats.log)"
fi
if [ -n "${finished:-}" ]; then
  "$bin/orchctl" dashboard >&2 || true
  fail "the demo did not finish within ${ORCH_DEPLOY_DEMO_TIMEOUT_S:-300} s (the dashboard above)"
fi
[ -n "$killed" ] || fail "the run ended before the kills"
sleep 3 # the last acknowledgements and KV writes
# shellcheck disable=SC2086
"$judge" check $ids || fail "the checker found work lost, duplicated or unfinished"

# Every alert once in the room: the monitors' Matrix consumer has delivered
# everything, and the room holds as many messages from the monitor's user
# as the ALERTS stream holds alerts.
jsz() { curl -sf "http://127.0.0.1:$ORCH_NATS_MONITOR_PORT/jsz?accounts=true&streams=true&consumers=true"; }
for _ in $(seq 60); do
  left=$(jsz | jq '[.. | objects | select(.name? == "monitor-matrix") | .num_pending + .num_ack_pending] | add // 1')
  [ "$left" = 0 ] && break
  sleep 1
done
[ "$left" = 0 ] || fail "alerts still waiting for Matrix delivery after 60 s"
alerts=$(jsz | jq '[.. | objects | select(.name? == "ALERTS" and .state? != null) | .state.messages] | add // 0')
enc_room=$(jq -rn --arg r "$room" '$r | @uri')
curl -sf -H "Authorization: Bearer $token" \
  "$hs/_matrix/client/v3/rooms/$enc_room/messages?dir=b&limit=1000" >"$work/room.json" || fail "cannot read the room"
in_room=$(jq '[.chunk[] | select(.type == "m.room.message" and (.sender | startswith("@monitor:")))] | length' "$work/room.json")
distinct=$(jq '[.chunk[] | select(.type == "m.room.message" and (.sender | startswith("@monitor:"))) | .content.body] | unique | length' "$work/room.json")
say "alerts: $alerts in the ALERTS stream, $in_room messages in the room ($distinct distinct)"
[ "$alerts" -ge 1 ] || fail "the demo raised no alert (its stuck agent should)"
[ "$in_room" = "$alerts" ] || fail "the room holds $in_room alert messages, the stream $alerts"
say "PASS"
