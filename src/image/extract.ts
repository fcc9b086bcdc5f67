// Safe layer extraction. A layer blob (a tar, usually gzipped) is unpacked ONCE into
// <root>/layers/sha256/<diffid>/diff and shared by every image that has it. It is unpacked into a
// temporary directory and renamed into place only when complete and verified, so a bad layer leaves
// the store as it was.
//
// Nothing a layer contains may write outside its directory. The tar parser (tar-stream) only decodes
// headers; every decision about paths is made here, explicitly:
//   - entry names are relative: an absolute name or any ".." component is refused (see entryPath);
//   - no symlink is ever followed while creating an entry: every directory above an entry must be a
//     real directory in this layer (lstat), files are created with O_EXCL|O_NOFOLLOW, so a symlink
//     pointing out followed by a file written "through" it is refused;
//   - a hardlink's target must be an earlier entry of this same layer, reached through real
//     directories only (so never /etc/passwd of the host);
//   - device nodes are refused unless allowDevices (as root only: mknod needs CAP_MKNOD);
//   - the decompressed size and the number of entries are bounded; each tar header's declared size is
//     checked against what is left of the bound and of the store filesystem's free space (less a
//     reserve) before a byte of the entry is written, so a decompression bomb is refused at its header
//     and a pull never fills the disk (see budget.ts);
//   - sparse files (GNU tar's PAX formats, GNU.sparse.* records) are refused: their data is a map
//     plus fragments that nsx does not expand.
// The diffid (sha256 of the uncompressed tar, image-spec config.md "rootfs.diff_ids") is checked
// while unpacking; a mismatch removes everything.
//
// Whiteouts (image-spec layer.md): ".wh.NAME" deletes NAME of the layers below, ".wh..wh..opq" hides
// everything the layers below have in that directory. The layer keeps both forms of the answer:
//   - in diff/, overlayfs's own: a character device 0/0 for each whiteout and the xattr
//     overlay.opaque=y on each opaque directory (trusted.overlay.opaque as root, and
//     user.overlay.opaque always, for overlayfs mounted with "userxattr" in a user namespace),
//     see Documentation/filesystems/overlayfs.rst, "whiteouts and opaque directories";
//   - in layer.json, the lists of whiteouts and opaque directories, which the copying fallback applies
//     (Node can read neither xattrs nor make devices, and needs neither that way).
// If the overlay marks cannot be made (no setfattr, an old kernel refusing an unprivileged mknod 0/0),
// the layer is still complete for the copying fallback, and layer.json says why overlay cannot use it.
//
// Ownership: as root, files keep the layer's uid/gid (chown). Rootless, nsx cannot chown: every file
// belongs to the invoking user, which the container's user namespace maps to uid 0, so files owned by
// root in the layer are root's inside (files owned by other uids in the layer also show as root).
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  createReadStream,
  existsSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  linkSync,
  lchownSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  readlinkSync,
  renameSync,
  symlinkSync,
  writeFileSync,
  writeSync,
  chmodSync,
  utimesSync,
  chownSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { extract as tarExtract, type Extract, type Header } from 'tar-stream';
import { NsxError } from '../runtime/errors.js';
import { isRealRoot } from '../runtime/host.js';
import { UnpackBudget, type FsSpace } from './budget.js';
import { compressionOf, decompressor } from './compression.js';
import { hexOf, layerDir, layersDir, LayerError, readLayerRecord, type LayerRecord } from './layers.js';
import { isWhiteoutDevice, lstatOrUndefined, removeTree, runTool, runToolOnPaths } from './tree.js';

export const DEFAULT_MAX_BYTES = 8 * 1024 ** 3;
export const DEFAULT_MAX_ENTRIES = 1_000_000;
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export interface ExtractOptions {
  /** Most bytes the uncompressed tar may have (default 8 GiB); also the most its entries may declare. */
  maxBytes?: number;
  /** Bytes left free on the store's filesystem (default: 5% of it, at most 512 MiB). */
  reserveBytes?: number;
  /** The store filesystem's free space and size (default: statfs(2)); tests inject it. */
  fsSpace?: (dir: string) => FsSpace;
  /** Most entries the tar may have (default 1,000,000). */
  maxEntries?: number;
  /** Create device nodes the layer contains (root only). Default: refuse them. */
  allowDevices?: boolean;
  /** Rootless: no chown, files belong to the invoking user; only user.* xattrs. Default: not real root. */
  rootless?: boolean;
}

