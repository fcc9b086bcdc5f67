#!/usr/bin/env bash
# Checks scripts/provision.sh on a fresh Debian 13, as root (not part of `npm test`; run it before
# submitting changes to provisioning):
#   sudo npm run test:provision
# 1. A minimal Debian 13 root (debootstrap --variant=minbase trixie) with a vagrant user, as Vagrant
#    boxes have. Built once and cached as a tarball; each run unpacks a fresh copy in /var/tmp.
# 2. scripts/provision.sh inside it, in a privileged container made by nsx itself
#    (nsx run --privileged --network host), with this checkout bound read-only at /vagrant as Vagrant
#    syncs it. There is no systemd in there: the registry's and the engine's services are skipped
#    (nsxd.service is written, not started), with a message.
# 3. nsx doctor there, the lessons' list, a container, Docker's CLI (docker-cli) asking nsxd through
#    the docker context provision.sh made, and dockerinaction/hello_world pulled from the VM's
#    registry, in a chroot with the host's /proc, /sys and /dev (a container hides the cgroups),
#    with no network.
# 4. provision.sh again, with no network: it must say "nothing to do", and no file (type, mode,
#    owner, size, mtime) nor package may have changed.
# Downloads: Debian 13's packages and the npm dependencies, both cached. Environment:
#   NSX_PROVISION_CACHE   the cache (default /var/cache/nsx-provision-test; delete it to start over)
#   NSX_DEBIAN_MIRROR     default http://deb.debian.org/debian
#   NSX_PROVISION_KEEP=1  keep the root afterwards (its path is printed) to look around
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
self=$repo/scripts/$(basename "$0")
cache=${NSX_PROVISION_CACHE:-/var/cache/nsx-provision-test}
mirror=${NSX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
base=$cache/debian-13-minbase-$arch.tar

say() { printf 'test:provision: %s\n' "$*"; }
die() { printf 'test:provision: FAIL: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f s", b - a }'; }

# In the container: the environment the Vagrantfile gives provision.sh.
nsx_run() {
  local network=$1
  shift
  node "$repo/bin/nsx.cjs" run --privileged --network "$network" --rootfs "$root" \
    -e NSX_SRC=/vagrant -e NSX_USER=vagrant -e LANG=C.UTF-8 "${extra_ca[@]}" -- "$@"
}

# Every file in the root but the mount points' contents: type, mode, owner, size, mtime, path.
manifest() {
  find "$root" \( -path "$root/vagrant" -o -path "$root/proc" -o -path "$root/sys" -o -path "$root/dev" \
    -o -path "$root/tmp" -o -path "$root/run" -o -path "$root/var/cache/apt/archives" \
    -o -path "$root/home/vagrant/.npm" \) -prune -o -printf '%y %m %U:%G %s %T@ %P\n' | LC_ALL=C sort
}

chroot_checks() {
  # In a mount namespace of its own, inside inner's: these mounts go when it ends.
  root=$1
  local out
  # nsx doctor as on a booted machine: in a chroot with the host's /proc, /sys (and so its cgroups)
  # and /dev, which a container hides; the root bound onto itself so that / is a mount point, as on
  # a booted machine; a network namespace of its own: no network. Then the lessons' list and a real
  # container from the sandbox rootfs (as root: a chrooted process may not create user namespaces).
  say "nsx doctor, nsx lesson --list, nsx run (chroot with the host's /proc, /sys, /dev; no network)"
  mount --rbind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  in_root() { unshare --net chroot "$root" "$@"; }
  in_root /usr/local/bin/nsx doctor || die "nsx doctor failed in the provisioned root (above)"
  in_root /usr/local/bin/nsx lesson --list || die "nsx lesson --list failed in the provisioned root"
  out=$(in_root /usr/local/bin/nsx run --rootfs /home/vagrant/namespace-explorer/sandbox/rootfs/busybox \
    -- /bin/sh -c 'echo "pid $$"') || die "nsx run failed in the provisioned root: $out"
  [ "$out" = "pid 1" ] || die "nsx run in the provisioned root printed \"$out\", not \"pid 1\""
  say "nsx run in the provisioned root: the container's shell is $out"
  # Docker's real CLI (Debian's docker-cli) is set to ask nsxd, for root and for vagrant; with no
  # systemd here the engine is started by hand for it, then stopped.
  out=$(in_root docker context inspect --format '{{.Endpoints.docker.Host}}' nsx) ||
    die "root has no docker context nsx: $out"
  [ "$out" = unix:///run/nsx/nsxd.sock ] || die "root's docker context nsx points at $out, not nsxd's socket"
  out=$(in_root runuser -u vagrant -- env HOME=/home/vagrant docker context show) || die "docker context show as vagrant: $out"
  [ "$out" = nsx ] || die "vagrant's current docker context is $out, not nsx"
  # shellcheck disable=SC2016 # $? is the inner shell's
  out=$(in_root sh -c 'nsx engine start >/dev/null && docker ps -a --format "{{.ID}}" && docker version --format "{{.Server.Os}}"; rc=$?; nsx engine stop >/dev/null; exit $rc' 2>&1) ||
    { printf '%s\n' "$out"; die "docker ps / docker version against nsxd failed in the provisioned root"; }
  grep -qx linux <<<"$out" || { printf '%s\n' "$out"; die "docker version did not get nsxd's answer (Server.Os linux)"; }
  say "docker ps and docker version (Docker's CLI, context nsx) answered by nsxd"
  # The VM's registry serves the sandbox images with no network, and an unqualified name resolves
  # there first (/etc/nsx/registries.json). Its own PID namespace: the registry goes when sh does.
  out=$(unshare --net --pid --fork chroot "$root" /bin/sh -c '
    ip link set lo up
    runuser -u docker-registry -- docker-registry serve /etc/nsx/registry.yml >/dev/null 2>&1 &
    for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -q -O /dev/null http://127.0.0.1:5000/v2/ && break; sleep 0.5; done
    NSX_ROOT=/tmp/nsx-test-store nsx run --rm dockerinaction/hello_world &&
    skopeo list-tags docker://localhost:5000/busybox | tr -d " ,"' 2>&1) ||
    { printf '%s\n' "$out"; die "nsx run dockerinaction/hello_world from the VM's registry failed"; }
  grep -qx 'hello world' <<<"$out" || { printf '%s\n' "$out"; die "nsx run dockerinaction/hello_world did not say hello world"; }
  grep -qx '"latest"' <<<"$out" || { printf '%s\n' "$out"; die "skopeo list-tags docker://localhost:5000/busybox did not list latest"; }
  say "nsx run dockerinaction/hello_world: pulled from the VM's registry (localhost:5000), said hello world; skopeo lists busybox there"
}

inner() {
  # In a mount namespace of our own (see below): every mount made here goes when it ends.
  root=$1
  mount --bind "$repo" "$root/vagrant"
  mount -o remount,bind,ro "$root/vagrant" # provisioning must not write into the synced folder
  mkdir -p "$cache/apt-archives/partial" "$cache/npm"
  chown 1000:1000 "$cache/npm"
  mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
  mount --bind "$cache/npm" "$root/home/vagrant/.npm"

  # A proxy that intercepts TLS between here and the npm registry: the CAs this host added
  # (/usr/local/share/ca-certificates) go in as NSX_EXTRA_CA_CERTS, as NSX_VM_CA_CERTS does for a VM.
  extra_ca=()
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cat /usr/local/share/ca-certificates/*.crt >"$root/root/extra-ca.pem"
    extra_ca=(-e NSX_EXTRA_CA_CERTS=/root/extra-ca.pem)
  fi

  local t0 t1 t2 t3 t4 out
  t0=$(now)
  say "provisioning (1st run, network: host)"
  nsx_run host /bin/bash /vagrant/scripts/provision.sh || die "the first provisioning failed (above)"
  t1=$(now)
  unshare --mount --propagation private bash "$self" --chroot-checks "$root" || die "the checks in the provisioned root failed (above)"
  t2=$(now)
  local before_files before_pkgs
  before_files=$(manifest)
  before_pkgs=$(dpkg-query --admindir="$root/var/lib/dpkg" -W)
  t3=$(now)
  say "provisioning (2nd run, network: none): must change nothing"
  out=$(nsx_run none /bin/bash /vagrant/scripts/provision.sh 2>&1) || { printf '%s\n' "$out"; die "the second provisioning failed"; }
  printf '%s\n' "$out"
  t4=$(now)
  grep -q '^nsx provision: nothing to do' <<<"$out" || die "the second provisioning did not say \"nothing to do\""
  [ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W)" = "$before_pkgs" ] || die "the second provisioning changed the installed packages"
  local diff
  diff=$(diff <(printf '%s\n' "$before_files") <(manifest)) || { printf '%s\n' "$diff" | head -40; die "the second provisioning changed files (above: < before, > after)"; }
  say "idempotent: same $(wc -l <<<"$before_files") files, same $(wc -l <<<"$before_pkgs") packages"
  say "timings: 1st provisioning $(secs "$t0" "$t1"), checks in the root $(secs "$t1" "$t2"), 2nd provisioning $(secs "$t3" "$t4")"
}

case ${1:-} in
  --inner) inner "$2"; exit 0 ;;
  --chroot-checks) chroot_checks "$2"; exit 0 ;;
esac

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mounts, a privileged container): sudo npm run test:provision"
for tool in debootstrap unshare; do
  command -v "$tool" >/dev/null || die "no $tool: sudo apt-get install debootstrap util-linux"
done
if [ ! -x "$repo/shim/nsx-shim" ] || [ ! -f "$repo/dist/src/cli/main.js" ]; then die "nsx is not built here: npm ci first"; fi

started=$(now)
mkdir -p "$cache"
if [ -f "$base" ] && [ -n "$(find "$base" -mtime -30)" ]; then
  say "base root: cached ($base)"
else
  say "base root: debootstrap trixie from $mirror (once; cached in $cache)"
  build=$(mktemp -d /var/tmp/nsx-debootstrap.XXXXXX)
  trap 'rm -rf --one-file-system "$build"' EXIT
  debootstrap --variant=minbase --arch="$arch" trixie "$build" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    die "debootstrap failed: see $cache/debootstrap.log"
  chroot "$build" useradd --create-home --uid 1000 --user-group --shell /bin/bash vagrant
  mkdir -p "$build/vagrant" "$build/home/vagrant/.npm"
  chown 1000:1000 "$build/home/vagrant/.npm"
  # As in a container image: packages installed here must not start their services (a registry
  # started here would listen on the host's network).
  printf '#!/bin/sh\nexit 101\n' >"$build/usr/sbin/policy-rc.d"
  chmod 755 "$build/usr/sbin/policy-rc.d"
  rm -rf "$build/var/cache/apt/archives/"*.deb
  chmod 755 "$build" # mktemp made it 0700: / must be open to every user
  tar --numeric-owner -C "$build" -cf "$base.new" . && mv "$base.new" "$base"
  rm -rf --one-file-system "$build"
  trap - EXIT
fi
t_base=$(now)

root=$(mktemp -d /var/tmp/nsx-provision-test.XXXXXX)
cleanup() {
  # The bind mounts lived in the inner mount namespace only; refuse to delete through one anyway.
  if findmnt -rn -o TARGET | grep -q "^$root"; then
    echo "test:provision: $root still has mounts; not deleting it" >&2
  elif [ "${NSX_PROVISION_KEEP:-}" = 1 ]; then
    say "kept the root: $root"
  else
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT
tar --numeric-owner -C "$root" -xf "$base"
chmod 755 "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
t_unpack=$(now)
say "fresh root in $root ($(secs "$t_base" "$t_unpack") to unpack)"

unshare --mount --propagation private bash "$self" --inner "$root"
say "passed in $(secs "$started" "$(now)") (base root $(secs "$started" "$t_base"))"
