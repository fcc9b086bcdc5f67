import type { Lesson } from '../../src/learn/lesson.js';
import { inNewNamespace, inNsxContainer, mountInfo, newestFirst, type MountEntry } from '../../src/learn/kernel.js';

/** The tmpfs the task asks for, by its source name (free text for tmpfs; /proc/PID/mountinfo shows it). */
const WANTED = 'mytmp';

const isWanted = (m: MountEntry) => m.fstype === 'tmpfs' && m.source === WANTED;

const mnt: Lesson = {
  id: 'mnt',
  title: 'Mount namespace: a mount table of its own',
  minutes: 8,
  needsRoot: true,
  manPages: ['mount_namespaces(7)', 'mount(2)', 'proc(5)', 'pid_namespaces(7)'],
  run: {
    options: {},
    command: [
      '/bin/sh',
      '-c',
      'echo "the container\'s $(grep -c . /proc/mounts) mount points:"; cut -d" " -f2 /proc/mounts | xargs -n 5',
    ],
  },
  focus: ['namespaces', 'mount-private', 'proc'],
  demos: [
    {
      after: 'namespaces',
      command: ['grep', '-c', 'shared:', '/proc/self/mountinfo'],
      notice:
        'How many of the copied mounts are shared (tagged shared:N in mountinfo): a mount made under one of them, inside or on the host, would appear on the other side too. Under systemd that is nearly all of them.',
    },
    {
      after: 'mount-private',
      command: ['grep', '-c', 'shared:', '/proc/self/mountinfo'],
      notice: 'Inside, no mount is shared any more.',
    },
    {
      after: 'mount-private',
      onHost: true,
      command: ['grep', '-c', 'shared:', '/proc/self/mountinfo'],
      notice: "The host's mounts are as they were: the change was made to the container's copies.",
    },
    {
      after: 'mount-private',
      command: ['mount', '-t', 'tmpfs', 'inside-only', '/mnt'],
      notice:
        "A tmpfs named inside-only, mounted on /mnt inside the container's mount namespace (no output means it worked).",
    },
    {
      after: 'mount-private',
      command: ['sh', '-c', 'mount | grep inside-only'],
      notice: 'Inside, /mnt is now that tmpfs.',
    },
    {
      after: 'mount-private',
      onHost: true,
      command: ['sh', '-c', 'mount | grep inside-only || echo "no inside-only on the host"'],
      notice: "The host's mount table has no such mount: /mnt on the host is untouched.",
    },
    {
      after: 'proc',
      command: ['cat', '/proc/1/comm', '{rootfs}/proc/1/comm'],
      notice:
        "Two proc filesystems in one mount namespace: /proc still shows the host's PID 1; the new one, under the root filesystem, shows the container's (the runtime, not yet replaced by the command).",
    },
  ],
  async check() {
    const hostMounts = mountInfo(1);
    const host = hostMounts.length ? hostMounts : mountInfo('self');
    const onHost = host.find(isWanted);
    const seen = new Set<string>();
    for (const p of newestFirst(inNewNamespace('mnt'))) {
      if (seen.has(p.ns.mnt!) || inNsxContainer(p.pid)) continue;
      seen.add(p.ns.mnt!);
      const m = mountInfo(p.pid).find(isWanted);
      if (!m) continue;
      if (onHost)
        return {
          ok: false,
          message: `Process ${p.pid} (${p.comm}) has the tmpfs "${WANTED}" at ${m.mountPoint}, but the host sees a "${WANTED}" too, at ${onHost.mountPoint}: mounts under a shared mount propagate. Unmount it, and make the new namespace's mounts private first.`,
        };
      return {
        ok: true,
        message: `Process ${p.pid} (${p.comm}) has the tmpfs "${WANTED}" at ${m.mountPoint} in a mount namespace of its own, and the host's mount table has no "${WANTED}".`,
      };
    }
    if (onHost)
      return {
        ok: false,
        message: `The host itself has a tmpfs "${WANTED}" (at ${onHost.mountPoint}), and no process of a mount namespace of its own has one. Unmount it on the host (umount ${onHost.mountPoint}) and mount it inside a new namespace instead.`,
      };
    return {
      ok: false,
      message: `No process (outside nsx) in a mount namespace of its own has a tmpfs "${WANTED}" mounted yet.`,
    };
  },
  hints: [
    'unshare(1) creates a new mount namespace. Read what its manual says it does about propagation, and why (mount_namespaces(7), NOTES).',
    'mount(8) takes a filesystem type and a source; for tmpfs the source is free text, and /proc/self/mountinfo shows it.',
    'The mount lives as long as its namespace does: keep a process in it running (a shell is enough) while you check.',
  ],
  quiz: [
    {
      question:
        'On a systemd machine, a program calls unshare(CLONE_NEWNS) and then mounts a tmpfs on /mnt, changing no propagation. Does the host see the tmpfs?',
      choices: [
        'No: a new mount namespace is always isolated',
        "Yes: the copied / is still shared with the host's /, so the mount propagates",
        'Only processes of the same user see it',
      ],
      answer: 1,
      why: 'mount_namespaces(7): systemd "automatically remounts all mounts as MS_SHARED", and a mount copied into a new namespace joins the peer group of the original, so mount events under it propagate both ways. That is why unshare(1) runs the equivalent of mount --make-rprivate / in the new namespace, and why runtimes make their mounts private (runc: slave) before mounting anything.',
    },
    {
      question: "Why does a runtime mount a new proc filesystem for the container instead of reusing the host's /proc?",
      choices: [
        "The host's /proc is read-only",
        'A proc filesystem shows the processes of the PID namespace of whoever mounted it',
        'To save memory',
      ],
      answer: 1,
      why: 'pid_namespaces(7): "A /proc filesystem shows (in the /proc/pid directories) only processes visible in the PID namespace of the process that performed the mount." Mounted from inside the container\'s PID namespace, it shows only the container.',
    },
  ],
};

export default mnt;