/** The components of a tar entry name, or a LayerError. Names are relative (image-spec layer.md);
 *  "./" prefixes and trailing slashes are fine. An absolute name is refused rather than stripped
 *  (docker and GNU tar strip the leading "/"; nsx treats it as the bad input it is), and so is any
 *  ".." component, even one that would stay inside ("a/../b"): no layer needs one. */
export function entryPath(name: string, what = 'entry'): string[] {
  if (name.includes('\0')) throw new LayerError(`${what} ${JSON.stringify(name)}: a NUL byte in a path`);
  if (name.startsWith('/')) {
    throw new LayerError(`${what} "${name}": an absolute path`, {
      hint: 'layer entries must be relative to the layer root (image-spec layer.md); this layer was not made by a normal image builder',
    });
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new LayerError(`${what} "${name}": a ".." component would climb out of the layer`, {
      hint: 'a layer may only write inside its own directory: this layer is refused',
    });
  }
  return parts;
}

interface DirMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

/** Unpacks the layer blob at `blob` (verified against its own digest by the store already) into the
 *  store, once. Returns its record; a layer already unpacked is not touched again. */
export async function extractLayer(
  root: string,
  blob: string,
  diffId: string,
  opts: ExtractOptions = {},
): Promise<LayerRecord> {
  const hex = hexOf(diffId);
  const existing = readLayerRecord(root, diffId);
  if (existing) return existing;
  const dir = layersDir(root);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  sweepTemporaries(dir);
  // The pid in the name lets a later run remove what a killed one left half-written.
  const tmp = join(dir, `.tmp-${process.pid}-${hex.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp, { mode: 0o700 });
  try {
    const diff = join(tmp, 'diff');
    mkdirSync(diff, { mode: 0o755 });
    const budget = new UnpackBudget(dir, opts.maxBytes ?? DEFAULT_MAX_BYTES, opts.fsSpace, opts.reserveBytes);
    const record = await unpack(blob, diff, diffId, budget, opts);
    writeFileSync(join(tmp, 'layer.json'), JSON.stringify(record, null, 2) + '\n');
    chmodSync(tmp, 0o755);
    try {
      renameSync(tmp, layerDir(root, diffId));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
      removeTree(tmp); // another nsx unpacked it at the same time: theirs is as good as ours
      return readLayerRecord(root, diffId) ?? record;
    }
    return record;
  } catch (e) {
    removeTree(tmp);
    throw e;
  }
}

/** Temporary directories of extractions whose process is gone (killed mid-way). */
function sweepTemporaries(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /^\.tmp-(\d+)-/.exec(name);
    if (m && !existsSync(`/proc/${m[1]}`)) {
      try {
        removeTree(join(dir, name));
      } catch {
        /* someone else's, or already gone */
      }
    }
  }
}

async function unpack(
  blob: string,
  dest: string,
  diffId: string,
  budget: UnpackBudget,
  opts: ExtractOptions,
): Promise<LayerRecord> {
  const what = `layer ${diffId.slice(0, 19)}…`;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const rootless = opts.rootless ?? !isRealRoot();
  const allowDevices = !!opts.allowDevices && !rootless;

  const head = Buffer.alloc(6);
  const fd = openSync(blob, 'r');
  const got = readSync(fd, head, 0, 6, 0);
  closeSync(fd);
  const kind = got >= 4 ? compressionOf(head) : 'none';
  const unzip = decompressor(kind);
  const file = createReadStream(blob, { highWaterMark: 1 << 20 });
  const input: Readable = unzip ? (file.pipe(unzip as unknown as NodeJS.WritableStream) as unknown as Readable) : file;
  if (unzip) file.on('error', (e) => (unzip as unknown as Readable).destroy(e));

  const ex = tarExtract();
  const hash = createHash('sha256');
  let bytes = 0;

  const feed = async () => {
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          throw new LayerError(`${what}: decompresses to more than ${maxBytes} bytes, the bound`, {
            hint: 'a decompression bomb, or a layer larger than the bound: raise it only for a layer you trust',
          });
        }
        hash.update(chunk);
        if (!ex.write(chunk)) await drained(ex);
      }
      (ex as unknown as { end(): void }).end();
    } catch (e) {
      ex.destroy(e as Error);
      throw e;
    }
  };

  const state = new Extraction(dest, what, budget, { rootless, allowDevices, maxEntries });
  const consume = async () => {
    try {
      for await (const entry of ex) await state.add(entry.header, entry as unknown as AsyncIterable<Buffer>);
    } catch (e) {
      (input as Readable).destroy();
      file.destroy();
      throw e;
    }
  };

  const [fed, consumed] = await Promise.allSettled([feed(), consume()]);
  file.destroy();
  if (fed.status === 'rejected' || consumed.status === 'rejected') {
    const errs = [consumed, fed]
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => r.reason);
    throw explain(errs.find((e) => e instanceof NsxError) ?? errs[0], what, kind);
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== diffId) {
    throw new LayerError(
      `${what}: the uncompressed layer's digest is ${actual}, not the diff id the image config names`,
      {
        hint: 'the blob is not the layer the image describes (damaged or tampered with): nothing of it was kept',
      },
    );
  }
  return state.finish(diffId, bytes);
}

