// The command line's module loader (dist/bundle/load.cjs, copied there by scripts/build-cli.mjs;
// bin/nsx.cjs runs the bundle with it). Every file of the command line's bundle is CommonJS
// (dist/bundle/*.cjs) and runs through vm.Script with V8's code cache of it (FILE.cjs.cache).
//
// Why not Node's own loaders: Node 20 keeps no compile cache, for ES modules (module.enableCompileCache
// is Node 22's) nor for CommonJS, so every start compiled the whole command line again, and an ES
// module entry starts Node's ES module loader (its fs streams, fs/promises, resolve and link) before
// the first line runs. vm.Script takes V8's code cache
// (https://nodejs.org/api/vm.html#new-vmscriptcode-options): the compiled top level and every
// function compiled when the cache was made, checked by V8 against its version, its flags and the
// source (https://v8.dev/blog/code-caching-for-devs). A cache V8 rejects (another Node, other flags)
// is not used: the source is compiled as it would be without one.
//
// A file of the bundle is loaded by a require() of './NAME.cjs' (the chunks esbuild split out, turned
// into CommonJS by build-cli.mjs); any other name is Node's require from dist/bundle/ (node:fs, yargs'
// cliui). Each file gets CommonJS' own wrapper (https://nodejs.org/api/modules.html#the-module-wrapper),
// so it runs under Node's own require() as well: with --enable-source-maps (or NODE_OPTIONS with it)
// the bundle is loaded that way, without the cache, because Node maps the stack traces of what its
// module loaders compile (to src/…, from the .cjs.map beside each file) and not of a vm.Script's.
//
// For the build (scripts/build-cli.mjs) and test/unit/cli-yargs.test.ts, NSX_BUILD_CODE_CACHE:
//   write  each file loaded writes its cache at exit, holding every function compiled by then (one it
//          had is used first: the build's runs add up)
//   check  the exit status is 3, with a line on stderr, when V8 did not take a loaded file's cache
'use strict';
const { existsSync, readFileSync, readdirSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

const dir = __dirname;
const nodeRequire = createRequire(join(dir, 'nsx.cjs'));
/** @type {Map<string, { exports: unknown }>} */
const loaded = new Map();
/** @type {{ file: string, script: import('node:vm').Script }[]} */
const scripts = [];
const mode = process.env.NSX_BUILD_CODE_CACHE;

/** CommonJS' wrapper. The cache is of this text: build and load must agree. */
const wrap = (source) => `(function (exports, require, module, __filename, __dirname) {${source}\n})`;

/** A file's cache, if it has one. */
function cacheOf(file) {
  try {
    return readFileSync(`${file}.cache`);
  } catch {
    return undefined;
  }
}

/** A file of the bundle compiled, from its cache when there is one and V8 takes it. */
function compile(file, useCache) {
  const cachedData = useCache ? cacheOf(file) : undefined;
  return new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
}

/** The require() a file of the bundle is given. */
function bundleRequire(name) {
  if (name.startsWith('./') && name.endsWith('.cjs')) return load(name.slice(2));
  return nodeRequire(name);
}

/** Runs dist/bundle/NAME once (a second require gets its exports, as CommonJS' own does, also while
 *  it is still running: a cycle sees what it has exported so far). */
function load(name) {
  if (process.sourceMapsEnabled) return nodeRequire(`./${name}`);
  const file = join(dir, name);
  const done = loaded.get(file);
  if (done) return done.exports;
  const module = { exports: {} };
  loaded.set(file, module);
  const script = compile(file, true);
  if (mode) scripts.push({ file, script });
  script.runInThisContext()(module.exports, bundleRequire, module, file, dir);
  return module.exports;
}

if (mode === 'write') {
  process.once('exit', () => {
    for (const { file, script } of scripts) writeFileSync(`${file}.cache`, script.createCachedData());
  });
} else if (mode === 'check') {
  process.once('exit', () => {
    const rejected = scripts.filter((s) => s.script.cachedDataRejected !== false).map((s) => `${s.file}.cache`);
    if (rejected.length === 0) return;
    process.stderr.write(`nsx: V8 did not take ${rejected.join(', ')}\n`);
    process.exitCode = 3;
  });
}

/** A file smaller than this that no representative run loaded gets a cache of all its functions; a
 *  larger one (a library such as marked, or the lessons, of which a command uses a part) of its top
 *  level only: V8 deserializes the whole cache of a file at each start that loads it. */
const EAGER_BELOW = 100_000;

/** For build-cli.mjs: a cache for each file of the bundle that has none yet (one no representative
 *  run loaded), then the names of those whose cache V8 rejects. Compiling every function at once is
 *  V8's --no-lazy, set for that compile only: V8 keys a cache to its flags, and with the flag set
 *  back they are those of any other start (the check of the build, and this function's last line,
 *  would say if they were not). */
function cacheTheRest() {
  const { setFlagsFromString } = require('node:v8');
  const files = readdirSync(dir).filter((f) => f.endsWith('.cjs') && f !== 'load.cjs');
  for (const f of files) {
    const file = join(dir, f);
    if (existsSync(`${file}.cache`)) continue;
    const eager = statSync(file).size < EAGER_BELOW;
    if (eager) setFlagsFromString('--no-lazy');
    const script = compile(file, false);
    if (eager) setFlagsFromString('--lazy');
    writeFileSync(`${file}.cache`, script.createCachedData());
  }
  return files.filter((f) => compile(join(dir, f), true).cachedDataRejected !== false);
}

module.exports = { load, cacheTheRest };
