// sys: sysfs exports the kernel's view of devices, drivers and settings (sysfs(5)); mounted
// read-only, it cannot be used to change them.
import { mountActions, mountHint, mountsFor } from './common.js';
import type { Step } from './step.js';

export const sys: Step<'sys'> = {
  id: 'sys',
  title: 'Mount /sys read-only',
  syscalls: ['mount("sysfs", "ROOTFS/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)'],
  shell: 'mount -t sysfs -o ro sysfs ROOTFS/sys',
  manPage: 'sysfs(5)',
  why: "Programs expect /sys; read-only, it cannot be used to change the host's kernel settings.",
  needsCap: 'CAP_SYS_ADMIN',

  build(spec, host) {
    const ms = mountsFor(spec, (d) => d === '/sys' || d.startsWith('/sys/'));
    if (!ms.length) return { skip: 'no /sys mount in the spec' };
    return { actions: ms.flatMap((m) => mountActions(host, m)) };
  },

  hint: mountHint,
};
