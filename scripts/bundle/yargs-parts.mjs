// The bundle's src/cli/yargs-parts.ts (scripts/build-cli.mjs swaps it in): the same modules of yargs,
// built by build-cli.mjs into one CommonJS file beside this bundle (dist/bundle/yargs-core.cjs, from
// scripts/bundle/yargs-core.mjs) and run here from V8's code cache of it (yargs-core.cjs.cache).
//
// Why: compiling yargs (~170 KB) and, as it runs, each of its functions on first call was the
// largest part of what `nsx --version` did beyond Node's own start (~20% of its instructions,
// measured with callgrind). Node 20 keeps no compile cache for ES modules (module.enableCompileCache
// is Node 22's), but vm.Script takes V8's (https://nodejs.org/api/vm.html#scriptcreatecacheddata):
// npm run build writes it after a representative run (`nsx run --version`), and V8 checks it
// against its version, flags and the source: a cache it rejects (another Node, other flags) is not
// used, and the source is compiled as it would be without one.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

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

/** The CommonJS module yargs-core.cjs, run from its code cache when V8 takes it. For build-cli.mjs
 *  (and test/unit/cli-yargs.test.ts), NSX_BUILD_YARGS_CACHE=write writes the cache at exit, holding
 *  every function this process compiled; =check makes the exit status 3 if V8 rejected it. */
function loadCore() {
  const file = fileURLToPath(new URL('./yargs-core.cjs', import.meta.url));
  const cache = `${file}.cache`;
  const writing = process.env.NSX_BUILD_YARGS_CACHE === 'write';
  const cachedData = !writing && existsSync(cache) ? readFileSync(cache) : undefined;
  // The wrapper is CommonJS' own (https://nodejs.org/api/modules.html#the-module-wrapper), and
  // import.meta.url, which yargs-parser reads, is the file's URL.
  const source = `(function (exports, require, module, __filename, __dirname, __importMetaUrl) {${readFileSync(file, 'utf8')}\n})`;
  const script = new Script(source, { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), pathToFileURL(file).href);
  if (writing) process.once('exit', () => writeFileSync(cache, script.createCachedData()));
  if (process.env.NSX_BUILD_YARGS_CACHE === 'check' && script.cachedDataRejected !== false) {
    process.once('exit', () => {
      process.stderr.write(`nsx: V8 did not take ${cache}\n`);
      process.exitCode = 3;
    });
  }
  return module.exports;
}

/** @returns {Promise<import('../../src/cli/yargs.js').YargsParts>} */
export async function loadYargsParts() {
  const { YargsFactory, Parser, getProcessArgvBin, findUp, y18n } = loadCore();
  const dir = yargsDir();
  return { YargsFactory, Parser, getProcessArgvBin, findUp, y18n, dir, require: createRequire(join(dir, 'index.mjs')) };
}
