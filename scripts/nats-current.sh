#!/usr/bin/env bash
# Fetches a current nats-server release from Debian's newer suites and
# unpacks it under var/nats/<version>/, beside (not over) the system's
# nats-server: Debian 12 ships 2.9.10, operators run current releases, and
# only those accept `sync_interval: always`. Prints the directory holding
# the binary; put it first on PATH to run the tests against that server.
#
#   scripts/nats-current.sh [SUITE]    SUITE: sid (default, newest) or trixie
#
# Uses a scratch apt configuration (its own sources list, lists and cache
# under var/apt/), so the system's package state is not touched. Running it
# again reuses what it fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-sid}
root=$PWD/var
apt_dir=$root/apt/$suite

# The system's own Debian mirror, as apt is configured here.
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
         | grep -oE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' | grep -oE 'https?://[^ ]+' | head -1 || true)
[ -n "$mirror" ] || { echo "nats-current: no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }

mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/dl"
echo "deb $mirror $suite main" >"$apt_dir/sources.list"
opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
      -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root)

# A list fetched today is reused; an older one is refreshed.
if [ -z "$(find "$apt_dir/lists" -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  apt-get "${opts[@]}" -qq update >/dev/null
fi
version=$(apt-cache "${opts[@]}" show nats-server 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -1)
[ -n "$version" ] || { echo "nats-current: no nats-server in $suite" >&2; exit 1; }
dest=$root/nats/$version
if [ ! -x "$dest/usr/sbin/nats-server" ]; then
  (cd "$apt_dir/dl" && apt-get "${opts[@]}" -qq download "nats-server=$version" >/dev/null)
  mkdir -p "$dest"
  dpkg-deb -x "$apt_dir/dl/nats-server_${version/:/%3a}_"*.deb "$dest"
fi
"$dest/usr/sbin/nats-server" --version >/dev/null
echo "$dest/usr/sbin"
