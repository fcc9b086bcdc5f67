// docker exec's namespaces step: setns(2) moves the calling process into an existing namespace,
// named by a file in /proc/PID/ns; then chroot to the container's root (nsenter(1) --all --root).
import { shim } from '../../actions.js';
import { namespaceHint } from '../namespaces.js';
import type { ExecStep } from '../step.js';

export const execNamespaces: ExecStep<'namespaces'> = {
  id: 'namespaces',
  title: "Join the container's namespaces",
  syscalls: [
    'open("/proc/PID/ns/…")',
    'setns(fd, 0) (user, cgroup, ipc, uts, net, pid, time, mnt)',
    'chroot("/proc/PID/root")',
  ],
  shell: 'nsenter --target PID --all --root',
  manPage: 'setns(2)',
  why: 'setns(2) moves the calling process into an existing namespace, named by a file in /proc/PID/ns; the user namespace first, since it owns the others.',
  needsCap: 'CAP_SYS_ADMIN',
  // The chroot to /proc/PID/root: a shell must enter the container's root, as after pivot_root.
  changesRoot: true,

  build: (_spec, _host, pid) => ({
    actions: [shim({ op: 'setns', pid })],
    shell: `nsenter --target ${pid} --all --root`,
  }),
  hint: namespaceHint,
};
