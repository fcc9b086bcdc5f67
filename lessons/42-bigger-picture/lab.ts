// The bigger-picture lesson's lab: a private engine and store (../engine-lab.ts) with the two sandbox
// servers in it (nsx-sandbox/server:1 and :2, built offline: sandbox/images/), and the lesson's two
// programs on the commands' PATH: `reconcile` (reconcile.ts) and `rollout` (rollout.ts). The teardown
// of engine-lab.ts stops the engine (and with it every container and veth pair) and removes the lab.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAll, layoutName, loadLayout, writeLayout } from '../../src/image/build.js';
import { ImageStore } from '../../src/image/store.js';
import type { TourLab } from '../../src/learn/lesson.js';
import { packageRoot } from '../../src/paths.js';
import { startLab } from '../engine-lab.js';

export const SERVER_IMAGES = ['nsx-sandbox/server:1', 'nsx-sandbox/server:2'];

export async function startBigLab(): Promise<TourLab> {
  const lab = await startLab({ registry: false });
  try {
    const images = await buildAll(join(packageRoot(), 'sandbox', 'images', 'images.json'));
    const store = new ImageStore(lab.vars.store);
    const out = mkdtempSync(join(lab.vars.dir, 'oci-'));
    for (const ref of SERVER_IMAGES) {
      const img = images.find((i) => i.ref === `docker.io/${ref}`);
      if (!img) throw new Error(`sandbox/images/images.json has no ${ref}`);
      const dir = join(out, layoutName(img.ref));
      writeLayout(dir, img);
      await loadLayout(store, dir);
    }
    rmSync(out, { recursive: true, force: true });
    for (const name of ['reconcile', 'rollout']) {
      const script = join(packageRoot(), 'dist', 'lessons', '42-bigger-picture', `${name}.js`);
      writeFileSync(join(lab.vars.dir, 'bin', name), `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`, {
        mode: 0o755,
      });
    }
    lab.vars.root = packageRoot();
    lab.vars.lessonDir = join(packageRoot(), 'lessons', '42-bigger-picture');
    return lab;
  } catch (e) {
    await lab.teardown();
    throw e;
  }
}
