// The machine as `nsx doctor` sees it: a handful of reads, injectable so that unit tests can
// describe any machine (a pure cgroup v2 VM, a hybrid host, a kernel without user namespaces...).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, readlinkSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { delimiter, join } from 'node:path';
import { detectLayout, type CgroupLayout } from '../runtime/cgroups/index.js';
import { packageRoot, shimPath } from '../paths.js';

export interface DoctorEnv {
  /** A file's text, or undefined when it is absent or unreadable. */
  readFile(path: string): string | undefined;
  /** A symlink's target, or undefined. */
  readlink(path: string): string | undefined;
  exists(path: string): boolean;
  /** A regular file this user may execute (access(2) X_OK). */
  executable(path: string): boolean;
  uid(): number;
  /** uname -r */
  kernelRelease(): string;
  /** The full path of a command found on PATH, or undefined. */
  which(cmd: string): string | undefined;
  /** detectLayout() from src/runtime/cgroups/layout.ts; throws when no cgroup filesystem is mounted. */
  cgroupLayout(): CgroupLayout;
  shimPath(): string;
  packageRoot(): string;
  /** The active LSMs, in the kernel's order (securityfs's `lsm` file), or undefined when they cannot
   *  be read (see activeLsms). */
  activeLsms(): string[] | undefined;
}

const LSM_FILE = '/sys/kernel/security/lsm';

/** The kernel lists its active security modules in securityfs (Documentation/admin-guide/LSM/index.rst).
 *  Where securityfs is not mounted (some containers and VMs), root can still read it: mounted in a
 *  mount namespace of its own (unshare(1)), the host's mounts are left untouched. */
export function activeLsms(
  read: (p: string) => string | undefined = readOrUndefined,
  root = process.getuid?.() === 0,
): string[] | undefined {
  let text = read(LSM_FILE);
  if (text === undefined && root) {
    const r = spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        `mount -t securityfs securityfs /sys/kernel/security && cat ${LSM_FILE}`,
      ],
      {
        encoding: 'utf8',
        timeout: 5000,
      },
    );
    if (r.status === 0) text = r.stdout;
  }
  return text === undefined ? undefined : text.trim().split(',').filter(Boolean);
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The real machine this process runs on. */
export function realEnv(): DoctorEnv {
  return {
    readFile: readOrUndefined,
    readlink: (p) => {
      try {
        return readlinkSync(p);
      } catch {
        return undefined;
      }
    },
    exists: (p) => {
      try {
        statSync(p);
        return true;
      } catch {
        return false;
      }
    },
    executable: isExecutable,
    uid: () => process.getuid?.() ?? -1,
    kernelRelease: release,
    which: (cmd) =>
      (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, cmd))
        .find(isExecutable),
    cgroupLayout: () => detectLayout(),
    shimPath,
    packageRoot,
    activeLsms: () => activeLsms(),
  };
}
