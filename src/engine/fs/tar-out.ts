// A tree inside a container's root written as a tar stream (docker cp out, docker export): walked
// without following any symlink (a symlink is an entry of its own, its target as it is written), hard
// links kept as links to the first name seen, device nodes and FIFOs as their tar types, sockets left
// out (tar has no type for them; moby's archive skips them too). A file is read through a descriptor
// opened with O_NOFOLLOW, exactly as many bytes as its header declared (a running container may be
// writing it: what is missing is padded with zeros, what is more is left out, so the tar stays whole).
import { closeSync, constants, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { pack, type Header, type Pack } from 'tar-stream';
import { lstatQuiet, type InRoot } from './inroot.js';

export interface TarTreeOptions {
  /** Directories on another filesystem (a mount inside the container: /proc, /sys, /dev) are
   *  written as empty directories, their contents not (tar --one-file-system; docker export writes
   *  the container's own filesystem, not what is mounted on it). */
  oneFileSystem?: boolean;
}

function typeOf(st: Stats): Header['type'] | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'character-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  return undefined; // a socket
}

const major = (rdev: number) => Math.floor(rdev / 256) & 0xfff; // glibc's gnu_dev_major for rdev < 2^32
const minor = (rdev: number) => (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);

/** Writes the tree at PARTS (already resolved in the root) into P: its top entry named TOP ("" for
 *  none: export writes the root's children only), the rest under it. */
export async function tarTree(
  fs: InRoot,
  parts: string[],
  top: string,
  p: Pack,
  o: TarTreeOptions = {},
): Promise<void> {
  const links = new Map<string, string>();
  const rootSt = lstatQuiet(fs.host(parts));
  if (!rootSt) throw new Error(`${fs.host(parts)}: gone while it was archived`);
  const walk = async (rel: string[], name: string, st: Stats): Promise<void> => {
    const type = typeOf(st);
    if (!type) return;
    const full = fs.host([...parts, ...rel]);
    const header: Header = {
      name: type === 'directory' ? `${name}/` : name,
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      uname: '',
      gname: '',
      mtime: st.mtime,
      size: 0,
      linkname: '',
      devmajor: type.endsWith('-device') ? major(st.rdev) : 0,
      devminor: type.endsWith('-device') ? minor(st.rdev) : 0,
    };
    if (type === 'symlink') header.linkname = readlinkSync(full);
    if (type !== 'directory' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        header.type = 'link';
        header.linkname = first;
      } else links.set(key, name);
    }
    if (name !== '') {
      if (header.type === 'file') {
        header.size = st.size;
        await writeFile(p, header, full);
      } else await entry(p, header);
    }
    if (type !== 'directory') return;
    if (o.oneFileSystem && rel.length && st.dev !== rootSt.dev) return;
    let names: string[];
    try {
      names = readdirSync(full).sort();
    } catch {
      return; // unreadable (a mount that refuses): written as an empty directory
    }
    for (const n of names) {
      const cst = lstatQuiet(fs.host([...parts, ...rel, n]));
      if (cst) await walk([...rel, n], name === '' ? n : `${name}/${n}`, cst);
    }
  };
  await walk([], top, rootSt);
}

function entry(p: Pack, header: Header): Promise<void> {
  return new Promise((res, rej) => endOf(p.entry(header, (e) => (e ? rej(e) : res()))));
}

async function writeFile(p: Pack, header: Header, path: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    fd = -1; // gone or unreadable since it was listed: its header's bytes, as zeros
  }
  let sink!: ReturnType<Pack['entry']>;
  const done = new Promise<void>((res, rej) => {
    sink = p.entry(header, (e) => (e ? rej(e) : res()));
  });
  const buf = Buffer.alloc(1 << 16);
  let left = header.size;
  try {
    while (left > 0) {
      let n = fd >= 0 ? readSync(fd, buf, 0, Math.min(buf.length, left), null) : 0;
      if (n === 0) {
        n = Math.min(buf.length, left);
        buf.fill(0, 0, n);
      }
      left -= n;
      if (!sink.write(Buffer.from(buf.subarray(0, n)))) await new Promise<void>((r) => sink.once('drain', () => r()));
    }
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  endOf(sink);
  await done;
}

/** A tar stream: FILL writes its entries; the stream ends when it is done (or errors with it). */
export function tarStream(fill: (p: Pack) => Promise<void>, onError?: (e: unknown) => void): Pack {
  const p = pack();
  fill(p).then(
    () => p.finalize(),
    (e: unknown) => {
      onError?.(e);
      p.destroy(e instanceof Error ? e : new Error(String(e)));
    },
  );
  return p;
}

/** Ends a tar-stream entry (streamx's end() is typed as taking a chunk). */
export function endOf(sink: ReturnType<Pack['entry']>): void {
  (sink as unknown as { end(): void }).end();
}
