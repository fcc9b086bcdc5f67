// rootfs: pivot_root(2) needs the new root to be a mount point: the root filesystem is bound onto
// itself, or the image's layers are mounted there with overlayfs (mount(2), the kernel's
// Documentation/filesystems/overlayfs.rst).
import type { OverlayRoot } from '../spec.js';
import { has, mount, mountHint, MS, rootless } from './common.js';
import type { Step } from './step.js';

/** overlayfs's mount options (overlayfs.rst, "Multiple lower layers": lowerdir=top:…:bottom). */
export function overlayMountData(o: OverlayRoot): string {
  return `lowerdir=${o.lowerdirs.join(':')},upperdir=${o.upper},workdir=${o.work}${o.userxattr ? ',userxattr' : ''}`;
}

export const rootfs: Step<'rootfs'> = {
  id: 'rootfs',
  title: 'Bind the root filesystem onto itself',
  syscalls: ['mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL)'],
  shell: 'mount --rbind ROOTFS ROOTFS',
  manPage: 'pivot_root(2)',
  why: 'pivot_root(2) requires the new root to be a mount point; a bind mount of the directory onto itself makes it one.',
  needsCap: 'CAP_SYS_ADMIN',

  build(spec) {
    if (!has(spec, 'mount')) return { skip: 'no mount namespace' };
    const root = spec.root.path;
    const o = spec.root.overlay;
    if (!o) {
      const c = spec.root.copied;
      const notes = c
        ? [
            `the image's ${c.layers} layer${c.layers === 1 ? ' was' : 's were'} copied into this directory, the container's own (${c.reason}); overlayfs would share them instead`,
          ]
        : [];
      return { actions: [mount({ source: root, target: root, flags: MS.BIND | MS.REC })], notes };
    }
    // Mounted here, inside the container's new mount namespace: the host never sees the overlay, and
    // it goes when the namespace's last process does, so nothing can be left mounted.
    const n = o.lowerdirs.length;
    return {
      title: "Mount the image's layers with overlayfs",
      syscalls: ['mount("overlay", TARGET, "overlay", 0, "lowerdir=LAYER_N:…:LAYER_1,upperdir=UPPER,workdir=WORK")'],
      shell: `mount -t overlay overlay -o lowerdir=LAYER_N:…:LAYER_1,upperdir=UPPER,workdir=WORK${o.userxattr ? ',userxattr' : ''} TARGET`,
      manPage: 'mount(2)',
      why: "overlayfs shows the image's read-only layers (lower directories, top one first) merged as one tree; the container's writes go to its own upper directory, a file being copied up there when first changed, and a deletion leaves a whiteout there. The layers stay shared and untouched, and removing the container removes only its upper directory. The overlay is a mount point, as pivot_root(2) needs (overlayfs: the kernel's Documentation/filesystems/overlayfs.rst).",
      notes: [
        `${n} layer${n === 1 ? '' : 's'} (top first): ${o.lowerdirs.join(', ')}`,
        `writable layer: ${o.upper}`,
        ...(o.userxattr
          ? ['userxattr: in a user namespace overlayfs keeps its marks (opaque directories) in user.overlay.* xattrs']
          : []),
      ],
      actions: [mount({ source: 'overlay', target: o.target, fstype: 'overlay', flags: 0, data: overlayMountData(o) })],
    };
  },

  hint(f, spec) {
    const e = f.errnoName;
    if (spec.root.overlay) {
      const copy = "NSX_ROOTFS_MODE=copy copies the image's layers instead";
      if (e === 'EINVAL')
        return `overlayfs refused its options: is the store (NSX_ROOT) on a filesystem overlayfs cannot write its upper directory to (overlayfs itself, NFS, a FUSE filesystem)? ${copy}`;
      if (e === 'ENODEV') return `this kernel has no overlay filesystem (modprobe overlay as root): ${copy}`;
      if (e === 'EPERM' && rootless())
        return `mounting overlayfs inside a user namespace needs Linux 5.11 or newer: ${copy}`;
    }
    return mountHint(f, spec);
  },
};
