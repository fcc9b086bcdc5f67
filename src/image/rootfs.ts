// A container's root filesystem from an image: the image's layers (unpacked once, shared, never
// written) plus the container's own writable layer under <root>/containers/<id>/, which goes when the
// container goes — removing a container is deterministic: delete one directory.
//
// overlay: the layers are overlayfs lower dirs (top layer first), upper/ takes the container's writes
//   (copy-up), work/ is overlayfs's scratch dir, merged/ the mount point. The mount itself is made by
//   the runtime's rootfs step INSIDE the container's mount namespace, so the host never sees it and it
//   cannot outlive the container (see Documentation/filesystems/overlayfs.rst).
// copy: where overlayfs is not available (or NSX_ROOTFS_MODE=copy), the layers are copied bottom-up
//   into rootfs/, each applying its whiteouts and opaque directories first; rootfs/ is then both the
//   root and the writable layer, bind-mounted as a --rootfs directory is.
import { resolveInside } from '../runtime/securejoin.js';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { release } from 'node:os';
import { join, posix } from 'node:path';
import { NsxError } from '../runtime/errors.js';
import { isRealRoot } from '../runtime/host.js';
import type { RootfsView } from '../runtime/options.js';
import { overlayMountData } from '../runtime/steps/rootfs.js';
import type { IdMapping, OverlayRoot } from '../runtime/spec.js';
import { extractLayer, type ExtractOptions } from './extract.js';
import { layerDiffDir, readLayerRecord, removeLayer, type LayerRecord } from './layers.js';
import { isWhiteoutDevice, lstatOrUndefined, removeTree } from './tree.js';
import { LAYER_TYPES, type OciImageConfig, type OciManifest } from './types.js';

/** What prepareRootfs needs of the store (ImageStore has it). */
export interface LayerSource {
  readonly root: string;
  blobPath(digest: string): string;
}

/** What prepareRootfs needs of an image (ImageStore.resolve's answer has it). */
export interface ImageForRootfs {
  ref: string;
  manifestDigest: string;
  manifest: OciManifest;
  config: OciImageConfig;
}

export interface PreparedRootfs {
  mode: 'overlay' | 'copy';
  /** The layers' trees, top layer first (overlay's lowerdir order). */
  lowerdirs: string[];
  /** The container's writable layer: overlay's upperdir, or the copy itself in copy mode. */
  upper: string;
  /** overlay's workdir ("" in copy mode). */
  work: string;
  /** overlay: the mount point (empty on the host, always); copy: the root filesystem. */
  path: string;
  /** overlayfs's mount options, as the rootfs step passes them to mount(2) (overlay mode). */
  mountData?: string;
  /** The spec's root.overlay (overlay mode). */
  overlay?: OverlayRoot;
  /** Why copy mode was chosen, for the step's notes. */
  reason?: string;
  /** Removes the container's directory: its writable layer and everything in it. Idempotent. */
  remove(): void;
}

export interface PrepareOptions extends ExtractOptions {
  /** The container's user namespace maps (copy mode chowns through them; overlay cannot). */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  /** 'overlay' | 'copy' | undefined (choose); default from $NSX_ROOTFS_MODE. */
  mode?: 'overlay' | 'copy';
  /** The directory outlives the process that makes it (an engine keeps stopped containers): never
   *  swept as stale, and its image counts as used until the owner removes it. Default: it goes when
   *  this process does (nsx run). */
  keep?: boolean;
}

/** mount(2) copies its data argument into one page: overlayfs's options must fit (less the NUL). */
export const MOUNT_DATA_MAX = 4095;

export function containersDir(root: string): string {
  return join(root, 'containers');
}

/** Unpacks every layer of the image that is not unpacked yet (each once, shared with other images). */
export async function unpackImage(
  store: LayerSource,
  image: ImageForRootfs,
  opts: ExtractOptions = {},
): Promise<{ diff: string; record: LayerRecord }[]> {
  const { layers } = image.manifest;
  const diffIds = image.config.rootfs?.diff_ids ?? [];
  if (layers.length !== diffIds.length) {
    throw new NsxError(
      `${image.ref}: the manifest has ${layers.length} layers but the config names ${diffIds.length} diff ids`,
      { hint: 'the image is malformed: remove it and pull it again' },
    );
  }
  const out: { diff: string; record: LayerRecord }[] = [];
  for (const [i, layer] of layers.entries()) {
    if (!LAYER_TYPES.includes(layer.mediaType)) {
      throw new NsxError(
        `${image.ref}: layer ${layer.digest} has media type ${layer.mediaType}, which nsx cannot unpack`,
        { hint: `nsx unpacks ${LAYER_TYPES.join(', ')}` },
      );
    }
    const record =
      readLayerRecord(store.root, diffIds[i]) ??
      (await extractLayer(store.root, store.blobPath(layer.digest), diffIds[i], opts));
    out.push({ diff: layerDiffDir(store.root, diffIds[i]), record });
  }
  return out;
}

