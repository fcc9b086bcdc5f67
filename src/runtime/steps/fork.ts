// fork: a new PID namespace applies to the children created after unshare(CLONE_NEWPID), not to the
// caller; the first child is its PID 1, and the namespace ends with it (pid_namespaces(7)).
import { shim } from '../actions.js';
import { CLONE, has } from './common.js';
import { namespaceHint } from './namespaces.js';
import type { Step } from './step.js';

export const fork: Step<'fork'> = {
  id: 'fork',
  title: 'Fork into the new PID namespace',
  syscalls: ['unshare(CLONE_NEWPID)', 'fork()'],
  shell: 'unshare --pid --fork',
  manPage: 'pid_namespaces(7)',
  why: "unshare(CLONE_NEWPID) does not move the caller: the children it creates afterwards are in the new PID namespace, and the first one is PID 1. With a new time namespace, the same fork makes its first process too: the child starts in the caller's time_for_children namespace, and the offsets are fixed from then on.",
  needsCap: 'CAP_SYS_ADMIN',
  forks: true,

  build(spec) {
    if (!has(spec, 'pid')) {
      return {
        actions: [shim({ op: 'fork' })],
        notes: ["no PID namespace: the child shares the host's PIDs"],
        syscalls: ['fork()'],
        shell: '',
      };
    }
    return { actions: [shim({ op: 'unshare', flags: CLONE.NEWPID }), shim({ op: 'fork' })] };
  },

  // unshare(CLONE_NEWPID) fails as the other namespaces do; a new time namespace is entered here.
  hint: namespaceHint,
};
