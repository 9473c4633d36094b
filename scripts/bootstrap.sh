#!/usr/bin/env bash
# Installs what the suite needs on Debian 12, quietly, and only what is
# missing: running it twice installs nothing the second time.
#   scripts/bootstrap.sh          what building and running need
#   scripts/bootstrap.sh --test   and what the tests need too
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates make
  nats-server libnats-dev
  libprotobuf-c-dev protobuf-c-compiler
  libcjson-dev libcurl4-openssl-dev
  libmicrohttpd-dev            # the monitor's web endpoint
  libcmocka-dev
)
if [ "${1:-}" = "--test" ]; then
  packages+=(docker.io docker-compose iptables)  # tests/deploy: the engine, compose v1
  packages+=(debootstrap)      # base images where no registry answers; Synapse's chroot
  packages+=(curl jq)          # the tests read Matrix rooms and the server's monitoring
  packages+=(clang)            # libFuzzer targets (scripts/fuzz.sh)
  packages+=(prometheus chromium)  # promtool checks /metrics; the page in a real browser
fi
# The real coding-agent CLIs the agents test runs (var/npm, pinned).
if [ "${1:-}" = "--test" ]; then bash "$(dirname "$0")/install-agent-clis.sh"; fi
# puppeteer-core for the web test (var/npm-web, pinned; drives Debian's chromium).
if [ "${1:-}" = "--test" ]; then bash "$(dirname "$0")/install-web-test.sh"; fi
# The official MCP SDK, whose client drives orch-mcp in test_mcp (var/npm-mcp,
# pinned; node and npm came with the agent CLIs above).
MCP_SDK_VERSION=1.32.2
mcp_dir="$(cd "$(dirname "$0")/.." && pwd)/var/npm-mcp"
if [ "${1:-}" = "--test" ] && ! node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
     "$mcp_dir/node_modules/@modelcontextprotocol/sdk/package.json" "$MCP_SDK_VERSION" 2>/dev/null; then
  mkdir -p "$mcp_dir"
  [ -f "$mcp_dir/package.json" ] || echo '{"name":"orch-mcp-test","private":true}' > "$mcp_dir/package.json"
  echo "bootstrap: @modelcontextprotocol/sdk $MCP_SDK_VERSION into $mcp_dir"
  (cd "$mcp_dir" && npm install --no-audit --no-fund --silent "@modelcontextprotocol/sdk@$MCP_SDK_VERSION" >/dev/null)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "bootstrap: missing packages (${missing[*]}) and not root; install them or run as root" >&2
    exit 1
  fi
else
  SUDO=
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bootstrap: done"
