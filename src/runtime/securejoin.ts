// Resolve a path inside a root directory the way the container will see it: symlinks are followed
// but can never lead above the root (like filepath-securejoin, which runc uses for mount targets).
import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';

const MAX_LINKS = 255;

export function secureJoin(root: string, unsafe: string): string {
  let rest = unsafe.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (rest.length) {
    const part = rest.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop(); // ".." at the root stays at the root, as in the kernel
      continue;
    }
    const full = posix.join(root, ...done, part);
    let target: string | undefined;
    try {
      if (lstatSync(full).isSymbolicLink()) target = readlinkSync(full);
    } catch {
      /* absent: the rest is taken literally */
    }
    if (target === undefined) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new Error(`too many levels of symbolic links in ${unsafe}`);
    if (target.startsWith('/')) done.length = 0;
    rest = [...target.split('/').filter(Boolean), ...rest];
  }
  return posix.join(root, ...done);
}
