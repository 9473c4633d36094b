#!/usr/bin/env bash
# The suite's NATS identities (deploy/nats.conf): one password per service,
# per agent type, for people (operator) and for repairs (admin), made at the
# first start and kept. Prints no secret.
#
#   scripts/creds.sh [DIR]     DIR: var/creds by default
#
# In DIR (mode 0700; every file 0600):
#   <identity>.pass   the password, made once from /dev/urandom
#   <identity>.json   {"nats": {"user": ..., "password": ...}}: a --config
#                     file for that identity's daemon or agent
#   server.env        ROUTER_PASS=... for every identity: the variables
#                     deploy/nats.conf reads (nats-server's environment,
#                     or docker-compose --env-file)
#   operator.env      ORCH_NATS_USER/ORCH_NATS_PASSWORD for orchctl
# Files other than the .pass files are written again from them on every run.
# Remove a .pass file (and restart) to give that identity a new password.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-var/creds}
identities=(router scheduler verifier monitor hostlistener operator admin
            agent-backend agent-frontend agent-database agent-documentation agent-review agent-release)

umask 077
mkdir -p "$dir"
chmod 700 "$dir"
made=0
for id in "${identities[@]}"; do
  if [ ! -s "$dir/$id.pass" ]; then
    # 32 characters of [A-Za-z0-9], nothing a config file or JSON must
    # escape; the first a letter (nats-server reads a variable that starts
    # with a digit as a number, and does not start)
    pass=$(LC_ALL=C tr -dc 'A-Za-z' </dev/urandom | head -c 1 || true)
    pass+=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 31 || true)
    [ ${#pass} -eq 32 ] || { echo "creds.sh: cannot read /dev/urandom" >&2; exit 1; }
    printf '%s\n' "$pass" >"$dir/$id.pass"
    made=$((made + 1))
  fi
done

# The variable deploy/nats.conf names for an identity: agent-backend ->
# AGENT_BACKEND_PASS, hostlistener -> HOSTLISTENER_PASS.
var_of() { local v=${1//-/_}; printf '%s_PASS' "${v^^}"; }

: >"$dir/server.env.new"
for id in "${identities[@]}"; do
  pass=$(head -n1 "$dir/$id.pass")
  printf '%s=%s\n' "$(var_of "$id")" "$pass" >>"$dir/server.env.new"
  printf '{"nats": {"user": "%s", "password": "%s"}}\n' "$id" "$pass" >"$dir/$id.json.new"
  mv "$dir/$id.json.new" "$dir/$id.json"
done
mv "$dir/server.env.new" "$dir/server.env"
printf 'ORCH_NATS_USER=operator\nORCH_NATS_PASSWORD=%s\n' "$(head -n1 "$dir/operator.pass")" >"$dir/operator.env"
chmod 600 "$dir"/*
if [ $made -gt 0 ]; then
  echo "creds.sh: $made new identities in $dir (mode 0600)"
fi