/** The pull's prepare hook: unpacks each layer as it comes (docker's "Extracting"), so a bad layer
 *  fails the pull, which then removes what it downloaded; the layers this hook unpacked go too, and
 *  the store is as it was. */
export function unpackOnPull(store: LayerSource, opts: ExtractOptions = {}) {
  return async (ctx: {
    ref: string;
    manifest: OciManifest;
    config: OciImageConfig;
    emit: (e: { type: 'layer'; id: string; digest: string; status: 'Extracting' }) => void;
  }): Promise<void> => {
    const diffIds = ctx.config.rootfs?.diff_ids ?? [];
    const fresh = diffIds.filter((d) => !readLayerRecord(store.root, d));
    try {
      for (const [i, layer] of ctx.manifest.layers.entries()) {
        if (fresh.includes(diffIds[i]))
          ctx.emit({ type: 'layer', id: layer.digest.slice(7, 19), digest: layer.digest, status: 'Extracting' });
        await unpackImage(
          store,
          {
            ...ctx,
            manifestDigest: '',
            manifest: { ...ctx.manifest, layers: [layer] },
            config: { ...ctx.config, rootfs: { type: 'layers', diff_ids: [diffIds[i]] } },
          },
          opts,
        );
      }
    } catch (e) {
      for (const d of fresh) removeLayer(store.root, d);
      throw e;
    }
  };
}

/** The image's layers as the container will see them, for checks before anything is created. */
export async function imageView(
  store: LayerSource,
  image: ImageForRootfs,
  opts: ExtractOptions = {},
): Promise<LayeredView> {
  return new LayeredView((await unpackImage(store, image, opts)).reverse());
}

// ---------------------------------------------------------------- choosing the mode

function kernelAtLeast(major: number, minor: number, rel = release()): boolean {
  const [a, b] = rel.split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
}

function overlayInKernel(): boolean {
  try {
    if (/\toverlay$/m.test(readFileSync('/proc/filesystems', 'utf8'))) return true;
  } catch {
    return false;
  }
  // Not loaded yet: root's mount(2) loads the module on demand (a user namespace's cannot).
  return isRealRoot() && existsSync(`/lib/modules/${release()}/kernel/fs/overlayfs`);
}

/** Why the overlay cannot be used for these layers here, or undefined when it can. */
export function overlayUnavailable(
  records: LayerRecord[],
  opts: { rootless: boolean; userns: boolean },
): string | undefined {
  if (!overlayInKernel()) return 'this kernel has no overlay filesystem (not in /proc/filesystems)';
  if (opts.rootless && !kernelAtLeast(5, 11))
    return 'mounting overlayfs inside a user namespace needs Linux 5.11 or newer';
  if (!opts.rootless && opts.userns)
    return "a private user namespace as root shifts file owners, which copying does (overlayfs would show the layers' files as owned by nobody)";
  const bad = records.find((r) => r.overlayUnavailable);
  if (bad) return `layer ${bad.diffId.slice(0, 19)}…: ${bad.overlayUnavailable}`;
  return undefined;
}

function modeFromEnv(): 'overlay' | 'copy' | undefined {
  const v = process.env.NSX_ROOTFS_MODE;
  if (v === undefined || v === '') return undefined;
  if (v === 'overlay' || v === 'copy') return v;
  throw new NsxError(`NSX_ROOTFS_MODE=${v}: unknown mode`, {
    hint: 'use overlay or copy, or unset it to let nsx choose',
  });
}

/** Commas and colons separate overlayfs's options, so no path in them may contain one. */
function checkOverlayPath(p: string): void {
  if (/[,:\\]/.test(p))
    throw new NsxError(`${p}: overlayfs cannot take a path with "," ":" or "\\" in its options`, {
      hint: 'move the store (NSX_ROOT) to a plain path, or use NSX_ROOTFS_MODE=copy',
    });
}

