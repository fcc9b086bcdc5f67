#!/usr/bin/env bash
# Runs a command as root under another Linux kernel, on this machine's own files, and ends with its
# exit status: boots /boot/vmlinuz-RELEASE under qemu (software emulation, TCG) with a tiny initramfs
# (busybox and the kernel's virtio/9p modules from /lib/modules/RELEASE), mounts this machine's / read-only
# over virtio-9p as the new root, gives the directories a container runtime writes to a tmpfs, and runs
# CMD there from the current directory. No network, no disk: a test harness, not a VM for people.
#
#   scripts/kernel-vm.sh RELEASE 'CMD' [KERNEL_ARGS]      (root; KERNEL_VM_TIMEOUT seconds, default 600)
#
# Used by test/integration/apparmor-vm.test.ts to see AppArmor enforce where the host's kernel has no
# AppArmor: Debian's kernel (linux-image-amd64) enables it by default (CONFIG_LSM lists apparmor).
# Prints "kernel-vm: up RELEASE" when CMD starts and "kernel-vm: exit N" when it ends.
# shellcheck disable=SC2016 # the single-quoted lines are the guest's script, expanded there
set -euo pipefail
[ $# -ge 2 ] || {
  echo "usage: $0 RELEASE 'CMD' [KERNEL_ARGS]" >&2
  exit 2
}
release=$1 cmd=$2 extra=${3:-}
kernel=/boot/vmlinuz-$release
[ -r "$kernel" ] || {
  echo "kernel-vm: no $kernel: install a kernel image (apt-get install linux-image-amd64)" >&2
  exit 2
}
[ -d "/lib/modules/$release" ] || {
  echo "kernel-vm: no /lib/modules/$release: the kernel's modules are needed for virtio-9p" >&2
  exit 2
}
command -v qemu-system-x86_64 >/dev/null || {
  echo "kernel-vm: no qemu-system-x86_64: apt-get install qemu-system-x86" >&2
  exit 2
}
busybox=$(command -v busybox) || {
  echo "kernel-vm: no busybox: apt-get install busybox-static" >&2
  exit 2
}

lab=$(mktemp -d /tmp/nsx-kernel-vm.XXXXXX)
trap 'rm -rf "$lab"' EXIT
mkdir -p "$lab/init/"{bin,proc,sys,dev,host,modules}
cp "$busybox" "$lab/init/bin/busybox"
# The modules for a 9p root over virtio-pci, in dependency order (modprobe resolves one module a call).
mods=$(for m in virtio_pci 9pnet_virtio 9p; do modprobe -S "$release" --show-depends "$m"; done |
  awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
for m in $mods; do cp "$m" "$lab/init/modules/"; done

# init, in the initramfs. The new root is this machine's / itself, read-only: overlayfs over 9p served
# stale files in trials here. proc, sys and dev are moved over before switch_root: the 9p tree's own
# /proc is the host's, and a /proc/self/exe there names qemu.
{
  echo '#!/bin/busybox sh'
  echo '/bin/busybox --install -s /bin'
  echo 'mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev'
  for m in $mods; do echo "insmod /modules/${m##*/} || echo 'kernel-vm: insmod ${m##*/} failed'"; done
  echo 'mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=mmap host /host ||'
  echo '  { echo "kernel-vm: the 9p mount of the host failed"; poweroff -f; }'
  echo 'mount -t tmpfs -o mode=0755 run /host/run; mkdir /host/run/kernel-vm'
  echo 'cp /bin/busybox /inner /host/run/kernel-vm/'
  echo 'mount --move /proc /host/proc; mount --move /sys /host/sys; mount --move /dev /host/dev'
  echo 'exec switch_root /host /run/kernel-vm/busybox sh /run/kernel-vm/inner'
} >"$lab/init/init"
chmod +x "$lab/init/init"

# inner, on the new root: the mounts a runtime expects (securityfs for AppArmor, cgroup2, devpts), a
# tmpfs where it and its tests write (a tmpfs's root has mode 1777 unless told, as /tmp and /var/tmp
# need: tmpfs(5)), then CMD.
{
  echo 'PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root; export PATH HOME'
  echo 'mount -t securityfs securityfs /sys/kernel/security 2>/dev/null'
  echo 'mount -t cgroup2 cgroup2 /sys/fs/cgroup'
  echo 'mkdir -p /dev/pts; mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts'
  echo 'for d in /tmp /var/tmp /var/lib/nsx /var/cache/apparmor /root; do [ -d $d ] && mount -t tmpfs tmpfs $d; done'
  echo 'echo "kernel-vm: up $(uname -r)"'
  printf 'cd %q && {\n%s\n}\n' "$PWD" "$cmd"
  echo 'echo "kernel-vm: exit $?"'
  echo '/run/kernel-vm/busybox poweroff -f'
} >"$lab/init/inner"

(cd "$lab/init" && find . | cpio -o -H newc --quiet | gzip -1) >"$lab/initrd"
# TCG, not KVM: /dev/kvm may exist and still hang on machines without nested virtualization.
timeout --foreground -k 5 "${KERNEL_VM_TIMEOUT:-600}" qemu-system-x86_64 \
  -machine q35,accel=tcg -cpu max -m 2048 -smp 2 \
  -nodefaults -display none -no-reboot -serial stdio -monitor none \
  -kernel "$kernel" -initrd "$lab/initrd" -append "console=ttyS0 quiet panic=-1 $extra" \
  -fsdev local,id=host,path=/,security_model=passthrough,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=host,mount_tag=host </dev/null
