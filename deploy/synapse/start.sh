#!/bin/sh
# Starts Synapse with the config in $SYNAPSE_DATA (/data), writing it first
# when there is none (server name SYNAPSE_SERVER_NAME, keys, a registration
# shared secret), then setting what this deployment needs on every start:
# one plain HTTP client listener on SYNAPSE_BIND:SYNAPSE_PORT (0.0.0.0:8008),
# no federation key servers (nothing is fetched from outside), the message
# rate limit (SYNAPSE_RC_MESSAGE_PER_SECOND, SYNAPSE_RC_MESSAGE_BURST) and
# logging to stderr. tests/matrix/synapse.sh runs the same script in a
# chroot.
set -eu
data=${SYNAPSE_DATA:-/data}
if [ ! -f "$data/homeserver.yaml" ]; then
  python3 -m synapse.app.homeserver --server-name "${SYNAPSE_SERVER_NAME:-orchestrator.local}" \
    --config-path "$data/homeserver.yaml" --data-directory "$data" \
    --generate-config --report-stats=no >/dev/null
fi
python3 - "$data/homeserver.yaml" <<'PY'
import os, sys, yaml
path = sys.argv[1]
with open(path) as f:
    c = yaml.safe_load(f)
c["listeners"] = [{
    "port": int(os.environ.get("SYNAPSE_PORT", "8008")),
    "bind_addresses": [os.environ.get("SYNAPSE_BIND", "0.0.0.0")],
    "type": "http", "tls": False, "x_forwarded": False,
    "resources": [{"names": ["client"], "compress": False}],
}]
c["trusted_key_servers"] = []
c["suppress_key_server_warning"] = True
c["rc_message"] = {
    "per_second": float(os.environ.get("SYNAPSE_RC_MESSAGE_PER_SECOND", "0.2")),
    "burst_count": int(os.environ.get("SYNAPSE_RC_MESSAGE_BURST", "10")),
}
c.pop("log_config", None)  # stderr
with open(path, "w") as f:
    yaml.safe_dump(c, f)
PY
exec python3 -m synapse.app.homeserver -c "$data/homeserver.yaml"
