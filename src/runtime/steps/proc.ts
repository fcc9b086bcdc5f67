// proc: the proc filesystem shows the processes of the PID namespace of whoever mounted it, so the
// container needs its own /proc once it has its own PIDs (proc(5), pid_namespaces(7)).
import { mountActions, mountHint, mountsFor } from './common.js';
import type { Step } from './step.js';

export const proc: Step<'proc'> = {
  id: 'proc',
  title: 'Mount /proc for the new PID namespace',
  syscalls: ['mount("proc", "ROOTFS/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)'],
  shell: 'mount -t proc proc ROOTFS/proc',
  manPage: 'pid_namespaces(7)',
  why: 'A proc filesystem shows the PID namespace of the process that mounted it, so tools like ps see only the container.',
  needsCap: 'CAP_SYS_ADMIN',

  build(spec, host) {
    const ms = mountsFor(spec, (d) => d === '/proc');
    if (!ms.length) return { skip: 'no /proc mount in the spec' };
    return { actions: ms.flatMap((m) => mountActions(host, m)) };
  },

  hint: mountHint,
};
