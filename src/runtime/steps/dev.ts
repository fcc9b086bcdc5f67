// dev: a minimal /dev on a tmpfs (tmpfs(5)): a few harmless device nodes bound from the host, the
// container's own devpts instance for pseudo-terminals (pts(4)), shared memory and message queues.
import { posix } from 'node:path';
import { shim } from '../actions.js';
import { DEFAULT_DEVICES, DEV_SYMLINKS } from '../spec.js';
import { mount, mountActions, mountHint, mountsFor, MS } from './common.js';
import type { Step } from './step.js';

export const dev: Step<'dev'> = {
  id: 'dev',
  title: 'Build a minimal /dev',
  syscalls: [
    'mount("tmpfs", "ROOTFS/dev", "tmpfs", …)',
    'mount("/dev/null", "ROOTFS/dev/null", NULL, MS_BIND, NULL)',
    'mount("devpts", "ROOTFS/dev/pts", "devpts", …, "newinstance,ptmxmode=0666")',
  ],
  shell: 'mount -t tmpfs tmpfs ROOTFS/dev && touch ROOTFS/dev/null && mount --bind /dev/null ROOTFS/dev/null',
  manPage: 'tmpfs(5)',
  why: 'The container gets only harmless devices (null, zero, full, random, urandom, tty), its own pseudo-terminals, shared memory and POSIX message queues.',
  needsCap: 'CAP_SYS_ADMIN',

  build(spec, host) {
    const ms = mountsFor(spec, (d) => d === '/dev' || d.startsWith('/dev/'));
    if (!ms.find((m) => m.destination === '/dev')) return { skip: 'no /dev mount in the spec' };
    const [devMount, ...under] = ms;
    const actions = mountActions(host, devMount);
    const devDir = host.resolve('/dev');
    // Bind the host's nodes rather than mknod: it works inside a user namespace too (runc does this rootless).
    for (const d of DEFAULT_DEVICES) {
      const path = `${devDir}/${d}`;
      actions.push(shim({ op: 'touch', path }), mount({ source: `/dev/${d}`, target: path, flags: MS.BIND }));
    }
    for (const [target, link] of DEV_SYMLINKS) {
      actions.push(shim({ op: 'symlink', target, path: posix.join(devDir, posix.basename(link)) }));
    }
    for (const m of under) actions.push(...mountActions(host, m));
    if (!spec.process.terminal) return { actions };
    // docker run -t: the terminal comes from the container's own devpts instance, just mounted.
    return {
      actions: [...actions, shim({ op: 'console', ptmx: posix.join(devDir, 'pts', 'ptmx') })],
      syscalls: [
        ...dev.syscalls,
        'open("ROOTFS/dev/pts/ptmx")',
        'ioctl(TIOCGPTPEER)',
        'dup2(pty, 0|1|2)',
        'ioctl(0, TIOCSCTTY)',
      ],
      notes: [
        "-t: a pseudo-terminal from the container's own devpts becomes PID 1's stdin, stdout, stderr and controlling terminal; its master goes to the supervisor, which copies it to nsx (pts(4))",
      ],
    };
  },

  hint: mountHint,
};