function drained(ex: Extract): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      ex.off('drain', done);
      ex.off('close', closed);
      resolve();
    };
    const closed = () => {
      ex.off('drain', done);
      reject(new Error('the tar stream closed'));
    };
    ex.on('drain', done);
    ex.on('close', closed);
  });
}

/** Parser and zlib failures, in words. */
function explain(e: unknown, what: string, kind: string): NsxError {
  if (e instanceof NsxError) return e;
  const err = e as NodeJS.ErrnoException;
  const msg = err?.message ?? String(e);
  if (
    err?.code?.startsWith('Z_') ||
    /incorrect header check|unexpected end of file|invalid (block type|distance|stored block)/.test(msg)
  ) {
    return new LayerError(`${what}: not a valid ${kind} stream (${msg})`, {
      hint: 'the blob is damaged or truncated: remove the image and pull it again',
    });
  }
  if (/tar header|Unexpected end of data|Invalid header/i.test(msg)) {
    return new LayerError(`${what}: not a valid tar archive (${msg})`, {
      hint: 'the layer is damaged or truncated: remove the image and pull it again',
    });
  }
  if (err?.code)
    return new LayerError(`${what}: ${msg}`, {
      syscall: err.syscall,
      hint: err.code === 'ENOSPC' ? 'the disk holding the store is full' : undefined,
    });
  return new LayerError(`${what}: ${msg}`);
}

/** One layer being unpacked into `dest`: the entries in order, then whiteouts, opaque marks and
 *  directory metadata at the end (a directory's mode may forbid writing into it, and each entry
 *  created inside changes its mtime). */
class Extraction {
  private entries = 0;
  private readonly whiteouts = new Set<string>();
  private readonly opaque = new Set<string>();
  private readonly dirs = new Map<string, DirMeta>();
  /** Directories (relative) known to be real directories of this layer: saves lstat calls. */
  private readonly realDirs = new Set<string>(['']);

  constructor(
    private readonly dest: string,
    private readonly what: string,
    private readonly budget: UnpackBudget,
    private readonly o: { rootless: boolean; allowDevices: boolean; maxEntries: number },
  ) {}

  private fail(name: string, why: string, hint?: string): never {
    throw new LayerError(`${this.what}: "${name}": ${why}`, hint ? { hint } : {});
  }

