// docker exec's fork step: setns(2) into a PID namespace applies only to the children created
// afterwards (pid_namespaces(7)), so the process forks; the child has a PID in the container.
import { shim } from '../../actions.js';
import { fork } from '../fork.js';
import type { ExecStep } from '../step.js';

export const execFork: ExecStep<'fork'> = {
  ...fork,
  syscalls: ['fork()'],
  shell: '',
  why: "setns(2) into a PID namespace applies only to the children created afterwards: the child is in the container's PID namespace, with a PID of its own there. (The time namespace, unlike it, was joined at once by the setns itself.)",

  build(spec) {
    // -t: the exec's terminal, from the container's devpts (its /dev/pts, once in its root).
    const terminal = spec.process.terminal ? [shim({ op: 'console', ptmx: '/dev/pts/ptmx' })] : [];
    return { actions: [shim({ op: 'fork' }), ...terminal] };
  },
};
