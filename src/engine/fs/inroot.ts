// Paths inside a container's root, resolved on the host as if the engine were chrooted there: what
// openat2(2)'s RESOLVE_IN_ROOT does in the kernel ("..", absolute symlinks and relative ones that
// climb all stay at the root), which Node cannot call. So every path is walked here one component at
// a time with lstat(2) and readlink(2) (runtime/securejoin.ts's resolveInside), and what is handed to
// the kernel afterwards is only ROOT/a/b/c where no component but possibly the last is a symlink, and
// never "..": the kernel has nothing left to resolve that could leave the root.
//
// The walk and its use are two steps: a process inside a running container could swap a checked
// directory for a symlink between them (CVE-2018-15664, docker cp's race). As moby does since that
// CVE, the engine freezes a running container for the time of a copy (see container-root.ts).
import { lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { resolveInside } from '../../runtime/securejoin.js';

/** lstat, or undefined when nothing is there (ENOENT, or ENOTDIR: a file where a directory was). */
export function lstatQuiet(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** A container's root on the host, and paths in it. */
export class InRoot {
  constructor(readonly root: string) {}

  /** ROOT/parts: parts come from resolve() (no "..", no "."; none of them but the last a symlink).
   *  The root itself is ROOT/ with its slash: /proc/PID/root is a symlink to lstat(2) without it. */
  host(parts: string[]): string {
    return `${this.root.replace(/\/+$/, '')}/${parts.join('/')}`;
  }

  /** The components of PATH (a container path, absolute or taken from "/") with every symlink
   *  resolved inside the root. With followLast false a symlink as the last component stays itself
   *  (lstat's view: docker cp copies a symlink, not what it points to, unless asked with -L). */
  resolve(path: string, followLast = true): string[] {
    const trimmed = path.split('/').filter((p) => p !== '' && p !== '.');
    if (!followLast && trimmed.length && trimmed[trimmed.length - 1] !== '..') {
      // The parent resolved (symlinks and ".." in it), the last name kept as it is.
      const last = trimmed[trimmed.length - 1];
      return [...this.resolve(trimmed.slice(0, -1).join('/')), last];
    }
    return resolveInside(path, (parts) => {
      const full = this.host(parts);
      const st = lstatQuiet(full);
      return st?.isSymbolicLink() ? readlinkSync(full) : undefined;
    });
  }

  /** The directory at PATH (symlinks followed inside the root), made with its missing parents
   *  (mode 0755, as docker's untar makes them) when CREATE; its components, or undefined when it is
   *  not there (or not a directory). */
  dir(path: string, create: boolean): string[] | undefined {
    for (let guard = 0; guard < 4096; guard++) {
      const parts = this.resolve(path);
      // The first missing or non-directory component decides.
      let k = 0;
      let st: Stats | undefined;
      for (; k <= parts.length; k++) {
        st = lstatQuiet(this.host(parts.slice(0, k)));
        if (!st?.isDirectory()) break;
      }
      if (k > parts.length) return parts;
      if (st || !create) return undefined; // a file where a directory must be (or absent, not making it)
      mkdirSync(this.host(parts.slice(0, k)), { mode: 0o755 }); // one level; the walk goes again from the root
    }
    return undefined;
  }
}

/** A tar entry's name as a path under the directory it is extracted into, or undefined when it would
 *  leave it (moby's Unpack: Join(dest, name) must stay under dest, else "breakout"). A leading "/" is
 *  taken off (the name is relative to dest, as Join makes it). */
export function entryParts(name: string): string[] | undefined {
  const out: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (!out.length) return undefined;
      out.pop();
    } else out.push(p);
  }
  return out;
}
