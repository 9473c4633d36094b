#!/usr/bin/env bash
# Runs the suite on this machine: a local nats-server with JetStream (data in
# var/ of the project), the four services, and shows them answering.
# Ctrl-C stops everything cleanly.
#
#   scripts/run.sh            run until Ctrl-C
#   scripts/run.sh --check    start, show, stop (exit 0 when all answered)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

check=0
case "${1:-}" in
  --check) check=1 ;;
  -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
  "") ;;
  *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

bash scripts/bootstrap.sh
echo "== building (release)"
cmake -S . -B build-run -DCMAKE_BUILD_TYPE=Release -DORCH_TESTS=OFF >/dev/null
cmake --build build-run -j"$(nproc)" >/dev/null

mkdir -p var/log var/nats
port=${ORCH_PORT:-4222}
if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
  echo "run.sh: port $port is taken; set ORCH_PORT to another" >&2
  exit 1
fi
export ORCH_NATS_URL="nats://127.0.0.1:$port"

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "== stopping"
  # Services first (they finish and ack what they hold), the server last.
  for ((i=${#pids[@]}-1; i>=1; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for ((i=${#pids[@]}-1; i>=1; i--)); do wait "${pids[$i]}" 2>/dev/null || true; done
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[0]}" 2>/dev/null && wait "${pids[0]}" 2>/dev/null || true
  echo "== stopped; logs in var/log/"
}
trap stop_all INT TERM EXIT

cat > var/nats.conf <<CONF
listen: 127.0.0.1:$port
server_name: orch_local
jetstream { store_dir: "$root/var/nats" }
CONF
nats-server -c var/nats.conf >var/log/nats-server.log 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  sleep 0.1
done
echo "== nats-server on $ORCH_NATS_URL (JetStream store var/nats)"

for svc in router scheduler verifier monitor; do
  ORCH_SERVICE_INSTANCE="$svc-1" build-run/orch-$svc >var/log/$svc.log 2>&1 &
  pids+=($!)
  echo "   started orch-$svc (log var/log/$svc.log)"
done

# Wait until all four answer $SRV.INFO.
for _ in $(seq 50); do
  n=$(build-run/orchctl services --json 2>/dev/null | grep -c '"type"' || true)
  [ "$n" -ge 4 ] && break
  sleep 0.2
done
echo "== services answering \$SRV.INFO:"
build-run/orchctl services

if [ $check -eq 1 ]; then
  n=$(build-run/orchctl services --json | grep -c '"type"')
  [ "$n" -ge 4 ] || { echo "run.sh: only $n of 4 services answered" >&2; exit 1; }
  exit 0
fi
echo "== running; Ctrl-C to stop"
while true; do sleep 1; done
