#!/usr/bin/env node
// namespace-explorer's command line. `npm ci` / `npm run build` compiles the TypeScript to dist/ (tsc)
// and bundles the command line into dist/bundle/ (scripts/build-cli.mjs): this runs the bundle with
// its loader (dist/bundle/load.cjs, from scripts/bundle/load.cjs: V8's code cache of each file).
// CommonJS, so that Node does not start its ES module loader for a command.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'bundle');
if (!existsSync(join(bundle, 'nsx.cjs')) || !existsSync(join(bundle, 'load.cjs'))) {
  console.error(
    'nsx: not built yet (dist/bundle/ is missing).\n  Fix: run `npm ci` (or `npm run build`) in the namespace-explorer folder.',
  );
  process.exit(125);
}
require(join(bundle, 'load.cjs')).load('nsx.cjs');
