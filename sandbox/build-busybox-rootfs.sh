#!/usr/bin/env bash
# Builds a minimal root filesystem from Debian's busybox-static, offline:
#   npm run sandbox            (or: bash sandbox/build-busybox-rootfs.sh [DEST])
# DEST defaults to sandbox/rootfs/busybox. The result holds /bin with busybox and its applets,
# /etc/passwd, /etc/group, /etc/hostname, and empty mount points (proc, sys, dev, tmp).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$here/rootfs/busybox}
busybox=${BUSYBOX:-/bin/busybox}

if [ ! -x "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1; then
  echo "nsx sandbox: no busybox at $busybox." >&2
  echo "  Fix: sudo apt-get install busybox-static   (or set BUSYBOX=/path/to/a/static/busybox)" >&2
  exit 1
fi
if command -v file >/dev/null 2>&1 && ! file -L "$busybox" | grep -q 'statically linked'; then
  echo "nsx sandbox: $busybox is not statically linked; a container has no shared libraries." >&2
  echo "  Fix: sudo apt-get install busybox-static" >&2
  exit 1
fi

tmp=$(mktemp -d "${dest%/*}/.busybox.XXXXXX" 2>/dev/null || { mkdir -p "${dest%/*}" && mktemp -d "${dest%/*}/.busybox.XXXXXX"; })
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,var,run}
chmod 1777 "$tmp/tmp"
chmod 700 "$tmp/root"
cp "$busybox" "$tmp/bin/busybox"
chmod 755 "$tmp/bin/busybox"
# One link per applet, at the path busybox itself reports (bin, sbin, usr/bin, usr/sbin).
"$busybox" --list-full | while read -r applet; do
  [ "$applet" = bin/busybox ] && continue
  ln -sf /bin/busybox "$tmp/$applet"
done

cat > "$tmp/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
learner:x:1000:1000:learner:/home/learner:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$tmp/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
tty:x:5:
learner:x:1000:
nogroup:x:65534:
GROUP
echo sandbox > "$tmp/etc/hostname"
mkdir -p "$tmp/home/learner"
chown 1000:1000 "$tmp/home/learner" 2>/dev/null || true
# The tree must be readable by everyone: rootless containers see it through a user namespace.
chmod 755 "$tmp"

rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "nsx sandbox: built $dest ($("$busybox" | head -1 | cut -d' ' -f1-2))"
