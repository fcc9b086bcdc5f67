// tmp: a tmpfs keeps its files in memory and loses them when unmounted (tmpfs(5)); this step also makes every
// other mount of the spec outside /proc, /sys and /dev.
import { mountActions, mountHint, mountsFor } from './common.js';
import type { Step } from './step.js';

export const tmp: Step<'tmp'> = {
  id: 'tmp',
  title: 'Mount a private /tmp',
  syscalls: ['mount("tmpfs", "ROOTFS/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")'],
  shell: 'mount -t tmpfs -o mode=1777 tmpfs ROOTFS/tmp',
  manPage: 'tmpfs(5)',
  why: "Scratch space that lives in memory and vanishes with the container's mount namespace.",
  needsCap: 'CAP_SYS_ADMIN',

  build(spec, host) {
    const ms = mountsFor(spec, (d) => !['/proc', '/sys', '/dev'].some((p) => d === p || d.startsWith(p + '/')));
    if (!ms.length) return { skip: 'no /tmp (or other) mount in the spec' };
    return { actions: ms.flatMap((m) => mountActions(host, m)) };
  },

  hint: mountHint,
};
