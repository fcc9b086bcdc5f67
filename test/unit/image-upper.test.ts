// A container's upper directory read back (src/image/upper.ts): docker diff's changes and the layer tar
// of docker commit, from a hand-made upper directory over real unpacked layers. Whiteouts (char 0/0)
// need mknod and opaque directories the trusted.* xattr namespace: both need root (CAP_MKNOD,
// CAP_SYS_ADMIN). The same on a real overlay mount: test/integration/upper-overlay.test.ts.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { extractLayer } from '../../src/image/extract.js';
import { layerDiffDir } from '../../src/image/layers.js';
import { LayeredView } from '../../src/image/rootfs.js';
import { upperChanges, upperTar, walkUpper } from '../../src/image/upper.js';
import { itRoot, thrownNsxError } from '../helpers.js';
import { layerBlob } from '../tars.js';

let work: string;
let upper: string;
let lower: LayeredView;

beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), 'nsx-upper-'));
  const root = join(work, 'store');
  mkdirSync(root);
  const { blob, diffId } = await layerBlob(work, [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
    { name: 'etc/motd', body: 'hi\n' },
    { name: 'var/', type: 'directory' },
    { name: 'var/cache/', type: 'directory' },
    { name: 'var/cache/a', body: 'a' },
    { name: 'usr/', type: 'directory' },
    { name: 'usr/bin/', type: 'directory' },
    { name: 'usr/bin/tool', body: 'x', mode: 0o755 },
  ]);
  const record = await extractLayer(root, blob, diffId);
  lower = new LayeredView([{ diff: layerDiffDir(root, diffId), record }]);
  upper = join(work, 'upper');
  mkdirSync(upper);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** A copy-up of a lower directory and its parents: same mode and mtime as below, as overlayfs makes
 *  them (called again after writing into it, the mtime is put back: only a parent, not changed). */
function copiedUp(rel: string): void {
  mkdirSync(join(upper, rel), { recursive: true });
  const parts = rel.split('/');
  for (let i = parts.length; i > 0; i--) {
    const below = lower.find(parts.slice(0, i))!.st;
    utimesSync(join(upper, ...parts.slice(0, i)), below.atime, below.mtime);
  }
}
const LATER = new Date(2_000_000_000_000);

