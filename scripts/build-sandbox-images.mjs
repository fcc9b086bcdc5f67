#!/usr/bin/env node
// npm run sandbox:images [-- --load] [-- --push REGISTRY]: builds the sandbox images (src/image/build.ts)
// into sandbox/images/oci/, one OCI image layout per image; --load also puts them into the nsx store
// (NSX_ROOT, else /var/lib/nsx as root), --push REGISTRY also pushes them there (e.g. localhost:5000).
import { existsSync } from 'node:fs';

const build = new URL('../dist/src/image/build.js', import.meta.url);
if (!existsSync(build)) {
  console.error('nsx sandbox images: not built yet (dist/ is missing).\n  Fix: run `npm run build` first.');
  process.exit(1);
}
const { main } = await import(build.href);
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  console.error(`nsx sandbox images: ${e?.describe?.() ?? e?.stack ?? e}`);
  process.exitCode = 1;
}