// ---------------------------------------------------------------- the container's directory

interface ContainerRecord {
  id: string;
  image: string;
  manifestDigest: string;
  mode: 'overlay' | 'copy';
  /** The nsx process that made it and its start time (/proc/PID/stat field 22): a stale directory
   *  is one whose process is gone, even if its pid was reused since. */
  pid: number;
  started: string;
  /** Kept by its owner (PrepareOptions.keep): never stale. */
  keep?: boolean;
}

function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function readContainerRecord(dir: string): ContainerRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'container.json'), 'utf8')) as ContainerRecord;
  } catch {
    return undefined;
  }
}

function alive(r: ContainerRecord): boolean {
  return processStart(r.pid) === r.started;
}

/** Removes the directories of containers whose nsx is gone (killed with SIGKILL, a crash). */
export function removeStaleContainers(root: string): string[] {
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(containersDir(root));
  } catch {
    return removed;
  }
  for (const name of names) {
    const dir = join(containersDir(root), name);
    const r = readContainerRecord(dir);
    // No record yet: a container being prepared right now, or one killed before writing it; the
    // latter is only removed once it is a minute old.
    if (r ? r.keep || alive(r) : Date.now() - (lstatOrUndefined(dir)?.mtimeMs ?? 0) < 60_000) continue;
    try {
      removeTree(dir);
      removed.push(dir);
    } catch {
      /* another user's, or being removed by someone else */
    }
  }
  return removed;
}

/** The id of a container that uses the image (a running one, or one kept by an engine), or false
 *  (ImageStore.remove's inUse). */
export function containerUsing(root: string, manifestDigest: string): string | false {
  let names: string[] = [];
  try {
    names = readdirSync(containersDir(root));
  } catch {
    return false;
  }
  for (const name of names) {
    const r = readContainerRecord(join(containersDir(root), name));
    if (r && r.manifestDigest === manifestDigest && (r.keep || alive(r))) return r.id;
  }
  return false;
}

/**
 * The container's root filesystem from the image: unpacks what is not unpacked yet, makes
 * <root>/containers/<id>/ and, in copy mode, the copy. Nothing is mounted here: in overlay mode the
 * rootfs step mounts `mountData` on `path` inside the container's mount namespace.
 */
export async function prepareRootfs(
  store: LayerSource,
  image: ImageForRootfs,
  containerId: string,
  opts: PrepareOptions = {},
): Promise<PreparedRootfs> {
  const rootless = opts.rootless ?? !isRealRoot();
  const layers = await unpackImage(store, image, { ...opts, rootless });
  return createRootfs(store.root, image, layers, containerId, { ...opts, rootless });
}

/** prepareRootfs once the layers are unpacked (bottom layer first): synchronous, so that it can be
 *  the last thing the run options do. */
