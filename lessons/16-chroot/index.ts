import type { Lesson } from '../../src/learn/lesson.js';
import { inNewNamespace, inNsxContainer, mountInfo, newestFirst } from '../../src/learn/kernel.js';
import { readlinkSync, statSync } from 'node:fs';

/** The classic escape, with busybox only. busybox's `nsenter --root=DIR` calls chroot(DIR) and then
 *  goes back to the directory it was in, which is now outside its root; from there ".." climbs until
 *  it is the same directory as "." (the top of the mount tree), and `chroot .` makes that the root. */
const JAIL = 'mkdir -p /tmp/x && cp /bin/busybox /tmp/x/';
const CLIMB = 'until [ . -ef .. ]; do cd -P ..; done';
const ESCAPE = ['nsenter', '--root=/tmp/x', '/busybox', 'sh', '-c', `${CLIMB}; chroot . ls /`];

/** Device and inode, or undefined (the process is gone, or never was). */
function fileId(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

function link(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '?';
  }
}

const chroot: Lesson = {
  id: 'chroot',
  title: 'chroot: a root that can be climbed out of, and pivot_root',
  minutes: 10,
  needsRoot: true,
  manPages: ['chroot(2)', 'pivot_root(2)', 'mount_namespaces(7)', 'capabilities(7)'],
  run: {
    options: { unsafeChroot: true },
    // With Docker's default capabilities (CAP_SYS_CHROOT among them): the jail's /etc/hostname, then the host's.
    command: [
      '/bin/sh',
      '-c',
      `echo "inside the jail: $(cat /etc/hostname)"; ${JAIL} && nsenter --root=/tmp/x /busybox sh -c '${CLIMB}; echo "after the escape: $(chroot . cat /etc/hostname)"'`,
    ],
  },
  focus: ['pivot-root', 'capabilities'],
  demos: [
    {
      after: 'pivot-root',
      command: ['sh', '-c', 'echo /*'],
      notice: 'The jail: from here, "/" is the root filesystem\'s directory, and these are all the names it has.',
    },
    {
      after: 'pivot-root',
      command: ['sh', '-c', JAIL],
      notice:
        "A smaller jail inside the jail: a directory with a static busybox in it (in the container's private /tmp).",
    },
    {
      after: 'pivot-root',
      command: ESCAPE,
      notice:
        'nsenter --root=/tmp/x calls chroot("/tmp/x") and returns to the directory it was in, now outside its root. ".." from there never meets the root, so cd climbs to the host\'s "/", and chroot . makes it the root: this is the host\'s tree.',
    },
    {
      after: 'pivot-root',
      onHost: true,
      command: [
        '{nsx}',
        'run',
        '--rootfs',
        '{rootfs}',
        '/bin/sh',
        '-c',
        `${JAIL} && nsenter --root=/tmp/x /busybox sh -c "${CLIMB}; chroot . ls /"`,
      ],
      notice:
        'The same steps in a second container, built with pivot_root (nsx run\'s default): ".." of its root is the root itself, the climb ends at once, and ls lists the container\'s own tree.',
    },
  ],
  async check() {
    // The host's root filesystem, as mounted at its "/" (the last of any mounts stacked there).
    const host = mountInfo(1).length ? mountInfo(1) : mountInfo('self');
    const hostRoot = host.filter((m) => m.mountPoint === '/').pop();
    const seen = new Set<string>();
    let chrooted: string | undefined;
    let attached: string | undefined;
    for (const p of newestFirst(inNewNamespace('mnt'))) {
      // Kernel threads (no command line; kdevtmpfs has a mount namespace of its own) and nsx's own.
      if (!p.cmdline || inNsxContainer(p.pid)) continue;
      const root = `/proc/${p.pid}/root`;
      const rootId = fileId(root);
      const aboveId = fileId(`${root}/..`);
      const key = `${p.ns.mnt} ${rootId}`;
      if (!rootId || !aboveId || rootId === fileId('/') || seen.has(key)) continue;
      seen.add(key);
      // pivot_root(".", ".") stacks the old root on top of the new one: until it is detached, the
      // host's root filesystem is still mounted in the namespace, a way back.
      const old = hostRoot && mountInfo(p.pid).find((m) => m.dev === hostRoot.dev && m.root === hostRoot.root);
      if (old) {
        attached ??= `Process ${p.pid} (${p.comm}) switched to a new root, but the host's root filesystem is still mounted in its namespace, at ${old.mountPoint}: a way back to the host. Detach it.`;
        continue;
      }
      // Resolved from the host, ".." of a process's root leads on into the tree above it, unless the
      // root is the top of its mount namespace (pivot_root's new root): then ".." is the root itself.
      if (aboveId !== rootId) {
        chrooted ??= `Process ${p.pid} (${p.comm}) has a root of its own (${link(root)}), but ".." above it still leads into the host's tree: that is a chroot, and the escape you saw climbs out of it.`;
        continue;
      }
      return {
        ok: true,
        message: `Process ${p.pid} (${p.comm}) has a root of its own at the top of its own mount namespace: ".." of its root is the root itself, and the host's root filesystem is not mounted there. Nothing to climb out to.`,
      };
    }
    return {
      ok: false,
      message:
        attached ?? chrooted ?? 'No process (outside nsx) has a root of its own in a mount namespace of its own yet.',
    };
  },
  hints: [
    "Work in a new mount namespace only: pivot_root(2) moves the root of every process of the namespace that had the old root, so in the host's own namespace it would move the whole machine.",
    'pivot_root(2) lists its conditions: the new root must be a mount point. What makes a directory into one?',
    'pivot_root(2) explains how new_root and put_old can be the same directory, and what to do with the old root afterwards.',
    'Before you check, try the escape from your shell (busybox has nsenter, chroot and cd -P): where does it end?',
  ],
  quiz: [
    {
      question: 'A process running as root with CAP_SYS_CHROOT is in a chroot jail. What stops it from getting out?',
      choices: [
        'The kernel forbids ".." at the jail\'s root',
        'Nothing: it can chroot into a subdirectory, climb "..", and chroot back to the real root',
        'Only the lack of a shell in the jail',
      ],
      answer: 1,
      why: "chroot(2): \"This call does not change the current working directory, so that after the call '.' can be outside the tree rooted at '/'. In particular, the superuser can escape from a \"chroot jail\" by doing: mkdir foo; chroot foo; cd ..\" Docker's default capabilities include CAP_SYS_CHROOT, so chroot alone would not hold a default container.",
    },
    {
      question:
        'Why does the same climb fail after pivot_root(".", ".") and umount2(".", MNT_DETACH) in a new mount namespace?',
      choices: [
        'pivot_root blocks the chroot system call',
        "The new root is the top of the namespace's mount tree and the old root is detached: there is no directory above it to reach",
        'The container has no CAP_SYS_CHROOT',
      ],
      answer: 1,
      why: 'pivot_root(2) "moves the root mount to the directory put_old and makes new_root the new root mount"; the detach then removes the old root from the namespace. ".." of the root of the mount tree is itself, and no mount of the namespace leads back to the host\'s tree, whatever capabilities the process has.',
    },
  ],
};

export default chroot;