  /** Every directory above `parts` exists as a real directory of this layer (created if missing);
   *  a symlink there is refused: following it could lead anywhere, the host included. */
  private parents(name: string, parts: string[], create: boolean): string {
    let rel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      rel = rel ? `${rel}/${parts[i]}` : parts[i];
      if (this.realDirs.has(rel)) continue;
      const full = join(this.dest, rel);
      const st = lstatOrUndefined(full);
      if (!st) {
        if (!create) this.fail(name, `its directory ${rel} is not in this layer`);
        mkdirSync(full, { mode: 0o755 });
      } else if (st.isSymbolicLink()) {
        this.fail(
          name,
          `would be written through the symlink ${rel} → ${readlinkSync(full)}`,
          'nsx never follows a symlink while unpacking: a layer could use one to write outside its directory; this layer is refused',
        );
      } else if (!st.isDirectory()) {
        this.fail(name, `${rel} is not a directory`);
      }
      this.realDirs.add(rel);
    }
    return join(this.dest, ...parts);
  }

  /** Clears the way for a new entry at `full`: a directory stays for a directory, anything else goes. */
  private replace(full: string, rel: string, isDir: boolean): boolean {
    const st = lstatOrUndefined(full);
    if (!st) return false;
    if (st.isDirectory() && isDir) return true;
    removeTree(full);
    for (const d of [...this.realDirs]) if (d === rel || d.startsWith(rel + '/')) this.realDirs.delete(d);
    for (const d of [...this.dirs.keys()]) if (d === rel || d.startsWith(rel + '/')) this.dirs.delete(d);
    return false;
  }

  private own(fd: number | undefined, full: string, h: Header, link = false): void {
    if (this.o.rootless) return;
    const { uid, gid } = ids(h);
    if (fd !== undefined) fchownSync(fd, uid, gid);
    else if (link) lchownSync(full, uid, gid);
    else chownSync(full, uid, gid);
  }

  async add(h: Header, body: AsyncIterable<Buffer>): Promise<void> {
    if (++this.entries > this.o.maxEntries) {
      throw new LayerError(`${this.what}: more than ${this.o.maxEntries} entries, the bound`, {
        hint: "a layer made to exhaust the disk's inodes, or a very large one: raise the bound only for a layer you trust",
      });
    }
    try {
      await this.entry(h, body);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (e instanceof NsxError || !err?.syscall) throw e; // ours, or the stream's (told in words by explain())
      throw new LayerError(`${this.what}: "${h.name}": ${err.syscall}: ${err.code ?? err.message}`, {
        syscall: err.syscall,
      });
    }
    for await (const _ of body) void _; // whatever was not read (a hardlink's or a whiteout's data)
  }

  private async entry(h: Header, body: AsyncIterable<Buffer>): Promise<void> {
    refuseSparse(h, this.what);
    const parts = entryPath(h.name, `${this.what}: entry`);
    // Before anything of the entry is written (its data is not read yet): does it fit?
    const isFile = h.type === 'file' || h.type === 'contiguous-file';
    const writes = isFile ? 'data' : h.type === 'directory' ? 'block' : 'nothing';
    const refusal = this.budget.claim(h.size ?? 0, writes);
    if (refusal) this.fail(h.name, refusal.why, refusal.hint);
    const base = parts[parts.length - 1] ?? '';
    const rel = parts.join('/');

    if (base === OPAQUE_MARKER) {
      const dir = parts.slice(0, -1);
      this.parents(h.name, [...dir, '_'], true);
      this.opaque.add(dir.join('/'));
      return;
    }
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return; // aufs metadata (.wh..wh.plnk …): not content
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const name = base.slice(WHITEOUT_PREFIX.length);
      if (!name || name === '.' || name === '..') this.fail(h.name, 'a whiteout of nothing (or of a parent)');
      const target = [...parts.slice(0, -1), name];
      this.parents(h.name, target, true);
      this.whiteouts.add(target.join('/'));
      return;
    }

    const full = parts.length ? this.parents(h.name, parts, true) : this.dest;
    const mode = h.mode & 0o7777;
    switch (h.type) {
      case 'directory': {
        if (parts.length && !this.replace(full, rel, true)) mkdirSync(full, { mode: 0o700 });
        this.realDirs.add(rel);
        this.dirs.set(rel, { mode, ...ids(h), mtime: mtimeOf(h) });
        return;
      }
      case 'file':
      case 'contiguous-file': {
        if (!parts.length) this.fail(h.name, 'a file as the layer root');
        this.replace(full, rel, false);
        const fd = openSync(
          full,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        );
        try {
          for await (const chunk of body) {
            for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
          }
          this.own(fd, full, h);
          fchmodSync(fd, mode);
          futimesSync(fd, mtimeOf(h), mtimeOf(h));
        } finally {
          closeSync(fd);
        }
        return;
      }
      case 'symlink': {
        if (!parts.length) this.fail(h.name, 'a symlink as the layer root');
        this.replace(full, rel, false);
        // The target is data: it is only ever resolved inside the container's root, never here.
        symlinkSync(h.linkname, full);
        this.own(undefined, full, h, true);
        lutimesSync(full, mtimeOf(h), mtimeOf(h));
        return;
      }
      case 'link': {
        if (!parts.length) this.fail(h.name, 'a hardlink as the layer root');
        const target = entryPath(h.linkname ?? '', `${this.what}: hardlink "${h.name}" to`);
        const from = this.parents(h.name, target, false);
        const st = lstatOrUndefined(from);
        if (!st)
          this.fail(
            h.name,
            `a hardlink to ${h.linkname}, which is not an earlier entry of this layer`,
            'a hardlink may only point to a file of the same layer: this one could reach a file outside it',
          );
        if (st.isDirectory()) this.fail(h.name, `a hardlink to the directory ${h.linkname}`);
        if (from === full) return;
        this.replace(full, rel, false);
        linkSync(from, full); // link(2) does not follow a final symlink: linking one copies the link
        return;
      }
      case 'character-device':
      case 'block-device': {
        const spec = `${h.type === 'block-device' ? 'b' : 'c'} ${h.devmajor} ${h.devminor}`;
        if (!this.o.allowDevices) {
          this.fail(
            h.name,
            `a device node (${spec}): refused`,
            this.o.rootless
              ? 'rootless, nsx cannot create device nodes (mknod needs CAP_MKNOD)'
              : 'device nodes in images can give a container access to host hardware; allow them only for a trusted image (allowDevices)',
          );
        }
        this.replace(full, rel, false);
        const err = runTool('mknod', ['-m', '600', full, ...spec.split(' ')]);
        if (err) this.fail(h.name, `mknod ${spec}: ${err}`);
        this.own(undefined, full, h);
        chmodSync(full, mode);
        utimesSync(full, mtimeOf(h), mtimeOf(h));
        return;
      }
      case 'fifo': {
        this.replace(full, rel, false);
        const err = runTool('mkfifo', ['-m', '600', full]);
        if (err) this.fail(h.name, err);
        this.own(undefined, full, h);
        chmodSync(full, mode);
        utimesSync(full, mtimeOf(h), mtimeOf(h));
        return;
      }
      default:
        // tar-stream names the types it knows; null is any other typeflag, e.g. old GNU sparse ('S').
        if (h.type === null) {
          this.fail(h.name, 'a tar entry type nsx does not know (old GNU sparse "S", a volume label "V", or another)');
        }
        this.fail(h.name, `an entry of type ${String(h.type)}, which a layer has no use for`);
    }
  }

  /** After the last entry: whiteouts and opaque marks for overlayfs, then the directories' metadata. */
  finish(diffId: string, size: number): LayerRecord {
    // A whiteout only hides the layers below; if this layer also has the path, its own entry is what
    // the container sees anyway, and a directory made here after a whiteout replaces the lower one whole.
    for (const w of [...this.whiteouts]) {
      const st = lstatOrUndefined(join(this.dest, w));
      if (!st) continue;
      this.whiteouts.delete(w);
      if (st.isDirectory()) this.opaque.add(w);
    }
    const whiteouts = [...this.whiteouts].sort();
    const opaque = [...this.opaque].sort();
    const overlayUnavailable = this.markForOverlay(whiteouts, opaque);
    const opaqueXattrs = this.o.rootless ? ['user.overlay.opaque'] : ['trusted.overlay.opaque', 'user.overlay.opaque'];

    // Deepest first: a parent's mtime must be set after its children are in place.
    for (const [rel, m] of [...this.dirs].sort((a, b) => b[0].length - a[0].length)) {
      const full = join(this.dest, rel);
      if (!this.o.rootless) chownSync(full, m.uid, m.gid);
      chmodSync(full, m.mode);
      utimesSync(full, m.mtime, m.mtime);
    }
    return {
      diffId,
      size,
      entries: this.entries,
      whiteouts,
      opaque,
      ...(overlayUnavailable ? { overlayUnavailable } : { overlay: { whiteouts: 'chardev-0-0', opaqueXattrs } }),
      ownership: this.o.rootless ? 'invoking-user' : 'preserved',
    };
  }

  /** mknod c 0 0 for each whiteout, setfattr overlay.opaque=y on each opaque directory. Each path is
   *  checked again (real directories only above it) right before, as the tools follow symlinks. */
  private markForOverlay(whiteouts: string[], opaque: string[]): string | undefined {
    this.realDirs.clear(); // entries after a whiteout may have replaced its directory with a symlink
    const paths = (list: string[], leaf: boolean) =>
      list.map((rel) => {
        const parts = rel ? rel.split('/') : [];
        const full = this.parents(rel, leaf ? parts : [...parts, '_'], false);
        return leaf ? full : join(this.dest, ...parts);
      });
    if (whiteouts.length) {
      const err = runToolOnPaths(
        'sh',
        ['-c', 'for p; do mknod -- "$p" c 0 0 || exit 1; done', 'sh'],
        paths(whiteouts, true),
      );
      if (err) {
        for (const p of paths(whiteouts, true)) {
          const st = lstatOrUndefined(p);
          if (st && isWhiteoutDevice(st)) removeTree(p);
        }
        return `whiteouts could not be made as overlayfs wants them (mknod c 0 0: ${err})`;
      }
    }
    if (opaque.length) {
      const names = this.o.rootless ? ['user.overlay.opaque'] : ['trusted.overlay.opaque', 'user.overlay.opaque'];
      for (const n of names) {
        const err = runToolOnPaths('setfattr', ['-h', '-n', n, '-v', 'y', '--'], paths(opaque, false));
        if (err)
          return `opaque directories could not be marked for overlayfs (${err}${err.includes('not installed') ? ': apt-get install attr' : ''})`;
      }
    }
    return undefined;
  }
}

