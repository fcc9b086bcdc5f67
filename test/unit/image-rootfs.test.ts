// An image's root filesystem: the merged view the run options look into (whiteouts, opaque
// directories, symlinks across layers), the copying fallback, the container's directory and its
// removal, and how the mode is chosen. The overlay mount itself is tested on the kernel
// (test/integration/image-run.test.ts).
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractLayer } from '../../src/image/extract.js';
import { layerDiffDir } from '../../src/image/layers.js';
import {
  containerUsing,
  createRootfs,
  LayeredView,
  MOUNT_DATA_MAX,
  prepareRootfs,
  removeStaleContainers,
  unpackImage,
  type ImageForRootfs,
} from '../../src/image/rootfs.js';
import { MediaType } from '../../src/image/types.js';
import { overlayMountData } from '../../src/runtime/steps/rootfs.js';
import { itRoot } from '../helpers.js';
import { layerBlob, type TarEntry } from '../tars.js';

const ID = 'a'.repeat(64);
let work: string;
let root: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'nsx-rootfs-'));
  root = join(work, 'store');
  mkdirSync(root);
});
afterEach(() => {
  delete process.env.NSX_ROOTFS_MODE;
  rmSync(work, { recursive: true, force: true });
});

/** A store-like source and an image whose layers (bottom first) are the given tars. */
async function image(
  layers: TarEntry[][],
): Promise<{ store: { root: string; blobPath: (d: string) => string }; image: ImageForRootfs }> {
  const blobs = new Map<string, string>();
  const descs = [];
  const diffIds = [];
  for (const entries of layers) {
    const { blob, diffId } = await layerBlob(work, entries);
    const digest = `sha256:${diffId.slice(7, 15)}${'0'.repeat(56)}`;
    blobs.set(digest, blob);
    descs.push({ mediaType: MediaType.ociLayerGzip, digest, size: 0 });
    diffIds.push(diffId);
  }
  return {
    store: { root, blobPath: (d) => blobs.get(d)! },
    image: {
      ref: 'docker.io/library/test:latest',
      manifestDigest: `sha256:${'b'.repeat(64)}`,
      manifest: {
        schemaVersion: 2,
        config: { mediaType: MediaType.ociConfig, digest: `sha256:${'c'.repeat(64)}`, size: 0 },
        layers: descs,
      },
      config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } },
    },
  };
}

