#!/usr/bin/env node
// namespace-explorer's command line. `npm ci` / `npm run build` compiles the TypeScript to dist/ (tsc)
// and bundles the command line into dist/bundle/ (scripts/build-cli.mjs): this runs the bundle.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/nsx.mjs', import.meta.url);
if (!existsSync(bundle)) {
  console.error(
    'nsx: not built yet (dist/bundle/ is missing).\n  Fix: run `npm ci` (or `npm run build`) in the namespace-explorer folder.',
  );
  process.exit(125);
}
await import(bundle.href);
