// The upper directory of a real overlay mount (kernel Documentation/filesystems/overlayfs.rst) read
// as docker diff and docker commit read it (src/image/upper.ts): the kernel's own whiteouts and opaque
// directories, made by rm and by rm -r + mkdir in the merged view, in a private mount namespace
// (unshare -m) so nothing is left mounted.
import { afterEach, beforeEach, describe, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractLayer } from '../../src/image/extract.js';
import { layerDiffDir } from '../../src/image/layers.js';
import { LayeredView } from '../../src/image/rootfs.js';
import { upperChanges, upperTar } from '../../src/image/upper.js';
import { itRoot } from '../helpers.js';
import { layerBlob } from '../tars.js';

let work: string;
beforeEach(() => void (work = mkdtempSync(join(tmpdir(), 'nsx-upper-ovl-'))));
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe('a real overlay upper directory', () => {
  itRoot('rm, rm -r + mkdir, a write and a new file: D, D (opaque), C, A; the tar unpacks to the same', async () => {
    const store = join(work, 'store');
    mkdirSync(store);
    const { blob, diffId } = await layerBlob(work, [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/motd', body: 'hi\n' },
      { name: 'etc/hosts', body: '127.0.0.1 localhost\n' },
      { name: 'var/', type: 'directory' },
      { name: 'var/cache/', type: 'directory' },
      { name: 'var/cache/old', body: 'old' },
    ]);
    const record = await extractLayer(store, blob, diffId);
    const lower = layerDiffDir(store, diffId);
    const [upper, wk, merged] = ['upper', 'work', 'merged'].map((d) => join(work, d));
    for (const d of [upper, wk, merged]) mkdirSync(d);
    const script = [
      `mount -t overlay overlay -o lowerdir=${lower},upperdir=${upper},workdir=${wk} ${merged}`,
      `rm ${merged}/etc/motd`,
      `rm -r ${merged}/var/cache && mkdir ${merged}/var/cache && echo new > ${merged}/var/cache/new`,
      `echo '10.0.0.1 box' >> ${merged}/etc/hosts`,
      `echo hello > ${merged}/hello`,
    ].join(' && ');
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', script], { encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });

    const view = new LayeredView([{ diff: lower, record }]);
    expect(upperChanges(upper, view)).toEqual([
      { path: '/etc', kind: 'modified' },
      { path: '/etc/hosts', kind: 'modified' },
      { path: '/etc/motd', kind: 'deleted' },
      { path: '/hello', kind: 'added' },
      { path: '/var', kind: 'modified' },
      { path: '/var/cache', kind: 'deleted' },
      { path: '/var/cache/new', kind: 'added' },
    ]);

    const chunks: Buffer[] = [];
    for await (const c of upperTar(upper)) chunks.push(c as Buffer);
    const tar = Buffer.concat(chunks);
    const file = join(work, 'layer.tar');
    writeFileSync(file, tar);
    const committed = await extractLayer(store, file, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
    expect(committed.whiteouts).toEqual(['etc/motd']);
    expect(committed.opaque).toEqual(['var/cache']);
    const both = new LayeredView([
      { diff: layerDiffDir(store, committed.diffId), record: committed },
      { diff: lower, record },
    ]);
    expect(both.readFile('/etc/hosts')).toBe('127.0.0.1 localhost\n10.0.0.1 box\n');
    expect(both.has('/etc/motd')).toBe(false);
    expect(both.has('/var/cache/old')).toBe(false);
    expect(both.readFile('/var/cache/new')).toBe('new\n');
    expect(both.readFile('/hello')).toBe('hello\n');
  });
});
