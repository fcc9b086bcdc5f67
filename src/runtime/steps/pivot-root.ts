// pivot-root: pivot_root(2) makes the root filesystem the root of the mount namespace and moves the
// old root away, to be detached (umount2(2) MNT_DETACH); chroot(2), the unsafe variant, only changes
// how one process resolves "/".
import { NsxError } from '../errors.js';
import { shim } from '../actions.js';
import { has } from './common.js';
import type { Step } from './step.js';

/** What `nsx run --unsafe-chroot` prints on stderr as it starts (one line): why it is unsafe, after
 *  chroot(2)'s own NOTES ("This call does not change the current working directory ... a process
 *  with CAP_SYS_CHROOT" can escape) and mount_namespaces(7). */
export const UNSAFE_CHROOT_WARNING =
  "WARNING: --unsafe-chroot: chroot(2) instead of pivot_root(2): the host's mounts stay in the container's mount namespace, and a process with CAP_SYS_CHROOT can chroot its way out to the host's root";

export const pivotRoot: Step<'pivot-root'> = {
  id: 'pivot-root',
  title: 'Switch to the new root and detach the old one',
  syscalls: ['chdir(rootfs)', 'pivot_root(".", ".")', 'umount2(".", MNT_DETACH)', 'chdir("/")'],
  shell: 'cd ROOTFS && pivot_root . . && umount -l .',
  manPage: 'pivot_root(2)',
  why: 'pivot_root moves the old root away and the detach removes it from the mount namespace, so no path leads back to the host (chroot(2) only changes how paths are resolved).',
  needsCap: 'CAP_SYS_ADMIN',
  changesRoot: true,

  build(spec, host) {
    const after = host.rootfsHas(spec.process.cwd) ? [] : [shim({ op: 'mkdir', path: spec.process.cwd, mode: 0o755 })];
    if (spec.nsx.rootMode === 'chroot') {
      return {
        title: 'chroot into the root filesystem (UNSAFE: for the chroot lesson)',
        syscalls: ['chdir(rootfs)', 'chroot(".")', 'chdir("/")'],
        shell: 'chroot ROOTFS',
        manPage: 'chroot(2)',
        why: 'chroot(2) changes only the directory that "/" means for this process and its children ("This call changes an ingredient in the pathname resolution process and does nothing else"): nothing is unmounted, the host\'s mounts stay in the mount namespace, and a process with CAP_SYS_CHROOT can climb out.',
        notes: [
          'chroot only changes how "/" is resolved for this process; the host\'s mounts stay in the namespace and a process with CAP_SYS_CHROOT can escape (chroot(2)).',
        ],
        actions: [shim({ op: 'chroot', root: spec.root.path }), ...after],
      };
    }
    if (!has(spec, 'mount'))
      throw new NsxError('pivot_root needs a mount namespace', {
        hint: 'add the mount namespace, or use chroot (unsafe)',
      });
    return { actions: [shim({ op: 'pivot_root', root: spec.root.path }), ...after] };
  },

  hint(f) {
    const e = f.errnoName;
    if (e === 'EINVAL')
      return 'pivot_root(2): the new root must be a mount point whose mount and parent mount are not shared, and the current root must not be initramfs or a chroot: is --rootfs on a shared mount, or is nsx itself running from initramfs?';
    if (e === 'EBUSY')
      return "pivot_root(2): the new root is on the current root mount (is --rootfs the host's own root?)";
    if (e === 'ENOENT' || e === 'ENOTDIR')
      return 'the root filesystem directory is missing: build one with `npm run sandbox` and pass --rootfs sandbox/rootfs/busybox';
    return undefined;
  },
};
