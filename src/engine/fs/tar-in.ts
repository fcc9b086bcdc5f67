// docker cp into a container (PUT /containers/{id}/archive?path=DIR): a tar extracted into a directory
// of the container's root, every entry placed as if the engine were chrooted there (inroot.ts):
//   - a name is relative to DIR; one whose ".." climbs above DIR is refused (moby's Unpack: "breakout");
//   - the directories above an entry are resolved inside the root, symlinks followed there and only
//     there (an earlier entry "a -> /etc" makes "a/x" the container's /etc/x, never the host's), and
//     missing ones are made (0755, as moby's untar);
//   - the entry itself is never followed: an old non-directory there is unlinked first and the file
//     created with O_CREAT|O_EXCL|O_NOFOLLOW;
//   - a symlink whose target, joined to its directory, leaves DIR, and a hard link to a name outside
//     DIR are refused as moby refuses them ("invalid symlink", "invalid hardlink"); a hard link's
//     target is resolved inside the root, its last component not followed;
//   - noOverwriteDirNonDir: a directory is not replaced by a non-directory nor the other way round
//     (moby's TarOptions.NoOverwriteDirNonDir, which the docker CLI always asks for);
//   - device nodes are refused (nsx's engine makes none; mknod(2) is not in Node).
// Owners are the tar's (lchown, as the engine is root; as moby's untar), modes and times too;
// directories' times are set last, once nothing more is written into them.
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { ApiError } from '../errors.js';
import { entryParts, lstatQuiet, type InRoot } from './inroot.js';

export interface UntarOptions {
  noOverwriteDirNonDir: boolean;
  /** chown to the tar's owners (the engine is root). */
  chown: boolean;
  /** The first component of every name replaced (docker cp to a new name: the CLI's
   *  RebaseArchiveEntries, done here for nsx cp's own extraction). */
  rebase?: { from: string; to: string };
}

/** NAME with its first component FROM replaced by TO. */
export function rebaseName(name: string, r: { from: string; to: string }): string {
  const n = name.replace(/^\/+/, '');
  if (n === r.from || n === `${r.from}/`) return n.replace(r.from, r.to);
  if (n.startsWith(`${r.from}/`)) return r.to + n.slice(r.from.length);
  return n;
}

const bad = (message: string) => new ApiError(400, message);

/** Extracts the tar on INPUT into the directory DIR (a container path, resolved in the root). */
export async function untarInto(fs: InRoot, dir: string, input: Readable, o: UntarOptions): Promise<void> {
  const dest = fs.dir(dir, false);
  if (!dest) throw new ApiError(404, `Could not find the file ${dir} in container`);
  const destPath = '/' + dest.join('/');
  const dirTimes: [string[], Date][] = [];
  const x = extract();
  input.pipe(x as unknown as NodeJS.WritableStream);
  input.once('error', (e) => x.destroy(e));
  for await (const entry of x) {
    const h = entry.header;
    if (o.rebase) {
      h.name = rebaseName(h.name, o.rebase);
      if (h.type === 'link') h.linkname = rebaseName(h.linkname, o.rebase);
    }
    const rel = entryParts(h.name);
    if (rel === undefined)
      throw bad(`invalid file name in the archive: ${JSON.stringify(h.name)} is outside of ${dir}`);
    if (!rel.length) {
      // "./": the directory itself (its mode and times, as moby applies them)
      entry.resume();
      continue;
    }
    const parent = fs.dir(posix.join(destPath, ...rel.slice(0, -1)), true);
    if (!parent) throw bad(`cannot extract ${h.name}: a component of its path is not a directory`);
    const name = rel[rel.length - 1];
    const target = fs.host([...parent, name]);
    const old = lstatQuiet(target);
    const isDir = h.type === 'directory';
    if (old && o.noOverwriteDirNonDir) {
      if (old.isDirectory() && !isDir)
        throw bad(`cannot overwrite directory "${posix.join(dir, ...rel)}" with non-directory "${h.name}"`);
      if (!old.isDirectory() && isDir)
        throw bad(`cannot overwrite non-directory "${posix.join(dir, ...rel)}" with directory "${h.name}"`);
    }
    if (old && !(old.isDirectory() && isDir)) {
      if (old.isDirectory())
        rmSync(target, { recursive: true, force: true }); // does not follow symlinks
      else unlinkSync(target);
    }
    const mode = h.mode & 0o7777;
    switch (h.type) {
      case 'directory':
        if (!old?.isDirectory()) mkdirSync(target, { mode: 0o700 });
        chmodSync(target, mode); // a real directory (checked, or just made): chmod follows nothing
        if (o.chown) lchownSync(target, h.uid, h.gid);
        dirTimes.push([[...parent, name], h.mtime]);
        entry.resume();
        break;
      case 'file':
      case 'contiguous-file': {
        const fd = openSync(
          target,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        );
        try {
          for await (const chunk of entry) writeSync(fd, chunk as Buffer);
          if (o.chown) fchownSync(fd, h.uid, h.gid);
          fchmodSync(fd, mode); // after chown, which clears set-user-ID
          futimesSync(fd, h.mtime, h.mtime);
        } finally {
          closeSync(fd);
        }
        break;
      }
      case 'symlink': {
        const to = posix.join(posix.join(destPath, ...rel.slice(0, -1)), h.linkname);
        if (!isUnder(to, destPath)) throw bad(`invalid symlink "${posix.join(dir, ...rel)}" -> "${h.linkname}"`);
        symlinkSync(h.linkname, target);
        if (o.chown) lchownSync(target, h.uid, h.gid);
        lutimesSync(target, h.mtime, h.mtime);
        entry.resume();
        break;
      }
      case 'link': {
        const linkRel = entryParts(h.linkname);
        if (linkRel === undefined || !linkRel.length)
          throw bad(`invalid hardlink "${posix.join(dir, ...rel)}" -> "${h.linkname}"`);
        const from = fs.resolve(posix.join(destPath, ...linkRel), false);
        const st = lstatQuiet(fs.host(from));
        if (!st || st.isDirectory())
          throw bad(`invalid hardlink "${posix.join(dir, ...rel)}" -> "${h.linkname}": no such file in the archive`);
        linkSync(fs.host(from), target);
        entry.resume();
        break;
      }
      default:
        throw bad(
          `cannot extract ${h.name}: it is a ${h.type}, and nsx's engine makes no device nodes or FIFOs in a container`,
        );
    }
  }
  // Resolved again: a later entry may have replaced a directory above it with a symlink.
  for (const [parts, t] of dirTimes.reverse()) {
    const now = fs.resolve('/' + parts.join('/'), false);
    if (now.join('/') !== parts.join('/') || !lstatQuiet(fs.host(now))?.isDirectory()) continue;
    lutimesSync(fs.host(now), t, t);
  }
}

function isUnder(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(dir + '/');
}
