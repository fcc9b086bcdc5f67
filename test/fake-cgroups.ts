// A cgroup filesystem made of plain directories under a temp dir, for unit tests of
// src/runtime/cgroups on layouts this machine does not have (pure v1, pure v2). The cgroup code
// takes the temp dir as its fsRoot and this module's `dirs` as its mkdir/rmdir, which do what the
// kernel does on cgroupfs (cgroups(7)): mkdir fills the new cgroup with its interface files at
// their defaults, rmdir refuses a cgroup with child cgroups (EBUSY; a child directory also stands
// in for processes, which a fake tree cannot have) and takes the files with it. Like youki's
// set_fixture, this lives in test code: production code has no fake mode.
import { mkdirSync, readdirSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CgroupDirs, CgroupLayout } from '../src/runtime/cgroups/index.js';

const CPU_PERIOD_US = 100_000;

// Debian 13 / Fedora: the unified hierarchy alone, at /sys/fs/cgroup.
export const MOUNTINFO_V2 = `22 29 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
29 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

// CentOS 7 style v1: co-mounted cpu,cpuacct and net_cls,net_prio, a named systemd hierarchy with
// options that are not controllers (xattr, release_agent=...).
export const MOUNTINFO_V1 = `24 1 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/root rw
25 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
26 25 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 25 0:23 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
29 25 0:24 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
30 25 0:25 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,pids
31 25 0:26 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,net_cls,net_prio
32 25 0:27 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpuset,clone_children
`;

// This machine: each v1 controller on its own mount, name=systemd, and cgroup2 at unified.
export const MOUNTINFO_HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

/** What the kernel puts in a fresh cgroup directory, with its defaults (cgroup-v2.rst, cgroup-v1/*.rst). */
export function interfaceFiles(version: 1 | 2, controllers: string[]): Record<string, string> {
  const files: Record<string, string> = { 'cgroup.procs': '' };
  if (version === 2) {
    Object.assign(files, {
      'cgroup.controllers': controllers.join(' ') + '\n',
      'cgroup.subtree_control': '\n',
      'cgroup.events': 'populated 0\nfrozen 0\n',
    });
  } else {
    files.tasks = '';
  }
  for (const c of controllers) {
    if (c === 'memory' && version === 2) {
      Object.assign(files, {
        'memory.max': 'max\n',
        'memory.swap.max': 'max\n',
        'memory.current': '0\n',
        'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
      });
    } else if (c === 'memory') {
      Object.assign(files, {
        'memory.limit_in_bytes': '9223372036854771712\n',
        'memory.memsw.limit_in_bytes': '9223372036854771712\n',
        'memory.usage_in_bytes': '0\n',
        'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
      });
    } else if (c === 'pids') {
      Object.assign(files, { 'pids.max': 'max\n', 'pids.current': '0\n' });
    } else if (c === 'cpu' && version === 2) {
      files['cpu.max'] = `max ${CPU_PERIOD_US}\n`;
    } else if (c === 'cpu') {
      Object.assign(files, { 'cpu.cfs_period_us': `${CPU_PERIOD_US}\n`, 'cpu.cfs_quota_us': '-1\n' });
    } else if (c === 'cpuacct') {
      files['cpuacct.usage'] = '0\n';
    }
  }
  return files;
}

/** A v2 root as the kernel shows it: the controllers it offers, none enabled for children yet. */
export function fakeV2Root(fsRoot: string, mount: string, controllers: string): void {
  const dir = join(fsRoot, mount);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cgroup.controllers'), controllers + '\n');
  writeFileSync(join(dir, 'cgroup.subtree_control'), '\n');
  writeFileSync(join(dir, 'cgroup.procs'), '1\n');
}

/** v1 hierarchy roots: the tests never read their own files, only their children's. */
export function fakeV1Roots(fsRoot: string, ...mounts: string[]): void {
  for (const m of mounts) mkdirSync(join(fsRoot, m), { recursive: true });
}

/** Tokens in cgroup.subtree_control; what the cgroup code wrote there ("+memory +pids") counts. */
function subtreeControl(dir: string): string[] {
  let text = '';
  try {
    text = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8');
  } catch {
    /* none: nothing enabled */
  }
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((t) => t.replace(/^\+/, ''));
}

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall} '${path}'`);
  Object.assign(err, { code, syscall, path });
  return err;
}

/**
 * mkdir/rmdir as cgroupfs does them, for the tree `layout` describes under fsRoot. A new cgroup
 * gets the files of the controllers its hierarchy gives it: on v1 every controller mounted there;
 * on v2 those its parent enabled in cgroup.subtree_control (cgroup-v2.rst "Top-down Constraint").
 */
export function fakeCgroupDirs(fsRoot: string, layout: CgroupLayout): CgroupDirs {
  const hierarchyOf = (dir: string): { version: 1 | 2; controllers: string[] } => {
    const mounts = [...new Set(Object.values(layout.v1)), ...(layout.unified !== undefined ? [layout.unified] : [])];
    const inside = mounts.filter((m) => dir.startsWith(join(fsRoot, m) + '/'));
    const mount = inside.sort((a, b) => b.length - a.length)[0];
    if (mount === undefined) throw new Error(`fake cgroups: ${dir} is in no hierarchy of the layout`);
    if (mount === layout.unified) return { version: 2, controllers: subtreeControl(dirname(dir)) };
    return {
      version: 1,
      controllers: Object.entries(layout.v1)
        .filter(([, m]) => m === mount)
        .map(([c]) => c),
    };
  };
  return {
    mkdir(dir) {
      mkdirSync(dir); // EEXIST, ENOENT as the kernel would say them
      const { version, controllers } = hierarchyOf(dir);
      for (const [name, content] of Object.entries(interfaceFiles(version, controllers))) {
        writeFileSync(join(dir, name), content);
      }
    },
    rmdir(dir) {
      const entries = readdirSync(dir, { withFileTypes: true }); // ENOENT passes through
      // Only child cgroups make it busy: the pids a test writes to cgroup.procs are not processes.
      if (entries.some((e) => e.isDirectory())) throw errno('EBUSY', 'rmdir', dir);
      for (const e of entries) unlinkSync(join(dir, e.name));
      rmdirSync(dir);
    },
  };
}
