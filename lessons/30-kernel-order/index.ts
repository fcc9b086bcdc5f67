import type { Lesson } from '../../src/learn/lesson.js';
import { checkTask } from './check.js';

// The whole sequence, every step doing something: a user namespace of its own (so the userns step
// runs), no_new_privs (so its step runs, and the capabilities step drops CAP_SYS_ADMIN at once:
// without it, nsx keeps CAP_SYS_ADMIN until the seccomp step, see plan.ts), and a hostname.
const kernelOrder: Lesson = {
  id: 'kernel-order',
  title: 'The kernel order: why each step comes where it does',
  minutes: 10,
  needsRoot: true,
  manPages: [
    'user_namespaces(7)',
    'cgroup_namespaces(7)',
    'pid_namespaces(7)',
    'mount_namespaces(7)',
    'pivot_root(2)',
    'capabilities(7)',
    'seccomp(2)',
    'prctl(2)',
  ],
  run: {
    options: { userns: 'private', securityOpt: ['no-new-privileges'], hostname: 'inorder' },
    command: [
      '/bin/sh',
      '-c',
      'echo "uid $(id -u), hostname $(hostname)"; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status',
    ],
  },
  variants: {
    break: {
      title: 'drop the capabilities before the mounts (EPERM)',
      swap: ['capabilities', 'mount-private'],
      failsAt: 'rootfs',
    },
  },
  focus: [
    'cgroup',
    'userns',
    'namespaces',
    'fork',
    'mount-private',
    'rootfs',
    'pivot-root',
    'mask-paths',
    'hostname',
    'no-new-privs',
    'capabilities',
    'seccomp',
    'exec',
  ],
  demos: [
    {
      after: 'namespaces',
      onHost: true,
      command: ['cat', '/proc/{pid}/cgroup'],
      notice: "From the host: the container's process is in nsx/<id>.",
    },
    {
      after: 'namespaces',
      command: ['cat', '/proc/{pid}/cgroup'],
      notice:
        'The same file read from inside the new cgroup namespace: "/". The namespace was made after the cgroup step, so its root is the container\'s own cgroup.',
    },
    {
      after: 'mount-private',
      onHost: true,
      command: ['findmnt', '-no', 'PROPAGATION', '/'],
      notice: "The host's root mount: as the system made it (shared, under systemd).",
    },
    {
      after: 'mount-private',
      command: ['findmnt', '-no', 'PROPAGATION', '/'],
      notice: "The same mount in the container's mount namespace: private now, before any mount is made in it.",
    },
  ],
  check: () => checkTask(),
  hints: [
    'nsx run has an option that pauses before every step; the welcome lesson used it.',
    'The check wants the container stopped after the step that changes its root, before the next one.',
    'Run the check from a second terminal while the first one waits at its prompt.',
  ],
  quiz: [
    {
      question: 'Why does the runtime drop capabilities after the mounts and the hostname, not before?',
      choices: [
        'Dropping them first would be slower',
        "mount(2) and sethostname(2) need CAP_SYS_ADMIN, which the container's final set does not have",
        'The kernel forbids capset before pivot_root',
      ],
      answer: 1,
      why: "mount(2) and sethostname(2) fail with EPERM without CAP_SYS_ADMIN in the owning user namespace, and Docker's default set leaves it out (capabilities(7)). So every privileged change comes first; --variant break swaps the order and the next mount fails with EPERM.",
    },
    {
      question: 'Why is the user namespace created before the other namespaces?',
      choices: [
        'The kernel requires CLONE_NEWUSER to come first in any unshare',
        "Namespaces created afterwards are owned by it, so the container's root has capabilities over them, and not over the host's",
        'It makes the uid map easier to write',
      ],
      answer: 1,
      why: 'user_namespaces(7): a non-user namespace "is owned by the user namespace in which the creating process was a member at the time of the creation", and privileged operations on it need capabilities in that owner. Created first, it owns the UTS, IPC, network, mount and cgroup namespaces made next.',
    },
  ],
};

export default kernelOrder;
