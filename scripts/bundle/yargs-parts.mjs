// The bundle's src/cli/yargs-parts.ts (scripts/build-cli.mjs swaps it in): the same modules of yargs,
// built by build-cli.mjs into one CommonJS file beside this bundle (dist/bundle/yargs-core.cjs, from
// scripts/bundle/yargs-core.mjs), which the bundle's loader runs from V8's code cache of it
// (yargs-core.cjs.cache), as it runs every file of the command line (scripts/bundle/load.cjs).
//
// Why: compiling yargs (~170 KB) and, as it runs, each of its functions on first call was the
// largest part of what `nsx --version` did beyond Node's own start (~20% of its instructions,
// measured with callgrind). Node 20 keeps no compile cache for ES modules (module.enableCompileCache
// is Node 22's), but vm.Script takes V8's (https://nodejs.org/api/vm.html#scriptcreatecacheddata):
// npm run build writes it after representative runs (scripts/build-cli.mjs), and V8 checks it
// against its version, flags and the source: a cache it rejects (another Node, other flags) is not
// used, and the source is compiled as it would be without one.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/* global NSX_YARGS_DIR */
/** yargs' directory at run time: where its locales are, and the package.json (the one above its
 *  node_modules) that --version reads; cliui and string-width are required from there on first use.
 *  The directory it had when the bundle was built (NSX_YARGS_DIR, relative to dist/bundle/, set by
 *  build-cli.mjs), while it is there: require.resolve('yargs') costs 15-30 ms of package.json
 *  lookups and exports matching, on every start. */
function yargsDir() {
  // __dirname and __filename: CommonJS' own, as the bundle is by the time it runs (build-cli.mjs),
  // which spares a start Node's URL functions (compiled on first call) for import.meta.url.
  const built = join(__dirname, NSX_YARGS_DIR);
  if (existsSync(join(built, 'index.mjs'))) return built;
  return dirname(createRequire(__filename).resolve('yargs'));
}

/** yargs-core.cjs, run by the bundle's loader (dist/bundle/load.cjs, from scripts/bundle/load.cjs)
 *  from its code cache, as every file of the command line is. This file is an ES module only until
 *  build-cli.mjs turns the bundle into CommonJS: the `require` here is the one the loader gives each
 *  file (build-cli.mjs leaves './yargs-core.cjs' to it). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadCore = () => require('./yargs-core.cjs');

/** @returns {Promise<import('../../src/cli/yargs.js').YargsParts>} */
export async function loadYargsParts() {
  const { YargsFactory, Parser, getProcessArgvBin, findUp, y18n } = loadCore();
  const dir = yargsDir();
  return { YargsFactory, Parser, getProcessArgvBin, findUp, y18n, dir, require: createRequire(join(dir, 'index.mjs')) };
}
