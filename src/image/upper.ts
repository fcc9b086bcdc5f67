// A container's overlay upper directory read back: the changes it holds (docker diff's A/C/D) and the
// layer tar it makes (docker commit, each RUN of docker build).
//
// What overlayfs leaves in upperdir (kernel Documentation/filesystems/overlayfs.rst):
//   - a file or directory the container created, or copied up when it changed one of the layers'
//     (a copy-up brings the file's parent directories up too, unchanged);
//   - "whiteouts": a character device with device number 0/0 where the container deleted a name the
//     layers below have;
//   - "opaque directories": a directory with the xattr trusted.overlay.opaque="y" (user.overlay.opaque
//     when mounted with userxattr, in a user namespace) where the container removed a directory of
//     the layers below and made one of the same name: nothing below shows through it.
// Two features would make the upper directory mean more than that: redirect_dir (a renamed directory
// records where it came from, trusted.overlay.redirect) and metacopy (a chmod copies up the metadata
// only, trusted.overlay.metacopy, and the data stays below). nsx mounts without asking for either;
// where a kernel's defaults turn them on, the walk refuses the directory rather than miss a change.
//
// The changes are moby's for overlay2 (pkg/archive/changes.go, changes() with overlayDeletedFile):
// walked in lexical order; a whiteout or an opaque directory is a deletion of its path; anything else
// is a modification if the layers below have the path, else an addition; a directory that is only
// there as the parent of a change, with the same mode, size and mtime as below, is not a change
// itself, but the parent of an addition or deletion always is (moby PR 13590).
//
// The tar is what moby's overlay2 Diff writes (pkg/archive's overlayWhiteoutConverter), the format of
// image-spec layer.md: a whiteout becomes an empty regular file ".wh.NAME" (mode 0600), an opaque
// directory its own entry followed by an empty ".wh..wh..opq" inside it. Names are relative, directories
// end in "/", a second name of a hardlinked file is a hardlink entry, sockets are left out (a tar
// cannot hold one). Extended attributes other than overlay's (security.capability) are not carried.
import { spawnSync } from 'node:child_process';
import { createReadStream, lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack, type Pack } from 'tar-stream';

type Header = Parameters<Pack['entry']>[0];
import { NsxError } from '../runtime/errors.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './extract.js';
import { isWhiteoutDevice } from './tree.js';

/** docker's change kinds, and their numbers in GET /containers/{id}/changes (moby's ChangeType). */
export type ChangeKind = 'modified' | 'added' | 'deleted';
export const CHANGE_KIND_CODE: Record<ChangeKind, 0 | 1 | 2> = { modified: 0, added: 1, deleted: 2 };
/** docker diff's letters. */
export const CHANGE_KIND_LETTER: Record<ChangeKind, 'C' | 'A' | 'D'> = { modified: 'C', added: 'A', deleted: 'D' };

export interface UpperChange {
  /** Absolute, as the container sees it: "/etc/passwd". */
  path: string;
  kind: ChangeKind;
}

/** What the layers below have at a path (LayeredView has it): the entry found, or undefined. */
export interface LowerLayers {
  find(parts: string[]): { st: Stats } | undefined;
}

/** One entry of the upper directory, in walk order (parents before children, names sorted). */
export interface UpperEntry {
  /** Relative to the upper directory, "/"-separated, no leading "/". */
  rel: string;
  parts: string[];
  st: Stats;
  /** A character device 0/0: the name is deleted. */
  whiteout: boolean;
  /** A directory marked opaque: nothing of the layers below shows through it. */
  opaque: boolean;
}

/** The overlay xattrs that matter, by path relative to the upper directory. */
interface OverlayMarks {
  opaque: Set<string>;
  /** A path and the feature that marked it (redirect, metacopy). */
  refused?: { rel: string; attr: string };
}

const OVERLAY_XATTRS = '^(trusted|user)\\.overlay\\.(opaque|redirect|metacopy)$';

/** getfattr's escapes in a file name ("\012" for a newline, "\\" for a backslash) decoded. */
function unescapeName(s: string): string {
  return Buffer.from(
    s.replace(/\\(\\|[0-7]{3})/g, (_m, e: string) => (e === '\\' ? '\\' : String.fromCharCode(parseInt(e, 8)))),
    'latin1',
  ).toString('utf8');
}

