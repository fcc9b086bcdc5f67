#!/usr/bin/env node
// Bundles the command line and the engine for start-up (npm run build runs it after tsc), with
// esbuild (https://esbuild.github.io/api/), into dist/bundle/:
//   nsx.cjs, chunk-*.cjs, …  from src/cli/nsx.ts: the command line (what bin/nsx.cjs runs), CommonJS,
//                            each file run from V8's code cache (.cjs.cache) by load.cjs
//   yargs-core.cjs           yargs' modules the command line runs (scripts/bundle/yargs-core.mjs)
//   load.cjs                 the command line's loader (scripts/bundle/load.cjs)
//   nsxd.mjs, chunk-*.mjs    from src/engine/nsxd.ts: the engine (what `nsx engine start` and a run
//                            that finds no engine start), ES modules
// Each bundle is split (https://esbuild.github.io/api/#splitting): what a command imports lazily
// (import()) is a chunk of its own, so that a command loads only its own.
// Why: Node's ES module loader resolves, reads, compiles and links file by file; `nsx --version` from
// dist/ loads about 40 files (yargs' 25, the CLI's 14), the bundle a few. And Node 20 keeps no compile
// cache (module.enableCompileCache is Node 22's), so the command line is CommonJS run by a loader of
// its own with V8's code cache (scripts/bundle/load.cjs says how). esbuild splits ES modules only:
// the command line is built as ES modules first (into a scratch directory) and each file is then
// turned into CommonJS (import → require(), import() → Promise.resolve().then(() => require()),
// import.meta.url → the file's own URL, from __filename), its source map carried over.
// tsc's dist/ stays: the tests import dist/ modules and spawn dist/src/engine/nsxd.js and
// dist/lessons/engine-api.js.
//
// Files found from import.meta.url keep working: every bundle file lies in dist/bundle/, and
// packageRoot() (src/paths.ts) walks up from there to package.json as it does from dist/src/…
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bundle');
const scratch = join(root, 'dist', 'bundle-esm');
const yargsDir = dirname(createRequire(import.meta.url).resolve('yargs'));

/** src/cli/yargs-parts.ts loads yargs' modules at run time by path; the bundle imports them
 *  statically instead (scripts/bundle/yargs-parts.mjs), and their `yargs/build/…` paths, which
 *  yargs' package.json does not export, are its files. */
const yargsParts = {
  name: 'yargs-parts',
  setup(build) {
    build.onResolve({ filter: /^\.\/yargs-parts\.js$/ }, (a) =>
      a.importer === join(root, 'src', 'cli', 'yargs.ts')
        ? { path: join(root, 'scripts', 'bundle', 'yargs-parts.mjs') }
        : undefined,
    );
    build.onResolve({ filter: /^yargs\/(build|lib)\// }, (a) => ({
      path: join(yargsDir, a.path.slice('yargs/'.length)),
    }));
  },
};

/** CommonJS packages in an ES module bundle call require() for Node's modules (esbuild's __require
 *  helper calls the `require` in scope): the banner gives an engine file Node's. Only a file that
 *  names `require` gets it (see below): createRequire costs ~0.15 ms a file. The command line's files
 *  need none: CommonJS' wrapper gives each its require (load.cjs). */
const BANNER =
  "import { createRequire as __nsxCreateRequire } from 'node:module'; const require = __nsxCreateRequire(import.meta.url);";
/** `require` as a name of its own (not __require, createRequire or x.require). A string or comment that
 *  says it keeps the banner too: harmless, as every file had it before. */
const NAMES_REQUIRE = /(?<![\w$.])require(?![\w$])/;

/** What import.meta.url is in a CommonJS file of the bundle: its own file: URL, from __filename
 *  (src/paths.ts, src/runtime/seccomp/index.ts and yargs' directory are found from it), worked out
 *  when read. The line is kept only in a file that uses it (see below). It begins with the
 *  directive: an ES module's code is strict, and the "use strict" esbuild writes into a CommonJS file
 *  would be no directive after it. */
const IMPORT_META_URL = `"use strict"; var __importMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };`;
/** Takes IMPORT_META_URL off a file that does not use it; the line stays, empty, so that the source
 *  map's lines do not move. */
const withoutUnusedUrl = (text) =>
  text.startsWith(IMPORT_META_URL) && !text.slice(IMPORT_META_URL.length).includes('__importMeta.url')
    ? text.slice(IMPORT_META_URL.length)
    : text;

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  // where yargs is, from dist/bundle/ (scripts/bundle/yargs-parts.mjs)
  define: { NSX_YARGS_DIR: JSON.stringify(relative(out, yargsDir).split(sep).join('/') + '/') },
  plugins: [yargsParts],
};

rmSync(out, { recursive: true, force: true });
rmSync(scratch, { recursive: true, force: true });

