// Resolve a path inside a root directory the way the container will see it: symlinks are followed
// but can never lead above the root (like filepath-securejoin, which runc uses for mount targets).
import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { NsxError } from './errors.js';

const MAX_LINKS = 255;

/** The components of `unsafe` with every symlink resolved inside a root: `readLink(parts)` returns
 *  the target of the symlink at those components, or undefined when it is no symlink (or absent, and
 *  the rest is taken literally). ".." at the root stays at the root, as in the kernel. */
export function resolveInside(unsafe: string, readLink: (parts: string[]) => string | undefined): string[] {
  let rest = unsafe.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (rest.length) {
    const part = rest.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const target = readLink([...done, part]);
    if (target === undefined) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new NsxError(`too many levels of symbolic links in ${unsafe}`);
    if (target.startsWith('/')) done.length = 0;
    rest = [...target.split('/').filter(Boolean), ...rest];
  }
  return done;
}

export function secureJoin(root: string, unsafe: string): string {
  const parts = resolveInside(unsafe, (p) => {
    const full = posix.join(root, ...p);
    try {
      return lstatSync(full).isSymbolicLink() ? readlinkSync(full) : undefined;
    } catch {
      return undefined;
    }
  });
  return posix.join(root, ...parts);
}