/** Reads every overlay xattr under UPPER with one getfattr(1) walk (Node has no getxattr): -R walks,
 *  -P and -h never follow a symlink, -d prints the values, -m keeps overlay's names only, and only
 *  entries that have one print. */
export function overlayMarks(upper: string): OverlayMarks {
  const r = spawnSync('getfattr', ['-R', '-P', '-h', '-d', '--absolute-names', '-m', OVERLAY_XATTRS, '--', upper], {
    encoding: 'latin1',
    maxBuffer: 64 << 20,
  });
  if (r.error)
    throw new NsxError(
      (r.error as NodeJS.ErrnoException).code === 'ENOENT'
        ? "reading the overlay's opaque directories: getfattr is not installed"
        : `getfattr: ${r.error.message}`,
      { hint: 'apt-get install attr (getfattr reads the trusted.overlay.opaque xattrs overlayfs sets)' },
    );
  // Exit status 1 with output is fine: an entry vanished during the walk. Nothing on stdout and an
  // error is not.
  if (r.status !== 0 && !r.stdout)
    throw new NsxError(`getfattr ${upper}: ${(r.stderr || `exit status ${r.status}`).trim().split('\n')[0]}`);
  const marks: OverlayMarks = { opaque: new Set() };
  let file: string | undefined;
  for (const line of r.stdout.split('\n')) {
    const f = /^# file: (.*)$/.exec(line);
    if (f) {
      file = unescapeName(f[1]);
      continue;
    }
    const a = /^(trusted|user)\.overlay\.(opaque|redirect|metacopy)(?:="(.*)")?$/.exec(line);
    if (!a || file === undefined) continue;
    const rel = file === upper ? '' : file.startsWith(`${upper}/`) ? file.slice(upper.length + 1) : undefined;
    if (rel === undefined) continue;
    if (a[2] === 'opaque') {
      if (a[3] === 'y') marks.opaque.add(rel); // "x" (Linux 6.7+) marks a directory holding xwhiteouts, which only tools make
    } else marks.refused ??= { rel, attr: `${a[1]}.overlay.${a[2]}` };
  }
  return marks;
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Every entry of the upper directory (the root itself not included), parents first, names in byte
 *  order as moby's filepath.Walk; never following a symlink. */
export function walkUpper(upper: string): UpperEntry[] {
  const marks = overlayMarks(upper);
  if (marks.refused)
    throw new NsxError(
      `${join(upper, marks.refused.rel)} has ${marks.refused.attr}: the overlay was mounted with ${
        marks.refused.attr.endsWith('redirect') ? 'redirect_dir' : 'metacopy'
      }, and nsx reads an upper directory only without it`,
      {
        hint: 'the kernel turns it on by default (overlay module parameters redirect_dir, metacopy): set them to N, or use NSX_ROOTFS_MODE=copy',
      },
    );
  const out: UpperEntry[] = [];
  const walk = (relDir: string, parts: string[]) => {
    for (const name of readdirSync(relDir ? join(upper, relDir) : upper).sort(byBytes)) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const st = lstatSync(join(upper, rel));
      const p = [...parts, name];
      const e: UpperEntry = {
        rel,
        parts: p,
        st,
        whiteout: isWhiteoutDevice(st),
        opaque: st.isDirectory() && marks.opaque.has(rel),
      };
      out.push(e);
      if (st.isDirectory()) walk(rel, p);
    }
  };
  walk('', []);
  return out;
}

