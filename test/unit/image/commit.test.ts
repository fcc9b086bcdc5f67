// Images made in the store (src/image/commit.ts): a layer from a tar stream, a config and history
// that extend the parent's, the parent kept as the store's annotation; docker history's rows from
// them (src/image/history.ts) and docker image prune's dangling rule (src/image/prune.ts).
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writeImage, writeLayer } from '../../../src/image/commit.js';
import { imageHistory } from '../../../src/image/history.js';
import { parentIds, pruneImages } from '../../../src/image/prune.js';
import { ImageStore } from '../../../src/image/store.js';
import { makeTar, sha256 } from '../../tars.js';

let dir: string;
let store: ImageStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsx-commit-'));
  store = new ImageStore(dir, { searchRegistries: ['docker.io'] });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function layer(files: Record<string, string>) {
  const tar = await makeTar(Object.entries(files).map(([name, body]) => ({ name, body })));
  return { tar, layer: await writeLayer(store, Readable.from([tar])) };
}

/** base:1 (one layer) ← an untagged step (one layer) ← app:1 (config only). */
async function family() {
  const { tar, layer: l0 } = await layer({ 'a.txt': 'a' });
  const base = await writeImage(store, { layer: l0, config: { Cmd: ['sh'] }, createdBy: 'base', ref: 'base:1' });
  const { layer: l1 } = await layer({ 'b.txt': 'b' });
  const step = await writeImage(store, {
    parent: store.resolve('base:1'),
    layer: l1,
    config: { Cmd: ['sh'] },
    createdBy: '/bin/sh -c echo b > b.txt',
  });
  const app = await writeImage(store, {
    parent: store.resolve(step.id),
    config: { Cmd: ['cat', 'b.txt'] },
    createdBy: '/bin/sh -c #(nop)  CMD ["cat", "b.txt"]',
    comment: 'the app',
    ref: 'app:1',
  });
  return { tar, l0, base, step, app };
}

describe('images made in the store', () => {
  it("a layer's diff id is the tar's sha256; the config extends the parent's; history rows name the store's images", async () => {
    const { tar, l0, base, step, app } = await family();
    expect(l0.diffId).toBe(sha256(tar));
    expect(l0.tarSize).toBe(tar.length);
    const image = store.resolve('app:1')!;
    expect(image.configDigest).toBe(app.id);
    expect(image.config.config).toEqual({ Cmd: ['cat', 'b.txt'] });
    expect(image.config.rootfs.diff_ids).toHaveLength(2);
    expect(image.manifest.layers).toHaveLength(2);
    expect(image.config.history?.map((h) => !!h.empty_layer)).toEqual([false, false, true]);
    const rows = imageHistory(store, image);
    expect(rows.map((r) => [r.Id, r.CreatedBy, r.Tags, r.Comment])).toEqual([
      [app.id, '/bin/sh -c #(nop)  CMD ["cat", "b.txt"]', ['app:1'], 'the app'],
      [step.id, '/bin/sh -c echo b > b.txt', null, ''],
      [base.id, 'base', ['base:1'], ''],
    ]);
    expect(rows[0].Size).toBe(0); // config only
    expect(rows[1].Size).toBeGreaterThan(0);
  });

  it('prune: an untagged parent is not dangling; once its child goes, it is, and goes too', async () => {
    const { base, step, app } = await family();
    expect(parentIds(store)).toEqual(new Set([base.id, step.id]));
    const remove = (ref: string) => store.remove(ref);
    const none = pruneImages(store, { remove, inUse: () => false });
    expect(none).toEqual({ ImagesDeleted: null, SpaceReclaimed: 0 });
    store.tag('base:1', 'app:1'); // the app's image loses its name: dangling
    const r = pruneImages(store, { remove, inUse: () => false });
    expect(r.ImagesDeleted).toEqual(expect.arrayContaining([{ Deleted: app.id }, { Deleted: step.id }]));
    expect(r.SpaceReclaimed).toBeGreaterThan(0);
    expect(store.resolve(step.id)).toBeUndefined();
    expect(store.resolve('base:1')?.configDigest).toBe(base.id);
  });
});
