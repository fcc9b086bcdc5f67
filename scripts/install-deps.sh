#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages namespace-explorer needs (run as root). Idempotent: packages
# already installed are left alone. Offline machines: everything here comes from the distribution.
#   sudo bash scripts/install-deps.sh           what nsx needs
#   sudo bash scripts/install-deps.sh --tests   and what only the test suite uses (CI does this)
#   bash scripts/install-deps.sh --list         print what nsx needs, one package a line (the VM's
#                                               scripts/provision.sh installs these too)
set -euo pipefail

packages=(
  build-essential   # cc and libc headers: npm ci compiles the shim (shim/nsx-shim.c)
  busybox-static    # the sandbox root filesystem (npm run sandbox)
  util-linux        # nsenter (the shell inside a half-built container), unshare, ipcmk
  iproute2          # ip: --network veth
  iputils-ping      # ping across the veth pair
  procps            # ps, pgrep
  file              # the sandbox build checks busybox is static
  docker-registry   # the real registry (distribution v2) the image tests push to and pull from
  skopeo            # a registry client no one here wrote: interop tests copy and inspect with it
  attr              # setfattr: unpacked layers mark opaque directories for overlayfs (overlay.opaque)
)
test_packages=(
  shellcheck        # test/integration/vagrant.test.ts: the shell scripts
  vagrant           # test/integration/vagrant.test.ts: vagrant validate (no provider needed)
  apparmor          # apparmor_parser: test/integration/apparmor-profile.test.ts compiles nsx-default
  qemu-system-x86   # test/integration/apparmor-vm.test.ts boots a kernel that has AppArmor (kernel-vm.sh)
  cpio              # scripts/kernel-vm.sh packs the guest's initramfs
)
# The kernel that test boots: Debian's, whose CONFIG_LSM enables AppArmor (only amd64 is booted).
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] && test_packages+=(linux-image-amd64)
case ${1:-} in
  --list) printf '%s\n' "${packages[@]}"; exit 0 ;;
  --tests) packages+=("${test_packages[@]}") ;;
  '') ;;
  *) echo "nsx: unknown option $1 (usage: install-deps.sh [--tests | --list])" >&2; exit 1 ;;
esac

if ! command -v apt-get >/dev/null 2>&1; then
  echo "nsx: no apt-get here; install the equivalents of: ${packages[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "nsx: installing packages needs root: sudo bash scripts/install-deps.sh" >&2
  exit 1
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
command -v node >/dev/null 2>&1 || { echo "nsx: Node.js 20.19 or newer is needed (apt-get install nodejs npm on Debian 13)" >&2; exit 1; }
