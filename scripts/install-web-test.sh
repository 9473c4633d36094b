#!/usr/bin/env bash
# Installs puppeteer-core, which drives Debian's chromium in the web
# dashboard's browser test, at a pinned version into var/npm-web under the
# project (not globally; var/ is ignored by git). It never downloads a
# browser: puppeteer-core has none, and PUPPETEER_SKIP_DOWNLOAD says so again.
# 23.x is the last line that runs on Debian's node 20 (24+ want node 22).
# Running it twice installs nothing the second time.
#   scripts/install-web-test.sh          install (called by bootstrap.sh --test)
#   scripts/install-web-test.sh --dir    print the node_modules directory
set -euo pipefail

PUPPETEER_CORE_VERSION=23.11.1

root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$root/var/npm-web"

if [ "${1:-}" = "--dir" ]; then
  echo "$prefix/node_modules"
  exit 0
fi

f="$prefix/node_modules/puppeteer-core/package.json"
if [ -f "$f" ] && node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
     "$f" "$PUPPETEER_CORE_VERSION"; then
  exit 0
fi
mkdir -p "$prefix"
[ -f "$prefix/package.json" ] || echo '{"name":"orch-web-test","private":true}' > "$prefix/package.json"
echo "install-web-test: puppeteer-core $PUPPETEER_CORE_VERSION into $prefix"
(cd "$prefix" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --silent \
   "puppeteer-core@$PUPPETEER_CORE_VERSION" >/dev/null)
