#!/usr/bin/env bash
# synapse.sh CACHE: prints the path of a Debian sid chroot holding Debian's
# matrix-synapse package and deploy/synapse's start.sh (as synapse-start)
# and register-user, for tests/matrix/test_matrix_real.c. Made once in
# CACHE (about 40 s of debootstrap, shared with tests/deploy, and 50 s of
# apt-get); later calls only refresh the two scripts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$src/tests/deploy/lib.sh"
cache=${1:?usage: synapse.sh CACHE}
root="$cache/synapse-chroot"
mkdir -p "$cache"
(
  flock 9
  if [ ! -f "$root/.ready" ]; then
    tar=$(rootfs_tar sid "$cache")
    rm -rf "$root"
    mkdir -p "$root"
    tar -C "$root" -xf "$tar"
    # the mirror may serve a snapshot whose sid Release file has expired
    echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/90check-valid-until"
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod +x "$root/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    if ! chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
           --no-install-recommends matrix-synapse' >"$cache/synapse-install.log" 2>&1; then
      echo "synapse.sh: installing matrix-synapse failed (see $cache/synapse-install.log)" >&2
      exit 1
    fi
    rm -rf "$root/var/lib/apt/lists/"*
    touch "$root/.ready"
  fi
  install -m 755 "$src/deploy/synapse/start.sh" "$root/usr/local/bin/synapse-start"
  install -m 755 "$src/deploy/synapse/register-user" "$root/usr/local/bin/register-user"
) 9>"$cache/synapse-chroot.lock"
echo "$root"