export function createRootfs(
  root: string,
  image: ImageForRootfs,
  layers: { diff: string; record: LayerRecord }[],
  containerId: string,
  opts: PrepareOptions = {},
): PreparedRootfs {
  if (!/^[0-9a-f]{64}$/.test(containerId)) throw new NsxError(`container id ${containerId}: expected 64 hex digits`);
  const rootless = opts.rootless ?? !isRealRoot();
  const lowerdirs = [...layers].reverse().map((l) => l.diff);
  const userns = !!opts.uidMappings?.length;
  const wanted = opts.mode ?? modeFromEnv();

  removeStaleContainers(root);
  const parent = containersDir(root);
  mkdirSync(parent, { recursive: true, mode: 0o711 });
  const dir = join(parent, containerId);
  mkdirSync(dir, { mode: 0o711 });
  const remove = () => removeTree(dir);
  try {
    let reason: string | undefined =
      wanted === 'copy'
        ? 'NSX_ROOTFS_MODE=copy'
        : overlayUnavailable(
            layers.map((l) => l.record),
            { rootless, userns },
          );
    let mountData: string | undefined;
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    const overlay: OverlayRoot = {
      lowerdirs,
      upper,
      work,
      target: join(dir, 'merged'),
      ...(rootless ? { userxattr: true } : {}),
    };
    if (!reason) {
      [...lowerdirs, upper, work].forEach(checkOverlayPath);
      mountData = overlayMountData(overlay);
      if (mountData.length > MOUNT_DATA_MAX) {
        reason = `overlayfs's options for ${lowerdirs.length} layers are ${mountData.length} bytes, more than the ${MOUNT_DATA_MAX} mount(2) takes (one page)`;
        mountData = undefined;
      }
    }
    if (reason && wanted === 'overlay')
      throw new NsxError(`NSX_ROOTFS_MODE=overlay: ${reason}`, {
        hint: 'unset NSX_ROOTFS_MODE to let nsx copy the layers instead',
      });
    const record: ContainerRecord = {
      id: containerId,
      image: image.ref,
      manifestDigest: image.manifestDigest,
      mode: reason ? 'copy' : 'overlay',
      pid: process.pid,
      started: processStart(process.pid) ?? '',
      ...(opts.keep ? { keep: true } : {}),
    };
    writeFileSync(join(dir, 'container.json'), JSON.stringify(record, null, 2) + '\n');

    if (!reason) {
      mkdirSync(upper, { mode: 0o755 });
      mkdirSync(work, { mode: 0o700 });
      mkdirSync(overlay.target, { mode: 0o755 });
      return { mode: 'overlay', lowerdirs, upper, work, path: overlay.target, mountData, overlay, remove };
    }
    const rootfs = join(dir, 'rootfs');
    mkdirSync(rootfs, { mode: 0o755 });
    const shift = userns && !rootless ? idShifter(opts.uidMappings!, opts.gidMappings ?? opts.uidMappings!) : undefined;
    if (shift) lchownSync(rootfs, ...shift(0, 0));
    for (const l of layers) applyLayer(l.diff, l.record, rootfs, { rootless, shift });
    return { mode: 'copy', lowerdirs, upper: rootfs, work: '', path: rootfs, reason, remove };
  } catch (e) {
    remove();
    throw e;
  }
}

// ---------------------------------------------------------------- copy mode

type Shift = (uid: number, gid: number) => [number, number];

/** Host ids for container ids through the maps; unmapped ids become the overflow id 65534 as the
 *  kernel shows them (user_namespaces(7)). */
function idShifter(uids: IdMapping[], gids: IdMapping[]): Shift {
  const one = (maps: IdMapping[], id: number) => {
    const m = maps.find((x) => id >= x.containerID && id < x.containerID + x.size);
    return m ? m.hostID + (id - m.containerID) : 65534;
  };
  return (uid, gid) => [one(uids, uid), one(gids, gid)];
}

/** One layer onto the copy: first what it deletes (whiteouts, opaque directories' old contents),
 *  then its own files, with their modes, owners and times; hardlinks within the layer stay hardlinks. */
export function applyLayer(
  diff: string,
  record: LayerRecord,
  dest: string,
  o: { rootless: boolean; shift?: Shift },
): void {
  for (const w of record.whiteouts) removeTree(insideCopy(dest, w));
  for (const d of record.opaque) {
    const p = d ? insideCopy(dest, d) : dest;
    const st = lstatOrUndefined(p);
    if (st?.isDirectory()) for (const name of readdirSync(p)) removeTree(join(p, name));
  }
  const whiteouts = new Set(record.whiteouts);
  const links = new Map<string, string>(); // dev:ino → first copy, for hardlinks
  const dirs: [string, Stats][] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(rel ? join(diff, rel) : diff)) {
      const r = rel ? `${rel}/${name}` : name;
      const src = join(diff, r);
      const st = lstatSync(src);
      if (whiteouts.has(r) && isWhiteoutDevice(st)) continue;
      const to = join(dest, r);
      const have = lstatOrUndefined(to);
      if (have && !(have.isDirectory() && st.isDirectory())) removeTree(to);
      if (st.isDirectory()) {
        if (!have?.isDirectory()) mkdirSync(to, { mode: 0o700 });
        // A lower layer's read-only directory (0555) must take this layer's files; meta() restores it.
        else if ((have.mode & 0o700) !== 0o700) chmodSync(to, (have.mode & 0o7777) | 0o700);
        dirs.push([to, st]);
        walk(r);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && links.has(key)) {
        linkSync(links.get(key)!, to);
        continue;
      }
      if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), to);
      else if (st.isFile()) copyFileSync(src, to);
      else copySpecial(src, to, st);
      if (st.nlink > 1) links.set(key, to);
      meta(to, st, o);
    }
  };
  walk('');
  for (const [to, st] of dirs.reverse()) meta(to, st, o);
}

