// An engine of a test file's own whose store holds the sandbox images (built offline from
// sandbox/images/images.json and loaded from OCI layouts), bare names meaning docker.io's: what the
// image, archive, build and docker CLI tests run against.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAll, layoutName, loadLayout, writeLayout } from '../src/image/build.js';
import { ImageStore } from '../src/image/store.js';
import { TestEngine } from './engine.js';
import { ROOT } from './helpers.js';

export class ImageTestEngine extends TestEngine {
  readonly store = join(this.dir, 'nsx-root');
  /** NSX_ROOT and NSX_REGISTRIES_CONFIG: set in process.env while it runs, for it and nsx to inherit. */
  readonly images = { NSX_ROOT: this.store, NSX_REGISTRIES_CONFIG: join(this.store, 'registries.json') };

  /** Fills the store with the sandbox images, then starts the engine. */
  async startWithImages(): Promise<void> {
    mkdirSync(this.store, { recursive: true });
    chmodSync(this.store, 0o755);
    writeFileSync(
      this.images.NSX_REGISTRIES_CONFIG,
      JSON.stringify({ unqualifiedSearchRegistries: ['docker.io'], insecure: [] }),
    );
    const s = new ImageStore(this.store, { searchRegistries: ['docker.io'] });
    for (const img of await buildAll(join(ROOT, 'sandbox', 'images', 'images.json'))) {
      const dir = join(this.dir, 'oci', layoutName(img.ref));
      writeLayout(dir, img);
      await loadLayout(s, dir);
    }
    Object.assign(process.env, this.images);
    await this.start();
  }

  /** Stops it, takes its variables out of process.env and removes its directory, store included. */
  async stopAndRemove(): Promise<void> {
    await this.stop();
    delete process.env.NSX_ROOT;
    delete process.env.NSX_REGISTRIES_CONFIG;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