const bottom: TarEntry[] = [
  { name: 'bin/sh', body: 'shell', mode: 0o755 },
  { name: 'bin/gone', body: 'deleted by the top layer', mode: 0o755 },
  { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\nold:x:5:5::/:/bin/sh\n' },
  { name: 'opt/app/old-plugin', body: 'hidden by an opaque directory' },
  { name: 'opt/app/config', body: 'bottom config' },
  { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
  { name: 'usr/lib/libc.so', body: 'libc' },
  { name: 'data/file', body: 'a file the top layer turns into a directory' },
];
const top: TarEntry[] = [
  { name: 'bin/.wh.gone' },
  { name: 'opt/app/.wh..wh..opq' },
  { name: 'opt/app/new-plugin', body: 'top' },
  { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\nlearner:x:1000:1000::/home:/bin/sh\n' },
  { name: 'data', type: 'symlink', linkname: '/opt/app' },
];

describe('LayeredView: the layers as the container will see them', () => {
  it('looks top layer first, honours whiteouts, opaque directories and symlinks across layers', async () => {
    const { store, image: img } = await image([bottom, top]);
    const view = new LayeredView((await unpackImage(store, img)).reverse());
    expect(view.has('/bin/sh')).toBe(true);
    expect(view.has('/bin/gone')).toBe(false); // whited out
    expect(view.readFile('/etc/passwd')).toContain('learner'); // the top layer's copy
    expect(view.has('/opt/app/new-plugin')).toBe(true);
    expect(view.has('/opt/app/old-plugin')).toBe(false); // below an opaque directory
    expect(view.has('/opt/app/config')).toBe(false);
    expect(view.readFile('/lib/libc.so')).toBe('libc'); // a symlink of one layer into another's directory
    expect(view.resolvePath('/lib/libc.so')).toEqual(['usr', 'lib', 'libc.so']);
    expect(view.resolvePath('/data/new-plugin')).toEqual(['opt', 'app', 'new-plugin']); // absolute symlink: from the image's root
    expect(view.has('/data/file')).toBe(false);
    expect(view.resolvePath('/../../etc/passwd')).toEqual(['etc', 'passwd']); // ".." stops at the root
    expect(view.isDirectory('/opt/app')).toBe(true);
  });

  it('stops at a non-directory that hides a lower directory', async () => {
    const { store, image: img } = await image([
      [{ name: 'x/inner', body: 'below' }],
      [{ name: 'x', body: 'now a file' }],
    ]);
    const view = new LayeredView((await unpackImage(store, img)).reverse());
    expect(view.readFile('/x')).toBe('now a file');
    expect(view.has('/x/inner')).toBe(false);
  });

  it('refuses a symlink loop', async () => {
    const { store, image: img } = await image([
      [
        { name: 'a', type: 'symlink', linkname: 'b' },
        { name: 'b', type: 'symlink', linkname: 'a' },
      ],
    ]);
    const view = new LayeredView((await unpackImage(store, img)).reverse());
    expect(() => view.has('/a')).toThrow(/too many levels of symbolic links/);
  });
});

describe('createRootfs', () => {
  it("copy mode: the layers applied bottom up into the container's directory, whiteouts and opaque directories honoured", async () => {
    const { store, image: img } = await image([
      bottom,
      [
        ...top,
        { name: 'bin/sh', body: 'new shell', mode: 0o755 },
        { name: 'bin/ash', type: 'link', linkname: 'bin/sh' },
      ],
    ]);
    const layers = await unpackImage(store, img);
    const r = createRootfs(root, img, layers, ID, { mode: 'copy' });
    expect(r.mode).toBe('copy');
    expect(r.path).toBe(join(root, 'containers', ID, 'rootfs'));
    expect(r.reason).toBe('NSX_ROOTFS_MODE=copy');
    const p = (x: string) => join(r.path, x);
    expect(existsSync(p('bin/gone'))).toBe(false);
    expect(readdirSync(p('opt/app'))).toEqual(['new-plugin']);
    expect(readFileSync(p('etc/passwd'), 'utf8')).toContain('learner');
    expect(readlinkSync(p('data'))).toBe('/opt/app');
    expect(readlinkSync(p('lib'))).toBe('usr/lib');
    expect(statSync(p('bin/sh')).mode & 0o777).toBe(0o755);
    expect(statSync(p('bin/ash')).ino).toBe(statSync(p('bin/sh')).ino); // a hardlink stays one
    expect(lstatSync(p('bin/sh')).mtime.getTime()).toBe(new Date(1_000_000_000_000).getTime());
    // the layers are not touched
    expect(readFileSync(join(layerDiffDir(root, img.config.rootfs.diff_ids[0]), 'bin/gone'), 'utf8')).toMatch(
      /deleted/,
    );
    r.remove();
    expect(readdirSync(join(root, 'containers'))).toEqual([]);
    r.remove(); // idempotent
  });

  it('overlay mode: an upper, a work and an empty mount point under containers/<id>, the layers top first', async () => {
    const { store, image: img } = await image([bottom, top]);
    const layers = await unpackImage(store, img);
    const r = createRootfs(root, img, layers, ID, { mode: 'overlay', rootless: false });
    const dir = join(root, 'containers', ID);
    expect(r).toMatchObject({
      mode: 'overlay',
      upper: join(dir, 'upper'),
      work: join(dir, 'work'),
      path: join(dir, 'merged'),
    });
    expect(r.lowerdirs).toEqual([layers[1].diff, layers[0].diff]);
    expect(r.overlay).toEqual({ lowerdirs: r.lowerdirs, upper: r.upper, work: r.work, target: r.path });
    expect(r.mountData).toBe(`lowerdir=${layers[1].diff}:${layers[0].diff},upperdir=${r.upper},workdir=${r.work}`);
    expect(readdirSync(r.path)).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'container.json'), 'utf8'))).toMatchObject({
      id: ID,
      image: img.ref,
      manifestDigest: img.manifestDigest,
      pid: process.pid,
      mode: 'overlay',
    });
    expect(containerUsing(root, img.manifestDigest)).toBe(ID);
    expect(containerUsing(root, `sha256:${'d'.repeat(64)}`)).toBe(false);
    r.remove();
    expect(existsSync(dir)).toBe(false);
  });

  it('rootless: overlayfs gets userxattr (its marks are user.overlay.* inside a user namespace)', async () => {
    const { store, image: img } = await image([bottom]);
    const r = createRootfs(root, img, await unpackImage(store, img, { rootless: true }), ID, {
      mode: 'overlay',
      rootless: true,
    });
    expect(r.mountData).toMatch(/,userxattr$/);
    r.remove();
  });

  it("copies instead when overlayfs's options would not fit in the page mount(2) takes, and says so", async () => {
    const { store, image: img } = await image([bottom]);
    const layers = await unpackImage(store, img);
    const many = Array.from({ length: 60 }, () => layers[0]);
    const r = createRootfs(
      root,
      {
        ...img,
        config: { ...img.config, rootfs: { type: 'layers', diff_ids: many.map(() => img.config.rootfs.diff_ids[0]) } },
      },
      many,
      ID,
      {},
    );
    expect(
      overlayMountData({ lowerdirs: many.map((l) => l.diff), upper: 'u', work: 'w', target: 't' }).length,
    ).toBeGreaterThan(MOUNT_DATA_MAX);
    expect(r.mode).toBe('copy');
    expect(r.reason).toMatch(/more than the 4095 mount\(2\) takes/);
    r.remove();
    expect(() => createRootfs(root, img, many, ID, { mode: 'overlay' })).toThrow(
      /NSX_ROOTFS_MODE=overlay: overlayfs's options for 60 layers/,
    );
    expect(readdirSync(join(root, 'containers'))).toEqual([]); // the failure left nothing
  });

  it('takes the mode from NSX_ROOTFS_MODE, and refuses an unknown one', async () => {
    const { store, image: img } = await image([bottom]);
    const layers = await unpackImage(store, img);
    process.env.NSX_ROOTFS_MODE = 'copy';
    const r = createRootfs(root, img, layers, ID);
    expect(r.mode).toBe('copy');
    r.remove();
    process.env.NSX_ROOTFS_MODE = 'zfs';
    expect(() => createRootfs(root, img, layers, ID)).toThrow(/NSX_ROOTFS_MODE=zfs: unknown mode/);
  });

  itRoot('copies when a private user namespace as root needs the owners shifted (chown needs root)', async () => {
    const { store, image: img } = await image([
      [
        { name: 'home/u/', type: 'directory', uid: 1000, gid: 1000 },
        { name: 'f', body: 'x' },
      ],
    ]);
    const layers = await unpackImage(store, img, { rootless: false });
    const maps = {
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 200000, size: 65536 }],
    };
    const r = createRootfs(root, img, layers, ID, { rootless: false, ...maps });
    expect(r.mode).toBe('copy');
    expect(r.reason).toMatch(/shifts file owners/);
    expect([statSync(r.path).uid, statSync(r.path).gid]).toEqual([100000, 200000]);
    expect([statSync(join(r.path, 'home/u')).uid, statSync(join(r.path, 'home/u')).gid]).toEqual([101000, 201000]);
    expect(statSync(join(r.path, 'f')).uid).toBe(100000);
    r.remove();
  });

  it('removes the directories of containers whose nsx is gone, and keeps live ones', async () => {
    const { store, image: img } = await image([bottom]);
    const mine = await prepareRootfs(store, img, ID, { mode: 'copy' });
    const stale = join(root, 'containers', 'f'.repeat(64));
    mkdirSync(join(stale, 'upper'), { recursive: true });
    writeFileSync(
      join(stale, 'container.json'),
      JSON.stringify({ id: 'f'.repeat(64), pid: 999999999, started: '1', manifestDigest: img.manifestDigest }),
    );
    expect(containerUsing(root, img.manifestDigest)).toBe(ID);
    expect(removeStaleContainers(root)).toEqual([stale]);
    expect(readdirSync(join(root, 'containers'))).toEqual([ID]);
    mine.remove();
  });

  it("never sweeps a directory its owner keeps (an engine's stopped container), and counts its image as used", async () => {
    const { store, image: img } = await image([bottom]);
    const kept = await prepareRootfs(store, img, ID, { mode: 'copy', keep: true });
    const record = join(root, 'containers', ID, 'container.json');
    const r = JSON.parse(readFileSync(record, 'utf8'));
    writeFileSync(record, JSON.stringify({ ...r, pid: 999999999, started: '1' })); // its engine is gone
    expect(removeStaleContainers(root)).toEqual([]);
    expect(containerUsing(root, img.manifestDigest)).toBe(ID);
    kept.remove();
  });

  it('refuses a layer of a media type it cannot unpack', async () => {
    const { store, image: img } = await image([bottom]);
    img.manifest.layers[0].mediaType = 'application/vnd.example.squashfs';
    await expect(prepareRootfs(store, img, ID)).rejects.toThrow(
      /media type application\/vnd.example.squashfs, which nsx cannot unpack/,
    );
    expect(existsSync(join(root, 'containers', ID))).toBe(false);
  });
});

describe('extracted layers are shared', () => {
  it('unpacks a layer two images have once', async () => {
    const a = await image([bottom]);
    const [l1] = await unpackImage(a.store, a.image);
    writeFileSync(join(l1.diff, 'marker'), '');
    const [l2] = await unpackImage(a.store, { ...a.image, ref: 'other' });
    expect(l2.diff).toBe(l1.diff);
    expect(existsSync(join(l2.diff, 'marker'))).toBe(true);
    await expect(extractLayer(root, '/nonexistent', a.image.config.rootfs.diff_ids[0])).resolves.toEqual(l1.record);
  });
});
