// The sandbox images: built twice from the same inputs they have the same digests; one OCI layout
// per image; the images share the busybox layer; a layout loads into the store.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import {
  buildAll,
  dirFiles,
  layoutName,
  loadLayout,
  reproducibleGzip,
  writeLayout,
  type BuiltImage,
} from '../../src/image/build.js';
import { ImageStore } from '../../src/image/store.js';
import { ROOT } from '../helpers.js';

const RECIPES = join(ROOT, 'sandbox', 'images', 'images.json');
const haveBusybox = existsSync('/bin/busybox');
const itBusybox = haveBusybox ? it : it.skip;

let work: string;
let first: BuiltImage[] = [];
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nsx-build-'));
  if (haveBusybox) first = await buildAll(RECIPES);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function tarNames(gz: Buffer): Promise<{ name: string; uid: number; mtime: number; mode: number }[]> {
  const ex = extract();
  const out: { name: string; uid: number; mtime: number; mode: number }[] = [];
  const done = (async () => {
    for await (const e of ex) {
      out.push({ name: e.header.name, uid: e.header.uid, mtime: e.header.mtime.getTime(), mode: e.header.mode });
      e.resume();
    }
  })();
  ex.end(gunzipSync(gz));
  await done;
  return out;
}

describe('the sandbox images (busybox-static)', () => {
  if (!haveBusybox) it.skip('[skipped: no /bin/busybox; sudo apt-get install busybox-static]', () => undefined);

  itBusybox('are the four images of the recipes', () => {
    expect(first.map((i) => i.ref)).toEqual([
      'docker.io/dockerinaction/hello_world:latest',
      'docker.io/library/busybox:latest',
      'docker.io/nsx-sandbox/server:1',
      'docker.io/nsx-sandbox/server:2',
    ]);
    const [hello, busybox, s1, s2] = first;
    expect(hello.config.config?.Cmd).toEqual(['echo', 'hello world']);
    expect(busybox.config.config?.Cmd).toEqual(['sh']);
    expect(s1.config.config).toMatchObject({ Cmd: ['server'], WorkingDir: '/usr/lib/server' });
    // one busybox layer, shared: a registry stores it once, a pull of the second image says "Already exists"
    expect(new Set([hello, busybox, s1, s2].map((i) => i.layers[0].digest)).size).toBe(1);
    expect(s1.layers[1].digest).not.toBe(s2.layers[1].digest);
  });

  itBusybox('are reproducible: built again, the same digests', async () => {
    const again = await buildAll(RECIPES);
    expect(again.map((i) => i.manifestBlob.digest)).toEqual(first.map((i) => i.manifestBlob.digest));
    expect(again.map((i) => i.layers.map((l) => l.digest))).toEqual(first.map((i) => i.layers.map((l) => l.digest)));
  });

  itBusybox('have sorted entries owned by 0 at one fixed date, and gzip headers without a date', async () => {
    const layer = first[2].layers[1];
    expect(layer.bytes.readUInt32LE(4)).toBe(0);
    expect(layer.bytes[9]).toBe(3);
    const entries = await tarNames(layer.bytes);
    const names = entries.map((e) => e.name);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('usr/lib/server/VERSION');
    expect(new Set(entries.map((e) => e.mtime))).toEqual(new Set([new Date('2024-01-01T00:00:00Z').getTime()]));
    expect(new Set(entries.map((e) => e.uid))).toEqual(new Set([0]));
    expect(entries.find((e) => e.name === 'usr/bin/server')!.mode).toBe(0o755);
  });

  itBusybox('are written one OCI image layout each, and load into the store under their names', async () => {
    const out = join(work, 'oci');
    for (const img of first) writeLayout(join(out, layoutName(img.ref)), img);
    expect(readdirSync(out).sort()).toEqual([
      'busybox_latest',
      'dockerinaction_hello_world_latest',
      'nsx-sandbox_server_1',
      'nsx-sandbox_server_2',
    ]);
    const dir = join(out, 'nsx-sandbox_server_1');
    expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('1'); // skopeo copy oci:DIR:1
    expect(readdirSync(join(dir, 'blobs', 'sha256')).length).toBe(4); // manifest, config, two layers

    const store = new ImageStore(join(work, 'store'), { searchRegistries: ['docker.io'] });
    expect(await loadLayout(store, dir)).toEqual(['docker.io/nsx-sandbox/server:1']);
    const got = store.resolve('nsx-sandbox/server:1');
    expect(got?.manifestDigest).toBe(first[2].manifestBlob.digest);
    expect(await loadLayout(store, join(out, 'busybox_latest'), 'localhost:5000/bb:1')).toEqual([
      'localhost:5000/bb:1',
    ]);
  });
});

describe('builder pieces', () => {
  it('packs a directory with whiteout files as they are, modes from the executable bit', () => {
    const d = join(work, 'layer');
    mkdirSync(join(d, 'usr/lib'), { recursive: true });
    writeFileSync(join(d, 'usr/lib/.wh.old'), '');
    writeFileSync(join(d, 'run.sh'), '#!/bin/sh\n', { mode: 0o700 });
    expect(dirFiles(d).map((f) => [f.name, f.type, f.mode.toString(8)])).toEqual([
      ['run.sh', 'file', '755'],
      ['usr', 'directory', '755'],
      ['usr/lib', 'directory', '755'],
      ['usr/lib/.wh.old', 'file', '644'],
    ]);
  });

  it('gzips the same bytes the same way', () => {
    const data = Buffer.from('x'.repeat(10000));
    expect(reproducibleGzip(data).equals(reproducibleGzip(data))).toBe(true);
    expect(gunzipSync(reproducibleGzip(data)).equals(data)).toBe(true);
  });
});
