// mask-paths: some /proc and /sys files describe or control the whole machine (proc(5)); Docker
// hides them under /dev/null or an empty read-only tmpfs (maskedPaths) or binds them read-only
// (readonlyPaths), after pivot_root, on the container's own /proc and /sys.
import type { Action } from '../actions.js';
import { mount, mountHint, MS } from './common.js';
import type { Step } from './step.js';

export const maskPaths: Step<'mask-paths'> = {
  id: 'mask-paths',
  title: 'Mask and write-protect sensitive paths',
  syscalls: [
    'mount("/dev/null", "/proc/kcore", NULL, MS_BIND, NULL)',
    'mount("tmpfs", "/proc/acpi", "tmpfs", MS_RDONLY, NULL)',
    'mount("/proc/sys", "/proc/sys", NULL, MS_BIND | MS_REC, NULL)',
    'mount(NULL, "/proc/sys", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)',
  ],
  shell:
    'mount --bind /dev/null /proc/kcore && mount --rbind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys',
  manPage: 'proc(5)',
  why: 'Some /proc and /sys files describe or control the whole machine; Docker hides them (maskedPaths) or makes them read-only (readonlyPaths).',
  needsCap: 'CAP_SYS_ADMIN',

  build(spec, host) {
    const actions: Action[] = [];
    for (const p of spec.linux.maskedPaths) {
      const kind = host.pathKind(p);
      if (kind === 'file') actions.push(mount({ source: '/dev/null', target: p, flags: MS.BIND }));
      if (kind === 'dir') actions.push(mount({ source: 'tmpfs', target: p, fstype: 'tmpfs', flags: MS.RDONLY }));
    }
    for (const p of spec.linux.readonlyPaths) {
      if (host.pathKind(p) === 'absent') continue;
      // Keep nosuid,nodev,noexec: a bind remount sets exactly the flags given, so leaving them out
      // would clear them (mount(2)); on a mount inherited from the host they are locked and the kernel
      // would refuse (mount_namespaces(7)). runc copies them from statfs(2) the same way.
      const keep = p.startsWith('/proc') ? MS.NOSUID | MS.NODEV | MS.NOEXEC : 0;
      actions.push(
        mount({ source: p, target: p, flags: MS.BIND | MS.REC }),
        mount({ source: p, target: p, flags: MS.BIND | MS.REMOUNT | MS.RDONLY | keep }),
      );
    }
    if (!actions.length) return { skip: 'no masked or read-only paths' };
    return { actions };
  },

  hint: mountHint,
};