/** A GNU sparse file in a PAX archive (GNU tar manual, "Storing Sparse Files", formats 0.0, 0.1 and
 *  1.0): GNU.sparse.* records, and in 1.0 a stand-in name "%d/GNUSparseFile.%p/%f" with the real one
 *  in GNU.sparse.name. Its data is a sparse map and the file's fragments, which nsx does not expand:
 *  unpacked as it is, it would be a wrong file under a wrong name. */
function refuseSparse(h: Header, what: string): void {
  const pax = (h.pax ?? {}) as Record<string, string>;
  if (!Object.keys(pax).some((k) => k.startsWith('GNU.sparse.'))) return;
  const name = pax['GNU.sparse.name'] ?? h.name;
  const major = pax['GNU.sparse.major'];
  const format = major !== undefined ? `${major}.${pax['GNU.sparse.minor'] ?? 0}` : '0.0 or 0.1';
  const stored = name !== h.name ? ` (stored as "${h.name}")` : '';
  const why = `a sparse file (GNU tar's PAX sparse format ${format}): not supported`;
  throw new LayerError(`${what}: "${name}"${stored}: ${why}`, {
    hint: 'nsx does not expand sparse files: re-create the layer with a tar that stores files whole (no --sparse)',
  });
}

/** uid/gid of an entry: PAX records (for ids above 2097151) win over the header's octal fields. */
function ids(h: Header): { uid: number; gid: number } {
  const pax = (h.pax ?? {}) as Record<string, string>;
  const num = (v: string | undefined, d: number) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : d);
  return { uid: num(pax.uid, h.uid), gid: num(pax.gid, h.gid) };
}

/** The entry's mtime: a PAX record (sub-second) wins over the header's whole seconds. */
function mtimeOf(h: Header): Date {
  const v = ((h.pax ?? {}) as Record<string, string>).mtime;
  return v !== undefined && /^-?\d+(\.\d+)?$/.test(v) ? new Date(Number(v) * 1000) : h.mtime;
}