// The engine: ES modules, as tsc's dist/ is.
const engine = await esbuild.build({
  ...common,
  entryPoints: { nsxd: 'src/engine/nsxd.ts' },
  outdir: out,
  // .mjs: Node knows an ES module by its name, without looking for a package.json's "type" above it
  outExtension: { '.js': '.mjs' },
  splitting: true,
  format: 'esm',
  banner: { js: BANNER },
  write: false,
});
for (const file of engine.outputFiles) {
  let text = file.text;
  // Without the banner the first line stays, empty: the source map's lines do not move.
  if (file.path.endsWith('.mjs') && text.startsWith(BANNER) && !NAMES_REQUIRE.test(text.slice(BANNER.length)))
    text = text.slice(BANNER.length);
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, text);
}

// The command line: ES modules split by esbuild, named .cjs already (so that they import each other
// by the names they will have), then each turned into CommonJS beside the engine. esbuild reads the
// scratch files' linked source maps, so dist/bundle/*.cjs.map still point at src/.
const cliEsm = await esbuild.build({
  ...common,
  entryPoints: { nsx: 'src/cli/nsx.ts' },
  outdir: scratch,
  outExtension: { '.js': '.cjs' },
  splitting: true,
  format: 'esm',
  // yargs' modules are a file of their own (below), which scripts/bundle/yargs-parts.mjs requires
  external: ['./yargs-core.cjs'],
});
const cli = await esbuild.build({
  absWorkingDir: root,
  entryPoints: readdirSync(scratch)
    .filter((f) => f.endsWith('.cjs'))
    .map((f) => join(scratch, f)),
  outdir: out,
  outbase: scratch,
  outExtension: { '.js': '.cjs' },
  bundle: false,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'import.meta.url': '__importMeta.url' },
  banner: { js: IMPORT_META_URL },
  write: false,
  // import() as Promise.resolve().then(() => require()): the loader's require, not Node's ES module
  // loader (which a vm.Script cannot reach without importModuleDynamically)
  supported: { 'dynamic-import': false },
});
for (const file of cli.outputFiles) writeFileSync(file.path, withoutUnusedUrl(file.text));
rmSync(scratch, { recursive: true, force: true });

// yargs' modules, as one CommonJS file.
const core = await esbuild.build({
  ...common,
  entryPoints: { 'yargs-core': 'scripts/bundle/yargs-core.mjs' },
  outdir: out,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // yargs-parser's one use of import.meta.url, at module scope, is createRequire(import.meta.url),
  // which takes the file's path as well: that spares every start Node's URL functions
  define: { ...common.define, 'import.meta.url': '__filename' },
});
// yargs' own modules name __filename nowhere: one is that use, a second one a new use of import.meta.url
if (readFileSync(join(out, 'yargs-core.cjs'), 'utf8').split('__filename').length !== 2)
  throw new Error('build-cli: yargs-core.cjs reads import.meta.url in a new place: check that a path does there');
copyFileSync(join(root, 'scripts', 'bundle', 'load.cjs'), join(out, 'load.cjs'));

// V8's code cache of each file, written by representative runs of the command line (load.cjs; each
// run starts from the caches the one before wrote, so they add up): `nsx run --version` registers a
// command, runs its builder (run's ~40 options), parses and prints the version; `nsx version` runs a
// command's handler (yargs' and runCli's path of every command). Neither asks the engine anything.
// A file neither loads (the engine's client, the runtime, each command's work) gets a cache of all
// its functions, or of its top level if it is large (load.cjs, cacheTheRest). Then the same runs
// again, failing if V8 rejected a cache it had just been given. Help is left out on purpose: its
// layout functions would make every start's caches larger, and help's time is string-width's and
// cliui's, which are not in the bundle. The runs get no NODE_OPTIONS: V8 keys a cache to its flags,
// and they are to be those of a plain `nsx`.
const runs = [['run', '--version'], ['version']];
const env = { ...process.env };
delete env.NODE_OPTIONS;
const nsx = (args, step) => {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'nsx.cjs'), ...args], {
    env: { ...env, NSX_BUILD_CODE_CACHE: step },
    encoding: 'utf8',
  });
  if (r.status !== 0)
    throw new Error(`build-cli: code cache (${step}, nsx ${args.join(' ')}): ${r.status ?? r.signal}: ${r.stderr}`);
};
for (const args of runs) nsx(args, 'write');
const rest = spawnSync(
  process.execPath,
  ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(join(out, 'load.cjs'))}).cacheTheRest()))`],
  { env, encoding: 'utf8' },
);
if (rest.status !== 0 || rest.stdout !== '[]')
  throw new Error(`build-cli: V8 rejected the code cache of ${rest.stdout || rest.stderr}`);
for (const args of runs) nsx(args, 'check');

if (process.argv.includes('--analyze')) {
  console.log(await esbuild.analyzeMetafile(engine.metafile));
  console.log(await esbuild.analyzeMetafile(cliEsm.metafile));
  console.log(await esbuild.analyzeMetafile(core.metafile));
}