/** The same directory: moby compares mode, size and mtime (sameFsTime) before leaving one out. */
function sameDir(a: Stats, b: Stats): boolean {
  return a.mode === b.mode && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** docker diff: the upper directory's changes against the layers below, in moby's order and kinds. */
export function upperChanges(upper: string, lower: LowerLayers): UpperChange[] {
  const changes: UpperChange[] = [];
  const changedDirs = new Set<string>();
  for (const e of walkUpper(upper)) {
    const path = `/${e.rel}`;
    let kind: ChangeKind;
    if (e.whiteout || e.opaque) kind = 'deleted';
    else {
      const below = lower.find(e.parts);
      if (!below) kind = 'added';
      else if (below.st.isDirectory() && e.st.isDirectory() && sameDir(e.st, below.st)) {
        continue; // only there as a parent: not a change (and not yet known as changed, as in moby)
      } else kind = 'modified';
    }
    if (e.st.isDirectory()) changedDirs.add(path);
    if (kind !== 'modified') {
      const parent = path.slice(0, path.lastIndexOf('/')) || '/';
      if (parent !== '/' && !changedDirs.has(parent)) {
        changes.push({ path: parent, kind: 'modified' });
        changedDirs.add(parent);
      }
    }
    changes.push({ path, kind });
  }
  return changes;
}

export interface UpperTarOptions {
  /** Owners as the layer records them (a rootless container's files: the host's ids back to the
   *  container's). Default: as they are on disk. */
  owner?: (uid: number, gid: number) => [number, number];
}

/** The upper directory as a layer tar (image-spec layer.md, whiteouts in the AUFS form), streamed. */
export function upperTar(upper: string, opts: UpperTarOptions = {}): Readable {
  const entries = walkUpper(upper); // read first: a refused directory fails before a byte is sent
  const p = pack();
  void writeEntries(p, upper, entries, opts).then(
    () => p.finalize(),
    (e: Error) => p.destroy(e),
  );
  return Readable.from(p as AsyncIterable<Buffer>, { objectMode: false });
}

async function writeEntries(p: Pack, upper: string, entries: UpperEntry[], o: UpperTarOptions): Promise<void> {
  const links = new Map<string, string>(); // dev:ino → the first name, for hardlinks
  for (const e of entries) {
    const { st } = e;
    const [uid, gid] = o.owner ? o.owner(st.uid, st.gid) : [st.uid, st.gid];
    const base = { uid, gid, uname: '', gname: '', mtime: st.mtime };
    const perm = st.mode & 0o7777;
    if (e.whiteout) {
      const slash = e.rel.lastIndexOf('/');
      const name = `${e.rel.slice(0, slash + 1)}${WHITEOUT_PREFIX}${e.rel.slice(slash + 1)}`;
      await add(p, { ...base, name, type: 'file', mode: 0o600, size: 0 });
      continue;
    }
    if (st.isDirectory()) {
      await add(p, { ...base, name: `${e.rel}/`, type: 'directory', mode: perm });
      if (e.opaque) await add(p, { ...base, name: `${e.rel}/${OPAQUE_MARKER}`, type: 'file', mode: perm, size: 0 });
      continue;
    }
    if (st.isSocket()) continue;
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1 && !st.isDirectory()) {
      const first = links.get(key);
      if (first !== undefined) {
        await add(p, { ...base, name: e.rel, type: 'link', linkname: first, mode: perm, size: 0 });
        continue;
      }
      links.set(key, e.rel);
    }
    if (st.isSymbolicLink())
      await add(p, { ...base, name: e.rel, type: 'symlink', linkname: readlinkSync(join(upper, e.rel)), mode: perm });
    else if (st.isFile()) await addFile(p, { ...base, name: e.rel, type: 'file', mode: perm, size: st.size }, upper);
    else if (st.isFIFO()) await add(p, { ...base, name: e.rel, type: 'fifo', mode: perm });
    else
      await add(p, {
        ...base,
        name: e.rel,
        type: st.isBlockDevice() ? 'block-device' : 'character-device',
        mode: perm,
        devmajor: Math.floor(st.rdev / 256) & 0xfff,
        devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00),
      });
  }
}

function add(p: Pack, h: Header): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = p.entry(h, (err) => (err ? reject(err) : resolve()));
    (s as unknown as { end(): void }).end();
  });
}

/** A regular file's entry, its bytes streamed from disk (tar-stream fails the entry if the file's
 *  size changed since it was stat'ed: the container wrote to it, and the layer would be torn). */
function addFile(p: Pack, h: Header, upper: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = p.entry(h, (err) => (err ? reject(err) : resolve()));
    const from = createReadStream(join(upper, h.name));
    s.on('error', (err: Error) => {
      from.destroy();
      reject(err);
    });
    from.on('error', (err) => {
      s.destroy(err);
      reject(err);
    });
    from.on('data', (d) => {
      if (!s.write(d as Buffer)) {
        from.pause();
        s.once('drain', () => from.resume());
      }
    });
    from.on('end', () => (s as unknown as { end(): void }).end());
  });
}