const must = (r: ReturnType<typeof spawnSync>) => {
  if (r.status !== 0) throw new Error(String(r.stderr));
};
const whiteout = (rel: string) => must(spawnSync('mknod', [join(upper, rel), 'c', '0', '0']));
const opaque = (rel: string) =>
  must(spawnSync('setfattr', ['-h', '-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, rel)]));

/** The tar's entries as [name, type, size, linkname]. */
async function entries(tar: NodeJS.ReadableStream): Promise<{ names: string[][]; bytes: Buffer }> {
  const chunks: Buffer[] = [];
  for await (const c of tar) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  const x = extract();
  const names: string[][] = [];
  const done = new Promise<void>((res, rej) => {
    x.on('entry', (h, s, next) => {
      names.push([h.name, h.type, String(h.size), h.linkname ?? '', (h.mode ?? 0).toString(8)]);
      s.on('end', () => next());
      s.resume();
    });
    x.on('finish', () => res());
    x.on('error', rej);
  });
  x.end(bytes);
  await done;
  return { names, bytes };
}

describe('changes', () => {
  it('an added file under a copied-up directory: the parent is C, the file A; untouched lower dirs are left out', () => {
    copiedUp('etc');
    writeFileSync(join(upper, 'etc', 'hostname'), 'box\n');
    // etc/ changed (a new entry): its mtime moved on, as the kernel's would.
    utimesSync(join(upper, 'etc'), LATER, LATER);
    copiedUp('usr/bin'); // a parent of nothing changed, identical to below: not a change
    mkdirSync(join(upper, 'new', 'deep'), { recursive: true });
    expect(upperChanges(upper, lower)).toEqual([
      { path: '/etc', kind: 'modified' },
      { path: '/etc/hostname', kind: 'added' },
      { path: '/new', kind: 'added' },
      { path: '/new/deep', kind: 'added' },
    ]);
  });

  it('a modified file is C, and its unchanged parent is recorded once as C (moby PR 13590)', () => {
    copiedUp('etc');
    writeFileSync(join(upper, 'etc', 'motd'), 'changed\n');
    writeFileSync(join(upper, 'etc', 'z-new'), '');
    copiedUp('etc');
    expect(upperChanges(upper, lower)).toEqual([
      { path: '/etc/motd', kind: 'modified' },
      { path: '/etc', kind: 'modified' },
      { path: '/etc/z-new', kind: 'added' },
    ]);
  });

  itRoot('a whiteout (char 0/0) is D; an opaque directory is D (docker reports it so), its new contents A', () => {
    copiedUp('etc');
    whiteout('etc/motd');
    mkdirSync(join(upper, 'var'));
    mkdirSync(join(upper, 'var', 'cache'));
    opaque('var/cache');
    writeFileSync(join(upper, 'var', 'cache', 'b'), 'b');
    const changes = upperChanges(upper, lower);
    expect(changes).toEqual([
      { path: '/etc', kind: 'modified' },
      { path: '/etc/motd', kind: 'deleted' },
      { path: '/var', kind: 'modified' },
      { path: '/var/cache', kind: 'deleted' },
      { path: '/var/cache/b', kind: 'added' },
    ]);
    expect(walkUpper(upper).find((e) => e.rel === 'var/cache')).toEqual(expect.objectContaining({ opaque: true }));
  });

  it('names in byte order, as moby walks them ("B" before "a")', () => {
    for (const n of ['b', 'a', 'B', '_']) writeFileSync(join(upper, n), '');
    expect(upperChanges(upper, lower).map((c) => c.path)).toEqual(['/B', '/_', '/a', '/b']);
  });

  itRoot('an upper directory with overlay.redirect (redirect_dir) is refused, naming the feature', () => {
    mkdirSync(join(upper, 'moved'));
    must(spawnSync('setfattr', ['-h', '-n', 'trusted.overlay.redirect', '-v', '/var', join(upper, 'moved')]));
    const e = thrownNsxError(() => upperChanges(upper, lower));
    expect(e.message).toContain('trusted.overlay.redirect');
    expect(e.message).toContain('redirect_dir');
  });
});

describe('the layer tar', () => {
  itRoot(
    'whiteouts become .wh.NAME, opaque directories .wh..wh..opq; files, links, hardlinks as they are',
    async () => {
      copiedUp('etc');
      whiteout('etc/motd');
      writeFileSync(join(upper, 'etc', 'hostname'), 'box\n');
      linkSync(join(upper, 'etc', 'hostname'), join(upper, 'etc', 'hostname2'));
      symlinkSync('/etc/hostname', join(upper, 'etc', 'link'));
      mkdirSync(join(upper, 'var'));
      mkdirSync(join(upper, 'var', 'cache'), { mode: 0o750 });
      opaque('var/cache');
      const { names } = await entries(upperTar(upper));
      expect(names).toEqual([
        ['etc/', 'directory', '0', '', '755'],
        ['etc/hostname', 'file', '4', '', '644'],
        ['etc/hostname2', 'link', '0', 'etc/hostname', '644'],
        ['etc/link', 'symlink', '0', '/etc/hostname', '777'],
        ['etc/.wh.motd', 'file', '0', '', '600'],
        ['var/', 'directory', '0', '', '755'],
        ['var/cache/', 'directory', '0', '', '750'],
        ['var/cache/.wh..wh..opq', 'file', '0', '', '750'],
      ]);
    },
  );

  itRoot('the tar unpacks as a layer: its whiteouts and opaque directory are what the store records', async () => {
    copiedUp('etc');
    whiteout('etc/motd');
    mkdirSync(join(upper, 'var', 'cache'), { recursive: true });
    opaque('var/cache');
    writeFileSync(join(upper, 'var', 'cache', 'b'), 'b');
    const { bytes } = await entries(upperTar(upper));
    const blob = join(work, 'layer.tar');
    writeFileSync(blob, bytes);
    const diffId = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const record = await extractLayer(join(work, 'store'), blob, diffId);
    expect(record.whiteouts).toEqual(['etc/motd']);
    expect(record.opaque).toEqual(['var/cache']);
  });

  it('a file that changes size while it is written fails the tar (the layer would be torn)', async () => {
    writeFileSync(join(upper, 'grows'), 'a');
    const tar = upperTar(upper);
    writeFileSync(join(upper, 'grows'), 'a lot longer now');
    await expect(entries(tar)).rejects.toThrow(/size/i);
  });
});
