// Small filesystem helpers for layer and container directories: walk without following symlinks,
// remove trees whose directories may be read-only (a layer's /proc is 0555, overlayfs leaves its
// work/work dir at 0000), and spawn the few tools Node has no call for (mknod, setfattr).
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, rmdirSync, unlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/** lstat, or undefined when there is nothing there (ENOENT without the cost of an exception). */
export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR: a file where a directory was expected
  }
}

/** rm -rf that never follows a symlink and makes directories writable before emptying them
 *  (as their owner, or as root). Absent is fine. */
export function removeTree(path: string): void {
  const st = lstatOrUndefined(path);
  if (!st) return;
  if (!st.isDirectory()) {
    unlinkSync(path);
    return;
  }
  if ((st.mode & 0o700) !== 0o700) {
    try {
      chmodSync(path, 0o700);
    } catch {
      /* not ours: removal below says why if it matters */
    }
  }
  for (const name of readdirSync(path)) removeTree(join(path, name));
  rmdirSync(path);
}

/** An overlayfs whiteout: a character device with device number 0/0 (overlayfs.rst, "whiteouts"). */
export function isWhiteoutDevice(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Runs a tool with arguments (no shell); returns an error text or undefined on success. */
export function runTool(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error)
    return (r.error as NodeJS.ErrnoException).code === 'ENOENT'
      ? `${cmd}: not installed`
      : `${cmd}: ${r.error.message}`;
  if (r.status !== 0) return `${cmd}: ${(r.stderr || `exit status ${r.status}`).trim().split('\n')[0]}`;
  return undefined;
}

/** The same tool over many paths, in batches that stay far below ARG_MAX. */
export function runToolOnPaths(cmd: string, fixedArgs: string[], paths: string[]): string | undefined {
  for (let i = 0; i < paths.length; i += 500) {
    const err = runTool(cmd, [...fixedArgs, ...paths.slice(i, i + 500)]);
    if (err) return err;
  }
  return undefined;
}
