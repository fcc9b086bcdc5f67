// The machine as `nsx doctor` sees it: a handful of reads, injectable so that unit tests can
// describe any machine (a pure cgroup v2 VM, a hybrid host, a kernel without user namespaces...).
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
  };
}
