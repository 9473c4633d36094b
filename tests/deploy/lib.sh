# Shell functions shared by tests/deploy/deploy.sh and tests/matrix/synapse.sh
# (sourced). Base systems come from the Debian mirror this machine's apt
# uses, with debootstrap; each is made once and kept as a tarball in a cache
# directory.

# The first Debian archive URI of apt's sources (not the security archive).
deb_mirror() {
  {
    sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null
    sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
  } | tr ' ' '\n' | grep -v -e security -e '^$' | head -1
}

# rootfs_tar SUITE CACHE: prints the path of a minbase tarball of SUITE,
# made with debootstrap (about 40 s) when CACHE has none.
rootfs_tar() {
  local suite=$1 cache=$2 tar="$2/$1-minbase.tar" dir mirror
  mkdir -p "$cache"
  (
    flock 9
    [ -s "$tar" ] && exit 0
    mirror=$(deb_mirror)
    [ -n "$mirror" ] || { echo "no Debian mirror in /etc/apt/sources.list*" >&2; exit 1; }
    dir=$(mktemp -d "$cache/$suite-root.XXXXXX")
    if ! debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$cache/$suite-debootstrap.log" 2>&1; then
      echo "debootstrap $suite failed (see $cache/$suite-debootstrap.log)" >&2
      rm -rf "$dir"
      exit 1
    fi
    tar -C "$dir" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$dir"
  ) 9>"$cache/$suite.lock" || return 1
  echo "$tar"
}

# now_s: seconds since the epoch with a fraction; took T0: seconds since T0.
now_s() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }
