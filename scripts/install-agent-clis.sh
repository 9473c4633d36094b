#!/usr/bin/env bash
# Installs the real coding-agent CLIs the agents test runs (Claude Code and
# Codex), at pinned versions, into var/npm under the project by default
# (not globally; var/ is ignored by git), or into a directory of your
# choice. node and npm come from Debian. Running it twice installs nothing
# the second time.
#   scripts/install-agent-clis.sh [DEST]        install into DEST (var/npm;
#                                               called by bootstrap.sh --test)
#   scripts/install-agent-clis.sh --bin [DEST]  print the directory holding the
#                                               CLIs (DEST/node_modules/.bin):
#                                               what run.sh's ORCH_AGENT_CLI_DIR
#                                               wants for another DEST
# The tests never let the CLIs reach anything but a scripted model server on
# loopback (tests/support/modelfake.js).
set -euo pipefail

CLAUDE_CODE_VERSION=2.1.332
CODEX_VERSION=0.171.0

root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$root/var/npm"
bin_only=0
if [ "${1:-}" = "--bin" ]; then bin_only=1; shift; fi
case "${1:-}" in
  -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;;
  -*) echo "install-agent-clis: unknown option '$1' (try --help)" >&2; exit 2 ;;
  /*) prefix=${1%/} ;;
  ?*) prefix="$(pwd)/$1" ;;
esac

if [ $bin_only -eq 1 ]; then
  echo "$prefix/node_modules/.bin"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "install-agent-clis: installing nodejs npm"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

have() { # package version
  local f="$prefix/node_modules/$1/package.json"
  [ -f "$f" ] && node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' "$f" "$2"
}

if have @anthropic-ai/claude-code "$CLAUDE_CODE_VERSION" && have @openai/codex "$CODEX_VERSION" &&
   [ -x "$prefix/node_modules/.bin/claude" ] && [ -x "$prefix/node_modules/.bin/codex" ]; then
  exit 0
fi

mkdir -p "$prefix"
[ -f "$prefix/package.json" ] || echo '{"name":"orch-agent-clis","private":true}' >"$prefix/package.json"
echo "install-agent-clis: installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION @openai/codex@$CODEX_VERSION into $prefix"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error --save-exact \
  "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" "@openai/codex@$CODEX_VERSION" >/dev/null
"$prefix/node_modules/.bin/claude" --version
"$prefix/node_modules/.bin/codex" --version
echo "install-agent-clis: done"