/** A path of the copy, reached through real directories only: the copy is built by nsx on the host,
 *  and a symlink an image put there must not lead it anywhere else. */
function insideCopy(dest: string, rel: string): string {
  const parts = rel.split('/');
  let p = dest;
  for (const part of parts.slice(0, -1)) {
    p = join(p, part);
    const st = lstatOrUndefined(p);
    if (!st?.isDirectory()) return join(dest, '.nsx-absent', rel); // nothing there to delete
  }
  return join(p, parts[parts.length - 1]);
}

function copySpecial(src: string, to: string, st: Stats): void {
  const args = st.isFIFO()
    ? ['-m', '600', to, 'p']
    : ['-m', '600', to, st.isBlockDevice() ? 'b' : 'c', String(st.rdev >> 8), String(st.rdev & 0xff)];
  const r = spawnSync('mknod', args, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new NsxError(
      `copying ${src}: mknod ${args.slice(3).join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`,
    );
}

function meta(to: string, st: Stats, o: { rootless: boolean; shift?: Shift }): void {
  if (!o.rootless) {
    const [uid, gid] = o.shift ? o.shift(st.uid, st.gid) : [st.uid, st.gid];
    lchownSync(to, uid, gid);
  }
  if (st.isSymbolicLink()) {
    lutimesSync(to, st.atime, st.mtime);
    return;
  }
  chmodSync(to, st.mode & 0o7777);
  utimesSync(to, st.atime, st.mtime);
}

// ---------------------------------------------------------------- the merged view

/**
 * The layers as the container will see them, read on the host: a path is looked up top layer
 * first; a whiteout hides it and everything below, an opaque directory hides what the layers below
 * have in it, a non-directory hides the layers below; symlinks are followed inside the image, never
 * out of it (as the container would resolve them). The run options' checks (the command, -u's
 * /etc/passwd, -w) use it before any container directory exists.
 */
export class LayeredView implements RootfsView {
  private readonly layers: { diff: string; whiteouts: Set<string>; opaque: Set<string> }[];
  readonly describe: string;

  /** Layers top first. */
  constructor(layers: { diff: string; record: LayerRecord }[]) {
    this.layers = layers.map((l) => ({
      diff: l.diff,
      whiteouts: new Set(l.record.whiteouts),
      opaque: new Set(l.record.opaque),
    }));
    this.describe = `the image's ${layers.length} layer${layers.length === 1 ? '' : 's'}`;
  }

  /** The entry at a literal path (no symlinks followed), from the topmost layer that has it. */
  find(parts: string[]): { diff: string; st: Stats } | undefined {
    if (!parts.length)
      return this.layers.length ? { diff: this.layers[0].diff, st: lstatSync(this.layers[0].diff) } : undefined;
    for (const layer of this.layers) {
      let opaqueAbove = layer.opaque.has('');
      let rel = '';
      for (const [k, part] of parts.entries()) {
        rel = rel ? `${rel}/${part}` : part;
        if (layer.whiteouts.has(rel)) return undefined; // deleted in this layer: hidden from here down
        const st = lstatOrUndefined(join(layer.diff, rel));
        if (!st) {
          if (opaqueAbove) return undefined; // an opaque directory above it hides the layers below
          break; // not in this layer: look below
        }
        if (k === parts.length - 1) return { diff: layer.diff, st };
        if (!st.isDirectory()) return undefined; // a non-directory hides the layers below
        opaqueAbove ||= layer.opaque.has(rel);
      }
    }
    return undefined;
  }

  /** The container path with every symlink resolved inside the image. */
  resolvePath(path: string): string[] {
    return resolveInside(path, (parts) => {
      const found = this.find(parts);
      return found?.st.isSymbolicLink() ? readlinkSync(join(found.diff, ...parts)) : undefined;
    });
  }

  has(path: string): boolean {
    return this.find(this.resolvePath(path)) !== undefined;
  }

  isDirectory(path: string): boolean {
    return !!this.find(this.resolvePath(path))?.st.isDirectory();
  }

  readFile(path: string): string | undefined {
    const parts = this.resolvePath(path);
    const found = this.find(parts);
    if (!found?.st.isFile()) return undefined;
    return readFileSync(join(found.diff, ...parts), 'utf8');
  }

  /** Where the container path will be under a mount point of the merged layers. */
  resolve(path: string, under: string): string {
    return posix.join(under, ...this.resolvePath(path));
  }
}
