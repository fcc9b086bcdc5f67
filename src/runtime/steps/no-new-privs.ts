// no-new-privs: prctl(PR_SET_NO_NEW_PRIVS) makes every later execve(2) unable to grant privileges
// (set-user-ID bits, file capabilities); inherited, and never unset (prctl(2), the kernel's
// Documentation/userspace-api/no_new_privs.rst).
import { shim } from '../actions.js';
import type { Step } from './step.js';

export const noNewPrivs: Step<'no-new-privs'> = {
  id: 'no-new-privs',
  title: 'Set no_new_privs',
  syscalls: ['prctl(PR_SET_NO_NEW_PRIVS, 1)'],
  shell: 'setpriv --no-new-privs',
  manPage: 'prctl(2)',
  why: 'After this no execve can grant more privileges (set-user-ID and set-group-ID bits and file capabilities stop working); it is inherited and cannot be unset.',

  build(spec) {
    if (!spec.process.noNewPrivileges) return { skip: 'not asked for (--security-opt no-new-privileges)' };
    return { actions: [shim({ op: 'no_new_privs' })] };
  },
};
