// The bundle's src/cli/yargs-parts.ts (scripts/build-cli.mjs swaps it in): the same modules of yargs,
// imported statically so that esbuild bundles them. `yargs/build/…` is not in yargs' package.json
// exports; build-cli.mjs resolves it to the file in yargs' directory.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import findUp from 'escalade/sync';
import Parser from 'yargs-parser';
import y18n from 'y18n';
import { YargsFactory } from 'yargs/build/lib/yargs-factory.js';
import { getProcessArgvBin } from 'yargs/build/lib/utils/process-argv.js';

/* global NSX_YARGS_DIR */
/** yargs' directory at run time: where its locales are, and the package.json (the one above its
 *  node_modules) that --version reads; cliui and string-width are required from there on first use.
 *  The directory it had when the bundle was built (NSX_YARGS_DIR, relative to dist/bundle/, set by
 *  build-cli.mjs), while it is there: require.resolve('yargs') costs 15-30 ms of package.json
 *  lookups and exports matching, on every start. */
function yargsDir() {
  const built = fileURLToPath(new URL(NSX_YARGS_DIR, import.meta.url));
  if (existsSync(join(built, 'index.mjs'))) return built;
  return dirname(createRequire(import.meta.url).resolve('yargs'));
}

/** @returns {Promise<import('../../src/cli/yargs.js').YargsParts>} */
export async function loadYargsParts() {
  const dir = yargsDir();
  return { YargsFactory, Parser, getProcessArgvBin, findUp, y18n, dir, require: createRequire(join(dir, 'index.mjs')) };
}
